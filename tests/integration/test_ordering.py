"""Ordering on every backend: checkout, payment, the lifecycle, cancellation, expiry, refunds."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.ordering.cart import (
    AddToCart,
    AddToCartHandler,
    CartProblem,
    ViewCart,
    ViewCartHandler,
)
from shequ.application.ordering.checkout import PlaceOrder, PlaceOrderHandler
from shequ.application.ordering.coupons import (
    CreateCoupon,
    CreateCouponHandler,
    IssueCoupon,
    IssueCouponHandler,
)
from shequ.application.ordering.orders import (
    AdvanceOrder,
    AdvanceOrderHandler,
    CancelOrder,
    CancelOrderHandler,
    ExpireOrders,
    ExpireOrdersHandler,
    GetOrder,
    GetOrderHandler,
    ListOrders,
    ListOrdersHandler,
)
from shequ.application.ordering.refunds import (
    DecideRefund,
    DecideRefundHandler,
    RequestRefund,
    RequestRefundHandler,
)
from shequ.application.payments.notifications import ConfirmPayment, ConfirmPaymentHandler
from shequ.application.payments.start import StartPayment, StartPaymentHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import PaymentGateway, UnitOfWork
from shequ.domain.errors import (
    CouponUsedUp,
    IdempotencyKeyReused,
    IllegalTransition,
    InsufficientStock,
    PaymentNotificationInvalid,
    RefundExceedsPaid,
    SkuUnavailable,
)
from shequ.domain.money import Money
from shequ.domain.ordering import (
    CouponKind,
    CouponTerms,
    Delivery,
    Fulfilment,
    OrderAction,
    OrderStatus,
    RefundReason,
    RefundStatus,
)
from tests.support import Shop


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def stock_of(app: injector.Injector, sku_id: str) -> int:
    with app.get(UnitOfWork) as uow:
        return uow.skus.get(sku_id).stock  # type: ignore[arg-type]


def events(app: injector.Injector) -> list[str]:
    with app.get(UnitOfWork) as uow:
        return [m.name for m in uow.outbox.pending(limit=10_000)]


def test_a_pickup_order_goes_from_checkout_to_completed(shop: Shop, app: injector.Injector) -> None:
    here = shop.community()
    oranges = shop.sku(shop.product(shop.seller()), price="29.90", stock=10, communities=(here,))
    _, resident = shop.resident(here)
    order = shop.order(resident, here, (oranges, 3))
    assert (order.status, order.total) == (OrderStatus.PENDING_PAYMENT, Money(8970))
    assert stock_of(app, oranges.id) == 7
    order = shop.pay(order)
    assert order.status is OrderStatus.PAID
    advance = app.get(AdvanceOrderHandler)
    order = advance(AdvanceOrder(order.id, OrderAction.PACK), actor=CONSOLE)
    for by_hand in (OrderAction.READY, OrderAction.PICK_UP):  # only at the point, by code
        with pytest.raises(IllegalTransition, match="by hand"):
            advance(AdvanceOrder(order.id, by_hand), actor=CONSOLE)
    shop.collect(order)
    order = advance(AdvanceOrder(order.id, OrderAction.COMPLETE), actor=CONSOLE)
    seen = app.get(GetOrderHandler)(GetOrder(order.id), actor=resident)
    assert seen.status is OrderStatus.COMPLETED
    assert [c.status for c in seen.history] == [
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.PACKED,
        OrderStatus.READY_FOR_PICKUP,
        OrderStatus.PICKED_UP,
        OrderStatus.COMPLETED,
    ]
    assert {"OrderPlaced", "OrderPaid", "OrderStatusChanged"} <= set(events(app))


def test_a_paid_notification_repeated_marks_the_order_paid_once(
    shop: Shop, app: injector.Injector
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), communities=(here,))
    _, resident = shop.resident(here)
    order = shop.order(resident, here, (sku, 1))
    gateway = app.get(PaymentGateway)
    intent = app.get(StartPaymentHandler)(StartPayment(order.id), actor=CONSOLE)
    body, headers = gateway.pay(intent.payment_id)  # type: ignore[attr-defined]
    confirm = app.get(ConfirmPaymentHandler)
    assert confirm(ConfirmPayment("sandbox", body, headers)).outcome.value == "paid"
    assert confirm(ConfirmPayment("sandbox", body, headers)).outcome.value == "already_applied"
    assert events(app).count("OrderPaid") == 1
    with pytest.raises(PaymentNotificationInvalid):
        confirm(ConfirmPayment("sandbox", body.replace(b"sbx", b"sbX"), headers))


def test_delivery_is_charged_below_the_threshold_and_express_on_top(
    shop: Shop, app: injector.Injector
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="10.00", communities=(here,))
    _, resident = shop.resident(here)
    address = shop.address(resident)
    order = shop.order(
        resident,
        here,
        (sku, 2),
        delivery=Delivery(Fulfilment.DELIVERY, address_id=address, express=True),
    )
    assert (order.subtotal, order.delivery_fee, order.total) == (
        Money(2000),
        Money(1300),
        Money(3300),
    )
    order = shop.pay(order)
    advance = app.get(AdvanceOrderHandler)
    with pytest.raises(IllegalTransition):
        advance(AdvanceOrder(order.id, OrderAction.READY), actor=CONSOLE)
    for action in (
        OrderAction.PACK,
        OrderAction.DISPATCH,
        OrderAction.DELIVER,
        OrderAction.COMPLETE,
    ):
        order = advance(AdvanceOrder(order.id, action), actor=CONSOLE)
    assert order.status is OrderStatus.COMPLETED


def test_the_same_key_returns_the_same_order_and_another_body_is_refused(
    shop: Shop, app: injector.Injector
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), stock=5, communities=(here,))
    _, resident = shop.resident(here)
    first = shop.order(resident, here, (sku, 2), key="k-1")
    again = shop.order(resident, here, (sku, 2), key="k-1")
    assert again.id == first.id
    assert stock_of(app, sku.id) == 3
    with pytest.raises(IdempotencyKeyReused):
        shop.order(resident, here, (sku, 1), key="k-1")


def test_an_off_sale_sku_and_too_little_stock_change_nothing(
    shop: Shop, app: injector.Injector
) -> None:
    here = shop.community()
    product = shop.product(shop.seller())
    off = shop.sku(product, spec="off", on_sale=False, communities=(here,))
    few = shop.sku(product, spec="few", stock=2, communities=(here,))
    _, resident = shop.resident(here)
    with pytest.raises(SkuUnavailable):
        shop.order(resident, here, (off, 1), (few, 1))
    with pytest.raises(InsufficientStock):
        shop.order(resident, here, (few, 3))
    assert stock_of(app, few.id) == 2
    assert "OrderPlaced" not in events(app)


def test_the_cart_flags_what_cannot_be_ordered_and_prices_the_rest(
    shop: Shop, app: injector.Injector
) -> None:
    here = shop.community()
    product = shop.product(shop.seller())
    good = shop.sku(product, spec="good", price="30.00", stock=9, communities=(here,))
    gone = shop.sku(product, spec="empty", stock=0, communities=(here,))
    account, resident = shop.resident(here)
    add = app.get(AddToCartHandler)
    add(AddToCart(account.id, here.id, good.id, 2), actor=resident)
    shop.clock.advance(dt.timedelta(seconds=1))
    add(AddToCart(account.id, here.id, gone.id, 1), actor=resident)
    view = app.get(ViewCartHandler)(ViewCart(account.id, here.id), actor=resident)
    assert [i.problem for i in view.items] == [None, CartProblem.OUT_OF_STOCK]
    assert view.quote is not None and view.quote.breakdown.total == Money(6000)
    order = app.get(PlaceOrderHandler)(
        PlaceOrder(
            resident_id=account.id,
            community_id=here.id,
            delivery=Delivery(Fulfilment.PICKUP, pickup_point_id="pp-1"),
            idempotency_key="cart-1",
            from_cart=True,
        ),
        actor=resident,
    )
    assert order.units == {good.id: 2}
    left = app.get(ViewCartHandler)(ViewCart(account.id, here.id), actor=resident)
    assert [(i.sku_id, i.problem) for i in left.items] == [(gone.id, CartProblem.OUT_OF_STOCK)]


def test_the_best_coupon_is_chosen_and_a_cancelled_order_gives_it_back(
    shop: Shop, app: injector.Injector, clock: FixedClock
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="50.00", stock=9, communities=(here,))
    account, resident = shop.resident(here)
    now = clock.now()
    make = app.get(CreateCouponHandler)
    small = make(
        CreateCoupon(
            "立减5元",
            CouponTerms(CouponKind.AMOUNT, amount=Money(500)),
            now,
            now + dt.timedelta(days=7),
        ),
        actor=CONSOLE,
    )
    big = make(
        CreateCoupon(
            "满100减20",
            CouponTerms(CouponKind.THRESHOLD, amount=Money(2000), threshold=Money(10000)),
            now,
            now + dt.timedelta(days=7),
        ),
        actor=CONSOLE,
    )
    issue = app.get(IssueCouponHandler)
    for coupon in (small, big):
        issue(IssueCoupon(coupon.id, (account.id,)), actor=CONSOLE)
    with pytest.raises(CouponUsedUp):
        issue(IssueCoupon(small.id, (account.id,)), actor=CONSOLE)
    order = shop.order(resident, here, (sku, 2), grant_ids=None)
    assert (order.discount, order.total) == (Money(2000), Money(8000))
    assert len(order.grant_ids) == 1
    app.get(CancelOrderHandler)(CancelOrder(order.id, "changed my mind"), actor=resident)
    again = shop.order(resident, here, (sku, 2), grant_ids=None)
    assert again.grant_ids == order.grant_ids
    assert stock_of(app, sku.id) == 7


def test_a_paid_order_cancelled_is_refunded_in_full_and_restocked(
    shop: Shop, app: injector.Injector
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), stock=4, communities=(here,))
    _, resident = shop.resident(here)
    order = shop.pay(shop.order(resident, here, (sku, 4)))
    done = app.get(CancelOrderHandler)(CancelOrder(order.id), actor=resident)
    assert done.refund is not None and done.refund.amount == order.total
    assert done.order.status is OrderStatus.CANCELLED
    assert stock_of(app, sku.id) == 4


def test_unpaid_orders_expire_and_return_their_stock(
    shop: Shop, app: injector.Injector, clock: FixedClock
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), stock=3, communities=(here,))
    _, resident = shop.resident(here)
    unpaid = shop.order(resident, here, (sku, 2))
    paid = shop.pay(shop.order(resident, here, (sku, 1)))
    expire = app.get(ExpireOrdersHandler)
    assert expire(ExpireOrders(), actor=CONSOLE) == 0
    clock.advance(dt.timedelta(minutes=16))
    assert expire(ExpireOrders(), actor=CONSOLE) == 1
    assert (
        app.get(GetOrderHandler)(GetOrder(unpaid.id), actor=CONSOLE).status is OrderStatus.EXPIRED
    )
    assert app.get(GetOrderHandler)(GetOrder(paid.id), actor=CONSOLE).status is OrderStatus.PAID
    assert stock_of(app, sku.id) == 2
    assert "OrderExpired" in events(app)


def test_partial_refunds_add_up_and_never_exceed_what_was_paid(
    shop: Shop, app: injector.Injector
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="10.00", stock=9, communities=(here,))
    _, resident = shop.resident(here)
    order = shop.pay(shop.order(resident, here, (sku, 3)))
    pack = AdvanceOrder(order.id, OrderAction.PACK)
    shop.collect(app.get(AdvanceOrderHandler)(pack, actor=CONSOLE))
    ask, decide = app.get(RequestRefundHandler), app.get(DecideRefundHandler)
    first = ask(RequestRefund(order.id, RefundReason.QUALITY, {sku.id: 1}), actor=resident)
    with pytest.raises(RefundExceedsPaid):
        ask(RequestRefund(order.id, RefundReason.MISSING, {sku.id: 3}), actor=resident)
    approved = decide(DecideRefund(first.id, approve=True, note="ok"), actor=CONSOLE)
    assert approved.status is RefundStatus.APPROVED and approved.payment_refund_ref
    rest = ask(RequestRefund(order.id, RefundReason.QUALITY), actor=resident)
    decide(DecideRefund(rest.id, approve=True), actor=CONSOLE)
    final = app.get(GetOrderHandler)(GetOrder(order.id), actor=resident)
    assert final.refunded == order.total == first.amount + rest.amount
    assert stock_of(app, sku.id) == 6  # the goods had left: nothing goes back
    with pytest.raises(RefundExceedsPaid):
        ask(RequestRefund(order.id, RefundReason.QUALITY), actor=resident)


def test_operators_list_orders_by_status_page_by_page(
    shop: Shop, app: injector.Injector, clock: FixedClock
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), stock=50, communities=(here,))
    _, resident = shop.resident(here)
    placed = []
    for _ in range(5):
        clock.advance(dt.timedelta(seconds=1))
        placed.append(shop.order(resident, here, (sku, 1)))
    shop.pay(placed[0])
    listing = app.get(ListOrdersHandler)
    seen, cursor = [], None
    while True:
        page = listing(
            ListOrders(
                community_id=here.id, status=OrderStatus.PENDING_PAYMENT, cursor=cursor, limit=2
            ),
            actor=CONSOLE,
        )
        seen += [o.id for o in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [o.id for o in reversed(placed[1:])]


def test_the_demo_places_orders_at_every_step(app: injector.Injector) -> None:
    from shequ.application.catalog.demo import SeedDemoHandler
    from shequ.application.ordering.demo import SeedDemoOrdersHandler
    from shequ.application.ordering.refunds import ListRefunds, ListRefundsHandler

    made = app.get(SeedDemoHandler)(actor=CONSOLE)
    orders = app.get(SeedDemoOrdersHandler)(made, actor=CONSOLE)
    assert [o.status for o in orders] == [
        OrderStatus.COMPLETED,
        OrderStatus.OUT_FOR_DELIVERY,
        OrderStatus.PICKED_UP,
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.DELIVERED,
    ]
    assert orders[1].discount == Money(800)  # the 满50减8 coupon, chosen by the engine
    with app.get(UnitOfWork) as uow:  # through the pickup point and our rider, not by hand
        assert uow.pickup_tickets.find(orders[0].id) is not None
        brought, delivered = uow.shipments.get(orders[1].id), uow.shipments.get(orders[4].id)
    assert (brought.courier, brought.status.value) == ("team", "out_for_delivery")
    assert delivered.proof == "the resident's handover code"
    waiting = app.get(ListRefundsHandler)(ListRefunds(status=RefundStatus.REQUESTED), actor=CONSOLE)
    assert [r.order_id for r in waiting] == [orders[2].id]
