"""Community life over HTTP on every backend: the operator publishes a notice and
organises an activity of one place; two residents sign up, one gets the place and one
waits, and the place moves up when it is given back."""

from __future__ import annotations

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.domain.identity import Membership, Role
from tests.integration.test_http import is_problem
from tests.integration.test_http_services import World


@pytest.fixture
def w(app: injector.Injector, clock: FixedClock) -> World:
    return World(app, clock)


def test_a_notice_and_an_activity_with_a_waitlist(w: World) -> None:
    published = w.operator.post(
        "/v1/announcements",
        json={
            "community_ids": [w.here],
            "title": "停水通知",
            "body": "周六<b>8点</b>停水",
            "pinned": True,
        },
    )
    assert published.status_code == 201, published.text
    board = w.resident.get(f"/v1/communities/{w.here}/announcements").json()
    assert [(a["title"], a["body"]) for a in board] == [("停水通知", "周六<b>8点</b>停水")]
    is_problem(
        w.resident.post(
            "/v1/announcements", json={"community_ids": [w.here], "title": "x", "body": "y"}
        ),
        403,
        "forbidden",
    )
    made = w.operator.post(
        "/v1/activities",
        json={
            "community_id": w.here,
            "title": "读书会",
            "place": "会所",
            "starts_at": "2026-11-28T09:30:00+08:00",
            "ends_at": "2026-11-28T11:30:00+08:00",
            "capacity": 1,
        },
    )
    assert made.status_code == 201, made.text
    activity = made.json()["id"]
    neighbour = w.client(Membership(Role.RESIDENT, w.here))
    first = w.resident.post(f"/v1/activities/{activity}/sign-ups").json()
    second = neighbour.post(f"/v1/activities/{activity}/sign-ups").json()
    assert (first["status"], second["status"]) == ("confirmed", "waitlisted")
    is_problem(w.resident.post(f"/v1/activities/{activity}/sign-ups"), 409, "duplicate")
    moved = w.resident.delete(f"/v1/activities/{activity}/sign-ups/mine").json()
    assert [m["seq"] for m in moved] == [second["seq"]]
    mine = neighbour.get(f"/v1/activities/{activity}").json()
    assert mine["mine"]["status"] == "confirmed" and mine["sign_ups"] == []
    roster = w.operator.get(f"/v1/activities/{activity}").json()["sign_ups"]
    assert [s["status"] for s in roster] == ["cancelled", "confirmed"]
    is_problem(
        w.operator.post(
            "/v1/activities",
            json={
                "community_id": w.here,
                "title": "x",
                "place": "y",
                "starts_at": "2026-11-28T09:30:00+08:00",
                "ends_at": "2026-11-28T08:30:00+08:00",
                "capacity": 5,
            },
        ),
        422,
        "invalid-input",
    )
