"""Route planners: Google OR-Tools (the ``routing`` extra) and a greedy one with no dependency.

Both take the stops no vehicle could serve even alone out first (with the domain's
reason), plan the rest, and write every route's times the same way from the order of its
stops alone: the vehicle leaves the depot just in time to arrive at its first stop as that
window opens (or as early as it may, if that is later), then drives on without idling;
where it arrives before a window, it waits there.
"""

from __future__ import annotations

import importlib.util
import itertools
import time
from collections.abc import Sequence
from typing import Any

from shequ.application.routing import RoutePlanner
from shequ.domain.errors import InvalidInput, RoutingUnavailable
from shequ.domain.routing import (
    MINUTES_PER_DAY,
    Route,
    RoutePlan,
    RoutingProblem,
    Stop,
    Unplaced,
    Vehicle,
    Visit,
    travel_minutes,
    why_unservable,
)

__all__ = ["GreedyRoutePlanner", "OrToolsRoutePlanner", "default_route_planner"]

NO_ROOM = "no route had room or time left for it (capacity and hours went to other stops)"
EXTRA_MISSING = "route planning with OR-Tools needs the routing extra: pip install 'shequ[routing]'"


def default_route_planner() -> RoutePlanner:
    """OR-Tools when the ``routing`` extra is installed, else the greedy planner."""
    if importlib.util.find_spec("ortools") is not None:
        return OrToolsRoutePlanner()
    return GreedyRoutePlanner()


class _Table:
    """Distances (metres) and driving minutes between the depot (index 0) and ``stops``."""

    def __init__(self, problem: RoutingProblem, stops: Sequence[Stop]) -> None:
        self.stops = list(stops)
        places = [problem.depot, *(s.location for s in stops)]
        size = len(places)
        self.metres = [[0] * size for _ in range(size)]
        for i in range(size):
            for j in range(i + 1, size):
                # haversine is symmetric: compute each pair once
                self.metres[i][j] = self.metres[j][i] = places[i].distance_m(places[j])
        speed = problem.speed_kmh
        self.minutes = [[travel_minutes(d, speed) for d in row] for row in self.metres]

    def stop(self, node: int) -> Stop:
        return self.stops[node - 1]


def _schedule(
    table: _Table, vehicle: Vehicle, nodes: Sequence[int], leave: int
) -> tuple[list[Visit], int] | None:
    """Visits for ``nodes`` in order leaving the depot at ``leave``; None if it breaks a rule."""
    load = sum(table.stop(n).parcels for n in nodes)
    visits: list[Visit] = []
    place, clock = 0, leave
    for node in nodes:
        stop = table.stop(node)
        arrival = clock + table.minutes[place][node]
        if arrival > stop.window_end:
            return None
        clock = max(arrival, stop.window_start) + stop.service_minutes
        load -= stop.parcels
        visits.append(Visit(stop.id, arrival, clock, load))
        place = node
    back = clock + table.minutes[place][0]
    return (visits, back) if back <= vehicle.available_until else None


def _route(problem: RoutingProblem, table: _Table, vehicle: Vehicle, nodes: Sequence[int]) -> Route:
    earliest = problem.leaves_from(vehicle)
    found = _schedule(table, vehicle, nodes, earliest)
    if found is None:
        raise RuntimeError(f"planner bug: the route of vehicle {vehicle.id} is not feasible")
    # Leave late enough to arrive at the first stop as its window opens rather than wait
    # there: nothing after it changes, as service there begins at the same minute.
    leave = earliest + max(0, table.stop(nodes[0]).window_start - found[0][0].arrival)
    later = _schedule(table, vehicle, nodes, leave)
    if later is None:
        raise RuntimeError(f"planner bug: the route of vehicle {vehicle.id} is not feasible")
    visits, back = later
    places = [0, *nodes, 0]
    distance = sum(table.metres[a][b] for a, b in itertools.pairwise(places))
    return Route(vehicle.id, tuple(visits), distance, back - leave)


def _no_room(problem: RoutingProblem) -> str:
    parcels = sum(s.parcels for s in problem.stops)
    capacity = sum(v.capacity for v in problem.vehicles)
    if parcels > capacity:
        return f"{NO_ROOM}; the stops have {parcels} parcels, the vehicles carry {capacity}"
    return NO_ROOM


def _split(problem: RoutingProblem) -> tuple[list[Stop], list[Unplaced]]:
    """The stops worth planning, and those no vehicle could serve even alone."""
    candidates: list[Stop] = []
    unplaced: list[Unplaced] = []
    for stop in problem.stops:
        reason = why_unservable(problem, stop)
        if reason is None:
            candidates.append(stop)
        else:
            unplaced.append(Unplaced(stop.id, reason))
    return candidates, unplaced


def _check_limit(time_limit: float) -> None:
    if not isinstance(time_limit, int | float) or not time_limit > 0:
        raise InvalidInput(
            f"a planning time limit is seconds above zero, not {time_limit!r}", field="time_limit"
        )


def _in_problem_order(problem: RoutingProblem, unplaced: list[Unplaced]) -> tuple[Unplaced, ...]:
    order = {s.id: i for i, s in enumerate(problem.stops)}
    return tuple(sorted(unplaced, key=lambda u: order[u.stop_id]))


class GreedyRoutePlanner:
    """Nearest feasible neighbour: fills one vehicle at a time, always going next to the
    stop where service can begin soonest (nearest first on a tie) among those that still
    fit its load, window and hours. Vehicles without cold chain go first, so cold-chain
    vehicles are left for the cold stops. Fast, and a fallback: no search, no dependency.
    """

    def plan(self, problem: RoutingProblem, *, time_limit: float) -> RoutePlan:
        _check_limit(time_limit)
        started = time.perf_counter()
        candidates, unplaced = _split(problem)
        table = _Table(problem, candidates)
        remaining = list(range(1, len(candidates) + 1))
        routes: list[Route] = []
        for vehicle in sorted(problem.vehicles, key=lambda v: v.cold_chain):
            nodes = self._fill(problem, table, vehicle, remaining)
            if nodes:
                routes.append(_route(problem, table, vehicle, nodes))
                taken = set(nodes)
                remaining = [n for n in remaining if n not in taken]
        no_room = _no_room(problem)
        unplaced.extend(Unplaced(table.stop(n).id, no_room) for n in remaining)
        return RoutePlan(
            tuple(routes),
            _in_problem_order(problem, unplaced),
            solver="greedy",
            seconds=time.perf_counter() - started,
        )

    @staticmethod
    def _fill(
        problem: RoutingProblem, table: _Table, vehicle: Vehicle, remaining: list[int]
    ) -> list[int]:
        nodes: list[int] = []
        taken: set[int] = set()
        place, clock, load = 0, problem.leaves_from(vehicle), 0
        while True:
            best: tuple[int, int, int] | None = None  # (service begins, metres, node)
            for node in remaining:
                stop = table.stop(node)
                if node in taken or (stop.cold and not vehicle.cold_chain):
                    continue
                if load + stop.parcels > vehicle.capacity:
                    continue
                arrival = clock + table.minutes[place][node]
                if arrival > stop.window_end:
                    continue
                begins = max(arrival, stop.window_start)
                if begins + stop.service_minutes + table.minutes[node][0] > vehicle.available_until:
                    continue
                key = (begins, table.metres[place][node], node)
                if best is None or key < best:
                    best = key
            if best is None:
                return nodes
            begins, _, node = best
            nodes.append(node)
            taken.add(node)
            place, load = node, load + table.stop(node).parcels
            clock = begins + table.stop(node).service_minutes


class OrToolsRoutePlanner:
    """Google OR-Tools' vehicle routing solver (``pip install 'shequ[routing]'``).

    The model: arc cost is distance in metres (a cold-chain vehicle costs a metre more to
    use, so that on a tie ordinary vans carry ordinary goods); a ``Load`` dimension holds
    each vehicle's capacity (every parcel loaded at the depot); a ``Time`` dimension whose
    transit from a place to the next is its service time plus the drive, with slack for
    waiting, each stop's cumul (the minute service begins) inside its window and each
    vehicle's start and end inside its hours; cold stops allowed only on cold-chain
    vehicles; every stop in a disjunction whose penalty outweighs any distance, so the
    solver drops a stop only when it cannot fit, never to save kilometres. First solution
    ``first_solution`` (an OR-Tools ``FirstSolutionStrategy`` name, PATH_CHEAPEST_ARC by
    default), then guided local search until ``time_limit``. On large days give it time:
    with 500 stops and 30 s on 2 cores, PATH_CHEAPEST_ARC left stops unplaced that
    PARALLEL_CHEAPEST_INSERTION placed (see ``bench/README.md``).
    """

    solver = "ortools"

    def __init__(
        self, *, first_solution: str = "PATH_CHEAPEST_ARC", log_search: bool = False
    ) -> None:
        self._first_solution, self._log_search = first_solution, log_search

    def plan(self, problem: RoutingProblem, *, time_limit: float) -> RoutePlan:
        _check_limit(time_limit)
        pywrapcp, enums = _ortools()
        try:
            strategy = enums.FirstSolutionStrategy.Value.Value(self._first_solution)
        except ValueError as e:
            raise InvalidInput(
                f"{self._first_solution!r} is not an OR-Tools first solution strategy",
                field="first_solution",
            ) from e
        started = time.perf_counter()
        candidates, unplaced = _split(problem)
        vehicles = [v for v in problem.vehicles if problem.leaves_from(v) <= v.available_until]
        if not candidates or not vehicles:
            unplaced.extend(Unplaced(s.id, _no_room(problem)) for s in candidates)
            seconds = time.perf_counter() - started
            return RoutePlan((), _in_problem_order(problem, unplaced), self.solver, seconds)
        table = _Table(problem, candidates)

        manager = pywrapcp.RoutingIndexManager(len(table.metres), len(vehicles), 0)
        routing = pywrapcp.RoutingModel(manager)
        distance = routing.RegisterTransitMatrix(table.metres)
        routing.SetArcCostEvaluatorOfAllVehicles(distance)

        demand = routing.RegisterUnaryTransitVector([0, *(s.parcels for s in candidates)])
        routing.AddDimensionWithVehicleCapacity(
            demand, 0, [v.capacity for v in vehicles], True, "Load"
        )

        service = [0, *(s.service_minutes for s in candidates)]
        transit = [[service[i] + minutes for minutes in row] for i, row in enumerate(table.minutes)]
        busy = routing.RegisterTransitMatrix(transit)
        routing.AddDimension(busy, MINUTES_PER_DAY, MINUTES_PER_DAY, False, "Time")
        clock = routing.GetDimensionOrDie("Time")

        cold_chain = [k for k, v in enumerate(vehicles) if v.cold_chain]
        for k in cold_chain:  # a metre's cost: on a tie, ordinary vans carry ordinary goods
            routing.SetFixedCostOfVehicle(1, k)
        longest = max(max(row) for row in table.metres)
        penalty = (len(table.metres) + 2 * len(vehicles) + 1) * max(1, longest) + 1
        for node, stop in enumerate(candidates, start=1):
            index = manager.NodeToIndex(node)
            clock.CumulVar(index).SetRange(stop.window_start, stop.window_end)
            if stop.cold:
                # What SetAllowedVehiclesForIndex does; its Python wrapper in 9.15 takes no
                # list. -1 keeps the stop droppable; the list is never empty (see _split).
                routing.VehicleVar(index).SetValues([-1, *cold_chain])
            routing.AddDisjunction([index], penalty)
        for k, vehicle in enumerate(vehicles):
            hours = (problem.leaves_from(vehicle), vehicle.available_until)
            clock.CumulVar(routing.Start(k)).SetRange(*hours)
            clock.CumulVar(routing.End(k)).SetRange(*hours)

        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = strategy
        params.local_search_metaheuristic = enums.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        params.time_limit.FromMilliseconds(max(1, round(time_limit * 1000)))
        params.log_search = self._log_search
        solution = routing.SolveWithParameters(params)
        if solution is None:
            raise RoutingUnavailable(
                f"OR-Tools found no plan within {time_limit:g} s (status {routing.status()}); "
                "give it a longer time limit",
                time_limit=time_limit,
            )

        routes: list[Route] = []
        served: set[int] = set()
        for k, vehicle in enumerate(vehicles):
            nodes: list[int] = []
            index = solution.Value(routing.NextVar(routing.Start(k)))
            while not routing.IsEnd(index):
                nodes.append(manager.IndexToNode(index))
                index = solution.Value(routing.NextVar(index))
            if nodes:
                routes.append(_route(problem, table, vehicle, nodes))
                served.update(nodes)
        no_room = _no_room(problem)
        unplaced.extend(
            Unplaced(stop.id, no_room)
            for node, stop in enumerate(candidates, start=1)
            if node not in served
        )
        return RoutePlan(
            tuple(routes),
            _in_problem_order(problem, unplaced),
            self.solver,
            time.perf_counter() - started,
        )


def _ortools() -> tuple[Any, Any]:
    try:
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    except ImportError as e:
        raise RoutingUnavailable(EXTRA_MISSING) from e
    return pywrapcp, routing_enums_pb2
