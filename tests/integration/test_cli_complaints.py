"""Complaints from the console on every backend: the overdue list (exit 1 while there are
any), a ticket answered, resolved and closed, text shown safely, and refusals with their
codes (text stored as written and shown as written)."""

from __future__ import annotations

import datetime as dt
import json

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.community.complaints import FileComplaint, FileComplaintHandler
from shequ.domain.complaints import ComplaintCategory
from tests.integration.test_cli_ordering import data, refused, run
from tests.support import Shop


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def test_overdue_tickets_answered_and_closed_from_the_console(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    _, resident = shop.resident(here)
    ticket = app.get(FileComplaintHandler)(
        FileComplaint(
            resident.account_id or "",  # type: ignore[arg-type]
            ComplaintCategory.PICKUP_POINT,
            "柜子打不开",
            "<script>alert(1)</script>",
            here.id,
        ),
        actor=resident,
    )
    calm = run(app, "complaints", "overdue")
    assert (calm.exit_code, calm.stdout.strip()) == (0, "no overdue tickets")
    clock.advance(dt.timedelta(hours=13))  # pickup point tickets: twelve hours
    late = run(app, "complaints", "overdue", "--community", here.id)
    assert late.exit_code == 1 and ticket.id in late.stdout
    assert [t["id"] for t in data_exit_1(app, "complaints", "overdue")] == [ticket.id]

    assert run(app, "complaints", "reply", ticket.id, "--text", "马上派人").exit_code == 0
    assert run(app, "complaints", "overdue").exit_code == 0
    shown = run(app, "complaints", "show", ticket.id)
    assert "in_progress" in shown.stdout and "staff: 马上派人" in shown.stdout
    assert "<script>alert(1)</script>" in shown.stdout
    assert run(app, "complaints", "resolve", ticket.id, "--note", "已修好").exit_code == 0
    listed = data(app, "complaints", "list", "--community", here.id, "--status", "resolved")
    assert [(t["id"], t["resolution"]) for t in listed] == [(ticket.id, "已修好")]
    assert "柜子打不开" in run(app, "complaints", "list", "--community", here.id).stdout
    refused(run(app, "complaints", "reply", ticket.id, "--text", " "), 65, "invalid-input")
    assert run(app, "complaints", "close", ticket.id).exit_code == 0
    refused(run(app, "complaints", "take", ticket.id), 65, "illegal-transition")
    refused(run(app, "complaints", "reply", ticket.id, "--text", "x"), 65, "illegal-transition")
    refused(run(app, "complaints", "show", "nope"), 66, "complaint-not-found")
    assert data(app, "complaints", "show", ticket.id)["status"] == "closed"


def data_exit_1(app: injector.Injector, *args: str) -> object:
    result = run(app, *args, "--json")
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def test_the_demo_has_an_answered_complaint_about_a_delivered_order(
    app: injector.Injector,
) -> None:
    made = data(app, "demo")
    ticket = data(app, "complaints", "show", made["community_life"]["complaint_id"])
    order = data(app, "orders", "show", ticket["order_id"])
    assert (ticket["status"], order["status"]) == ("in_progress", "delivered")
    assert [r["staff"] for r in ticket["replies"]] == [True]
    assert ticket["community_id"] == made["community"]["id"]
