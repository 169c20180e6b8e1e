"""Complaints and suggestions (投诉建议): residents file tickets about their orders,
bookings, pickup points or the platform; the community's staff answer them by a deadline
their category sets, and the resident says how satisfied they are.

Who does what: a resident files, reads, replies to, closes, reopens and rates their own
tickets; the community's operators (``community life``) read, reply to, take on, resolve
and close every ticket of their community.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, ComplaintQuery, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.complaints import Complaint, ComplaintCategory, ComplaintStatus
from shequ.domain.errors import Forbidden, InvalidInput
from shequ.domain.ids import AccountId, BookingId, CommunityId, ComplaintId, OrderId, new_id

__all__ = [
    "ComplaintRules",
    "FileComplaint",
    "FileComplaintHandler",
    "GetComplaint",
    "GetComplaintHandler",
    "ListComplaints",
    "ListComplaintsHandler",
    "MoveComplaint",
    "MoveComplaintHandler",
    "RateComplaint",
    "RateComplaintHandler",
    "ReplyToComplaint",
    "ReplyToComplaintHandler",
]

C = ComplaintCategory
_RESPOND_WITHIN: Mapping[ComplaintCategory, dt.timedelta] = MappingProxyType(
    {
        C.PRODUCT_QUALITY: dt.timedelta(hours=24),
        C.DELIVERY: dt.timedelta(hours=4),
        C.SERVICE: dt.timedelta(hours=24),
        C.PICKUP_POINT: dt.timedelta(hours=12),
        C.PLATFORM: dt.timedelta(hours=48),
        C.SUGGESTION: dt.timedelta(hours=72),
    }
)
del C


@attrs.frozen
class ComplaintRules:
    """How soon a ticket of each category must be answered."""

    respond_within: Mapping[ComplaintCategory, dt.timedelta] = _RESPOND_WITHIN

    def deadline(self, category: ComplaintCategory) -> dt.timedelta:
        return self.respond_within.get(category, _RESPOND_WITHIN[category])


def _staff(policy: Policy, actor: Actor, complaint: Complaint) -> bool:
    return policy.allows(actor, Permission.COMMUNITY_LIFE, community_id=complaint.community_id)


def _check_reader(policy: Policy, actor: Actor, complaint: Complaint) -> bool:
    """True for the community's staff; the ticket's resident reads it too."""
    if _staff(policy, actor, complaint):
        return True
    policy.require(actor, Permission.OWN_ORDER, owner=complaint.resident_id)
    return False


@attrs.frozen
class FileComplaint:
    """A ticket about ``order_id`` or ``booking_id`` (the resident's own), or, about
    neither, in ``community_id``."""

    resident_id: AccountId
    category: ComplaintCategory
    title: str
    body: str
    community_id: CommunityId | None = None
    order_id: OrderId | None = None
    booking_id: BookingId | None = None


class FileComplaintHandler:
    def __init__(
        self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: ComplaintRules
    ) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, cmd: FileComplaint, *, actor: Actor) -> Complaint:
        self._policy.require(actor, Permission.OWN_ORDER, owner=cmd.resident_id)
        try:
            category = ComplaintCategory(cmd.category)
        except ValueError:
            known = ", ".join(c.value for c in ComplaintCategory)
            raise InvalidInput(
                f"no category {cmd.category!r}; choose one of {known}", field="category"
            ) from None
        with self._uow as uow:
            community_id = cmd.community_id
            about: tuple[AccountId, CommunityId, str] | None = None
            if cmd.order_id is not None:
                order = uow.orders.get(cmd.order_id)
                about = (order.resident_id, order.community_id, f"order {order.id}")
            elif cmd.booking_id is not None:
                booking = uow.bookings.get(cmd.booking_id)
                about = (booking.resident_id, booking.community_id, f"booking {booking.id}")
            if about is not None:
                owner, of_community, what = about
                if owner != cmd.resident_id:
                    raise Forbidden(f"{what} is not yours: complain about your own")
                if community_id is not None and community_id != of_community:
                    raise InvalidInput(f"{what} is not in {community_id}", field="community_id")
                community_id = of_community
            if community_id is None:
                raise InvalidInput(
                    "say which community, order or booking it is about", field="community_id"
                )
            self._policy.require(
                actor, Permission.BUY, community_id=community_id, owner=cmd.resident_id
            )
            made = Complaint.file(
                id=ComplaintId(new_id()),
                resident_id=cmd.resident_id,
                community_id=community_id,
                category=category,
                title=cmd.title,
                body=cmd.body,
                respond_within=self._rules.deadline(category),
                now=self._clock.now(),
                order_id=cmd.order_id,
                booking_id=cmd.booking_id,
            )
            uow.communities.get(community_id)
            uow.complaints.add(made)
            uow.commit()
        return made


@attrs.frozen
class GetComplaint:
    complaint_id: ComplaintId


class GetComplaintHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: GetComplaint, *, actor: Actor) -> Complaint:
        with self._uow as uow:
            complaint = uow.complaints.get(query.complaint_id)
        _check_reader(self._policy, actor, complaint)
        return complaint


@attrs.frozen
class ListComplaints:
    """A resident's own tickets (``resident_id``), or a community's for its staff; of a
    ``status``, or only those ``overdue`` now. Oldest first."""

    resident_id: AccountId | None = None
    community_id: CommunityId | None = None
    status: ComplaintStatus | None = None
    overdue: bool = False
    limit: int = 100


class ListComplaintsHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: ListComplaints, *, actor: Actor) -> list[Complaint]:
        if type(query.limit) is not int or not 1 <= query.limit <= 1000:
            raise InvalidInput("page size must be 1 to 1000", field="limit")
        if query.community_id is not None:
            self._policy.require(actor, Permission.COMMUNITY_LIFE, community_id=query.community_id)
        elif query.resident_id is not None:
            if not self._policy.allows(actor, Permission.OWN_ORDER, owner=query.resident_id):
                self._policy.require(actor, Permission.READ_ACCOUNTS)  # admins only
        else:
            self._policy.require(actor, Permission.READ_ACCOUNTS)  # every community: admins
        status = None if query.status is None else ComplaintStatus(query.status)
        with self._uow as uow:
            return uow.complaints.search(
                ComplaintQuery(
                    resident_id=query.resident_id,
                    community_id=query.community_id,
                    status=status,
                    overdue_at=self._clock.now() if query.overdue else None,
                    limit=query.limit,
                )
            )


@attrs.frozen
class ReplyToComplaint:
    complaint_id: ComplaintId
    text: str


class ReplyToComplaintHandler:
    """The resident or the staff answer; the staff's first reply takes the ticket on."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: ReplyToComplaint, *, actor: Actor) -> Complaint:
        def attempt() -> Complaint:
            with self._uow as uow:
                complaint = uow.complaints.get_for_update(cmd.complaint_id)
                staff = _check_reader(self._policy, actor, complaint)
                complaint.reply(
                    cmd.text, author_id=actor.account_id, staff=staff, now=self._clock.now()
                )
                uow.commit()
            return complaint

        return retry_on_conflict(attempt)


_RESIDENT_MOVES = frozenset({ComplaintStatus.CLOSED, ComplaintStatus.REOPENED})
_STAFF_MOVES = frozenset(
    {ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED}
)


@attrs.frozen
class MoveComplaint:
    """The staff take a ticket on, resolve it (``note`` says how) or close it; its resident
    closes it or, unsatisfied with a resolution, reopens it (``note`` says why)."""

    complaint_id: ComplaintId
    status: ComplaintStatus
    note: str = ""


class MoveComplaintHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: MoveComplaint, *, actor: Actor) -> Complaint:
        try:
            status = ComplaintStatus(cmd.status)
        except ValueError:
            raise InvalidInput(f"no status {cmd.status!r}", field="status") from None

        def attempt() -> Complaint:
            with self._uow as uow:
                complaint = uow.complaints.get_for_update(cmd.complaint_id)
                owner = actor.account_id == complaint.resident_id
                staff = _staff(self._policy, actor, complaint)
                if not (
                    (owner and status in _RESIDENT_MOVES) or (staff and status in _STAFF_MOVES)
                ):
                    _check_reader(self._policy, actor, complaint)  # strangers: forbidden
                    who = "the community's staff" if owner else "the resident who filed it"
                    raise Forbidden(f"only {who} may mark ticket {complaint.id} {status.value}")
                now = self._clock.now()
                if status is ComplaintStatus.REOPENED and cmd.note.strip():
                    complaint.reply(cmd.note, author_id=actor.account_id, staff=False, now=now)
                complaint.move(status, now=now, note=cmd.note)
                uow.commit()
            return complaint

        return retry_on_conflict(attempt)


@attrs.frozen
class RateComplaint:
    complaint_id: ComplaintId
    satisfaction: int


class RateComplaintHandler:
    """The resident who filed it says, once it is resolved, how satisfied they are."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: RateComplaint, *, actor: Actor) -> Complaint:
        def attempt() -> Complaint:
            with self._uow as uow:
                complaint = uow.complaints.get_for_update(cmd.complaint_id)
                self._policy.require(actor, Permission.OWN_ORDER, owner=complaint.resident_id)
                complaint.rate(cmd.satisfaction, now=self._clock.now())
                uow.commit()
            return complaint

        return retry_on_conflict(attempt)
