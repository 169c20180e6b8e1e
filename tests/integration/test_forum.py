"""The forum on every storage: posts, comments and likes; what the word filter and residents'
reports hold, and the moderators who hide or restore it; counters exact under residents
acting at once; and the refusals that change nothing."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.community.forum import (
    ArchiveBoard,
    ArchiveBoardHandler,
    CommentOnPost,
    CommentOnPostHandler,
    DeleteContent,
    DeleteContentHandler,
    GetPost,
    GetPostHandler,
    LikePost,
    LikePostHandler,
    ListBoards,
    ListBoardsHandler,
    ListPosts,
    ListPostsHandler,
    ModerateContent,
    ModerateContentHandler,
    ModerationQueue,
    ModerationQueueHandler,
    OpenBoard,
    OpenBoardHandler,
    ReportContent,
    ReportContentHandler,
    WritePost,
    WritePostHandler,
)
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import Clock, UnitOfWork
from shequ.domain.catalog import Community
from shequ.domain.errors import (
    CommentNotFound,
    Duplicate,
    Forbidden,
    IllegalTransition,
    InvalidCursor,
    InvalidInput,
    PostNotFound,
)
from shequ.domain.forum import Board, Comment, ContentKind, ContentStatus, Post, ReportReason
from shequ.domain.identity import Role
from tests.integration.test_concurrency import race
from tests.support import Shop

BACKENDS = ["postgres", "sqlite", "memory"]
XSS = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>"
POST, COMMENT = ContentKind.POST, ContentKind.COMMENT
Status = ContentStatus


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def tick(app: injector.Injector) -> None:
    """A second on: posts and comments are listed by time."""
    clock = app.get(Clock)
    assert isinstance(clock, FixedClock)
    clock.advance(dt.timedelta(seconds=1))


def board(app: injector.Injector, here: Community, name: str = "邻里互助") -> Board:
    return app.get(OpenBoardHandler)(OpenBoard(here.id, name, "有事说一声"), actor=CONSOLE)


def post(
    app: injector.Injector,
    where: Board,
    who: Actor,
    body: str = "谁家有梯子借用一下？",
    **more: object,
) -> Post:
    tick(app)
    return app.get(WritePostHandler)(
        WritePost(where.id, who.account_id or "", more.pop("title", "借梯子"), body, **more),  # type: ignore[arg-type]
        actor=who,
    )


def comment(app: injector.Injector, on: Post, who: Actor, body: str = "我家有，来拿") -> Comment:
    tick(app)
    return app.get(CommentOnPostHandler)(
        CommentOnPost(on.id, who.account_id or "", body),  # type: ignore[arg-type]
        actor=who,
    )


def report(app: injector.Injector, kind: ContentKind, target: str, who: Actor) -> None:
    app.get(ReportContentHandler)(
        ReportContent(kind, target, who.account_id or "", ReportReason.SPAM, "广告"),  # type: ignore[arg-type]
        actor=who,
    )


def moderate(
    app: injector.Injector, kind: ContentKind, target: str, hide: bool, who: Actor
) -> Post | Comment:
    reason = "广告，已隐藏" if hide else "核实无问题"
    return app.get(ModerateContentHandler)(ModerateContent(kind, target, hide, reason), actor=who)


def shown(app: injector.Injector, where: Board, who: Actor) -> list[str]:
    page = app.get(ListPostsHandler)(ListPosts(where.id), actor=who)
    return [p.id for p in page.posts]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_reports_hold_a_post_and_a_moderator_restores_then_hides_it(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    _, author = shop.resident(here)
    neighbours = [shop.resident(here)[1] for _ in range(3)]
    _, moderator = shop.resident(here, Role.MODERATOR)
    help_board = board(app, here)
    asked = post(app, help_board, author, title=XSS, body=XSS)
    assert (asked.status, asked.title, asked.body) == (Status.PUBLISHED, XSS, XSS)  # as written
    answer = comment(app, asked, neighbours[0])
    app.get(LikePostHandler)(
        LikePost(asked.id, neighbours[1].account_id or ""), actor=neighbours[1]
    )  # type: ignore[arg-type]

    for who in neighbours[:2]:
        report(app, POST, asked.id, who)
    assert shown(app, help_board, neighbours[2]) == [asked.id]  # two reports: still shown
    queue = app.get(ModerationQueueHandler)(ModerationQueue(here.id), actor=moderator)
    assert [(i.content.id, len(i.reports)) for i in queue] == [(asked.id, 2)]
    report(app, POST, asked.id, neighbours[2])  # the third holds it
    assert shown(app, help_board, neighbours[0]) == []
    assert shown(app, help_board, author) == [asked.id]  # its author still sees it
    with pytest.raises(PostNotFound):
        app.get(GetPostHandler)(GetPost(asked.id), actor=neighbours[0])
    with pytest.raises(IllegalTransition):  # a held post takes no comments
        comment(app, asked, neighbours[1])
    with pytest.raises(Forbidden):  # residents do not moderate
        moderate(app, POST, asked.id, False, neighbours[0])

    restored = moderate(app, POST, asked.id, False, moderator)
    assert restored.status is Status.PUBLISHED and restored.open_reports == 0
    assert app.get(ModerationQueueHandler)(ModerationQueue(here.id), actor=moderator) == []
    view = app.get(GetPostHandler)(GetPost(asked.id), actor=neighbours[1])
    assert (view.liked, view.post.likes, view.post.comments) == (True, 1, 1)
    assert [c.id for c in view.comments] == [answer.id]
    with pytest.raises(Duplicate):  # reported once each, even after a decision
        report(app, POST, asked.id, neighbours[0])
    hidden = moderate(app, POST, asked.id, True, moderator)
    assert [(m.status, m.reason) for m in hidden.history] == [
        (Status.HELD, "reported by 3 residents"),
        (Status.PUBLISHED, "核实无问题"),
        (Status.HIDDEN, "广告，已隐藏"),
    ]
    with app.get(UnitOfWork) as uow:
        reports = uow.forum_reports.open_on(POST, asked.id)
        names = [m.name for m in uow.outbox.pending(100_000)]
    assert reports == []
    assert names.count("ContentReported") == 3 and names.count("ContentModerated") == 2
    assert names.count("Posted") == 2


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_the_word_filter_holds_posts_and_comments_for_review(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    _, author = shop.resident(here)
    _, reader = shop.resident(here)
    _, operator = shop.resident(here, Role.OPERATOR)
    where = board(app, here)
    spam = post(app, where, author, body="兼 职 日-结，加ｗｘ，高额*返利！")
    assert spam.status is Status.HELD and spam.held_for == "sensitive words: 兼职日结, 高额返利"
    fine = post(app, where, author, body="周六一起打羽毛球？")
    assert shown(app, where, reader) == [fine.id]
    held_comment = comment(app, fine, reader, "私聊我，网 赌包赢")
    assert held_comment.status is Status.HELD
    ok = comment(app, fine, reader, "算我一个")
    view = app.get(GetPostHandler)(GetPost(fine.id), actor=author)
    assert [c.id for c in view.comments] == [ok.id] and view.post.comments == 1
    queue = app.get(ModerationQueueHandler)(ModerationQueue(here.id), actor=operator)
    assert [i.content.id for i in queue] == [spam.id, held_comment.id]
    moderate(app, COMMENT, held_comment.id, False, operator)  # a false alarm
    view = app.get(GetPostHandler)(GetPost(fine.id), actor=author)
    assert [c.id for c in view.comments] == [held_comment.id, ok.id] and view.post.comments == 2
    moderate(app, POST, spam.id, True, operator)
    assert shown(app, where, author) == [fine.id, spam.id]  # hidden, but its author sees it
    app.get(DeleteContentHandler)(DeleteContent(POST, spam.id), actor=author)
    assert shown(app, where, author) == [fine.id]
    with pytest.raises(Forbidden):  # only its author deletes it
        app.get(DeleteContentHandler)(DeleteContent(COMMENT, ok.id), actor=author)
    app.get(DeleteContentHandler)(DeleteContent(COMMENT, ok.id), actor=reader)
    assert app.get(GetPostHandler)(GetPost(fine.id), actor=author).post.comments == 1


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_residents_liking_and_commenting_at_once_are_all_counted(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    _, author = shop.resident(here)
    asked = post(app, board(app, here), author)
    residents = [shop.resident(here)[1] for _ in range(20)]
    like = [app.get(LikePostHandler) for _ in residents]
    answer = [app.get(CommentOnPostHandler) for _ in residents]

    def act(i: int) -> None:
        me = residents[i]
        like[i](LikePost(asked.id, me.account_id or ""), actor=me)  # type: ignore[arg-type]
        answer[i](CommentOnPost(asked.id, me.account_id or "", f"第{i}楼"), actor=me)  # type: ignore[arg-type]
        like[i](LikePost(asked.id, me.account_id or ""), actor=me)  # twice: once counted  # type: ignore[arg-type]

    assert race(20, act) == [None] * 20
    view = app.get(GetPostHandler)(GetPost(asked.id), actor=author)
    assert (view.post.likes, view.post.comments, len(view.comments)) == (20, 20, 20)
    unlike = app.get(LikePostHandler)
    for me in residents[:5]:
        unlike(LikePost(asked.id, me.account_id or "", like=False), actor=me)  # type: ignore[arg-type]
    assert app.get(GetPostHandler)(GetPost(asked.id), actor=author).post.likes == 15


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_refusals_change_nothing(app: injector.Injector, shop: Shop) -> None:
    here, elsewhere = shop.community(), shop.community("翠苑")
    _, author = shop.resident(here)
    _, reader = shop.resident(here)
    _, stranger = shop.resident(elsewhere)
    _, their_moderator = shop.resident(elsewhere, Role.MODERATOR)
    where = board(app, here)
    with pytest.raises(Duplicate):
        board(app, here)
    with pytest.raises(Forbidden):  # boards are the operators'
        app.get(OpenBoardHandler)(OpenBoard(here.id, "x"), actor=author)
    with pytest.raises(InvalidInput):  # a post of 100,000 characters
        post(app, where, author, body="长" * 100_000)
    with pytest.raises(InvalidInput):
        post(app, where, author, title=" ")
    with pytest.raises(InvalidInput):
        post(app, where, author, photos=tuple(f"/v1/uploads/photos/{i}.png" for i in range(10)))
    with pytest.raises(Forbidden):  # not a resident here
        post(app, where, stranger)
    with pytest.raises(Forbidden):  # in someone else's name
        app.get(WritePostHandler)(
            WritePost(where.id, reader.account_id or "", "x", "y"),  # type: ignore[arg-type]
            actor=author,
        )
    assert shown(app, where, author) == []

    mine = post(app, where, author)
    with pytest.raises(InvalidInput):  # reporting oneself
        report(app, POST, mine.id, author)
    with pytest.raises(InvalidInput):
        comment(app, mine, reader, "长" * 2001)
    with pytest.raises(Forbidden):  # another community's moderator
        moderate(app, POST, mine.id, True, their_moderator)
    with pytest.raises(IllegalTransition):  # restoring what is published
        moderate(app, POST, mine.id, False, CONSOLE)
    with pytest.raises(CommentNotFound):
        report(app, COMMENT, "nope", reader)
    with pytest.raises(InvalidInput):
        app.get(ReportContentHandler)(
            ReportContent(POST, mine.id, reader.account_id or "", "grumpy"),  # type: ignore[arg-type]
            actor=reader,
        )
    app.get(ArchiveBoardHandler)(ArchiveBoard(where.id), actor=CONSOLE)
    with pytest.raises(IllegalTransition):
        post(app, where, author)
    kept = app.get(GetPostHandler)(GetPost(mine.id), actor=reader)
    assert (kept.post.status, kept.post.open_reports, kept.post.comments) == (
        Status.PUBLISHED,
        0,
        0,
    )
    boards = app.get(ListBoardsHandler)(ListBoards(here.id), actor=reader)
    assert [(b.name, b.archived) for b in boards] == [("邻里互助", True)]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_board_pages_by_latest_activity(app: injector.Injector, shop: Shop) -> None:
    here = shop.community()
    _, author = shop.resident(here)
    where = board(app, here)
    posts = [post(app, where, author, title=f"第{i}帖") for i in range(5)]
    comment(app, posts[0], author, "顶")  # the oldest comes back to the top
    pages, cursor = [], None
    listing = app.get(ListPostsHandler)
    while True:
        page = listing(ListPosts(where.id, cursor, limit=2), actor=author)
        pages.append([p.title for p in page.posts])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == [["第0帖", "第4帖"], ["第3帖", "第2帖"], ["第1帖"]]
    other = board(app, here, "二手闲置")
    with pytest.raises(InvalidCursor):  # a cursor of another board
        listing(ListPosts(other.id, cursor), actor=author)
