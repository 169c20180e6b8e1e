"""Our own delivery team (自有骑手): deliveries the ``team`` courier took, assigned to the
community's riders, and what a rider does with them.

Dispatch gives a delivery the team took to the community's rider with the fewest open
deliveries (or leaves it in the team's queue when there is none); the community's staff
may assign it to another rider until it is picked up. A rider accepts a delivery (one of
theirs, or one in the queue), or declines it back into the queue; then reports it picked
up, out for delivery, and delivered, which needs the handover code the resident gives at
the door. Wrong codes count against the delivery: after ``MAX_FAILURES`` within
``WINDOW`` its codes are locked for ``LOCKOUT``. A rider sees a delivery's address only
once it is theirs, and each reading is in the audit log (``address.read``).
"""

from __future__ import annotations

import datetime as dt

import attrs

from shequ.application.audit import audit
from shequ.application.fulfilment.delivery import follow
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.auth import Throttle
from shequ.domain.errors import DeliveryCodeInvalid, Forbidden, InvalidInput, Unauthenticated
from shequ.domain.fulfilment.delivery import DeliveryStatus, Shipment
from shequ.domain.identity import AccountStatus, Address, Role
from shequ.domain.ids import AccountId, OrderId

__all__ = [
    "RIDER_STEPS",
    "AcceptDelivery",
    "AcceptDeliveryHandler",
    "AssignRider",
    "AssignRiderHandler",
    "DeclineDelivery",
    "DeclineDeliveryHandler",
    "MyDeliveries",
    "MyDeliveriesHandler",
    "ReportDelivery",
    "ReportDeliveryHandler",
    "RiderDelivery",
]

RIDER_STEPS = (
    DeliveryStatus.PICKED_UP,
    DeliveryStatus.OUT_FOR_DELIVERY,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.RETURNED,
)
"""What a rider reports, in the order it happens (failed, then returned, instead of
delivered)."""


@attrs.frozen
class RiderDelivery:
    """A delivery as its rider sees it: where to, once it is theirs."""

    shipment: Shipment
    address: Address | None


def _rider(actor: Actor) -> AccountId:
    if actor.account_id is None:
        raise Unauthenticated("a rider signs in with their own account")
    return actor.account_id


# ---------------------------------------------------------------- staff


@attrs.frozen
class AssignRider:
    """Give our team's delivery to ``rider_id``, or back to the queue with ``None``."""

    order_id: OrderId
    rider_id: AccountId | None


class AssignRiderHandler:
    """The community's staff assign a delivery to one of its riders, until picked up."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: AssignRider, *, actor: Actor) -> Shipment:
        def attempt() -> Shipment:
            with self._uow as uow:
                shipment = uow.shipments.get_for_update(cmd.order_id)
                community = shipment.community_id
                self._policy.require(actor, Permission.MANAGE_FULFILMENT, community_id=community)
                if cmd.rider_id is not None:
                    rider = uow.accounts.get(cmd.rider_id)
                    if rider.status is not AccountStatus.ACTIVE or Role.RIDER not in rider.roles_in(
                        community
                    ):
                        raise InvalidInput(
                            f"account {rider.id} is not an active rider of community {community}",
                            field="rider_id",
                        )
                shipment.assign_rider(cmd.rider_id, now=self._clock.now(), by="staff")
                uow.commit()
            return shipment

        return retry_on_conflict(attempt)


# ---------------------------------------------------------------- riders


@attrs.frozen
class MyDeliveries:
    """The signed-in rider's open deliveries, and the team's unassigned ones in their
    communities."""

    include_queue: bool = True


class MyDeliveriesHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: MyDeliveries, *, actor: Actor) -> list[RiderDelivery]:
        rider_id = _rider(actor)
        communities = sorted(
            {m.community_id for m in actor.memberships if m.role is Role.RIDER and m.community_id}
        )
        if not communities:
            raise Forbidden("you are not a rider of any community")
        with self._uow as uow:
            found = []
            for shipment in uow.shipments.with_team(communities):
                if shipment.rider_id == rider_id:
                    found.append(_with_address(uow, actor, shipment, self._clock.now()))
                elif shipment.rider_id is None and query.include_queue:
                    found.append(RiderDelivery(shipment, None))
            uow.commit()  # the audit records of the addresses read
        return found


def _with_address(
    uow: UnitOfWork, actor: Actor, shipment: Shipment, now: dt.datetime
) -> RiderDelivery:
    """The delivery with its address, for its rider: the reading is audited."""
    address = uow.addresses.find(shipment.address_id)
    if address is not None:
        audit(
            uow,
            actor,
            "address.read",
            f"account:{address.account_id}",
            now,
            address_id=address.id,
            order_id=shipment.id,
        )
    return RiderDelivery(shipment, address)


def _checked(policy: Policy, actor: Actor, shipment: Shipment) -> AccountId:
    rider_id = _rider(actor)
    policy.require(actor, Permission.RIDE, community_id=shipment.community_id)
    return rider_id


@attrs.frozen
class AcceptDelivery:
    order_id: OrderId


class AcceptDeliveryHandler:
    """A rider takes on a delivery of theirs, or one in their community's queue."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: AcceptDelivery, *, actor: Actor) -> RiderDelivery:
        def attempt() -> RiderDelivery:
            with self._uow as uow:
                shipment = uow.shipments.get_for_update(cmd.order_id)  # one rider wins it
                rider_id = _checked(self._policy, actor, shipment)
                now = self._clock.now()
                shipment.accept(rider_id, now=now)
                found = _with_address(uow, actor, shipment, now)
                uow.commit()
                return found

        return retry_on_conflict(attempt)


@attrs.frozen
class DeclineDelivery:
    order_id: OrderId
    reason: str


class DeclineDeliveryHandler:
    """A rider gives a delivery of theirs back to the team's queue, saying why."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: DeclineDelivery, *, actor: Actor) -> Shipment:
        def attempt() -> Shipment:
            with self._uow as uow:
                shipment = uow.shipments.get_for_update(cmd.order_id)
                rider_id = _checked(self._policy, actor, shipment)
                shipment.decline(rider_id, now=self._clock.now(), reason=cmd.reason)
                uow.commit()
            return shipment

        return retry_on_conflict(attempt)


@attrs.frozen
class ReportDelivery:
    """A rider's step: ``status`` one of :data:`RIDER_STEPS`; ``note`` is the reason of a
    failure; ``code`` the resident's handover code, to report it delivered."""

    order_id: OrderId
    status: DeliveryStatus
    note: str = ""
    code: str = ""


class ReportDeliveryHandler:
    """The rider moves their delivery forwards; its order follows."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: ReportDelivery, *, actor: Actor) -> Shipment:
        if cmd.status not in RIDER_STEPS:
            raise InvalidInput(
                f"a rider reports {', '.join(s.value for s in RIDER_STEPS)}", field="status"
            )
        code = cmd.code.strip() if isinstance(cmd.code, str) else ""

        def attempt() -> Shipment:
            now = self._clock.now()
            with self._uow as uow:
                shipment = uow.shipments.get_for_update(cmd.order_id)
                rider_id = _checked(self._policy, actor, shipment)
                throttle = None
                if cmd.status is DeliveryStatus.DELIVERED:
                    throttle = uow.throttles.find(f"handover:{shipment.id}")
                    if throttle is None:
                        throttle = Throttle(id=f"handover:{shipment.id}", window_started_at=now)
                        uow.throttles.add(throttle)
                    throttle.check(now)
                try:
                    moved = shipment.ride(rider_id, cmd.status, now=now, note=cmd.note, code=code)
                except DeliveryCodeInvalid:  # raised before the delivery changed at all
                    if throttle is not None:
                        throttle.failed(now)
                        uow.commit()  # the failure counts even though the call fails
                    raise
                if throttle is not None:
                    throttle.succeeded()
                if moved:
                    follow(uow.orders.get_for_update(shipment.id), cmd.status, now)
                uow.commit()
            return shipment

        return retry_on_conflict(attempt)
