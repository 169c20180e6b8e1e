"""``shequ complaints …``: residents' complaints and suggestions (投诉建议) for the
community's operators, and the overdue ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from shequ.application.community.complaints import (
    GetComplaint,
    GetComplaintHandler,
    ListComplaints,
    ListComplaintsHandler,
    MoveComplaint,
    MoveComplaintHandler,
    ReplyToComplaint,
    ReplyToComplaintHandler,
)
from shequ.application.policy import CONSOLE
from shequ.domain.complaints import Complaint, ComplaintStatus
from shequ.domain.ids import CommunityId, ComplaintId
from shequ.domain.values import CHINA_STANDARD_TIME
from shequ.entrypoints.cli.main import emit_data, get, json_option, printable, table

__all__ = ["complaint_data", "complaints"]


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


def complaint_data(c: Complaint) -> dict[str, Any]:
    return {
        "id": c.id,
        "resident_id": c.resident_id,
        "community_id": c.community_id,
        "category": c.category.value,
        "title": c.title,
        "body": c.body,
        "order_id": c.order_id,
        "booking_id": c.booking_id,
        "status": c.status.value,
        "created_at": c.created_at.isoformat(),
        "respond_by": c.respond_by.isoformat(),
        "first_response_at": (
            None if c.first_response_at is None else c.first_response_at.isoformat()
        ),
        "resolution": c.resolution,
        "satisfaction": c.satisfaction,
        "replies": [
            {"at": r.at.isoformat(), "author_id": r.author_id, "staff": r.staff, "text": r.text}
            for r in c.replies
        ],
    }


def _rows(found: list[Complaint]) -> None:
    table(
        ["TICKET", "FILED (UTC+8)", "ANSWER BY", "CATEGORY", "STATUS", "TITLE"],
        [
            [
                c.id,
                _local(c.created_at),
                _local(c.respond_by),
                c.category.value,
                c.status.value,
                c.title,
            ]
            for c in found
        ],
    )


@click.group("complaints")
def complaints() -> None:
    """Residents' complaints and suggestions (投诉建议)."""


@complaints.command("list")
@click.option("--community", required=True)
@click.option("--status", type=click.Choice([s.value for s in ComplaintStatus]))
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
@click.pass_context
def list_complaints(
    ctx: click.Context, community: str, status: str | None, limit: int, as_json: bool
) -> None:
    """A community's tickets, oldest first."""
    found = get(ctx, ListComplaintsHandler)(
        ListComplaints(
            community_id=CommunityId(community),
            status=None if status is None else ComplaintStatus(status),
            limit=limit,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data([complaint_data(c) for c in found])
    else:
        _rows(found)


@complaints.command("overdue")
@click.option("--community", help="One community's; default: every community's.")
@json_option
@click.pass_context
def overdue(ctx: click.Context, community: str | None, as_json: bool) -> None:
    """Tickets nobody has answered by their deadline (SHEQU_COMPLAINT_RESPOND_HOURS),
    oldest first. Exits 1 when there are any, for a scheduler to alert on."""
    found = get(ctx, ListComplaintsHandler)(
        ListComplaints(
            community_id=None if community is None else CommunityId(community),
            overdue=True,
            limit=1000,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data([complaint_data(c) for c in found])
    elif found:
        _rows(found)
    else:
        click.echo("no overdue tickets")
    if found:
        ctx.exit(1)


@complaints.command("show")
@click.argument("complaint_id")
@json_option
@click.pass_context
def show(ctx: click.Context, complaint_id: str, as_json: bool) -> None:
    """A ticket with its replies."""
    c = get(ctx, GetComplaintHandler)(GetComplaint(ComplaintId(complaint_id)), actor=CONSOLE)
    if as_json:
        emit_data(complaint_data(c))
        return
    about = f", about order {c.order_id}" if c.order_id else ""
    about += f", about booking {c.booking_id}" if c.booking_id else ""
    click.echo(f"{c.id} [{c.category.value}] {c.status.value}{about}")
    click.echo(f"filed {_local(c.created_at)} by {c.resident_id}, answer by {_local(c.respond_by)}")
    click.echo(printable(c.title))
    click.echo(printable(c.body))
    for r in c.replies:
        who = "staff" if r.staff else "resident"
        click.echo(f"  {_local(r.at)} {who}: {printable(r.text)}")
    if c.resolution:
        click.echo(f"resolved: {printable(c.resolution)}")
    if c.satisfaction is not None:
        click.echo(f"satisfaction: {c.satisfaction}/5")


@complaints.command("reply")
@click.argument("complaint_id")
@click.option("--text", required=True, help="Up to 2,000 characters.")
@click.pass_context
def reply(ctx: click.Context, complaint_id: str, text: str) -> None:
    """Answer a ticket; the first answer takes it on."""
    c = get(ctx, ReplyToComplaintHandler)(
        ReplyToComplaint(ComplaintId(complaint_id), text), actor=CONSOLE
    )
    click.echo(f"replied to {c.id}: {c.status.value}")


def _move(ctx: click.Context, complaint_id: str, status: ComplaintStatus, note: str) -> None:
    c = get(ctx, MoveComplaintHandler)(
        MoveComplaint(ComplaintId(complaint_id), status, note), actor=CONSOLE
    )
    click.echo(f"{c.id}: {c.status.value}")


@complaints.command("take")
@click.argument("complaint_id")
@click.pass_context
def take(ctx: click.Context, complaint_id: str) -> None:
    """Take a ticket on (in progress)."""
    _move(ctx, complaint_id, ComplaintStatus.IN_PROGRESS, "")


@complaints.command("resolve")
@click.argument("complaint_id")
@click.option("--note", required=True, help="How it was resolved; the resident reads it.")
@click.pass_context
def resolve(ctx: click.Context, complaint_id: str, note: str) -> None:
    """Resolve a ticket; its resident may then rate it, close it or reopen it."""
    _move(ctx, complaint_id, ComplaintStatus.RESOLVED, note)


@complaints.command("close")
@click.argument("complaint_id")
@click.pass_context
def close(ctx: click.Context, complaint_id: str) -> None:
    """Close a ticket for good."""
    _move(ctx, complaint_id, ComplaintStatus.CLOSED, "")
