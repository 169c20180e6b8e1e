"""Local services (本地服务): the merchants of a community's directory, what they offer, the
weekly schedules of their staff, and the bookings (服务预约) residents make.

A :class:`ServiceProvider` is a local merchant (housekeeping, repair, a salon, a tutor …)
serving some communities. Its :class:`StaffMember`\\ s each keep a weekly schedule with
dates of their own (leave, holidays). A :class:`ServiceOffering` is what it sells: how long
it takes, the buffer its staff need before the next booking, its price (fixed, or quoted on
site for a call-out fee), where it happens, and who may deliver it.

A :class:`ServiceBooking` holds one member of staff from its start to its end plus the
offering's buffer. :func:`free_starts` computes the starts a member of staff has free;
:func:`fits` is the same rule for one start, which booking checks with the member's row
locked, so a member is never booked twice::

    requested → confirmed → in_progress → completed → reviewed
        │           │
        └───────────┴──→ cancelled (by the resident, free until the cut-off, a fee
                         after; by the merchant, free) · no_show (after its start)
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from shequ.domain.errors import IllegalTransition, InvalidInput
from shequ.domain.events import DomainEvent
from shequ.domain.hours import OpeningHours
from shequ.domain.ids import (
    AccountId,
    BookingId,
    CommunityId,
    OfferingId,
    ProviderId,
    StaffId,
    check_id,
)
from shequ.domain.media import photos as _photos
from shequ.domain.money import Money
from shequ.domain.reviews import MAX_RATING, average_tenths, checked_rating
from shequ.domain.values import CHINA_STANDARD_TIME, clean_text, utc_time

__all__ = [
    "BOOKING_TRANSITIONS",
    "LONGEST_BUSY",
    "MAX_RATING",
    "BookingChange",
    "BookingStatus",
    "Busy",
    "PriceKind",
    "ProviderKind",
    "ServiceBooked",
    "ServiceBooking",
    "ServiceBookingCancelled",
    "ServiceBookingChanged",
    "ServiceBookingReminder",
    "ServiceOffering",
    "ServiceProvider",
    "StaffMember",
    "Venue",
    "fits",
    "free_starts",
]

MAX_DURATION_MINUTES: Final = 12 * 60
MAX_BUFFER_MINUTES: Final = 240
LONGEST_BUSY: Final = dt.timedelta(minutes=MAX_DURATION_MINUTES + MAX_BUFFER_MINUTES)
"""The longest a booking keeps its member of staff busy: one that is busy at a moment
started at most this long before it."""


class ProviderKind(enum.StrEnum):
    HOUSEKEEPING = "housekeeping"  # 家政
    REPAIR = "repair"  # 维修
    BEAUTY = "beauty"  # 美容美发
    EDUCATION = "education"  # 教育培训
    RESTAURANT = "restaurant"  # 餐饮
    CONVENIENCE_STORE = "convenience_store"  # 便利店
    FITNESS = "fitness"  # 健身
    OTHER = "other"


class PriceKind(enum.StrEnum):
    FIXED = "fixed"  # the price is the price
    QUOTE = "quote"  # quoted on site; the price is the call-out fee (上门费)


class Venue(enum.StrEnum):
    AT_HOME = "at_home"  # 上门: at the resident's address
    AT_MERCHANT = "at_merchant"  # 到店


class BookingStatus(enum.StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REVIEWED = "reviewed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"

    @property
    def holds_staff(self) -> bool:
        """Whether a booking in this status keeps its member of staff busy."""
        return self in (BookingStatus.REQUESTED, BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS)


B = BookingStatus
BOOKING_TRANSITIONS: Final = {
    B.REQUESTED: frozenset({B.CONFIRMED, B.CANCELLED}),
    B.CONFIRMED: frozenset({B.IN_PROGRESS, B.CANCELLED, B.NO_SHOW}),
    B.IN_PROGRESS: frozenset({B.COMPLETED}),
    B.COMPLETED: frozenset({B.REVIEWED}),
    B.REVIEWED: frozenset(),
    B.CANCELLED: frozenset(),
    B.NO_SHOW: frozenset(),
}
"""Where each status may go next; nothing else moves a booking."""
del B


# ---------------------------------------------------------------- events


@attrs.frozen(kw_only=True)
class ServiceBooked(DomainEvent):
    booking_id: BookingId
    provider_id: ProviderId
    offering_id: OfferingId
    staff_id: StaffId
    resident_id: AccountId
    starts_at: dt.datetime


@attrs.frozen(kw_only=True)
class ServiceBookingChanged(DomainEvent):
    """A booking moved on (confirmed, started, completed, reviewed, no-show) or to
    another time (``rescheduled``)."""

    booking_id: BookingId
    old_status: BookingStatus
    new_status: BookingStatus
    starts_at: dt.datetime
    rescheduled: bool = False


@attrs.frozen(kw_only=True)
class ServiceBookingCancelled(DomainEvent):
    """``by`` is ``resident`` or ``merchant``; a merchant's cancellation is one the
    resident must hear of."""

    booking_id: BookingId
    resident_id: AccountId
    by: str
    fee: Money
    reason: str


@attrs.frozen(kw_only=True)
class ServiceBookingReminder(DomainEvent):
    """A booking starts soon: for a notifier to remind its resident and its merchant."""

    booking_id: BookingId
    resident_id: AccountId
    provider_id: ProviderId
    starts_at: dt.datetime


# ---------------------------------------------------------------- the directory


def _communities(values: Iterable[CommunityId]) -> tuple[CommunityId, ...]:
    found = tuple(sorted(set(values)))
    if not found:
        raise InvalidInput("a merchant serves at least one community", field="community_ids")
    return found


@attrs.define(slots=False, eq=False)
class ServiceProvider:
    """A local merchant (本地商户) in the directory of the communities it serves."""

    id: ProviderId
    name: str
    kind: ProviderKind
    community_ids: tuple[CommunityId, ...]
    contact_phone: str  # the business's line, shown to residents: not personal data
    address: str
    hours: OpeningHours
    description: str
    created_at: dt.datetime
    photos: tuple[str, ...] = ()
    verified: bool = False
    rating_total: int = 0
    rating_count: int = 0
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        id: ProviderId,
        name: str,
        kind: ProviderKind,
        community_ids: Iterable[CommunityId],
        contact_phone: str,
        address: str,
        hours: OpeningHours,
        description: str = "",
        photos: Sequence[str] = (),
        now: dt.datetime,
    ) -> ServiceProvider:
        check_id(id, "merchant")
        return cls(
            id=id,
            name=clean_text(name, "name", max_len=60),
            kind=ProviderKind(kind),
            community_ids=_communities(community_ids),
            contact_phone=_phone(contact_phone),
            address=clean_text(address, "address", max_len=200),
            hours=hours,
            description=clean_text(description, "description", max_len=2000, required=False),
            photos=_photos(photos),
            created_at=now,
        )

    @property
    def rating_tenths(self) -> int | None:
        """The average rating in tenths (46 for 4.6), rounded half up; ``None`` unrated."""
        return average_tenths(self.rating_total, self.rating_count)

    def rated(self, rating: int) -> None:
        """A review's rating joins the average."""
        self.rating_total += checked_rating(rating)
        self.rating_count += 1
        self.version += 1

    def edit(
        self,
        *,
        contact_phone: str | None = None,
        hours: OpeningHours | None = None,
        description: str | None = None,
        photos: Sequence[str] | None = None,
    ) -> None:
        """Change what is given, checked as when it was made."""
        changed = {
            "contact_phone": None if contact_phone is None else _phone(contact_phone),
            "hours": hours,
            "description": None
            if description is None
            else clean_text(description, "description", max_len=2000, required=False),
            "photos": None if photos is None else _photos(photos),
        }
        for name, value in changed.items():
            if value is not None and value != getattr(self, name):
                setattr(self, name, value)
                self.version += 1

    def verify(self, verified: bool = True) -> None:
        if self.verified != verified:
            self.verified = verified
            self.version += 1

    def serves(self, community_id: CommunityId) -> bool:
        return community_id in self.community_ids

    def matches(self, words: Sequence[str]) -> bool:
        """Every word appears in its name, description or address (case folded)."""
        text = f"{self.name} {self.description} {self.address}".casefold()
        return all(w.casefold() in text for w in words)


def _phone(value: str) -> str:
    cleaned = clean_text(value, "contact phone", max_len=20)
    if not all(c.isdigit() or c in "+- " for c in cleaned) or sum(c.isdigit() for c in cleaned) < 5:
        raise InvalidInput("a contact phone is digits, with +, - or spaces", field="contact_phone")
    return cleaned


@attrs.define(slots=False, eq=False)
class StaffMember:
    """Someone of a merchant who delivers its services, with a weekly schedule and dates
    of their own (leave, holidays: an empty day). Bookings lock this row."""

    id: StaffId
    provider_id: ProviderId
    name: str
    schedule: OpeningHours
    active: bool = True
    version: int = 1

    @classmethod
    def create(
        cls, *, id: StaffId, provider_id: ProviderId, name: str, schedule: OpeningHours
    ) -> StaffMember:
        check_id(id, "staff")
        return cls(id, provider_id, clean_text(name, "name", max_len=40), schedule)

    def reschedule(self, schedule: OpeningHours) -> None:
        self.schedule = schedule
        self.version += 1

    def set_active(self, active: bool) -> None:
        if self.active != active:
            self.active = active
            self.version += 1

    def touch(self) -> None:
        """A booking of this member was made or moved: their version moves, so that two
        bookings checked against the same bookings cannot both commit."""
        self.version += 1


@attrs.define(slots=False, eq=False)
class ServiceOffering:
    """What a merchant sells. ``price`` is the price (fixed) or the call-out fee (quote);
    ``late_cancel_fee`` is charged when the resident cancels after the free window."""

    id: OfferingId
    provider_id: ProviderId
    name: str
    description: str
    duration_minutes: int
    buffer_minutes: int
    price_kind: PriceKind
    price: Money
    venue: Venue
    staff_ids: tuple[StaffId, ...]
    late_cancel_fee: Money
    auto_confirm: bool = False
    active: bool = True
    version: int = 1

    @classmethod
    def create(
        cls,
        *,
        id: OfferingId,
        provider_id: ProviderId,
        name: str,
        description: str = "",
        duration_minutes: int,
        buffer_minutes: int = 0,
        price_kind: PriceKind,
        price: Money,
        venue: Venue,
        staff_ids: Sequence[StaffId],
        late_cancel_fee: Money = Money(0),
        auto_confirm: bool = False,
    ) -> ServiceOffering:
        check_id(id, "offering")
        if type(duration_minutes) is not int or not 15 <= duration_minutes <= MAX_DURATION_MINUTES:
            raise InvalidInput("a service takes 15 minutes to 12 hours", field="duration_minutes")
        if type(buffer_minutes) is not int or not 0 <= buffer_minutes <= MAX_BUFFER_MINUTES:
            raise InvalidInput("a buffer is 0 to 240 minutes", field="buffer_minutes")
        if not isinstance(price, Money) or price.fen < 0:
            raise InvalidInput("a price is an amount, zero or more", field="price")
        if price_kind is PriceKind.FIXED and not price.fen:
            raise InvalidInput("a fixed price is more than zero", field="price")
        if not isinstance(late_cancel_fee, Money) or not 0 <= late_cancel_fee.fen <= price.fen:
            raise InvalidInput(
                "a late cancellation fee is zero to the price", field="late_cancel_fee"
            )
        staff = tuple(sorted(set(staff_ids)))
        if not staff:
            raise InvalidInput("name who delivers it: at least one of the staff", field="staff")
        return cls(
            id=id,
            provider_id=provider_id,
            name=clean_text(name, "name", max_len=60),
            description=clean_text(description, "description", max_len=2000, required=False),
            duration_minutes=duration_minutes,
            buffer_minutes=buffer_minutes,
            price_kind=PriceKind(price_kind),
            price=price,
            venue=Venue(venue),
            staff_ids=staff,
            late_cancel_fee=late_cancel_fee,
            auto_confirm=bool(auto_confirm),
        )

    def delivered_by(self, staff_ids: Iterable[StaffId]) -> None:
        staff = tuple(sorted(set(staff_ids)))
        if not staff:
            raise InvalidInput("name who delivers it: at least one of the staff", field="staff")
        if staff != self.staff_ids:
            self.staff_ids = staff
            self.version += 1

    def set_active(self, active: bool) -> None:
        if self.active != active:
            self.active = active
            self.version += 1

    @property
    def duration(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.duration_minutes)

    @property
    def buffer(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.buffer_minutes)


# ---------------------------------------------------------------- free time


Busy = tuple[dt.datetime, dt.datetime]


def _local_days(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    first = start.astimezone(CHINA_STANDARD_TIME).date()
    last = end.astimezone(CHINA_STANDARD_TIME).date()
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _stretches(schedule: OpeningHours, day: dt.date) -> list[Busy]:
    return [
        (
            dt.datetime.combine(day, h.start, tzinfo=CHINA_STANDARD_TIME),
            dt.datetime.combine(day, h.end, tzinfo=CHINA_STANDARD_TIME),
        )
        for h in schedule.on(day)
    ]


def fits(
    start: dt.datetime,
    *,
    schedule: OpeningHours,
    busy: Iterable[Busy],
    duration: dt.timedelta,
    buffer: dt.timedelta,
    earliest: dt.datetime,
) -> bool:
    """Whether a member of staff with ``schedule``, busy in the half-open intervals
    ``busy``, can take a service from ``start`` for ``duration``: not before ``earliest``,
    inside one stretch of their schedule, and free from ``start`` to the end plus
    ``buffer`` (as each of their bookings keeps them busy to its end plus its buffer)."""
    end = start + duration
    if start < earliest:
        return False
    day = start.astimezone(CHINA_STANDARD_TIME).date()
    if not any(a <= start and end <= b for a, b in _stretches(schedule, day)):
        return False
    until = end + buffer
    return all(until <= b_start or b_end <= start for b_start, b_end in busy)


def free_starts(
    *,
    schedule: OpeningHours,
    busy: Sequence[Busy],
    duration: dt.timedelta,
    buffer: dt.timedelta,
    start: dt.datetime,
    end: dt.datetime,
    step: dt.timedelta,
    earliest: dt.datetime,
) -> list[dt.datetime]:
    """The starts in ``[start, end)`` at which :func:`fits` holds, on a grid of ``step``
    from the beginning of each stretch of the schedule, earliest first."""
    if step <= dt.timedelta(0) or duration <= dt.timedelta(0):
        raise InvalidInput("a step and a duration are more than zero", field="step")
    found: list[dt.datetime] = []
    for day in _local_days(start, end):
        for opens, closes in _stretches(schedule, day):
            moment = opens
            while moment + duration <= closes:
                if start <= moment < end and fits(
                    moment,
                    schedule=schedule,
                    busy=busy,
                    duration=duration,
                    buffer=buffer,
                    earliest=earliest,
                ):
                    found.append(moment.astimezone(dt.UTC))
                moment += step
    return found


# ---------------------------------------------------------------- bookings


@attrs.frozen
class BookingChange:
    at: dt.datetime
    status: BookingStatus
    note: str = ""


@attrs.define(slots=False, eq=False)
class ServiceBooking:
    """A resident's booking of an offering with one member of staff, from ``starts_at``
    to ``ends_at``; the member is kept busy until ``busy_until`` (the end plus the
    offering's buffer). ``fee`` is what a late cancellation or a no-show costs."""

    id: BookingId
    resident_id: AccountId
    community_id: CommunityId
    provider_id: ProviderId
    offering_id: OfferingId
    staff_id: StaffId
    starts_at: dt.datetime
    ends_at: dt.datetime
    busy_until: dt.datetime
    price: Money
    created_at: dt.datetime
    idempotency_key: str
    status: BookingStatus = BookingStatus.REQUESTED
    address_id: str | None = None
    note: str = ""
    fee: Money = Money(0)
    cancelled_by: str | None = None
    rating: int | None = None
    review_text: str = ""
    reminded_at: dt.datetime | None = None
    history: list[BookingChange] = attrs.Factory(list)
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def book(
        cls,
        *,
        id: BookingId,
        resident_id: AccountId,
        community_id: CommunityId,
        offering: ServiceOffering,
        staff_id: StaffId,
        starts_at: dt.datetime,
        address_id: str | None,
        note: str,
        idempotency_key: str,
        now: dt.datetime,
    ) -> ServiceBooking:
        check_id(id, "booking")
        starts_at = utc_time(starts_at, "starts_at")
        if staff_id not in offering.staff_ids:
            raise InvalidInput(f"{staff_id} does not deliver {offering.name}", field="staff_id")
        if offering.venue is Venue.AT_HOME and not address_id:
            raise InvalidInput("a service at home names the address", field="address_id")
        if offering.venue is Venue.AT_MERCHANT and address_id:
            raise InvalidInput("a service at the merchant takes no address", field="address_id")
        booking = cls(
            id=id,
            resident_id=resident_id,
            community_id=community_id,
            provider_id=offering.provider_id,
            offering_id=offering.id,
            staff_id=staff_id,
            starts_at=starts_at,
            ends_at=starts_at + offering.duration,
            busy_until=starts_at + offering.duration + offering.buffer,
            price=offering.price,
            created_at=now,
            idempotency_key=idempotency_key,
            address_id=address_id,
            note=clean_text(note, "note", max_len=500, required=False),
            history=[BookingChange(now, BookingStatus.REQUESTED)],
        )
        booking.events.append(
            ServiceBooked(
                occurred_at=now,
                booking_id=id,
                provider_id=offering.provider_id,
                offering_id=offering.id,
                staff_id=staff_id,
                resident_id=resident_id,
                starts_at=starts_at,
            )
        )
        if offering.auto_confirm:
            booking.move(BookingStatus.CONFIRMED, now=now, note="confirmed at once")
        return booking

    @property
    def busy(self) -> Busy:
        return (self.starts_at, self.busy_until)

    def move(self, status: BookingStatus, *, now: dt.datetime, note: str = "") -> None:
        """Confirm, start or complete (cancelling, a no-show and a review have their own)."""
        if status not in (
            BookingStatus.CONFIRMED,
            BookingStatus.IN_PROGRESS,
            BookingStatus.COMPLETED,
        ):
            raise InvalidInput("a booking is confirmed, started or completed here", field="status")
        self._step(status, now, note)

    def no_show(self, *, fee: Money, now: dt.datetime) -> None:
        """The resident did not come (or was not in): once it has started, at ``fee``."""
        if now < self.starts_at:
            raise IllegalTransition(
                f"booking {self.id} starts at {self.starts_at.isoformat()}: nobody can miss "
                "it before then",
                status=self.status.value,
                action=BookingStatus.NO_SHOW.value,
            )
        self._check(BookingStatus.NO_SHOW)
        self.fee = fee
        self._step(BookingStatus.NO_SHOW, now, "the resident did not come")

    def cancel(
        self,
        *,
        by: str,
        now: dt.datetime,
        free_until: dt.datetime,
        late_fee: Money,
        reason: str = "",
    ) -> Money:
        """Cancel; ``by`` is ``resident`` or ``merchant``. The resident cancels free until
        ``free_until`` and pays ``late_fee`` after; the merchant never charges. Returns
        the fee."""
        if by not in ("resident", "merchant"):
            raise InvalidInput("a booking is cancelled by the resident or the merchant")
        self._check(BookingStatus.CANCELLED)
        why = clean_text(reason, "reason", max_len=300, required=by == "merchant")
        fee = late_fee if by == "resident" and now > free_until else Money(0)
        self.fee, self.cancelled_by = fee, by
        self._set(BookingStatus.CANCELLED, now, why or f"cancelled by the {by}")
        self.events.append(
            ServiceBookingCancelled(
                occurred_at=now,
                booking_id=self.id,
                resident_id=self.resident_id,
                by=by,
                fee=fee,
                reason=why,
            )
        )
        return fee

    def reschedule(
        self,
        starts_at: dt.datetime,
        offering: ServiceOffering,
        *,
        staff_id: StaffId,
        now: dt.datetime,
    ) -> None:
        """Move to another free time (checked by the caller, the member of staff locked)."""
        if self.status not in (BookingStatus.REQUESTED, BookingStatus.CONFIRMED):
            raise IllegalTransition(
                f"booking {self.id} is {self.status.value}: it cannot move",
                status=self.status.value,
                action="reschedule",
            )
        if staff_id not in offering.staff_ids:
            raise InvalidInput(f"{staff_id} does not deliver {offering.name}", field="staff_id")
        starts_at = utc_time(starts_at, "starts_at")
        self.starts_at, self.staff_id = starts_at, staff_id
        self.ends_at = starts_at + offering.duration
        self.busy_until = self.ends_at + offering.buffer
        self.reminded_at = None
        self.history = [
            *self.history,
            BookingChange(now, self.status, f"moved to {starts_at.isoformat()}"),
        ]
        self.version += 1
        self.events.append(
            ServiceBookingChanged(
                occurred_at=now,
                booking_id=self.id,
                old_status=self.status,
                new_status=self.status,
                starts_at=starts_at,
                rescheduled=True,
            )
        )

    def reviewed(self, rating: int, text: str, *, now: dt.datetime) -> None:
        """The resident's rating (1 to 5) and words, once, after it was completed."""
        self._check(BookingStatus.REVIEWED)
        self.rating = checked_rating(rating)
        self.review_text = clean_text(text, "review", max_len=2000, required=False)
        self._step(BookingStatus.REVIEWED, now, "")

    def remind(self, now: dt.datetime) -> None:
        self.reminded_at = now
        self.version += 1
        self.events.append(
            ServiceBookingReminder(
                occurred_at=now,
                booking_id=self.id,
                resident_id=self.resident_id,
                provider_id=self.provider_id,
                starts_at=self.starts_at,
            )
        )

    def _check(self, status: BookingStatus) -> None:
        if status not in BOOKING_TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"booking {self.id} is {self.status.value}; it cannot be {status.value}",
                status=self.status.value,
                action=status.value,
            )

    def _set(self, status: BookingStatus, now: dt.datetime, note: str) -> None:
        self.status = status
        self.history = [*self.history, BookingChange(now, status, note)]
        self.version += 1

    def _step(self, status: BookingStatus, now: dt.datetime, note: str) -> None:
        self._check(status)
        old = self.status
        self._set(status, now, note)
        self.events.append(
            ServiceBookingChanged(
                occurred_at=now,
                booking_id=self.id,
                old_status=old,
                new_status=status,
                starts_at=self.starts_at,
            )
        )
