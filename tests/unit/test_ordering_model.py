"""The cart, coupons and their copies, and orders with their refunds, by example."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shequ.domain.errors import (
    CouponExpired,
    CouponNotHeld,
    CouponUsedUp,
    IllegalTransition,
    InvalidInput,
    InvalidQuantity,
    NotFound,
    PaymentMismatch,
    RefundExceedsPaid,
)
from shequ.domain.ids import (
    AccountId,
    CartId,
    CommunityId,
    CouponId,
    GrantId,
    OrderId,
    ProductId,
    RefundId,
    SellerId,
    SkuId,
)
from shequ.domain.money import Money
from shequ.domain.ordering.cart import MAX_CART_LINES, Cart
from shequ.domain.ordering.coupons import Coupon, CouponCreated, CouponGrant, CouponIssued
from shequ.domain.ordering.orders import (
    Delivery,
    Order,
    OrderAction,
    OrderCancelled,
    OrderExpired,
    OrderLine,
    OrderPaid,
    OrderStatus,
    RefundReason,
    RefundStatus,
)
from shequ.domain.ordering.pricing import (
    CouponKind,
    CouponScope,
    CouponTerms,
    DeliveryFees,
    Fulfilment,
    PricedCoupon,
    PricingLine,
    ScopeKind,
    price,
)

NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=5)
CST = dt.timezone(dt.timedelta(hours=8))
RESIDENT = AccountId("r1")
NEIGHBOUR = AccountId("r2")
K1, K2 = SkuId("k1"), SkuId("k2")


# ---------------------------------------------------------------- the cart


def a_cart() -> Cart:
    return Cart(
        id=CartId("cart1"), resident_id=RESIDENT, community_id=CommunityId("c1"), updated_at=NOW
    )


def test_adding_a_sku_puts_a_line_in_the_cart() -> None:
    cart = a_cart()
    cart.add(K1, 2, now=LATER)
    assert [(line.sku_id, line.quantity, line.added_at) for line in cart.lines] == [(K1, 2, LATER)]
    assert (cart.quantity_of(K1), cart.quantity_of(K2), cart.version, cart.updated_at) == (
        2,
        0,
        2,
        LATER,
    )


def test_adding_a_sku_already_there_raises_its_quantity() -> None:
    cart = a_cart()
    cart.add(K1, 2, now=NOW)
    cart.add(K2, 1, now=NOW)
    cart.add(K1, 3, now=LATER)
    assert [(line.sku_id, line.quantity) for line in cart.lines] == [(K1, 5), (K2, 1)]
    assert cart.lines[0].added_at == NOW


@pytest.mark.parametrize("quantity", [0, -1, 10_000])
def test_a_cart_refuses_a_quantity_outside_1_to_9999(quantity: int) -> None:
    cart = a_cart()
    with pytest.raises(InvalidQuantity):
        cart.add(K1, quantity, now=NOW)
    assert (cart.lines, cart.version) == ([], 1)


def test_adding_more_may_not_take_a_line_past_9999() -> None:
    cart = a_cart()
    cart.add(K1, 9_999, now=NOW)
    with pytest.raises(InvalidQuantity):
        cart.add(K1, 1, now=LATER)
    assert cart.quantity_of(K1) == 9_999


def test_setting_a_quantity_replaces_it() -> None:
    cart = a_cart()
    cart.add(K1, 2, now=NOW)
    cart.set_quantity(K1, 7, now=LATER)
    assert (cart.quantity_of(K1), cart.version, cart.updated_at) == (7, 3, LATER)


def test_setting_the_same_quantity_changes_nothing() -> None:
    cart = a_cart()
    cart.add(K1, 2, now=NOW)
    cart.set_quantity(K1, 2, now=LATER)
    assert (cart.version, cart.updated_at) == (2, NOW)


def test_setting_or_removing_a_sku_not_in_the_cart_is_not_found() -> None:
    cart = a_cart()
    with pytest.raises(NotFound):
        cart.set_quantity(K1, 1, now=NOW)
    with pytest.raises(NotFound):
        cart.remove(K1, now=NOW)


def test_setting_a_quantity_of_zero_is_refused_remove_the_line_instead() -> None:
    cart = a_cart()
    cart.add(K1, 2, now=NOW)
    with pytest.raises(InvalidQuantity):
        cart.set_quantity(K1, 0, now=LATER)
    cart.remove(K1, now=LATER)
    assert (cart.lines, cart.quantity_of(K1)) == ([], 0)


def test_a_cart_holds_at_most_its_limit_of_skus() -> None:
    cart = a_cart()
    for i in range(MAX_CART_LINES):
        cart.add(SkuId(f"k{i}"), 1, now=NOW)
    with pytest.raises(InvalidInput):
        cart.add(SkuId("one-more"), 1, now=NOW)
    cart.add(SkuId("k0"), 1, now=NOW)  # more of one already there is fine
    assert (len(cart.lines), cart.quantity_of(SkuId("k0"))) == (MAX_CART_LINES, 2)


def test_taking_out_ordered_skus_keeps_the_rest() -> None:
    cart = a_cart()
    cart.add(K1, 1, now=NOW)
    cart.add(K2, 1, now=NOW)
    cart.take_out({K1, SkuId("k9")}, now=LATER)
    assert [line.sku_id for line in cart.lines] == [K2]
    version = cart.version
    cart.take_out({SkuId("k9")}, now=LATER)
    assert cart.version == version


# ---------------------------------------------------------------- coupons

SPEND_50 = CouponTerms(CouponKind.THRESHOLD, amount=Money(500), threshold=Money(5000))


def a_coupon(**changes: Any) -> Coupon:
    fields: dict[str, Any] = {
        "id": CouponId("c1"),
        "name": "满50减5",
        "terms": SPEND_50,
        "valid_from": NOW,
        "valid_until": NOW + dt.timedelta(days=7),
        "now": NOW,
    }
    fields.update(changes)
    return Coupon.create(**fields)


def test_a_new_coupon_records_its_creation() -> None:
    coupon = a_coupon(
        name="  满50减5 ",
        valid_from=dt.datetime(2026, 11, 25, 10, tzinfo=CST),
        valid_until=dt.datetime(2026, 12, 2, 10, tzinfo=CST),
    )
    assert (coupon.name, coupon.valid_from, coupon.valid_until, coupon.issued) == (
        "满50减5",
        NOW,
        NOW + dt.timedelta(days=7),
        0,
    )
    assert coupon.events == [
        CouponCreated(
            occurred_at=NOW, coupon_id=CouponId("c1"), name="满50减5", kind=CouponKind.THRESHOLD
        )
    ]


@pytest.mark.parametrize(
    "terms",
    [
        SPEND_50,
        CouponTerms(
            CouponKind.PERCENT,
            percent_off=12,
            cap=Money(1000),
            threshold=Money(100),
            scope=CouponScope(ScopeKind.CATEGORY, category="生鲜/水果"),
        ),
        CouponTerms(
            CouponKind.AMOUNT,
            amount=Money(300),
            scope=CouponScope(ScopeKind.SKUS, sku_ids=frozenset({K2, K1})),
            seller_id=SellerId("s1"),
        ),
        CouponTerms(
            CouponKind.DELIVERY,
            scope=CouponScope(ScopeKind.SELLER, seller_id=SellerId("s2")),
            seller_id=SellerId("s2"),
        ),
    ],
)
def test_a_coupon_gives_back_the_terms_it_was_made_with(terms: CouponTerms) -> None:
    coupon = a_coupon(terms=terms)
    assert coupon.terms == terms
    assert coupon.priced() == PricedCoupon(CouponId("c1"), terms)


@pytest.mark.parametrize(
    "changes",
    [
        {"id": "has space"},
        {"id": "x" * 33},
        {"name": ""},
        {"name": "   "},
        {"name": "券" * 61},
        {"valid_from": dt.datetime(2026, 11, 25)},
        {"valid_until": NOW},
        {"valid_until": NOW - dt.timedelta(seconds=1)},
        {"per_resident_limit": 0},
        {"per_resident_limit": 101},
        {"total_limit": 0},
        {"total_limit": 10_000_001},
        {"claim_code": "ab1"},
        {"claim_code": "AB-12"},
        {"claim_code": "A" * 21},
        {"claim_code": "满减券码"},
    ],
)
def test_a_coupon_refuses_bad_settings(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        a_coupon(**changes)


def test_a_claim_code_is_trimmed_and_upper_cased() -> None:
    assert a_coupon(claim_code="  spring2026 ").claim_code == "SPRING2026"


def test_a_coupon_is_valid_from_its_start_until_just_before_its_end() -> None:
    coupon = a_coupon()
    end = NOW + dt.timedelta(days=7)
    assert (coupon.valid_at(NOW), coupon.valid_at(end - dt.timedelta(seconds=1))) == (True, True)
    assert (coupon.valid_at(NOW - dt.timedelta(seconds=1)), coupon.valid_at(end)) == (False, False)
    coupon.check_valid(NOW)
    for outside in (NOW - dt.timedelta(seconds=1), end):
        with pytest.raises(CouponExpired):
            coupon.check_valid(outside)


def test_issuing_gives_a_copy_and_counts_it() -> None:
    coupon = a_coupon(total_limit=5)
    coupon.events.clear()
    grant = coupon.issue(GrantId("g1"), RESIDENT, 0, now=LATER, claimed=True)
    assert (grant.coupon_id, grant.resident_id, grant.granted_at, grant.used_by) == (
        CouponId("c1"),
        RESIDENT,
        LATER,
        None,
    )
    assert (coupon.issued, coupon.remaining, coupon.version) == (1, 4, 2)
    assert coupon.events == [
        CouponIssued(
            occurred_at=LATER,
            coupon_id=CouponId("c1"),
            grant_id=GrantId("g1"),
            resident_id=RESIDENT,
            claimed=True,
        )
    ]


def test_no_more_copies_are_issued_than_the_total_limit() -> None:
    coupon = a_coupon(total_limit=2)
    coupon.issue(GrantId("g1"), RESIDENT, 0, now=NOW)
    coupon.issue(GrantId("g2"), NEIGHBOUR, 0, now=NOW)
    with pytest.raises(CouponUsedUp):
        coupon.issue(GrantId("g3"), AccountId("r3"), 0, now=NOW)
    assert (coupon.issued, coupon.remaining) == (2, 0)


def test_a_resident_holds_no_more_copies_than_the_per_resident_limit() -> None:
    coupon = a_coupon(per_resident_limit=2)
    coupon.issue(GrantId("g1"), RESIDENT, 0, now=NOW)
    coupon.issue(GrantId("g2"), RESIDENT, 1, now=NOW)
    with pytest.raises(CouponUsedUp):
        coupon.issue(GrantId("g3"), RESIDENT, 2, now=NOW)
    coupon.issue(GrantId("g4"), NEIGHBOUR, 0, now=NOW)
    assert (coupon.issued, coupon.remaining) == (3, None)


def test_an_expired_coupon_is_not_issued() -> None:
    coupon = a_coupon()
    with pytest.raises(CouponExpired):
        coupon.issue(GrantId("g1"), RESIDENT, 0, now=NOW + dt.timedelta(days=7))
    assert (coupon.issued, coupon.version) == (0, 1)


def a_grant() -> CouponGrant:
    return CouponGrant(
        id=GrantId("g1"), coupon_id=CouponId("c1"), resident_id=RESIDENT, granted_at=NOW
    )


def test_a_copy_is_used_by_one_order() -> None:
    grant = a_grant()
    grant.use(OrderId("o1"), RESIDENT, now=LATER)
    assert (grant.used_by, grant.used_at, grant.version) == (OrderId("o1"), LATER, 2)
    with pytest.raises(CouponUsedUp):
        grant.use(OrderId("o2"), RESIDENT, now=LATER)
    assert grant.used_by == OrderId("o1")


def test_a_copy_cannot_be_used_by_someone_else() -> None:
    grant = a_grant()
    with pytest.raises(CouponNotHeld):
        grant.use(OrderId("o1"), NEIGHBOUR, now=LATER)
    assert (grant.used_by, grant.version) == (None, 1)


def test_a_cancelled_order_gives_its_copy_back() -> None:
    grant = a_grant()
    grant.use(OrderId("o1"), RESIDENT, now=LATER)
    grant.give_back(OrderId("o2"))  # not the order that used it: nothing happens
    assert (grant.used_by, grant.version) == (OrderId("o1"), 2)
    grant.give_back(OrderId("o1"))
    assert (grant.used_by, grant.used_at, grant.version) == (None, None, 3)
    grant.use(OrderId("o3"), RESIDENT, now=LATER)
    assert grant.used_by == OrderId("o3")


# ---------------------------------------------------------------- orders

FEES = DeliveryFees(base_fee=Money(500), free_from=Money(5900), express_surcharge=Money(800))


def an_order(
    goods: tuple[tuple[int, int], ...] = ((400, 3),),
    *,
    off: int = 0,
    fulfilment: Fulfilment = Fulfilment.PICKUP,
) -> Order:
    """An order of ``(unit price, quantity)`` lines, with ``off`` fen off the whole order."""
    lines = [
        PricingLine(SkuId(f"k{i + 1}"), SellerId("s1"), "生鲜/水果", Money(unit), quantity)
        for i, (unit, quantity) in enumerate(goods)
    ]
    coupons = (
        [PricedCoupon(CouponId("c1"), CouponTerms(CouponKind.AMOUNT, amount=Money(off)))]
        if off
        else []
    )
    breakdown = price(lines, fulfilment=fulfilment, fees=FEES, coupons=coupons)
    delivery = (
        Delivery(Fulfilment.PICKUP, pickup_point_id="pp1")
        if fulfilment is Fulfilment.PICKUP
        else Delivery(Fulfilment.DELIVERY, address_id="a1")
    )
    return Order.place(
        id=OrderId("o1"),
        resident_id=RESIDENT,
        community_id=CommunityId("c1"),
        delivery=delivery,
        lines=[
            OrderLine(
                sku_id=x.sku_id,
                product_id=ProductId("p1"),
                seller_id=SellerId("s1"),
                name="赣南脐橙",
                spec="5斤/箱",
                unit_price=x.unit_price,
                quantity=x.quantity,
                subtotal=x.subtotal,
                discount=x.discount,
                payable=x.payable,
            )
            for x in breakdown.lines
        ],
        breakdown=breakdown,
        grant_ids=(GrantId("g1"),) if off else (),
        now=NOW,
        pay_within=dt.timedelta(minutes=15),
        idempotency_key="key-1",
        request_digest="digest",
    )


def a_paid_order(*steps: OrderAction, **order: Any) -> Order:
    placed = an_order(**order)
    placed.pay(placed.total, "pay-1", now=NOW)
    for step in steps:
        placed.advance(step, now=LATER)
    return placed


def as_it_is(order: Order) -> tuple[Any, ...]:
    return (
        order.status,
        order.version,
        tuple(order.history),
        order.refunded,
        order.delivery_fee_refunded,
        tuple(
            (x.refunded_quantity, x.refunded_amount, x.pending_quantity, x.pending_amount)
            for x in order.lines
        ),
        len(order.events),
    )


def refund_id(n: int) -> RefundId:
    return RefundId(f"f{n}")


def test_a_placed_order_keeps_the_priced_amounts() -> None:
    order = an_order(off=200, fulfilment=Fulfilment.DELIVERY)
    assert (order.subtotal, order.discount, order.delivery_fee, order.total) == (
        Money(1200),
        Money(200),
        Money(500),
        Money(1500),
    )
    assert (order.lines[0].payable, order.status, order.paid) == (
        Money(1000),
        OrderStatus.PENDING_PAYMENT,
        Money(0),
    )
    assert order.expires_at == NOW + dt.timedelta(minutes=15)


def test_refunds_of_single_units_add_up_to_exactly_what_the_line_cost() -> None:
    order = a_paid_order(off=200)  # 3 units for ¥10.00
    amounts = []
    for n in range(3):
        refund = order.request_refund(refund_id(n), {K1: 1}, RefundReason.QUALITY, now=LATER)
        order.approve_refund(refund, now=LATER, by=None)
        amounts.append(refund.amount.fen)
    assert sorted(amounts) == [333, 333, 334]
    assert sum(amounts) == 1000
    assert (order.refunded, order.lines[0].refunded_amount) == (Money(1000), Money(1000))


def test_a_pending_refund_counts_against_what_is_left() -> None:
    order = a_paid_order(off=200)
    first = order.request_refund(refund_id(1), {K1: 1}, RefundReason.QUALITY, now=LATER)
    rest = order.request_refund(refund_id(2), {K1: 2}, RefundReason.QUALITY, now=LATER)
    assert (first.amount, rest.amount) == (Money(333), Money(667))
    with pytest.raises(RefundExceedsPaid):
        order.request_refund(refund_id(3), {K1: 1}, RefundReason.QUALITY, now=LATER)
    order.reject_refund(first, now=LATER, note="照片不清", by=None)
    again = order.request_refund(refund_id(4), {K1: 1}, RefundReason.QUALITY, now=LATER)
    assert again.amount == Money(333)


def test_a_refund_of_more_units_than_are_left_is_refused() -> None:
    order = a_paid_order()
    refund = order.request_refund(refund_id(1), {K1: 2}, RefundReason.MISSING, now=LATER)
    order.approve_refund(refund, now=LATER, by=None)
    before = as_it_is(order)
    with pytest.raises(RefundExceedsPaid):
        order.request_refund(refund_id(2), {K1: 2}, RefundReason.MISSING, now=LATER)
    assert as_it_is(order) == before


def test_a_refund_of_more_money_than_was_paid_is_refused() -> None:
    order = a_paid_order(off=200)
    before = as_it_is(order)
    with pytest.raises(RefundExceedsPaid):
        order.request_refund(
            refund_id(1), {K1: 1}, RefundReason.QUALITY, now=LATER, amount=Money(334)
        )
    assert as_it_is(order) == before


def test_a_partial_refund_asks_for_less_than_the_units_cost() -> None:
    order = a_paid_order(OrderAction.PACK, OrderAction.READY, OrderAction.PICK_UP, off=200)
    refund = order.request_refund(
        refund_id(1), {K1: 2}, RefundReason.QUALITY, now=LATER, amount=Money(100)
    )
    order.approve_refund(refund, now=LATER, by=None)
    assert (refund.amount, order.lines[0].refunded_quantity) == (Money(100), 2)
    last = order.request_refund(refund_id(2), {K1: 1}, RefundReason.QUALITY, now=LATER)
    # the third unit is worth its part of the payable (1000 − ⌊1000 × 2 / 3⌋), not also
    # the money the partial refund kept
    assert last.amount == Money(334)


def test_the_units_of_a_line_are_worth_exactly_its_payable() -> None:
    order = a_paid_order(OrderAction.PACK, OrderAction.READY, OrderAction.PICK_UP, off=200)
    amounts = []
    for n in range(3):
        refund = order.request_refund(refund_id(n), {K1: 1}, RefundReason.QUALITY, now=LATER)
        order.approve_refund(refund, now=LATER, by=None)
        amounts.append(refund.amount.fen)
    assert amounts == [333, 333, 334] and sum(amounts) == order.lines[0].payable.fen


def test_before_the_goods_leave_units_are_refunded_in_full() -> None:
    order = a_paid_order(OrderAction.PACK, off=200)
    before = as_it_is(order)
    with pytest.raises(InvalidInput):
        order.request_refund(
            refund_id(1), {K1: 2}, RefundReason.QUALITY, now=LATER, amount=Money(100)
        )
    assert as_it_is(order) == before


@pytest.mark.parametrize("amount", [Money(0), Money(-1)])
def test_a_refund_is_more_than_nothing(amount: Money) -> None:
    order = a_paid_order()
    with pytest.raises(InvalidInput):
        order.request_refund(refund_id(1), {K1: 1}, RefundReason.QUALITY, now=LATER, amount=amount)


def test_a_refund_of_a_sku_not_in_the_order_is_refused() -> None:
    order = a_paid_order()
    with pytest.raises(InvalidInput):
        order.request_refund(refund_id(1), {K2: 1}, RefundReason.QUALITY, now=LATER)


def test_nothing_is_refunded_before_payment_or_as_a_cancellation() -> None:
    with pytest.raises(IllegalTransition):
        an_order().request_refund(refund_id(1), None, RefundReason.QUALITY, now=LATER)
    with pytest.raises(InvalidInput):
        a_paid_order().request_refund(refund_id(1), None, RefundReason.CANCELLED, now=LATER)


@pytest.mark.parametrize("steps", [(), (OrderAction.PACK,)])
def test_the_delivery_fee_is_refunded_with_the_refund_that_empties_an_order_not_yet_sent(
    steps: tuple[OrderAction, ...],
) -> None:
    order = a_paid_order(*steps, goods=((400, 3), (300, 1)), fulfilment=Fulfilment.DELIVERY)
    first = order.request_refund(refund_id(1), {K1: 3}, RefundReason.NOT_WANTED, now=LATER)
    assert (first.delivery_fee, first.amount) == (Money(0), Money(1200))
    order.approve_refund(first, now=LATER, by=None)
    assert first.delivery_fee == Money(0)
    last = order.request_refund(refund_id(2), None, RefundReason.NOT_WANTED, now=LATER)
    assert (last.delivery_fee, last.amount) == (Money(0), Money(300))  # decided at approval
    order.approve_refund(last, now=LATER, by=None)
    assert (last.delivery_fee, last.amount) == (Money(500), Money(800))
    assert (order.refunded, order.delivery_fee_refunded) == (order.total, True)


def test_the_delivery_fee_goes_with_whichever_approval_leaves_nothing_to_deliver() -> None:
    order = a_paid_order(fulfilment=Fulfilment.DELIVERY)
    one = order.request_refund(refund_id(1), {K1: 1}, RefundReason.NOT_WANTED, now=LATER)
    rest = order.request_refund(refund_id(2), {K1: 2}, RefundReason.NOT_WANTED, now=LATER)
    order.approve_refund(rest, now=LATER, by=None)
    assert (rest.delivery_fee, order.delivery_fee_refunded) == (Money(0), False)
    order.approve_refund(one, now=LATER, by=None)
    assert (one.delivery_fee, one.amount) == (Money(500), Money(900))
    assert (order.refunded, order.status) == (Money(1700), OrderStatus.CANCELLED)


@pytest.mark.parametrize(
    "steps",
    [
        (OrderAction.PACK, OrderAction.DISPATCH),
        (OrderAction.PACK, OrderAction.DISPATCH, OrderAction.DELIVER),
        (OrderAction.PACK, OrderAction.DISPATCH, OrderAction.DELIVER, OrderAction.COMPLETE),
    ],
)
def test_the_delivery_fee_is_not_refunded_once_the_goods_left(
    steps: tuple[OrderAction, ...],
) -> None:
    order = a_paid_order(*steps, fulfilment=Fulfilment.DELIVERY)
    status = order.status
    refund = order.request_refund(refund_id(1), None, RefundReason.QUALITY, now=LATER)
    order.approve_refund(refund, now=LATER, by=None)
    assert (refund.delivery_fee, refund.amount, refund.restocked) == (Money(0), Money(1200), False)
    assert (order.refunded, order.delivery_fee_refunded, order.status) == (
        Money(1200),
        False,
        status,
    )


def test_approving_a_full_refund_of_a_packed_order_cancels_it() -> None:
    order = a_paid_order(OrderAction.PACK, fulfilment=Fulfilment.DELIVERY)
    refund = order.request_refund(refund_id(1), None, RefundReason.NOT_WANTED, now=LATER)
    assert order.status is OrderStatus.PACKED
    order.approve_refund(refund, now=LATER, note="同意", by=AccountId("op1"))
    assert (refund.status, refund.restocked, refund.amount) == (
        RefundStatus.APPROVED,
        True,
        order.total,
    )
    assert (order.status, order.history[-1].note) == (OrderStatus.CANCELLED, "refunded in full")
    assert isinstance(order.events[-1], OrderCancelled)
    assert order.events[-1].refund_id == refund_id(1)


def test_a_full_refund_after_the_pickup_leaves_the_order_where_it_is() -> None:
    order = a_paid_order(OrderAction.PACK, OrderAction.READY, OrderAction.PICK_UP)
    refund = order.request_refund(refund_id(1), None, RefundReason.QUALITY, now=LATER)
    order.approve_refund(refund, now=LATER, by=None)
    assert (order.status, order.refunded, refund.restocked) == (
        OrderStatus.PICKED_UP,
        Money(1200),
        False,
    )


def test_a_rejected_refund_puts_its_units_back() -> None:
    order = a_paid_order()
    refund = order.request_refund(refund_id(1), {K1: 2}, RefundReason.QUALITY, now=LATER)
    with pytest.raises(InvalidInput):
        order.reject_refund(refund, now=LATER, note="  ", by=None)
    order.reject_refund(refund, now=LATER, note="照片不清", by=AccountId("op1"))
    assert (refund.status, refund.note, refund.decided_by) == (
        RefundStatus.REJECTED,
        "照片不清",
        AccountId("op1"),
    )
    assert (order.lines[0].units_left, order.lines[0].money_left, order.refunded) == (
        3,
        Money(1200),
        Money(0),
    )


def test_a_refund_is_decided_once() -> None:
    order = a_paid_order()
    refund = order.request_refund(refund_id(1), {K1: 1}, RefundReason.QUALITY, now=LATER)
    order.approve_refund(refund, now=LATER, by=None)
    before = as_it_is(order)
    with pytest.raises(IllegalTransition):
        order.approve_refund(refund, now=LATER, by=None)
    with pytest.raises(IllegalTransition):
        order.reject_refund(refund, now=LATER, note="不同意", by=None)
    assert (as_it_is(order), refund.status) == (before, RefundStatus.APPROVED)


def test_a_refund_of_another_order_is_refused() -> None:
    order, other = a_paid_order(), a_paid_order()
    other.id = OrderId("o2")
    refund = other.request_refund(refund_id(1), {K1: 1}, RefundReason.QUALITY, now=LATER)
    with pytest.raises(InvalidInput):
        order.approve_refund(refund, now=LATER, by=None)


def test_cancelling_a_paid_order_refunds_the_whole_total() -> None:
    order = a_paid_order(off=200, fulfilment=Fulfilment.DELIVERY)
    refund = order.cancel(refund_id(1), now=LATER, reason="买错了")
    assert refund is not None
    assert (refund.status, refund.reason, refund.amount, refund.restocked) == (
        RefundStatus.APPROVED,
        RefundReason.CANCELLED,
        Money(1500),
        True,
    )
    assert (order.status, order.refunded, order.delivery_fee_refunded) == (
        OrderStatus.CANCELLED,
        Money(1500),
        True,
    )
    cancelled = order.events[-1]
    assert isinstance(cancelled, OrderCancelled)
    assert (cancelled.refund_id, cancelled.refund_amount) == (refund_id(1), Money(1500))


def test_cancelling_a_paid_order_after_a_partial_refund_refunds_the_rest() -> None:
    order = a_paid_order(fulfilment=Fulfilment.DELIVERY)
    partial = order.request_refund(refund_id(1), {K1: 1}, RefundReason.MISSING, now=LATER)
    order.approve_refund(partial, now=LATER, by=None)
    refund = order.cancel(refund_id(2), now=LATER, reason="不要了")
    assert refund is not None
    assert (partial.amount, refund.amount, order.refunded) == (Money(400), Money(1300), order.total)


def test_cancelling_an_unpaid_order_refunds_nothing() -> None:
    order = an_order()
    assert order.cancel(refund_id(1), now=LATER, reason="不要了") is None
    assert (order.status, order.refunded) == (OrderStatus.CANCELLED, Money(0))


def test_an_order_with_a_pending_refund_request_is_not_cancelled() -> None:
    order = a_paid_order()
    order.request_refund(refund_id(1), {K1: 1}, RefundReason.QUALITY, now=LATER)
    before = as_it_is(order)
    with pytest.raises(IllegalTransition):
        order.cancel(refund_id(2), now=LATER, reason="不要了")
    assert as_it_is(order) == before


def test_a_packed_order_is_not_cancelled() -> None:
    order = a_paid_order(OrderAction.PACK)
    with pytest.raises(IllegalTransition):
        order.cancel(refund_id(1), now=LATER, reason="不要了")
    assert order.status is OrderStatus.PACKED


@pytest.mark.parametrize("amount", [Money(1199), Money(1201), Money(0)])
def test_a_payment_of_the_wrong_amount_is_refused(amount: Money) -> None:
    order = an_order()
    before = as_it_is(order)
    with pytest.raises(PaymentMismatch):
        order.pay(amount, "pay-1", now=LATER)
    assert (as_it_is(order), order.paid_at) == (before, None)


def test_the_same_payment_recorded_twice_counts_once() -> None:
    order = an_order()
    assert order.pay(Money(1200), "pay-1", now=LATER) is True
    assert order.pay(Money(1200), "pay-1", now=LATER + dt.timedelta(seconds=1)) is False
    paid = [event for event in order.events if isinstance(event, OrderPaid)]
    assert paid == [
        OrderPaid(
            occurred_at=LATER, order_id=OrderId("o1"), amount=Money(1200), payment_ref="pay-1"
        )
    ]
    assert (order.status, order.paid_at, order.paid) == (OrderStatus.PAID, LATER, Money(1200))


def test_a_second_payment_of_a_paid_order_is_refused() -> None:
    order = a_paid_order()
    with pytest.raises(IllegalTransition):
        order.pay(order.total, "pay-2", now=LATER)
    assert order.payment_ref == "pay-1"


@pytest.mark.parametrize(
    "action", [OrderAction.PACK, OrderAction.DISPATCH, OrderAction.READY, OrderAction.COMPLETE]
)
def test_an_unpaid_order_is_not_packed_or_shipped(action: OrderAction) -> None:
    order = an_order(fulfilment=Fulfilment.DELIVERY)
    before = as_it_is(order)
    with pytest.raises(IllegalTransition) as refused:
        order.advance(action, now=LATER)
    assert refused.value.details == {"status": "pending_payment", "action": action.value}
    assert as_it_is(order) == before


def test_a_pickup_order_is_not_dispatched_and_a_delivery_order_not_made_ready() -> None:
    pickup = a_paid_order(OrderAction.PACK)
    with pytest.raises(IllegalTransition):
        pickup.advance(OrderAction.DISPATCH, now=LATER)
    delivery = a_paid_order(OrderAction.PACK, fulfilment=Fulfilment.DELIVERY)
    with pytest.raises(IllegalTransition):
        delivery.advance(OrderAction.READY, now=LATER)


@pytest.mark.parametrize(
    ("fulfilment", "steps", "path"),
    [
        (
            Fulfilment.PICKUP,
            (OrderAction.PACK, OrderAction.READY, OrderAction.PICK_UP, OrderAction.COMPLETE),
            ("packed", "ready_for_pickup", "picked_up", "completed"),
        ),
        (
            Fulfilment.DELIVERY,
            (OrderAction.PACK, OrderAction.DISPATCH, OrderAction.DELIVER, OrderAction.COMPLETE),
            ("packed", "out_for_delivery", "delivered", "completed"),
        ),
    ],
)
def test_an_order_goes_the_way_of_its_fulfilment(
    fulfilment: Fulfilment, steps: tuple[OrderAction, ...], path: tuple[str, ...]
) -> None:
    order = a_paid_order(*steps, fulfilment=fulfilment)
    assert [change.status.value for change in order.history] == [
        "pending_payment",
        "paid",
        *path,
    ]
    assert order.status.final
    assert not any(order.allows(action) for action in OrderAction)


def test_a_fulfilment_step_is_not_a_payment_or_a_cancellation() -> None:
    order = an_order()
    with pytest.raises(InvalidInput):
        order.advance(OrderAction.PAY, now=LATER)


def test_an_order_expires_only_once_its_time_to_pay_is_up() -> None:
    order = an_order()
    before = as_it_is(order)
    with pytest.raises(IllegalTransition):
        order.expire(now=order.expires_at - dt.timedelta(seconds=1))
    assert as_it_is(order) == before
    order.expire(now=order.expires_at)
    assert order.status is OrderStatus.EXPIRED
    assert order.events[-1] == OrderExpired(occurred_at=order.expires_at, order_id=OrderId("o1"))
    with pytest.raises(IllegalTransition):
        order.pay(order.total, "pay-1", now=order.expires_at)


def test_a_paid_order_does_not_expire() -> None:
    order = a_paid_order()
    with pytest.raises(IllegalTransition):
        order.expire(now=order.expires_at + dt.timedelta(hours=1))
    assert order.status is OrderStatus.PAID


# ---------------------------------------------------------------- refused steps change nothing


def test_a_refund_request_with_too_many_photos_leaves_the_order_as_it_was() -> None:
    order = a_paid_order()
    before = as_it_is(order)
    with pytest.raises(InvalidInput):
        order.request_refund(
            refund_id(1), None, RefundReason.QUALITY, now=LATER, photos=("p",) * 10
        )
    assert as_it_is(order) == before
    refund = order.request_refund(
        refund_id(2), None, RefundReason.QUALITY, now=LATER, photos=("p",) * 9
    )
    assert refund.amount == Money(1200)


def test_a_refund_request_with_an_overlong_comment_leaves_the_order_as_it_was() -> None:
    order = a_paid_order()
    before = as_it_is(order)
    with pytest.raises(InvalidInput):
        order.request_refund(
            refund_id(1), None, RefundReason.QUALITY, now=LATER, comment="坏" * 501
        )
    assert as_it_is(order) == before


@pytest.mark.parametrize("paid", [True, False])
def test_a_cancellation_with_an_overlong_reason_leaves_the_order_as_it_was(paid: bool) -> None:
    order = a_paid_order() if paid else an_order()
    before = as_it_is(order)
    with pytest.raises(InvalidInput):
        order.cancel(refund_id(1), now=LATER, reason="不" * 501)
    assert as_it_is(order) == before


def test_the_delivery_fee_is_not_refunded_while_goods_are_still_to_be_delivered() -> None:
    order = a_paid_order(fulfilment=Fulfilment.DELIVERY)
    one = order.request_refund(refund_id(1), {K1: 1}, RefundReason.NOT_WANTED, now=LATER)
    rest = order.request_refund(refund_id(2), {K1: 2}, RefundReason.NOT_WANTED, now=LATER)
    order.approve_refund(rest, now=LATER, by=None)
    order.reject_refund(one, now=LATER, note="不同意", by=None)
    assert order.lines[0].refunded_quantity < order.lines[0].quantity
    assert (order.delivery_fee_refunded, order.refunded, order.status) == (
        False,
        Money(800),
        OrderStatus.PAID,
    )


def test_the_delivery_fee_is_not_refunded_for_goods_that_went_out_for_delivery() -> None:
    order = a_paid_order(OrderAction.PACK, fulfilment=Fulfilment.DELIVERY)
    refund = order.request_refund(refund_id(1), None, RefundReason.NOT_WANTED, now=LATER)
    order.advance(OrderAction.DISPATCH, now=LATER)
    order.approve_refund(refund, now=LATER, by=None)
    assert (refund.restocked, refund.delivery_fee, refund.amount) == (False, Money(0), Money(1200))
    assert (order.delivery_fee_refunded, order.refunded, order.status) == (
        False,
        Money(1200),
        OrderStatus.OUT_FOR_DELIVERY,
    )
