"""Demo orders: a few orders at different steps, so a first look shows the whole flow."""

from __future__ import annotations

import datetime as dt

from shequ.application.catalog.demo import DEMO_RESIDENT_PHONE, DemoCatalog, demo_sku_id
from shequ.application.fulfilment.pickup import CreatePickupPoint, CreatePickupPointHandler
from shequ.application.identity.addresses import AddAddress, AddAddressHandler
from shequ.application.ordering.checkout import OrderItem, PlaceOrder, PlaceOrderHandler
from shequ.application.ordering.coupons import (
    CreateCoupon,
    CreateCouponHandler,
    IssueCoupon,
    IssueCouponHandler,
)
from shequ.application.ordering.orders import AdvanceOrder, AdvanceOrderHandler
from shequ.application.ordering.refunds import RequestRefund, RequestRefundHandler
from shequ.application.payments.start import payment_id_for
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.domain.errors import AccountNotFound
from shequ.domain.fulfilment import WEEKDAYS, Hours, OpeningHours, PointKind
from shequ.domain.ids import CouponId, OrderId, PickupPointId
from shequ.domain.money import Money
from shequ.domain.ordering import (
    CouponKind,
    CouponTerms,
    Delivery,
    Fulfilment,
    Order,
    OrderAction,
    RefundReason,
)
from shequ.domain.payments import Channel, Payment, PaymentState
from shequ.domain.routing import GeoPoint

__all__ = ["SeedDemoOrdersHandler", "pay_as_recorded"]

A = OrderAction
_PICKUP = Delivery(Fulfilment.PICKUP, pickup_point_id="demo-pp-1")
# key, items, to the door?, steps after payment (None: left unpaid), refund of one unit
_ORDERS: list[tuple[str, list[tuple[str, str, int]], bool, list[OrderAction] | None, bool]] = [
    (
        "demo-1",
        [("赣南脐橙", "5斤/箱", 1), ("西红柿", "1kg/袋", 2)],
        False,
        [A.PACK, A.READY, A.PICK_UP, A.COMPLETE],
        False,
    ),
    (
        "demo-2",
        [("五常大米", "5kg/袋", 1), ("散养土鸡蛋", "30枚/盒", 1)],
        True,
        [A.PACK, A.DISPATCH],
        False,
    ),
    ("demo-3", [("黑猪五花肉", "500g/盒", 2)], False, [A.PACK, A.READY, A.PICK_UP], True),
    ("demo-4", [("海南香蕉", "1把约2斤", 2)], False, None, False),
]


class SeedDemoOrdersHandler:
    """Run once after the demo catalog is made: a 满减 coupon issued to the demo resident,
    and four orders of theirs: one completed, one out for delivery, one picked up with a
    refund request waiting for the operator, one waiting for payment. The paid ones are
    paid through the sandbox as recorded (no provider is asked); everything else goes
    through the use cases."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: Policy,
        place: PlaceOrderHandler,
        advance: AdvanceOrderHandler,
        create_coupon: CreateCouponHandler,
        issue: IssueCouponHandler,
        refund: RequestRefundHandler,
        add_address: AddAddressHandler,
        create_point: CreatePickupPointHandler,
    ) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy
        self._place, self._advance, self._refund = place, advance, refund
        self._create_coupon, self._issue, self._add_address = create_coupon, issue, add_address
        self._create_point = create_point

    def __call__(self, demo: DemoCatalog, *, actor: Actor) -> list[Order]:
        self._policy.require(actor, Permission.CONSOLE)
        with self._uow as uow:
            account = uow.accounts.find_by_phone(DEMO_RESIDENT_PHONE)
        if account is None:
            raise AccountNotFound("the demo resident is missing: run the demo catalog first")
        resident = Actor.of(account, client="demo")
        now = self._clock.now()
        coupon = self._create_coupon(
            CreateCoupon(
                name="满50减8",
                terms=CouponTerms(CouponKind.THRESHOLD, amount=Money(800), threshold=Money(5000)),
                valid_from=now - dt.timedelta(days=1),
                valid_until=now + dt.timedelta(days=30),
                claim_code="WELCOME",
                coupon_id=CouponId("demo-welcome"),
            ),
            actor=actor,
        )
        self._issue(IssueCoupon(coupon.id, (account.id,)), actor=actor)
        self._create_point(
            CreatePickupPoint(
                community_id=demo.community.id,
                name="阳光花园便利店",
                kind=PointKind.CONVENIENCE_STORE,
                address="阳光花园3幢底商",
                location=GeoPoint(30.2741, 120.1551),
                hours=OpeningHours.build(
                    {day: [Hours(dt.time(7), dt.time(22))] for day in WEEKDAYS}
                ),
                daily_capacity=200,
                point_id=PickupPointId(_PICKUP.pickup_point_id or ""),
            ),
            actor=actor,
        )
        address = self._add_address(
            AddAddress(recipient="演示居民", phone=DEMO_RESIDENT_PHONE, detail="3幢2单元501"),
            actor=resident,
        )
        placed = []
        for key, items, to_door, steps, refund in _ORDERS:
            order = self._place(
                PlaceOrder(
                    resident_id=account.id,
                    community_id=demo.community.id,
                    delivery=Delivery(Fulfilment.DELIVERY, address_id=address.id)
                    if to_door
                    else _PICKUP,
                    idempotency_key=key,
                    items=tuple(OrderItem(demo_sku_id(p, s), n) for p, s, n in items),
                ),
                actor=resident,
            )
            if steps is not None:
                self._mark_paid(order.id)
                for step in steps:
                    order = self._advance(AdvanceOrder(order.id, step), actor=actor)
            if refund:
                first = order.lines[0].sku_id
                self._refund(
                    RequestRefund(
                        order.id, RefundReason.QUALITY, {first: 1}, comment="有一盒不新鲜"
                    ),
                    actor=resident,
                )
            placed.append(order)
        return placed

    def _mark_paid(self, order_id: OrderId) -> None:
        pay_as_recorded(self._uow, self._clock.now(), order_id)


def pay_as_recorded(uow: UnitOfWork, now: dt.datetime, order_id: OrderId) -> Payment:
    """A demo order paid through the sandbox, as recorded: no provider is asked."""
    with uow:
        order = uow.orders.get_for_update(order_id)
        payment = Payment.start(
            id=payment_id_for(order.id, Channel.SANDBOX, "demo"),
            order_id=order.id,
            provider="sandbox",
            channel=Channel.SANDBOX,
            amount=order.total,
            now=now,
        )
        payment.record(
            PaymentState.SUCCEEDED,
            provider_ref=f"demo-{order.id}",
            amount=order.total,
            at=now,
            now=now,
        )
        uow.payments.add(payment)
        order.pay(order.total, payment.id, now=now)
        uow.commit()
    return payment
