"""The OR-Tools route planner (the ``routing`` extra) against the independent plan checker."""

from __future__ import annotations

import importlib.util

import pytest
from hypothesis import given, settings

from shequ.adapters.routing import GreedyRoutePlanner, OrToolsRoutePlanner, default_route_planner
from shequ.domain.routing import RoutingProblem, check_plan, why_unservable
from tests.unit.test_routing import assert_sound, city, problems, small_day

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ortools") is None,
    reason="OR-Tools is not installed: pip install -c constraints.txt -e '.[routing]'",
)

PLANNER = OrToolsRoutePlanner()


@settings(max_examples=12)
@given(problems())
def test_or_tools_plans_pass_the_checker(problem: RoutingProblem) -> None:
    assert_sound(problem, PLANNER.plan(problem, time_limit=1))


def test_or_tools_serves_what_can_be_served_on_a_small_day() -> None:
    problem = small_day()
    plan = PLANNER.plan(problem, time_limit=1)
    assert check_plan(problem, plan) == []
    assert plan.solver == "ortools"
    assert [u.stop_id for u in plan.unplaced] == ["home-late"]
    assert plan.unplaced[0].reason == why_unservable(problem, problem.stop("home-late"))
    cold = {v.stop_id for r in plan.routes if r.vehicle_id == "cold-1" for v in r.visits}
    assert "home-c" in cold


def test_fifty_stops_are_planned_within_the_time_limit() -> None:
    problem = city(50, seed=11)
    limit = 3.0
    plan = PLANNER.plan(problem, time_limit=limit)
    assert check_plan(problem, plan) == []
    assert plan.seconds < limit + 2.0  # the search stops at the limit; building the model is quick
    assert plan.stops_served + len(plan.unplaced) == 50
    assert plan.stops_served >= 45


def test_or_tools_is_not_worse_than_greedy_on_distance() -> None:
    problem = city(40, seed=5)
    greedy = GreedyRoutePlanner().plan(problem, time_limit=1)
    best = PLANNER.plan(problem, time_limit=2)
    assert check_plan(problem, best) == []
    assert best.stops_served >= greedy.stops_served
    if best.stops_served == greedy.stops_served:
        assert best.distance_m <= greedy.distance_m


def test_the_default_planner_is_or_tools_when_installed() -> None:
    assert isinstance(default_route_planner(), OrToolsRoutePlanner)


def test_nothing_to_plan_is_a_plan() -> None:
    problem = RoutingProblem(small_day().depot, (), small_day().vehicles)
    plan = PLANNER.plan(problem, time_limit=1)
    assert (plan.routes, plan.unplaced) == ((), ())
