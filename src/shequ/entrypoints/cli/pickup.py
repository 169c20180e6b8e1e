"""``shequ pickup …``: pickup points (自提点) at the console, batches arriving at them,
handing orders over with their codes (核销码), and orders nobody collects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import click

from shequ.application.fulfilment.pickup import (
    ArriveAtPickupPoint,
    ArriveAtPickupPointHandler,
    CreatePickupPoint,
    CreatePickupPointHandler,
    EditPickupPoint,
    EditPickupPointHandler,
    ListPickupPoints,
    ListPickupPointsHandler,
    PickupPointView,
    ProcessOverduePickups,
    ProcessOverduePickupsHandler,
    VerifyPickupCode,
    VerifyPickupCodeHandler,
)
from shequ.application.fulfilment.queries import GetPickupCode, GetPickupCodeHandler
from shequ.application.policy import CONSOLE
from shequ.domain.errors import InvalidInput
from shequ.domain.fulfilment.pickup import (
    WEEKDAYS,
    Hours,
    OpeningHours,
    PickupPoint,
    PickupTicket,
    PointKind,
)
from shequ.domain.ids import AccountId, CommunityId, OrderId, PickupPointId
from shequ.domain.routing import GeoPoint
from shequ.entrypoints.cli.main import GEO_POINT, emit_data, get, json_option, table
from shequ.entrypoints.cli.ordering import at, moment, order_data

__all__ = ["closed_option", "hours_option", "hours_text", "parse_hours", "pickup", "point_data"]

DATE = click.DateTime(["%Y-%m-%d"])


@click.group()
def pickup() -> None:
    """Pickup points (自提点), arrivals, pickup codes (核销码) and overdue pickups."""


@pickup.group("points")
def points() -> None:
    """Pickup points: add, list and edit (pause, resume)."""


# ---------------------------------------------------------------- shapes


def _days(text: str) -> list[str]:
    """``mon``, ``mon-fri``, ``sat,sun``, ``daily``."""
    if text == "daily":
        return list(WEEKDAYS)
    days: list[str] = []
    for part in text.split(","):
        first, dash, last = part.partition("-")
        if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
            raise InvalidInput(
                f"--hours days are mon … sun, a range such as mon-fri, or daily; not {text!r}",
                field="hours",
            )
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last if dash else first)
        if end < start:
            raise InvalidInput(f"--hours {part!r}: a range runs from mon to sun", field="hours")
        days.extend(WEEKDAYS[start : end + 1])
    return days


def parse_hours(specs: Iterable[str], closed_on: Iterable[dt.date] = ()) -> OpeningHours:
    """``--hours "mon-fri 08:00-20:00"`` values (several ranges: ``"sat 09:00-12:00,
    14:00-18:00"``), and dates closed. A day named twice gets both ranges."""
    weekly: dict[str, list[Hours]] = {}
    for spec in specs:
        days, _, ranges = spec.strip().lower().partition(" ")
        if not ranges.strip():
            raise InvalidInput(
                f'--hours takes DAYS HH:MM-HH:MM, such as "mon-fri 08:00-20:00", not {spec!r}',
                field="hours",
            )
        hours = [Hours.parse(r) for r in ranges.replace(" ", "").split(",")]
        for day in _days(days):
            weekly.setdefault(day, []).extend(hours)
    return OpeningHours.build(weekly, {day: [] for day in closed_on})


def _ranges(hours: Sequence[Hours]) -> list[str]:
    return [str(h) for h in hours]


def _hours_data(hours: OpeningHours) -> dict[str, Any]:
    return {
        **{day: _ranges(h) for day, h in zip(WEEKDAYS, hours.weekly, strict=True)},
        "exceptions": {day.isoformat(): _ranges(h) for day, h in hours.exceptions},
    }


def hours_text(hours: OpeningHours) -> str:
    """``mon-fri 08:00-20:00; sat 09:00-18:00; closed 2026-12-01``: runs of days alike."""
    parts: list[str] = []
    i = 0
    while i < 7:
        j = i
        while j + 1 < 7 and hours.weekly[j + 1] == hours.weekly[i]:
            j += 1
        if hours.weekly[i]:
            days = WEEKDAYS[i] if i == j else f"{WEEKDAYS[i]}-{WEEKDAYS[j]}"
            parts.append(f"{days} {','.join(_ranges(hours.weekly[i]))}")
        i = j + 1
    for day, ranges in hours.exceptions:
        parts.append(f"{day} {','.join(_ranges(ranges))}" if ranges else f"closed {day}")
    return "; ".join(parts) or "never open"


def point_data(p: PickupPoint) -> dict[str, Any]:
    return {
        "id": p.id,
        "community_id": p.community_id,
        "name": p.name,
        "kind": p.kind.value,
        "address": p.address,
        "latitude": p.location.latitude,
        "longitude": p.location.longitude,
        "hours": _hours_data(p.hours),
        "daily_capacity": p.daily_capacity,
        "operator_id": p.operator_id,
        "status": p.status.value,
        "created_at": moment(p.created_at),
        "version": p.version,
    }


def _view_data(v: PickupPointView) -> dict[str, Any]:
    return {**point_data(v.point), "distance_m": v.distance_m, "open_on_day": v.open_on_day}


def _ticket_data(t: PickupTicket, *, code: bool) -> dict[str, Any]:
    data = {
        "order_id": t.id,
        "pickup_point_id": t.pickup_point_id,
        "resident_id": t.resident_id,
        "status": t.status.value,
        "arrived_at": moment(t.arrived_at),
        "closed_at": moment(t.closed_at),
    }
    return {**data, "code": t.code} if code else data


def _describe(p: PickupPoint) -> None:
    click.echo(f"  {p.kind.value} in community {p.community_id}, {p.status.value}")
    click.echo(f"  {p.address} ({p.location.latitude}, {p.location.longitude})")
    click.echo(f"  hours: {hours_text(p.hours)}")
    operator = f", run by {p.operator_id}" if p.operator_id else ""
    click.echo(f"  {p.daily_capacity} parcel(s) a day{operator}")


# ---------------------------------------------------------------- points

hours_option = click.option(
    "--hours",
    "hours",
    multiple=True,
    metavar='"DAYS HH:MM-HH:MM[,HH:MM-HH:MM]"',
    help='Opening hours (UTC+8), such as "mon-fri 08:00-20:00" or "sat,sun 09:00-12:00,'
    '14:00-18:00"; DAYS is mon … sun, a range, a list or daily. Repeat; days never named '
    "are closed.",
)
closed_option = click.option(
    "--closed-on",
    "closed_on",
    multiple=True,
    type=DATE,
    help="A date it is closed (a holiday), YYYY-MM-DD. Repeatable.",
)


@points.command("add")
@click.option("--community", required=True, help="The community id.")
@click.option("--name", required=True, help="Up to 60 characters.")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in PointKind]),
    default=PointKind.CONVENIENCE_STORE.value,
    show_default=True,
    help="便利店, 物业, 快递驿站 or 团长家.",
)
@click.option("--address", required=True, help="Where it is, up to 200 characters.")
@click.option("--location", type=GEO_POINT, required=True, help="WGS-84 degrees.")
@hours_option
@closed_option
@click.option("--capacity", type=int, required=True, help="Parcels it takes a day.")
@click.option("--operator", help="The account that runs it and hands orders over.")
@click.option("--id", "point_id", help="Its id (1 to 32 letters, digits, _ or -). Default: new.")
@json_option
@click.pass_context
def add_point(
    ctx: click.Context,
    community: str,
    name: str,
    kind: str,
    address: str,
    location: GeoPoint,
    hours: tuple[str, ...],
    closed_on: tuple[dt.datetime, ...],
    capacity: int,
    operator: str | None,
    point_id: str | None,
    as_json: bool,
) -> None:
    """Open a pickup point in a community."""
    if not hours:
        raise click.UsageError('give its opening hours: --hours "mon-sun 08:00-20:00"')
    point = get(ctx, CreatePickupPointHandler)(
        CreatePickupPoint(
            community_id=CommunityId(community),
            name=name,
            kind=PointKind(kind),
            address=address,
            location=location,
            hours=parse_hours(hours, (d.date() for d in closed_on)),
            daily_capacity=capacity,
            operator_id=AccountId(operator) if operator else None,
            point_id=PickupPointId(point_id) if point_id else None,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(point_data(point))
    else:
        click.echo(f"created pickup point {point.id}: {point.name}")
        _describe(point)


@points.command("list")
@click.option("--community", required=True, help="The community id.")
@click.option("--near", type=GEO_POINT, help="Nearest first from here.")
@click.option("--date", "day", type=DATE, help="Say which are open that day. Default: today.")
@click.option("--all", "include_paused", is_flag=True, help="Paused points too.")
@json_option
@click.pass_context
def list_points(
    ctx: click.Context,
    community: str,
    near: GeoPoint | None,
    day: dt.datetime | None,
    include_paused: bool,
    as_json: bool,
) -> None:
    """A community's active pickup points (all with --all), by name or nearest first."""
    views = get(ctx, ListPickupPointsHandler)(
        ListPickupPoints(
            CommunityId(community),
            near=near,
            day=day.date() if day else None,
            include_paused=include_paused,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data([_view_data(v) for v in views])
        return
    table(
        ["POINT", "NAME", "KIND", "STATUS", "OPEN", "DISTANCE", "CAPACITY", "HOURS"],
        [
            [
                v.point.id,
                v.point.name,
                v.point.kind.value,
                v.point.status.value,
                "yes" if v.open_on_day else "no",
                "" if v.distance_m is None else f"{v.distance_m} m",
                str(v.point.daily_capacity),
                hours_text(v.point.hours),
            ]
            for v in views
        ],
    )
    click.echo(f"{len(views)} pickup point(s)", err=True)


@points.command("edit")
@click.argument("point_id")
@click.option("--name", help="Up to 60 characters.")
@click.option("--address", help="Up to 200 characters.")
@click.option("--location", type=GEO_POINT, help="WGS-84 degrees.")
@hours_option
@closed_option
@click.option("--capacity", type=int, help="Parcels it takes a day.")
@click.option("--operator", help="The account that runs it.")
@click.option("--pause", "active", flag_value=False, default=None, help="Checkout refuses it.")
@click.option("--resume", "active", flag_value=True, help="Take orders again.")
@json_option
@click.pass_context
def edit_point(
    ctx: click.Context,
    point_id: str,
    name: str | None,
    address: str | None,
    location: GeoPoint | None,
    hours: tuple[str, ...],
    closed_on: tuple[dt.datetime, ...],
    capacity: int | None,
    operator: str | None,
    active: bool | None,
    as_json: bool,
) -> None:
    """Change a pickup point: what is given changes. --hours (with any --closed-on)
    replaces all its opening hours; --pause and --resume stop and restart its orders."""
    if closed_on and not hours:
        raise click.UsageError("--closed-on replaces the hours too: give them with --hours")
    point = get(ctx, EditPickupPointHandler)(
        EditPickupPoint(
            point_id=PickupPointId(point_id),
            name=name,
            address=address,
            location=location,
            hours=parse_hours(hours, (d.date() for d in closed_on)) if hours else None,
            daily_capacity=capacity,
            operator_id=AccountId(operator) if operator is not None else None,
            active=active,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(point_data(point))
    else:
        click.echo(f"pickup point {point.id}: {point.name}")
        _describe(point)


# ---------------------------------------------------------------- codes


@pickup.command("arrive")
@click.argument("point_id")
@click.argument("order_ids", nargs=-1, required=True)
@click.option(
    "--show-codes",
    is_flag=True,
    help="Print the codes too, for a console that hands them out itself. Otherwise only "
    "the residents get them.",
)
@json_option
@click.pass_context
def arrive(
    ctx: click.Context, point_id: str, order_ids: tuple[str, ...], show_codes: bool, as_json: bool
) -> None:
    """A batch of packed orders reached POINT_ID: each is ready for pickup, all or none,
    and gets a code its resident is sent (SHEQU_NOTIFIER)."""
    tickets = get(ctx, ArriveAtPickupPointHandler)(
        ArriveAtPickupPoint(PickupPointId(point_id), tuple(OrderId(o) for o in order_ids)),
        actor=CONSOLE,
    )
    if as_json:
        emit_data([_ticket_data(t, code=show_codes) for t in tickets])
        return
    headers = ["ORDER", "RESIDENT", "ARRIVED"] + (["CODE"] if show_codes else [])
    table(
        headers,
        [
            [t.id, t.resident_id, at(t.arrived_at)] + ([t.code] if show_codes else [])
            for t in tickets
        ],
    )
    click.echo(
        f"{len(tickets)} order(s) ready for pickup at {point_id}; their codes went to the "
        "notifier (SHEQU_NOTIFIER) for their residents"
    )


@pickup.command("verify")
@click.argument("point_id")
@click.argument("code")
@json_option
@click.pass_context
def verify(ctx: click.Context, point_id: str, code: str, as_json: bool) -> None:
    """Hand over the order whose CODE a resident shows at POINT_ID (核销). Wrong codes
    count against the point: five in 15 minutes lock it for 15 minutes."""
    order = get(ctx, VerifyPickupCodeHandler)(
        VerifyPickupCode(PickupPointId(point_id), code), actor=CONSOLE
    )
    if as_json:
        emit_data(order_data(order))
    else:
        units = sum(line.quantity for line in order.lines)
        click.echo(
            f"order {order.id} is {order.status.value}: hand over {units} unit(s) to "
            f"resident {order.resident_id}"
        )


@pickup.command("code")
@click.argument("order_id")
@json_option
@click.pass_context
def code(ctx: click.Context, order_id: str, as_json: bool) -> None:
    """An order's pickup code, for a resident who lost it."""
    ticket = get(ctx, GetPickupCodeHandler)(GetPickupCode(OrderId(order_id)), actor=CONSOLE)
    if as_json:
        emit_data(_ticket_data(ticket, code=True))
        return
    click.echo(
        f"order {ticket.id}: code {ticket.code} at {ticket.pickup_point_id}, "
        f"{ticket.status.value} (arrived {at(ticket.arrived_at)})"
    )


# ---------------------------------------------------------------- for the scheduler


@pickup.command("overdue")
@click.option(
    "--limit",
    default=500,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Waiting orders looked at in one run.",
)
@json_option
@click.pass_context
def overdue(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Remind residents of orders waiting at their point (SHEQU_PICKUP_REMIND_AFTER_DAYS,
    once a day), and return and refund those waiting SHEQU_PICKUP_RETURN_AFTER_DAYS.

    For a scheduler, daily: safe to run again.
    """
    done = get(ctx, ProcessOverduePickupsHandler)(ProcessOverduePickups(limit=limit), actor=CONSOLE)
    if as_json:
        emit_data({"reminded": done.reminded, "returned": done.returned})
    else:
        click.echo(
            f"{done.reminded} resident(s) reminded, {done.returned} order(s) returned and refunded"
        )
