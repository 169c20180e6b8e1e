"""The forum from the console on every backend: boards opened, listed and archived; the
moderation queue with what the word filter and reports held; hiding and restoring; and
refusals with their codes."""

from __future__ import annotations

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.community.forum import (
    CommentOnPost,
    CommentOnPostHandler,
    ReportContent,
    ReportContentHandler,
    WritePost,
    WritePostHandler,
)
from shequ.domain.forum import ContentKind, ReportReason
from shequ.domain.ids import BoardId
from tests.integration.test_cli_ordering import data, refused, run
from tests.support import Shop


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def test_boards_and_the_moderation_queue_from_the_console(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    _, author = shop.resident(here)
    _, reader = shop.resident(here)
    assert run(app, "forum", "queue", "--community", here.id).stdout.strip() == (
        "nothing waits for review"
    )
    board = data(app, "forum", "boards", "add", "--community", here.id, "--name", "闲聊")
    refused(
        run(app, "forum", "boards", "add", "--community", here.id, "--name", "闲聊"),
        75,
        "duplicate",
    )
    write = app.get(WritePostHandler)
    held = write(
        WritePost(BoardId(board["id"]), author.account_id or "", "好消息", "博 彩 高手带你赢"),  # type: ignore[arg-type]
        actor=author,
    )
    fine = write(
        WritePost(BoardId(board["id"]), author.account_id or "", "遛狗", "周末一起遛狗"),  # type: ignore[arg-type]
        actor=author,
    )
    said = app.get(CommentOnPostHandler)(
        CommentOnPost(fine.id, author.account_id or "", "<b>我来</b>"),  # type: ignore[arg-type]
        actor=author,
    )
    app.get(ReportContentHandler)(
        ReportContent(ContentKind.COMMENT, said.id, reader.account_id or "", ReportReason.ABUSE),  # type: ignore[arg-type]
        actor=reader,
    )
    queue = data(app, "forum", "queue", "--community", here.id)
    assert [(i["kind"], i["id"], len(i["reports"])) for i in queue] == [
        ("post", held.id, 0),
        ("comment", said.id, 1),
    ]
    assert queue[0]["held_for"] == "sensitive words: 博彩"
    shown = run(app, "forum", "queue", "--community", here.id)
    assert "博彩" in shown.stdout and said.id in shown.stdout
    assert run(app, "forum", "hide", "post", held.id, "--reason", "赌博广告").exit_code == 0
    assert run(app, "forum", "restore", "comment", said.id, "--reason", "正常").exit_code == 0
    assert data(app, "forum", "queue", "--community", here.id) == []
    post = data(app, "forum", "show", fine.id)
    assert [c["body"] for c in post["comment_list"]] == ["<b>我来</b>"]  # stored as written
    refused(
        run(app, "forum", "restore", "comment", said.id, "--reason", "x"), 65, "illegal-transition"
    )
    refused(run(app, "forum", "hide", "post", "nope", "--reason", "x"), 66, "post-not-found")
    refused(run(app, "forum", "hide", "post", fine.id, "--reason", " "), 65, "invalid-input")
    assert run(app, "forum", "boards", "archive", board["id"]).exit_code == 0
    listed = data(app, "forum", "boards", "list", "--community", here.id)
    assert [(b["name"], b["archived"]) for b in listed] == [("闲聊", True)]


def test_the_demo_has_a_post_a_neighbour_answered_and_liked(app: injector.Injector) -> None:
    made = data(app, "demo")
    post = data(app, "forum", "show", made["community_life"]["post_id"])
    assert (post["status"], post["comments"], post["likes"]) == ("published", 1, 1)
    boards = data(app, "forum", "boards", "list", "--community", made["community"]["id"])
    assert [b["id"] for b in boards] == [post["board_id"]]
