"""A delivery day's runs (配送路线): the orders on their way that day, as stops for the
route planner, and its plan checked independently.

Stops are built from the stored orders that are paid or packed:

- every pickup point with orders to be collected that day is a stop; its window is the
  longest stretch it is open that day, its parcels one per order;
- home deliveries in a slot are driven to their community's gate (its ``location``):
  one stop per slot, its window the slot, its parcels one per order. Deliveries without
  a slot (as soon as possible) and express ones go out as they come, and those another
  courier carries are that courier's: none of them is planned.

Orders with chilled or frozen goods make a stop of their own at the same place (``…:cold``)
that only a cold-chain vehicle serves. An order that cannot become a stop (its point is
closed that day, its community has no location) is reported with the reason, as is every
stop the planner could not fit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

import attrs

from shequ.application.fulfilment.delivery import needs_cold_chain
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import UnitOfWork
from shequ.application.routing import RoutePlanner, minutes_into_day
from shequ.domain.errors import InvalidInput
from shequ.domain.fulfilment.delivery import TEAM, DeliverySlot
from shequ.domain.ids import CommunityId, DeliverySlotId, OrderId, PickupPointId
from shequ.domain.ordering import Fulfilment, Order
from shequ.domain.routing import (
    MINUTES_PER_DAY,
    GeoPoint,
    RoutePlan,
    RoutingProblem,
    Stop,
    Vehicle,
    check_plan,
)
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = [
    "DeliveryDayPlan",
    "PlanDeliveryRoutes",
    "PlanDeliveryRoutesHandler",
    "PlannedStop",
    "RoutePlanRules",
    "SkippedOrder",
]

MAX_SERVICE_MINUTES = 240


@attrs.frozen
class RoutePlanRules:
    """The warehouse, the vans and their shift (minutes into the day, China time), the
    speed in town, and the planner's time limit in seconds. ``pickup_minutes`` to hand a
    pickup point its parcels; ``door_minutes`` per parcel of a community's deliveries."""

    depot: GeoPoint | None = None
    vehicles: tuple[Vehicle, ...] = ()
    shift: tuple[int, int] = (0, MINUTES_PER_DAY)
    speed_kmh: int = 25
    time_limit: float = 5.0
    pickup_minutes: int = 10
    door_minutes: int = 3


@attrs.frozen
class PlannedStop:
    """What a stop of the plan stands for: a pickup point or a community's slot, and the
    orders it carries."""

    stop: Stop
    kind: str  # "pickup_point" or "community"
    place_id: str
    name: str
    order_ids: tuple[OrderId, ...]


@attrs.frozen
class SkippedOrder:
    order_id: OrderId
    reason: str


@attrs.frozen
class DeliveryDayPlan:
    """The day's problem as given to the planner, its plan, what each stop stands for, the
    orders that could not become a stop, and what the checker found wrong (nothing, for a
    planner that keeps its promise)."""

    day: dt.date
    problem: RoutingProblem
    plan: RoutePlan
    stops: tuple[PlannedStop, ...]
    skipped: tuple[SkippedOrder, ...]
    faults: tuple[str, ...]

    def stop(self, stop_id: str) -> PlannedStop:
        return next(s for s in self.stops if s.stop.id == stop_id)

    @property
    def complete(self) -> bool:
        """Every order on a route."""
        return not (self.plan.unplaced or self.skipped or self.faults)


@attrs.frozen
class PlanDeliveryRoutes:
    """Plan ``day``'s runs (of one community's orders, when given); ``vehicles``,
    ``depot`` and ``time_limit`` replace the configured ones."""

    day: dt.date
    community_id: CommunityId | None = None
    vehicles: tuple[Vehicle, ...] | None = None
    depot: GeoPoint | None = None
    time_limit: float | None = None


class PlanDeliveryRoutesHandler:
    """Admins plan every community's orders; a community's operator its own."""

    def __init__(
        self, uow: UnitOfWork, policy: Policy, planner: RoutePlanner, rules: RoutePlanRules
    ) -> None:
        self._uow, self._policy, self._planner, self._rules = uow, policy, planner, rules

    def __call__(self, cmd: PlanDeliveryRoutes, *, actor: Actor) -> DeliveryDayPlan:
        self._policy.require(actor, Permission.MANAGE_FULFILMENT, community_id=cmd.community_id)
        rules = self._rules
        depot = cmd.depot or rules.depot
        if depot is None:
            raise InvalidInput(
                "where is the warehouse? set SHEQU_DEPOT_LOCATION or give a depot",
                field="depot",
            )
        vehicles = tuple(
            attrs.evolve(v, available_from=rules.shift[0], available_until=rules.shift[1])
            for v in (rules.vehicles if cmd.vehicles is None else cmd.vehicles)
        )
        with self._uow as uow:
            planned, skipped = _stops(uow, cmd, rules)
        problem = RoutingProblem(
            depot,
            tuple(p.stop for p in planned),
            vehicles,
            speed_kmh=rules.speed_kmh,
            day_start=rules.shift[0],
        )
        plan = self._planner.plan(
            problem, time_limit=rules.time_limit if cmd.time_limit is None else cmd.time_limit
        )
        faults = tuple(check_plan(problem, plan))
        return DeliveryDayPlan(cmd.day, problem, plan, tuple(planned), tuple(skipped), faults)


def _stops(
    uow: UnitOfWork, cmd: PlanDeliveryRoutes, rules: RoutePlanRules
) -> tuple[list[PlannedStop], list[SkippedOrder]]:
    day = cmd.day
    start = dt.datetime.combine(day, dt.time(), tzinfo=CHINA_STANDARD_TIME)
    slots = {
        s.id: s
        for s in uow.delivery_slots.starting_between(
            start, start + dt.timedelta(days=1), cmd.community_id
        )
    }
    orders = [
        o for o in uow.orders.to_deliver(day, slots) if cmd.community_id in (None, o.community_id)
    ]
    groups: defaultdict[tuple[str, str, bool], list[Order]] = defaultdict(list)
    skipped: list[SkippedOrder] = []
    cold: dict[str, bool] = {}
    for order in orders:
        if order.delivery.kind is Fulfilment.PICKUP:
            place = ("pickup_point", order.delivery.pickup_point_id or "")
        else:
            shipment = uow.shipments.find(order.id)
            if shipment is not None and shipment.courier not in (None, TEAM):
                continue  # another courier carries it
            place = ("community", order.delivery.slot_id or "")
        groups[(*place, _cold(uow, order, cold))].append(order)

    planned: list[PlannedStop] = []
    for (kind, place_id, is_cold), members in sorted(groups.items()):
        built = (
            _at_point(uow, PickupPointId(place_id), day, members, is_cold, rules)
            if kind == "pickup_point"
            else _at_gate(uow, slots[DeliverySlotId(place_id)], day, members, is_cold, rules)
        )
        if isinstance(built, str):
            skipped.extend(SkippedOrder(o.id, built) for o in members)
        else:
            planned.append(built)
    return planned, skipped


def _cold(uow: UnitOfWork, order: Order, seen: dict[str, bool]) -> bool:
    if order.id not in seen:
        seen[order.id] = needs_cold_chain(uow, order)
    return seen[order.id]


def _ids(members: Iterable[Order]) -> tuple[OrderId, ...]:
    return tuple(sorted(o.id for o in members))


def _at_point(
    uow: UnitOfWork,
    point_id: PickupPointId,
    day: dt.date,
    members: list[Order],
    cold: bool,
    rules: RoutePlanRules,
) -> PlannedStop | str:
    point = uow.pickup_points.find(point_id)
    if point is None:
        return f"pickup point {point_id} is gone"
    hours = point.hours.on(day)
    if not hours:
        return f"pickup point {point.name} is closed on {day.isoformat()}"
    opens, closes = max(
        ((minutes_into_day(day, h.start), minutes_into_day(day, h.end)) for h in hours),
        key=lambda w: (w[1] - w[0], -w[0]),
    )
    stop = Stop(
        f"pp:{point.id}" + (":cold" if cold else ""),
        point.location,
        len(members),
        opens,
        closes,
        rules.pickup_minutes,
        cold,
    )
    return PlannedStop(stop, "pickup_point", point.id, point.name, _ids(members))


def _at_gate(
    uow: UnitOfWork,
    slot: DeliverySlot,
    day: dt.date,
    members: list[Order],
    cold: bool,
    rules: RoutePlanRules,
) -> PlannedStop | str:
    community = uow.communities.get(slot.community_id)
    if community.location is None:
        return (
            f"community {community.name} has no location: set it "
            f"(shequ community edit {community.id} --location LAT,LNG)"
        )
    opens = minutes_into_day(day, slot.starts_at)
    closes = minutes_into_day(day, min(slot.ends_at, _midnight(day)))
    stop = Stop(
        f"slot:{slot.id}" + (":cold" if cold else ""),
        community.location,
        len(members),
        opens,
        closes,
        min(MAX_SERVICE_MINUTES, rules.door_minutes * len(members)),
        cold,
    )
    window = f"{slot.starts_at.astimezone(CHINA_STANDARD_TIME):%H:%M}"
    return PlannedStop(stop, "community", community.id, f"{community.name} {window}", _ids(members))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=CHINA_STANDARD_TIME)
