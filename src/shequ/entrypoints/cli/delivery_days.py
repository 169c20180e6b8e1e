"""``shequ delivery slots …`` and ``shequ delivery plan``: a community's delivery slots,
and the route plan of a delivery day with its CSV and GeoJSON."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from shequ.application.fulfilment.routes import (
    DeliveryDayPlan,
    PlanDeliveryRoutes,
    PlanDeliveryRoutesHandler,
)
from shequ.application.fulfilment.slots import (
    DeliverySlotView,
    EditDeliverySlot,
    EditDeliverySlotHandler,
    ListDeliverySlots,
    ListDeliverySlotsHandler,
    OpenDeliverySlots,
    OpenDeliverySlotsHandler,
)
from shequ.application.policy import CONSOLE
from shequ.domain.ids import CommunityId, DeliverySlotId
from shequ.domain.routing import GeoPoint, Vehicle, clock
from shequ.domain.values import CHINA_STANDARD_TIME
from shequ.entrypoints.cli.delivery import delivery
from shequ.entrypoints.cli.main import GEO_POINT, emit_data, get, json_option, table

__all__ = ["geojson", "plan", "plan_data", "plan_rows", "slots"]

PLAN_COLUMNS = [
    "vehicle",
    "seq",
    "stop_id",
    "kind",
    "place_id",
    "name",
    "arrival",
    "departure",
    "parcels",
    "load_after",
    "cold",
    "order_ids",
    "unplaced_reason",
]


@delivery.group("slots")
def slots() -> None:
    """A community's delivery slots (配送时段), chosen at checkout."""


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


def _slot_data(view: DeliverySlotView) -> dict[str, Any]:
    s = view.slot
    return {
        "id": s.id,
        "community_id": s.community_id,
        "starts_at": s.starts_at.isoformat(),
        "ends_at": s.ends_at.isoformat(),
        "capacity": s.capacity,
        "booked": view.booked,
        "remaining": view.remaining,
        "status": s.status.value,
        "bookable": view.bookable,
    }


def _slots_table(views: list[DeliverySlotView]) -> None:
    table(
        ["SLOT", "FROM (UTC+8)", "TO", "CAPACITY", "BOOKED", "STATUS", "BOOKABLE"],
        [
            [
                v.slot.id,
                _local(v.slot.starts_at),
                f"{v.slot.ends_at.astimezone(CHINA_STANDARD_TIME):%H:%M}",
                str(v.slot.capacity),
                str(v.booked),
                v.slot.status.value,
                "yes" if v.bookable else "no",
            ]
            for v in views
        ],
    )


@slots.command("list")
@click.option("--community", required=True, help="The community id.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Default: today (UTC+8).")
@click.option("--days", type=click.IntRange(1, 31), default=1, show_default=True)
@json_option
@click.pass_context
def list_slots(
    ctx: click.Context, community: str, day: dt.datetime | None, days: int, as_json: bool
) -> None:
    """A community's slots, how full each is and whether it can still be chosen."""
    views = get(ctx, ListDeliverySlotsHandler)(
        ListDeliverySlots(CommunityId(community), day.date() if day else None, days),
        actor=CONSOLE,
    )
    if as_json:
        emit_data([_slot_data(v) for v in views])
        return
    _slots_table(views)
    click.echo(f"{len(views)} slot(s)", err=True)


@slots.command("open")
@click.option("--community", required=True, help="The community id.")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--from", "first", required=True, type=click.DateTime(["%H:%M"]), help="HH:MM")
@click.option("--to", "last", required=True, type=click.DateTime(["%H:%M"]), help="HH:MM")
@click.option("--minutes", type=int, default=120, show_default=True, help="Each slot's length.")
@click.option("--capacity", type=int, required=True, help="Orders each slot holds.")
@click.option("--days", type=int, default=1, show_default=True, help="Days from --date.")
@json_option
@click.pass_context
def open_slots(
    ctx: click.Context,
    community: str,
    day: dt.datetime,
    first: dt.datetime,
    last: dt.datetime,
    minutes: int,
    capacity: int,
    days: int,
    as_json: bool,
) -> None:
    """Open slots of --minutes from --from to --to (China time) on --days days. A window
    the community has already is left as it is: running it again opens nothing twice."""
    opened = get(ctx, OpenDeliverySlotsHandler)(
        OpenDeliverySlots(
            CommunityId(community),
            day=day.date(),
            first=first.time(),
            last=last.time(),
            minutes=minutes,
            capacity=capacity,
            days=days,
        ),
        actor=CONSOLE,
    )
    views = [DeliverySlotView(s, 0, True) for s in opened]
    if as_json:
        emit_data([_slot_data(v) for v in views])
        return
    _slots_table(views)
    click.echo(f"opened {len(views)} slot(s)", err=True)


@slots.command("edit")
@click.argument("slot_id")
@click.option("--capacity", type=int, help="Orders it holds; never below what it holds now.")
@click.option("--close", "open_", flag_value=False, default=None, help="Take no more orders.")
@click.option("--open", "open_", flag_value=True, help="Take orders again.")
@json_option
@click.pass_context
def edit_slot(
    ctx: click.Context, slot_id: str, capacity: int | None, open_: bool | None, as_json: bool
) -> None:
    """Change a slot's capacity, or close or open it."""
    view = get(ctx, EditDeliverySlotHandler)(
        EditDeliverySlot(DeliverySlotId(slot_id), capacity=capacity, open=open_), actor=CONSOLE
    )
    if as_json:
        emit_data(_slot_data(view))
    else:
        _slots_table([view])


# ---------------------------------------------------------------- the day's plan


class VehicleType(click.ParamType[Vehicle]):
    """``ID:CAPACITY`` or ``ID:CAPACITY:cold``."""

    name = "ID:CAPACITY[:cold]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Vehicle):
            return value
        vehicle_id, _, rest = str(value).partition(":")
        capacity, _, cold = rest.partition(":")
        if not capacity.isdigit() or cold not in ("", "cold"):
            self.fail(f"ID:CAPACITY or ID:CAPACITY:cold, such as van-1:120; not {value!r}")
        return Vehicle(vehicle_id, int(capacity), cold == "cold")


def plan_rows(plan: DeliveryDayPlan) -> list[dict[str, Any]]:
    """One row per visit, route by route, then one per stop left out."""
    rows: list[dict[str, Any]] = []
    for route in plan.plan.routes:
        for seq, visit in enumerate(route.visits, start=1):
            stop = plan.stop(visit.stop_id)
            rows.append(
                _row(stop, route.vehicle_id, seq, clock(visit.arrival), clock(visit.departure))
                | {"load_after": visit.load_after}
            )
    for left in plan.plan.unplaced:
        rows.append(
            _row(plan.stop(left.stop_id), "", None, "", "") | {"unplaced_reason": left.reason}
        )
    return rows


def _row(stop: Any, vehicle: str, seq: int | None, arrival: str, departure: str) -> dict[str, Any]:
    return {
        "vehicle": vehicle,
        "seq": seq,
        "stop_id": stop.stop.id,
        "kind": stop.kind,
        "place_id": stop.place_id,
        "name": stop.name,
        "arrival": arrival,
        "departure": departure,
        "parcels": stop.stop.parcels,
        "load_after": None,
        "cold": stop.stop.cold,
        "order_ids": " ".join(stop.order_ids),
        "unplaced_reason": "",
    }


def _point(where: GeoPoint) -> list[float]:
    return [where.longitude, where.latitude]  # GeoJSON: longitude first


def geojson(plan: DeliveryDayPlan) -> dict[str, Any]:
    """The plan as a GeoJSON FeatureCollection: the depot, every stop (with its vehicle
    and arrival, or why it was left out) and every route as a line, depot to depot."""
    problem = plan.problem
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": _point(problem.depot)},
            "properties": {"kind": "depot"},
        }
    ]
    served: dict[str, tuple[str | None, int | None, int | None]] = {}
    for route in plan.plan.routes:
        for seq, visit in enumerate(route.visits, start=1):
            served[visit.stop_id] = (route.vehicle_id, seq, visit.arrival)
        places = [problem.depot, *(problem.stop(v.stop_id).location for v in route.visits)]
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [_point(p) for p in [*places, problem.depot]],
                },
                "properties": {
                    "kind": "route",
                    "vehicle": route.vehicle_id,
                    "distance_m": route.distance_m,
                    "duration_minutes": route.duration_minutes,
                    "stops": [v.stop_id for v in route.visits],
                },
            }
        )
    unplaced = {u.stop_id: u.reason for u in plan.plan.unplaced}
    for planned in plan.stops:
        vehicle, position, arrival = served.get(planned.stop.id, (None, None, None))
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": _point(planned.stop.location)},
                "properties": {
                    "kind": planned.kind,
                    "stop_id": planned.stop.id,
                    "name": planned.name,
                    "parcels": planned.stop.parcels,
                    "cold": planned.stop.cold,
                    "window": [clock(planned.stop.window_start), clock(planned.stop.window_end)],
                    "vehicle": vehicle,
                    "seq": position,
                    "arrival": None if arrival is None else clock(arrival),
                    "unplaced_reason": unplaced.get(planned.stop.id),
                    "order_ids": list(planned.order_ids),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def plan_data(plan: DeliveryDayPlan) -> dict[str, Any]:
    p = plan.plan
    return {
        "date": plan.day.isoformat(),
        "solver": p.solver,
        "seconds": round(p.seconds, 3),
        "distance_m": p.distance_m,
        "stops": len(plan.stops),
        "stops_served": p.stops_served,
        "orders": sum(len(s.order_ids) for s in plan.stops) + len(plan.skipped),
        "routes": [
            {
                "vehicle": r.vehicle_id,
                "distance_m": r.distance_m,
                "duration_minutes": r.duration_minutes,
                "visits": [
                    {
                        "stop_id": v.stop_id,
                        "arrival": clock(v.arrival),
                        "departure": clock(v.departure),
                        "load_after": v.load_after,
                    }
                    for v in r.visits
                ],
            }
            for r in p.routes
        ],
        "unplaced": [{"stop_id": u.stop_id, "reason": u.reason} for u in p.unplaced],
        "skipped_orders": [{"order_id": s.order_id, "reason": s.reason} for s in plan.skipped],
        "faults": list(plan.faults),
        "rows": plan_rows(plan),
    }


@delivery.command("plan")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--community", help="Only this community's orders. Default: every community.")
@click.option(
    "--vehicle",
    "vehicles",
    multiple=True,
    type=VehicleType(),
    help="A van, ID:CAPACITY[:cold]; repeat for more. Default: SHEQU_DELIVERY_VEHICLES.",
)
@click.option("--depot", type=GEO_POINT, help="The warehouse. Default: SHEQU_DEPOT_LOCATION.")
@click.option(
    "--time-limit", type=click.FloatRange(0.1, 600), help="Seconds to search (default: 5)."
)
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--geojson", "geojson_file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def plan(
    ctx: click.Context,
    day: dt.datetime,
    community: str | None,
    vehicles: tuple[Vehicle, ...],
    depot: GeoPoint | None,
    time_limit: float | None,
    csv_file: Path | None,
    geojson_file: Path | None,
    as_json: bool,
) -> None:
    """Plan a delivery day's runs from the warehouse to the pickup points and the home
    deliveries in slots (OR-Tools with the routing extra, else a greedy planner).

    Prints the routes, writes --csv (a row per visit, then the stops left out) and
    --geojson, and reports anything it could not fit. Exits 1 when an order is left out.
    """
    made = get(ctx, PlanDeliveryRoutesHandler)(
        PlanDeliveryRoutes(
            day.date(),
            CommunityId(community) if community else None,
            vehicles or None,
            depot,
            time_limit,
        ),
        actor=CONSOLE,
    )
    if csv_file is not None:
        with csv_file.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, PLAN_COLUMNS)
            writer.writeheader()
            writer.writerows(plan_rows(made))
    if geojson_file is not None:
        geojson_file.write_text(
            json.dumps(geojson(made), ensure_ascii=False, indent=1), encoding="utf-8"
        )
    if as_json:
        emit_data(plan_data(made))
    else:
        _show(made)
    if made.faults:
        raise click.ClickException("the plan breaks the rules: " + "; ".join(made.faults))
    if not made.complete:
        sys.exit(1)


def _show(made: DeliveryDayPlan) -> None:
    p = made.plan
    orders = sum(len(s.order_ids) for s in made.stops)
    click.echo(
        f"delivery plan for {made.day.isoformat()} ({p.solver}, {p.seconds:.1f} s): "
        f"{len(p.routes)} route(s), {p.stops_served} of {len(made.stops)} stop(s), "
        f"{orders} order(s), {p.distance_m / 1000:.1f} km"
    )
    for route in p.routes:
        click.echo(
            f"{route.vehicle_id}: {len(route.visits)} stop(s), {route.distance_m / 1000:.1f} km, "
            f"{route.duration_minutes} min"
        )
        table(
            ["  #", "ARRIVE", "LEAVE", "STOP", "PARCELS", "WINDOW"],
            [
                [
                    f"  {seq}",
                    clock(v.arrival),
                    clock(v.departure),
                    made.stop(v.stop_id).name
                    + (" (cold)" if made.stop(v.stop_id).stop.cold else ""),
                    str(made.stop(v.stop_id).stop.parcels),
                    f"{clock(made.stop(v.stop_id).stop.window_start)}-"
                    f"{clock(made.stop(v.stop_id).stop.window_end)}",
                ]
                for seq, v in enumerate(route.visits, start=1)
            ],
        )
    for left in p.unplaced:
        stop = made.stop(left.stop_id)
        click.echo(f"not planned: {stop.name} ({stop.stop.parcels} parcel(s)): {left.reason}")
    for skipped in made.skipped:
        click.echo(f"not planned: order {skipped.order_id}: {skipped.reason}")
    if not made.stops and not made.skipped:
        click.echo("nothing to deliver that day")
