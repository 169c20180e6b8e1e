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
from typing import Final

import attrs

from shequ.domain.errors import IllegalTransition, InvalidInput
from shequ.domain.events import DomainEvent
from shequ.domain.ids import CommunityId, OrderId
from shequ.domain.values import clean_text

__all__ = [
    "FORWARD",
    "DeliveryDispatched",
    "DeliveryFailed",
    "DeliverySlot",
    "DeliveryStatus",
    "DeliveryStatusChanged",
    "Shipment",
    "TrackingEvent",
]


class DeliveryStatus(enum.StrEnum):
    CREATED = "created"  # waiting for a courier
    ASSIGNED = "assigned"  # a courier took it
    PICKED_UP = "picked_up"  # the courier has the goods
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"  # with proof
    FAILED = "failed"  # with a reason
    RETURNED = "returned"  # the goods are back


S = DeliveryStatus
FORWARD: Final = {
    S.CREATED: frozenset({S.ASSIGNED}),
    S.ASSIGNED: frozenset({S.PICKED_UP, S.OUT_FOR_DELIVERY, S.DELIVERED, S.FAILED}),
    S.PICKED_UP: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED, S.FAILED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.FAILED}),
    S.FAILED: frozenset({S.RETURNED}),
    S.DELIVERED: frozenset(),
    S.RETURNED: frozenset(),
}
"""Where each status may go next (a courier may report a later step and skip one)."""
del S


@attrs.frozen
class DeliverySlot:
    """``starts_at`` to ``ends_at`` in a community, holding ``capacity`` orders."""

    id: str
    community_id: CommunityId
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int

    def __attrs_post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at <= self.starts_at:
            raise InvalidInput("a slot ends after it starts, with time zones", field="slot")
        if not 1 <= self.capacity <= 10_000:
            raise InvalidInput("a slot holds 1 to 10,000 orders", field="capacity")


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
    ) -> Shipment:
        if window_end <= window_start:
            raise InvalidInput("a delivery window ends after it starts", field="window")
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
        )

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
