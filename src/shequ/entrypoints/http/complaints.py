"""``/v1`` routes of complaints and suggestions (投诉建议)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field, StrictInt, StrictStr

from shequ.application.community.complaints import (
    FileComplaint,
    FileComplaintHandler,
    GetComplaint,
    GetComplaintHandler,
    ListComplaints,
    ListComplaintsHandler,
    MoveComplaint,
    MoveComplaintHandler,
    RateComplaint,
    RateComplaintHandler,
    ReplyToComplaint,
    ReplyToComplaintHandler,
)
from shequ.domain.complaints import Complaint, ComplaintCategory, ComplaintStatus
from shequ.domain.ids import BookingId, CommunityId, ComplaintId, OrderId
from shequ.entrypoints.http.deps import CurrentActor, Input, Output, resolve, signed_in

__all__ = ["ComplaintIn", "ComplaintOut", "ReplyOut", "router"]

router = APIRouter(prefix="/v1")


class ComplaintIn(Input):
    """About ``order_id`` or ``booking_id`` (yours), or, about neither, in ``community_id``."""

    category: ComplaintCategory
    title: StrictStr
    body: StrictStr
    community_id: StrictStr | None = None
    order_id: StrictStr | None = None
    booking_id: StrictStr | None = None


class ReplyOut(Output):
    at: dt.datetime
    author_id: str | None
    staff: bool
    text: str


class ComplaintOut(Output):
    id: str
    resident_id: str
    community_id: str
    category: ComplaintCategory
    title: str
    body: str
    order_id: str | None
    booking_id: str | None
    status: ComplaintStatus
    created_at: dt.datetime
    respond_by: dt.datetime
    first_response_at: dt.datetime | None
    resolution: str
    satisfaction: int | None
    replies: list[ReplyOut]

    @classmethod
    def of(cls, c: Complaint) -> ComplaintOut:
        return cls(
            id=c.id,
            resident_id=c.resident_id,
            community_id=c.community_id,
            category=c.category,
            title=c.title,
            body=c.body,
            order_id=c.order_id,
            booking_id=c.booking_id,
            status=c.status,
            created_at=c.created_at,
            respond_by=c.respond_by,
            first_response_at=c.first_response_at,
            resolution=c.resolution,
            satisfaction=c.satisfaction,
            replies=[
                ReplyOut(at=r.at, author_id=r.author_id, staff=r.staff, text=r.text)
                for r in c.replies
            ],
        )


class ReplyIn(Input):
    text: StrictStr


class MoveIn(Input):
    """The staff: ``in_progress``, ``resolved`` (``note`` says how), ``closed``; the
    resident: ``closed``, or ``reopened`` (``note`` says why)."""

    status: ComplaintStatus
    note: StrictStr = Field(default="", max_length=2000)


class RatingIn(Input):
    satisfaction: StrictInt = Field(description="1 (not at all) to 5 (very satisfied)")


@router.post("/complaints", status_code=201, tags=["complaints"])
def file_complaint(
    actor: CurrentActor,
    body: ComplaintIn,
    file: Annotated[FileComplaintHandler, Depends(resolve(FileComplaintHandler))],
) -> ComplaintOut:
    """File a complaint or a suggestion (a resident, in their own name)."""
    made = file(
        FileComplaint(
            signed_in(actor),
            body.category,
            body.title,
            body.body,
            None if body.community_id is None else CommunityId(body.community_id),
            None if body.order_id is None else OrderId(body.order_id),
            None if body.booking_id is None else BookingId(body.booking_id),
        ),
        actor=actor,
    )
    return ComplaintOut.of(made)


@router.get("/me/complaints", tags=["complaints"])
def my_complaints(
    actor: CurrentActor,
    search: Annotated[ListComplaintsHandler, Depends(resolve(ListComplaintsHandler))],
    status: ComplaintStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ComplaintOut]:
    """Your tickets, oldest first."""
    found = search(
        ListComplaints(resident_id=signed_in(actor), status=status, limit=limit), actor=actor
    )
    return [ComplaintOut.of(c) for c in found]


@router.get("/communities/{community_id}/complaints", tags=["complaints"])
def community_complaints(
    actor: CurrentActor,
    community_id: str,
    search: Annotated[ListComplaintsHandler, Depends(resolve(ListComplaintsHandler))],
    status: ComplaintStatus | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ComplaintOut]:
    """A community's tickets for its staff, oldest first; ``overdue=true``: only those
    unanswered past their deadline."""
    query = ListComplaints(
        community_id=CommunityId(community_id), status=status, overdue=overdue, limit=limit
    )
    return [ComplaintOut.of(c) for c in search(query, actor=actor)]


@router.get("/complaints/{complaint_id}", tags=["complaints"])
def get_complaint(
    actor: CurrentActor,
    complaint_id: str,
    get: Annotated[GetComplaintHandler, Depends(resolve(GetComplaintHandler))],
) -> ComplaintOut:
    return ComplaintOut.of(get(GetComplaint(ComplaintId(complaint_id)), actor=actor))


@router.post("/complaints/{complaint_id}/replies", tags=["complaints"])
def reply(
    actor: CurrentActor,
    complaint_id: str,
    body: ReplyIn,
    reply: Annotated[ReplyToComplaintHandler, Depends(resolve(ReplyToComplaintHandler))],
) -> ComplaintOut:
    """Reply (its resident or the community's staff); the staff's first reply takes the
    ticket on."""
    return ComplaintOut.of(
        reply(ReplyToComplaint(ComplaintId(complaint_id), body.text), actor=actor)
    )


@router.post("/complaints/{complaint_id}/status", tags=["complaints"])
def move_complaint(
    actor: CurrentActor,
    complaint_id: str,
    body: MoveIn,
    move: Annotated[MoveComplaintHandler, Depends(resolve(MoveComplaintHandler))],
) -> ComplaintOut:
    done = move(MoveComplaint(ComplaintId(complaint_id), body.status, body.note), actor=actor)
    return ComplaintOut.of(done)


@router.post("/complaints/{complaint_id}/rating", tags=["complaints"])
def rate_complaint(
    actor: CurrentActor,
    complaint_id: str,
    body: RatingIn,
    rate: Annotated[RateComplaintHandler, Depends(resolve(RateComplaintHandler))],
) -> ComplaintOut:
    """How satisfied you are with how it was resolved (its resident, once)."""
    done = rate(RateComplaint(ComplaintId(complaint_id), body.satisfaction), actor=actor)
    return ComplaintOut.of(done)
