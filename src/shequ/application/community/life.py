"""Announcements (公告) and activities (活动): published and organised by a community's
operators, read and signed up for by its residents.

Sign-ups of an activity are taken under the activity's row lock, so however many
residents sign up at once, exactly ``capacity`` people get a place and the others go to
the waitlist in the order their sign-ups were taken; a cancelled place goes to the
earliest waiting.
"""

from __future__ import annotations

import datetime as dt

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.community import Activity, ActivitySignUp, Announcement, SignUpStatus
from shequ.domain.errors import Duplicate, IllegalTransition, InvalidInput, NotFound
from shequ.domain.ids import AccountId, ActivityId, AnnouncementId, CommunityId, new_id
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = [
    "ActivityView",
    "CancelActivity",
    "CancelActivityHandler",
    "CreateActivity",
    "CreateActivityHandler",
    "GetActivity",
    "GetActivityHandler",
    "JoinActivity",
    "JoinActivityHandler",
    "LeaveActivity",
    "LeaveActivityHandler",
    "ListActivities",
    "ListActivitiesHandler",
    "ListAnnouncements",
    "ListAnnouncementsHandler",
    "PublishAnnouncement",
    "PublishAnnouncementHandler",
    "WithdrawAnnouncement",
    "WithdrawAnnouncementHandler",
]


def _me(actor: Actor) -> AccountId:
    if actor.account_id is None:
        raise InvalidInput("sign up with a resident's account", field="resident_id")
    return actor.account_id


# ---------------------------------------------------------------- announcements


@attrs.frozen
class PublishAnnouncement:
    community_ids: tuple[CommunityId, ...]
    title: str
    body: str
    pinned: bool = False
    publish_at: dt.datetime | None = None  # default: now
    expires_at: dt.datetime | None = None


class PublishAnnouncementHandler:
    """The operators of every community it targets (or admins) publish it."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: PublishAnnouncement, *, actor: Actor) -> Announcement:
        for community_id in cmd.community_ids:
            self._policy.require(actor, Permission.COMMUNITY_LIFE, community_id=community_id)
        made = Announcement.publish(
            id=AnnouncementId(new_id()),
            author_id=actor.account_id,
            community_ids=cmd.community_ids,
            title=cmd.title,
            body=cmd.body,
            pinned=cmd.pinned,
            publish_at=cmd.publish_at,
            expires_at=cmd.expires_at,
            now=self._clock.now(),
        )
        with self._uow as uow:
            for community_id in made.community_ids:
                uow.communities.get(community_id)
            uow.announcements.add(made)
            uow.commit()
        return made


@attrs.frozen
class WithdrawAnnouncement:
    announcement_id: AnnouncementId


class WithdrawAnnouncementHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, cmd: WithdrawAnnouncement, *, actor: Actor) -> Announcement:
        def attempt() -> Announcement:
            with self._uow as uow:
                made = uow.announcements.get_for_update(cmd.announcement_id)
                for community_id in made.community_ids:
                    self._policy.require(
                        actor, Permission.COMMUNITY_LIFE, community_id=community_id
                    )
                made.withdraw()
                uow.commit()
            return made

        return retry_on_conflict(attempt)


@attrs.frozen
class ListAnnouncements:
    community_id: CommunityId
    limit: int = 50


class ListAnnouncementsHandler:
    """What a community's notice board shows now: pinned first, then the newest."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: ListAnnouncements, *, actor: Actor) -> list[Announcement]:
        self._policy.require(actor, Permission.BROWSE)
        if type(query.limit) is not int or not 1 <= query.limit <= 200:
            raise InvalidInput("page size must be 1 to 200", field="limit")
        with self._uow as uow:
            return uow.announcements.shown_in(query.community_id, self._clock.now(), query.limit)


# ---------------------------------------------------------------- activities


@attrs.frozen
class CreateActivity:
    community_id: CommunityId
    title: str
    place: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    description: str = ""
    signups_close_at: dt.datetime | None = None  # default: when it starts


class CreateActivityHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: CreateActivity, *, actor: Actor) -> Activity:
        self._policy.require(actor, Permission.COMMUNITY_LIFE, community_id=cmd.community_id)
        activity = Activity.create(
            id=ActivityId(new_id()),
            community_id=cmd.community_id,
            title=cmd.title,
            description=cmd.description,
            place=cmd.place,
            starts_at=cmd.starts_at,
            ends_at=cmd.ends_at,
            capacity=cmd.capacity,
            signups_close_at=cmd.signups_close_at,
            organiser_id=actor.account_id,
            now=self._clock.now(),
        )
        with self._uow as uow:
            uow.communities.get(cmd.community_id)
            uow.activities.add(activity)
            uow.commit()
        return activity


@attrs.frozen
class ActivityView:
    """An activity, the asker's own sign-up (if any), and for its staff every sign-up in
    the order they came."""

    activity: Activity
    mine: ActivitySignUp | None
    sign_ups: tuple[ActivitySignUp, ...]

    @property
    def waitlist(self) -> tuple[ActivitySignUp, ...]:
        return tuple(s for s in self.sign_ups if s.status is SignUpStatus.WAITLISTED)


@attrs.frozen
class GetActivity:
    activity_id: ActivityId


class GetActivityHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: GetActivity, *, actor: Actor) -> ActivityView:
        self._policy.require(actor, Permission.BROWSE)
        with self._uow as uow:
            activity = uow.activities.get(query.activity_id)
            mine = (
                uow.sign_ups.active(activity.id, actor.account_id)
                if actor.account_id is not None
                else None
            )
            staff = self._policy.allows(
                actor, Permission.COMMUNITY_LIFE, community_id=activity.community_id
            )
            every = tuple(uow.sign_ups.of_activity(activity.id)) if staff else ()
        return ActivityView(activity, mine, every)


@attrs.frozen
class ListActivities:
    """A community's activities starting on ``days`` days from ``day`` (default today)."""

    community_id: CommunityId
    day: dt.date | None = None
    days: int = 30


class ListActivitiesHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: ListActivities, *, actor: Actor) -> list[Activity]:
        self._policy.require(actor, Permission.BROWSE)
        if type(query.days) is not int or not 1 <= query.days <= 366:
            raise InvalidInput("list 1 to 366 days", field="days")
        day = query.day or self._clock.now().astimezone(CHINA_STANDARD_TIME).date()
        start = dt.datetime.combine(day, dt.time(), tzinfo=CHINA_STANDARD_TIME)
        with self._uow as uow:
            return uow.activities.in_community(
                query.community_id, start, start + dt.timedelta(days=query.days)
            )


@attrs.frozen
class JoinActivity:
    """Sign ``resident_id`` up for ``people`` places (1 to 10, the resident's household)."""

    activity_id: ActivityId
    resident_id: AccountId
    people: int = 1


class JoinActivityHandler:
    """A resident of the activity's community signs themselves up: a place while places
    are left, else the waitlist. Signing up twice is ``duplicate``."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: JoinActivity, *, actor: Actor) -> ActivitySignUp:
        def attempt() -> ActivitySignUp:
            with self._uow as uow:
                activity = uow.activities.get_for_update(cmd.activity_id)  # one at a time
                self._policy.require(
                    actor, Permission.BUY, community_id=activity.community_id, owner=cmd.resident_id
                )
                if uow.sign_ups.active(activity.id, cmd.resident_id) is not None:
                    raise Duplicate(f"you have signed up for {activity.title} already")
                made = activity.sign_up(
                    new_id(), cmd.resident_id, people=cmd.people, now=self._clock.now()
                )
                uow.sign_ups.add(made)
                uow.commit()
            return made

        return retry_on_conflict(attempt)


@attrs.frozen
class LeaveActivity:
    activity_id: ActivityId
    resident_id: AccountId


class LeaveActivityHandler:
    """The resident (or the activity's staff) cancels a sign-up; a place it held goes to
    the earliest waiting. Returns the sign-ups moved up."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: LeaveActivity, *, actor: Actor) -> list[ActivitySignUp]:
        def attempt() -> list[ActivitySignUp]:
            with self._uow as uow:
                activity = uow.activities.get_for_update(cmd.activity_id)
                if not self._policy.allows(actor, Permission.OWN_ORDER, owner=cmd.resident_id):
                    self._policy.require(
                        actor, Permission.COMMUNITY_LIFE, community_id=activity.community_id
                    )
                every = uow.sign_ups.of_activity(activity.id)
                mine = next(
                    (
                        s
                        for s in every
                        if s.resident_id == cmd.resident_id
                        and s.status is not SignUpStatus.CANCELLED
                    ),
                    None,
                )
                if mine is None:
                    raise NotFound(f"{cmd.resident_id} has no sign-up for {activity.title}")
                moved = activity.cancel_sign_up(mine, every, now=self._clock.now())
                uow.commit()
            return moved

        return retry_on_conflict(attempt)


@attrs.frozen
class CancelActivity:
    activity_id: ActivityId
    reason: str


class CancelActivityHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: CancelActivity, *, actor: Actor) -> Activity:
        def attempt() -> Activity:
            with self._uow as uow:
                activity = uow.activities.get_for_update(cmd.activity_id)
                self._policy.require(
                    actor, Permission.COMMUNITY_LIFE, community_id=activity.community_id
                )
                if self._clock.now() >= activity.ends_at:
                    raise IllegalTransition(
                        f"activity {activity.id} is over", status="over", action="cancel"
                    )
                activity.cancel(cmd.reason, now=self._clock.now())
                uow.commit()
            return activity

        return retry_on_conflict(attempt)
