"""Pickup points and codes through the use cases on the in-memory adapters: choosing a
point at checkout, capacity, arrival with codes and notices, handing over with codes
checked and wrong ones locked out, and orders nobody collects."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ import bootstrap
from shequ.adapters.clock import FixedClock
from shequ.adapters.notify import RecordingNotifier
from shequ.application.fulfilment.pickup import (
    ArriveAtPickupPoint,
    ArriveAtPickupPointHandler,
    EditPickupPoint,
    EditPickupPointHandler,
    ListPickupPoints,
    ListPickupPointsHandler,
    ProcessOverduePickups,
    ProcessOverduePickupsHandler,
    VerifyPickupCode,
    VerifyPickupCodeHandler,
)
from shequ.application.ordering.orders import (
    AdvanceOrder,
    AdvanceOrderHandler,
    CancelOrder,
    CancelOrderHandler,
)
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import Notifier, UnitOfWork
from shequ.domain.catalog import Community, Sku
from shequ.domain.errors import (
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PickupCodeInvalid,
    PickupPointFull,
    PickupPointUnavailable,
    RateLimited,
)
from shequ.domain.fulfilment import PickupTicket, TicketStatus
from shequ.domain.ids import PickupPointId
from shequ.domain.money import Money
from shequ.domain.ordering import Delivery, Fulfilment, Order, OrderAction, OrderStatus
from shequ.domain.routing import GeoPoint
from tests.support import ClockModule, Shop, settings

DAY = dt.timedelta(days=1)


class Notices(injector.Module):
    def __init__(self) -> None:
        self.recording = RecordingNotifier()

    @injector.provider
    def notifier(self) -> Notifier:
        return self.recording


@pytest.fixture
def notices() -> Notices:
    return Notices()


@pytest.fixture
def shop(clock: FixedClock, notices: Notices) -> Shop:
    return Shop(bootstrap(settings(storage="memory"), ClockModule(clock), notices), clock)


def sku_in(shop: Shop, here: Community) -> Sku:
    return shop.sku(shop.product(shop.seller()), price="20.00", stock=100, communities=(here,))


def at(point: str) -> Delivery:
    return Delivery(Fulfilment.PICKUP, pickup_point_id=point)


def packed(shop: Shop, order: Order) -> Order:
    shop.pay(order)
    return shop.app.get(AdvanceOrderHandler)(
        AdvanceOrder(order.id, OrderAction.PACK), actor=CONSOLE
    )


def arrive(shop: Shop, point: str, *orders: Order) -> list[PickupTicket]:
    return shop.app.get(ArriveAtPickupPointHandler)(
        ArriveAtPickupPoint(PickupPointId(point), tuple(o.id for o in orders)), actor=CONSOLE
    )


def verify(shop: Shop, point: str, code: str, actor: Actor = CONSOLE) -> Order:
    return shop.app.get(VerifyPickupCodeHandler)(
        VerifyPickupCode(PickupPointId(point), code), actor=actor
    )


def test_residents_see_their_community_s_active_points_nearest_first(shop: Shop) -> None:
    here, there = shop.community(), shop.community("翠苑")
    far = shop.point(here, "pp-far")
    shop.app.get(EditPickupPointHandler)(
        EditPickupPoint(far.id, location=GeoPoint(30.30, 120.15)), actor=CONSOLE
    )
    paused = shop.point(here, "pp-paused")
    shop.app.get(EditPickupPointHandler)(EditPickupPoint(paused.id, active=False), actor=CONSOLE)
    resident = shop.resident(here)[1]
    views = shop.app.get(ListPickupPointsHandler)(
        ListPickupPoints(here.id, near=GeoPoint(30.2701, 120.1501)), actor=resident
    )
    assert [v.point.id for v in views] == ["pp-1", "pp-far"]
    assert views[0].distance_m is not None and views[0].distance_m < views[1].distance_m  # type: ignore[operator]
    assert shop.points[there.id] == "pp-2"
    with pytest.raises(Forbidden):
        shop.app.get(ListPickupPointsHandler)(
            ListPickupPoints(here.id, include_paused=True), actor=resident
        )


def test_checkout_takes_only_an_active_point_of_the_community_with_room(shop: Shop) -> None:
    here, there = shop.community(), shop.community("翠苑")
    sku = sku_in(shop, here)
    small = shop.point(here, "pp-small", capacity=2)
    resident = shop.resident(here)[1]
    with pytest.raises(PickupPointUnavailable, match="another community"):
        shop.order(resident, here, (sku, 1), delivery=at(shop.points[there.id]))
    with pytest.raises(NotFound):
        shop.order(resident, here, (sku, 1), delivery=at("nowhere"))
    first = shop.order(resident, here, (sku, 1), delivery=at(small.id))
    shop.order(resident, here, (sku, 1), delivery=at(small.id))
    with pytest.raises(PickupPointFull):
        shop.order(resident, here, (sku, 1), delivery=at(small.id))
    shop.app.get(CancelOrderHandler)(CancelOrder(first.id), actor=resident)  # a place again
    shop.order(resident, here, (sku, 1), delivery=at(small.id))
    shop.app.get(EditPickupPointHandler)(EditPickupPoint(small.id, active=False), actor=CONSOLE)
    with pytest.raises(PickupPointUnavailable, match="paused"):
        shop.order(resident, here, (sku, 1), delivery=at(small.id), key="later")
    with shop.app.get(UnitOfWork) as uow:
        assert uow.pickup_points.booked(small.id, first.pickup_date) == 2  # type: ignore[arg-type]
        assert uow.skus.get(sku.id).stock == 98  # three placed, one cancelled


def test_arrival_issues_distinct_codes_and_tells_each_resident(
    shop: Shop, notices: Notices
) -> None:
    here = shop.community()
    sku = sku_in(shop, here)
    residents = [shop.resident(here) for _ in range(5)]
    orders = [packed(shop, shop.order(actor, here, (sku, 1))) for _, actor in residents]
    tickets = arrive(shop, "pp-1", *orders)
    codes = {t.id: t.code for t in tickets}
    assert len(set(codes.values())) == 5
    assert all(len(c) == 6 and c.isdigit() for c in codes.values())
    phone_of = {o.id: a.phone for o, (a, _) in zip(orders, residents, strict=True)}
    assert sorted((p, n.code) for p, n in notices.recording.notices) == sorted(
        (phone_of[order_id], code) for order_id, code in codes.items()
    )
    with shop.app.get(UnitOfWork) as uow:
        states = {uow.orders.get(o.id).status for o in orders}
    assert states == {OrderStatus.READY_FOR_PICKUP}


def test_a_code_hands_its_order_over_once_at_its_own_point(shop: Shop) -> None:
    here = shop.community()
    other = shop.point(here, "pp-other")
    sku = sku_in(shop, here)
    resident = shop.resident(here)[1]
    order = packed(shop, shop.order(resident, here, (sku, 1)))
    [ticket] = arrive(shop, "pp-1", order)
    with pytest.raises(PickupCodeInvalid):
        verify(shop, other.id, ticket.code)  # a code of another point
    done = verify(shop, "pp-1", ticket.code)
    assert done.status is OrderStatus.PICKED_UP
    with pytest.raises(PickupCodeInvalid):
        verify(shop, "pp-1", ticket.code)  # used already
    with shop.app.get(UnitOfWork) as uow:
        stored = uow.pickup_tickets.find(order.id)
    assert stored is not None and stored.status is TicketStatus.COLLECTED


def test_wrong_codes_lock_the_point_s_verification_out(shop: Shop, clock: FixedClock) -> None:
    here = shop.community()
    sku = sku_in(shop, here)
    order = packed(shop, shop.order(shop.resident(here)[1], here, (sku, 1)))
    [ticket] = arrive(shop, "pp-1", order)
    wrong = "000000" if ticket.code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(PickupCodeInvalid):
            verify(shop, "pp-1", wrong)
    with pytest.raises(RateLimited):
        verify(shop, "pp-1", ticket.code)  # even the right one, while locked
    clock.advance(dt.timedelta(minutes=16))
    assert verify(shop, "pp-1", ticket.code).status is OrderStatus.PICKED_UP


def test_only_the_point_s_operator_or_the_community_s_hands_orders_over(shop: Shop) -> None:
    here = shop.community()
    sku = sku_in(shop, here)
    resident = shop.resident(here)[1]
    order = packed(shop, shop.order(resident, here, (sku, 1)))
    [ticket] = arrive(shop, "pp-1", order)
    with pytest.raises(Forbidden):
        verify(shop, "pp-1", ticket.code, actor=resident)


def test_an_order_nobody_collects_is_reminded_then_returned_and_refunded(
    shop: Shop, clock: FixedClock, notices: Notices
) -> None:
    here = shop.community()
    sku = sku_in(shop, here)
    order = packed(shop, shop.order(shop.resident(here)[1], here, (sku, 2)))
    arrive(shop, "pp-1", order)
    overdue = shop.app.get(ProcessOverduePickupsHandler)
    clock.advance(DAY)
    assert overdue(ProcessOverduePickups(), actor=CONSOLE).reminded == 0
    clock.advance(2 * DAY)
    assert overdue(ProcessOverduePickups(), actor=CONSOLE).reminded == 1
    assert overdue(ProcessOverduePickups(), actor=CONSOLE).reminded == 0  # once a day
    clock.advance(5 * DAY)
    done = overdue(ProcessOverduePickups(), actor=CONSOLE)
    assert (done.reminded, done.returned) == (0, 1)
    with shop.app.get(UnitOfWork) as uow:
        stored = uow.orders.get(order.id)
        assert uow.skus.get(sku.id).stock == 100  # the goods went back
    assert stored.status is OrderStatus.CANCELLED and stored.refunded == Money.parse("40.00")
    assert [n.kind for _, n in notices.recording.notices] == ["code", "reminder", "returned"]


def test_an_arrival_must_name_packed_orders_of_that_point(shop: Shop) -> None:
    here = shop.community()
    shop.point(here, "pp-b")
    sku = sku_in(shop, here)
    resident = shop.resident(here)[1]
    unpaid = shop.order(resident, here, (sku, 1))
    with pytest.raises(InvalidInput):
        arrive(shop, "pp-b", packed(shop, shop.order(resident, here, (sku, 1))))
    with pytest.raises(IllegalTransition):  # an unpaid order cannot be ready
        arrive(shop, "pp-1", unpaid)
    with shop.app.get(UnitOfWork) as uow:
        assert uow.pickup_tickets.codes_waiting(PickupPointId("pp-1")) == set()
