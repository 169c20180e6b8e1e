"""Home delivery (配送): time slots with a capacity, and the shipment that carries an order
to its door, with a tracking timeline.

A :class:`DeliverySlot` is a window of a community's delivery day (two hours, say) that
holds so many orders. A :class:`Shipment` is the delivery of one order: the slot or, for an
express (加急) order, the time promised; whether it needs the cold chain; the courier
that carries it and that courier's reference; where it stands, and every step so far.

Statuses only move forwards::

    created → assigned → picked_up → out_for_delivery → delivered
                 │            │             │
                 └────────────┴─────────────┴──→ failed ──→ returned

A shipment no courier would take stays ``created`` with the reason (``pending_reason``)
until it is dispatched again; nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from typing import Final

import attrs

from shequ.domain.errors import (
    DeliveryCodeInvalid,
    DeliverySlotUnavailable,
    Forbidden,
    IllegalTransition,
    InvalidInput,
)
from shequ.domain.events import DomainEvent
from shequ.domain.ids import AccountId, CommunityId, DeliverySlotId, OrderId, check_id
from shequ.domain.values import clean_text, utc_time

__all__ = [
    "FORWARD",
    "HANDOVER_CODE_DIGITS",
    "MAX_SLOT",
    "TEAM",
    "DeliveryDispatched",
    "DeliveryFailed",
    "DeliverySlot",
    "DeliverySlotCapacityReached",
    "DeliveryStatus",
    "DeliveryStatusChanged",
    "RiderAssigned",
    "Shipment",
    "SlotStatus",
    "TrackingEvent",
]

TEAM: Final = "team"
"""The courier name of our own delivery team: its riders are accounts of shequ."""
HANDOVER_CODE_DIGITS: Final = 6


class DeliveryStatus(enum.StrEnum):
    CREATED = "created"  # waiting for a courier
    ASSIGNED = "assigned"  # a courier took it
    PICKED_UP = "picked_up"  # the courier has the goods
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"  # with proof
    FAILED = "failed"  # with a reason
    RETURNED = "returned"  # the goods are back
    CANCELLED = "cancelled"  # the order was refunded before a courier had the goods


S = DeliveryStatus
FORWARD: Final = {
    S.CREATED: frozenset({S.ASSIGNED}),
    S.ASSIGNED: frozenset({S.PICKED_UP, S.OUT_FOR_DELIVERY, S.DELIVERED, S.FAILED}),
    S.PICKED_UP: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED, S.FAILED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.FAILED}),
    S.FAILED: frozenset({S.RETURNED}),
    S.DELIVERED: frozenset(),
    S.RETURNED: frozenset(),
    S.CANCELLED: frozenset(),
}
"""Where each status may go next on a courier's or a rider's report (a courier may
report a later step and skip one). Only shequ cancels: :meth:`Shipment.cancel`."""
del S


class SlotStatus(enum.StrEnum):
    OPEN = "open"  # takes bookings until its cut-off
    CLOSED = "closed"  # takes no more; what it holds stays booked


MAX_SLOT = dt.timedelta(hours=12)


@attrs.define(slots=False, eq=False)
class DeliverySlot:
    """``starts_at`` to ``ends_at`` of a community's delivery day, holding ``capacity``
    orders. How many are booked is kept by the storage, with a guarded increment (like a
    SKU's stock), not on this object."""

    id: DeliverySlotId
    community_id: CommunityId
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    created_at: dt.datetime
    status: SlotStatus = SlotStatus.OPEN
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        id: DeliverySlotId,
        community_id: CommunityId,
        starts_at: dt.datetime,
        ends_at: dt.datetime,
        capacity: int,
        now: dt.datetime,
    ) -> DeliverySlot:
        check_id(id, "delivery slot")
        starts_at, ends_at = utc_time(starts_at, "starts_at"), utc_time(ends_at, "ends_at")
        if not starts_at < ends_at <= starts_at + MAX_SLOT:
            raise InvalidInput(
                "a delivery slot ends after it starts, within 12 hours", field="ends_at"
            )
        return cls(id, community_id, starts_at, ends_at, _capacity(capacity), now)

    def edit(self, *, capacity: int | None = None, booked: int = 0) -> None:
        """A new capacity, never below the ``booked`` orders it holds already."""
        if capacity is None:
            return
        if _capacity(capacity) < booked:
            raise InvalidInput(
                f"slot {self.id} holds {booked} orders already; its capacity cannot go below that",
                field="capacity",
            )
        if capacity != self.capacity:
            self.capacity = capacity
            self.version += 1

    def close(self) -> None:
        if self.status is not SlotStatus.CLOSED:
            self.status = SlotStatus.CLOSED
            self.version += 1

    def reopen(self) -> None:
        if self.status is not SlotStatus.OPEN:
            self.status = SlotStatus.OPEN
            self.version += 1

    def bookable_until(self, cutoff: dt.timedelta) -> dt.datetime:
        """The last moment an order may choose this slot."""
        return self.starts_at - cutoff

    def check_takes(
        self, community_id: CommunityId, now: dt.datetime, cutoff: dt.timedelta
    ) -> None:
        """Raise :class:`DeliverySlotUnavailable` unless an order of ``community_id``
        placed ``now`` may choose this slot (room is checked by the booking itself)."""
        if community_id != self.community_id:
            raise DeliverySlotUnavailable(
                f"delivery slot {self.id} is of another community", slot_id=self.id
            )
        if self.status is SlotStatus.CLOSED:
            raise DeliverySlotUnavailable(f"delivery slot {self.id} is closed", slot_id=self.id)
        if now > self.bookable_until(cutoff):
            raise DeliverySlotUnavailable(
                f"delivery slot {self.id} starts at {self.starts_at.isoformat()}: too late to "
                f"choose it now",
                slot_id=self.id,
            )

    def booked_full(self, booked: int, now: dt.datetime) -> None:
        """The booking that took the last place: say so."""
        if booked >= self.capacity:
            self.events.append(
                DeliverySlotCapacityReached(
                    occurred_at=now,
                    slot_id=self.id,
                    community_id=self.community_id,
                    starts_at=self.starts_at,
                    capacity=self.capacity,
                )
            )


def _capacity(capacity: int) -> int:
    if type(capacity) is not int or not 1 <= capacity <= 10_000:
        raise InvalidInput("a delivery slot holds 1 to 10,000 orders", field="capacity")
    return capacity


@attrs.frozen
class TrackingEvent:
    at: dt.datetime
    status: DeliveryStatus
    note: str = ""
    source: str = ""  # who said so: a courier's name, "rider", "operator"


# ---------------------------------------------------------------- events


@attrs.frozen(kw_only=True)
class DeliveryDispatched(DomainEvent):
    order_id: OrderId
    courier: str
    courier_ref: str


@attrs.frozen(kw_only=True)
class DeliveryStatusChanged(DomainEvent):
    order_id: OrderId
    old_status: DeliveryStatus
    new_status: DeliveryStatus
    source: str


@attrs.frozen(kw_only=True)
class DeliveryFailed(DomainEvent):
    order_id: OrderId
    reason: str
    source: str


@attrs.frozen(kw_only=True)
class RiderAssigned(DomainEvent):
    """One of our riders has the delivery (``rider_id`` ``None``: given back, unassigned)."""

    order_id: OrderId
    rider_id: AccountId | None
    by: str


@attrs.frozen(kw_only=True)
class DeliverySlotCapacityReached(DomainEvent):
    slot_id: DeliverySlotId
    community_id: CommunityId
    starts_at: dt.datetime
    capacity: int


# ---------------------------------------------------------------- the shipment


@attrs.define(slots=False, eq=False)
class Shipment:
    """The delivery of one order; ``id`` is the order's id."""

    id: OrderId
    community_id: CommunityId
    address_id: str
    window_start: dt.datetime
    window_end: dt.datetime  # the slot's end, or the express promise
    express: bool
    cold_chain: bool
    created_at: dt.datetime
    status: DeliveryStatus = DeliveryStatus.CREATED
    courier: str | None = None
    courier_ref: str | None = None
    fee_fen: int = 0  # what the courier quoted
    pending_reason: str = ""  # why no courier has it yet
    attempts: int = 0  # dispatch attempts so far
    proof: str = ""  # delivered: the resident's confirmation, a photo's URI …
    timeline: list[TrackingEvent] = attrs.Factory(list)
    slot_id: DeliverySlotId | None = None  # the slot the resident chose, if any
    rider_id: AccountId | None = None  # our team's rider who has it
    rider_accepted_at: dt.datetime | None = None
    # what the resident tells our rider at the door (确认码); never shown to riders
    handover_code: str = attrs.field(default="", repr=False)
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        order_id: OrderId,
        community_id: CommunityId,
        address_id: str,
        window_start: dt.datetime,
        window_end: dt.datetime,
        express: bool,
        cold_chain: bool,
        now: dt.datetime,
        handover_code: str,
        slot_id: DeliverySlotId | None = None,
    ) -> Shipment:
        if window_end <= window_start:
            raise InvalidInput("a delivery window ends after it starts", field="window")
        if len(handover_code) != HANDOVER_CODE_DIGITS or not handover_code.isdigit():
            raise InvalidInput(
                f"a handover code is {HANDOVER_CODE_DIGITS} digits", field="handover_code"
            )
        return cls(
            id=order_id,
            community_id=community_id,
            address_id=address_id,
            window_start=window_start,
            window_end=window_end,
            express=express,
            cold_chain=cold_chain,
            created_at=now,
            timeline=[TrackingEvent(now, DeliveryStatus.CREATED, source="shequ")],
            slot_id=slot_id,
            handover_code=handover_code,
        )

    # ------------------------------------------------------------ our own riders

    def assign_rider(self, rider_id: AccountId | None, *, now: dt.datetime, by: str) -> bool:
        """Our team's delivery goes to ``rider_id`` (``None``: back to the team's queue),
        until the goods are picked up. ``False`` when it is theirs already."""
        self._check_team("assign a rider to")
        self._check(DeliveryStatus.ASSIGNED, "assign")
        if rider_id == self.rider_id:
            return False
        self.rider_id, self.rider_accepted_at = rider_id, None
        note = f"rider {rider_id}" if rider_id else "back in the team's queue"
        self._note(now, note, by)
        self.events.append(
            RiderAssigned(occurred_at=now, order_id=self.id, rider_id=rider_id, by=by)
        )
        return True

    def accept(self, rider_id: AccountId, *, now: dt.datetime) -> None:
        """A rider takes the delivery on: one assigned to them, or one nobody has."""
        self._check_team("accept")
        self._check(DeliveryStatus.ASSIGNED, "accept")
        if self.rider_id not in (None, rider_id):
            raise Forbidden(f"the delivery of order {self.id} is another rider's")
        if self.rider_accepted_at is not None:
            return
        self.assign_rider(rider_id, now=now, by="rider")
        self.rider_accepted_at = now
        self._note(now, "accepted by its rider", "rider")

    def decline(self, rider_id: AccountId, *, now: dt.datetime, reason: str) -> None:
        """The rider cannot take it after all: back in the team's queue, with why."""
        self._check_rider(rider_id, accepted=False)
        self._check(DeliveryStatus.ASSIGNED, "decline")
        why = clean_text(reason, "reason", max_len=300)
        self.assign_rider(None, now=now, by="rider")
        self._note(now, f"declined: {why}", "rider")

    def ride(
        self,
        rider_id: AccountId,
        status: DeliveryStatus,
        *,
        now: dt.datetime,
        note: str = "",
        code: str = "",
    ) -> bool:
        """A step the rider reports: picked up, out for delivery, delivered (with the
        code the resident gives at the door), failed (with a reason), returned."""
        self._check_rider(rider_id, accepted=True)
        proof = ""
        if status is DeliveryStatus.DELIVERED and status is not self.status:
            if not (self.handover_code and secrets.compare_digest(code, self.handover_code)):
                raise DeliveryCodeInvalid("that is not the resident's handover code")
            proof = "the resident's handover code"
        return self.advance(status, now=now, source="rider", note=note, proof=proof)

    def _check_team(self, doing: str) -> None:
        if self.courier != TEAM:
            raise IllegalTransition(
                f"cannot {doing} the delivery of order {self.id}: it is with "
                f"{self.courier or 'no courier yet'}, not our own team",
                status=self.status.value,
                action="rider",
            )

    def _check_rider(self, rider_id: AccountId, *, accepted: bool) -> None:
        self._check_team("act on")
        if self.rider_id != rider_id:
            raise Forbidden(f"the delivery of order {self.id} is not yours")
        if accepted and self.rider_accepted_at is None:
            raise IllegalTransition(
                f"accept the delivery of order {self.id} first",
                status=self.status.value,
                action="ride",
            )

    def _note(self, now: dt.datetime, note: str, source: str) -> None:
        self.timeline = [*self.timeline, TrackingEvent(now, self.status, note, source)]
        self.version += 1

    def not_dispatched(self, reason: str, *, now: dt.datetime) -> None:
        """Every courier was tried and none took it: it waits, saying why."""
        self._check(DeliveryStatus.CREATED, "dispatch")
        self.attempts += 1
        self.pending_reason = clean_text(reason, "reason", max_len=300)
        self.version += 1
        self.events.append(
            DeliveryFailed(
                occurred_at=now, order_id=self.id, reason=self.pending_reason, source="dispatch"
            )
        )

    def dispatched(self, courier: str, courier_ref: str, fee_fen: int, *, now: dt.datetime) -> None:
        self._check(DeliveryStatus.CREATED, "dispatch")
        self.attempts += 1
        self.courier, self.courier_ref, self.fee_fen = courier, courier_ref, fee_fen
        self.pending_reason = ""
        self._move(DeliveryStatus.ASSIGNED, now, f"taken by {courier}", courier)
        self.events.append(
            DeliveryDispatched(
                occurred_at=now, order_id=self.id, courier=courier, courier_ref=courier_ref
            )
        )

    def cancel(self, *, now: dt.datetime, note: str) -> bool:
        """The order will not be delivered after all (refunded before its goods left): a
        shipment no courier has, or one whose courier has not picked the goods up yet, is
        cancelled. ``False`` when it is cancelled already; raises once the goods left."""
        if self.status is DeliveryStatus.CANCELLED:
            return False
        if self.status not in (DeliveryStatus.CREATED, DeliveryStatus.ASSIGNED):
            raise IllegalTransition(
                f"delivery of order {self.id} is {self.status.value}: the goods have left",
                status=self.status.value,
                action="cancel",
            )
        self.pending_reason = ""
        self._move(DeliveryStatus.CANCELLED, now, clean_text(note, "note", max_len=300), "shequ")
        return True

    def advance(
        self,
        status: DeliveryStatus,
        *,
        now: dt.datetime,
        source: str,
        note: str = "",
        proof: str = "",
    ) -> bool:
        """A courier's or a rider's report. ``False`` for a report of where it stands
        already (reports are repeated); a step backwards raises."""
        if status is self.status:
            return False
        if self.status is DeliveryStatus.CANCELLED and status is DeliveryStatus.FAILED:
            return False  # the courier reporting that we called it off
        if status not in FORWARD[self.status]:
            raise IllegalTransition(
                f"delivery of order {self.id} is {self.status.value}; it cannot go to "
                f"{status.value}",
                status=self.status.value,
                action=status.value,
            )
        note = clean_text(note, "note", max_len=300, required=status is DeliveryStatus.FAILED)
        if status is DeliveryStatus.DELIVERED:
            self.proof = clean_text(proof, "proof", max_len=500)
        self._move(status, now, note, source)
        if status is DeliveryStatus.FAILED:
            self.events.append(
                DeliveryFailed(occurred_at=now, order_id=self.id, reason=note, source=source)
            )
        return True

    def _move(self, status: DeliveryStatus, now: dt.datetime, note: str, source: str) -> None:
        old, self.status = self.status, status
        self.timeline = [*self.timeline, TrackingEvent(now, status, note, source)]
        self.version += 1
        self.events.append(
            DeliveryStatusChanged(
                occurred_at=now, order_id=self.id, old_status=old, new_status=status, source=source
            )
        )

    def _check(self, status: DeliveryStatus, action: str) -> None:
        if self.status is not status:
            raise IllegalTransition(
                f"delivery of order {self.id} is {self.status.value} already",
                status=self.status.value,
                action=action,
            )
