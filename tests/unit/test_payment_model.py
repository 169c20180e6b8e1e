"""The payment record: amounts that add up, reports applied once, refunds within the charge;
and the yuan-string ↔ fen conversion every adapter relies on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequ.domain.errors import InvalidInput, PaymentMismatch
from shequ.domain.ids import OrderId, PaymentId
from shequ.domain.money import Money
from shequ.domain.payments import (
    Channel,
    EntryKind,
    Payment,
    PaymentRefundStatus,
    PaymentState,
    PaymentStatus,
    RefundState,
)

NOW = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
TEN_MILLION_YUAN = 1_000_000_000  # fen


def payment(amount: int = 5000) -> Payment:
    return Payment.start(
        id=PaymentId("P1"),
        order_id=OrderId("o1"),
        provider="wechat",
        channel=Channel.WECHAT_NATIVE,
        amount=Money(amount),
        now=NOW,
    )


def charged(amount: int = 5000) -> Payment:
    p = payment(amount)
    p.record(PaymentState.SUCCEEDED, provider_ref="tx-1", amount=Money(amount), at=NOW, now=NOW)
    return p


# ---------------------------------------------------------------- yuan strings ↔ fen


@given(st.integers(min_value=0, max_value=TEN_MILLION_YUAN))
def test_every_amount_up_to_ten_million_yuan_survives_a_yuan_string_exactly(fen: int) -> None:
    text = Money(fen).plain()
    assert Money.parse(text) == Money(fen)
    assert Decimal(text) * 100 == fen  # the string says what a person reads: yuan.fen


@given(
    st.integers(min_value=0, max_value=10_000_000),
    st.sampled_from(["", ".0", ".00", ".5", ".50", ".05", ".99", ".1", ".09"]),
)
def test_a_provider_yuan_string_is_read_as_the_exact_fen(yuan: int, decimals: str) -> None:
    text = f"{yuan}{decimals}"
    assert Money.parse(text).fen == int(Decimal(text) * 100)
    assert Decimal(Money.parse(text).plain()) == Decimal(text)


@pytest.mark.parametrize("text", ["12.345", "1e3", "12,34", "0x10", " ", "12.3.4", "NaN", "inf"])
def test_what_is_not_an_amount_of_yuan_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        Money.parse(text)


# ---------------------------------------------------------------- the record


def test_a_charge_reported_twice_is_applied_once() -> None:
    p = charged()
    again = p.record(
        PaymentState.SUCCEEDED, provider_ref="tx-1", amount=Money(5000), at=NOW, now=NOW
    )
    assert again is False
    assert (p.status, p.charged, p.provider_ref) == (PaymentStatus.PAID, Money(5000), "tx-1")
    assert [e.kind for e in p.entries] == [EntryKind.CREATED, EntryKind.CHARGED]
    assert [type(e).__name__ for e in p.events] == ["PaymentStarted", "PaymentCharged"]


def test_a_charge_of_another_amount_is_refused_and_changes_nothing() -> None:
    p = payment()
    with pytest.raises(PaymentMismatch):
        p.record(PaymentState.SUCCEEDED, provider_ref="tx-1", amount=Money(4999), at=NOW, now=NOW)
    assert (p.status, p.charged, len(p.entries)) == (PaymentStatus.CREATED, Money(0), 1)


def test_a_second_charge_under_another_reference_is_refused() -> None:
    p = charged()
    with pytest.raises(PaymentMismatch):
        p.record(PaymentState.SUCCEEDED, provider_ref="tx-2", amount=Money(5000), at=NOW, now=NOW)


def test_a_failure_after_the_charge_is_logged_and_changes_nothing() -> None:
    p = charged()
    assert p.record(PaymentState.FAILED, provider_ref="tx-1", amount=Money(5000), at=NOW, now=NOW)
    assert (p.status, p.charged) == (PaymentStatus.PAID, Money(5000))


def test_a_pending_report_is_nothing_new() -> None:
    p = payment()
    assert not p.record(
        PaymentState.PENDING, provider_ref="tx", amount=Money(5000), at=NOW, now=NOW
    )
    assert len(p.entries) == 1


def test_a_card_hold_then_its_capture() -> None:
    p = payment()
    p.record(PaymentState.AUTHORISED, provider_ref="pi", amount=Money(5000), at=NOW, now=NOW)
    assert (p.status, p.authorised, p.charged) == (PaymentStatus.AUTHORISED, Money(5000), Money(0))
    p.record(PaymentState.SUCCEEDED, provider_ref="pi", amount=Money(5000), at=NOW, now=NOW)
    assert (p.status, p.authorised, p.charged) == (PaymentStatus.PAID, Money(0), Money(5000))


def test_refunds_go_through_pending_to_refunded() -> None:
    p = charged()
    first = p.request_refund("r1", Money(2000), reason="quality", now=NOW)
    assert (p.refund_pending, p.refundable, first.status) == (
        Money(2000),
        Money(3000),
        PaymentRefundStatus.TO_SEND,
    )
    assert p.request_refund("r1", Money(2000), reason="quality", now=NOW) is first  # idempotent
    p.refund_sent("r1", "wx-r1", now=NOW)
    assert first.status is PaymentRefundStatus.SENT
    p.record_refund(
        "r1", RefundState.SUCCEEDED, amount=Money(2000), provider_ref="wx-r1", at=NOW, now=NOW
    )
    assert (p.status, p.refunded, p.refund_pending) == (
        PaymentStatus.PARTLY_REFUNDED,
        Money(2000),
        Money(0),
    )
    p.request_refund("r2", Money(3000), reason="cancelled", now=NOW)
    p.record_refund(
        "r2", RefundState.SUCCEEDED, amount=Money(3000), provider_ref=None, at=NOW, now=NOW
    )
    assert (p.status, p.refunded, p.refundable) == (PaymentStatus.REFUNDED, Money(5000), Money(0))


def test_a_refund_above_what_is_left_is_refused() -> None:
    p = charged()
    p.request_refund("r1", Money(4000), reason="quality", now=NOW)
    with pytest.raises(InvalidInput):
        p.request_refund("r2", Money(1001), reason="quality", now=NOW)
    with pytest.raises(InvalidInput):
        payment().request_refund("r3", Money(1), reason="nothing was charged", now=NOW)


def test_a_failed_refund_frees_its_money_and_is_applied_once() -> None:
    p = charged()
    p.request_refund("r1", Money(5000), reason="cancelled", now=NOW)
    p.refund_sent("r1", None, now=NOW)
    assert p.record_refund(
        "r1", RefundState.FAILED, amount=Money(5000), provider_ref=None, at=NOW, now=NOW
    )
    assert not p.record_refund(
        "r1", RefundState.FAILED, amount=Money(5000), provider_ref=None, at=NOW, now=NOW
    )
    assert (p.refund_pending, p.refunded, p.refundable) == (Money(0), Money(0), Money(5000))


def test_a_refund_confirmed_for_another_amount_is_flagged_not_applied() -> None:
    p = charged()
    p.request_refund("r1", Money(2000), reason="quality", now=NOW)
    assert not p.record_refund(
        "r1", RefundState.SUCCEEDED, amount=Money(2500), provider_ref=None, at=NOW, now=NOW
    )
    assert (p.refunded, p.refund_pending) == (Money(0), Money(2000))
    assert "2500" in p.flag or "¥25.00" in p.flag


def test_a_refund_the_shop_never_asked_for_is_recorded_and_flagged() -> None:
    p = charged()
    p.record_refund(
        "console-1", RefundState.SUCCEEDED, amount=Money(1000), provider_ref="x", at=NOW, now=NOW
    )
    assert (p.refunded, p.refund_pending, p.status) == (
        Money(1000),
        Money(0),
        PaymentStatus.PARTLY_REFUNDED,
    )
    assert p.flag


def test_a_refund_reported_before_its_charge_leaves_the_payment_refunded() -> None:
    p = payment()
    p.record_refund(
        "r1", RefundState.SUCCEEDED, amount=Money(5000), provider_ref="x", at=NOW, now=NOW
    )
    p.record(PaymentState.SUCCEEDED, provider_ref="tx-1", amount=Money(5000), at=NOW, now=NOW)
    assert (p.status, p.charged, p.refunded, p.refundable) == (
        PaymentStatus.REFUNDED,
        Money(5000),
        Money(5000),
        Money(0),
    )


def test_a_flag_is_raised_once_per_reason() -> None:
    p = payment()
    assert p.flag_for_operator("merchant differs", key="m:1", now=NOW)
    assert not p.flag_for_operator("merchant differs", key="m:1", now=NOW)
    assert [e.kind for e in p.entries].count(EntryKind.FLAGGED) == 1


# ---------------------------------------------------------------- any sequence of reports

REPORTS = st.lists(
    st.one_of(
        st.tuples(st.just("charge"), st.sampled_from(["tx-1", "tx-2"])),
        st.tuples(st.just("fail"), st.sampled_from(["tx-1", "tx-3"])),
        st.tuples(st.just("close"), st.just("c")),
        st.tuples(st.just("ask"), st.sampled_from(["r1", "r2", "r3"]), st.integers(1, 6000)),
        st.tuples(st.just("send"), st.sampled_from(["r1", "r2", "r3"])),
        st.tuples(
            st.just("settle"),
            st.sampled_from(["r1", "r2", "r3", "rx"]),
            st.sampled_from([RefundState.SUCCEEDED, RefundState.FAILED]),
            st.integers(1, 6000),
        ),
    ),
    max_size=25,
)


@given(REPORTS)
def test_whatever_the_provider_reports_the_amounts_add_up(reports: list[tuple]) -> None:  # type: ignore[type-arg]
    p = payment()
    for report in reports:
        kind, *rest = report
        try:
            if kind == "charge":
                p.record(
                    PaymentState.SUCCEEDED,
                    provider_ref=rest[0],
                    amount=Money(5000),
                    at=NOW,
                    now=NOW,
                )
            elif kind == "fail":
                p.record(
                    PaymentState.FAILED, provider_ref=rest[0], amount=Money(5000), at=NOW, now=NOW
                )
            elif kind == "close":
                p.record(
                    PaymentState.CLOSED, provider_ref=rest[0], amount=Money(5000), at=NOW, now=NOW
                )
            elif kind == "ask":
                p.request_refund(rest[0], Money(rest[1]), reason="test", now=NOW)
            elif kind == "send":
                if p.refund(rest[0]) is not None:
                    p.refund_sent(rest[0], None, now=NOW)
            else:
                known = p.refund(rest[0])
                amount = known.amount if known is not None else Money(rest[2])
                p.record_refund(rest[0], rest[1], amount=amount, provider_ref=None, at=NOW, now=NOW)
        except (InvalidInput, PaymentMismatch):
            pass  # a refused step is allowed; the invariants below hold all the same
        keys = [(e.kind, e.key) for e in p.entries]
        assert len(keys) == len(set(keys)), "a report was applied twice"
        assert p.charged in (Money(0), Money(5000))
        assert p.refund_pending == Money(sum(r.amount.fen for r in p.refunds if r.open))
        succeeded = [r for r in p.refunds if r.status is PaymentRefundStatus.SUCCEEDED]
        assert p.refunded == Money(sum(r.amount.fen for r in succeeded))
        asked = [r for r in p.refunds if r.reason == "test"]
        if asked:  # what the shop asks for never exceeds what was charged
            assert (
                sum(r.amount.fen for r in asked if r.status is not PaymentRefundStatus.FAILED)
                <= p.charged.fen
            )
        if p.charged.fen and p.refunded >= p.charged:
            assert p.status is PaymentStatus.REFUNDED
