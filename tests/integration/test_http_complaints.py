"""Complaints over HTTP: a resident complains about their booking; the operator sees it
overdue, answers and resolves it; the resident reopens it, then rates it. A complaint on
someone else's booking, a rating of 0 or 6 and text with HTML are answered as the
standards say."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.domain.identity import Membership, Role
from tests.integration.test_http import is_problem
from tests.integration.test_http_services import World

XSS = "<script>alert(1)</script>"


@pytest.fixture
def w(app: injector.Injector, clock: FixedClock) -> World:
    return World(app, clock)


def test_a_complaint_about_a_booking_from_filing_to_rating(w: World, clock: FixedClock) -> None:
    booked = w.book("2026-11-26T15:00:00+08:00")
    assert booked.status_code == 201, booked.text
    booking = booked.json()["id"]
    filed = w.resident.post(
        "/v1/complaints",
        json={"category": "service", "title": XSS, "body": "阿姨迟到一小时", "booking_id": booking},
    )
    assert filed.status_code == 201, filed.text
    ticket = filed.json()
    assert (ticket["community_id"], ticket["status"], ticket["title"]) == (w.here, "open", XSS)
    path = f"/v1/complaints/{ticket['id']}"

    neighbour = w.client(Membership(Role.RESIDENT, w.here))
    is_problem(
        neighbour.post(
            "/v1/complaints",
            json={"category": "service", "title": "x", "body": "y", "booking_id": booking},
        ),
        403,
        "forbidden",
    )
    is_problem(neighbour.get(path), 403, "forbidden")
    assert w.operator.get(f"/v1/communities/{w.here}/complaints?overdue=true").json() == []
    clock.advance(dt.timedelta(hours=25))  # service tickets are answered within a day
    w.renew(w.operator, w.resident, neighbour)  # their access tokens expired meanwhile
    overdue = w.operator.get(f"/v1/communities/{w.here}/complaints?overdue=true").json()
    assert [t["id"] for t in overdue] == [ticket["id"]]

    answered = w.operator.post(f"{path}/replies", json={"text": "已联系商户"})
    assert answered.json()["status"] == "in_progress"
    assert w.operator.get(f"/v1/communities/{w.here}/complaints?overdue=true").json() == []
    is_problem(w.resident.post(f"{path}/rating", json={"satisfaction": 5}), 409, None)
    resolved = w.operator.post(f"{path}/status", json={"status": "resolved", "note": "退20元"})
    assert resolved.json()["resolution"] == "退20元"
    reopened = w.resident.post(f"{path}/status", json={"status": "reopened", "note": "没收到"})
    assert reopened.json()["status"] == "reopened", reopened.text
    w.operator.post(f"{path}/status", json={"status": "resolved", "note": "已到账"})
    for wrong in (0, 6):
        is_problem(w.resident.post(f"{path}/rating", json={"satisfaction": wrong}), 422, None)
    rated = w.resident.post(f"{path}/rating", json={"satisfaction": 4})
    assert rated.json()["satisfaction"] == 4
    mine = w.resident.get("/v1/me/complaints").json()
    assert [(t["status"], len(t["replies"])) for t in mine] == [("resolved", 2)]
    is_problem(
        w.resident.post("/v1/complaints", json={"category": "gripe", "title": "x", "body": "y"}),
        422,
        None,
    )
    is_problem(
        w.resident.post(
            "/v1/complaints", json={"category": "platform", "title": "x", "body": "长" * 100_000}
        ),
        422,
        None,
    )
    assert len(w.resident.get("/v1/me/complaints").json()) == 1  # refusals changed nothing
