"""``shequ services …``: local merchants (本地商户), their staff and offerings, free time, and
bookings (服务预约), for the operations console."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from shequ.application.policy import CONSOLE
from shequ.application.services.bookings import (
    BookService,
    BookServiceHandler,
    CancelBooking,
    CancelBookingHandler,
    FindFreeTime,
    FindFreeTimeHandler,
    ListBookings,
    ListBookingsHandler,
    MoveBooking,
    MoveBookingHandler,
    RemindBookings,
    RemindBookingsHandler,
    RescheduleBooking,
    RescheduleBookingHandler,
)
from shequ.application.services.directory import (
    AddOffering,
    AddOfferingHandler,
    AddStaff,
    AddStaffHandler,
    EditProvider,
    EditProviderHandler,
    EditStaff,
    EditStaffHandler,
    GetProvider,
    GetProviderHandler,
    RegisterProvider,
    RegisterProviderHandler,
    SearchProviders,
    SearchProvidersHandler,
)
from shequ.domain.ids import AccountId, BookingId, CommunityId, OfferingId, ProviderId, StaffId
from shequ.domain.money import Money
from shequ.domain.services import (
    BookingStatus,
    PriceKind,
    ProviderKind,
    ServiceBooking,
    ServiceOffering,
    ServiceProvider,
    StaffMember,
    Venue,
)
from shequ.domain.values import CHINA_STANDARD_TIME
from shequ.entrypoints.cli.main import emit_data, get, json_option, table
from shequ.entrypoints.cli.pickup import closed_option, hours_option, hours_text, parse_hours

__all__ = ["booking_data", "services"]

DATE = click.DateTime(["%Y-%m-%d"])
STEPS = ("confirmed", "in_progress", "completed", "no_show")


@click.group()
def services() -> None:
    """Local services (本地服务): merchants, staff, offerings, free time and bookings."""


@services.group("merchants")
def merchants() -> None:
    """The directory of local merchants."""


@services.group("staff")
def staff() -> None:
    """A merchant's staff and their schedules."""


@services.group("offerings")
def offerings() -> None:
    """What a merchant offers."""


@services.group("bookings")
def bookings() -> None:
    """Bookings (服务预约)."""


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


def _when(value: dt.datetime) -> dt.datetime:
    """A time typed without an offset is China time."""
    return value if value.tzinfo else value.replace(tzinfo=CHINA_STANDARD_TIME)


def merchant_data(p: ServiceProvider) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "kind": p.kind.value,
        "community_ids": list(p.community_ids),
        "contact_phone": p.contact_phone,
        "address": p.address,
        "hours": hours_text(p.hours),
        "description": p.description,
        "photos": list(p.photos),
        "verified": p.verified,
        "rating_tenths": p.rating_tenths,
        "rating_count": p.rating_count,
    }


def _rating(p: ServiceProvider) -> str:
    tenths = p.rating_tenths
    return "-" if tenths is None else f"{tenths // 10}.{tenths % 10} ({p.rating_count})"


def _staff_data(s: StaffMember) -> dict[str, Any]:
    return {
        "id": s.id,
        "merchant_id": s.provider_id,
        "name": s.name,
        "schedule": hours_text(s.schedule),
        "active": s.active,
    }


def _offering_data(o: ServiceOffering) -> dict[str, Any]:
    return {
        "id": o.id,
        "merchant_id": o.provider_id,
        "name": o.name,
        "duration_minutes": o.duration_minutes,
        "buffer_minutes": o.buffer_minutes,
        "price_kind": o.price_kind.value,
        "price_fen": o.price.fen,
        "venue": o.venue.value,
        "staff_ids": list(o.staff_ids),
        "late_cancel_fee_fen": o.late_cancel_fee.fen,
        "auto_confirm": o.auto_confirm,
        "active": o.active,
    }


def booking_data(b: ServiceBooking) -> dict[str, Any]:
    return {
        "id": b.id,
        "resident_id": b.resident_id,
        "community_id": b.community_id,
        "merchant_id": b.provider_id,
        "offering_id": b.offering_id,
        "staff_id": b.staff_id,
        "starts_at": b.starts_at.isoformat(),
        "ends_at": b.ends_at.isoformat(),
        "status": b.status.value,
        "price_fen": b.price.fen,
        "fee_fen": b.fee.fen,
        "address_id": b.address_id,
        "cancelled_by": b.cancelled_by,
        "rating": b.rating,
        "review": b.review_text,
        "history": [
            {"at": c.at.isoformat(), "status": c.status.value, "note": c.note} for c in b.history
        ],
    }


def _booking_line(b: ServiceBooking) -> str:
    fee = f", fee {b.fee.format()}" if b.fee else ""
    return (
        f"booking {b.id}: {b.status.value} {_local(b.starts_at)}–"
        f"{b.ends_at.astimezone(CHINA_STANDARD_TIME):%H:%M} with {b.staff_id}, "
        f"{b.price.format()}{fee}"
    )


# ---------------------------------------------------------------- merchants


@merchants.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice([k.value for k in ProviderKind]), required=True)
@click.option("--community", "communities", multiple=True, required=True, help="Repeatable.")
@click.option("--phone", required=True, help="The business's line, shown to residents.")
@click.option("--address", required=True)
@hours_option
@closed_option
@click.option("--description", default="")
@click.option("--id", "provider_id", help="Its id. Default: new.")
@json_option
@click.pass_context
def add_merchant(
    ctx: click.Context,
    name: str,
    kind: str,
    communities: tuple[str, ...],
    phone: str,
    address: str,
    hours: tuple[str, ...],
    closed_on: tuple[dt.datetime, ...],
    description: str,
    provider_id: str | None,
    as_json: bool,
) -> None:
    """Register a local merchant in the directory of its communities."""
    made = get(ctx, RegisterProviderHandler)(
        RegisterProvider(
            name=name,
            kind=ProviderKind(kind),
            community_ids=tuple(CommunityId(c) for c in communities),
            contact_phone=phone,
            address=address,
            hours=parse_hours(hours, (d.date() for d in closed_on)),
            description=description,
            provider_id=ProviderId(provider_id) if provider_id else None,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(merchant_data(made))
    else:
        click.echo(f"registered {made.name} ({made.kind.value}): {made.id}")


@merchants.command("list")
@click.option("--community", required=True)
@click.option("--kind", type=click.Choice([k.value for k in ProviderKind]))
@click.option("--q", "keyword", default="", help="Words its name, description or address hold.")
@click.option("--verified", is_flag=True, help="Verified (认证) merchants only.")
@json_option
@click.pass_context
def list_merchants(
    ctx: click.Context,
    community: str,
    kind: str | None,
    keyword: str,
    verified: bool,
    as_json: bool,
) -> None:
    """The directory of a community, by name."""
    page = get(ctx, SearchProvidersHandler)(
        SearchProviders(
            CommunityId(community), ProviderKind(kind) if kind else None, keyword, verified
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data([merchant_data(p) for p in page.items])
        return
    table(
        ["MERCHANT", "NAME", "KIND", "VERIFIED", "RATING", "PHONE"],
        [
            [p.id, p.name, p.kind.value, "yes" if p.verified else "no", _rating(p), p.contact_phone]
            for p in page.items
        ],
    )
    click.echo(f"{len(page.items)} merchant(s)", err=True)


@merchants.command("show")
@click.argument("merchant_id")
@json_option
@click.pass_context
def show_merchant(ctx: click.Context, merchant_id: str, as_json: bool) -> None:
    """A merchant, its staff and its offerings."""
    view = get(ctx, GetProviderHandler)(GetProvider(ProviderId(merchant_id)), actor=CONSOLE)
    if as_json:
        emit_data(
            {
                "merchant": merchant_data(view.provider),
                "staff": [_staff_data(s) for s in view.staff],
                "offerings": [_offering_data(o) for o in view.offerings],
            }
        )
        return
    p = view.provider
    mark = ", verified" if p.verified else ""
    click.echo(
        f"{p.name} ({p.kind.value}{mark}), rating {_rating(p)}: {p.address}, {p.contact_phone}"
    )
    click.echo(f"  open {hours_text(p.hours)}")
    table(
        ["STAFF", "NAME", "ACTIVE", "SCHEDULE"],
        [[s.id, s.name, "yes" if s.active else "no", hours_text(s.schedule)] for s in view.staff],
    )
    table(
        ["OFFERING", "NAME", "MINUTES", "PRICE", "VENUE", "ACTIVE"],
        [
            [
                o.id,
                o.name,
                str(o.duration_minutes),
                o.price.format() + (" to come" if o.price_kind is PriceKind.QUOTE else ""),
                o.venue.value,
                "yes" if o.active else "no",
            ]
            for o in view.offerings
        ],
    )


@merchants.command("verify")
@click.argument("merchant_id")
@click.option("--undo", is_flag=True, help="Take the verification (认证) back.")
@click.pass_context
def verify_merchant(ctx: click.Context, merchant_id: str, undo: bool) -> None:
    """Mark a merchant verified (认证) after checking its licences."""
    done = get(ctx, EditProviderHandler)(
        EditProvider(ProviderId(merchant_id), verified=not undo), actor=CONSOLE
    )
    click.echo(f"{done.name}: {'verified' if done.verified else 'not verified'}")


# ---------------------------------------------------------------- staff and offerings


@staff.command("add")
@click.argument("merchant_id")
@click.argument("name")
@hours_option
@closed_option
@click.option("--id", "staff_id", help="Its id. Default: new.")
@json_option
@click.pass_context
def add_staff(
    ctx: click.Context,
    merchant_id: str,
    name: str,
    hours: tuple[str, ...],
    closed_on: tuple[dt.datetime, ...],
    staff_id: str | None,
    as_json: bool,
) -> None:
    """Add someone who delivers the merchant's services, with their weekly schedule
    (--hours) and days off (--closed-on)."""
    if not hours:
        raise click.UsageError('give their schedule: --hours "mon-fri 09:00-18:00"')
    made = get(ctx, AddStaffHandler)(
        AddStaff(
            ProviderId(merchant_id),
            name,
            parse_hours(hours, (d.date() for d in closed_on)),
            staff_id=StaffId(staff_id) if staff_id else None,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(_staff_data(made))
    else:
        click.echo(f"added {made.name}: {made.id}")


@staff.command("edit")
@click.argument("staff_id")
@hours_option
@closed_option
@click.option("--off", "active", flag_value=False, default=None, help="Takes no new bookings.")
@click.option("--on", "active", flag_value=True, help="Takes bookings again.")
@json_option
@click.pass_context
def edit_staff(
    ctx: click.Context,
    staff_id: str,
    hours: tuple[str, ...],
    closed_on: tuple[dt.datetime, ...],
    active: bool | None,
    as_json: bool,
) -> None:
    """A new schedule (--hours with its --closed-on days off), or --off / --on. Bookings
    made already stay: move or cancel them."""
    if closed_on and not hours:
        raise click.UsageError("--closed-on replaces the schedule: give it with --hours")
    done = get(ctx, EditStaffHandler)(
        EditStaff(
            StaffId(staff_id),
            schedule=parse_hours(hours, (d.date() for d in closed_on)) if hours else None,
            active=active,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(_staff_data(done))
    else:
        click.echo(f"{done.name}: {hours_text(done.schedule)}{'' if done.active else ' (off)'}")


@offerings.command("add")
@click.argument("merchant_id")
@click.argument("name")
@click.option("--minutes", type=int, required=True, help="How long it takes.")
@click.option("--price", required=True, help="Yuan: the price, or with --quote the call-out fee.")
@click.option("--quote", is_flag=True, help="Priced on site; --price is the call-out fee.")
@click.option("--at-merchant", is_flag=True, help="At the merchant's (default: at home).")
@click.option("--staff", "staff_ids", multiple=True, required=True, help="Who delivers it.")
@click.option("--buffer", type=int, default=0, show_default=True, help="Minutes between.")
@click.option("--late-fee", default="0", show_default=True, help="Yuan, a late cancellation.")
@click.option("--auto-confirm", is_flag=True, help="Bookings are confirmed at once.")
@click.option("--description", default="")
@click.option("--id", "offering_id", help="Its id. Default: new.")
@json_option
@click.pass_context
def add_offering(
    ctx: click.Context,
    merchant_id: str,
    name: str,
    minutes: int,
    price: str,
    quote: bool,
    at_merchant: bool,
    staff_ids: tuple[str, ...],
    buffer: int,
    late_fee: str,
    auto_confirm: bool,
    description: str,
    offering_id: str | None,
    as_json: bool,
) -> None:
    """Offer a service."""
    made = get(ctx, AddOfferingHandler)(
        AddOffering(
            ProviderId(merchant_id),
            name,
            duration_minutes=minutes,
            price_kind=PriceKind.QUOTE if quote else PriceKind.FIXED,
            price=Money.parse(price),
            venue=Venue.AT_MERCHANT if at_merchant else Venue.AT_HOME,
            staff_ids=tuple(StaffId(s) for s in staff_ids),
            description=description,
            buffer_minutes=buffer,
            late_cancel_fee=Money.parse(late_fee),
            auto_confirm=auto_confirm,
            offering_id=OfferingId(offering_id) if offering_id else None,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(_offering_data(made))
    else:
        click.echo(
            f"offering {made.name} ({made.duration_minutes} min, {made.price.format()}): {made.id}"
        )


@services.command("free")
@click.argument("offering_id")
@click.option("--date", "day", type=DATE, help="Default: today (UTC+8).")
@click.option("--days", type=click.IntRange(1, 14), default=1, show_default=True)
@click.option("--staff", "staff_id", help="Only this member of staff.")
@json_option
@click.pass_context
def free(
    ctx: click.Context,
    offering_id: str,
    day: dt.datetime | None,
    days: int,
    staff_id: str | None,
    as_json: bool,
) -> None:
    """When an offering can be booked, and by whom."""
    found = get(ctx, FindFreeTimeHandler)(
        FindFreeTime(
            OfferingId(offering_id),
            day.date() if day else None,
            days,
            StaffId(staff_id) if staff_id else None,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(
            [
                {
                    "staff_id": f.staff_id,
                    "starts_at": f.starts_at.isoformat(),
                    "ends_at": f.ends_at.isoformat(),
                }
                for f in found
            ]
        )
        return
    table(
        ["FROM (UTC+8)", "TO", "STAFF"],
        [
            [_local(f.starts_at), f"{f.ends_at.astimezone(CHINA_STANDARD_TIME):%H:%M}", f.staff_id]
            for f in found
        ],
    )
    click.echo(f"{len(found)} free time(s)", err=True)


# ---------------------------------------------------------------- bookings


@services.command("book")
@click.option("--resident", required=True)
@click.option("--community", required=True)
@click.option("--offering", "offering_id", required=True)
@click.option(
    "--at",
    "starts_at",
    type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    required=True,
    help="YYYY-MM-DDTHH:MM, China time.",
)
@click.option("--staff", "staff_id", help="Default: whoever is free.")
@click.option("--address", "address_id", help="For a service at home: the resident's address.")
@click.option("--note", default="")
@click.option("--key", required=True, help="Idempotency key: the same key books once.")
@json_option
@click.pass_context
def book(
    ctx: click.Context,
    resident: str,
    community: str,
    offering_id: str,
    starts_at: dt.datetime,
    staff_id: str | None,
    address_id: str | None,
    note: str,
    key: str,
    as_json: bool,
) -> None:
    """Book a service for a resident (one who phoned the service desk)."""
    made = get(ctx, BookServiceHandler)(
        BookService(
            resident_id=AccountId(resident),
            community_id=CommunityId(community),
            offering_id=OfferingId(offering_id),
            starts_at=_when(starts_at),
            idempotency_key=key,
            staff_id=StaffId(staff_id) if staff_id else None,
            address_id=address_id,
            note=note,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(booking_data(made))
    else:
        click.echo(_booking_line(made))


@bookings.command("list")
@click.option("--resident", help="A resident's bookings.")
@click.option("--merchant", help="A merchant's bookings, on --days days from --date.")
@click.option("--date", "day", type=DATE)
@click.option("--days", type=click.IntRange(1, 31), default=1, show_default=True)
@json_option
@click.pass_context
def list_bookings(
    ctx: click.Context,
    resident: str | None,
    merchant: str | None,
    day: dt.datetime | None,
    days: int,
    as_json: bool,
) -> None:
    """A resident's bookings, or a merchant's day."""
    if (resident is None) == (merchant is None):
        raise click.UsageError("give --resident ID or --merchant ID")
    found = get(ctx, ListBookingsHandler)(
        ListBookings(
            AccountId(resident) if resident else None,
            ProviderId(merchant) if merchant else None,
            day.date() if day else None,
            days,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data([booking_data(b) for b in found])
        return
    table(
        ["BOOKING", "FROM (UTC+8)", "STATUS", "STAFF", "OFFERING", "PRICE", "FEE"],
        [
            [
                b.id,
                _local(b.starts_at),
                b.status.value,
                b.staff_id,
                b.offering_id,
                b.price.format(),
                b.fee.format(),
            ]
            for b in found
        ],
    )
    click.echo(f"{len(found)} booking(s)", err=True)


@bookings.command("advance")
@click.argument("booking_id")
@click.argument("status", type=click.Choice(STEPS))
@click.option("--note", default="")
@json_option
@click.pass_context
def advance(ctx: click.Context, booking_id: str, status: str, note: str, as_json: bool) -> None:
    """The merchant's steps: confirmed, in_progress, completed, or no_show once it started."""
    done = get(ctx, MoveBookingHandler)(
        MoveBooking(BookingId(booking_id), BookingStatus(status), note), actor=CONSOLE
    )
    if as_json:
        emit_data(booking_data(done))
    else:
        click.echo(_booking_line(done))


@bookings.command("cancel")
@click.argument("booking_id")
@click.option("--reason", default="")
@click.option("--as-merchant", is_flag=True, help="The merchant cancels: free, with a --reason.")
@json_option
@click.pass_context
def cancel(
    ctx: click.Context, booking_id: str, reason: str, as_merchant: bool, as_json: bool
) -> None:
    """Cancel for the resident (free until the cut-off, the late fee after), or
    --as-merchant (free; the resident is told why)."""
    done = get(ctx, CancelBookingHandler)(
        CancelBooking(BookingId(booking_id), reason, as_merchant), actor=CONSOLE
    )
    if as_json:
        emit_data(booking_data(done))
    else:
        click.echo(_booking_line(done))


@bookings.command("reschedule")
@click.argument("booking_id")
@click.option(
    "--at",
    "starts_at",
    type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    required=True,
    help="China time.",
)
@click.option("--staff", "staff_id", help="Default: whoever is free.")
@json_option
@click.pass_context
def reschedule(
    ctx: click.Context, booking_id: str, starts_at: dt.datetime, staff_id: str | None, as_json: bool
) -> None:
    """Move a booking to another free time."""
    done = get(ctx, RescheduleBookingHandler)(
        RescheduleBooking(
            BookingId(booking_id), _when(starts_at), StaffId(staff_id) if staff_id else None
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(booking_data(done))
    else:
        click.echo(_booking_line(done))


@services.command("remind")
@click.pass_context
def remind(ctx: click.Context) -> None:
    """For a scheduler, hourly: remind each booking starting within
    SHEQU_SERVICE_REMIND_BEFORE_HOURS, once (an event for the notifier)."""
    count = get(ctx, RemindBookingsHandler)(RemindBookings(), actor=CONSOLE)
    click.echo(f"{count} booking(s) reminded")
