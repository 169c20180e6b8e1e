"""Demo orders: a few orders at different steps, so a first look shows the whole flow."""

from __future__ import annotations

import datetime as dt

from shequ.application.catalog.demo import (
    DEMO_RESIDENT_PHONE,
    DEMO_RIDER_PHONE,
    DemoCatalog,
    demo_sku_id,
)
from shequ.application.fulfilment.delivery import DispatchDelivery, DispatchDeliveryHandler
from shequ.application.fulfilment.pickup import (
    ArriveAtPickupPoint,
    ArriveAtPickupPointHandler,
    CreatePickupPoint,
    CreatePickupPointHandler,
    VerifyPickupCode,
    VerifyPickupCodeHandler,
)
from shequ.application.fulfilment.queries import GetHandoverCode, GetHandoverCodeHandler
from shequ.application.fulfilment.riders import (
    AcceptDelivery,
    AcceptDeliveryHandler,
    ReportDelivery,
    ReportDeliveryHandler,
)
from shequ.application.fulfilment.slots import OpenDeliverySlots, OpenDeliverySlotsHandler
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
from shequ.domain.fulfilment.delivery import TEAM, DeliveryStatus
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
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = ["DemoFulfilment", "SeedDemoOrdersHandler", "pay_as_recorded"]

_PICKUP = Delivery(Fulfilment.PICKUP, pickup_point_id="demo-pp-1")
# key, items, to the door?, steps after payment (None: left unpaid), refund of one unit
_ORDERS: list[tuple[str, list[tuple[str, str, int]], bool, list[str] | None, bool]] = [
    (
        "demo-1",
        [("赣南脐橙", "5斤/箱", 1), ("西红柿", "1kg/袋", 2)],
        False,
        ["pack", "arrive", "verify", "complete"],
        False,
    ),
    (
        "demo-2",
        [("五常大米", "5kg/袋", 1), ("洗洁精", "1.5kg/瓶", 1)],
        True,
        ["pack", "dispatch", "picked_up", "out_for_delivery"],
        False,
    ),
    ("demo-3", [("黑猪五花肉", "500g/盒", 2)], False, ["pack", "arrive", "verify"], True),
    ("demo-4", [("海南香蕉", "1把约2斤", 2)], False, None, False),
    (
        "demo-5",
        [("非转基因大豆油", "5L/桶", 1), ("卷纸", "10卷/提", 1)],
        True,
        ["pack", "dispatch", "picked_up", "out_for_delivery", "delivered"],
        False,
    ),
]


class DemoFulfilment:
    """What fulfils the demo's orders: the handlers of each step."""

    def __init__(
        self,
        advance: AdvanceOrderHandler,
        arrive: ArriveAtPickupPointHandler,
        verify: VerifyPickupCodeHandler,
        dispatch: DispatchDeliveryHandler,
        accept: AcceptDeliveryHandler,
        report: ReportDeliveryHandler,
        handover: GetHandoverCodeHandler,
        open_slots: OpenDeliverySlotsHandler,
    ) -> None:
        self.advance, self.arrive, self.verify = advance, arrive, verify
        self.dispatch, self.accept, self.report = dispatch, accept, report
        self.handover, self.open_slots = handover, open_slots


class SeedDemoOrdersHandler:
    """Run once after the demo catalog is made: a 满减 coupon issued to the demo resident,
    delivery slots for the coming week, and five orders of theirs: one collected at the
    pickup point with its code and completed, one our rider is bringing to the door, one
    collected with a refund request waiting for the operator, one waiting for payment,
    and one our rider handed over at the door for the resident's code. The paid ones are
    paid through the sandbox as recorded (no provider is asked); everything else goes
    through the use cases."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: Policy,
        place: PlaceOrderHandler,
        create_coupon: CreateCouponHandler,
        issue: IssueCouponHandler,
        refund: RequestRefundHandler,
        add_address: AddAddressHandler,
        create_point: CreatePickupPointHandler,
        steps: DemoFulfilment,
    ) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy
        self._place, self._refund = place, refund
        self._create_coupon, self._issue, self._add_address = create_coupon, issue, add_address
        self._create_point, self._steps = create_point, steps

    def __call__(self, demo: DemoCatalog, *, actor: Actor) -> list[Order]:
        self._policy.require(actor, Permission.CONSOLE)
        with self._uow as uow:
            account = uow.accounts.find_by_phone(DEMO_RESIDENT_PHONE)
            rider_account = uow.accounts.find_by_phone(DEMO_RIDER_PHONE)
        if account is None or rider_account is None:
            raise AccountNotFound("the demo's people are missing: run the demo catalog first")
        resident, rider = Actor.of(account, client="demo"), Actor.of(rider_account, client="demo")
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
        self._steps.open_slots(
            OpenDeliverySlots(
                demo.community.id,
                day=now.astimezone(CHINA_STANDARD_TIME).date(),
                first=dt.time(8),
                last=dt.time(20),
                minutes=120,
                capacity=20,
                days=7,
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
                order = self._fulfil(order, steps, actor, resident, rider)
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

    def _fulfil(
        self, order: Order, steps: list[str], console: Actor, resident: Actor, rider: Actor
    ) -> Order:
        """Each step as it happens: the point's operator hands the order over for its
        code; our rider takes the delivery to the door for the resident's code."""
        s, code = self._steps, ""
        for step in steps:
            if step in ("pack", "complete"):
                order = s.advance(AdvanceOrder(order.id, OrderAction(step)), actor=console)
            elif step == "arrive":
                [ticket] = s.arrive(
                    ArriveAtPickupPoint(PickupPointId(_PICKUP.pickup_point_id or ""), (order.id,)),
                    actor=console,
                )
                code = ticket.code
            elif step == "verify":
                order = s.verify(
                    VerifyPickupCode(PickupPointId(_PICKUP.pickup_point_id or ""), code),
                    actor=console,
                )
            elif step == "dispatch":
                shipment = s.dispatch(DispatchDelivery(order.id), actor=console)
                if shipment.courier != TEAM:  # another courier carries it: not ours to play
                    break
                s.accept(AcceptDelivery(order.id), actor=rider)
            else:
                status = DeliveryStatus(step)
                if status is DeliveryStatus.DELIVERED:
                    code = s.handover(GetHandoverCode(order.id), actor=resident).code
                s.report(ReportDelivery(order.id, status, code=code), actor=rider)
        with self._uow as uow:
            return uow.orders.get(order.id)

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
