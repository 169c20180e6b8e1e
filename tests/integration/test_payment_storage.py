"""Payments in every storage backend: the record, its log and its refunds survive the round
trip; the log refuses a report twice; and under real threads a notification delivered many
times at once pays its order once, and refunds never exceed the charge."""

from __future__ import annotations

import datetime as dt

import injector
import pytest
import sqlalchemy as sa

from shequ.adapters.clock import FixedClock
from shequ.adapters.payments import SandboxPaymentGateway
from shequ.adapters.storage.sqlalchemy import Database
from shequ.application.payments.notifications import (
    ConfirmPayment,
    ConfirmPaymentHandler,
    PaymentOutcome,
)
from shequ.application.payments.providers import PaymentProviders
from shequ.application.payments.start import StartPayment, StartPaymentHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import PaymentQuery, UnitOfWork
from shequ.domain.errors import Conflict, InvalidInput, PaymentNotFound
from shequ.domain.ids import PaymentId
from shequ.domain.money import Money
from shequ.domain.ordering import Order
from shequ.domain.payments import (
    PROVIDER_OF_CHANNEL,
    Channel,
    EntryKind,
    Payment,
    PaymentEntry,
    PaymentRefundStatus,
    PaymentState,
    PaymentStatus,
    RefundState,
)
from tests.integration.test_concurrency import race
from tests.support import Shop


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


@pytest.fixture
def order(shop: Shop) -> Order:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="25.00", communities=(here,))
    _, resident = shop.resident(here)
    return shop.order(resident, here, (sku, 2))


def started(payment_id: PaymentId, order: Order, channel: Channel, now: dt.datetime) -> Payment:
    """A payment of the order's total (¥50) just started through ``channel``'s provider."""
    return Payment.start(
        id=payment_id,
        order_id=order.id,
        provider=PROVIDER_OF_CHANNEL[channel],
        channel=channel,
        amount=Money(5000),
        now=now,
    )


def load(app: injector.Injector, payment_id: str) -> Payment:
    with app.get(UnitOfWork) as uow:
        return uow.payments.get(PaymentId(payment_id))


def test_a_payment_with_its_log_and_refunds_survives_the_round_trip(
    app: injector.Injector, order: Order, clock: FixedClock
) -> None:
    now = clock.now()
    with app.get(UnitOfWork) as uow:
        p = started(PaymentId("P-round-trip"), order, Channel.WECHAT_JSAPI, now)
        uow.payments.add(p)
        uow.commit()
    with app.get(UnitOfWork) as uow:
        p = uow.payments.get_for_update(PaymentId("P-round-trip"))
        p.record(
            PaymentState.SUCCEEDED, provider_ref="4200001", amount=Money(5000), at=now, now=now
        )
        p.request_refund("r-1", Money(1200), reason="quality", now=now)
        p.refund_sent("r-1", "50300001", now=now)
        p.request_refund("r-2", Money(800), reason="quality", now=now)
        p.refund_not_sent("r-2", "timed out", now=now)
        p.flag_for_operator("look at me", key="k", now=now)
        uow.commit()
    back = load(app, "P-round-trip")
    assert (back.status, back.channel, back.provider_ref, back.paid_at) == (
        PaymentStatus.PAID,
        Channel.WECHAT_JSAPI,
        "4200001",
        now,
    )
    assert (back.amount, back.charged, back.refunded, back.refund_pending, back.authorised) == (
        Money(5000),
        Money(5000),
        Money(0),
        Money(2000),
        Money(0),
    )
    assert back.flag == "look at me"
    assert [(e.kind, e.key, e.amount) for e in back.entries] == [
        (EntryKind.CREATED, "P-round-trip", Money(5000)),
        (EntryKind.CHARGED, "4200001", Money(5000)),
        (EntryKind.REFUND_REQUESTED, "r-1", Money(1200)),
        (EntryKind.REFUND_SENT, "r-1", Money(1200)),
        (EntryKind.REFUND_REQUESTED, "r-2", Money(800)),
        (EntryKind.FLAGGED, "k", Money(0)),
    ]
    assert [(r.id, r.status, r.provider_ref, r.attempts, r.last_error) for r in back.refunds] == [
        ("r-1", PaymentRefundStatus.SENT, "50300001", 1, ""),
        ("r-2", PaymentRefundStatus.TO_SEND, None, 1, "timed out"),
    ]
    with app.get(UnitOfWork) as uow:
        assert [p.id for p in uow.payments.search(PaymentQuery(flagged=True))] == ["P-round-trip"]
        assert [p.id for p in uow.payments.with_open_refunds(10)] == ["P-round-trip"]
        day = uow.payments.moved_between(now - dt.timedelta(hours=1), now + dt.timedelta(hours=1))
        assert [p.id for p in day] == ["P-round-trip"]
        assert (
            uow.payments.moved_between(now + dt.timedelta(seconds=1), now + dt.timedelta(1)) == []
        )
    with app.get(UnitOfWork) as uow, pytest.raises(PaymentNotFound):
        uow.payments.get(PaymentId("P-none"))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_the_log_refuses_the_same_report_twice(
    app: injector.Injector, order: Order, clock: FixedClock
) -> None:
    now = clock.now()
    with app.get(UnitOfWork) as uow:
        p = started(PaymentId("P-dup"), order, Channel.SANDBOX, now)
        uow.payments.add(p)
        uow.commit()
    with app.get(UnitOfWork) as uow:
        p = uow.payments.get_for_update(PaymentId("P-dup"))
        p.entries.append(PaymentEntry(EntryKind.CREATED, "P-dup", Money(5000), now, now))
        p.version += 1
        with pytest.raises((Conflict, InvalidInput)):
            uow.commit()
    assert len(load(app, "P-dup").entries) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_the_database_refuses_to_change_or_delete_a_payment_s_log(
    app: injector.Injector, order: Order
) -> None:
    app.get(StartPaymentHandler)(StartPayment(order.id), actor=CONSOLE)
    engine = app.get(Database).engine
    for statement in (
        "UPDATE payment_entries SET amount_fen = 1",
        "DELETE FROM payment_entries",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        amounts = conn.execute(sa.text("SELECT amount_fen FROM payment_entries")).scalars()
        assert list(amounts) == [5000]


@pytest.mark.parametrize("backend", ["postgres", "sqlite", "memory"], indirect=True)
def test_a_notification_delivered_many_times_at_once_pays_once(
    app: injector.Injector, order: Order
) -> None:
    sandbox = app.get(PaymentProviders).get("sandbox")
    assert isinstance(sandbox, SandboxPaymentGateway)
    intent = app.get(StartPaymentHandler)(StartPayment(order.id), actor=CONSOLE)
    sent = sandbox.pay(intent.payment_id)
    handlers = [app.get(ConfirmPaymentHandler) for _ in range(12)]
    outcomes: list[PaymentOutcome] = []
    failures = race(
        12, lambda i: outcomes.append(handlers[i](ConfirmPayment("sandbox", *sent)).outcome)
    )
    assert failures == [None] * 12
    assert sorted(outcomes) == sorted(
        [PaymentOutcome.PAID] + [PaymentOutcome.ALREADY_APPLIED] * 11
    ), outcomes
    with app.get(UnitOfWork) as uow:
        names = [m.name for m in uow.outbox.pending(10_000)]
    assert (names.count("OrderPaid"), names.count("PaymentCharged")) == (1, 1)
    assert [e.kind for e in load(app, intent.payment_id).entries].count(EntryKind.CHARGED) == 1


@pytest.mark.parametrize("backend", ["postgres", "sqlite", "memory"], indirect=True)
def test_refunds_asked_at_once_never_exceed_the_charge(
    app: injector.Injector, order: Order, clock: FixedClock
) -> None:
    sandbox = app.get(PaymentProviders).get("sandbox")
    assert isinstance(sandbox, SandboxPaymentGateway)
    intent = app.get(StartPaymentHandler)(StartPayment(order.id), actor=CONSOLE)
    app.get(ConfirmPaymentHandler)(ConfirmPayment("sandbox", *sandbox.pay(intent.payment_id)))

    def ask(i: int) -> None:
        with app.get(UnitOfWork) as uow:
            p = uow.payments.get_for_update(PaymentId(intent.payment_id))
            p.request_refund(f"r-{i}", Money(1500), reason="race", now=clock.now())
            uow.commit()

    outcomes = race(10, ask)
    accepted = [o for o in outcomes if o is None]
    assert len(accepted) == 3, outcomes  # 3 × ¥15 of ¥50
    assert all(isinstance(o, (InvalidInput, Conflict)) for o in outcomes if o is not None)
    p = load(app, intent.payment_id)
    assert (p.refund_pending, len(p.refunds)) == (Money(4500), 3)
    assert p.refundable == Money(500)


def test_a_provider_s_long_refusal_is_kept_as_far_as_it_fits(
    app: injector.Injector, order: Order, clock: FixedClock
) -> None:
    now, refusal = clock.now(), "Refund amount (¥50.00) is greater than unrefunded … " * 10
    with app.get(UnitOfWork) as uow:
        p = started(PaymentId("P-long"), order, Channel.CARD, now)
        p.record(PaymentState.SUCCEEDED, provider_ref="pi_1", amount=Money(5000), at=now, now=now)
        p.request_refund("r-" + "9" * 60, Money(5000), reason=refusal, now=now)
        p.record_refund(
            "r-" + "9" * 60,
            RefundState.FAILED,
            amount=Money(5000),
            provider_ref=None,
            at=now,
            now=now,
            note=refusal,
        )
        uow.payments.add(p)
        uow.commit()
    back = load(app, "P-long")
    assert back.refunds[0].last_error == refusal[:200]
    assert back.flag.startswith("refund r-999") and len(back.flag) == 200
    assert all(len(e.note) <= 200 for e in back.entries)


def test_still_open_lists_unpaid_payments_older_than_asked(
    app: injector.Injector, order: Order, clock: FixedClock
) -> None:
    now = clock.now()
    with app.get(UnitOfWork) as uow:
        for i, state in enumerate([None, PaymentState.SUCCEEDED, PaymentState.CLOSED, None]):
            p = started(
                PaymentId(f"P-open-{i}"), order, Channel.SANDBOX, now + dt.timedelta(minutes=i)
            )
            if state is not None:
                p.record(state, provider_ref=f"x{i}", amount=Money(5000), at=now, now=now)
            uow.payments.add(p)
        uow.commit()
    with app.get(UnitOfWork) as uow:
        later = now + dt.timedelta(minutes=10)
        assert [p.id for p in uow.payments.still_open(later, 10)] == ["P-open-0", "P-open-3"]
        assert [p.id for p in uow.payments.still_open(later, 1)] == ["P-open-0"]
        assert [p.id for p in uow.payments.still_open(now + dt.timedelta(minutes=2), 10)] == [
            "P-open-0"
        ]
