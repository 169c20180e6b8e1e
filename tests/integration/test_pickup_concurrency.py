"""Pickup points on every storage: a point's daily capacity holds under concurrent
checkouts, a cancelled order gives its place back once, and codes stay unique among the
uncollected orders of a point however many batches arrive at once."""

from __future__ import annotations

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.fulfilment.pickup import (
    ArriveAtPickupPoint,
    ArriveAtPickupPointHandler,
    VerifyPickupCode,
    VerifyPickupCodeHandler,
)
from shequ.application.ordering.orders import AdvanceOrder, AdvanceOrderHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import UnitOfWork
from shequ.domain.errors import PickupPointFull
from shequ.domain.ids import PickupPointId
from shequ.domain.ordering import Delivery, Fulfilment, Order, OrderAction, OrderStatus
from tests.integration.test_concurrency import race
from tests.support import Shop

BACKENDS = ["postgres", "sqlite", "memory"]


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def outbox_names(app: injector.Injector) -> list[str]:
    with app.get(UnitOfWork) as uow:
        return [m.name for m in uow.outbox.pending(100_000)]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_thirty_checkouts_race_for_a_point_s_last_eight_places(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    point = shop.point(here, "pp-small", capacity=8)
    sku = shop.sku(shop.product(shop.seller()), stock=100, communities=(here,))
    buyers = [shop.resident(here)[1] for _ in range(6)]
    at = Delivery(Fulfilment.PICKUP, pickup_point_id=point.id)
    outcomes = race(30, lambda i: shop.order(buyers[i % 6], here, (sku, 1), delivery=at) and None)
    assert sum(o is None for o in outcomes) == 8, outcomes
    assert all(o is None or isinstance(o, PickupPointFull) for o in outcomes), outcomes
    with app.get(UnitOfWork) as uow:
        day = shop.clock.now().date()
        assert uow.pickup_points.booked(point.id, day) == 8
        assert uow.skus.get(sku.id).stock == 92  # the refused took nothing
    assert outbox_names(app).count("PickupPointCapacityReached") == 1


def _packed(shop: Shop, order: Order) -> Order:
    shop.pay(order)
    return shop.app.get(AdvanceOrderHandler)(
        AdvanceOrder(order.id, OrderAction.PACK), actor=CONSOLE
    )


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_batches_arriving_at_once_get_codes_unique_among_the_point_s_waiting_orders(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), stock=100, communities=(here,))
    resident = shop.resident(here)[1]
    orders = [_packed(shop, shop.order(resident, here, (sku, 1))) for _ in range(24)]
    batches = [orders[i::4] for i in range(4)]
    arrive = [app.get(ArriveAtPickupPointHandler) for _ in batches]
    outcomes = race(
        4,
        lambda i: (
            arrive[i](
                ArriveAtPickupPoint(PickupPointId("pp-1"), tuple(o.id for o in batches[i])),
                actor=CONSOLE,
            )
            and None
        ),
    )
    assert outcomes == [None] * 4
    with app.get(UnitOfWork) as uow:
        codes = uow.pickup_tickets.codes_waiting(PickupPointId("pp-1"))
        tickets = [uow.pickup_tickets.find(o.id) for o in orders]
    assert len(codes) == 24 and all(t is not None for t in tickets)
    verify = app.get(VerifyPickupCodeHandler)
    for ticket in tickets[:3]:
        assert ticket is not None
        done = verify(VerifyPickupCode(PickupPointId("pp-1"), ticket.code), actor=CONSOLE)
        assert done.status is OrderStatus.PICKED_UP
    assert outbox_names(app).count("PickupCodeIssued") == 24
    assert outbox_names(app).count("OrderPickedUp") == 3
