"""Complaints and suggestions (投诉建议): a resident's ticket about a product, a delivery, a
service, a pickup point or the platform, or a suggestion, and how the community's staff
answer it.

::

    open → in_progress → resolved → closed
             ↑              │
             └── reopened ←─┘   (the resident is not satisfied)

A ticket must be answered by ``respond_by``, which its category sets; it is overdue while
no staff reply has come by then. The resident rates how satisfied they are (1 to 5) once
it is resolved. Text is stored as written; whoever shows it escapes it.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Final

import attrs

from shequ.domain.errors import IllegalTransition, InvalidInput
from shequ.domain.events import DomainEvent
from shequ.domain.ids import AccountId, BookingId, CommunityId, ComplaintId, OrderId, check_id
from shequ.domain.values import clean_text

__all__ = [
    "COMPLAINT_TRANSITIONS",
    "Complaint",
    "ComplaintCategory",
    "ComplaintChanged",
    "ComplaintFiled",
    "ComplaintStatus",
    "Reply",
]


class ComplaintCategory(enum.StrEnum):
    PRODUCT_QUALITY = "product_quality"  # 商品质量
    DELIVERY = "delivery"  # 配送
    SERVICE = "service"  # 服务
    PICKUP_POINT = "pickup_point"  # 自提点
    PLATFORM = "platform"  # 平台
    SUGGESTION = "suggestion"  # 建议


class ComplaintStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


S = ComplaintStatus
COMPLAINT_TRANSITIONS: Final = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.REOPENED: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.CLOSED: frozenset(),
}
"""Where each status may go next."""
del S


@attrs.frozen
class Reply:
    at: dt.datetime
    author_id: AccountId | None
    staff: bool
    text: str


@attrs.frozen(kw_only=True)
class ComplaintFiled(DomainEvent):
    complaint_id: ComplaintId
    community_id: CommunityId
    category: ComplaintCategory
    respond_by: dt.datetime


@attrs.frozen(kw_only=True)
class ComplaintChanged(DomainEvent):
    """A ticket moved on, was answered (``replied``), or was rated."""

    complaint_id: ComplaintId
    status: ComplaintStatus
    replied: bool = False
    satisfaction: int | None = None


@attrs.define(slots=False, eq=False)
class Complaint:
    id: ComplaintId
    resident_id: AccountId
    community_id: CommunityId
    category: ComplaintCategory
    title: str
    body: str
    created_at: dt.datetime
    respond_by: dt.datetime
    order_id: OrderId | None = None
    booking_id: BookingId | None = None
    status: ComplaintStatus = ComplaintStatus.OPEN
    first_response_at: dt.datetime | None = None
    resolution: str = ""
    satisfaction: int | None = None
    replies: list[Reply] = attrs.Factory(list)
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def file(
        cls,
        *,
        id: ComplaintId,
        resident_id: AccountId,
        community_id: CommunityId,
        category: ComplaintCategory,
        title: str,
        body: str,
        respond_within: dt.timedelta,
        now: dt.datetime,
        order_id: OrderId | None = None,
        booking_id: BookingId | None = None,
    ) -> Complaint:
        check_id(id, "complaint")
        if order_id is not None and booking_id is not None:
            raise InvalidInput(
                "a ticket is about an order or a booking, not both", field="order_id"
            )
        made = cls(
            id=id,
            resident_id=resident_id,
            community_id=community_id,
            category=ComplaintCategory(category),
            title=clean_text(title, "title", max_len=100),
            body=clean_text(body, "body", max_len=5000),
            created_at=now,
            respond_by=now + respond_within,
            order_id=order_id,
            booking_id=booking_id,
        )
        made.events.append(
            ComplaintFiled(
                occurred_at=now,
                complaint_id=id,
                community_id=community_id,
                category=made.category,
                respond_by=made.respond_by,
            )
        )
        return made

    def overdue(self, now: dt.datetime) -> bool:
        """No staff reply by its deadline, and not finished."""
        return (
            self.first_response_at is None
            and now > self.respond_by
            and self.status not in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)
        )

    def reply(
        self, text: str, *, author_id: AccountId | None, staff: bool, now: dt.datetime
    ) -> None:
        """A reply; the staff's first answers the ticket and takes it on."""
        if self.status is ComplaintStatus.CLOSED:
            raise IllegalTransition(
                f"ticket {self.id} is closed", status=self.status.value, action="reply"
            )
        said = clean_text(text, "reply", max_len=2000)
        self.replies = [*self.replies, Reply(now, author_id, staff, said)]
        self.version += 1
        if staff:
            if self.first_response_at is None:
                self.first_response_at = now
            if self.status in (ComplaintStatus.OPEN, ComplaintStatus.REOPENED):
                self.status = ComplaintStatus.IN_PROGRESS
        self.events.append(
            ComplaintChanged(
                occurred_at=now, complaint_id=self.id, status=self.status, replied=True
            )
        )

    def move(self, status: ComplaintStatus, *, now: dt.datetime, note: str = "") -> None:
        """Take it on, resolve it (saying how), close it, or reopen it."""
        if status not in COMPLAINT_TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"ticket {self.id} is {self.status.value}; it cannot be {status.value}",
                status=self.status.value,
                action=status.value,
            )
        if status is ComplaintStatus.RESOLVED:
            self.resolution = clean_text(note, "resolution", max_len=2000)
        if status is ComplaintStatus.IN_PROGRESS and self.first_response_at is None:
            self.first_response_at = now
        self.status = status
        self.version += 1
        self.events.append(ComplaintChanged(occurred_at=now, complaint_id=self.id, status=status))

    def rate(self, satisfaction: int, *, now: dt.datetime) -> None:
        """The resident's satisfaction (1 to 5), once, after it was resolved."""
        if self.status not in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
            raise IllegalTransition(
                f"ticket {self.id} is {self.status.value}: rate it once resolved",
                status=self.status.value,
                action="rate",
            )
        if self.satisfaction is not None:
            raise IllegalTransition(
                f"ticket {self.id} is rated already", status=self.status.value, action="rate"
            )
        if type(satisfaction) is not int or not 1 <= satisfaction <= 5:
            raise InvalidInput("satisfaction is a whole number from 1 to 5", field="satisfaction")
        self.satisfaction = satisfaction
        self.version += 1
        self.events.append(
            ComplaintChanged(
                occurred_at=now, complaint_id=self.id, status=self.status, satisfaction=satisfaction
            )
        )
