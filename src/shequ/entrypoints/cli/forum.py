"""``shequ forum …``: a community's forum boards, and its moderation queue for operators."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from shequ.application.community.forum import (
    ArchiveBoard,
    ArchiveBoardHandler,
    GetPost,
    GetPostHandler,
    ListBoards,
    ListBoardsHandler,
    ModerateContent,
    ModerateContentHandler,
    ModerationQueue,
    ModerationQueueHandler,
    OpenBoard,
    OpenBoardHandler,
)
from shequ.application.policy import CONSOLE
from shequ.domain.forum import Board, Comment, ContentKind, ForumReport, Post
from shequ.domain.ids import BoardId, CommunityId, PostId
from shequ.domain.values import CHINA_STANDARD_TIME
from shequ.entrypoints.cli.main import emit_data, get, json_option, printable, table

__all__ = ["content_data", "forum"]


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


def _board_data(b: Board) -> dict[str, Any]:
    return {
        "id": b.id,
        "community_id": b.community_id,
        "name": b.name,
        "description": b.description,
        "archived": b.archived,
    }


def _report_data(r: ForumReport) -> dict[str, Any]:
    return {
        "id": r.id,
        "reporter_id": r.reporter_id,
        "reason": r.reason.value,
        "note": r.note,
        "status": r.status.value,
        "created_at": r.created_at.isoformat(),
    }


def content_data(x: Post | Comment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": x.kind.value,
        "id": x.id,
        "author_id": x.author_id,
        "status": x.status.value,
        "held_for": x.held_for,
        "open_reports": x.open_reports,
        "created_at": x.created_at.isoformat(),
        "history": [
            {
                "at": m.at.isoformat(),
                "status": m.status.value,
                "reason": m.reason,
                "moderator_id": m.moderator_id,
            }
            for m in x.history
        ],
    }
    if isinstance(x, Post):
        data |= {"board_id": x.board_id, "title": x.title, "body": x.body}
        data |= {"comments": x.comments, "likes": x.likes}
    else:
        data |= {"post_id": x.post_id, "body": x.body}
    return data


def _excerpt(x: Post | Comment) -> str:
    text = f"{x.title} · {x.body}" if isinstance(x, Post) else x.body
    flat = " ".join(text.split())
    return flat if len(flat) <= 40 else flat[:39] + "…"


@click.group("forum")
def forum() -> None:
    """A community's forum (论坛): boards, and the moderation queue."""


@forum.group("boards")
def boards() -> None:
    """The forum's boards (版块)."""


@boards.command("add")
@click.option("--community", required=True)
@click.option("--name", required=True, help="Up to 40 characters.")
@click.option("--description", default="", help="Up to 500 characters.")
@json_option
@click.pass_context
def add_board(
    ctx: click.Context, community: str, name: str, description: str, as_json: bool
) -> None:
    """Open a board."""
    made = get(ctx, OpenBoardHandler)(
        OpenBoard(CommunityId(community), name, description), actor=CONSOLE
    )
    if as_json:
        emit_data(_board_data(made))
    else:
        click.echo(f"board {printable(made.name)}: {made.id}")


@boards.command("list")
@click.option("--community", required=True)
@json_option
@click.pass_context
def list_boards(ctx: click.Context, community: str, as_json: bool) -> None:
    found = get(ctx, ListBoardsHandler)(ListBoards(CommunityId(community)), actor=CONSOLE)
    if as_json:
        emit_data([_board_data(b) for b in found])
        return
    table(
        ["BOARD", "NAME", "ARCHIVED"],
        [[b.id, b.name, "yes" if b.archived else ""] for b in found],
    )


@boards.command("archive")
@click.argument("board_id")
@click.pass_context
def archive_board(ctx: click.Context, board_id: str) -> None:
    """No new posts on the board; what is there stays readable."""
    done = get(ctx, ArchiveBoardHandler)(ArchiveBoard(BoardId(board_id)), actor=CONSOLE)
    click.echo(f"archived {printable(done.name)}")


@forum.command("queue")
@click.option("--community", required=True)
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
@json_option
@click.pass_context
def queue(ctx: click.Context, community: str, limit: int, as_json: bool) -> None:
    """What waits for a moderator: posts and comments held by the word filter or by
    reports, and published ones with open reports, oldest first."""
    items = get(ctx, ModerationQueueHandler)(
        ModerationQueue(CommunityId(community), limit), actor=CONSOLE
    )
    if as_json:
        emit_data(
            [
                content_data(i.content) | {"reports": [_report_data(r) for r in i.reports]}
                for i in items
            ]
        )
        return
    if not items:
        click.echo("nothing waits for review")
        return
    table(
        ["KIND", "ID", "POSTED (UTC+8)", "STATUS", "REPORTS", "WHY", "TEXT"],
        [
            [
                i.content.kind.value,
                i.content.id,
                _local(i.content.created_at),
                i.content.status.value,
                str(len(i.reports)),
                i.content.held_for,
                _excerpt(i.content),
            ]
            for i in items
        ],
    )


@forum.command("show")
@click.argument("post_id")
@json_option
@click.pass_context
def show(ctx: click.Context, post_id: str, as_json: bool) -> None:
    """A post and every comment, whatever their status."""
    view = get(ctx, GetPostHandler)(GetPost(PostId(post_id)), actor=CONSOLE)
    if as_json:
        emit_data(
            content_data(view.post) | {"comment_list": [content_data(c) for c in view.comments]}
        )
        return
    p = view.post
    click.echo(f"{p.id} [{p.status.value}] by {p.author_id}, {_local(p.created_at)}")
    click.echo(printable(p.title))
    click.echo(printable(p.body))
    click.echo(f"{p.likes} likes, {p.comments} comments shown")
    for c in view.comments:
        click.echo(f"  {c.id} [{c.status.value}] {c.author_id}: {printable(c.body)}")


def _moderate(ctx: click.Context, kind: str, content_id: str, hide: bool, reason: str) -> None:
    done = get(ctx, ModerateContentHandler)(
        ModerateContent(ContentKind(kind), content_id, hide, reason), actor=CONSOLE
    )
    click.echo(f"{done.kind.value} {done.id}: {done.status.value}")


KIND = click.Choice([k.value for k in ContentKind])


@forum.command("hide")
@click.argument("kind", type=KIND)
@click.argument("content_id")
@click.option("--reason", required=True, help="Recorded, and shown to its author.")
@click.pass_context
def hide(ctx: click.Context, kind: str, content_id: str, reason: str) -> None:
    """Hide a post or comment; its open reports are upheld."""
    _moderate(ctx, kind, content_id, True, reason)


@forum.command("restore")
@click.argument("kind", type=KIND)
@click.argument("content_id")
@click.option("--reason", required=True)
@click.pass_context
def restore(ctx: click.Context, kind: str, content_id: str, reason: str) -> None:
    """Publish a held or hidden post or comment; its open reports are dismissed."""
    _moderate(ctx, kind, content_id, False, reason)
