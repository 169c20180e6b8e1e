"""One order driven through random steps: every step follows the TRANSITIONS table, a
refused step changes nothing, and the money always adds up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from shequ.domain.errors import (
    IllegalTransition,
    InvalidInput,
    PaymentMismatch,
    RefundExceedsPaid,
)
from shequ.domain.ids import (
    AccountId,
    CommunityId,
    CouponId,
    OrderId,
    ProductId,
    RefundId,
    SellerId,
    SkuId,
)
from shequ.domain.money import Money
from shequ.domain.ordering.orders import (
    FULFILMENT_OF_ACTION,
    GIVEN_REASONS,
    GOODS_NOT_LEFT,
    TRANSITIONS,
    Delivery,
    Order,
    OrderAction,
    OrderLine,
    OrderStatus,
    Refund,
    RefundReason,
    RefundStatus,
)
from shequ.domain.ordering.pricing import (
    CouponKind,
    CouponTerms,
    DeliveryFees,
    Fulfilment,
    PricedCoupon,
    PricingLine,
    price,
)

T0 = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
PAY_WITHIN = dt.timedelta(minutes=15)
FEES = DeliveryFees(base_fee=Money(500), free_from=Money(5900), express_surcharge=Money(800))


def reachable_from(start: OrderStatus) -> frozenset[OrderStatus]:
    seen, frontier = {start}, [start]
    while frontier:
        status = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is status and target not in seen:
                seen.add(target)
                frontier.append(target)
    return frozenset(seen)


REACHABLE = reachable_from(OrderStatus.PENDING_PAYMENT)
FINAL = frozenset(s for s in REACHABLE if not any(source is s for source, _ in TRANSITIONS))
GOODS_STILL_HERE = frozenset({OrderStatus.PAID, OrderStatus.PACKED})
REFUNDABLE = frozenset(
    REACHABLE - {OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
)
FORWARD = (
    OrderAction.PAY,
    OrderAction.PACK,
    OrderAction.DISPATCH,
    OrderAction.DELIVER,
    OrderAction.READY,
    OrderAction.PICK_UP,
    OrderAction.COMPLETE,
)
NOT_STEPS = (
    OrderAction.PAY,
    OrderAction.CANCEL,
    OrderAction.EXPIRE,
    OrderAction.REFUND_ALL,
    OrderAction.RETURN,
    OrderAction.REDEEM,
)
HANDING_OVER = frozenset(FORWARD) - {OrderAction.PAY}  # nothing of a voucher order


def test_the_table_reaches_every_status_and_ends_in_the_final_ones() -> None:
    assert set(OrderStatus) == REACHABLE
    assert {s for s in OrderStatus if s.final} == FINAL
    assert GOODS_NOT_LEFT == GOODS_STILL_HERE


def snapshot(order: Order) -> tuple[Any, ...]:
    """Everything a refused step must leave as it was."""
    return (
        order.status,
        order.version,
        tuple(order.history),
        order.refunded,
        order.delivery_fee_refunded,
        order.paid_at,
        order.payment_ref,
        tuple(
            (x.refunded_quantity, x.refunded_amount, x.pending_quantity, x.pending_amount)
            for x in order.lines
        ),
        len(order.events),
    )


def share(line: OrderLine, units: int) -> Money:
    """What ``units`` more units of ``line`` refund: the next units' part of the payable
    (the first ``n`` are worth ``⌊payable × n / quantity⌋``), at most the money left."""
    taken = line.refunded_quantity + line.pending_quantity
    upto = line.payable.fen * (taken + units) // line.quantity
    worth = upto - line.payable.fen * taken // line.quantity
    return min(Money(worth), line.money_left)


class OrderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.order: Order | None = None
        self.now = T0
        self.refunds: list[Refund] = []
        self.expected = OrderStatus.PENDING_PAYMENT
        self.refund_count = 0

    @property
    def placed(self) -> Order:
        assert self.order is not None
        return self.order

    # ------------------------------------------------------------ set-up

    @initialize(
        goods=st.lists(st.tuples(st.integers(1, 2_000), st.integers(1, 6)), min_size=1, max_size=3),
        fulfilment=st.sampled_from(Fulfilment),
        express=st.booleans(),
        off=st.none() | st.integers(1, 3_000),
        pay_at_once=st.booleans(),
    )
    def place(
        self,
        goods: list[tuple[int, int]],
        fulfilment: Fulfilment,
        express: bool,
        off: int | None,
        pay_at_once: bool,
    ) -> None:
        express = express and fulfilment is Fulfilment.DELIVERY
        pricing_lines = [
            PricingLine(SkuId(f"k{i}"), SellerId(f"s{i % 2}"), "生鲜/水果", Money(unit), quantity)
            for i, (unit, quantity) in enumerate(goods)
        ]
        coupons = (
            []
            if off is None
            else [PricedCoupon(CouponId("c1"), CouponTerms(CouponKind.AMOUNT, amount=Money(off)))]
        )
        breakdown = price(
            pricing_lines, fulfilment=fulfilment, express=express, fees=FEES, coupons=coupons
        )
        facts = {line.sku_id: line for line in pricing_lines}
        lines = [
            OrderLine(
                sku_id=priced.sku_id,
                product_id=ProductId(f"p{priced.sku_id}"),
                seller_id=facts[priced.sku_id].seller_id,
                name="赣南脐橙",
                spec="5斤/箱",
                unit_price=priced.unit_price,
                quantity=priced.quantity,
                subtotal=priced.subtotal,
                discount=priced.discount,
                payable=priced.payable,
            )
            for priced in breakdown.lines
        ]
        delivery = {
            Fulfilment.PICKUP: Delivery(Fulfilment.PICKUP, pickup_point_id="pp1"),
            Fulfilment.DELIVERY: Delivery(Fulfilment.DELIVERY, address_id="a1", express=express),
            Fulfilment.VOUCHER: Delivery(Fulfilment.VOUCHER),
        }[fulfilment]
        self.order = Order.place(
            id=OrderId("o1"),
            resident_id=AccountId("r1"),
            community_id=CommunityId("c1"),
            delivery=delivery,
            lines=lines,
            breakdown=breakdown,
            grant_ids=(),
            now=T0,
            pay_within=PAY_WITHIN,
            idempotency_key="key-1",
            request_digest="digest",
        )
        assert self.order.total == breakdown.total
        if pay_at_once:  # half the runs start paid, to spend their steps on what follows
            self.pay("pay-1", right_amount=True)

    # ------------------------------------------------------------ the model

    def refused(self, error: type[Exception], call: Callable[[], object]) -> None:
        before = snapshot(self.placed)
        with pytest.raises(error):
            call()
        assert snapshot(self.placed) == before

    def stepped(self, action: OrderAction) -> None:
        self.expected = TRANSITIONS[(self.expected, action)]

    @property
    def vouchers(self) -> bool:
        return self.placed.delivery.kind is Fulfilment.VOUCHER

    def legal(self, action: OrderAction) -> bool:
        if self.vouchers and action in HANDING_OVER:
            return False
        return (self.expected, action) in TRANSITIONS and FULFILMENT_OF_ACTION.get(action) in (
            None,
            self.placed.delivery.kind,
        )

    def new_refund_id(self) -> RefundId:
        self.refund_count += 1
        return RefundId(f"f{self.refund_count}")

    def asked(self, wanted: dict[SkuId, int]) -> list[tuple[OrderLine, int]]:
        return [(x, wanted[x.sku_id]) for x in self.placed.lines if x.sku_id in wanted]

    @property
    def pending(self) -> bool:
        return any(line.pending_quantity for line in self.placed.lines)

    # ------------------------------------------------------------ rules

    @rule(minutes=st.integers(0, 30))
    def time_passes(self, minutes: int) -> None:
        self.now += dt.timedelta(minutes=minutes)

    @rule(
        action=st.sampled_from(OrderAction),
        forward=st.booleans(),
        ref=st.sampled_from(["pay-1", "pay-2"]),
        wrong_amount=st.integers(0, 7).map(lambda n: n == 7),
    )
    def act(self, action: OrderAction, forward: bool, ref: str, wrong_amount: bool) -> None:
        """Attempt one step of the lifecycle; half the time the next step along the way."""
        if forward:
            action = next((a for a in FORWARD if self.legal(a)), action)
        match action:
            case OrderAction.PAY:
                self.pay(ref, right_amount=not wrong_amount)
            case OrderAction.CANCEL:
                self.cancel(reason=" 不要了 ")
            case OrderAction.EXPIRE:
                self.expire()
            case OrderAction.REFUND_ALL:
                refund = self.ask_for_refund(
                    everything=True, pick=0, units=1, part=None, reason=RefundReason.NOT_WANTED
                )
                if refund is not None:
                    self.approve_refund(len(self.refunds) - 1)
            case OrderAction.RETURN:
                self.return_uncollected()
            case OrderAction.REDEEM:
                self.vouchers_settled()
            case _:
                self.advance(action)

    def vouchers_settled(self) -> None:
        """Every voucher used or refunded: completed when some were used, else cancelled."""
        order = self.placed
        redeemed = 0 if all(line.units_left == 0 for line in order.lines) else 1
        action = OrderAction.REDEEM if redeemed else OrderAction.REFUND_ALL
        if self.vouchers and self.legal(action):
            order.vouchers_settled(redeemed=redeemed, now=self.now)
            self.stepped(action)
        else:
            self.refused(
                IllegalTransition, lambda: order.vouchers_settled(redeemed=redeemed, now=self.now)
            )

    @rule(pick=st.integers(0, 2), units=st.integers(1, 4))
    def refund_unused_vouchers(self, pick: int, units: int) -> None:
        """Vouchers given back unused: their share, approved at once, back on sale."""
        order = self.placed
        line = order.lines[pick % len(order.lines)]
        wanted = {line.sku_id: units}
        refund_id = self.new_refund_id()

        def call() -> Refund:
            return order.refund_vouchers(refund_id, wanted, now=self.now, note="")

        if not self.vouchers or self.expected is not OrderStatus.PAID:
            self.refused(IllegalTransition, call)
            return
        if units > line.units_left:
            self.refused(RefundExceedsPaid, call)
            return
        owed, refunded = share(line, units), order.refunded
        refund = call()
        assert (refund.status, refund.amount, refund.restocked) == (
            RefundStatus.APPROVED,
            owed,
            True,
        )
        assert order.refunded == refunded + owed and order.status is self.expected
        self.refunds.append(refund)

    def return_uncollected(self) -> None:
        """Nobody came for it: everything left goes back and is refunded."""
        order = self.placed
        pending = any(line.pending_quantity for line in order.lines)
        if self.legal(OrderAction.RETURN) and not pending:
            units_left = sum(line.units_left for line in order.lines)
            refund = order.return_uncollected(RefundId("back"), now=self.now, note="")
            self.stepped(OrderAction.RETURN)
            assert (refund is None) == (units_left == 0)
            assert all(line.units_left == 0 for line in order.lines)
        else:
            self.refused(
                IllegalTransition,
                lambda: order.return_uncollected(RefundId("no"), now=self.now, note=""),
            )

    def pay(self, ref: str, *, right_amount: bool) -> None:
        order = self.placed
        amount = order.total if right_amount else order.total + Money(1)
        if order.paid_at is not None and order.payment_ref == ref:
            before = snapshot(order)
            assert order.pay(amount, ref, now=self.now) is False
            assert snapshot(order) == before
        elif not right_amount:
            self.refused(PaymentMismatch, lambda: order.pay(amount, ref, now=self.now))
        elif self.legal(OrderAction.PAY):
            assert order.pay(amount, ref, now=self.now) is True
            self.stepped(OrderAction.PAY)
            assert (order.paid_at, order.payment_ref, order.paid) == (self.now, ref, order.total)
        else:
            self.refused(IllegalTransition, lambda: order.pay(amount, ref, now=self.now))

    def advance(self, action: OrderAction) -> None:
        order = self.placed
        if self.legal(action):
            order.advance(action, now=self.now)
            self.stepped(action)
        else:
            self.refused(IllegalTransition, lambda: order.advance(action, now=self.now))

    @rule(action=st.sampled_from(NOT_STEPS))
    def advance_with_what_is_not_a_fulfilment_step(self, action: OrderAction) -> None:
        self.refused(InvalidInput, lambda: self.placed.advance(action, now=self.now))

    @precondition(lambda self: self.order is not None and self.pending)
    @rule()
    def cancel_while_a_refund_is_pending(self) -> None:
        self.cancel(reason="不要了")

    @rule()
    def cancel_with_an_overlong_reason(self) -> None:
        self.cancel(reason="不" * 501)

    def cancel(self, reason: str) -> None:
        order = self.placed
        refund_id = self.new_refund_id()

        def call() -> Refund | None:
            return order.cancel(refund_id, now=self.now, reason=reason)

        if (
            not self.legal(OrderAction.CANCEL)
            or self.pending
            or (self.vouchers and self.expected is OrderStatus.PAID)  # refund its vouchers
        ):
            self.refused(IllegalTransition, call)
            return
        if len(reason.strip()) > 500:
            self.refused(InvalidInput, call)
            return
        was_paid = order.status is OrderStatus.PAID
        owed = order.paid - order.refunded
        fee = Money(0) if order.delivery_fee_refunded else order.delivery_fee
        refund = call()
        self.stepped(OrderAction.CANCEL)
        assert order.history[-1].note == reason.strip()
        if was_paid:
            assert refund is not None
            assert (refund.status, refund.amount, refund.delivery_fee, refund.restocked) == (
                RefundStatus.APPROVED,
                owed,
                fee,
                True,
            )
            assert order.refunded == order.total
            self.refunds.append(refund)
        else:
            assert refund is None

    @rule()
    def the_expiry_job_runs(self) -> None:
        self.expire()

    def expire(self) -> None:
        order = self.placed
        if self.now >= order.expires_at and self.legal(OrderAction.EXPIRE):
            order.expire(now=self.now)
            self.stepped(OrderAction.EXPIRE)
        else:
            self.refused(IllegalTransition, lambda: order.expire(now=self.now))

    @rule(
        everything=st.integers(0, 3).map(lambda n: n == 3),
        pick=st.integers(0, 2),
        units=st.integers(1, 4),
        part=st.none() | st.integers(0, 110),
        reason=st.sampled_from(RefundReason),
        photos=st.integers(0, 7).map(lambda n: 10 if n == 7 else n),
    )
    def request_refund(
        self,
        everything: bool,
        pick: int,
        units: int,
        part: int | None,
        reason: RefundReason,
        photos: int,
    ) -> None:
        self.ask_for_refund(everything, pick, units, part, reason, photos)

    def ask_for_refund(
        self,
        everything: bool,
        pick: int,
        units: int,
        part: int | None,
        reason: RefundReason,
        photos: int = 0,
    ) -> Refund | None:
        order = self.placed
        line = order.lines[pick % len(order.lines)]
        wanted = (
            {x.sku_id: x.units_left for x in order.lines if x.units_left}
            if everything
            else {line.sku_id: units}
        )
        items = None if everything else wanted
        fits = bool(wanted) and all(n <= x.units_left for x, n in self.asked(wanted))
        most = sum((share(x, n) for x, n in self.asked(wanted)), Money(0)) if fits else Money(0)
        if part is None:
            ask = None
        elif part <= 100:
            ask = Money(most.fen * part // 100)
        else:
            ask = most + Money(1)
        refund_id = self.new_refund_id()

        def call() -> Refund:
            return order.request_refund(
                refund_id,
                items,
                reason,
                now=self.now,
                amount=ask,
                photos=tuple(f"https://img/{i}.jpg" for i in range(photos)),
                comment="坏了",
            )

        if self.expected not in REFUNDABLE:
            self.refused(IllegalTransition, call)
            return None
        if reason is RefundReason.CANCELLED or reason in GIVEN_REASONS:
            self.refused(InvalidInput, call)  # cancel instead; the platform gives these
            return None
        if self.vouchers:  # its unused vouchers are refunded instead
            self.refused(IllegalTransition, call)
            return None
        if not fits or (ask is not None and ask > most):
            self.refused(RefundExceedsPaid, call)
            return None
        if (ask is not None and ask.fen <= 0) or photos > 9:
            self.refused(InvalidInput, call)
            return None
        if ask is not None and ask != most and self.expected in GOODS_STILL_HERE:
            self.refused(InvalidInput, call)  # less than in full only for goods received
            return None
        before = {x.sku_id: (x.pending_quantity, x.pending_amount) for x in order.lines}
        refund = call()
        assert refund.status is RefundStatus.REQUESTED
        assert (refund.delivery_fee, refund.amount) == (Money(0), most if ask is None else ask)
        assert {i.sku_id: i.quantity for i in refund.items} == wanted
        for x in order.lines:
            quantity, amount = before[x.sku_id]
            item = next((i for i in refund.items if i.sku_id == x.sku_id), None)
            if item is not None:
                quantity, amount = quantity + item.quantity, amount + item.amount
            assert (x.pending_quantity, x.pending_amount) == (quantity, amount)
        assert order.status is self.expected
        self.refunds.append(refund)
        return refund

    @precondition(lambda self: self.refunds)
    @rule(pick=st.integers(0, 50))
    def approve_refund(self, pick: int) -> None:
        order = self.placed
        refund = self.refunds[pick % len(self.refunds)]
        if refund.status is not RefundStatus.REQUESTED:
            decided = (refund.status, refund.version, refund.amount)
            self.refused(
                IllegalTransition, lambda: order.approve_refund(refund, now=self.now, by=None)
            )
            assert (refund.status, refund.version, refund.amount) == decided
            return
        refunded = order.refunded
        goods_still_here = self.expected in GOODS_STILL_HERE
        asked = {item.sku_id: item.quantity for item in refund.items}
        empties = all(
            x.refunded_quantity + asked.get(x.sku_id, 0) == x.quantity for x in order.lines
        )
        fee = (
            order.delivery_fee
            if empties and goods_still_here and not order.delivery_fee_refunded
            else Money(0)
        )
        goods = sum((item.amount for item in refund.items), Money(0))
        order.approve_refund(refund, now=self.now, note="同意", by=AccountId("op1"))
        assert (refund.status, refund.restocked) == (RefundStatus.APPROVED, goods_still_here)
        assert (refund.delivery_fee, refund.amount) == (fee, goods + fee)
        assert order.refunded == refunded + refund.amount
        if empties and self.legal(OrderAction.REFUND_ALL):
            self.stepped(OrderAction.REFUND_ALL)

    @precondition(lambda self: self.refunds)
    @rule(pick=st.integers(0, 50))
    def reject_refund(self, pick: int) -> None:
        order = self.placed
        refund = self.refunds[pick % len(self.refunds)]
        if refund.status is not RefundStatus.REQUESTED:
            decided = (refund.status, refund.version)
            self.refused(
                IllegalTransition,
                lambda: order.reject_refund(refund, now=self.now, note="照片不清", by=None),
            )
            assert (refund.status, refund.version) == decided
            return
        before = (order.status, order.refunded, order.delivery_fee_refunded)
        pending = {x.sku_id: (x.pending_quantity, x.pending_amount) for x in order.lines}
        order.reject_refund(refund, now=self.now, note="照片不清", by=AccountId("op1"))
        assert (refund.status, refund.delivery_fee) == (RefundStatus.REJECTED, Money(0))
        assert (order.status, order.refunded, order.delivery_fee_refunded) == before
        for item in refund.items:
            quantity, amount = pending[item.sku_id]
            line = next(x for x in order.lines if x.sku_id == item.sku_id)
            assert (line.pending_quantity, line.pending_amount) == (
                quantity - item.quantity,
                amount - item.amount,
            )

    # ------------------------------------------------------------ invariants

    @precondition(lambda self: self.order is not None)
    @invariant()
    def the_status_is_the_one_the_table_says(self) -> None:
        assert self.placed.status is self.expected
        assert self.placed.status in REACHABLE

    @precondition(lambda self: self.order is not None)
    @invariant()
    def no_more_is_refunded_than_was_paid(self) -> None:
        assert Money(0) <= self.placed.refunded <= self.placed.paid

    @precondition(lambda self: self.order is not None)
    @invariant()
    def the_refunded_money_is_the_lines_plus_the_delivery_fee(self) -> None:
        order = self.placed
        lines = sum((x.refunded_amount for x in order.lines), Money(0))
        fee = order.delivery_fee if order.delivery_fee_refunded else Money(0)
        assert lines + fee == order.refunded

    @precondition(lambda self: self.order is not None)
    @invariant()
    def the_delivery_fee_is_refunded_only_when_nothing_is_left_to_deliver(self) -> None:
        if self.placed.delivery_fee_refunded:
            assert all(x.refunded_quantity == x.quantity for x in self.placed.lines)
            assert self.placed.delivery_fee > Money(0)

    @precondition(lambda self: self.order is not None)
    @invariant()
    def no_line_refunds_more_units_or_money_than_it_has(self) -> None:
        for x in self.placed.lines:
            assert x.pending_quantity >= 0
            assert x.refunded_quantity >= 0
            assert x.refunded_quantity + x.pending_quantity <= x.quantity
            assert x.pending_amount >= Money(0)
            assert x.refunded_amount >= Money(0)
            assert x.refunded_amount + x.pending_amount <= x.payable

    @precondition(lambda self: self.order is not None)
    @invariant()
    def a_final_status_accepts_no_action(self) -> None:
        if self.placed.status.final:
            assert not any(self.placed.allows(action) for action in OrderAction)

    @precondition(lambda self: self.order is not None)
    @invariant()
    def the_history_ends_in_the_status(self) -> None:
        assert self.placed.history[-1].status is self.placed.status
        assert self.placed.history[0].status is OrderStatus.PENDING_PAYMENT

    @precondition(lambda self: self.order is not None)
    @invariant()
    def an_expired_order_was_never_paid(self) -> None:
        if self.placed.status is OrderStatus.EXPIRED:
            assert self.placed.paid_at is None
            assert self.placed.refunded == Money(0)


OrderMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
TestOrderLifecycle = OrderMachine.TestCase
