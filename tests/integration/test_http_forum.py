"""The forum over HTTP: a board, a post and its comments, likes, the word filter holding a
post for the moderator (版主) who restores it, a report, and the refusals the standards
ask for: a post of 100,000 characters, HTML returned as written (JSON, never markup)."""

from __future__ import annotations

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.domain.identity import Membership, Role
from tests.integration.test_http import is_problem
from tests.integration.test_http_services import World

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def w(app: injector.Injector, clock: FixedClock) -> World:
    return World(app, clock)


def test_a_board_from_a_post_to_its_moderation(w: World) -> None:
    made = w.operator.post(f"/v1/communities/{w.here}/boards", json={"name": "二手闲置"})
    assert made.status_code == 201, made.text
    board = made.json()["id"]
    neighbour = w.client(Membership(Role.RESIDENT, w.here))
    moderator = w.client(Membership(Role.MODERATOR, w.here))

    written = w.resident.post(f"/v1/boards/{board}/posts", json={"title": XSS, "body": XSS})
    assert written.status_code == 201 and written.json()["status"] == "published"
    post = written.json()["id"]
    shown = neighbour.get(f"/v1/posts/{post}")
    assert shown.headers["content-type"] == "application/json"
    assert (shown.json()["post"]["title"], shown.json()["post"]["body"]) == (XSS, XSS)
    answered = neighbour.post(f"/v1/posts/{post}/comments", json={"body": "还在吗？"})
    assert answered.status_code == 201, answered.text
    assert neighbour.put(f"/v1/posts/{post}/like").json()["likes"] == 1
    assert neighbour.put(f"/v1/posts/{post}/like").json()["likes"] == 1  # once
    page = neighbour.get(f"/v1/boards/{board}/posts").json()
    assert [(p["id"], p["liked"], p["comments"]) for p in page["posts"]] == [(post, True, 1)]

    held = neighbour.post(
        f"/v1/boards/{board}/posts", json={"title": "出闲置", "body": "低价出，加V看网-赌技巧"}
    ).json()
    assert (held["status"], held["held_for"]) == ("held", "sensitive words: 网赌")
    assert [p["id"] for p in w.resident.get(f"/v1/boards/{board}/posts").json()["posts"]] == [post]
    is_problem(w.resident.get(f"/v1/posts/{held['id']}"), 404, "post-not-found")
    reported = w.resident.post(
        f"/v1/comments/{answered.json()['id']}/reports", json={"reason": "spam", "note": "x"}
    )
    assert reported.status_code == 201, reported.text
    queue = moderator.get(f"/v1/communities/{w.here}/moderation").json()
    assert [(i["kind"], len(i["reports"])) for i in queue] == [("post", 0), ("comment", 1)]
    restored = moderator.post(
        f"/v1/posts/{held['id']}/moderation", json={"hide": False, "reason": "误判"}
    )
    assert restored.json()["post"]["status"] == "published", restored.text
    kept = moderator.post(
        f"/v1/comments/{answered.json()['id']}/moderation", json={"hide": False, "reason": "正常"}
    )
    assert kept.json()["comment"]["status"] == "published", kept.text  # the report dismissed
    assert moderator.get(f"/v1/communities/{w.here}/moderation").json() == []
    again = moderator.post(
        f"/v1/comments/{answered.json()['id']}/moderation", json={"hide": False, "reason": "正常"}
    )
    is_problem(again, 409, "illegal-transition")  # published, unreported: nothing to restore
    is_problem(
        w.resident.post(f"/v1/posts/{held['id']}/moderation", json={"hide": True, "reason": "x"}),
        403,
        "forbidden",
    )
    assert neighbour.delete(f"/v1/posts/{post}/like").json()["likes"] == 0

    is_problem(
        w.resident.post(f"/v1/boards/{board}/posts", json={"title": "长", "body": "长" * 100_000}),
        422,
        "invalid-input",
    )
    is_problem(w.resident.post(f"/v1/posts/{post}/reports", json={"reason": "spam"}), 422, None)
    is_problem(neighbour.delete(f"/v1/posts/{post}"), 403, "forbidden")
    assert w.resident.delete(f"/v1/posts/{post}").status_code == 204
    is_problem(neighbour.get(f"/v1/posts/{post}"), 404, "post-not-found")
    assert len(w.resident.get(f"/v1/boards/{board}/posts").json()["posts"]) == 1
