"""Pickup points (自提点) and pickup codes (核销码): create and list points, book a parcel
at checkout, issue codes when a batch arrives, hand orders over, and deal with orders
nobody collects.

Codes come from :mod:`secrets`; a point's codes are issued with the point's row locked,
and the database refuses a code twice among the point's uncollected orders. Wrong codes
count against the point (not the resident, who is not the one typing): after
``MAX_FAILURES`` within ``WINDOW`` the point's verification is locked for ``LOCKOUT``.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

import attrs

from shequ.application.payments.refunds import RefundPayer
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, Notifier, PickupNotice, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.auth import Throttle
from shequ.domain.errors import (
    AdapterError,
    Duplicate,
    InvalidInput,
    PickupCodeInvalid,
    PickupPointUnavailable,
    ShequError,
)
from shequ.domain.fulfilment.pickup import (
    CODE_DIGITS,
    OpeningHours,
    PickupPoint,
    PickupPointCapacityReached,
    PickupTicket,
    PointKind,
)
from shequ.domain.ids import AccountId, CommunityId, OrderId, PickupPointId, RefundId, new_id
from shequ.domain.ordering import Fulfilment, Order, OrderAction
from shequ.domain.routing import GeoPoint
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = [
    "ArriveAtPickupPoint",
    "ArriveAtPickupPointHandler",
    "CreatePickupPoint",
    "CreatePickupPointHandler",
    "EditPickupPoint",
    "EditPickupPointHandler",
    "ListPickupPoints",
    "ListPickupPointsHandler",
    "Overdue",
    "PickupPointView",
    "PickupRules",
    "ProcessOverduePickups",
    "ProcessOverduePickupsHandler",
    "VerifyPickupCode",
    "VerifyPickupCodeHandler",
    "book_pickup",
    "pickup_day",
    "release_pickup",
]

log = logging.getLogger(__name__)


@attrs.frozen
class PickupRules:
    """When a waiting order gets reminders, and when it is given up and refunded."""

    remind_after_days: int = 2
    return_after_days: int = 7


# ---------------------------------------------------------------- points


@attrs.frozen
class CreatePickupPoint:
    community_id: CommunityId
    name: str
    kind: PointKind
    address: str
    location: GeoPoint
    hours: OpeningHours
    daily_capacity: int
    operator_id: AccountId | None = None
    point_id: PickupPointId | None = None  # chosen by the caller, or made up


class CreatePickupPointHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: CreatePickupPoint, *, actor: Actor) -> PickupPoint:
        self._policy.require(actor, Permission.MANAGE_FULFILMENT, community_id=cmd.community_id)
        with self._uow as uow:
            uow.communities.get(cmd.community_id)
            if cmd.operator_id is not None:
                uow.accounts.get(cmd.operator_id)
            point = PickupPoint.create(
                id=cmd.point_id or PickupPointId(new_id()),
                community_id=cmd.community_id,
                name=cmd.name,
                kind=cmd.kind,
                address=cmd.address,
                location=cmd.location,
                hours=cmd.hours,
                daily_capacity=cmd.daily_capacity,
                operator_id=cmd.operator_id,
                now=self._clock.now(),
            )
            uow.pickup_points.add(point)
            uow.commit()
        return point


@attrs.frozen
class EditPickupPoint:
    """Change what is given; ``active`` pauses (``False``) or resumes (``True``) it."""

    point_id: PickupPointId
    name: str | None = None
    address: str | None = None
    location: GeoPoint | None = None
    hours: OpeningHours | None = None
    daily_capacity: int | None = None
    operator_id: AccountId | None = None
    active: bool | None = None


class EditPickupPointHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, cmd: EditPickupPoint, *, actor: Actor) -> PickupPoint:
        def attempt() -> PickupPoint:
            with self._uow as uow:
                point = uow.pickup_points.get_for_update(cmd.point_id)
                self._policy.require(
                    actor, Permission.MANAGE_FULFILMENT, community_id=point.community_id
                )
                if cmd.operator_id is not None:
                    uow.accounts.get(cmd.operator_id)
                point.edit(
                    name=cmd.name,
                    address=cmd.address,
                    location=cmd.location,
                    hours=cmd.hours,
                    daily_capacity=cmd.daily_capacity,
                    operator_id=cmd.operator_id,
                )
                if cmd.active is True:
                    point.resume()
                elif cmd.active is False:
                    point.pause()
                uow.commit()
            return point

        return retry_on_conflict(attempt)


@attrs.frozen
class PickupPointView:
    point: PickupPoint
    distance_m: int | None  # from the place asked about, when one was given
    open_on_day: bool


@attrs.frozen
class ListPickupPoints:
    """A community's points. Residents see the active ones; ``near`` sorts them nearest
    first from there; ``day`` (default: today) says which are open that day."""

    community_id: CommunityId
    near: GeoPoint | None = None
    day: dt.date | None = None
    include_paused: bool = False


class ListPickupPointsHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: ListPickupPoints, *, actor: Actor) -> list[PickupPointView]:
        self._policy.require(actor, Permission.BROWSE)
        if query.include_paused:
            self._policy.require(
                actor, Permission.MANAGE_FULFILMENT, community_id=query.community_id
            )
        day = query.day or self._clock.now().astimezone(CHINA_STANDARD_TIME).date()
        with self._uow as uow:
            points = uow.pickup_points.in_community(query.community_id)
        near = query.near
        views = [
            PickupPointView(
                p, None if near is None else near.distance_m(p.location), p.hours.open_on(day)
            )
            for p in points
            if query.include_paused or p.status.value == "active"
        ]
        if near is not None:
            views.sort(key=lambda v: (v.distance_m or 0, v.point.name))
        return views


# ---------------------------------------------------------------- at checkout


def pickup_day(point: PickupPoint, now: dt.datetime, day: dt.date | None) -> dt.date:
    """The day asked for (not in the past), or the first day the point is open from now on
    (today, unless it has closed for the day)."""
    today = now.astimezone(CHINA_STANDARD_TIME).date()
    if day is not None:
        if day < today:
            raise InvalidInput("a pickup date is today or later", field="pickup_date")
        return day
    still = now.astimezone(CHINA_STANDARD_TIME).time()
    for ahead in range(14):
        candidate = today + dt.timedelta(days=ahead)
        hours = point.hours.on(candidate)
        if hours and (ahead or any(h.end > still for h in hours)):  # today: not closed yet
            return candidate
    raise PickupPointUnavailable(
        f"pickup point {point.id} does not open in the next two weeks", pickup_point_id=point.id
    )


def book_pickup(
    uow: UnitOfWork,
    point_id: str,
    community_id: CommunityId,
    day: dt.date | None,
    now: dt.datetime,
) -> dt.date:
    """Checkout's part: the point takes orders of the community on that day, and one more
    parcel fits (booked with a guarded increment). Returns the pickup date."""
    point = uow.pickup_points.get(PickupPointId(point_id))
    chosen = pickup_day(point, now, day)
    point.check_takes(community_id, chosen)
    booked = uow.pickup_points.reserve(point.id, chosen, point.daily_capacity)
    if booked == point.daily_capacity:
        point.events.append(
            PickupPointCapacityReached(
                occurred_at=now, pickup_point_id=point.id, day=chosen, capacity=booked
            )
        )
    return chosen


def release_pickup(uow: UnitOfWork, order: Order) -> None:
    """An order that will not be collected after all gives its parcel's place back."""
    if order.delivery.kind is Fulfilment.PICKUP and order.pickup_date and not order.group_id:
        uow.pickup_points.release(
            PickupPointId(order.delivery.pickup_point_id or ""), order.pickup_date
        )


# ---------------------------------------------------------------- arrival


@attrs.frozen
class ArriveAtPickupPoint:
    """A batch reached the point: each order (packed, for this point) is ready for pickup
    and gets its code."""

    point_id: PickupPointId
    order_ids: tuple[OrderId, ...]


def _notify(
    notifier: Notifier, uow: UnitOfWork, resident_id: AccountId, notice: PickupNotice
) -> None:
    try:
        notifier.send_pickup_notice(uow.accounts.get(resident_id).phone, notice)
    except AdapterError as e:  # the code is on the order for its resident to see
        log.warning("could not tell %s about order %s: %s", resident_id, notice.order_id, e)


def _check_staff(policy: Policy, actor: Actor, point: PickupPoint) -> None:
    """The point's own operator, or the community's."""
    if actor.account_id is None or actor.account_id != point.operator_id:
        policy.require(actor, Permission.MANAGE_FULFILMENT, community_id=point.community_id)


class ArriveAtPickupPointHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, notifier: Notifier) -> None:
        self._uow, self._clock, self._policy, self._notifier = uow, clock, policy, notifier

    def __call__(self, cmd: ArriveAtPickupPoint, *, actor: Actor) -> list[PickupTicket]:
        if not cmd.order_ids or len(set(cmd.order_ids)) != len(cmd.order_ids):
            raise InvalidInput("name each arriving order once", field="order_ids")

        def attempt() -> tuple[PickupPoint, list[PickupTicket]]:
            now = self._clock.now()
            with self._uow as uow:
                point = uow.pickup_points.get_for_update(cmd.point_id)  # one issuer per point
                _check_staff(self._policy, actor, point)
                taken = uow.pickup_tickets.codes_waiting(point.id)
                tickets = []
                for order_id in sorted(cmd.order_ids):
                    order = uow.orders.get_for_update(order_id)
                    if order.delivery.pickup_point_id != point.id:
                        raise InvalidInput(
                            f"order {order.id} is not for pickup at {point.id}",
                            field="order_ids",
                        )
                    order.advance(OrderAction.READY, now=now, note=f"arrived at {point.name}")
                    code = _new_code(taken)
                    taken.add(code)
                    ticket = PickupTicket.issue(
                        order.id, point.id, order.resident_id, code, now=now
                    )
                    uow.pickup_tickets.add(ticket)
                    tickets.append(ticket)
                uow.commit()
            return point, tickets

        try:
            point, tickets = retry_on_conflict(attempt)
        except Duplicate:  # a code issued meanwhile by another batch: draw again
            point, tickets = retry_on_conflict(attempt)
        with self._uow as uow:
            for t in tickets:
                notice = PickupNotice("code", t.id, point.name, point.address, code=t.code)
                _notify(self._notifier, uow, t.resident_id, notice)
        return tickets


def _new_code(taken: set[str]) -> str:
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if code not in taken:
            return code


# ---------------------------------------------------------------- handing over


@attrs.frozen
class VerifyPickupCode:
    point_id: PickupPointId
    code: str


class VerifyPickupCodeHandler:
    """The point's operator types the code the resident shows: the order is picked up,
    recorded with who handed it over and when."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: VerifyPickupCode, *, actor: Actor) -> Order:
        code = cmd.code.strip() if isinstance(cmd.code, str) else ""

        def attempt() -> Order:
            now = self._clock.now()
            with self._uow as uow:
                point = uow.pickup_points.get(cmd.point_id)
                _check_staff(self._policy, actor, point)
                throttle = uow.throttles.find(f"pickup:{point.id}")
                if throttle is None:
                    throttle = Throttle(id=f"pickup:{point.id}", window_started_at=now)
                    uow.throttles.add(throttle)
                throttle.check(now)
                ticket = (
                    uow.pickup_tickets.waiting_with(point.id, code)
                    if len(code) == CODE_DIGITS and code.isdigit()
                    else None
                )
                if ticket is None:
                    throttle.failed(now)
                    uow.commit()  # the failure counts even though the call fails
                    raise PickupCodeInvalid("the code is wrong, used, or for another point")
                ticket.hand_over(point.id, code, by=actor.account_id, now=now)
                order = uow.orders.get_for_update(ticket.id)
                order.advance(OrderAction.PICK_UP, now=now, note=f"handed over at {point.name}")
                throttle.succeeded()
                uow.commit()
            return order

        return retry_on_conflict(attempt)


# ---------------------------------------------------------------- nobody came


@attrs.frozen
class ProcessOverduePickups:
    limit: int = 500


@attrs.frozen
class Overdue:
    reminded: int = 0
    returned: int = 0


class ProcessOverduePickupsHandler:
    """For a scheduler (``shequ pickup overdue``), daily: orders waiting longer than the
    rules allow get one reminder a day, then are returned and refunded."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: Policy,
        notifier: Notifier,
        rules: PickupRules,
        payer: RefundPayer,
    ) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy
        self._notifier, self._rules, self._payer = notifier, rules, payer

    def __call__(self, cmd: ProcessOverduePickups, *, actor: Actor) -> Overdue:
        self._policy.require(actor, Permission.MANAGE_FULFILMENT)
        now, rules = self._clock.now(), self._rules
        notices: list[tuple[AccountId, PickupNotice]] = []
        refunds: list[RefundId] = []

        def attempt() -> Overdue:
            notices.clear()
            refunds.clear()
            reminded = returned = 0
            with self._uow as uow:
                due = uow.pickup_tickets.waiting_since(
                    now - dt.timedelta(days=rules.remind_after_days), cmd.limit
                )
                for ticket in due:
                    point = uow.pickup_points.get(ticket.pickup_point_id)
                    days = ticket.days_waiting(now)
                    if days >= rules.return_after_days:
                        order = uow.orders.get_for_update(ticket.id)
                        refund = order.return_uncollected(
                            RefundId(new_id()), now=now, note=f"not collected in {days} days"
                        )
                        if refund is not None:
                            uow.refunds.add(refund)
                            back = {i.sku_id: i.quantity for i in refund.items if i.quantity}
                            if order.group_id is None and back:
                                uow.skus.return_stock(back)
                            refunds.append(refund.id)
                        ticket.give_up(now)
                        kind = "returned"
                        returned += 1
                    elif ticket.reminded_at is None or now - ticket.reminded_at >= dt.timedelta(
                        days=1
                    ):
                        ticket.remind(now)
                        kind = "reminder"
                        reminded += 1
                    else:
                        continue
                    notices.append(
                        (
                            ticket.resident_id,
                            PickupNotice(kind, ticket.id, point.name, point.address, days=days),
                        )
                    )
                uow.commit()
            return Overdue(reminded, returned)

        done = retry_on_conflict(attempt)
        for refund_id in refunds:
            try:
                self._payer.pay_out(refund_id)
            except ShequError:  # recorded already: retry-refunds sends it
                log.exception("refund %s waits for retry-refunds", refund_id)
        with self._uow as uow:
            for resident_id, notice in notices:
                _notify(self._notifier, uow, resident_id, notice)
        return done
