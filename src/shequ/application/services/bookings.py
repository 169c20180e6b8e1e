"""Booking local services (服务预约): free time, booking it, the booking's lifecycle,
cancelling with or without a fee, moving it, reviewing it, and reminders.

A booking locks its member of staff's row, reads the bookings that keep them busy around
the time asked for, checks the time with :func:`~shequ.domain.services.fits` (the rule
:func:`~shequ.domain.services.free_starts` lists free time by), and only then records it,
in one transaction: a member of staff is never booked twice, however many residents ask
at once. Asked for no member in particular, it tries those who deliver the offering, in id
order (so two bookings never lock them in opposite orders).
"""

from __future__ import annotations

import datetime as dt

import attrs

from shequ.application.identity.addresses import owned_address
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import (
    Duplicate,
    IdempotencyKeyReused,
    IllegalTransition,
    InvalidInput,
    SlotTaken,
)
from shequ.domain.ids import (
    AccountId,
    BookingId,
    CommunityId,
    OfferingId,
    ProviderId,
    ReviewId,
    StaffId,
    new_id,
)
from shequ.domain.reviews import Review, ReviewSubject
from shequ.domain.services import (
    BookingStatus,
    ServiceBooking,
    ServiceOffering,
    StaffMember,
    fits,
    free_starts,
)
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = [
    "BookService",
    "BookServiceHandler",
    "CancelBooking",
    "CancelBookingHandler",
    "FindFreeTime",
    "FindFreeTimeHandler",
    "FreeTime",
    "ListBookings",
    "ListBookingsHandler",
    "MoveBooking",
    "MoveBookingHandler",
    "RemindBookings",
    "RemindBookingsHandler",
    "RescheduleBooking",
    "RescheduleBookingHandler",
    "ReviewBooking",
    "ReviewBookingHandler",
    "ServiceRules",
]

MAX_DAYS = 14


@attrs.frozen
class ServiceRules:
    """How far ahead and how soon a service may be booked, the grid free time is shown
    on, until when a resident cancels free, and how long before a booking its reminder
    goes out."""

    min_lead: dt.timedelta = dt.timedelta(hours=1)
    horizon: dt.timedelta = dt.timedelta(days=30)
    step: dt.timedelta = dt.timedelta(minutes=30)
    free_cancel: dt.timedelta = dt.timedelta(hours=24)
    remind_before: dt.timedelta = dt.timedelta(hours=24)


@attrs.frozen
class FreeTime:
    """A start a member of staff is free at for an offering, to its end."""

    staff_id: StaffId
    starts_at: dt.datetime
    ends_at: dt.datetime


def _busy(
    uow: UnitOfWork,
    staff_id: StaffId,
    start: dt.datetime,
    end: dt.datetime,
    but: BookingId | None = None,
) -> list[tuple[dt.datetime, dt.datetime]]:
    return [b.busy for b in uow.bookings.busy(staff_id, start, end) if b.id != but]


def _bookable(offering: ServiceOffering) -> None:
    if not offering.active:
        raise SlotTaken(f"{offering.name} takes no bookings now", offering_id=offering.id)


@attrs.frozen
class FindFreeTime:
    """The free starts of an offering on ``days`` days (1 to 14) from ``day`` (default:
    today in China), of one member of staff or of all who deliver it."""

    offering_id: OfferingId
    day: dt.date | None = None
    days: int = 1
    staff_id: StaffId | None = None


class FindFreeTimeHandler:
    """Any signed-in account sees when an offering can be booked."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: ServiceRules) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, query: FindFreeTime, *, actor: Actor) -> list[FreeTime]:
        self._policy.require(actor, Permission.BROWSE)
        if type(query.days) is not int or not 1 <= query.days <= MAX_DAYS:
            raise InvalidInput(f"ask for 1 to {MAX_DAYS} days", field="days")
        now, rules = self._clock.now(), self._rules
        day = query.day or now.astimezone(CHINA_STANDARD_TIME).date()
        start = dt.datetime.combine(day, dt.time(), tzinfo=CHINA_STANDARD_TIME)
        end = min(start + dt.timedelta(days=query.days), now + rules.horizon)
        found: list[FreeTime] = []
        with self._uow as uow:
            offering = uow.offerings.get(query.offering_id)
            if not offering.active:
                return []
            for staff in _deliverers(uow, offering, query.staff_id):
                busy = _busy(uow, staff.id, start - offering.duration - offering.buffer, end)
                for begins in free_starts(
                    schedule=staff.schedule,
                    busy=busy,
                    duration=offering.duration,
                    buffer=offering.buffer,
                    start=start,
                    end=end,
                    step=rules.step,
                    earliest=now + rules.min_lead,
                ):
                    found.append(FreeTime(staff.id, begins, begins + offering.duration))
        return sorted(found, key=lambda f: (f.starts_at, f.staff_id))


def _deliverers(
    uow: UnitOfWork, offering: ServiceOffering, staff_id: StaffId | None, *, lock: bool = False
) -> list[StaffMember]:
    if staff_id is not None and staff_id not in offering.staff_ids:
        raise InvalidInput(f"{staff_id} does not deliver {offering.name}", field="staff_id")
    wanted = [staff_id] if staff_id is not None else list(offering.staff_ids)
    found = [uow.staff.get_for_update(s) if lock else uow.staff.get(s) for s in sorted(wanted)]
    return [s for s in found if s.active]


@attrs.frozen
class BookService:
    """Book ``offering_id`` at ``starts_at`` for ``resident_id`` of ``community_id``, with
    ``staff_id`` or whoever is free; ``address_id`` for a service at home. The same
    ``idempotency_key`` with the same request returns the booking made the first time."""

    resident_id: AccountId
    community_id: CommunityId
    offering_id: OfferingId
    starts_at: dt.datetime
    idempotency_key: str
    staff_id: StaffId | None = None
    address_id: str | None = None
    note: str = ""


class BookServiceHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: ServiceRules) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, cmd: BookService, *, actor: Actor) -> ServiceBooking:
        self._policy.require(
            actor, Permission.BUY, community_id=cmd.community_id, owner=cmd.resident_id
        )
        key = cmd.idempotency_key
        if not isinstance(key, str) or not 1 <= len(key) <= 64 or not key.isprintable():
            raise InvalidInput("an idempotency key is 1 to 64 printable characters", field="key")
        if not isinstance(cmd.starts_at, dt.datetime) or cmd.starts_at.tzinfo is None:
            raise InvalidInput("a start carries a time zone", field="starts_at")
        try:
            return retry_on_conflict(lambda: self._attempt(cmd))
        except Duplicate:  # the same key raced itself: the other request's booking stands
            return self._attempt(cmd)

    def _attempt(self, cmd: BookService) -> ServiceBooking:
        now, rules = self._clock.now(), self._rules
        with self._uow as uow:
            made = uow.bookings.find_by_key(cmd.resident_id, cmd.idempotency_key)
            if made is not None:
                if (made.offering_id, made.starts_at) != (cmd.offering_id, cmd.starts_at):
                    raise IdempotencyKeyReused(
                        "this idempotency key was used for another booking", booking_id=made.id
                    )
                return made
            offering = uow.offerings.get(cmd.offering_id)
            _bookable(offering)
            provider = uow.providers.get(offering.provider_id)
            if not provider.serves(cmd.community_id):
                raise InvalidInput(
                    f"{provider.name} does not serve community {cmd.community_id}",
                    field="community_id",
                )
            if cmd.address_id is not None:
                owned_address(uow, cmd.resident_id, cmd.address_id)
            if cmd.starts_at > now + rules.horizon:
                raise InvalidInput("that is too far ahead to book", field="starts_at")
            until = cmd.starts_at + offering.duration + offering.buffer
            for staff in _deliverers(uow, offering, cmd.staff_id, lock=True):
                if fits(
                    cmd.starts_at,
                    schedule=staff.schedule,
                    busy=_busy(uow, staff.id, cmd.starts_at, until),
                    duration=offering.duration,
                    buffer=offering.buffer,
                    earliest=now + rules.min_lead,
                ):
                    booking = ServiceBooking.book(
                        id=BookingId(new_id()),
                        resident_id=cmd.resident_id,
                        community_id=cmd.community_id,
                        offering=offering,
                        staff_id=staff.id,
                        starts_at=cmd.starts_at,
                        address_id=cmd.address_id,
                        note=cmd.note,
                        idempotency_key=cmd.idempotency_key,
                        now=now,
                    )
                    staff.touch()
                    uow.bookings.add(booking)
                    uow.commit()
                    return booking
        raise SlotTaken(
            "nobody is free then: it is taken, outside the schedule, or too soon",
            starts_at=cmd.starts_at.isoformat(),
        )


def _merchant(policy: Policy, actor: Actor, uow: UnitOfWork, booking: ServiceBooking) -> None:
    policy.require(
        actor, Permission.MANAGE_SERVICES, provider=uow.providers.get(booking.provider_id)
    )


@attrs.frozen
class MoveBooking:
    """The merchant's steps: ``confirmed``, ``in_progress``, ``completed``, ``no_show``."""

    booking_id: BookingId
    status: BookingStatus
    note: str = ""


class MoveBookingHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: MoveBooking, *, actor: Actor) -> ServiceBooking:
        def attempt() -> ServiceBooking:
            now = self._clock.now()
            with self._uow as uow:
                booking = uow.bookings.get_for_update(cmd.booking_id)
                _merchant(self._policy, actor, uow, booking)
                if cmd.status is BookingStatus.NO_SHOW:
                    fee = uow.offerings.get(booking.offering_id).late_cancel_fee
                    booking.no_show(fee=fee, now=now)
                else:
                    booking.move(cmd.status, now=now, note=cmd.note)
                uow.commit()
            return booking

        return retry_on_conflict(attempt)


@attrs.frozen
class CancelBooking:
    """``as_merchant``: the merchant's side cancels (free, with a reason), even when the
    actor could act for the resident too (the console, an admin)."""

    booking_id: BookingId
    reason: str = ""
    as_merchant: bool = False


class CancelBookingHandler:
    """The resident cancels free until ``ServiceRules.free_cancel`` before the start and
    owes the offering's late fee after; the merchant cancels free, saying why."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: ServiceRules) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, cmd: CancelBooking, *, actor: Actor) -> ServiceBooking:
        def attempt() -> ServiceBooking:
            with self._uow as uow:
                booking = uow.bookings.get_for_update(cmd.booking_id)
                by = "resident"
                if cmd.as_merchant or not self._policy.allows(
                    actor, Permission.OWN_ORDER, owner=booking.resident_id
                ):
                    _merchant(self._policy, actor, uow, booking)
                    by = "merchant"
                booking.cancel(
                    by=by,
                    now=self._clock.now(),
                    free_until=booking.starts_at - self._rules.free_cancel,
                    late_fee=uow.offerings.get(booking.offering_id).late_cancel_fee,
                    reason=cmd.reason,
                )
                uow.commit()
            return booking

        return retry_on_conflict(attempt)


@attrs.frozen
class RescheduleBooking:
    """Move a booking to ``starts_at``, with ``staff_id`` or whoever is free then."""

    booking_id: BookingId
    starts_at: dt.datetime
    staff_id: StaffId | None = None


class RescheduleBookingHandler:
    """The resident or the merchant moves a booking to another free time before it starts."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: ServiceRules) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, cmd: RescheduleBooking, *, actor: Actor) -> ServiceBooking:
        if not isinstance(cmd.starts_at, dt.datetime) or cmd.starts_at.tzinfo is None:
            raise InvalidInput("a start carries a time zone", field="starts_at")

        def attempt() -> ServiceBooking:
            now, rules = self._clock.now(), self._rules
            with self._uow as uow:
                booking = uow.bookings.get(cmd.booking_id)
                if not self._policy.allows(actor, Permission.OWN_ORDER, owner=booking.resident_id):
                    _merchant(self._policy, actor, uow, booking)
                offering = uow.offerings.get(booking.offering_id)
                _bookable(offering)
                if cmd.starts_at > now + rules.horizon:
                    raise InvalidInput("that is too far ahead to book", field="starts_at")
                until = cmd.starts_at + offering.duration + offering.buffer
                # the members of staff first, in id order, then the booking: as booking does
                for staff in _deliverers(uow, offering, cmd.staff_id, lock=True):
                    booking = uow.bookings.get_for_update(cmd.booking_id)
                    if fits(
                        cmd.starts_at,
                        schedule=staff.schedule,
                        busy=_busy(uow, staff.id, cmd.starts_at, until, but=booking.id),
                        duration=offering.duration,
                        buffer=offering.buffer,
                        earliest=now + rules.min_lead,
                    ):
                        booking.reschedule(cmd.starts_at, offering, staff_id=staff.id, now=now)
                        staff.touch()
                        uow.commit()
                        return booking
            raise SlotTaken(
                "nobody is free then: it is taken, outside the schedule, or too soon",
                starts_at=cmd.starts_at.isoformat(),
            )

        return retry_on_conflict(attempt)


@attrs.frozen
class ReviewBooking:
    """The resident's rating (1 to 5), words and photos, once, after the service was
    completed."""

    booking_id: BookingId
    rating: int
    text: str = ""
    photos: tuple[str, ...] = ()


class ReviewBookingHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: ReviewBooking, *, actor: Actor) -> ServiceBooking:
        """Also a :class:`~shequ.domain.reviews.Review` of the merchant, with the photos,
        listed with its reviews and answered by it."""

        def attempt() -> ServiceBooking:
            with self._uow as uow:
                booking = uow.bookings.get_for_update(cmd.booking_id)
                self._policy.require(actor, Permission.OWN_ORDER, owner=booking.resident_id)
                if booking.status is BookingStatus.REVIEWED:
                    raise IllegalTransition(
                        f"booking {booking.id} is reviewed already: one review a booking",
                        status=booking.status.value,
                        action="review",
                    )
                now = self._clock.now()
                booking.reviewed(cmd.rating, cmd.text, now=now)
                review = Review.write(
                    id=ReviewId(new_id()),
                    subject=ReviewSubject.SERVICE,
                    author_id=booking.resident_id,
                    community_id=booking.community_id,
                    rating=cmd.rating,
                    text=cmd.text,
                    photo_urls=cmd.photos,
                    now=now,
                    provider_id=booking.provider_id,
                    booking_id=booking.id,
                )
                uow.providers.get_for_update(booking.provider_id).rated(cmd.rating)
                uow.reviews.add(review)
                uow.commit()
            return booking

        return retry_on_conflict(attempt)


@attrs.frozen
class ListBookings:
    """A resident's bookings (``resident_id``), or a merchant's starting on ``days`` days
    from ``day`` (``provider_id``)."""

    resident_id: AccountId | None = None
    provider_id: ProviderId | None = None
    day: dt.date | None = None
    days: int = 1


class ListBookingsHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: ListBookings, *, actor: Actor) -> list[ServiceBooking]:
        if (query.resident_id is None) == (query.provider_id is None):
            raise InvalidInput("list a resident's bookings or a merchant's", field="resident_id")
        if type(query.days) is not int or not 1 <= query.days <= 31:
            raise InvalidInput("list 1 to 31 days", field="days")
        with self._uow as uow:
            if query.provider_id is None:
                resident_id = query.resident_id or AccountId("")
                self._policy.require(actor, Permission.OWN_ORDER, owner=resident_id)
                return uow.bookings.of_resident(resident_id)
            self._policy.require(
                actor, Permission.MANAGE_SERVICES, provider=uow.providers.get(query.provider_id)
            )
            day = query.day or self._clock.now().astimezone(CHINA_STANDARD_TIME).date()
            start = dt.datetime.combine(day, dt.time(), tzinfo=CHINA_STANDARD_TIME)
            return uow.bookings.of_provider(
                query.provider_id, start, start + dt.timedelta(days=query.days)
            )


@attrs.frozen
class RemindBookings:
    limit: int = 500


class RemindBookingsHandler:
    """For a scheduler (``shequ services remind``): each booking starting within
    ``ServiceRules.remind_before`` gets one reminder, as an event for a notifier."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: ServiceRules) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, cmd: RemindBookings, *, actor: Actor) -> int:
        self._policy.require(actor, Permission.MANAGE_SERVICES)

        def attempt() -> int:
            now = self._clock.now()
            with self._uow as uow:
                due = uow.bookings.to_remind(now, now + self._rules.remind_before, cmd.limit)
                for booking in due:
                    booking.remind(now)
                uow.commit()
            return len(due)

        return retry_on_conflict(attempt)
