"""Text that cannot be stored or shown, impossible times and forged cursors are refused
before anything is written, on every backend; concurrent decisions of one refund too."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.cursors import seal_cursor
from shequ.application.ordering.coupons import CreateCoupon, CreateCouponHandler
from shequ.application.ordering.orders import (
    AdvanceOrder,
    AdvanceOrderHandler,
    CancelOrder,
    CancelOrderHandler,
    GetOrder,
    GetOrderHandler,
    ListOrders,
    ListOrdersHandler,
)
from shequ.application.ordering.refunds import (
    DecideRefund,
    DecideRefundHandler,
    ListRefunds,
    ListRefundsHandler,
    RequestRefund,
    RequestRefundHandler,
)
from shequ.application.policy import CONSOLE
from shequ.domain.errors import IllegalTransition, InvalidCursor, InvalidInput
from shequ.domain.money import Money
from shequ.domain.ordering import (
    CouponKind,
    CouponScope,
    CouponTerms,
    Delivery,
    Fulfilment,
    OrderAction,
    OrderStatus,
    RefundReason,
    RefundStatus,
    ScopeKind,
)
from tests.integration.test_concurrency import race
from tests.support import Shop

LONE = "\ud800"


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def test_text_that_cannot_be_stored_is_refused_and_changes_nothing(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), stock=5, communities=(here,))
    _, resident = shop.resident(here)
    order = shop.pay(shop.order(resident, here, (sku, 2)))
    with pytest.raises(InvalidInput):
        app.get(CancelOrderHandler)(CancelOrder(order.id, f"bad {LONE}"), actor=resident)
    with pytest.raises(InvalidInput):
        app.get(AdvanceOrderHandler)(
            AdvanceOrder(order.id, OrderAction.PACK, note=LONE), actor=CONSOLE
        )
    for photos, comment in (((f"/media/{LONE}.jpg",), ""), ((), f"坏了{LONE}")):
        with pytest.raises(InvalidInput):
            app.get(RequestRefundHandler)(
                RequestRefund(order.id, RefundReason.QUALITY, photos=photos, comment=comment),
                actor=resident,
            )
    with pytest.raises(InvalidInput):
        shop.order(resident, here, (sku, 1), delivery=Delivery(Fulfilment.PICKUP, LONE))
    seen = app.get(GetOrderHandler)(GetOrder(order.id), actor=resident)
    assert (seen.status, seen.lines[0].pending_quantity) == (OrderStatus.PAID, 0)
    assert app.get(ListRefundsHandler)(ListRefunds(order_id=order.id), actor=resident) == []


def test_a_coupon_with_bad_text_or_an_impossible_window_is_refused(
    app: injector.Injector, clock: FixedClock
) -> None:
    now = clock.now()
    make = app.get(CreateCouponHandler)
    amount = CouponTerms(CouponKind.AMOUNT, amount=Money(100))
    refused = [
        CreateCoupon(f"立减{LONE}", amount, now, now + dt.timedelta(days=1)),
        CreateCoupon("ok", amount, dt.datetime(1, 1, 1, tzinfo=dt.UTC), now),
        CreateCoupon("ok", amount, now, dt.datetime(9999, 12, 31, tzinfo=dt.UTC)),
    ]
    for command in refused:
        with pytest.raises(InvalidInput):
            make(command, actor=CONSOLE)
    for scope in (
        {"kind": ScopeKind.CATEGORY, "category": f"生鲜/{LONE}"},
        {"kind": ScopeKind.SKUS, "sku_ids": frozenset({LONE})},
    ):
        with pytest.raises(InvalidInput):
            CouponTerms(CouponKind.AMOUNT, amount=Money(100), scope=CouponScope(**scope))  # type: ignore[arg-type]


def test_a_cursor_with_a_time_without_zone_is_refused(app: injector.Injector, shop: Shop) -> None:
    here = shop.community()
    account, resident = shop.resident(here)
    query = ListOrders(resident_id=account.id)
    forged = seal_cursor(["2026-01-01T00:00:00", "x"], query.fingerprint())
    with pytest.raises(InvalidCursor):
        app.get(ListOrdersHandler)(
            ListOrders(resident_id=account.id, cursor=forged), actor=resident
        )


def test_a_residents_refund_list_keeps_its_filters(app: injector.Injector, shop: Shop) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="10.00", stock=5, communities=(here,))
    _, resident = shop.resident(here)
    order = shop.pay(shop.order(resident, here, (sku, 2)))
    ask, decide = app.get(RequestRefundHandler), app.get(DecideRefundHandler)
    first = ask(RequestRefund(order.id, RefundReason.QUALITY, {sku.id: 1}), actor=resident)
    decide(DecideRefund(first.id, approve=False, note="不同意"), actor=CONSOLE)
    ask(RequestRefund(order.id, RefundReason.QUALITY, {sku.id: 1}), actor=resident)
    rejected = app.get(ListRefundsHandler)(
        ListRefunds(order_id=order.id, status=RefundStatus.REJECTED), actor=resident
    )
    assert [r.id for r in rejected] == [first.id]


@pytest.mark.parametrize("backend", ["postgres", "sqlite", "memory"], indirect=True)
def test_one_refund_decided_at_once_by_four_is_approved_once(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="10.00", stock=5, communities=(here,))
    _, resident = shop.resident(here)
    order = shop.pay(shop.order(resident, here, (sku, 2)))
    refund = app.get(RequestRefundHandler)(
        RequestRefund(order.id, RefundReason.NOT_WANTED), actor=resident
    )
    deciders = [app.get(DecideRefundHandler) for _ in range(4)]
    outcomes = race(
        4, lambda i: deciders[i](DecideRefund(refund.id, approve=True), actor=CONSOLE) and None
    )
    assert sum(o is None for o in outcomes) == 1
    assert sum(isinstance(o, IllegalTransition) for o in outcomes) == 3, outcomes
    seen = app.get(GetOrderHandler)(GetOrder(order.id), actor=CONSOLE)
    assert (seen.refunded, seen.status) == (order.total, OrderStatus.CANCELLED)
