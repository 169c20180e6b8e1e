"""The community forum (论坛): boards opened by a community's operators, where its residents
post, comment, like and report, and its moderators (版主, and the operators) review what the
sensitive-word filter or residents' reports held, hiding or restoring it with a reason.

Every change to a post, its comments, its likes or its reports takes the post's row lock
(then the comment's), so counters stay exact however many residents act at once.
"""

from __future__ import annotations

import datetime as dt

import attrs

from shequ.application.cursors import open_cursor, seal_cursor
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import (
    CommentNotFound,
    Duplicate,
    InvalidCursor,
    InvalidInput,
    PostNotFound,
)
from shequ.domain.forum import (
    Board,
    Comment,
    ContentKind,
    ContentStatus,
    ForumReport,
    Post,
    PostLike,
    ReportReason,
    SensitiveWords,
)
from shequ.domain.ids import (
    AccountId,
    BoardId,
    CommentId,
    CommunityId,
    PostId,
    ReportId,
    new_id,
)

__all__ = [
    "ArchiveBoard",
    "ArchiveBoardHandler",
    "BoardPage",
    "CommentOnPost",
    "CommentOnPostHandler",
    "DeleteContent",
    "DeleteContentHandler",
    "ForumRules",
    "GetPost",
    "GetPostHandler",
    "LikePost",
    "LikePostHandler",
    "ListBoards",
    "ListBoardsHandler",
    "ListPosts",
    "ListPostsHandler",
    "ModerateContent",
    "ModerateContentHandler",
    "ModerationQueue",
    "ModerationQueueHandler",
    "OpenBoard",
    "OpenBoardHandler",
    "PostView",
    "ReportContent",
    "ReportContentHandler",
    "ReviewItem",
    "WritePost",
    "WritePostHandler",
]


@attrs.frozen
class ForumRules:
    """The words that hold a text for review, and how many open reports hold it."""

    words: SensitiveWords = attrs.Factory(SensitiveWords)
    hold_at_reports: int = 3


def _moderator(policy: Policy, actor: Actor, community_id: CommunityId) -> bool:
    return policy.allows(actor, Permission.MODERATE, community_id=community_id)


def _target(uow: UnitOfWork, kind: ContentKind, content_id: str) -> tuple[Post, Comment | None]:
    """The post (locked) and, for a comment, the comment (locked after it)."""
    if ContentKind(kind) is ContentKind.POST:
        return uow.posts.get_for_update(PostId(content_id)), None
    comment = uow.comments.get(CommentId(content_id))
    post = uow.posts.get_for_update(comment.post_id)
    return post, uow.comments.get_for_update(comment.id)


# ---------------------------------------------------------------- boards


@attrs.frozen
class OpenBoard:
    community_id: CommunityId
    name: str
    description: str = ""


class OpenBoardHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: OpenBoard, *, actor: Actor) -> Board:
        self._policy.require(actor, Permission.COMMUNITY_LIFE, community_id=cmd.community_id)
        board = Board.open(
            id=BoardId(new_id()),
            community_id=cmd.community_id,
            name=cmd.name,
            description=cmd.description,
            now=self._clock.now(),
        )
        with self._uow as uow:
            uow.communities.get(cmd.community_id)
            if any(b.name == board.name for b in uow.boards.of_community(cmd.community_id)):
                raise Duplicate(f"the forum has a board {board.name} already")
            uow.boards.add(board)
            uow.commit()
        return board


@attrs.frozen
class ArchiveBoard:
    board_id: BoardId


class ArchiveBoardHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, cmd: ArchiveBoard, *, actor: Actor) -> Board:
        def attempt() -> Board:
            with self._uow as uow:
                board = uow.boards.get_for_update(cmd.board_id)
                self._policy.require(
                    actor, Permission.COMMUNITY_LIFE, community_id=board.community_id
                )
                board.archive()
                uow.commit()
            return board

        return retry_on_conflict(attempt)


@attrs.frozen
class ListBoards:
    community_id: CommunityId


class ListBoardsHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: ListBoards, *, actor: Actor) -> list[Board]:
        self._policy.require(actor, Permission.BROWSE)
        with self._uow as uow:
            return uow.boards.of_community(query.community_id)


# ---------------------------------------------------------------- posts


@attrs.frozen
class WritePost:
    board_id: BoardId
    author_id: AccountId
    title: str
    body: str
    photos: tuple[str, ...] = ()


class WritePostHandler:
    """A resident of the board's community posts in their own name: published, or held
    for review when it has a sensitive word (its author still sees it)."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: ForumRules) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, cmd: WritePost, *, actor: Actor) -> Post:
        with self._uow as uow:
            board = uow.boards.get(cmd.board_id)
            self._policy.require(
                actor, Permission.BUY, community_id=board.community_id, owner=cmd.author_id
            )
            post = Post.write(
                id=PostId(new_id()),
                board=board,
                author_id=cmd.author_id,
                title=cmd.title,
                body=cmd.body,
                photo_urls=cmd.photos,
                words=self._rules.words,
                now=self._clock.now(),
            )
            uow.posts.add(post)
            uow.commit()
        return post


@attrs.frozen
class BoardPage:
    """A page of a board: its posts, those the reader likes, and where the next page
    starts (``None`` on the last)."""

    board: Board
    posts: tuple[Post, ...]
    liked: frozenset[PostId]
    next_cursor: str | None


@attrs.frozen
class ListPosts:
    """A page of a board; pass the previous page's ``next_cursor`` as ``cursor``."""

    board_id: BoardId
    cursor: str | None = None
    limit: int = 20


def _after(cursor: str | None, board_id: BoardId) -> tuple[dt.datetime, PostId] | None:
    if not cursor:
        return None
    position = open_cursor(cursor, board_id)
    try:
        at = dt.datetime.fromisoformat(position[0])
        post_id = PostId(str(position[1]))
    except (ValueError, TypeError, IndexError) as e:
        raise InvalidCursor("the page cursor is not valid for this board") from e
    if at.tzinfo is None:
        raise InvalidCursor("the page cursor is not valid for this board")
    return at, post_id


class ListPostsHandler:
    """A board's published posts (and the reader's own held ones), most recently active
    first."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: ListPosts, *, actor: Actor) -> BoardPage:
        self._policy.require(actor, Permission.BROWSE)
        if type(query.limit) is not int or not 1 <= query.limit <= 100:
            raise InvalidInput("page size must be 1 to 100", field="limit")
        after = _after(query.cursor, query.board_id)
        with self._uow as uow:
            board = uow.boards.get(query.board_id)
            posts = uow.posts.in_board(
                board.id, reader_id=actor.account_id, after=after, limit=query.limit + 1
            )
            shown = posts[: query.limit]
            liked = (
                uow.likes.liked_by(actor.account_id, [p.id for p in shown])
                if actor.account_id is not None
                else set()
            )
        next_cursor = None
        if len(posts) > query.limit:
            last = shown[-1]
            next_cursor = seal_cursor([last.last_activity_at.isoformat(), last.id], board.id)
        return BoardPage(board, tuple(shown), frozenset(liked), next_cursor)


@attrs.frozen
class PostView:
    """A post with the comments the reader may see, oldest first, and whether the reader
    likes it."""

    post: Post
    comments: tuple[Comment, ...]
    liked: bool


@attrs.frozen
class GetPost:
    post_id: PostId


class GetPostHandler:
    """A post for whoever may see it: anyone while it is published; its author and the
    moderators otherwise (to everyone else it is ``post-not-found``)."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: GetPost, *, actor: Actor) -> PostView:
        self._policy.require(actor, Permission.BROWSE)
        reader = actor.account_id
        with self._uow as uow:
            post = uow.posts.get(query.post_id)
            moderator = _moderator(self._policy, actor, post.community_id)
            if not post.visible_to(reader, moderator=moderator):
                raise PostNotFound(f"no post with id {query.post_id!r}", id=query.post_id)
            comments = tuple(
                c
                for c in uow.comments.of_post(post.id)
                if c.visible_to(reader, moderator=moderator)
            )
            like = None if reader is None else uow.likes.find_of(post.id, reader)
        return PostView(post, comments, like is not None and like.liked)


@attrs.frozen
class CommentOnPost:
    post_id: PostId
    author_id: AccountId
    body: str


class CommentOnPostHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: ForumRules) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, cmd: CommentOnPost, *, actor: Actor) -> Comment:
        def attempt() -> Comment:
            with self._uow as uow:
                post = uow.posts.get_for_update(cmd.post_id)
                self._policy.require(
                    actor, Permission.BUY, community_id=post.community_id, owner=cmd.author_id
                )
                made = post.comment(
                    id=CommentId(new_id()),
                    author_id=cmd.author_id,
                    body=cmd.body,
                    words=self._rules.words,
                    now=self._clock.now(),
                )
                uow.comments.add(made)
                uow.commit()
            return made

        return retry_on_conflict(attempt)


@attrs.frozen
class LikePost:
    """``like`` ``True`` likes the post, ``False`` takes the like back; either, twice,
    changes nothing more."""

    post_id: PostId
    account_id: AccountId
    like: bool = True


class LikePostHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: LikePost, *, actor: Actor) -> Post:
        def attempt() -> Post:
            with self._uow as uow:
                post = uow.posts.get_for_update(cmd.post_id)
                self._policy.require(
                    actor, Permission.BUY, community_id=post.community_id, owner=cmd.account_id
                )
                if post.status is not ContentStatus.PUBLISHED:
                    raise PostNotFound(f"no post with id {cmd.post_id!r}", id=cmd.post_id)
                now = self._clock.now()
                like = uow.likes.find_of(post.id, cmd.account_id)
                if like is None and cmd.like:
                    uow.likes.add(PostLike(new_id(), post.id, cmd.account_id, True, now))
                    post.liked(+1)
                elif like is not None and like.turn(cmd.like, now=now):
                    post.liked(+1 if cmd.like else -1)
                uow.commit()
            return post

        return retry_on_conflict(attempt)


# ---------------------------------------------------------------- reports and moderation


@attrs.frozen
class ReportContent:
    kind: ContentKind
    content_id: str
    reporter_id: AccountId
    reason: ReportReason
    note: str = ""


class ReportContentHandler:
    """A resident of the community reports a post or comment, once; at
    ``ForumRules.hold_at_reports`` open reports it is held for review."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: ForumRules) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, cmd: ReportContent, *, actor: Actor) -> ForumReport:
        def attempt() -> ForumReport:
            with self._uow as uow:
                post, comment = _target(uow, cmd.kind, cmd.content_id)
                target: Post | Comment = comment or post
                self._policy.require(
                    actor, Permission.BUY, community_id=post.community_id, owner=cmd.reporter_id
                )
                if not target.visible_to(cmd.reporter_id, moderator=False):
                    missing = PostNotFound if comment is None else CommentNotFound
                    raise missing(f"no {target.kind.value} with id {cmd.content_id!r}")
                if uow.forum_reports.find_by(cmd.reporter_id, target.kind, target.content_id):
                    raise Duplicate(f"you have reported this {target.kind.value} already")
                now = self._clock.now()
                report = ForumReport.file(
                    id=ReportId(new_id()),
                    target=target,
                    reporter_id=cmd.reporter_id,
                    reason=cmd.reason,
                    note=cmd.note,
                    now=now,
                )
                held = target.report(
                    cmd.reporter_id, report.reason, hold_at=self._rules.hold_at_reports, now=now
                )
                if held and comment is not None:
                    post.counted(-1, now=now)
                uow.forum_reports.add(report)
                uow.commit()
            return report

        return retry_on_conflict(attempt)


@attrs.frozen
class ModerateContent:
    """``hide`` ``True`` hides a post or comment, ``False`` restores it; ``reason`` says
    why, for the history and its author."""

    kind: ContentKind
    content_id: str
    hide: bool
    reason: str


class ModerateContentHandler:
    """A moderator hides (upholding its open reports) or restores (dismissing them) a post
    or a comment of their community."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: ModerateContent, *, actor: Actor) -> Post | Comment:
        def attempt() -> Post | Comment:
            with self._uow as uow:
                post, comment = _target(uow, cmd.kind, cmd.content_id)
                target: Post | Comment = comment or post
                self._policy.require(actor, Permission.MODERATE, community_id=post.community_id)
                now = self._clock.now()
                was_shown = target.status is ContentStatus.PUBLISHED
                if cmd.hide:
                    target.hide(cmd.reason, moderator_id=actor.account_id, now=now)
                else:
                    target.restore(cmd.reason, moderator_id=actor.account_id, now=now)
                shown = target.status is ContentStatus.PUBLISHED
                if comment is not None and was_shown != shown:
                    post.counted(+1 if shown else -1, now=now)
                for report in uow.forum_reports.open_on(target.kind, target.content_id):
                    report.decide(cmd.hide, now=now)
                uow.commit()
            return target

        return retry_on_conflict(attempt)


@attrs.frozen
class DeleteContent:
    kind: ContentKind
    content_id: str


class DeleteContentHandler:
    """The author takes their post or comment away."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: DeleteContent, *, actor: Actor) -> Post | Comment:
        def attempt() -> Post | Comment:
            with self._uow as uow:
                post, comment = _target(uow, cmd.kind, cmd.content_id)
                target: Post | Comment = comment or post
                self._policy.require(actor, Permission.OWN_ORDER, owner=target.author_id)
                now = self._clock.now()
                was_shown = target.status is ContentStatus.PUBLISHED
                target.delete(now=now)
                if comment is not None and was_shown:
                    post.counted(-1, now=now)
                for report in uow.forum_reports.open_on(target.kind, target.content_id):
                    report.decide(True, now=now)
                uow.commit()
            return target

        return retry_on_conflict(attempt)


@attrs.frozen
class ReviewItem:
    """A post or comment waiting for a moderator, with its open reports."""

    content: Post | Comment
    reports: tuple[ForumReport, ...]


@attrs.frozen
class ModerationQueue:
    community_id: CommunityId
    limit: int = 100


class ModerationQueueHandler:
    """What waits for the community's moderators: held posts and comments, and published
    ones with open reports; posts first, oldest first."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: ModerationQueue, *, actor: Actor) -> list[ReviewItem]:
        self._policy.require(actor, Permission.MODERATE, community_id=query.community_id)
        if type(query.limit) is not int or not 1 <= query.limit <= 500:
            raise InvalidInput("page size must be 1 to 500", field="limit")
        with self._uow as uow:
            waiting: list[Post | Comment] = [
                *uow.posts.to_review(query.community_id, query.limit),
                *uow.comments.to_review(query.community_id, query.limit),
            ]
            return [
                ReviewItem(x, tuple(uow.forum_reports.open_on(x.kind, x.content_id)))
                for x in waiting[: query.limit]
            ]
