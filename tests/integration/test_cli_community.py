"""Community life through the CLI on every backend: a notice published and withdrawn, an
activity organised and shown with its roster, cancelled, and refusals with their codes."""

from __future__ import annotations

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.community.life import JoinActivity, JoinActivityHandler
from shequ.domain.ids import ActivityId
from tests.integration.test_cli_ordering import data, refused, run
from tests.support import Shop


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def test_a_notice_and_an_activity_from_the_console(app: injector.Injector, shop: Shop) -> None:
    here = shop.community()
    notice = data(
        app, "community", "announce", "--community", here.id, "--title", "停水通知",
        "--body", "周六上午停水", "--pinned",
    )  # fmt: skip
    board = run(app, "community", "notices", here.id)
    assert board.exit_code == 0 and "停水通知" in board.stdout and "yes" in board.stdout
    assert run(app, "community", "withdraw", notice["id"]).exit_code == 0
    assert data(app, "community", "notices", here.id) == []
    made = data(
        app, "community", "activities", "add", "--community", here.id, "--title", "读书会",
        "--place", "会所", "--from", "2026-11-28T09:30", "--to", "2026-11-28T11:30",
        "--capacity", "1",
    )  # fmt: skip
    assert made["starts_at"] == "2026-11-28T01:30:00+00:00"
    for _ in range(2):
        _, resident = shop.resident(here)
        app.get(JoinActivityHandler)(
            JoinActivity(ActivityId(made["id"]), resident.account_id or ""),  # type: ignore[arg-type]
            actor=resident,
        )
    shown = data(app, "community", "activities", "show", made["id"])
    assert [s["status"] for s in shown["sign_ups"]] == ["confirmed", "waitlisted"]
    listed = run(app, "community", "activities", "list", "--community", here.id)
    assert "读书会" in listed.stdout
    assert (
        run(app, "community", "activities", "cancel", made["id"], "--reason", "下雨").exit_code == 0
    )
    refused(
        run(app, "community", "activities", "cancel", made["id"], "--reason", "x"),
        65,
        "illegal-transition",
    )
    refused(run(app, "community", "activities", "show", "nope"), 66, "activity-not-found")
    refused(
        run(
            app, "community", "activities", "add", "--community", here.id, "--title", "x",
            "--place", "y", "--from", "2026-11-28T09:30", "--to", "2026-11-28T08:30",
            "--capacity", "5",
        ),
        65,
        "invalid-input",
    )  # fmt: skip
