"""Delivery route planning (配送路线规划): the problem, the plan, and a checker of plans.

Time is whole minutes from the start of the planning day, local time (00:00 is 0, 07:30 is
450, 24:00 is 1440). A vehicle leaves the depot (the warehouse), visits its stops in order
and comes back. At a stop it *arrives* when the drive from the previous place ends; if the
stop's window has not opened yet it waits, so service *begins* at
``max(arrival, window_start)``; it *departs* ``service_minutes`` later. A stop is on time
when the vehicle arrives no later than ``window_end``: the window bounds when service may
begin, not when it ends. A pickup point's (自提点) window is its opening hours that day, a
home delivery's is the slot the resident chose.

Driving time between two places is their great-circle distance at the problem's speed,
rounded up to whole minutes (:func:`travel_minutes`); a route's distance is the sum of its
legs, depot to depot, each leg rounded to whole metres. Every parcel of a route is loaded
at the depot, so a route carries at most its vehicle's capacity; a cold stop needs a
cold-chain vehicle.

:func:`check_plan` recomputes all of this from the problem alone and lists every way a
plan breaks it; planners (the ``RoutePlanner`` port) promise plans it accepts.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from typing import Final, TypeGuard

import attrs

from shequ.domain.errors import InvalidInput

__all__ = [
    "EARTH_RADIUS_M",
    "MINUTES_PER_DAY",
    "GeoPoint",
    "Route",
    "RoutePlan",
    "RoutingProblem",
    "Stop",
    "Unplaced",
    "Vehicle",
    "Visit",
    "check_plan",
    "clock",
    "depot_times",
    "travel_minutes",
    "why_unservable",
]

EARTH_RADIUS_M: Final = 6_371_000  # mean radius; a city's error is well under 0.5 %
MINUTES_PER_DAY: Final = 24 * 60
MAX_ID_LENGTH: Final = 64


def clock(minutes: int) -> str:
    """``450`` → ``"07:30"``; minutes past the day are shown as such (``"24:10"``)."""
    sign = "-" if minutes < 0 else ""
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def travel_minutes(distance_m: int, speed_kmh: int) -> int:
    """Minutes to drive ``distance_m`` at ``speed_kmh``, rounded up to a whole minute."""
    return -(-distance_m * 60 // (speed_kmh * 1000))  # integer ceiling: no float rounding


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _identifier(value: object, field: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH:
        raise InvalidInput(f"{field} must be text of 1 to {MAX_ID_LENGTH} characters", field=field)


def _minute_of_day(value: object, field: str) -> None:
    if not (_whole(value) and 0 <= value <= MINUTES_PER_DAY):
        raise InvalidInput(
            f"{field} must be whole minutes from 0 to {MINUTES_PER_DAY}, not {value!r}",
            field=field,
        )


def _stops(values: Iterable[Stop]) -> tuple[Stop, ...]:
    return tuple(values)


def _vehicles(values: Iterable[Vehicle]) -> tuple[Vehicle, ...]:
    return tuple(values)


def _visits(values: Iterable[Visit]) -> tuple[Visit, ...]:
    return tuple(values)


def _routes(values: Iterable[Route]) -> tuple[Route, ...]:
    return tuple(values)


def _unplaced(values: Iterable[Unplaced]) -> tuple[Unplaced, ...]:
    return tuple(values)


@attrs.frozen
class GeoPoint:
    """A place on Earth in WGS-84 degrees."""

    latitude: float
    longitude: float

    def __attrs_post_init__(self) -> None:
        if not _number(self.latitude) or not -90 <= self.latitude <= 90:
            raise InvalidInput(f"latitude {self.latitude!r} is not -90 to 90", field="latitude")
        if not _number(self.longitude) or not -180 <= self.longitude <= 180:
            raise InvalidInput(
                f"longitude {self.longitude!r} is not -180 to 180", field="longitude"
            )

    def distance_m(self, other: GeoPoint) -> int:
        """The great-circle (haversine) distance in whole metres."""
        phi1, phi2 = math.radians(self.latitude), math.radians(other.latitude)
        d_phi = phi2 - phi1
        d_lambda = math.radians(other.longitude - self.longitude)
        a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
        return round(2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a))))


@attrs.frozen
class Stop:
    """A place to bring parcels to: a pickup point (many parcels) or a home (one parcel)."""

    id: str
    location: GeoPoint
    parcels: int
    window_start: int
    window_end: int
    service_minutes: int = 5
    cold: bool = False

    def __attrs_post_init__(self) -> None:
        _identifier(self.id, "stop id")
        if not _whole(self.parcels) or self.parcels < 0:
            raise InvalidInput(
                f"stop {self.id}: parcels must be a whole number, 0 or more", field="parcels"
            )
        _minute_of_day(self.window_start, "window_start")
        _minute_of_day(self.window_end, "window_end")
        if self.window_end < self.window_start:
            raise InvalidInput(
                f"stop {self.id}: its window ends ({clock(self.window_end)}) "
                f"before it starts ({clock(self.window_start)})",
                field="window_end",
            )
        if not _whole(self.service_minutes) or not 0 <= self.service_minutes <= MINUTES_PER_DAY:
            raise InvalidInput(
                f"stop {self.id}: service time must be 0 to {MINUTES_PER_DAY} minutes",
                field="service_minutes",
            )


@attrs.frozen
class Vehicle:
    """A van with a driver for the day: its capacity in parcels and its hours."""

    id: str
    capacity: int
    cold_chain: bool = False
    available_from: int = 0
    available_until: int = MINUTES_PER_DAY

    def __attrs_post_init__(self) -> None:
        _identifier(self.id, "vehicle id")
        if not _whole(self.capacity) or self.capacity < 0:
            raise InvalidInput(
                f"vehicle {self.id}: capacity must be a whole number, 0 or more", field="capacity"
            )
        _minute_of_day(self.available_from, "available_from")
        _minute_of_day(self.available_until, "available_until")
        if self.available_until < self.available_from:
            raise InvalidInput(
                f"vehicle {self.id}: available until {clock(self.available_until)}, "
                f"before it is available from {clock(self.available_from)}",
                field="available_until",
            )


@attrs.frozen
class RoutingProblem:
    """One day's stops and vehicles, from one depot.

    ``day_start`` is the earliest any vehicle may leave the depot (loading done); a vehicle
    leaves no earlier than ``max(day_start, available_from)`` and is back by its
    ``available_until``. ``speed_kmh`` is the average driving speed in the city.
    """

    depot: GeoPoint
    stops: tuple[Stop, ...] = attrs.field(converter=_stops)
    vehicles: tuple[Vehicle, ...] = attrs.field(converter=_vehicles)
    speed_kmh: int = 25
    day_start: int = 0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.depot, GeoPoint):
            raise InvalidInput("the depot must be a GeoPoint", field="depot")
        if not all(isinstance(s, Stop) for s in self.stops):
            raise InvalidInput("stops must be Stop values", field="stops")
        if not all(isinstance(v, Vehicle) for v in self.vehicles):
            raise InvalidInput("vehicles must be Vehicle values", field="vehicles")
        _unique((s.id for s in self.stops), "stop")
        _unique((v.id for v in self.vehicles), "vehicle")
        if not _whole(self.speed_kmh) or not 1 <= self.speed_kmh <= 200:
            raise InvalidInput("speed must be 1 to 200 km/h", field="speed_kmh")
        _minute_of_day(self.day_start, "day_start")

    def stop(self, stop_id: str) -> Stop:
        """The stop with that id; ``KeyError`` if the problem has none."""
        for stop in self.stops:
            if stop.id == stop_id:
                return stop
        raise KeyError(stop_id)

    def travel(self, a: GeoPoint, b: GeoPoint) -> int:
        """Driving minutes from ``a`` to ``b``."""
        return travel_minutes(a.distance_m(b), self.speed_kmh)

    def leaves_from(self, vehicle: Vehicle) -> int:
        """The earliest minute ``vehicle`` may leave the depot."""
        return max(self.day_start, vehicle.available_from)


def _unique(ids: Iterable[str], kind: str) -> None:
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise InvalidInput(
            f"{kind} ids must be unique; repeated: {', '.join(repeated)}", field=f"{kind}s"
        )


@attrs.frozen
class Visit:
    """A stop on a route: when the vehicle arrives and departs, and parcels left on board."""

    stop_id: str
    arrival: int
    departure: int
    load_after: int


@attrs.frozen
class Route:
    """One vehicle's run, depot to depot; ``duration_minutes`` counts from leaving to return."""

    vehicle_id: str
    visits: tuple[Visit, ...] = attrs.field(converter=_visits)
    distance_m: int
    duration_minutes: int


@attrs.frozen
class Unplaced:
    """A stop no route serves, and why, in words for the operator."""

    stop_id: str
    reason: str


@attrs.frozen
class RoutePlan:
    """A planner's answer: the routes, the stops left out, which solver, and its seconds."""

    routes: tuple[Route, ...] = attrs.field(converter=_routes)
    unplaced: tuple[Unplaced, ...] = attrs.field(converter=_unplaced)
    solver: str
    seconds: float

    @property
    def distance_m(self) -> int:
        return sum(r.distance_m for r in self.routes)

    @property
    def stops_served(self) -> int:
        return sum(len(r.visits) for r in self.routes)


def depot_times(problem: RoutingProblem, route: Route) -> tuple[int, int]:
    """When the route leaves the depot and when it is back, derived from its visits."""
    if not route.visits:
        return (0, 0)
    first, last = problem.stop(route.visits[0].stop_id), problem.stop(route.visits[-1].stop_id)
    leave = route.visits[0].arrival - problem.travel(problem.depot, first.location)
    back = route.visits[-1].departure + problem.travel(last.location, problem.depot)
    return (leave, back)


def why_unservable(problem: RoutingProblem, stop: Stop) -> str | None:
    """Why no vehicle could serve ``stop`` even as its only stop, or ``None`` if one could."""
    if not problem.vehicles:
        return "there are no vehicles"
    suitable = [v for v in problem.vehicles if v.cold_chain or not stop.cold]
    if not suitable:
        return "cold goods need a cold-chain vehicle, and there is none"
    big_enough = [v for v in suitable if v.capacity >= stop.parcels]
    if not big_enough:
        largest = max(v.capacity for v in suitable)
        kind = "cold-chain vehicle" if stop.cold else "vehicle"
        return f"{stop.parcels} parcels are more than any {kind} carries (at most {largest})"
    there = problem.travel(problem.depot, stop.location)
    back = problem.travel(stop.location, problem.depot)
    earliest = min(problem.leaves_from(v) for v in big_enough) + there
    if earliest > stop.window_end:
        return (
            f"no vehicle can arrive before its window closes at {clock(stop.window_end)} "
            f"(the earliest arrival is {clock(earliest)})"
        )
    for v in big_enough:
        arrival = problem.leaves_from(v) + there
        done = max(arrival, stop.window_start) + stop.service_minutes
        if arrival <= stop.window_end and done + back <= v.available_until:
            return None
    return (
        f"no vehicle can serve it in its window ({clock(stop.window_start)}–"
        f"{clock(stop.window_end)}) and be back at the depot before the end of its hours"
    )


def check_plan(problem: RoutingProblem, plan: RoutePlan) -> list[str]:
    """Every way ``plan`` breaks the rules of ``problem``, as sentences; empty if none.

    Recomputed from the problem alone, trusting nothing the plan derived: stop and vehicle
    ids, each stop served or unplaced exactly once, one route per vehicle, capacity, cold
    chain, loads, times (drive, wait, service), windows, vehicle hours and distances.
    """
    problems: list[str] = []
    stops = {s.id: s for s in problem.stops}
    served: Counter[str] = Counter()
    for route in plan.routes:
        served.update(v.stop_id for v in route.visits)
    unplaced = Counter(u.stop_id for u in plan.unplaced)

    for stop_id in sorted((served | unplaced).keys() - stops.keys()):
        problems.append(f"the plan names stop {stop_id!r}, which is not in the problem")
    for stop in problem.stops:
        times_served, times_unplaced = served[stop.id], unplaced[stop.id]
        if times_served > 1:
            problems.append(f"stop {stop.id} is served {times_served} times")
        if times_unplaced > 1:
            problems.append(f"stop {stop.id} is listed unplaced {times_unplaced} times")
        if times_served and times_unplaced:
            problems.append(f"stop {stop.id} is both served and listed unplaced")
        if not times_served and not times_unplaced:
            problems.append(f"stop {stop.id} is neither served nor listed unplaced")
    for entry in plan.unplaced:
        if not entry.reason.strip():
            problems.append(f"unplaced stop {entry.stop_id} has no reason")

    vehicles = {v.id: v for v in problem.vehicles}
    used = Counter(r.vehicle_id for r in plan.routes)
    for vehicle_id, times in sorted(used.items()):
        if vehicle_id not in vehicles:
            problems.append(f"a route uses vehicle {vehicle_id!r}, which is not in the problem")
        elif times > 1:
            problems.append(f"vehicle {vehicle_id} has {times} routes; it drives one")
    for route in plan.routes:
        if route.vehicle_id in vehicles:
            problems.extend(_check_route(problem, vehicles[route.vehicle_id], route, stops))
    return problems


def _check_route(
    problem: RoutingProblem, vehicle: Vehicle, route: Route, stops: dict[str, Stop]
) -> list[str]:
    name = f"vehicle {vehicle.id}"
    if not all(v.stop_id in stops for v in route.visits):
        return []  # the unknown stop is reported already; nothing else can be recomputed
    if not route.visits:
        if route.distance_m or route.duration_minutes:
            return [f"{name} has no visits but reports distance or duration"]
        return []
    found: list[str] = []
    on_route = [stops[v.stop_id] for v in route.visits]

    load = sum(s.parcels for s in on_route)
    if load > vehicle.capacity:
        found.append(f"{name} carries {load} parcels, more than its capacity of {vehicle.capacity}")
    for visit, stop in zip(route.visits, on_route, strict=True):
        if stop.cold and not vehicle.cold_chain:
            found.append(f"{name} is not cold-chain but serves cold stop {stop.id}")
        load -= stop.parcels
        if visit.load_after != load:
            found.append(
                f"{name} reports {visit.load_after} parcels on board after stop {stop.id}; "
                f"it has {load}"
            )

    found.extend(_check_times(problem, vehicle, route, on_route))

    places = [problem.depot, *(s.location for s in on_route), problem.depot]
    distance = sum(a.distance_m(b) for a, b in itertools.pairwise(places))
    if route.distance_m != distance:
        found.append(f"{name} reports {route.distance_m} m; its route is {distance} m")
    return found


def _check_times(
    problem: RoutingProblem, vehicle: Vehicle, route: Route, on_route: list[Stop]
) -> list[str]:
    name = f"vehicle {vehicle.id}"
    found: list[str] = []
    leave = route.visits[0].arrival - problem.travel(problem.depot, on_route[0].location)
    if leave < problem.leaves_from(vehicle):
        found.append(
            f"{name} must leave the depot at {clock(leave)} to arrive as reported, "
            f"before it may leave ({clock(problem.leaves_from(vehicle))})"
        )
    place, departed = problem.depot, leave
    for visit, stop in zip(route.visits, on_route, strict=True):
        expected = departed + problem.travel(place, stop.location)
        if visit.arrival != expected:
            found.append(
                f"{name} reports arriving at stop {stop.id} at {clock(visit.arrival)}; "
                f"leaving the previous place at {clock(departed)} it arrives at {clock(expected)}"
            )
        if visit.arrival > stop.window_end:
            found.append(
                f"{name} arrives at stop {stop.id} at {clock(visit.arrival)}, after its "
                f"window {clock(stop.window_start)}–{clock(stop.window_end)}"
            )
        done = max(visit.arrival, stop.window_start) + stop.service_minutes
        if visit.departure != done:
            found.append(
                f"{name} reports leaving stop {stop.id} at {clock(visit.departure)}; "
                f"arriving at {clock(visit.arrival)}, waiting for its window and serving "
                f"{stop.service_minutes} min, it leaves at {clock(done)}"
            )
        place, departed = stop.location, visit.departure
    back = departed + problem.travel(place, problem.depot)
    if back > vehicle.available_until:
        found.append(
            f"{name} is back at the depot at {clock(back)}, after its hours end "
            f"({clock(vehicle.available_until)})"
        )
    if route.duration_minutes != back - leave:
        found.append(
            f"{name} reports {route.duration_minutes} min; from {clock(leave)} "
            f"to {clock(back)} is {back - leave} min"
        )
    return found
