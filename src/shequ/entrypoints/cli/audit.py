"""``shequ audit search``: who read or changed personal data and roles."""

from __future__ import annotations

import json

import click

from shequ.application.audit import SearchAuditHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import AuditQuery
from shequ.domain.catalog import read_time
from shequ.domain.ids import AccountId
from shequ.entrypoints.cli.main import get, table

__all__ = ["audit"]


@click.group()
def audit() -> None:
    """The audit log (append-only)."""


@audit.command("search")
@click.option("--account", "account_id", help="Acts by this account id.")
@click.option("--subject", help="What was touched, such as account:<id> or community:<id>.")
@click.option("--since", help="From this time (ISO 8601; UTC+8 if no zone).")
@click.option("--until", help="Before this time.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.pass_context
def search(
    ctx: click.Context,
    account_id: str | None,
    subject: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Search the audit log, newest first."""
    found = get(ctx, SearchAuditHandler)(
        AuditQuery(
            actor_id=AccountId(account_id) if account_id else None,
            subject=subject,
            since=read_time(since, "since") if since else None,
            until=read_time(until, "until") if until else None,
            limit=limit,
        ),
        actor=CONSOLE,
    )
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "at": r.at.isoformat(),
                        "actor_id": r.actor_id,
                        "action": r.action,
                        "subject": r.subject,
                        "client": r.client,
                        "detail": dict(r.detail),
                    }
                    for r in found
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table(
        ["AT", "ACTOR", "ACTION", "SUBJECT", "CLIENT"],
        [
            [
                r.at.isoformat(timespec="seconds"),
                r.actor_id or ("console" if r.client == "console" else "anonymous"),
                r.action,
                r.subject,
                r.client,
            ]
            for r in found
        ],
    )
