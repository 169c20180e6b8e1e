"""Delivery route planning: OR-Tools and the greedy planner on a synthetic city, every plan
checked.

For each size it builds one day in a synthetic city around a depot (seeded, so every run
plans the same day): stops spread over a disc of --radius km, denser towards the centre;
one in ten is a pickup point (自提点) with 10 to 40 parcels and its opening hours
(07:00–21:00, 08:00–20:00, or a morning-only station 08:00–12:00), 10 minutes to hand
over; the rest are home deliveries of one parcel in a 2-hour slot from 08:00 to 20:00,
3 minutes at the door; 15 % of all stops carry cold goods. The fleet is sized from the
parcels (ordinary vans of 120 parcels, cold-chain vans of 60, a quarter more than the
parcels need), on shift 06:30–21:30, driving at 25 km/h; loading ends at 06:30.

Each size is planned by the greedy planner and by OR-Tools once per first-solution
strategy in --strategies (PATH_CHEAPEST_ARC, the adapter's default, and
PARALLEL_CHEAPEST_INSERTION), each followed by guided local search until the time limit,
timing the whole ``plan`` call; every plan goes through ``check_plan``. The script prints
pass or fail for each and exits 1 if any plan fails.

    python bench/route_plan.py
    python bench/route_plan.py --sizes 50,200 --time-limit 10 --json
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import random
import sys
import time
from typing import Any

from shequ.adapters.routing import GreedyRoutePlanner, OrToolsRoutePlanner
from shequ.application.routing import RoutePlanner
from shequ.domain.routing import GeoPoint, RoutingProblem, Stop, Vehicle, check_plan

DEPOT = GeoPoint(30.2741, 120.1551)  # a warehouse in Hangzhou
DEFAULT_LIMITS = {50: 5.0, 200: 15.0, 500: 60.0}  # seconds of OR-Tools search per size
SHIFT = (6 * 60 + 30, 21 * 60 + 30)
OPENING_HOURS = [(7 * 60, 21 * 60), (8 * 60, 20 * 60), (8 * 60, 12 * 60)]
SLOTS = range(8 * 60, 20 * 60, 120)  # 08:00-10:00 … 18:00-20:00


def synthetic_city(stop_count: int, *, radius_km: float, seed: int) -> RoutingProblem:
    rng = random.Random(seed)
    stops: list[Stop] = []
    for i in range(stop_count):
        distance = radius_km * math.sqrt(rng.random()) * rng.uniform(0.4, 1.0)
        bearing = rng.uniform(0, 2 * math.pi)
        location = GeoPoint(
            DEPOT.latitude + distance * math.cos(bearing) / 111.2,
            DEPOT.longitude
            + distance * math.sin(bearing) / (111.2 * math.cos(math.radians(DEPOT.latitude))),
        )
        cold = rng.random() < 0.15
        if i % 10 == 0:
            opens, closes = rng.choice(OPENING_HOURS)
            parcels = rng.randint(10, 40)
            stops.append(Stop(f"pickup-{i}", location, parcels, opens, closes, 10, cold))
        else:
            slot = rng.choice(SLOTS)
            stops.append(Stop(f"home-{i}", location, 1, slot, slot + 120, 3, cold))
    cold_parcels = sum(s.parcels for s in stops if s.cold)
    warm_parcels = sum(s.parcels for s in stops) - cold_parcels
    vehicles = [
        Vehicle(f"cold-{i}", 60, True, *SHIFT)
        for i in range(max(1, math.ceil(cold_parcels * 1.25 / 60)))
    ] + [
        Vehicle(f"van-{i}", 120, False, *SHIFT)
        for i in range(max(1, math.ceil(warm_parcels * 1.25 / 120)))
    ]
    return RoutingProblem(DEPOT, tuple(stops), tuple(vehicles), speed_kmh=25, day_start=SHIFT[0])


def run(planner: RoutePlanner, problem: RoutingProblem, limit: float) -> dict[str, Any]:
    started = time.perf_counter()
    plan = planner.plan(problem, time_limit=limit)
    wall = time.perf_counter() - started
    violations = check_plan(problem, plan)
    return {
        "solver": plan.solver,
        "time_limit_s": limit,
        "seconds": round(wall, 3),
        "stops": len(problem.stops),
        "vehicles": len(problem.vehicles),
        "served": plan.stops_served,
        "unplaced": len(plan.unplaced),
        "routes": len(plan.routes),
        "distance_km": round(plan.distance_m / 1000, 1),
        "route_hours": round(sum(r.duration_minutes for r in plan.routes) / 60, 1),
        "check": "pass" if not violations else "fail",
        "violations": violations[:5],
    }


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,500", help="stop counts, comma-separated")
    parser.add_argument(
        "--time-limit",
        type=float,
        help="OR-Tools search seconds for every size (default: 5, 15 and 60 s for 50, 200 "
        "and 500 stops, 1 s per 10 stops otherwise)",
    )
    parser.add_argument(
        "--strategies",
        default="PATH_CHEAPEST_ARC,PARALLEL_CHEAPEST_INSERTION",
        help="OR-Tools first-solution strategies to run, comma-separated",
    )
    parser.add_argument("--radius", type=float, default=12.0, help="city radius in km")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--skip-ortools", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    machine = {
        "python": platform.python_version(),
        "ortools": version("ortools"),
        "cpus": os.cpu_count(),
    }
    if not args.json:
        print(f"Python {machine['python']}, OR-Tools {machine['ortools']}, {machine['cpus']} CPUs")
    results: list[dict[str, Any]] = []
    for size in sizes:
        problem = synthetic_city(size, radius_km=args.radius, seed=args.seed + size)
        limit = args.time_limit or DEFAULT_LIMITS.get(size, max(1.0, size / 10))
        planners: list[tuple[str, RoutePlanner]] = [("greedy", GreedyRoutePlanner())]
        if not args.skip_ortools:
            planners.extend(
                (f"ortools {name}", OrToolsRoutePlanner(first_solution=name))
                for name in args.strategies.split(",")
            )
        for label, planner in planners:
            row = {"planner": label, **run(planner, problem, limit)}
            if label == "greedy":
                row["time_limit_s"] = None  # it does not search: no limit applies
            results.append(row)
            if not args.json:
                shown = "-" if label == "greedy" else f"{limit:.1f}"
                print(
                    f"{size:>4} stops {row['vehicles']:>3} vehicles  {label:<35} "
                    f"limit {shown:>5} s  took {row['seconds']:>7.3f} s  "
                    f"served {row['served']:>4}  unplaced {row['unplaced']:>3}  "
                    f"routes {row['routes']:>3}  {row['distance_km']:>7.1f} km  "
                    f"{row['route_hours']:>6.1f} h  check {row['check']}"
                )
                for violation in row["violations"]:
                    print(f"      {violation}")
    if args.json:
        print(json.dumps({"machine": machine, "results": results}, indent=2))
    if any(r["check"] != "pass" for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
