"""``/v1`` routes of the community forum (论坛): boards, posts, comments, likes, reports and
moderation."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field, StrictBool, StrictStr

from shequ.application.community.forum import (
    ArchiveBoard,
    ArchiveBoardHandler,
    BoardPage,
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
    PostView,
    ReportContent,
    ReportContentHandler,
    WritePost,
    WritePostHandler,
)
from shequ.application.policy import Actor
from shequ.domain.forum import (
    Board,
    Comment,
    ContentKind,
    ContentStatus,
    ForumReport,
    Moderation,
    Post,
    ReportReason,
    ReportStatus,
)
from shequ.domain.ids import BoardId, CommunityId, PostId
from shequ.entrypoints.http.deps import CurrentActor, Input, Output, resolve, signed_in

__all__ = [
    "BoardOut",
    "BoardPageOut",
    "CommentOut",
    "PostOut",
    "PostViewOut",
    "ReportOut",
    "ReviewItemOut",
    "router",
]

router = APIRouter(prefix="/v1")


class BoardIn(Input):
    name: StrictStr
    description: StrictStr = ""


class BoardOut(Output):
    id: str
    community_id: str
    name: str
    description: str
    archived: bool

    @classmethod
    def of(cls, b: Board) -> BoardOut:
        return cls(
            id=b.id,
            community_id=b.community_id,
            name=b.name,
            description=b.description,
            archived=b.archived,
        )


class ModerationOut(Output):
    at: dt.datetime
    status: ContentStatus
    reason: str
    moderator_id: str | None

    @classmethod
    def of(cls, m: Moderation) -> ModerationOut:
        return cls(at=m.at, status=m.status, reason=m.reason, moderator_id=m.moderator_id)


class PostOut(Output):
    """A post; ``held_for`` and ``history`` say why it is not published, for its author
    and the moderators."""

    id: str
    board_id: str
    community_id: str
    author_id: str
    title: str
    body: str
    photos: list[str]
    status: ContentStatus
    held_for: str
    comments: int
    likes: int
    liked: bool
    created_at: dt.datetime
    last_activity_at: dt.datetime
    history: list[ModerationOut]

    @classmethod
    def of(cls, p: Post, liked: bool = False) -> PostOut:
        return cls(
            id=p.id,
            board_id=p.board_id,
            community_id=p.community_id,
            author_id=p.author_id,
            title=p.title,
            body=p.body,
            photos=list(p.photos),
            status=p.status,
            held_for=p.held_for,
            comments=p.comments,
            likes=p.likes,
            liked=liked,
            created_at=p.created_at,
            last_activity_at=p.last_activity_at,
            history=[ModerationOut.of(m) for m in p.history],
        )


class CommentOut(Output):
    id: str
    post_id: str
    author_id: str
    body: str
    status: ContentStatus
    held_for: str
    created_at: dt.datetime
    history: list[ModerationOut]

    @classmethod
    def of(cls, c: Comment) -> CommentOut:
        return cls(
            id=c.id,
            post_id=c.post_id,
            author_id=c.author_id,
            body=c.body,
            status=c.status,
            held_for=c.held_for,
            created_at=c.created_at,
            history=[ModerationOut.of(m) for m in c.history],
        )


class BoardPageOut(Output):
    board: BoardOut
    posts: list[PostOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: BoardPage) -> BoardPageOut:
        return cls(
            board=BoardOut.of(page.board),
            posts=[PostOut.of(p, p.id in page.liked) for p in page.posts],
            next_cursor=page.next_cursor,
        )


class PostViewOut(Output):
    post: PostOut
    comments: list[CommentOut]

    @classmethod
    def of(cls, view: PostView) -> PostViewOut:
        return cls(
            post=PostOut.of(view.post, view.liked),
            comments=[CommentOut.of(c) for c in view.comments],
        )


class ReportOut(Output):
    id: str
    kind: ContentKind
    content_id: str
    post_id: str
    reporter_id: str
    reason: ReportReason
    note: str
    status: ReportStatus
    created_at: dt.datetime

    @classmethod
    def of(cls, r: ForumReport) -> ReportOut:
        return cls(
            id=r.id,
            kind=r.kind,
            content_id=r.content_id,
            post_id=r.post_id,
            reporter_id=r.reporter_id,
            reason=r.reason,
            note=r.note,
            status=r.status,
            created_at=r.created_at,
        )


class ReviewItemOut(Output):
    kind: ContentKind
    post: PostOut | None
    comment: CommentOut | None
    reports: list[ReportOut]


class PostIn(Input):
    title: StrictStr
    body: StrictStr
    photos: list[StrictStr] = Field(default_factory=list, max_length=9)


class CommentIn(Input):
    body: StrictStr


class ReportIn(Input):
    reason: ReportReason
    note: StrictStr = ""


class ModerateIn(Input):
    hide: StrictBool = Field(description="true hides it, false restores it")
    reason: StrictStr


def _review_out(target: Post | Comment, reports: tuple[ForumReport, ...] = ()) -> ReviewItemOut:
    return ReviewItemOut(
        kind=target.kind,
        post=PostOut.of(target) if isinstance(target, Post) else None,
        comment=CommentOut.of(target) if isinstance(target, Comment) else None,
        reports=[ReportOut.of(r) for r in reports],
    )


@router.post("/communities/{community_id}/boards", status_code=201, tags=["forum"])
def open_board(
    actor: CurrentActor,
    community_id: str,
    body: BoardIn,
    open_board: Annotated[OpenBoardHandler, Depends(resolve(OpenBoardHandler))],
) -> BoardOut:
    """Open a board (版块) in the community's forum (its operators)."""
    made = open_board(
        OpenBoard(CommunityId(community_id), body.name, body.description), actor=actor
    )
    return BoardOut.of(made)


@router.get("/communities/{community_id}/boards", tags=["forum"])
def list_boards(
    actor: CurrentActor,
    community_id: str,
    boards: Annotated[ListBoardsHandler, Depends(resolve(ListBoardsHandler))],
) -> list[BoardOut]:
    return [BoardOut.of(b) for b in boards(ListBoards(CommunityId(community_id)), actor=actor)]


@router.post("/boards/{board_id}/archive", tags=["forum"])
def archive_board(
    actor: CurrentActor,
    board_id: str,
    archive: Annotated[ArchiveBoardHandler, Depends(resolve(ArchiveBoardHandler))],
) -> BoardOut:
    """No new posts on the board; what is there stays readable."""
    return BoardOut.of(archive(ArchiveBoard(BoardId(board_id)), actor=actor))


@router.get("/boards/{board_id}/posts", tags=["forum"])
def list_posts(
    actor: CurrentActor,
    board_id: str,
    posts: Annotated[ListPostsHandler, Depends(resolve(ListPostsHandler))],
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BoardPageOut:
    """The board's published posts (and your own held ones), most recently active first.
    Pass ``next_cursor`` back as ``cursor`` for the next page."""
    return BoardPageOut.of(posts(ListPosts(BoardId(board_id), cursor, limit), actor=actor))


@router.post("/boards/{board_id}/posts", status_code=201, tags=["forum"])
def write_post(
    actor: CurrentActor,
    board_id: str,
    body: PostIn,
    write: Annotated[WritePostHandler, Depends(resolve(WritePostHandler))],
) -> PostOut:
    """Post on the board (residents of its community): ``published``, or ``held`` for a
    moderator when it has a sensitive word."""
    made = write(
        WritePost(BoardId(board_id), signed_in(actor), body.title, body.body, tuple(body.photos)),
        actor=actor,
    )
    return PostOut.of(made)


@router.get("/posts/{post_id}", tags=["forum"])
def get_post(
    actor: CurrentActor,
    post_id: str,
    get: Annotated[GetPostHandler, Depends(resolve(GetPostHandler))],
) -> PostViewOut:
    """A post with the comments you may see."""
    return PostViewOut.of(get(GetPost(PostId(post_id)), actor=actor))


@router.delete("/posts/{post_id}", status_code=204, tags=["forum"])
def delete_post(
    actor: CurrentActor,
    post_id: str,
    delete: Annotated[DeleteContentHandler, Depends(resolve(DeleteContentHandler))],
) -> None:
    """Delete your own post."""
    delete(DeleteContent(ContentKind.POST, post_id), actor=actor)


@router.post("/posts/{post_id}/comments", status_code=201, tags=["forum"])
def comment_on_post(
    actor: CurrentActor,
    post_id: str,
    body: CommentIn,
    comment: Annotated[CommentOnPostHandler, Depends(resolve(CommentOnPostHandler))],
) -> CommentOut:
    made = comment(CommentOnPost(PostId(post_id), signed_in(actor), body.body), actor=actor)
    return CommentOut.of(made)


@router.delete("/comments/{comment_id}", status_code=204, tags=["forum"])
def delete_comment(
    actor: CurrentActor,
    comment_id: str,
    delete: Annotated[DeleteContentHandler, Depends(resolve(DeleteContentHandler))],
) -> None:
    """Delete your own comment."""
    delete(DeleteContent(ContentKind.COMMENT, comment_id), actor=actor)


@router.put("/posts/{post_id}/like", tags=["forum"])
def like(
    actor: CurrentActor,
    post_id: str,
    like: Annotated[LikePostHandler, Depends(resolve(LikePostHandler))],
) -> PostOut:
    """Like a post; liking it again changes nothing."""
    return PostOut.of(like(LikePost(PostId(post_id), signed_in(actor), True), actor=actor), True)


@router.delete("/posts/{post_id}/like", tags=["forum"])
def unlike(
    actor: CurrentActor,
    post_id: str,
    like: Annotated[LikePostHandler, Depends(resolve(LikePostHandler))],
) -> PostOut:
    return PostOut.of(like(LikePost(PostId(post_id), signed_in(actor), False), actor=actor), False)


def _report(
    kind: ContentKind, content_id: str, body: ReportIn, actor: Actor, report: ReportContentHandler
) -> ReportOut:
    made = report(
        ReportContent(kind, content_id, signed_in(actor), body.reason, body.note), actor=actor
    )
    return ReportOut.of(made)


@router.post("/posts/{post_id}/reports", status_code=201, tags=["forum"])
def report_post(
    actor: CurrentActor,
    post_id: str,
    body: ReportIn,
    report: Annotated[ReportContentHandler, Depends(resolve(ReportContentHandler))],
) -> ReportOut:
    """Report a post to the moderators, once; enough reports hold it for review."""
    return _report(ContentKind.POST, post_id, body, actor, report)


@router.post("/comments/{comment_id}/reports", status_code=201, tags=["forum"])
def report_comment(
    actor: CurrentActor,
    comment_id: str,
    body: ReportIn,
    report: Annotated[ReportContentHandler, Depends(resolve(ReportContentHandler))],
) -> ReportOut:
    return _report(ContentKind.COMMENT, comment_id, body, actor, report)


@router.get("/communities/{community_id}/moderation", tags=["forum"])
def moderation_queue(
    actor: CurrentActor,
    community_id: str,
    queue: Annotated[ModerationQueueHandler, Depends(resolve(ModerationQueueHandler))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ReviewItemOut]:
    """What waits for the moderators: held posts and comments, and reported ones."""
    items = queue(ModerationQueue(CommunityId(community_id), limit), actor=actor)
    return [_review_out(i.content, i.reports) for i in items]


@router.post("/posts/{post_id}/moderation", tags=["forum"])
def moderate_post(
    actor: CurrentActor,
    post_id: str,
    body: ModerateIn,
    moderate: Annotated[ModerateContentHandler, Depends(resolve(ModerateContentHandler))],
) -> ReviewItemOut:
    """Hide or restore a post, with a reason (the community's moderators)."""
    done = moderate(ModerateContent(ContentKind.POST, post_id, body.hide, body.reason), actor=actor)
    return _review_out(done)


@router.post("/comments/{comment_id}/moderation", tags=["forum"])
def moderate_comment(
    actor: CurrentActor,
    comment_id: str,
    body: ModerateIn,
    moderate: Annotated[ModerateContentHandler, Depends(resolve(ModerateContentHandler))],
) -> ReviewItemOut:
    done = moderate(
        ModerateContent(ContentKind.COMMENT, comment_id, body.hide, body.reason), actor=actor
    )
    return _review_out(done)
