"""Delivery routes: the problem's rules, the independent plan checker, the greedy planner."""

from __future__ import annotations

import datetime as dt
import random
import sys
from collections.abc import Callable

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequ.adapters.routing import GreedyRoutePlanner, OrToolsRoutePlanner, default_route_planner
from shequ.application.routing import RoutePlanner, minutes_into_day
from shequ.domain.errors import InvalidInput, RoutingUnavailable
from shequ.domain.routing import (
    GeoPoint,
    Route,
    RoutePlan,
    RoutingProblem,
    Stop,
    Unplaced,
    Vehicle,
    Visit,
    check_plan,
    clock,
    depot_times,
    travel_minutes,
    why_unservable,
)
from shequ.domain.values import CHINA_STANDARD_TIME

DEPOT = GeoPoint(31.2304, 121.4737)  # a warehouse in Shanghai
KM = 0.009  # about a kilometre of latitude, in degrees


def near(north_km: float, east_km: float) -> GeoPoint:
    return GeoPoint(DEPOT.latitude + north_km * KM, DEPOT.longitude + east_km * KM * 1.17)


def hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def small_day() -> RoutingProblem:
    """A pickup point, two homes, a cold home, and one home nobody can reach in time."""
    return RoutingProblem(
        depot=DEPOT,
        stops=(
            Stop("pickup-a", near(2, 0), 30, hm("08:00"), hm("20:00"), service_minutes=15),
            Stop("home-b", near(3, 1), 1, hm("10:00"), hm("12:00")),
            Stop("home-c", near(-2, 2), 1, hm("09:00"), hm("11:00"), cold=True),
            Stop("home-d", near(1, -2), 1, hm("08:00"), hm("10:00")),
            Stop("home-late", near(40, 40), 1, hm("07:00"), hm("07:05")),
        ),
        vehicles=(
            Vehicle("van-1", 40, available_from=hm("07:00"), available_until=hm("18:00")),
            Vehicle("cold-1", 10, cold_chain=True, available_from=hm("07:00")),
        ),
    )


def planned(problem: RoutingProblem) -> RoutePlan:
    return GreedyRoutePlanner().plan(problem, time_limit=1)


@pytest.fixture
def day() -> RoutingProblem:
    return small_day()


@pytest.fixture
def plan(day: RoutingProblem) -> RoutePlan:
    plan = planned(day)
    assert check_plan(day, plan) == []
    assert [r.vehicle_id for r in plan.routes] == ["van-1", "cold-1"]
    assert [v.stop_id for v in plan.routes[1].visits] == ["home-c"]
    assert [u.stop_id for u in plan.unplaced] == ["home-late"]
    return plan


def with_route(plan: RoutePlan, index: int, change: Callable[[Route], Route]) -> RoutePlan:
    routes = list(plan.routes)
    routes[index] = change(routes[index])
    return attrs.evolve(plan, routes=tuple(routes))


def with_visit(route: Route, index: int, **changes: int | str) -> Route:
    visits = list(route.visits)
    visits[index] = attrs.evolve(visits[index], **changes)
    return attrs.evolve(route, visits=tuple(visits))


def one_violation(problem: RoutingProblem, plan: RoutePlan, words: str) -> None:
    found = check_plan(problem, plan)
    assert len(found) == 1 and words in found[0], found


def some_violation(problem: RoutingProblem, plan: RoutePlan, words: str) -> None:
    found = check_plan(problem, plan)
    assert any(words in f for f in found), found


# ---------------------------------------------------------------- values and their rules


def test_distance_is_haversine_in_whole_metres() -> None:
    equator, east = GeoPoint(0, 0), GeoPoint(0, 0.09)
    assert equator.distance_m(east) == 10_008  # 6,371 km × 0.09° in radians
    assert east.distance_m(equator) == 10_008
    assert DEPOT.distance_m(DEPOT) == 0
    beijing = GeoPoint(39.9042, 116.4074)
    assert 1_060_000 < DEPOT.distance_m(beijing) < 1_075_000


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(90.5, 0), (-91, 0), (0, 180.1), (0, -181), (float("nan"), 0), (0, float("inf"))],
)
def test_a_point_off_the_globe_is_refused(latitude: float, longitude: float) -> None:
    with pytest.raises(InvalidInput):
        GeoPoint(latitude, longitude)


def test_driving_time_rounds_up_to_whole_minutes() -> None:
    assert travel_minutes(0, 30) == 0
    assert travel_minutes(500, 30) == 1  # 30 km/h is 500 m a minute
    assert travel_minutes(501, 30) == 2
    assert travel_minutes(10_008, 30) == 21


@pytest.mark.parametrize(
    "make",
    [
        lambda: Stop("s", DEPOT, 1, 600, 540),
        lambda: Stop("s", DEPOT, -1, 480, 540),
        lambda: Stop("", DEPOT, 1, 480, 540),
        lambda: Stop("s", DEPOT, 1, -5, 540),
        lambda: Stop("s", DEPOT, 1, 480, 1441),
        lambda: Stop("s", DEPOT, 1, 480, 540, service_minutes=-1),
        lambda: Vehicle("v", -1),
        lambda: Vehicle("v", 10, available_from=600, available_until=540),
        lambda: RoutingProblem(DEPOT, (Stop("s", DEPOT, 1, 0, 9), Stop("s", DEPOT, 2, 0, 9)), ()),
        lambda: RoutingProblem(DEPOT, (), (Vehicle("v", 1), Vehicle("v", 2))),
        lambda: RoutingProblem(DEPOT, (), (Vehicle("v", 1),), speed_kmh=0),
        lambda: RoutingProblem(DEPOT, (), (), day_start=1500),
    ],
    ids=[
        "window-backwards",
        "negative-parcels",
        "empty-id",
        "window-before-the-day",
        "window-after-the-day",
        "negative-service",
        "negative-capacity",
        "hours-backwards",
        "repeated-stop-id",
        "repeated-vehicle-id",
        "no-speed",
        "day-start-off-the-day",
    ],
)
def test_an_invalid_problem_is_refused(make: Callable[[], object]) -> None:
    with pytest.raises(InvalidInput):
        make()


def test_the_time_model_worked_by_hand() -> None:
    # 10,008 m at 30 km/h is 21 min. Leaving at 07:00 the van would wait at 07:21 for the
    # window (08:00); the planner leaves at 07:39 instead, so it arrives as the window opens.
    problem = RoutingProblem(
        GeoPoint(0, 0),
        (Stop("home", GeoPoint(0, 0.09), 1, hm("08:00"), hm("09:00")),),
        (Vehicle("van", 5, available_from=hm("07:00")),),
        speed_kmh=30,
    )
    plan = planned(problem)
    assert plan.routes == (Route("van", (Visit("home", hm("08:00"), hm("08:05"), 0),), 20_016, 47),)
    assert depot_times(problem, plan.routes[0]) == (hm("07:39"), hm("08:26"))
    assert check_plan(problem, plan) == []
    assert (plan.distance_m, plan.stops_served, plan.solver) == (20_016, 1, "greedy")


def test_arriving_early_means_waiting_for_the_window() -> None:
    # Two stops: the second's window opens long after the first is served; the van leaves
    # just in time for the first window, arrives early at the second, and waits there.
    problem = RoutingProblem(
        GeoPoint(0, 0),
        (
            Stop("first", GeoPoint(0, 0.09), 1, hm("08:00"), hm("08:30")),
            Stop("second", GeoPoint(0, 0.18), 1, hm("10:00"), hm("11:00")),
        ),
        (Vehicle("van", 5, available_from=hm("07:00")),),
        speed_kmh=30,
    )
    plan = planned(problem)
    first, second = plan.routes[0].visits
    assert (first.arrival, first.departure) == (hm("08:00"), hm("08:05"))
    assert (second.arrival, second.departure) == (hm("08:26"), hm("10:05"))
    assert depot_times(problem, plan.routes[0]) == (hm("07:39"), hm("10:46"))  # 20 km back: 41 min
    assert check_plan(problem, plan) == []


def test_clock_reads_minutes_as_a_time_of_day() -> None:
    assert [clock(0), clock(450), clock(1440), clock(1450)] == ["00:00", "07:30", "24:00", "24:10"]


def test_minutes_into_day_reads_local_times() -> None:
    day = dt.date(2026, 11, 25)
    assert (
        minutes_into_day(day, dt.datetime(2026, 11, 25, 8, 30, tzinfo=CHINA_STANDARD_TIME)) == 510
    )
    assert minutes_into_day(day, dt.datetime(2026, 11, 25, 0, 30, tzinfo=dt.UTC)) == 510
    assert minutes_into_day(day, dt.datetime(2026, 11, 26, tzinfo=CHINA_STANDARD_TIME)) == 1440
    assert minutes_into_day(day, dt.time(7, 0)) == 420
    with pytest.raises(InvalidInput):
        minutes_into_day(day, dt.datetime(2026, 11, 25, 8, 30))  # no time zone
    with pytest.raises(InvalidInput):
        minutes_into_day(day, dt.datetime(2026, 11, 24, 23, 0, tzinfo=CHINA_STANDARD_TIME))


# ---------------------------------------------------------------- the checker


def test_the_checker_accepts_a_sound_plan(day: RoutingProblem, plan: RoutePlan) -> None:
    assert check_plan(day, plan) == []


def test_the_checker_catches_a_stop_served_twice(day: RoutingProblem, plan: RoutePlan) -> None:
    twice = with_route(
        plan, 1, lambda r: attrs.evolve(r, visits=(*r.visits, plan.routes[0].visits[0]))
    )
    some_violation(day, twice, "stop pickup-a is served 2 times")


def test_the_checker_catches_a_stop_left_out(day: RoutingProblem, plan: RoutePlan) -> None:
    one_violation(day, attrs.evolve(plan, unplaced=()), "home-late is neither served nor listed")


def test_the_checker_catches_a_stop_both_served_and_unplaced(
    day: RoutingProblem, plan: RoutePlan
) -> None:
    both = attrs.evolve(plan, unplaced=(*plan.unplaced, Unplaced("home-c", "too cold")))
    one_violation(day, both, "home-c is both served and listed unplaced")


def test_the_checker_catches_a_stop_unplaced_twice(day: RoutingProblem, plan: RoutePlan) -> None:
    twice = attrs.evolve(plan, unplaced=plan.unplaced * 2)
    one_violation(day, twice, "home-late is listed unplaced 2 times")


def test_the_checker_catches_an_unplaced_stop_without_reason(
    day: RoutingProblem, plan: RoutePlan
) -> None:
    one_violation(day, attrs.evolve(plan, unplaced=(Unplaced("home-late", " "),)), "no reason")


def test_the_checker_catches_unknown_stops(day: RoutingProblem, plan: RoutePlan) -> None:
    ghost = attrs.evolve(plan, unplaced=(*plan.unplaced, Unplaced("ghost", "gone")))
    one_violation(day, ghost, "stop 'ghost', which is not in the problem")
    renamed = with_route(plan, 1, lambda r: with_visit(r, 0, stop_id="ghost"))
    some_violation(day, renamed, "stop 'ghost', which is not in the problem")
    some_violation(day, renamed, "home-c is neither served nor listed")


def test_the_checker_catches_an_unknown_vehicle(day: RoutingProblem, plan: RoutePlan) -> None:
    ghost = with_route(plan, 1, lambda r: attrs.evolve(r, vehicle_id="ghost-van"))
    one_violation(day, ghost, "vehicle 'ghost-van', which is not in the problem")


def test_the_checker_catches_a_vehicle_driving_twice(day: RoutingProblem, plan: RoutePlan) -> None:
    twice = with_route(plan, 1, lambda r: attrs.evolve(r, vehicle_id="van-1"))
    some_violation(day, twice, "vehicle van-1 has 2 routes")


def test_the_checker_catches_too_many_parcels(day: RoutingProblem, plan: RoutePlan) -> None:
    small_van = attrs.evolve(day.vehicles[0], capacity=20)
    smaller = attrs.evolve(day, vehicles=(small_van, day.vehicles[1]))
    one_violation(smaller, plan, "vehicle van-1 carries 32 parcels, more than its capacity of 20")


def test_the_checker_catches_cold_goods_in_an_ordinary_van(
    day: RoutingProblem, plan: RoutePlan
) -> None:
    stops = tuple(attrs.evolve(s, cold=True) if s.id == "home-b" else s for s in day.stops)
    one_violation(
        attrs.evolve(day, stops=stops), plan, "not cold-chain but serves cold stop home-b"
    )


def test_the_checker_catches_a_wrong_load(day: RoutingProblem, plan: RoutePlan) -> None:
    wrong = with_route(plan, 0, lambda r: with_visit(r, 0, load_after=r.visits[0].load_after + 1))
    one_violation(day, wrong, "parcels on board after stop")


def test_the_checker_catches_an_arrival_faster_than_driving(
    day: RoutingProblem, plan: RoutePlan
) -> None:
    last = len(plan.routes[0].visits) - 1
    early = with_route(plan, 0, lambda r: with_visit(r, last, arrival=r.visits[last - 1].departure))
    some_violation(day, early, "it arrives at")


def test_the_checker_catches_a_departure_without_service_or_wait(
    day: RoutingProblem, plan: RoutePlan
) -> None:
    hasty = with_route(plan, 1, lambda r: with_visit(r, 0, departure=r.visits[0].arrival))
    some_violation(day, hasty, "waiting for its window and serving 5 min")


def test_the_checker_catches_an_arrival_after_the_window(
    day: RoutingProblem, plan: RoutePlan
) -> None:
    arrival = plan.routes[1].visits[0].arrival
    stops = tuple(
        attrs.evolve(s, window_start=arrival - 10, window_end=arrival - 1)
        if s.id == "home-c"
        else s
        for s in day.stops
    )
    one_violation(attrs.evolve(day, stops=stops), plan, "vehicle cold-1 arrives at stop home-c")


def test_the_checker_catches_leaving_before_the_vehicle_is_there(
    day: RoutingProblem, plan: RoutePlan
) -> None:
    leave, _ = depot_times(day, plan.routes[1])
    late_driver = attrs.evolve(day.vehicles[1], available_from=leave + 1)
    one_violation(attrs.evolve(day, vehicles=(day.vehicles[0], late_driver)), plan, "may leave")


def test_the_checker_catches_coming_back_after_hours(day: RoutingProblem, plan: RoutePlan) -> None:
    _, back = depot_times(day, plan.routes[0])
    short_day = attrs.evolve(day.vehicles[0], available_until=back - 1)
    one_violation(attrs.evolve(day, vehicles=(short_day, day.vehicles[1])), plan, "after its hours")


def test_the_checker_catches_a_wrong_distance(day: RoutingProblem, plan: RoutePlan) -> None:
    longer = with_route(plan, 0, lambda r: attrs.evolve(r, distance_m=r.distance_m + 1))
    one_violation(day, longer, "its route is")


def test_the_checker_catches_a_wrong_duration(day: RoutingProblem, plan: RoutePlan) -> None:
    longer = with_route(plan, 0, lambda r: attrs.evolve(r, duration_minutes=r.duration_minutes - 1))
    one_violation(day, longer, "min; from")


def test_the_checker_catches_an_empty_route_with_distance(
    day: RoutingProblem, plan: RoutePlan
) -> None:
    empty = with_route(plan, 1, lambda r: attrs.evolve(r, visits=()))
    some_violation(day, empty, "has no visits but reports distance")


# ---------------------------------------------------------------- stops that cannot be served


def test_each_stop_nobody_can_serve_is_unplaced_with_its_reason() -> None:
    problem = RoutingProblem(
        DEPOT,
        (
            Stop("cold", near(1, 1), 1, hm("09:00"), hm("11:00"), cold=True),
            Stop("huge", near(1, 0), 100, hm("09:00"), hm("18:00")),
            Stop("too-early", near(20, 0), 1, hm("07:00"), hm("07:10")),
            Stop("too-late", near(30, 30), 1, hm("17:50"), hm("17:55")),
            Stop("fine", near(-1, 0), 1, hm("09:00"), hm("11:00")),
        ),
        (Vehicle("van", 40, available_from=hm("07:00"), available_until=hm("18:00")),),
    )
    plan = planned(problem)
    assert check_plan(problem, plan) == []
    reasons = {u.stop_id: u.reason for u in plan.unplaced}
    assert reasons.keys() == {"cold", "huge", "too-early", "too-late"}
    assert "cold-chain" in reasons["cold"]
    assert "100 parcels are more than any vehicle carries (at most 40)" in reasons["huge"]
    assert "before its window closes at 07:10" in reasons["too-early"]
    assert "back at the depot" in reasons["too-late"]
    assert [v.stop_id for v in plan.routes[0].visits] == ["fine"]


def test_a_stop_left_without_room_says_so() -> None:
    problem = RoutingProblem(
        DEPOT,
        (Stop("a", near(1, 0), 30, 480, 1200), Stop("b", near(0, 1), 30, 480, 1200)),
        (Vehicle("van", 40),),
    )
    plan = planned(problem)
    assert check_plan(problem, plan) == []
    assert plan.stops_served == 1
    (left,) = plan.unplaced
    assert "no route had room" in left.reason and "60 parcels" in left.reason


def test_without_vehicles_every_stop_is_unplaced() -> None:
    problem = RoutingProblem(DEPOT, (Stop("a", near(1, 0), 1, 480, 600),), ())
    plan = planned(problem)
    assert plan.routes == () and plan.unplaced == (Unplaced("a", "there are no vehicles"),)
    assert check_plan(problem, plan) == []


@pytest.mark.parametrize("limit", [0, -1.0, float("nan")])
def test_a_time_limit_must_be_above_zero(day: RoutingProblem, limit: float) -> None:
    with pytest.raises(InvalidInput):
        GreedyRoutePlanner().plan(day, time_limit=limit)


def test_or_tools_missing_is_a_routing_error_naming_the_extra(
    day: RoutingProblem, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("ortools", "ortools.constraint_solver"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(RoutingUnavailable, match=r"shequ\[routing\]") as caught:
        OrToolsRoutePlanner().plan(day, time_limit=1)
    assert caught.value.code == "routing-unavailable"


def test_the_default_planner_is_a_route_planner() -> None:
    planner: RoutePlanner = default_route_planner()
    assert isinstance(planner, GreedyRoutePlanner | OrToolsRoutePlanner)


# ---------------------------------------------------------------- generated problems


@st.composite
def stops(draw: st.DrawFn, index: int) -> Stop:
    location = near(draw(st.floats(-6, 6)), draw(st.floats(-6, 6)))
    cold = draw(st.integers(0, 3)) == 0  # a quarter of stops carry cold goods
    if draw(st.integers(0, 3)) == 0:  # a pickup point: many parcels, open for hours
        opens = draw(st.integers(hm("06:00"), hm("14:00")))
        closes = min(1440, opens + draw(st.integers(60, 720)))
        parcels, service = draw(st.integers(5, 60)), draw(st.integers(5, 20))
        return Stop(f"p{index}", location, parcels, opens, closes, service, cold)
    slot = draw(st.integers(hm("07:00"), hm("21:00")))
    length = draw(st.sampled_from([0, 10, 30, 120, 120, 120]))  # some tight windows
    return Stop(f"h{index}", location, 1, slot, min(1440, slot + length), 3, cold)


@st.composite
def vehicles(draw: st.DrawFn, index: int) -> Vehicle:
    starts = draw(st.integers(hm("05:00"), hm("12:00")))
    ends = min(1440, starts + draw(st.integers(0, 900)))  # some shifts too short to help
    capacity = draw(st.integers(1, 80))
    return Vehicle(f"v{index}", capacity, draw(st.booleans()), starts, ends)


@st.composite
def problems(draw: st.DrawFn, max_stops: int = 12) -> RoutingProblem:
    count = draw(st.integers(0, max_stops))
    fleet = draw(st.integers(1, 3))
    return RoutingProblem(
        DEPOT,
        tuple(draw(stops(i)) for i in range(count)),
        tuple(draw(vehicles(i)) for i in range(fleet)),
        speed_kmh=draw(st.integers(10, 40)),
        day_start=draw(st.integers(0, hm("09:00"))),
    )


def assert_sound(problem: RoutingProblem, plan: RoutePlan) -> None:
    assert check_plan(problem, plan) == []
    reasons = {u.stop_id: u.reason for u in plan.unplaced}
    for stop in problem.stops:
        alone = why_unservable(problem, stop)
        if alone is not None:
            assert reasons.get(stop.id) == alone
    assert all(r.visits for r in plan.routes)


@settings(max_examples=300)
@given(problems())
def test_greedy_plans_pass_the_checker(problem: RoutingProblem) -> None:
    assert_sound(problem, GreedyRoutePlanner().plan(problem, time_limit=1))


@settings(max_examples=200)
@given(problems(max_stops=1))
def test_a_lone_stop_is_served_exactly_when_some_vehicle_could(problem: RoutingProblem) -> None:
    plan = GreedyRoutePlanner().plan(problem, time_limit=1)
    assert check_plan(problem, plan) == []
    for stop in problem.stops:
        assert (why_unservable(problem, stop) is None) == (plan.stops_served == 1)


def city(stop_count: int, seed: int) -> RoutingProblem:
    """A fixed synthetic day: pickup points and home slots within 8 km, a fifth of them cold."""
    rng = random.Random(seed)
    built: list[Stop] = []
    for i in range(stop_count):
        location = near(rng.uniform(-8, 8), rng.uniform(-8, 8))
        cold = rng.random() < 0.2
        if i % 5 == 0:
            built.append(Stop(f"p{i}", location, rng.randint(10, 40), 480, 1200, 10, cold))
        else:
            slot = rng.choice(range(hm("08:00"), hm("20:00"), 120))
            built.append(Stop(f"h{i}", location, 1, slot, slot + 120, 3, cold))
    fleet = max(2, stop_count // 10)
    return RoutingProblem(
        DEPOT,
        tuple(built),
        tuple(
            Vehicle(f"v{i}", 100, cold_chain=i % 3 == 0, available_from=420, available_until=1320)
            for i in range(fleet)
        ),
        speed_kmh=25,
        day_start=420,
    )


def test_greedy_plans_a_city_day() -> None:
    problem = city(60, seed=7)
    plan = planned(problem)
    assert_sound(problem, plan)
    assert plan.stops_served >= 50
