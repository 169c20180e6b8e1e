"""The community forum (论坛): boards of a community, residents' posts and comments, likes,
reports, and the moderators who hide or restore what was posted.

A post or a comment is ``published``, or ``held`` for review (it matched a sensitive word,
or enough residents reported it), ``hidden`` by a moderator, or ``deleted`` by its author::

    published ──(reports reach the threshold)──→ held
    published, held ──(a moderator hides it)──→ hidden
    held, hidden ──(a moderator restores it)──→ published
    published with open reports ──(a moderator keeps it)──→ published
    any but deleted ──(its author deletes it)──→ deleted

Only published text is shown to readers; its author and the moderators see the rest. Text
is stored as written: whoever shows it escapes it.
"""

from __future__ import annotations

import datetime as dt
import enum
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar, Final

import attrs

from shequ.domain.errors import IllegalTransition, InvalidInput
from shequ.domain.events import DomainEvent
from shequ.domain.ids import AccountId, BoardId, CommentId, CommunityId, PostId, ReportId
from shequ.domain.media import photos
from shequ.domain.values import clean_text

__all__ = [
    "MAX_COMMENT",
    "MAX_POST",
    "Board",
    "Comment",
    "ContentKind",
    "ContentModerated",
    "ContentReported",
    "ContentStatus",
    "ForumReport",
    "Moderation",
    "Post",
    "PostLike",
    "Posted",
    "ReportReason",
    "ReportStatus",
    "SensitiveWords",
]

MAX_TITLE: Final = 100
MAX_POST: Final = 10_000
MAX_COMMENT: Final = 2_000


class ContentKind(enum.StrEnum):
    POST = "post"
    COMMENT = "comment"


class ContentStatus(enum.StrEnum):
    PUBLISHED = "published"
    HELD = "held"
    HIDDEN = "hidden"
    DELETED = "deleted"


class ReportReason(enum.StrEnum):
    SPAM = "spam"  # 广告
    ABUSE = "abuse"  # 辱骂、人身攻击
    FRAUD = "fraud"  # 诈骗
    ILLEGAL = "illegal"  # 违法违规
    PRIVACY = "privacy"  # 泄露隐私
    OTHER = "other"


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # the moderator hid what it reported
    DISMISSED = "dismissed"  # the moderator kept it published


_SKIPPED = ("Z", "P", "S", "C")  # separators, punctuation, symbols, control and format


def _normal(text: str) -> str:
    """Full-width to half-width, one case, and nothing that could split a word: ``赌 博``,
    ``赌*博`` and ``赌\u200b博`` all read ``赌博``."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not unicodedata.category(ch).startswith(_SKIPPED))


@attrs.frozen
class SensitiveWords:
    """The words that hold a post or a comment for review (敏感词), matched however they
    are spaced, punctuated or written in full-width letters."""

    words: frozenset[str] = frozenset()

    @classmethod
    def of(cls, words: Iterable[str]) -> SensitiveWords:
        return cls(frozenset(w for w in (_normal(word) for word in words) if w))

    def find(self, *texts: str) -> tuple[str, ...]:
        """The words found in the texts, sorted; empty when there are none."""
        said = "\n".join(_normal(t) for t in texts)
        return tuple(sorted(w for w in self.words if w in said))


@attrs.frozen
class Moderation:
    """A moderation step in a post's or comment's history."""

    at: dt.datetime
    status: ContentStatus
    reason: str
    moderator_id: AccountId | None  # None: the system (the word filter, residents' reports)


@attrs.frozen(kw_only=True)
class Posted(DomainEvent):
    """A post or a comment was written: ``published``, or ``held`` for review."""

    kind: ContentKind
    content_id: str
    post_id: PostId
    community_id: CommunityId
    author_id: AccountId
    status: ContentStatus
    words: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ContentReported(DomainEvent):
    kind: ContentKind
    content_id: str
    community_id: CommunityId
    reason: ReportReason
    open_reports: int
    held: bool  # this report held it for review


@attrs.frozen(kw_only=True)
class ContentModerated(DomainEvent):
    """A moderator hid or restored a post or comment, or its author deleted it."""

    kind: ContentKind
    content_id: str
    community_id: CommunityId
    status: ContentStatus
    reason: str
    moderator_id: AccountId | None


@attrs.define(slots=False, eq=False)
class Board:
    """A board (版块) of a community's forum."""

    id: BoardId
    community_id: CommunityId
    name: str
    description: str
    created_at: dt.datetime
    archived: bool = False
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def open(
        cls,
        *,
        id: BoardId,
        community_id: CommunityId,
        name: str,
        description: str,
        now: dt.datetime,
    ) -> Board:
        return cls(
            id=id,
            community_id=community_id,
            name=clean_text(name, "name", max_len=40),
            description=clean_text(description, "description", max_len=500, required=False),
            created_at=now,
        )

    def archive(self) -> None:
        """No new posts; what is there stays readable."""
        if self.archived:
            raise IllegalTransition(
                f"board {self.name} is archived already", status="archived", action="archive"
            )
        self.archived = True
        self.version += 1


@attrs.define(slots=False, eq=False)
class _Content:
    """What posts and comments share: an author, a status and how it was moderated."""

    community_id: CommunityId
    author_id: AccountId
    created_at: dt.datetime
    status: ContentStatus
    held_for: str  # why it is held (the words matched, or the reports), while it is
    open_reports: int
    history: list[Moderation]
    version: int
    kind: ClassVar[ContentKind]
    if TYPE_CHECKING:  # each kind's own, typed there
        id: str
        events: list[DomainEvent]

    @property
    def content_id(self) -> str:
        return self.id

    def _record(self, event: DomainEvent) -> None:
        self.events.append(event)

    def _step(
        self,
        to: ContentStatus,
        allowed_from: Sequence[ContentStatus],
        *,
        action: str,
        reason: str,
        moderator_id: AccountId | None,
        now: dt.datetime,
    ) -> None:
        if self.status not in allowed_from:
            raise IllegalTransition(
                f"this {self.kind.value} is {self.status.value}; it cannot be {action}",
                status=self.status.value,
                action=action,
            )
        self.status = to
        self.held_for = ""
        self.open_reports = 0
        self.history = [*self.history, Moderation(now, to, reason, moderator_id)]
        self.version += 1
        self._record(
            ContentModerated(
                occurred_at=now,
                kind=self.kind,
                content_id=self.content_id,
                community_id=self.community_id,
                status=to,
                reason=reason,
                moderator_id=moderator_id,
            )
        )

    def visible_to(self, reader: AccountId | None, *, moderator: bool) -> bool:
        if self.status is ContentStatus.PUBLISHED or moderator:
            return True
        return reader == self.author_id and self.status is not ContentStatus.DELETED

    def hide(self, reason: str, *, moderator_id: AccountId | None, now: dt.datetime) -> None:
        """A moderator takes it down, saying why; the reports on it are upheld."""
        said = clean_text(reason, "reason", max_len=300)
        self._step(
            ContentStatus.HIDDEN,
            (ContentStatus.PUBLISHED, ContentStatus.HELD),
            action="hidden",
            reason=said,
            moderator_id=moderator_id,
            now=now,
        )

    def restore(self, reason: str, *, moderator_id: AccountId | None, now: dt.datetime) -> None:
        """A moderator publishes what was held or hidden, or keeps published what was
        reported; the reports on it are dismissed."""
        said = clean_text(reason, "reason", max_len=300)
        reported = (ContentStatus.PUBLISHED,) if self.open_reports else ()
        self._step(
            ContentStatus.PUBLISHED,
            (ContentStatus.HELD, ContentStatus.HIDDEN, *reported),
            action="restored",
            reason=said,
            moderator_id=moderator_id,
            now=now,
        )

    def delete(self, *, now: dt.datetime) -> None:
        """Its author takes it away."""
        self._step(
            ContentStatus.DELETED,
            (ContentStatus.PUBLISHED, ContentStatus.HELD, ContentStatus.HIDDEN),
            action="deleted",
            reason="deleted by its author",
            moderator_id=self.author_id,
            now=now,
        )

    def report(
        self,
        reporter_id: AccountId,
        reason: ReportReason,
        *,
        hold_at: int,
        now: dt.datetime,
    ) -> bool:
        """Count a resident's report; at ``hold_at`` open reports a published text is held
        for review. True when this report held it."""
        if reporter_id == self.author_id:
            raise InvalidInput(f"you cannot report your own {self.kind.value}", field="target")
        if self.status not in (ContentStatus.PUBLISHED, ContentStatus.HELD):
            raise IllegalTransition(
                f"this {self.kind.value} is {self.status.value}: there is nothing to report",
                status=self.status.value,
                action="report",
            )
        self.open_reports += 1
        self.version += 1
        held = self.status is ContentStatus.PUBLISHED and self.open_reports >= hold_at
        if held:
            self.status = ContentStatus.HELD
            self.held_for = f"reported by {self.open_reports} residents"
            self.history = [
                *self.history,
                Moderation(now, ContentStatus.HELD, self.held_for, None),
            ]
        self._record(
            ContentReported(
                occurred_at=now,
                kind=self.kind,
                content_id=self.content_id,
                community_id=self.community_id,
                reason=reason,
                open_reports=self.open_reports,
                held=held,
            )
        )
        return held


def _screened(words: SensitiveWords, *texts: str) -> tuple[ContentStatus, str, tuple[str, ...]]:
    found = words.find(*texts)
    if found:
        return ContentStatus.HELD, "sensitive words: " + ", ".join(found), found
    return ContentStatus.PUBLISHED, "", ()


@attrs.define(slots=False, eq=False)
class Post(_Content):
    id: PostId = attrs.field(kw_only=True)
    board_id: BoardId = attrs.field(kw_only=True)
    title: str = attrs.field(kw_only=True)
    body: str = attrs.field(kw_only=True)
    photos: tuple[str, ...] = attrs.field(kw_only=True, default=())
    comments: int = attrs.field(kw_only=True, default=0)  # published ones
    likes: int = attrs.field(kw_only=True, default=0)
    last_activity_at: dt.datetime = attrs.field(kw_only=True)  # its last published comment
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    kind: ClassVar[ContentKind] = ContentKind.POST

    @classmethod
    def write(
        cls,
        *,
        id: PostId,
        board: Board,
        author_id: AccountId,
        title: str,
        body: str,
        photo_urls: Sequence[str] = (),
        words: SensitiveWords,
        now: dt.datetime,
    ) -> Post:
        if board.archived:
            raise IllegalTransition(
                f"board {board.name} is archived", status="archived", action="post"
            )
        title = clean_text(title, "title", max_len=MAX_TITLE)
        body = clean_text(body, "body", max_len=MAX_POST)
        status, held_for, found = _screened(words, title, body)
        post = cls(
            id=id,
            board_id=board.id,
            community_id=board.community_id,
            author_id=author_id,
            created_at=now,
            status=status,
            held_for=held_for,
            open_reports=0,
            history=[Moderation(now, status, held_for, None)] if found else [],
            version=1,
            title=title,
            body=body,
            photos=photos(photo_urls),
            last_activity_at=now,
        )
        post.events.append(
            Posted(
                occurred_at=now,
                kind=ContentKind.POST,
                content_id=id,
                post_id=id,
                community_id=post.community_id,
                author_id=author_id,
                status=status,
                words=found,
            )
        )
        return post

    def comment(
        self,
        *,
        id: CommentId,
        author_id: AccountId,
        body: str,
        words: SensitiveWords,
        now: dt.datetime,
    ) -> Comment:
        if self.status is not ContentStatus.PUBLISHED:
            raise IllegalTransition(
                f"post {self.id} is {self.status.value}: it takes no comments",
                status=self.status.value,
                action="comment",
            )
        said = clean_text(body, "body", max_len=MAX_COMMENT)
        status, held_for, found = _screened(words, said)
        made = Comment(
            id=id,
            post_id=self.id,
            community_id=self.community_id,
            author_id=author_id,
            created_at=now,
            status=status,
            held_for=held_for,
            open_reports=0,
            history=[Moderation(now, status, held_for, None)] if found else [],
            version=1,
            body=said,
        )
        if status is ContentStatus.PUBLISHED:
            self.counted(+1, now=now)
        made.events.append(
            Posted(
                occurred_at=now,
                kind=ContentKind.COMMENT,
                content_id=id,
                post_id=self.id,
                community_id=self.community_id,
                author_id=author_id,
                status=status,
                words=found,
            )
        )
        return made

    def counted(self, change: int, *, now: dt.datetime) -> None:
        """A published comment came (+1) or went (-1)."""
        self.comments = max(0, self.comments + change)
        if change > 0:
            self.last_activity_at = now
        self.version += 1

    def liked(self, change: int) -> None:
        self.likes = max(0, self.likes + change)
        self.version += 1


@attrs.define(slots=False, eq=False)
class Comment(_Content):
    id: CommentId = attrs.field(kw_only=True)
    post_id: PostId = attrs.field(kw_only=True)
    body: str = attrs.field(kw_only=True)
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    kind: ClassVar[ContentKind] = ContentKind.COMMENT


@attrs.define(slots=False, eq=False)
class PostLike:
    """A resident's like of a post: one row per resident and post, on or off."""

    id: str
    post_id: PostId
    account_id: AccountId
    liked: bool
    changed_at: dt.datetime
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    def turn(self, liked: bool, *, now: dt.datetime) -> bool:
        """Like or unlike; True when that changed anything."""
        if self.liked == liked:
            return False
        self.liked, self.changed_at = liked, now
        self.version += 1
        return True


@attrs.define(slots=False, eq=False)
class ForumReport:
    """A resident's report of a post or a comment, open until a moderator decides."""

    id: ReportId
    community_id: CommunityId
    kind: ContentKind
    content_id: str
    post_id: PostId
    reporter_id: AccountId
    reason: ReportReason
    note: str
    created_at: dt.datetime
    status: ReportStatus = ReportStatus.OPEN
    decided_at: dt.datetime | None = None
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def file(
        cls,
        *,
        id: ReportId,
        target: Post | Comment,
        reporter_id: AccountId,
        reason: ReportReason,
        note: str,
        now: dt.datetime,
    ) -> ForumReport:
        try:
            why = ReportReason(reason)
        except ValueError:
            known = ", ".join(r.value for r in ReportReason)
            raise InvalidInput(
                f"no reason {reason!r}; choose one of {known}", field="reason"
            ) from None
        return cls(
            id=id,
            community_id=target.community_id,
            kind=target.kind,
            content_id=target.content_id,
            post_id=target.id if isinstance(target, Post) else target.post_id,
            reporter_id=reporter_id,
            reason=why,
            note=clean_text(note, "note", max_len=500, required=False),
            created_at=now,
        )

    def decide(self, upheld: bool, *, now: dt.datetime) -> None:
        self.status = ReportStatus.UPHELD if upheld else ReportStatus.DISMISSED
        self.decided_at = now
        self.version += 1
