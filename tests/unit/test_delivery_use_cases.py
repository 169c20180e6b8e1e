"""Home delivery through the use cases on the in-memory adapters and two sandbox couriers:
dispatched to the first courier that takes it, failed over when one is down or refuses,
kept waiting (never lost) when none takes it, then followed through signed callbacks that
move the order forwards and never backwards."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ import bootstrap
from shequ.adapters.clock import FixedClock
from shequ.adapters.couriers import RetryingCourier, SandboxCourier
from shequ.application.fulfilment.delivery import (
    ApplyCourierCallback,
    ApplyCourierCallbackHandler,
    Couriers,
    DispatchDelivery,
    DispatchDeliveryHandler,
    DispatchWaiting,
    DispatchWaitingHandler,
    TrackDelivery,
    TrackDeliveryHandler,
)
from shequ.application.ordering.orders import AdvanceOrder, AdvanceOrderHandler
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import Clock, UnitOfWork
from shequ.domain.errors import (
    CourierCallbackInvalid,
    DeliveryNotFound,
    IllegalTransition,
    InvalidInput,
)
from shequ.domain.fulfilment.delivery import DeliveryStatus, Shipment
from shequ.domain.ordering import Delivery, Fulfilment, Order, OrderAction, OrderStatus
from tests.support import ClockModule, Shop, settings

S = DeliveryStatus


class TwoCouriers(injector.Module):
    def __init__(self, clock: FixedClock) -> None:
        self.first = SandboxCourier("first", clock=clock)
        self.second = SandboxCourier("second", clock=clock)
        self.slept: list[float] = []

    @injector.provider
    def couriers(self, clock: Clock) -> Couriers:
        return Couriers(
            [
                RetryingCourier(self.first, attempts=3, sleep=self.slept.append),
                RetryingCourier(self.second, attempts=3, sleep=self.slept.append),
            ]
        )


@pytest.fixture
def partners(clock: FixedClock) -> TwoCouriers:
    return TwoCouriers(clock)


@pytest.fixture
def shop(clock: FixedClock, partners: TwoCouriers) -> Shop:
    return Shop(bootstrap(settings(storage="memory"), ClockModule(clock), partners), clock)


def packed_delivery(shop: Shop, express: bool = False) -> tuple[Order, Actor]:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="30.00", stock=10, communities=(here,))
    _, resident = shop.resident(here)
    door = Delivery(Fulfilment.DELIVERY, address_id=shop.address(resident), express=express)
    order = shop.pay(shop.order(resident, here, (sku, 2), delivery=door))
    packed = shop.app.get(AdvanceOrderHandler)(
        AdvanceOrder(order.id, OrderAction.PACK), actor=CONSOLE
    )
    return packed, resident


def dispatch(shop: Shop, order: Order) -> Shipment:
    return shop.app.get(DispatchDeliveryHandler)(DispatchDelivery(order.id), actor=CONSOLE)


def callback(shop: Shop, courier: str, sent: tuple[bytes, dict[str, str]]) -> Shipment:
    return shop.app.get(ApplyCourierCallbackHandler)(
        ApplyCourierCallback(courier, sent[1], sent[0])
    )


def stored_order(shop: Shop, order: Order) -> Order:
    with shop.app.get(UnitOfWork) as uow:
        return uow.orders.get(order.id)


def test_a_courier_that_is_down_is_retried_then_the_next_one_takes_it(
    shop: Shop, partners: TwoCouriers
) -> None:
    order, _ = packed_delivery(shop)
    partners.first.available = False
    shipment = dispatch(shop, order)
    assert (shipment.status, shipment.courier) == (S.ASSIGNED, "second")
    assert shipment.courier_ref and shipment.fee_fen == 600
    assert len(partners.slept) == 2  # the first courier was tried three times
    with pytest.raises(IllegalTransition):
        dispatch(shop, order)  # it is with a courier already


def test_a_refusal_fails_over_at_once(shop: Shop, partners: TwoCouriers) -> None:
    order, _ = packed_delivery(shop)
    partners.first.refusal = "outside our area"
    assert dispatch(shop, order).courier == "second"
    assert partners.slept == []


def test_a_delivery_no_courier_takes_waits_with_the_reason_and_is_tried_again(
    shop: Shop, partners: TwoCouriers
) -> None:
    order, _ = packed_delivery(shop)
    partners.first.available = partners.second.available = False
    shipment = dispatch(shop, order)
    assert shipment.status is S.CREATED and shipment.attempts == 1
    assert "first" in shipment.pending_reason and "second" in shipment.pending_reason
    partners.second.available = True
    [again] = shop.app.get(DispatchWaitingHandler)(DispatchWaiting(), actor=CONSOLE)
    assert (again.status, again.courier, again.pending_reason) == (S.ASSIGNED, "second", "")


def test_callbacks_move_the_delivery_and_its_order_forwards_only(
    shop: Shop, partners: TwoCouriers
) -> None:
    order, resident = packed_delivery(shop)
    ref = dispatch(shop, order).courier_ref
    assert ref is not None
    courier = partners.first
    assert callback(shop, "first", courier.advance(ref, S.PICKED_UP)).status is S.PICKED_UP
    assert stored_order(shop, order).status is OrderStatus.OUT_FOR_DELIVERY
    done = callback(shop, "first", courier.advance(ref, S.DELIVERED, proof="code 4711"))
    assert (done.status, done.proof) == (S.DELIVERED, "code 4711")
    assert stored_order(shop, order).status is OrderStatus.DELIVERED
    again = callback(shop, "first", courier.advance(ref, S.DELIVERED, proof="code 4711"))
    assert len(again.timeline) == len(done.timeline)  # a repeated report changes nothing
    with pytest.raises(IllegalTransition):
        callback(shop, "first", courier.advance(ref, S.OUT_FOR_DELIVERY))  # backwards
    tracked = shop.app.get(TrackDeliveryHandler)(TrackDelivery(order.id), actor=resident)
    assert [e.status for e in tracked.timeline] == [S.CREATED, S.ASSIGNED, S.PICKED_UP, S.DELIVERED]


def test_a_forged_stale_or_unknown_callback_changes_nothing(
    shop: Shop, partners: TwoCouriers, clock: FixedClock
) -> None:
    order, _ = packed_delivery(shop)
    ref = dispatch(shop, order).courier_ref
    body, headers = partners.first.advance(ref or "", S.PICKED_UP)
    with pytest.raises(CourierCallbackInvalid):
        callback(shop, "first", (body.replace(b"picked_up", b"delivered"), headers))
    with pytest.raises(CourierCallbackInvalid):
        callback(shop, "second", (body, headers))  # signed by another courier's key
    stale = partners.first.callback(
        {
            "courier_ref": ref,
            "order_id": order.id,
            "status": "delivered",
            "at": clock.now().isoformat(),
        },
        signed_at=clock.now() - dt.timedelta(minutes=10),
    )
    with pytest.raises(CourierCallbackInvalid):
        callback(shop, "first", stale)
    unknown = partners.first.callback(
        {
            "courier_ref": "no-such",
            "order_id": order.id,
            "status": "delivered",
            "at": clock.now().isoformat(),
        }
    )
    with pytest.raises(DeliveryNotFound):
        callback(shop, "first", unknown)
    with shop.app.get(UnitOfWork) as uow:
        assert uow.shipments.get(order.id).status is S.ASSIGNED
    assert stored_order(shop, order).status is OrderStatus.PACKED


def test_an_express_order_is_promised_within_the_hour_and_a_pickup_order_is_not_delivered(
    shop: Shop,
) -> None:
    order, _ = packed_delivery(shop, express=True)
    shipment = dispatch(shop, order)
    assert shipment.express and shipment.window_end - shipment.window_start == dt.timedelta(hours=1)
    here = shop.community("翠苑")
    sku = shop.sku(shop.product(shop.seller()), stock=5, communities=(here,))
    pickup = shop.order(shop.resident(here)[1], here, (sku, 1))
    with pytest.raises(InvalidInput, match="pickup point"):
        dispatch(shop, pickup)
