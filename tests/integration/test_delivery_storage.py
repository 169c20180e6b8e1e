"""Home delivery on every storage: a shipment dispatched to the sandbox courier, its
signed callbacks applied once and in order, its timeline stored and read back, and two
dispatchers at once giving it to one courier once."""

from __future__ import annotations

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.adapters.couriers import RetryingCourier, SandboxCourier
from shequ.application.fulfilment.delivery import (
    ApplyCourierCallback,
    ApplyCourierCallbackHandler,
    Couriers,
    DispatchDelivery,
    DispatchDeliveryHandler,
)
from shequ.application.ordering.orders import AdvanceOrder, AdvanceOrderHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import UnitOfWork
from shequ.domain.errors import IllegalTransition
from shequ.domain.fulfilment.delivery import DeliveryStatus
from shequ.domain.ordering import Delivery, Fulfilment, OrderAction, OrderStatus
from tests.integration.test_concurrency import race
from tests.support import Shop

BACKENDS = ["postgres", "sqlite", "memory"]
S = DeliveryStatus


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def sandbox(app: injector.Injector) -> SandboxCourier:
    courier = app.get(Couriers).get("sandbox")
    assert isinstance(courier, RetryingCourier)
    inner = courier.wrapped
    assert isinstance(inner, SandboxCourier)
    return inner


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_delivery_is_dispatched_once_followed_and_stored_with_its_timeline(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="30.00", stock=10, communities=(here,))
    _, resident = shop.resident(here)
    door = Delivery(Fulfilment.DELIVERY, address_id=shop.address(resident), express=True)
    order = shop.pay(shop.order(resident, here, (sku, 1), delivery=door))
    app.get(AdvanceOrderHandler)(AdvanceOrder(order.id, OrderAction.PACK), actor=CONSOLE)
    dispatchers = [app.get(DispatchDeliveryHandler) for _ in range(4)]
    outcomes = race(4, lambda i: dispatchers[i](DispatchDelivery(order.id), actor=CONSOLE) and None)
    assert sum(o is None for o in outcomes) >= 1
    assert all(o is None or isinstance(o, IllegalTransition) for o in outcomes), outcomes
    with app.get(UnitOfWork) as uow:
        shipment = uow.shipments.get(order.id)
    assert shipment.status is S.ASSIGNED and shipment.courier == "sandbox"
    ref = shipment.courier_ref or ""
    apply = app.get(ApplyCourierCallbackHandler)
    for status in (S.PICKED_UP, S.OUT_FOR_DELIVERY, S.DELIVERED):
        body, headers = sandbox(app).advance(ref, status, proof="门口签收")
        apply(ApplyCourierCallback("sandbox", headers, body))
    with app.get(UnitOfWork) as uow:
        stored = uow.shipments.get(order.id)
        assert uow.orders.get(order.id).status is OrderStatus.DELIVERED
        assert uow.shipments.by_courier_ref("sandbox", ref) is not None
    assert [e.status for e in stored.timeline] == [
        S.CREATED,
        S.ASSIGNED,
        S.PICKED_UP,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    assert stored.proof == "门口签收" and stored.express and stored.fee_fen > 0
    with app.get(UnitOfWork) as uow:
        names = [m.name for m in uow.outbox.pending(10_000)]
    assert names.count("DeliveryDispatched") == 1
    assert names.count("DeliveryStatusChanged") == 4
