"""``shequ community announce|notices|withdraw`` and ``shequ community activities …``: a
community's notice board and its activities, for its operators."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from shequ.application.community.life import (
    CancelActivity,
    CancelActivityHandler,
    CreateActivity,
    CreateActivityHandler,
    GetActivity,
    GetActivityHandler,
    ListActivities,
    ListActivitiesHandler,
    ListAnnouncements,
    ListAnnouncementsHandler,
    PublishAnnouncement,
    PublishAnnouncementHandler,
    WithdrawAnnouncement,
    WithdrawAnnouncementHandler,
)
from shequ.application.policy import CONSOLE
from shequ.domain.community import Activity, ActivitySignUp, Announcement
from shequ.domain.ids import ActivityId, AnnouncementId, CommunityId
from shequ.domain.values import CHINA_STANDARD_TIME
from shequ.entrypoints.cli.community import community
from shequ.entrypoints.cli.main import emit_data, get, json_option, printable, table

__all__ = ["activities", "activity_data", "announcement_data"]

WHEN = click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])


def _when(value: dt.datetime | None) -> dt.datetime | None:
    """A time typed without an offset is China time."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=CHINA_STANDARD_TIME)


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


def announcement_data(a: Announcement) -> dict[str, Any]:
    return {
        "id": a.id,
        "community_ids": list(a.community_ids),
        "title": a.title,
        "body": a.body,
        "pinned": a.pinned,
        "publish_at": a.publish_at.isoformat(),
        "expires_at": None if a.expires_at is None else a.expires_at.isoformat(),
        "withdrawn": a.withdrawn,
    }


def activity_data(a: Activity) -> dict[str, Any]:
    return {
        "id": a.id,
        "community_id": a.community_id,
        "title": a.title,
        "place": a.place,
        "starts_at": a.starts_at.isoformat(),
        "ends_at": a.ends_at.isoformat(),
        "capacity": a.capacity,
        "confirmed": a.confirmed,
        "signups_close_at": a.signups_close_at.isoformat(),
        "cancelled": a.cancelled,
    }


def _sign_up_data(s: ActivitySignUp) -> dict[str, Any]:
    return {
        "resident_id": s.resident_id,
        "seq": s.seq,
        "people": s.people,
        "status": s.status.value,
        "signed_up_at": s.signed_up_at.isoformat(),
    }


@community.command("announce")
@click.option("--community", "communities", multiple=True, required=True, help="Repeatable.")
@click.option("--title", required=True, help="Up to 100 characters.")
@click.option("--body", required=True, help="Up to 5,000 characters.")
@click.option("--pinned", is_flag=True, help="Shown first.")
@click.option("--at", "publish_at", type=WHEN, help="Published from (China time). Default: now.")
@click.option("--until", "expires_at", type=WHEN, help="Shown until (China time).")
@json_option
@click.pass_context
def announce(
    ctx: click.Context,
    communities: tuple[str, ...],
    title: str,
    body: str,
    pinned: bool,
    publish_at: dt.datetime | None,
    expires_at: dt.datetime | None,
    as_json: bool,
) -> None:
    """Publish an announcement (公告) to communities' notice boards."""
    made = get(ctx, PublishAnnouncementHandler)(
        PublishAnnouncement(
            tuple(CommunityId(c) for c in communities),
            title,
            body,
            pinned,
            _when(publish_at),
            _when(expires_at),
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(announcement_data(made))
    else:
        click.echo(f"published {made.title!r} from {_local(made.publish_at)}: {made.id}")


@community.command("notices")
@click.argument("community_id")
@json_option
@click.pass_context
def notices(ctx: click.Context, community_id: str, as_json: bool) -> None:
    """A community's notice board now: pinned first, then the newest."""
    shown = get(ctx, ListAnnouncementsHandler)(
        ListAnnouncements(CommunityId(community_id)), actor=CONSOLE
    )
    if as_json:
        emit_data([announcement_data(a) for a in shown])
        return
    table(
        ["NOTICE", "PUBLISHED (UTC+8)", "PINNED", "TITLE"],
        [[a.id, _local(a.publish_at), "yes" if a.pinned else "", a.title] for a in shown],
    )


@community.command("withdraw")
@click.argument("announcement_id")
@click.pass_context
def withdraw(ctx: click.Context, announcement_id: str) -> None:
    """Take an announcement off the notice boards."""
    done = get(ctx, WithdrawAnnouncementHandler)(
        WithdrawAnnouncement(AnnouncementId(announcement_id)), actor=CONSOLE
    )
    click.echo(f"withdrawn {done.title!r}")


@community.group("activities")
def activities() -> None:
    """A community's activities (活动) and their sign-ups."""


@activities.command("add")
@click.option("--community", required=True)
@click.option("--title", required=True)
@click.option("--place", required=True)
@click.option("--from", "starts_at", type=WHEN, required=True, help="China time.")
@click.option("--to", "ends_at", type=WHEN, required=True, help="China time.")
@click.option("--capacity", type=int, required=True, help="People it takes.")
@click.option("--description", default="")
@click.option("--close", "closes_at", type=WHEN, help="Sign-ups close (default: at the start).")
@json_option
@click.pass_context
def add_activity(
    ctx: click.Context,
    community: str,
    title: str,
    place: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    capacity: int,
    description: str,
    closes_at: dt.datetime | None,
    as_json: bool,
) -> None:
    """Organise an activity."""
    made = get(ctx, CreateActivityHandler)(
        CreateActivity(
            CommunityId(community),
            title,
            place,
            _when(starts_at),  # type: ignore[arg-type]
            _when(ends_at),  # type: ignore[arg-type]
            capacity,
            description,
            _when(closes_at),
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(activity_data(made))
    else:
        click.echo(
            f"activity {made.title} {_local(made.starts_at)}, {made.capacity} places: {made.id}"
        )


@activities.command("list")
@click.option("--community", required=True)
@json_option
@click.pass_context
def list_activities(ctx: click.Context, community: str, as_json: bool) -> None:
    """The community's activities of the coming 30 days."""
    found = get(ctx, ListActivitiesHandler)(ListActivities(CommunityId(community)), actor=CONSOLE)
    if as_json:
        emit_data([activity_data(a) for a in found])
        return
    table(
        ["ACTIVITY", "FROM (UTC+8)", "PLACES", "TAKEN", "TITLE"],
        [
            [
                a.id,
                _local(a.starts_at),
                str(a.capacity),
                str(a.confirmed),
                a.title + (" (cancelled)" if a.cancelled else ""),
            ]
            for a in found
        ],
    )


@activities.command("show")
@click.argument("activity_id")
@json_option
@click.pass_context
def show_activity(ctx: click.Context, activity_id: str, as_json: bool) -> None:
    """An activity and its sign-ups in the order they came: its roster and waitlist."""
    view = get(ctx, GetActivityHandler)(GetActivity(ActivityId(activity_id)), actor=CONSOLE)
    if as_json:
        emit_data(
            {
                "activity": activity_data(view.activity),
                "sign_ups": [_sign_up_data(s) for s in view.sign_ups],
            }
        )
        return
    a = view.activity
    click.echo(
        printable(f"{a.title} at {a.place}")
        + f", {_local(a.starts_at)}: {a.confirmed} of {a.capacity} taken"
    )
    table(
        ["#", "RESIDENT", "PEOPLE", "STATUS"],
        [[str(s.seq), s.resident_id, str(s.people), s.status.value] for s in view.sign_ups],
    )


@activities.command("cancel")
@click.argument("activity_id")
@click.option("--reason", required=True)
@click.pass_context
def cancel_activity(ctx: click.Context, activity_id: str, reason: str) -> None:
    """Call an activity off; whoever signed up is told (an event)."""
    done = get(ctx, CancelActivityHandler)(
        CancelActivity(ActivityId(activity_id), reason), actor=CONSOLE
    )
    click.echo(f"cancelled {done.title}")
