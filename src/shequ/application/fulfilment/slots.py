"""Delivery slots (配送时段): the windows of a community's delivery day, each holding so
many orders, opened by its staff and chosen by residents at checkout.

A slot's places are booked with a guarded increment in the same transaction as the order
(the slot before the SKUs, as a pickup point's day), so concurrent checkouts never pass
its capacity; an order cancelled or expired gives its place back. A slot takes orders
until ``DeliveryRules.slot_cutoff`` before it starts.
"""

from __future__ import annotations

import datetime as dt

import attrs

from shequ.application.fulfilment.delivery import DeliveryRules
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import InvalidInput
from shequ.domain.fulfilment.delivery import DeliverySlot, SlotStatus
from shequ.domain.ids import CommunityId, DeliverySlotId, new_id
from shequ.domain.ordering import Fulfilment, Order
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = [
    "DeliverySlotView",
    "EditDeliverySlot",
    "EditDeliverySlotHandler",
    "ListDeliverySlots",
    "ListDeliverySlotsHandler",
    "OpenDeliverySlots",
    "OpenDeliverySlotsHandler",
    "book_slot",
    "release_slot",
]

MAX_DAYS = 31


@attrs.frozen
class DeliverySlotView:
    """A slot as residents and staff see it: how full, and whether it can be chosen now."""

    slot: DeliverySlot
    booked: int
    bookable: bool

    @property
    def remaining(self) -> int:
        return max(0, self.slot.capacity - self.booked)


@attrs.frozen
class OpenDeliverySlots:
    """Slots of ``minutes`` each from ``first`` to ``last`` (wall-clock times in China)
    on ``days`` days from ``day``, each holding ``capacity`` orders. A window the
    community has already is left as it is, so running it again opens nothing twice."""

    community_id: CommunityId
    day: dt.date
    first: dt.time
    last: dt.time
    minutes: int
    capacity: int
    days: int = 1


class OpenDeliverySlotsHandler:
    """The community's staff open its delivery days."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: OpenDeliverySlots, *, actor: Actor) -> list[DeliverySlot]:
        self._policy.require(actor, Permission.MANAGE_FULFILMENT, community_id=cmd.community_id)
        windows = _windows(cmd)
        now = self._clock.now()
        with self._uow as uow:
            uow.communities.get(cmd.community_id)
            existing = {
                (s.starts_at, s.ends_at)
                for s in uow.delivery_slots.starting_between(
                    windows[0][0], windows[-1][0] + dt.timedelta(seconds=1), cmd.community_id
                )
            }
            opened = []
            for starts_at, ends_at in windows:
                if (starts_at, ends_at) in existing:
                    continue
                slot = DeliverySlot.create(
                    id=DeliverySlotId(new_id()),
                    community_id=cmd.community_id,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    capacity=cmd.capacity,
                    now=now,
                )
                uow.delivery_slots.add(slot)
                opened.append(slot)
            uow.commit()
        return opened


def _windows(cmd: OpenDeliverySlots) -> list[tuple[dt.datetime, dt.datetime]]:
    if type(cmd.minutes) is not int or not 15 <= cmd.minutes <= 720:
        raise InvalidInput("a slot lasts 15 to 720 minutes", field="minutes")
    if type(cmd.days) is not int or not 1 <= cmd.days <= MAX_DAYS:
        raise InvalidInput(f"open slots for 1 to {MAX_DAYS} days at a time", field="days")
    if cmd.last <= cmd.first:
        raise InvalidInput("the last slot ends after the first begins", field="last")
    step = dt.timedelta(minutes=cmd.minutes)
    windows = []
    for ahead in range(cmd.days):
        day = cmd.day + dt.timedelta(days=ahead)
        start = dt.datetime.combine(day, cmd.first, tzinfo=CHINA_STANDARD_TIME)
        last = dt.datetime.combine(day, cmd.last, tzinfo=CHINA_STANDARD_TIME)
        while start + step <= last:
            windows.append((start.astimezone(dt.UTC), (start + step).astimezone(dt.UTC)))
            start += step
    if not windows:
        raise InvalidInput(
            f"no slot of {cmd.minutes} minutes fits between {cmd.first} and {cmd.last}",
            field="minutes",
        )
    return windows


@attrs.frozen
class EditDeliverySlot:
    """A new ``capacity`` (never below what it holds), or ``open`` ``False`` to close it
    (what it holds stays booked) and ``True`` to open it again."""

    slot_id: DeliverySlotId
    capacity: int | None = None
    open: bool | None = None


class EditDeliverySlotHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: DeliveryRules) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, cmd: EditDeliverySlot, *, actor: Actor) -> DeliverySlotView:
        def attempt() -> DeliverySlotView:
            with self._uow as uow:
                slot = uow.delivery_slots.get_for_update(cmd.slot_id)  # bookings wait
                self._policy.require(
                    actor, Permission.MANAGE_FULFILMENT, community_id=slot.community_id
                )
                booked = uow.delivery_slots.booked([slot.id]).get(slot.id, 0)
                slot.edit(capacity=cmd.capacity, booked=booked)
                if cmd.open is True:
                    slot.reopen()
                elif cmd.open is False:
                    slot.close()
                uow.commit()
            return _view(slot, booked, self._clock.now(), self._rules)

        return retry_on_conflict(attempt)


@attrs.frozen
class ListDeliverySlots:
    """A community's slots on ``days`` days from ``day`` (default: today in China)."""

    community_id: CommunityId
    day: dt.date | None = None
    days: int = 1


class ListDeliverySlotsHandler:
    """Any signed-in account sees a community's slots and which can still be chosen."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: DeliveryRules) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, query: ListDeliverySlots, *, actor: Actor) -> list[DeliverySlotView]:
        self._policy.require(actor, Permission.BROWSE)
        if type(query.days) is not int or not 1 <= query.days <= MAX_DAYS:
            raise InvalidInput(f"list 1 to {MAX_DAYS} days of slots", field="days")
        now = self._clock.now()
        day = query.day or now.astimezone(CHINA_STANDARD_TIME).date()
        start = dt.datetime.combine(day, dt.time(), tzinfo=CHINA_STANDARD_TIME)
        with self._uow as uow:
            uow.communities.get(query.community_id)
            slots = uow.delivery_slots.starting_between(
                start, start + dt.timedelta(days=query.days), query.community_id
            )
            booked = uow.delivery_slots.booked(s.id for s in slots)
        return [_view(s, booked.get(s.id, 0), now, self._rules) for s in slots]


def _view(
    slot: DeliverySlot, booked: int, now: dt.datetime, rules: DeliveryRules
) -> DeliverySlotView:
    bookable = (
        slot.status is SlotStatus.OPEN
        and booked < slot.capacity
        and now <= slot.bookable_until(rules.slot_cutoff)
    )
    return DeliverySlotView(slot, booked, bookable)


# ---------------------------------------------------------------- at checkout


def book_slot(
    uow: UnitOfWork,
    slot_id: str,
    community_id: CommunityId,
    now: dt.datetime,
    rules: DeliveryRules,
) -> DeliverySlot:
    """Checkout's part: the slot takes orders of the community now, and one more fits
    (booked with a guarded increment)."""
    slot = uow.delivery_slots.get(DeliverySlotId(slot_id))
    slot.check_takes(community_id, now, rules.slot_cutoff)
    slot.booked_full(uow.delivery_slots.reserve(slot.id), now)
    return slot


def release_slot(uow: UnitOfWork, order: Order) -> None:
    """An order that will not be delivered after all gives its place in its slot back."""
    if order.delivery.kind is Fulfilment.DELIVERY and order.delivery.slot_id:
        uow.delivery_slots.release(DeliverySlotId(order.delivery.slot_id))
