"""Community life (社区生活): announcements (公告) from the property office or the operators,
and activities (活动) residents sign up for, with a waitlist that moves up.

An :class:`Announcement` targets some communities; it shows from its ``publish_at`` until
its ``expires_at`` (if any), pinned ones first, unless withdrawn.

An :class:`Activity` has a time, a place and a capacity. Sign-ups are taken under the
activity's row lock, each numbered in the order it came (``seq``): while places are left
a sign-up is ``confirmed``, after that ``waitlisted``. When a confirmed sign-up is
cancelled, the earliest waitlisted one takes its place. Text is stored as written; it is
for whoever shows it to escape it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable

import attrs

from shequ.domain.errors import IllegalTransition, InvalidInput
from shequ.domain.events import DomainEvent
from shequ.domain.ids import AccountId, ActivityId, AnnouncementId, CommunityId, check_id
from shequ.domain.values import clean_text, utc_time

__all__ = [
    "Activity",
    "ActivityCancelled",
    "ActivitySignUp",
    "Announcement",
    "AnnouncementPublished",
    "SignUpChanged",
    "SignUpStatus",
]


# ---------------------------------------------------------------- announcements


@attrs.frozen(kw_only=True)
class AnnouncementPublished(DomainEvent):
    announcement_id: AnnouncementId
    community_ids: tuple[CommunityId, ...]
    publish_at: dt.datetime
    pinned: bool


@attrs.define(slots=False, eq=False)
class Announcement:
    id: AnnouncementId
    author_id: AccountId | None
    community_ids: tuple[CommunityId, ...]
    title: str
    body: str
    pinned: bool
    publish_at: dt.datetime
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    withdrawn: bool = False
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def publish(
        cls,
        *,
        id: AnnouncementId,
        author_id: AccountId | None,
        community_ids: Iterable[CommunityId],
        title: str,
        body: str,
        pinned: bool = False,
        publish_at: dt.datetime | None = None,
        expires_at: dt.datetime | None = None,
        now: dt.datetime,
    ) -> Announcement:
        check_id(id, "announcement")
        targets = tuple(sorted(set(community_ids)))
        if not targets:
            raise InvalidInput(
                "an announcement is for one community or more", field="community_ids"
            )
        starts = now if publish_at is None else utc_time(publish_at, "publish_at")
        ends = None if expires_at is None else utc_time(expires_at, "expires_at")
        if ends is not None and ends <= max(starts, now):
            raise InvalidInput("an announcement expires after it is published", field="expires_at")
        made = cls(
            id=id,
            author_id=author_id,
            community_ids=targets,
            title=clean_text(title, "title", max_len=100),
            body=clean_text(body, "body", max_len=5000),
            pinned=bool(pinned),
            publish_at=starts,
            created_at=now,
            expires_at=ends,
        )
        made.events.append(
            AnnouncementPublished(
                occurred_at=now,
                announcement_id=id,
                community_ids=targets,
                publish_at=starts,
                pinned=made.pinned,
            )
        )
        return made

    def shown(self, community_id: CommunityId, now: dt.datetime) -> bool:
        return (
            community_id in self.community_ids
            and not self.withdrawn
            and self.publish_at <= now
            and (self.expires_at is None or now < self.expires_at)
        )

    def withdraw(self) -> None:
        if not self.withdrawn:
            self.withdrawn = True
            self.version += 1


# ---------------------------------------------------------------- activities


class SignUpStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class SignUpChanged(DomainEvent):
    """A sign-up was made (confirmed or waitlisted), cancelled, or moved up from the
    waitlist (``promoted``)."""

    activity_id: ActivityId
    resident_id: AccountId
    status: SignUpStatus
    promoted: bool = False


@attrs.frozen(kw_only=True)
class ActivityCancelled(DomainEvent):
    activity_id: ActivityId
    reason: str


@attrs.define(slots=False, eq=False)
class ActivitySignUp:
    """A resident's place at an activity, numbered in the order it came."""

    id: str
    activity_id: ActivityId
    resident_id: AccountId
    seq: int
    status: SignUpStatus
    signed_up_at: dt.datetime
    people: int = 1
    changed_at: dt.datetime | None = None
    version: int = 1


@attrs.define(slots=False, eq=False)
class Activity:
    """An event of a community: ``confirmed`` counts the people with a place and
    ``next_seq`` numbers sign-ups; both change only under the activity's row lock."""

    id: ActivityId
    community_id: CommunityId
    title: str
    description: str
    place: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    signups_close_at: dt.datetime
    created_at: dt.datetime
    organiser_id: AccountId | None = None
    confirmed: int = 0
    next_seq: int = 1
    cancelled: bool = False
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        id: ActivityId,
        community_id: CommunityId,
        title: str,
        description: str,
        place: str,
        starts_at: dt.datetime,
        ends_at: dt.datetime,
        capacity: int,
        signups_close_at: dt.datetime | None = None,
        organiser_id: AccountId | None = None,
        now: dt.datetime,
    ) -> Activity:
        check_id(id, "activity")
        starts, ends = utc_time(starts_at, "starts_at"), utc_time(ends_at, "ends_at")
        if ends <= starts:
            raise InvalidInput("an activity ends after it starts", field="ends_at")
        if starts <= now:
            raise InvalidInput("an activity is announced before it starts", field="starts_at")
        if type(capacity) is not int or not 1 <= capacity <= 10_000:
            raise InvalidInput("an activity takes 1 to 10,000 people", field="capacity")
        closes = (
            starts if signups_close_at is None else utc_time(signups_close_at, "signups_close_at")
        )
        if not now < closes <= starts:
            raise InvalidInput(
                "sign-ups close after now and by the start", field="signups_close_at"
            )
        return cls(
            id=id,
            community_id=community_id,
            title=clean_text(title, "title", max_len=100),
            description=clean_text(description, "description", max_len=5000, required=False),
            place=clean_text(place, "place", max_len=200),
            starts_at=starts,
            ends_at=ends,
            capacity=capacity,
            signups_close_at=closes,
            created_at=now,
            organiser_id=organiser_id,
        )

    @property
    def places_left(self) -> int:
        return max(0, self.capacity - self.confirmed)

    def sign_up(
        self, sign_up_id: str, resident_id: AccountId, *, people: int, now: dt.datetime
    ) -> ActivitySignUp:
        """Take the resident's ``people`` places if they are left, else a place on the
        waitlist, numbered after every sign-up so far."""
        self._check_open(now)
        if type(people) is not int or not 1 <= people <= 10:
            raise InvalidInput("sign up 1 to 10 people", field="people")
        fits = people <= self.places_left
        status = SignUpStatus.CONFIRMED if fits else SignUpStatus.WAITLISTED
        made = ActivitySignUp(sign_up_id, self.id, resident_id, self.next_seq, status, now, people)
        self.next_seq += 1
        if fits:
            self.confirmed += people
        self.version += 1
        self.events.append(
            SignUpChanged(
                occurred_at=now, activity_id=self.id, resident_id=resident_id, status=status
            )
        )
        return made

    def cancel_sign_up(
        self, sign_up: ActivitySignUp, waitlist: list[ActivitySignUp], *, now: dt.datetime
    ) -> list[ActivitySignUp]:
        """Cancel ``sign_up``; a confirmed one's places go to the earliest of ``waitlist``
        that fit, in order. Returns those moved up."""
        if sign_up.status is SignUpStatus.CANCELLED:
            raise IllegalTransition(
                "that sign-up is cancelled already", status="cancelled", action="cancel"
            )
        if now >= self.starts_at:
            raise IllegalTransition(
                f"activity {self.id} has started", status="started", action="cancel"
            )
        was = sign_up.status
        sign_up.status, sign_up.changed_at = SignUpStatus.CANCELLED, now
        sign_up.version += 1
        self.version += 1
        self.events.append(
            SignUpChanged(
                occurred_at=now,
                activity_id=self.id,
                resident_id=sign_up.resident_id,
                status=SignUpStatus.CANCELLED,
            )
        )
        if was is not SignUpStatus.CONFIRMED:
            return []
        self.confirmed -= sign_up.people
        return self._promote(waitlist, now)

    def _promote(self, waitlist: list[ActivitySignUp], now: dt.datetime) -> list[ActivitySignUp]:
        moved = []
        for waiting in sorted(waitlist, key=lambda s: s.seq):
            if waiting.status is not SignUpStatus.WAITLISTED:
                continue
            if waiting.people > self.places_left:
                break  # the order holds: nobody jumps the queue for a smaller party
            waiting.status, waiting.changed_at = SignUpStatus.CONFIRMED, now
            waiting.version += 1
            self.confirmed += waiting.people
            moved.append(waiting)
            self.events.append(
                SignUpChanged(
                    occurred_at=now,
                    activity_id=self.id,
                    resident_id=waiting.resident_id,
                    status=SignUpStatus.CONFIRMED,
                    promoted=True,
                )
            )
        return moved

    def cancel(self, reason: str, *, now: dt.datetime) -> None:
        if self.cancelled:
            raise IllegalTransition(
                f"activity {self.id} is cancelled already", status="cancelled", action="cancel"
            )
        self.cancelled = True
        self.version += 1
        self.events.append(
            ActivityCancelled(
                occurred_at=now,
                activity_id=self.id,
                reason=clean_text(reason, "reason", max_len=300),
            )
        )

    def _check_open(self, now: dt.datetime) -> None:
        if self.cancelled or now >= self.signups_close_at:
            raise IllegalTransition(
                f"activity {self.id} takes no sign-ups now",
                status="cancelled" if self.cancelled else "closed",
                action="sign_up",
            )
