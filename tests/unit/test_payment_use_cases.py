"""Payments end to end on the in-memory adapters and the sandbox provider: notifications
checked in order and applied once, late and double payments refunded, refunds retried,
and every kind of reconciliation difference."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.adapters.payments import SandboxPaymentGateway
from shequ.application.ordering.orders import (
    CancelOrder,
    CancelOrderHandler,
    ExpireOrders,
    ExpireOrdersHandler,
)
from shequ.application.payments.notifications import (
    ConfirmPayment,
    ConfirmPaymentHandler,
    PaymentConfirmation,
    PaymentOutcome,
)
from shequ.application.payments.providers import PaymentProviders
from shequ.application.payments.queries import (
    ClearPaymentFlag,
    ClearPaymentFlagHandler,
    GetPaymentHandler,
)
from shequ.application.payments.reconcile import Match, ReconcilePayments, ReconcilePaymentsHandler
from shequ.application.payments.refunds import RefundPayer, RefundRetry
from shequ.application.payments.start import StartPayment, StartPaymentHandler
from shequ.application.payments.sweep import SweepPayments, SweepPaymentsHandler, Swept
from shequ.application.policy import CONSOLE, Policy
from shequ.application.ports import (
    AuditQuery,
    BillEntry,
    BillEntryKind,
    PaymentIntent,
    PaymentQuery,
    UnitOfWork,
)
from shequ.domain.errors import (
    Forbidden,
    InvalidInput,
    PaymentNotFound,
    PaymentNotificationInvalid,
    PaymentUnavailable,
)
from shequ.domain.ids import PaymentId
from shequ.domain.money import Money
from shequ.domain.ordering import Order, OrderStatus
from shequ.domain.payments import Payment, PaymentRefundStatus, PaymentStatus
from tests.support import Shop

CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


@pytest.fixture
def sandbox(app: injector.Injector) -> SandboxPaymentGateway:
    gateway = app.get(PaymentProviders).get("sandbox")
    assert isinstance(gateway, SandboxPaymentGateway)
    return gateway


@pytest.fixture
def order(shop: Shop) -> Order:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="25.00", communities=(here,))
    _, resident = shop.resident(here)
    return shop.order(resident, here, (sku, 2))


def start(app: injector.Injector, order: Order, key: str = "") -> PaymentIntent:
    return app.get(StartPaymentHandler)(StartPayment(order.id, idempotency_key=key), actor=CONSOLE)


def deliver(app: injector.Injector, sent: tuple[bytes, dict[str, str]]) -> PaymentConfirmation:
    return app.get(ConfirmPaymentHandler)(ConfirmPayment("sandbox", *sent))


def stored(app: injector.Injector, payment_id: str) -> Payment:
    with app.get(UnitOfWork) as uow:
        return uow.payments.get(PaymentId(payment_id))


def rejections(app: injector.Injector) -> list[str]:
    with app.get(UnitOfWork) as uow:
        found = uow.audit.search(AuditQuery(subject="payment-provider:sandbox"))
    return [r.detail["reason"] for r in found if r.action == "payment.notification-rejected"]


def test_a_payment_is_recorded_only_once_the_provider_answered(
    app: injector.Injector, order: Order, sandbox: SandboxPaymentGateway
) -> None:
    sandbox.available = False
    with pytest.raises(PaymentUnavailable):
        start(app, order, "k1")
    with app.get(UnitOfWork) as uow:
        assert uow.payments.search(PaymentQuery(order_id=order.id)) == []
    sandbox.available = True
    first, again = start(app, order, "k1"), start(app, order, "k1")
    assert first.payment_id == again.payment_id
    assert start(app, order, "k2").payment_id != first.payment_id
    assert stored(app, first.payment_id).status is PaymentStatus.CREATED


def test_a_paid_notification_pays_the_order_once(
    app: injector.Injector, order: Order, sandbox: SandboxPaymentGateway
) -> None:
    sent = sandbox.pay(start(app, order).payment_id)
    done = deliver(app, sent)
    assert done.outcome is PaymentOutcome.PAID and done.order is not None
    assert (done.order.status, done.order.payment_ref) == (OrderStatus.PAID, done.payment.id)
    assert deliver(app, sent).outcome is PaymentOutcome.ALREADY_APPLIED
    assert stored(app, done.payment.id).charged == Money(5000)


def test_a_forged_or_stale_notification_changes_nothing_and_is_recorded(
    app: injector.Injector, order: Order, sandbox: SandboxPaymentGateway, clock: FixedClock
) -> None:
    intent = start(app, order)
    body, headers = sandbox.pay(intent.payment_id)
    with pytest.raises(PaymentNotificationInvalid):
        deliver(app, (body.replace(b"5000", b"500"), headers))
    stale = sandbox.notification(
        {
            "type": "payment",
            "payment_id": intent.payment_id,
            "state": "succeeded",
            "amount_fen": 5000,
            "provider_ref": "x",
            "merchant_id": "sandbox",
            "at": None,
        },
        sent_at=clock.now() - dt.timedelta(minutes=6),
    )
    with pytest.raises(PaymentNotificationInvalid, match="more than 5 minutes"):
        deliver(app, stale)
    unknown = sandbox.notification(
        {
            "type": "payment",
            "payment_id": "P-nobody",
            "state": "succeeded",
            "amount_fen": 5000,
            "provider_ref": "y",
            "merchant_id": "sandbox",
            "at": None,
        }
    )
    with pytest.raises(PaymentNotFound):
        deliver(app, unknown)
    assert stored(app, intent.payment_id).status is PaymentStatus.CREATED
    assert len(rejections(app)) == 3


@pytest.mark.parametrize(
    ("field", "value"), [("merchant_id", "another-shop"), ("amount_fen", 4999)]
)
def test_a_notification_that_differs_is_flagged_not_applied(
    app: injector.Injector,
    order: Order,
    sandbox: SandboxPaymentGateway,
    field: str,
    value: object,
) -> None:
    intent = start(app, order)
    report = {
        "type": "payment",
        "payment_id": intent.payment_id,
        "state": "succeeded",
        "amount_fen": 5000,
        "provider_ref": "tx",
        "merchant_id": "sandbox",
        "at": None,
    }
    done = deliver(app, sandbox.notification({**report, field: value}))
    assert done.outcome is PaymentOutcome.FLAGGED
    payment = stored(app, intent.payment_id)
    assert (payment.status, payment.charged) == (PaymentStatus.CREATED, Money(0))
    assert payment.flag
    assert (
        deliver(app, sandbox.notification({**report, field: value})).outcome
        is PaymentOutcome.FLAGGED
    )
    assert [e.kind.value for e in stored(app, intent.payment_id).entries].count("flagged") == 1


def test_a_payment_for_an_order_that_expired_meanwhile_goes_back(
    app: injector.Injector, order: Order, sandbox: SandboxPaymentGateway, clock: FixedClock
) -> None:
    intent = start(app, order)
    clock.advance(dt.timedelta(minutes=16))
    paid_just_in_time = sandbox.pay(intent.payment_id)  # its notification is still on the way
    assert app.get(ExpireOrdersHandler)(ExpireOrders(), actor=CONSOLE) == 1
    done = deliver(app, paid_just_in_time)
    assert done.outcome is PaymentOutcome.REFUNDING
    assert done.order is not None and done.order.status is OrderStatus.EXPIRED
    payment = stored(app, intent.payment_id)
    assert (payment.status, payment.refunded) == (PaymentStatus.REFUNDED, Money(5000))
    assert [r.status for r in payment.refunds] == [PaymentRefundStatus.SUCCEEDED]


def test_an_order_paid_twice_keeps_one_payment_and_returns_the_other(
    app: injector.Injector, order: Order, sandbox: SandboxPaymentGateway
) -> None:
    first, second = start(app, order, "phone"), start(app, order, "laptop")
    assert deliver(app, sandbox.pay(first.payment_id)).outcome is PaymentOutcome.PAID
    done = deliver(app, sandbox.pay(second.payment_id))
    assert done.outcome is PaymentOutcome.REFUNDING
    assert done.order is not None and done.order.payment_ref == first.payment_id
    assert stored(app, second.payment_id).status is PaymentStatus.REFUNDED
    assert stored(app, first.payment_id).status is PaymentStatus.PAID


def test_a_refund_the_provider_could_not_take_is_sent_again_later(
    app: injector.Injector, order: Order, sandbox: SandboxPaymentGateway
) -> None:
    deliver(app, sandbox.pay(start(app, order).payment_id))
    sandbox.available = False
    cancelled = app.get(CancelOrderHandler)(CancelOrder(order.id, "缺货"), actor=CONSOLE)
    assert cancelled.order.status is OrderStatus.CANCELLED
    payer = app.get(RefundPayer)
    assert payer.retry() == RefundRetry(waiting=1)
    [payment] = _payments_of(app, order)
    assert (payment.refund_pending, payment.refunds[0].attempts) == (Money(5000), 2)
    assert "down" in payment.refunds[0].last_error
    sandbox.available = True
    assert payer.retry() == RefundRetry(confirmed=1)
    assert payer.retry() == RefundRetry()
    [payment] = _payments_of(app, order)
    assert (payment.status, payment.refunded, payment.refund_pending) == (
        PaymentStatus.REFUNDED,
        Money(5000),
        Money(0),
    )


def _payments_of(app: injector.Injector, order: Order) -> list[Payment]:
    with app.get(UnitOfWork) as uow:
        return uow.payments.search(PaymentQuery(order_id=order.id))


class _Billed:
    """The sandbox, with the bill replaced by the one a test gives."""

    def __init__(self, sandbox: SandboxPaymentGateway, bill: list[BillEntry]) -> None:
        self._sandbox, self.bill = sandbox, bill

    def __getattr__(self, name: str) -> object:
        return getattr(self._sandbox, name)

    def download_bill(self, day: dt.date) -> list[BillEntry]:
        return self.bill


def test_reconciliation_tells_each_kind_of_difference(
    app: injector.Injector, shop: Shop, sandbox: SandboxPaymentGateway, clock: FixedClock
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="10.00", stock=50, communities=(here,))
    _, resident = shop.resident(here)
    orders = [shop.order(resident, here, (sku, 1)) for _ in range(4)]
    paid = [start(app, o) for o in orders]
    for intent in paid[:3]:
        deliver(app, sandbox.pay(intent.payment_id))
    unpaid = paid[3]  # its notification never arrived
    day = clock.now().astimezone(CST).date()
    honest = sandbox.download_bill(day)
    assert len(honest) == 3
    report = app.get(ReconcilePaymentsHandler)(ReconcilePayments(day), actor=CONSOLE)
    assert [line.match for line in report.lines] == [Match.MATCHED] * 3 and not report.unmatched

    at = clock.now()
    bill = [
        honest[0],  # matched
        BillEntry(BillEntryKind.PAYMENT, honest[1].payment_id, "r", Money(999), at),
        BillEntry(BillEntryKind.PAYMENT, unpaid.payment_id, "r", Money(1000), at),
        BillEntry(BillEntryKind.PAYMENT, "P-unknown", "r", Money(1000), at),
        # honest[2] is missing from the provider's bill
    ]
    billed = PaymentProviders([_Billed(sandbox, bill)])  # type: ignore[list-item]
    handler = ReconcilePaymentsHandler(app.get(UnitOfWork), clock, app.get(Policy), billed)
    report = handler(ReconcilePayments(day), actor=CONSOLE)
    found = {(line.payment_id, line.match) for line in report.lines}
    assert found == {
        (honest[0].payment_id, Match.MATCHED),
        (honest[1].payment_id, Match.AMOUNT_DIFFERS),
        (unpaid.payment_id, Match.STATUS_DIFFERS),
        ("P-unknown", Match.MISSING_OURS),
        (honest[2].payment_id, Match.MISSING_THEIRS),
    }
    assert len(report.unmatched) == 4


def test_reconciling_is_for_the_platform(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    _, resident = shop.resident(here)
    with pytest.raises(Forbidden):
        app.get(ReconcilePaymentsHandler)(ReconcilePayments(clock.now().date()), actor=resident)


@pytest.mark.parametrize("later", [dt.timedelta(days=1), dt.date.max - dt.date(2026, 11, 25)])
def test_a_day_that_has_not_come_has_no_bill_to_reconcile(
    app: injector.Injector, clock: FixedClock, later: dt.timedelta
) -> None:
    today = clock.now().astimezone(CST).date()
    with pytest.raises(InvalidInput, match="has not come yet"):
        app.get(ReconcilePaymentsHandler)(ReconcilePayments(today + later), actor=CONSOLE)


def test_a_sweep_closes_an_ended_order_s_unpaid_payment_at_the_provider(
    app: injector.Injector, order: Order, sandbox: SandboxPaymentGateway, clock: FixedClock
) -> None:
    intent = start(app, order)
    sweep = app.get(SweepPaymentsHandler)
    assert sweep(SweepPayments()) == Swept()  # too young to ask about
    clock.advance(dt.timedelta(minutes=6))
    assert sweep(SweepPayments()) == Swept(open=1)  # the order may still be paid
    clock.advance(dt.timedelta(minutes=10))
    assert app.get(ExpireOrdersHandler)(ExpireOrders(), actor=CONSOLE) == 1
    assert sweep(SweepPayments()) == Swept(closed=1)
    assert stored(app, intent.payment_id).status is PaymentStatus.CLOSED
    assert sandbox.query(intent.payment_id).state.value == "closed"
    assert sweep(SweepPayments()) == Swept()
    late = deliver(app, sandbox.pay(intent.payment_id))  # the provider says: closed
    assert late.order is None and late.outcome is PaymentOutcome.APPLIED
    assert (stored(app, intent.payment_id).status, stored(app, intent.payment_id).charged) == (
        PaymentStatus.CLOSED,
        Money(0),
    )


def test_a_sweep_applies_a_payment_whose_notification_was_lost(
    app: injector.Injector, order: Order, sandbox: SandboxPaymentGateway, clock: FixedClock
) -> None:
    intent = start(app, order)
    sandbox.pay(intent.payment_id)  # the notification never arrives
    clock.advance(dt.timedelta(minutes=6))
    sandbox.available = False
    assert app.get(SweepPaymentsHandler)(SweepPayments()) == Swept(unreachable=1)
    sandbox.available = True
    assert app.get(SweepPaymentsHandler)(SweepPayments()) == Swept(paid=1)
    payment = stored(app, intent.payment_id)
    assert (payment.status, payment.charged) == (PaymentStatus.PAID, Money(5000))
    with app.get(UnitOfWork) as uow:
        assert uow.orders.get(order.id).status is OrderStatus.PAID
    assert app.get(SweepPaymentsHandler)(SweepPayments()) == Swept()


def test_a_notification_far_larger_than_any_provider_sends_is_refused_unread(
    app: injector.Injector, order: Order, sandbox: SandboxPaymentGateway
) -> None:
    body, headers = sandbox.pay(start(app, order).payment_id)
    padded = body + b" " * (64 * 1024)
    with pytest.raises(PaymentNotificationInvalid, match="bytes"):
        deliver(app, (padded, headers))
    assert rejections(app) and deliver(app, (body, headers)).outcome is PaymentOutcome.PAID


def test_a_refund_too_large_for_what_is_left_is_flagged_and_holds_up_no_other(
    app: injector.Injector, shop: Shop, sandbox: SandboxPaymentGateway
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="25.00", stock=9, communities=(here,))
    _, resident = shop.resident(here)
    first, second = (shop.order(resident, here, (sku, 2)) for _ in range(2))
    paid = [start(app, o) for o in (first, second)]
    for intent in paid:
        deliver(app, sandbox.pay(intent.payment_id))
    console_refund = {
        "type": "refund",
        "refund_id": "console-1",
        "state": "succeeded",
        "payment_id": paid[0].payment_id,
        "amount_fen": 100,
        "provider_ref": "c1",
        "merchant_id": "sandbox",
        "at": None,
    }
    deliver(app, sandbox.notification(console_refund))  # made in the provider's console
    sandbox.available = False
    cancelled = app.get(CancelOrderHandler)(CancelOrder(first.id, "缺货"), actor=CONSOLE)
    assert cancelled.order.status is OrderStatus.CANCELLED  # the cancellation stands
    assert "cannot be sent" in stored(app, paid[0].payment_id).flag
    app.get(CancelOrderHandler)(CancelOrder(second.id, "缺货"), actor=CONSOLE)
    sandbox.available = True
    assert app.get(RefundPayer).retry() == RefundRetry(confirmed=1, failed=1)
    assert stored(app, paid[1].payment_id).status is PaymentStatus.REFUNDED


def test_a_refund_the_provider_gives_up_on_is_flagged_and_may_still_succeed(
    app: injector.Injector, order: Order, sandbox: SandboxPaymentGateway
) -> None:
    intent = start(app, order)
    deliver(app, sandbox.pay(intent.payment_id))
    sandbox.available = False
    app.get(CancelOrderHandler)(CancelOrder(order.id, "缺货"), actor=CONSOLE)
    [refund] = stored(app, intent.payment_id).refunds
    report = {
        "type": "refund",
        "refund_id": refund.id,
        "payment_id": intent.payment_id,
        "amount_fen": 5000,
        "provider_ref": "r",
        "merchant_id": "sandbox",
        "at": None,
    }
    failed = deliver(app, sandbox.notification({**report, "state": "failed"}))
    assert failed.outcome is PaymentOutcome.APPLIED
    payment = stored(app, intent.payment_id)
    assert (payment.refund_pending, payment.refunded, payment.refunds[0].status) == (
        Money(0),
        Money(0),
        PaymentRefundStatus.FAILED,
    )
    assert "failed at the provider" in payment.flag
    deliver(app, sandbox.notification({**report, "state": "succeeded"}))  # finished by hand
    payment = stored(app, intent.payment_id)
    assert (payment.status, payment.refunded, payment.refund_pending) == (
        PaymentStatus.REFUNDED,
        Money(5000),
        Money(0),
    )


def test_an_operator_clears_a_flag_saying_how_and_the_log_keeps_both(
    app: injector.Injector, order: Order, sandbox: SandboxPaymentGateway, shop: Shop
) -> None:
    intent = start(app, order)
    report = {
        "type": "payment",
        "payment_id": intent.payment_id,
        "state": "succeeded",
        "amount_fen": 5000,
        "provider_ref": "tx",
        "merchant_id": "another",
        "at": None,
    }
    deliver(app, sandbox.notification(report))
    clear = app.get(ClearPaymentFlagHandler)
    _, resident = shop.resident(shop.community())
    with pytest.raises(Forbidden):
        clear(ClearPaymentFlag(PaymentId(intent.payment_id), "looked"), actor=resident)
    with pytest.raises(InvalidInput, match="say how"):
        clear(ClearPaymentFlag(PaymentId(intent.payment_id), "  "), actor=CONSOLE)
    cleared = clear(
        ClearPaymentFlag(PaymentId(intent.payment_id), "商户号配置已改正"), actor=CONSOLE
    )
    assert cleared.flag == ""
    assert [(e.kind.value, e.note) for e in cleared.entries][-2:] == [
        ("flagged", "the notification names merchant 'another', not ours"),
        ("flag_cleared", "商户号配置已改正"),
    ]
    with pytest.raises(InvalidInput, match="not flagged"):
        clear(ClearPaymentFlag(PaymentId(intent.payment_id), "again"), actor=CONSOLE)


def test_the_payer_sees_the_payment_without_what_is_for_operators(
    app: injector.Injector, shop: Shop, sandbox: SandboxPaymentGateway
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="25.00", communities=(here,))
    _, resident = shop.resident(here)
    order = shop.order(resident, here, (sku, 2))
    intent = start(app, order)
    report = {
        "type": "payment",
        "payment_id": intent.payment_id,
        "state": "succeeded",
        "amount_fen": 5000,
        "provider_ref": "tx",
        "merchant_id": "another",
        "at": None,
    }
    deliver(app, sandbox.notification(report))
    get = app.get(GetPaymentHandler)
    seen = get(PaymentId(intent.payment_id), actor=resident)
    assert (seen.flag, [e.kind.value for e in seen.entries]) == ("", ["created"])
    staff = get(PaymentId(intent.payment_id), actor=CONSOLE)
    assert staff.flag and [e.kind.value for e in staff.entries] == ["created", "flagged"]
    _, stranger = shop.resident(here)
    with pytest.raises(Forbidden):
        get(PaymentId(intent.payment_id), actor=stranger)
