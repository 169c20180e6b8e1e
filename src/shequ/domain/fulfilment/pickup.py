"""Pickup points (自提点) and the pickup codes (核销码) that hand orders over at them.

A :class:`PickupPoint` is a place in a community where residents collect their orders: a
convenience store, the property office, a parcel station or a leader's home. It has
opening hours per weekday with exceptions for given dates, a daily capacity in parcels,
the account that runs it (团长), and is active or paused.

When an order's batch arrives at its point, the order gets a :class:`PickupTicket`: a
6-digit code from a secure source, unique among the uncollected orders of that point. The
point's operator verifies the code to hand the order over.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from shequ.domain.errors import (
    IllegalTransition,
    InvalidInput,
    PickupCodeInvalid,
    PickupPointUnavailable,
)
from shequ.domain.events import DomainEvent
from shequ.domain.hours import WEEKDAYS, Hours, OpeningHours
from shequ.domain.ids import AccountId, CommunityId, OrderId, PickupPointId, check_id
from shequ.domain.routing import GeoPoint
from shequ.domain.values import clean_text

__all__ = [
    "CODE_DIGITS",
    "WEEKDAYS",
    "Hours",
    "OpeningHours",
    "OrderArrivedAtPickupPoint",
    "OrderPickedUp",
    "PickupCodeIssued",
    "PickupOverdue",
    "PickupPoint",
    "PickupPointCapacityReached",
    "PickupTicket",
    "PointKind",
    "PointStatus",
    "TicketStatus",
]

CODE_DIGITS = 6


class PointKind(enum.StrEnum):
    CONVENIENCE_STORE = "convenience_store"  # 便利店
    PROPERTY_OFFICE = "property_office"  # 物业
    PARCEL_STATION = "parcel_station"  # 快递驿站
    LEADER_HOME = "leader_home"  # 团长家


class PointStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


# ---------------------------------------------------------------- events


@attrs.frozen(kw_only=True)
class PickupPointCapacityReached(DomainEvent):
    pickup_point_id: PickupPointId
    day: dt.date
    capacity: int


@attrs.frozen(kw_only=True)
class OrderArrivedAtPickupPoint(DomainEvent):
    order_id: OrderId
    pickup_point_id: PickupPointId


@attrs.frozen(kw_only=True)
class PickupCodeIssued(DomainEvent):
    """The code itself is not in the event: only the resident and the point see it."""

    order_id: OrderId
    pickup_point_id: PickupPointId
    resident_id: AccountId


@attrs.frozen(kw_only=True)
class OrderPickedUp(DomainEvent):
    order_id: OrderId
    pickup_point_id: PickupPointId
    handed_over_by: AccountId | None


@attrs.frozen(kw_only=True)
class PickupOverdue(DomainEvent):
    order_id: OrderId
    pickup_point_id: PickupPointId
    days: int
    returned: bool  # False: a reminder; True: given up, returned and refunded


# ---------------------------------------------------------------- the point


@attrs.define(slots=False, eq=False)
class PickupPoint:
    id: PickupPointId
    community_id: CommunityId
    name: str
    kind: PointKind
    address: str
    location: GeoPoint
    hours: OpeningHours
    daily_capacity: int
    operator_id: AccountId | None
    created_at: dt.datetime
    status: PointStatus = PointStatus.ACTIVE
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        id: PickupPointId,
        community_id: CommunityId,
        name: str,
        kind: PointKind,
        address: str,
        location: GeoPoint,
        hours: OpeningHours,
        daily_capacity: int,
        operator_id: AccountId | None,
        now: dt.datetime,
    ) -> PickupPoint:
        check_id(id, "pickup point")
        return cls(
            id=id,
            community_id=community_id,
            name=clean_text(name, "name", max_len=60),
            kind=PointKind(kind),
            address=clean_text(address, "address", max_len=200),
            location=location,
            hours=hours,
            daily_capacity=_capacity(daily_capacity),
            operator_id=operator_id,
            created_at=now,
        )

    def edit(
        self,
        *,
        name: str | None = None,
        address: str | None = None,
        location: GeoPoint | None = None,
        hours: OpeningHours | None = None,
        daily_capacity: int | None = None,
        operator_id: AccountId | None = None,
    ) -> None:
        if name is not None:
            self.name = clean_text(name, "name", max_len=60)
        if address is not None:
            self.address = clean_text(address, "address", max_len=200)
        if location is not None:
            self.location = location
        if hours is not None:
            self.hours = hours
        if daily_capacity is not None:
            self.daily_capacity = _capacity(daily_capacity)
        if operator_id is not None:
            self.operator_id = operator_id
        self.version += 1

    def pause(self) -> None:
        self._set(PointStatus.PAUSED)

    def resume(self) -> None:
        self._set(PointStatus.ACTIVE)

    def _set(self, status: PointStatus) -> None:
        if self.status is not status:
            self.status = status
            self.version += 1

    def check_takes(self, community_id: CommunityId, day: dt.date) -> None:
        """Orders of ``community_id`` may be collected here on ``day`` (capacity aside)."""
        if community_id != self.community_id:
            raise PickupPointUnavailable(
                f"pickup point {self.id} is in another community", pickup_point_id=self.id
            )
        if self.status is not PointStatus.ACTIVE:
            raise PickupPointUnavailable(
                f"pickup point {self.id} is paused", pickup_point_id=self.id
            )
        if not self.hours.open_on(day):
            raise PickupPointUnavailable(
                f"pickup point {self.id} is closed on {day.isoformat()}",
                pickup_point_id=self.id,
            )


def _capacity(value: int) -> int:
    if type(value) is not int or not 1 <= value <= 100_000:
        raise InvalidInput("a daily capacity is 1 to 100,000 parcels", field="daily_capacity")
    return value


# ---------------------------------------------------------------- the code


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"  # at the point, code issued, not collected
    COLLECTED = "collected"
    RETURNED = "returned"  # never collected: returned and refunded


@attrs.define(slots=False, eq=False)
class PickupTicket:
    """An order waiting at its pickup point with its code. ``id`` is the order's id."""

    id: OrderId
    pickup_point_id: PickupPointId
    resident_id: AccountId
    code: str = attrs.field(repr=False)
    arrived_at: dt.datetime
    status: TicketStatus = TicketStatus.WAITING
    reminders: int = 0
    reminded_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    closed_by: AccountId | None = None
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def issue(
        cls,
        order_id: OrderId,
        pickup_point_id: PickupPointId,
        resident_id: AccountId,
        code: str,
        *,
        now: dt.datetime,
    ) -> PickupTicket:
        if len(code) != CODE_DIGITS or not code.isdigit():
            raise InvalidInput(f"a pickup code is {CODE_DIGITS} digits", field="code")
        ticket = cls(order_id, pickup_point_id, resident_id, code, now)
        ticket.events += [
            OrderArrivedAtPickupPoint(
                occurred_at=now, order_id=order_id, pickup_point_id=pickup_point_id
            ),
            PickupCodeIssued(
                occurred_at=now,
                order_id=order_id,
                pickup_point_id=pickup_point_id,
                resident_id=resident_id,
            ),
        ]
        return ticket

    @property
    def waiting(self) -> bool:
        return self.status is TicketStatus.WAITING

    def hand_over(
        self, pickup_point_id: PickupPointId, code: str, *, by: AccountId | None, now: dt.datetime
    ) -> None:
        """The code shown at ``pickup_point_id`` matches: the order is collected."""
        if pickup_point_id != self.pickup_point_id or code != self.code or not self.waiting:
            raise PickupCodeInvalid("the code is wrong, used, or for another point")
        self.status, self.closed_at, self.closed_by = TicketStatus.COLLECTED, now, by
        self.version += 1
        self.events.append(
            OrderPickedUp(
                occurred_at=now,
                order_id=self.id,
                pickup_point_id=self.pickup_point_id,
                handed_over_by=by,
            )
        )

    def days_waiting(self, now: dt.datetime) -> int:
        return (now - self.arrived_at) // dt.timedelta(days=1)

    def remind(self, now: dt.datetime) -> None:
        self._check_waiting("remind")
        self.reminders += 1
        self.reminded_at = now
        self.version += 1
        self.events.append(
            PickupOverdue(
                occurred_at=now,
                order_id=self.id,
                pickup_point_id=self.pickup_point_id,
                days=self.days_waiting(now),
                returned=False,
            )
        )

    def give_up(self, now: dt.datetime) -> None:
        self._check_waiting("return")
        self.status, self.closed_at = TicketStatus.RETURNED, now
        self.version += 1
        self.events.append(
            PickupOverdue(
                occurred_at=now,
                order_id=self.id,
                pickup_point_id=self.pickup_point_id,
                days=self.days_waiting(now),
                returned=True,
            )
        )

    def _check_waiting(self, action: str) -> None:
        if not self.waiting:
            raise IllegalTransition(
                f"order {self.id} was {self.status.value} already",
                status=self.status.value,
                action=action,
            )
