"""Delivery slots, our own riders and the day's route plan, on every storage: a slot's
capacity holds under concurrent checkouts, refusals change nothing, a cancelled order
gives its place back once; the team takes a delivery when the community has a rider and
hands it on otherwise; riders race for the queue and one wins; the handover code is
checked at the door; and the plan of a day built from stored orders passes the checker."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.adapters.routing import GreedyRoutePlanner
from shequ.application.catalog.products import EditProduct, EditProductHandler
from shequ.application.fulfilment.delivery import DispatchDelivery, DispatchDeliveryHandler
from shequ.application.fulfilment.queries import GetHandoverCode, GetHandoverCodeHandler
from shequ.application.fulfilment.riders import (
    AcceptDelivery,
    AcceptDeliveryHandler,
    AssignRider,
    AssignRiderHandler,
    DeclineDelivery,
    DeclineDeliveryHandler,
    MyDeliveries,
    MyDeliveriesHandler,
    ReportDelivery,
    ReportDeliveryHandler,
)
from shequ.application.fulfilment.routes import (
    PlanDeliveryRoutes,
    PlanDeliveryRoutesHandler,
    RoutePlanRules,
)
from shequ.application.fulfilment.slots import (
    EditDeliverySlot,
    EditDeliverySlotHandler,
    ListDeliverySlots,
    ListDeliverySlotsHandler,
)
from shequ.application.ordering.orders import (
    AdvanceOrder,
    AdvanceOrderHandler,
    CancelOrder,
    CancelOrderHandler,
)
from shequ.application.policy import CONSOLE, Policy
from shequ.application.ports import AuditQuery, UnitOfWork
from shequ.domain.catalog import FreshFacts, StorageMethod
from shequ.domain.errors import (
    DeliveryCodeInvalid,
    DeliverySlotFull,
    DeliverySlotNotFound,
    DeliverySlotUnavailable,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    RateLimited,
    ShequError,
)
from shequ.domain.fulfilment.delivery import TEAM, DeliveryStatus
from shequ.domain.identity import Role
from shequ.domain.ordering import Delivery, Fulfilment, OrderAction, OrderStatus
from shequ.domain.routing import GeoPoint, Vehicle, check_plan
from tests.integration.test_concurrency import race
from tests.support import Shop

BACKENDS = ["postgres", "sqlite", "memory"]
S = DeliveryStatus
GATE = GeoPoint(30.2800, 120.1600)
VAN = Vehicle("van-1", 100)


@pytest.fixture
def app(team_app: injector.Injector) -> injector.Injector:
    return team_app


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def outbox_names(app: injector.Injector) -> list[str]:
    with app.get(UnitOfWork) as uow:
        return [m.name for m in uow.outbox.pending(100_000)]


def at_door(
    shop: Shop, actor: object, slot_id: str | None = None, express: bool = False
) -> Delivery:
    return Delivery(
        Fulfilment.DELIVERY,
        address_id=shop.address(actor),  # type: ignore[arg-type]
        slot_id=slot_id,
        express=express,
    )


# ---------------------------------------------------------------- slots


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_thirty_checkouts_race_for_a_slot_s_last_eight_places(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    slot = shop.slots(here, capacity=8)[0]
    sku = shop.sku(shop.product(shop.seller()), stock=100, communities=(here,))
    buyers = [shop.resident(here)[1] for _ in range(6)]
    doors = [at_door(shop, b, slot.id) for b in buyers]
    outcomes = race(
        30, lambda i: shop.order(buyers[i % 6], here, (sku, 1), delivery=doors[i % 6]) and None
    )
    assert sum(o is None for o in outcomes) == 8, outcomes
    assert all(o is None or isinstance(o, DeliverySlotFull) for o in outcomes), outcomes
    with app.get(UnitOfWork) as uow:
        assert uow.delivery_slots.booked([slot.id]) == {slot.id: 8}
        assert uow.skus.get(sku.id).stock == 92  # the refused took nothing
    assert outbox_names(app).count("DeliverySlotCapacityReached") == 1


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_cancelled_order_gives_its_place_in_the_slot_back_once(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    slot = shop.slots(here, capacity=1)[0]
    sku = shop.sku(shop.product(shop.seller()), stock=10, communities=(here,))
    _, buyer = shop.resident(here)
    door = at_door(shop, buyer, slot.id)
    order = shop.order(buyer, here, (sku, 1), delivery=door)
    with pytest.raises(DeliverySlotFull):
        shop.order(buyer, here, (sku, 1), delivery=door)
    cancel = app.get(CancelOrderHandler)
    cancel(CancelOrder(order.id), actor=buyer)
    with pytest.raises(IllegalTransition):
        cancel(CancelOrder(order.id), actor=buyer)
    with app.get(UnitOfWork) as uow:
        assert uow.delivery_slots.booked([slot.id]) == {slot.id: 0}
    again = shop.order(buyer, here, (sku, 1), delivery=door)
    assert again.delivery.slot_id == slot.id


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_slot_that_cannot_be_chosen_is_refused_and_nothing_changes(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here, elsewhere = shop.community(), shop.community("翠苑")
    mine, closing, soon = shop.slots(here, first=dt.time(10, 20), last=dt.time(16), minutes=20)[:3]
    theirs = shop.slots(elsewhere)[0]
    sku = shop.sku(shop.product(shop.seller()), stock=5, communities=(here,))
    _, buyer = shop.resident(here)
    app.get(EditDeliverySlotHandler)(EditDeliverySlot(closing.id, open=False), actor=CONSOLE)
    # 10:00 now: the 10:20 slot is within the 30-minute cut-off; 10:40 closed; 11:00 open
    cases: list[tuple[Delivery, type[ShequError]]] = [
        (at_door(shop, buyer, mine.id), DeliverySlotUnavailable),
        (at_door(shop, buyer, closing.id), DeliverySlotUnavailable),
        (at_door(shop, buyer, theirs.id), DeliverySlotUnavailable),
        (at_door(shop, buyer, "no-such-slot"), DeliverySlotNotFound),
    ]
    for delivery, error in cases:
        with pytest.raises(error):
            shop.order(buyer, here, (sku, 1), delivery=delivery)
    with pytest.raises(InvalidInput):
        Delivery(Fulfilment.DELIVERY, address_id="a1", slot_id=soon.id, express=True)
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == 5
        assert set(uow.delivery_slots.booked([mine.id, closing.id, theirs.id]).values()) == {0}
    placed = shop.order(buyer, here, (sku, 1), delivery=at_door(shop, buyer, soon.id))
    clock.advance(dt.timedelta(minutes=40))  # 10:40: 11:00 is within the cut-off now
    views = app.get(ListDeliverySlotsHandler)(ListDeliverySlots(here.id), actor=buyer)
    by_id = {v.slot.id: v for v in views}
    assert by_id[soon.id].booked == 1 and not by_id[soon.id].bookable
    assert placed.delivery.slot_id == soon.id


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_slot_s_capacity_never_goes_below_what_it_holds_and_opening_twice_adds_nothing(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    slots = shop.slots(here, capacity=3)
    assert len(slots) == 3  # 14:00, 16:00, 18:00
    assert shop.slots(here, capacity=3) == []
    sku = shop.sku(shop.product(shop.seller()), stock=10, communities=(here,))
    _, buyer = shop.resident(here)
    for _ in range(2):
        shop.order(buyer, here, (sku, 1), delivery=at_door(shop, buyer, slots[0].id))
    edit = app.get(EditDeliverySlotHandler)
    with pytest.raises(InvalidInput):
        edit(EditDeliverySlot(slots[0].id, capacity=1), actor=CONSOLE)
    view = edit(EditDeliverySlot(slots[0].id, capacity=2), actor=CONSOLE)
    assert (view.slot.capacity, view.booked, view.bookable) == (2, 2, False)
    with pytest.raises(DeliverySlotFull):
        shop.order(buyer, here, (sku, 1), delivery=at_door(shop, buyer, slots[0].id))
    with pytest.raises(Forbidden):
        edit(EditDeliverySlot(slots[0].id, capacity=9), actor=buyer)


# ---------------------------------------------------------------- our own riders


def _packed_to_door(shop: Shop, here: object, *, cold: bool = False) -> tuple[str, object]:
    seller = shop.seller()
    product = shop.product(seller)
    if cold:
        shop.app.get(EditProductHandler)(
            EditProduct(product.id, fresh=FreshFacts(StorageMethod.CHILLED, 3)), actor=CONSOLE
        )
    sku = shop.sku(product, price="30.00", stock=10, communities=(here,))  # type: ignore[arg-type]
    _, buyer = shop.resident(here)  # type: ignore[arg-type]
    order = shop.order(buyer, here, (sku, 1), delivery=at_door(shop, buyer))  # type: ignore[arg-type]
    return shop.packed(order).id, buyer


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_the_team_takes_a_delivery_when_the_community_has_a_rider_and_passes_it_on_otherwise(
    app: injector.Injector, shop: Shop
) -> None:
    here, nobody = shop.community(), shop.community("翠苑")
    first, _ = shop.rider(here)
    second, _ = shop.rider(here)
    dispatch = app.get(DispatchDeliveryHandler)
    taken = [
        dispatch(DispatchDelivery(_packed_to_door(shop, here)[0]), actor=CONSOLE) for _ in range(3)
    ]
    assert {s.courier for s in taken} == {TEAM}
    # the least loaded rider each time: first, second, then first again (ids break ties)
    riders = sorted([first.id, second.id])
    assert [s.rider_id for s in taken] == [riders[0], riders[1], riders[0]]
    elsewhere = dispatch(DispatchDelivery(_packed_to_door(shop, nobody)[0]), actor=CONSOLE)
    assert elsewhere.courier == "sandbox"
    cold = dispatch(DispatchDelivery(_packed_to_door(shop, here, cold=True)[0]), actor=CONSOLE)
    assert cold.courier == "sandbox" and cold.cold_chain
    assert "RiderAssigned" in outbox_names(app)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_riders_race_for_a_queued_delivery_and_one_wins(app: injector.Injector, shop: Shop) -> None:
    here = shop.community()
    riders = [shop.rider(here)[1] for _ in range(6)]
    order_id, _ = _packed_to_door(shop, here)
    shipment = app.get(DispatchDeliveryHandler)(DispatchDelivery(order_id), actor=CONSOLE)
    app.get(AssignRiderHandler)(AssignRider(shipment.id, None), actor=CONSOLE)
    accept = [app.get(AcceptDeliveryHandler) for _ in riders]
    outcomes = race(6, lambda i: accept[i](AcceptDelivery(shipment.id), actor=riders[i]) and None)
    assert sum(o is None for o in outcomes) == 1, outcomes
    assert all(o is None or isinstance(o, Forbidden) for o in outcomes), outcomes
    winner = riders[outcomes.index(None)]
    with app.get(UnitOfWork) as uow:
        stored = uow.shipments.get(shipment.id)
    assert stored.rider_id == winner.account_id and stored.rider_accepted_at is not None
    mine = app.get(MyDeliveriesHandler)(MyDeliveries(), actor=winner)
    assert [(d.shipment.id, d.address is not None) for d in mine] == [(shipment.id, True)]
    theirs = app.get(MyDeliveriesHandler)(MyDeliveries(), actor=riders[outcomes.index(None) - 1])
    assert theirs == []
    with app.get(UnitOfWork) as uow:  # the winner read the address twice: both audited
        reads = uow.audit.search(AuditQuery(actor_id=winner.account_id))
    assert [(r.action, r.detail["order_id"]) for r in reads] == [("address.read", shipment.id)] * 2


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_rider_delivers_with_the_resident_s_code_and_wrong_codes_lock_the_delivery(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    _, rider = shop.rider(here)
    _, other_rider = shop.rider(here)
    order_id, buyer = _packed_to_door(shop, here)
    shipment = app.get(DispatchDeliveryHandler)(DispatchDelivery(order_id), actor=CONSOLE)
    app.get(AssignRiderHandler)(AssignRider(shipment.id, rider.account_id), actor=CONSOLE)
    report = app.get(ReportDeliveryHandler)
    with pytest.raises(IllegalTransition):  # accept first
        report(ReportDelivery(shipment.id, S.PICKED_UP), actor=rider)
    for by_hand in (OrderAction.DISPATCH, OrderAction.DELIVER):  # the rider moves it
        with pytest.raises(IllegalTransition, match="team carries it"):
            app.get(AdvanceOrderHandler)(AdvanceOrder(order_id, by_hand), actor=CONSOLE)
    app.get(AcceptDeliveryHandler)(AcceptDelivery(shipment.id), actor=rider)
    with pytest.raises(Forbidden):
        report(ReportDelivery(shipment.id, S.PICKED_UP), actor=other_rider)
    with pytest.raises(Forbidden):  # a resident is no rider
        report(ReportDelivery(shipment.id, S.PICKED_UP), actor=buyer)  # type: ignore[arg-type]
    report(ReportDelivery(shipment.id, S.PICKED_UP), actor=rider)
    report(ReportDelivery(shipment.id, S.OUT_FOR_DELIVERY), actor=rider)
    with app.get(UnitOfWork) as uow:
        assert uow.orders.get(order_id).status is OrderStatus.OUT_FOR_DELIVERY
    code = app.get(GetHandoverCodeHandler)(GetHandoverCode(order_id), actor=buyer).code  # type: ignore[arg-type]
    with pytest.raises(Forbidden):  # riders never see it
        app.get(GetHandoverCodeHandler)(GetHandoverCode(order_id), actor=rider)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(DeliveryCodeInvalid):
            report(ReportDelivery(shipment.id, S.DELIVERED, code=wrong), actor=rider)
    with pytest.raises(RateLimited):  # locked now, even with the right code
        report(ReportDelivery(shipment.id, S.DELIVERED, code=code), actor=rider)
    with app.get(UnitOfWork) as uow:
        assert uow.shipments.get(shipment.id).status is S.OUT_FOR_DELIVERY
    clock.advance(dt.timedelta(minutes=16))
    done = report(ReportDelivery(shipment.id, S.DELIVERED, code=code), actor=rider)
    assert done.status is S.DELIVERED and done.proof == "the resident's handover code"
    with app.get(UnitOfWork) as uow:
        assert uow.orders.get(order_id).status is OrderStatus.DELIVERED
    with pytest.raises(IllegalTransition):  # no step back
        report(ReportDelivery(shipment.id, S.OUT_FOR_DELIVERY), actor=rider)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_rider_declines_back_into_the_queue_and_a_failure_needs_a_reason(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    first, rider = shop.rider(here)
    order_id, _ = _packed_to_door(shop, here)
    shipment = app.get(DispatchDeliveryHandler)(DispatchDelivery(order_id), actor=CONSOLE)
    assert shipment.rider_id == first.id
    declined = app.get(DeclineDeliveryHandler)(
        DeclineDelivery(order_id, "电动车没电了"), actor=rider
    )
    assert declined.rider_id is None and "电动车没电了" in declined.timeline[-1].note
    app.get(AcceptDeliveryHandler)(AcceptDelivery(order_id), actor=rider)
    report = app.get(ReportDeliveryHandler)
    report(ReportDelivery(order_id, S.PICKED_UP), actor=rider)
    with pytest.raises(IllegalTransition):  # too late to reassign once picked up
        app.get(AssignRiderHandler)(AssignRider(order_id, None), actor=CONSOLE)
    with pytest.raises(InvalidInput):
        report(ReportDelivery(order_id, S.FAILED), actor=rider)
    failed = report(ReportDelivery(order_id, S.FAILED, note="家中无人"), actor=rider)
    returned = report(ReportDelivery(order_id, S.RETURNED), actor=rider)
    assert (failed.status, returned.status) == (S.FAILED, S.RETURNED)
    assert "DeliveryFailed" in outbox_names(app)


# ---------------------------------------------------------------- the day's plan


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_the_day_s_plan_covers_every_stored_order_once_and_passes_the_checker(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community(location=GATE)
    far = shop.community("翠苑", location=GeoPoint(30.3000, 120.1300))
    lost = shop.community("无名小区")  # no location: its home deliveries cannot be planned
    seller = shop.seller()
    warm = shop.sku(shop.product(seller), stock=100, communities=(here, far, lost))
    chilled = shop.product(seller, "鲜牛奶", "生鲜/乳品")
    app.get(EditProductHandler)(
        EditProduct(chilled.id, fresh=FreshFacts(StorageMethod.CHILLED, 3)), actor=CONSOLE
    )
    cold = shop.sku(chilled, "1L", stock=100, communities=(here, far, lost))
    orders: dict[str, list[str]] = {}
    for community in (here, far, lost):
        slot = shop.slots(community, capacity=50)[0]
        _, buyer = shop.resident(community)
        for sku in (warm, warm, cold):
            pickup = shop.packed(shop.order(buyer, community, (sku, 1)))
            door = shop.pay(
                shop.order(buyer, community, (sku, 1), delivery=at_door(shop, buyer, slot.id))
            )
            orders.setdefault(community.id, []).extend([pickup.id, door.id])
    _, neighbour = shop.resident(here)
    unpaid = shop.order(neighbour, here, (warm, 1))
    asap = shop.pay(shop.order(neighbour, here, (warm, 1), delivery=at_door(shop, neighbour)))

    plan = app.get(PlanDeliveryRoutesHandler)(
        PlanDeliveryRoutes(
            clock.now().date(),
            vehicles=(Vehicle("van-1", 100), Vehicle("cold-1", 50, cold_chain=True)),
            time_limit=2,
        ),
        actor=CONSOLE,
    )
    assert plan.faults == () and check_plan(plan.problem, plan.plan) == []
    planned = [o for s in plan.stops for o in s.order_ids]
    skipped = [s.order_id for s in plan.skipped]
    assert len(planned) == len(set(planned))
    assert sorted(planned + skipped) == sorted(o for ids in orders.values() for o in ids)
    assert unpaid.id not in planned and asap.id not in planned
    assert all("no location" in s.reason for s in plan.skipped) and len(skipped) == 3
    assert {s.stop.cold for s in plan.stops} == {True, False}
    cold_stops = {s.stop.id for s in plan.stops if s.stop.cold}
    for route in plan.plan.routes:
        if route.vehicle_id == "van-1":
            assert not cold_stops & {v.stop_id for v in route.visits}
    assert plan.plan.stops_served + len(plan.plan.unplaced) == len(plan.stops)
    assert not plan.complete  # the community without a location


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_a_plan_needs_a_warehouse_and_an_operator_plans_only_their_community(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community(location=GATE)
    _, operator = shop.resident(here, role=Role.OPERATOR)
    planner = app.get(PlanDeliveryRoutesHandler)
    with pytest.raises(Forbidden):
        planner(PlanDeliveryRoutes(clock.now().date()), actor=operator)
    done = planner(PlanDeliveryRoutes(clock.now().date(), here.id), actor=operator)
    assert done.stops == () and done.complete
    no_depot = PlanDeliveryRoutesHandler(
        app.get(UnitOfWork), Policy(), GreedyRoutePlanner(), RoutePlanRules(vehicles=(VAN,))
    )
    with pytest.raises(InvalidInput, match="warehouse"):
        no_depot(PlanDeliveryRoutes(clock.now().date()), actor=CONSOLE)
