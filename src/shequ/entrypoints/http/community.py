"""``/v1`` routes of community life: announcements (公告) and activities (活动)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field, StrictBool, StrictInt, StrictStr

from shequ.application.community.life import (
    ActivityView,
    CancelActivity,
    CancelActivityHandler,
    CreateActivity,
    CreateActivityHandler,
    GetActivity,
    GetActivityHandler,
    JoinActivity,
    JoinActivityHandler,
    LeaveActivity,
    LeaveActivityHandler,
    ListActivities,
    ListActivitiesHandler,
    ListAnnouncements,
    ListAnnouncementsHandler,
    PublishAnnouncement,
    PublishAnnouncementHandler,
    WithdrawAnnouncement,
    WithdrawAnnouncementHandler,
)
from shequ.domain.community import Activity, ActivitySignUp, Announcement
from shequ.domain.ids import ActivityId, AnnouncementId, CommunityId
from shequ.entrypoints.http.deps import CurrentActor, Input, Output, resolve, signed_in

__all__ = [
    "ActivityIn",
    "ActivityOut",
    "ActivityViewOut",
    "AnnouncementIn",
    "AnnouncementOut",
    "SignUpOut",
    "router",
]

router = APIRouter(prefix="/v1")


class AnnouncementIn(Input):
    community_ids: list[StrictStr] = Field(min_length=1, max_length=50)
    title: StrictStr
    body: StrictStr
    pinned: StrictBool = False
    publish_at: dt.datetime | None = Field(default=None, description="default: now")
    expires_at: dt.datetime | None = None


class AnnouncementOut(Output):
    id: str
    community_ids: list[str]
    title: str
    body: str
    pinned: bool
    publish_at: dt.datetime
    expires_at: dt.datetime | None
    withdrawn: bool

    @classmethod
    def of(cls, a: Announcement) -> AnnouncementOut:
        return cls(
            id=a.id,
            community_ids=list(a.community_ids),
            title=a.title,
            body=a.body,
            pinned=a.pinned,
            publish_at=a.publish_at,
            expires_at=a.expires_at,
            withdrawn=a.withdrawn,
        )


class ActivityIn(Input):
    community_id: StrictStr
    title: StrictStr
    place: StrictStr
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: StrictInt
    description: StrictStr = ""
    signups_close_at: dt.datetime | None = Field(default=None, description="default: its start")


class ActivityOut(Output):
    id: str
    community_id: str
    title: str
    description: str
    place: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    confirmed: int
    places_left: int
    signups_close_at: dt.datetime
    cancelled: bool

    @classmethod
    def of(cls, a: Activity) -> ActivityOut:
        return cls(
            id=a.id,
            community_id=a.community_id,
            title=a.title,
            description=a.description,
            place=a.place,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            capacity=a.capacity,
            confirmed=a.confirmed,
            places_left=a.places_left,
            signups_close_at=a.signups_close_at,
            cancelled=a.cancelled,
        )


class SignUpOut(Output):
    """A sign-up: ``seq`` is its place in the order sign-ups came."""

    resident_id: str
    seq: int
    people: int
    status: str
    signed_up_at: dt.datetime

    @classmethod
    def of(cls, s: ActivitySignUp) -> SignUpOut:
        return cls(
            resident_id=s.resident_id,
            seq=s.seq,
            people=s.people,
            status=s.status.value,
            signed_up_at=s.signed_up_at,
        )


class ActivityViewOut(Output):
    activity: ActivityOut
    mine: SignUpOut | None
    sign_ups: list[SignUpOut]

    @classmethod
    def of(cls, v: ActivityView) -> ActivityViewOut:
        return cls(
            activity=ActivityOut.of(v.activity),
            mine=None if v.mine is None else SignUpOut.of(v.mine),
            sign_ups=[SignUpOut.of(s) for s in v.sign_ups],
        )


class JoinIn(Input):
    people: StrictInt = 1


class CancelIn(Input):
    reason: StrictStr = Field(max_length=300)


@router.post("/announcements", status_code=201, tags=["community"])
def publish(
    actor: CurrentActor,
    body: AnnouncementIn,
    publish: Annotated[PublishAnnouncementHandler, Depends(resolve(PublishAnnouncementHandler))],
) -> AnnouncementOut:
    """Publish an announcement to communities (their operators)."""
    made = publish(
        PublishAnnouncement(
            tuple(CommunityId(c) for c in body.community_ids),
            body.title,
            body.body,
            body.pinned,
            body.publish_at,
            body.expires_at,
        ),
        actor=actor,
    )
    return AnnouncementOut.of(made)


@router.get("/communities/{community_id}/announcements", tags=["community"])
def board(
    actor: CurrentActor,
    community_id: str,
    board: Annotated[ListAnnouncementsHandler, Depends(resolve(ListAnnouncementsHandler))],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AnnouncementOut]:
    """The community's notice board now: pinned first, then the newest."""
    shown = board(ListAnnouncements(CommunityId(community_id), limit), actor=actor)
    return [AnnouncementOut.of(a) for a in shown]


@router.post("/announcements/{announcement_id}/withdraw", tags=["community"])
def withdraw(
    actor: CurrentActor,
    announcement_id: str,
    withdraw: Annotated[WithdrawAnnouncementHandler, Depends(resolve(WithdrawAnnouncementHandler))],
) -> AnnouncementOut:
    return AnnouncementOut.of(
        withdraw(WithdrawAnnouncement(AnnouncementId(announcement_id)), actor=actor)
    )


@router.post("/activities", status_code=201, tags=["community"])
def create_activity(
    actor: CurrentActor,
    body: ActivityIn,
    create: Annotated[CreateActivityHandler, Depends(resolve(CreateActivityHandler))],
) -> ActivityOut:
    """Organise an activity (the community's operators)."""
    made = create(
        CreateActivity(
            CommunityId(body.community_id),
            body.title,
            body.place,
            body.starts_at,
            body.ends_at,
            body.capacity,
            body.description,
            body.signups_close_at,
        ),
        actor=actor,
    )
    return ActivityOut.of(made)


@router.get("/communities/{community_id}/activities", tags=["community"])
def list_activities(
    actor: CurrentActor,
    community_id: str,
    list_all: Annotated[ListActivitiesHandler, Depends(resolve(ListActivitiesHandler))],
    date: dt.date | None = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> list[ActivityOut]:
    found = list_all(ListActivities(CommunityId(community_id), date, days), actor=actor)
    return [ActivityOut.of(a) for a in found]


@router.get("/activities/{activity_id}", tags=["community"])
def get_activity(
    actor: CurrentActor,
    activity_id: str,
    get: Annotated[GetActivityHandler, Depends(resolve(GetActivityHandler))],
) -> ActivityViewOut:
    """An activity with your sign-up; its staff also see every sign-up in order."""
    return ActivityViewOut.of(get(GetActivity(ActivityId(activity_id)), actor=actor))


@router.post("/activities/{activity_id}/sign-ups", status_code=201, tags=["community"])
def join(
    actor: CurrentActor,
    activity_id: str,
    join: Annotated[JoinActivityHandler, Depends(resolve(JoinActivityHandler))],
    body: JoinIn | None = None,
) -> SignUpOut:
    """Sign yourself up (residents of its community): ``confirmed`` while places are
    left, ``waitlisted`` after, in the order sign-ups come."""
    people = body.people if body else 1
    made = join(JoinActivity(ActivityId(activity_id), signed_in(actor), people), actor=actor)
    return SignUpOut.of(made)


@router.delete("/activities/{activity_id}/sign-ups/mine", tags=["community"])
def leave(
    actor: CurrentActor,
    activity_id: str,
    leave: Annotated[LeaveActivityHandler, Depends(resolve(LeaveActivityHandler))],
) -> list[SignUpOut]:
    """Give your place back; the answer lists those it moved up from the waitlist."""
    moved = leave(LeaveActivity(ActivityId(activity_id), signed_in(actor)), actor=actor)
    return [SignUpOut.of(s) for s in moved]


@router.post("/activities/{activity_id}/cancel", tags=["community"])
def cancel_activity(
    actor: CurrentActor,
    activity_id: str,
    body: CancelIn,
    cancel: Annotated[CancelActivityHandler, Depends(resolve(CancelActivityHandler))],
) -> ActivityOut:
    return ActivityOut.of(cancel(CancelActivity(ActivityId(activity_id), body.reason), actor=actor))
