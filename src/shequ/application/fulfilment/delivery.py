"""Home delivery (配送): handing a packed order to a courier, failing over when one cannot
take it, following its callbacks, and tracking it.

Dispatching records the shipment first, then asks the couriers in their configured order,
outside any transaction (a courier adapter retries what timed out itself); the first that
takes it is recorded. When none does, the shipment stays waiting with the reasons, and
``shequ delivery dispatch --waiting`` (:class:`DispatchWaitingHandler`) tries again later:
a delivery is never lost.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
from collections.abc import Mapping, Sequence

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, Courier, CourierRequest, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.catalog import StorageMethod
from shequ.domain.errors import (
    CourierRefused,
    CourierUnavailable,
    DeliveryNotFound,
    IllegalTransition,
    InvalidInput,
    NotFound,
)
from shequ.domain.fulfilment.delivery import (
    HANDOVER_CODE_DIGITS,
    TEAM,
    DeliveryStatus,
    Shipment,
)
from shequ.domain.identity import AccountStatus, Role
from shequ.domain.ids import AccountId, CommunityId, DeliverySlotId, OrderId
from shequ.domain.ordering import Fulfilment, Order, OrderAction, OrderStatus

__all__ = [
    "MAX_CALLBACK_BYTES",
    "ApplyCourierCallback",
    "ApplyCourierCallbackHandler",
    "Couriers",
    "DeliveryRules",
    "DispatchDelivery",
    "DispatchDeliveryHandler",
    "DispatchWaiting",
    "DispatchWaitingHandler",
    "TrackDelivery",
    "TrackDeliveryHandler",
    "follow",
    "least_loaded_rider",
    "needs_cold_chain",
    "new_handover_code",
    "riders_of",
]

log = logging.getLogger(__name__)

_COLD = (StorageMethod.CHILLED, StorageMethod.FROZEN)

MAX_CALLBACK_BYTES = 64 * 1024  # a courier's callback is a few hundred bytes


@attrs.frozen
class DeliveryRules:
    """Where goods leave from, and the windows promised: a delivery in a slot within its
    slot, one without within ``standard_hours``, an express (加急) one within
    ``express_minutes``. A slot may be chosen until ``slot_cutoff`` before it starts."""

    depot: str = "the shop's warehouse"
    standard_hours: int = 4
    express_minutes: int = 60
    slot_cutoff: dt.timedelta = dt.timedelta(minutes=30)


class Couriers:
    """The configured couriers, in the order they are tried."""

    def __init__(self, couriers: Sequence[Courier]) -> None:
        self._couriers = tuple(couriers)

    @property
    def in_order(self) -> tuple[Courier, ...]:
        return self._couriers

    def get(self, name: str) -> Courier:
        for courier in self._couriers:
            if courier.name == name:
                return courier
        raise NotFound(f"no courier named {name!r} is configured", courier=name)

    def call_off(self, name: str, courier_ref: str) -> bool:
        """Tell the courier that took a delivery it is off. ``False``, with a warning in
        the log, when it cannot be told: the shipment is cancelled in our records either
        way, and its ``DeliveryStatusChanged`` event is in the outbox."""
        try:
            self.get(name).cancel(courier_ref)
        except (NotFound, CourierUnavailable, CourierRefused) as e:
            log.warning("courier %s could not be told delivery %s is off: %s", name, courier_ref, e)
            return False
        return True


@attrs.frozen
class DispatchDelivery:
    order_id: OrderId


class DispatchDeliveryHandler:
    """Give a packed home-delivery order to the first courier that takes it."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: Policy,
        couriers: Couriers,
        rules: DeliveryRules,
    ) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy
        self._couriers, self._rules = couriers, rules

    def __call__(self, cmd: DispatchDelivery, *, actor: Actor) -> Shipment:
        request = retry_on_conflict(lambda: self._record(cmd.order_id, actor))
        return self.send(request)

    def _record(self, order_id: OrderId, actor: Actor) -> CourierRequest:
        now = self._clock.now()
        with self._uow as uow:
            order = uow.orders.get_for_update(order_id)  # one dispatcher records it
            self._policy.require(
                actor, Permission.MANAGE_FULFILMENT, community_id=order.community_id
            )
            if order.delivery.kind is not Fulfilment.DELIVERY:
                raise InvalidInput(
                    f"order {order.id} is collected at a pickup point", field="order_id"
                )
            shipment = uow.shipments.find(order.id)
            if shipment is None:
                if order.status is not OrderStatus.PACKED:
                    raise IllegalTransition(
                        f"order {order.id} is {order.status.value}: pack it first",
                        status=order.status.value,
                        action="dispatch",
                    )
                shipment = self._shipment(uow, order, now)
                uow.shipments.add(shipment)
                uow.commit()
            elif shipment.status is not DeliveryStatus.CREATED:
                raise IllegalTransition(
                    f"order {order.id} is with {shipment.courier} already",
                    status=shipment.status.value,
                    action="dispatch",
                )
            return self._request(uow, order, shipment)

    def _shipment(self, uow: UnitOfWork, order: Order, now: dt.datetime) -> Shipment:
        express, slot_id = order.delivery.express, order.delivery.slot_id
        if slot_id:
            slot = uow.delivery_slots.get(DeliverySlotId(slot_id))
            start, end = slot.starts_at, slot.ends_at
        else:
            start = now
            end = now + (
                dt.timedelta(minutes=self._rules.express_minutes)
                if express
                else dt.timedelta(hours=self._rules.standard_hours)
            )
        return Shipment.create(
            order_id=order.id,
            community_id=order.community_id,
            address_id=order.delivery.address_id or "",
            window_start=start,
            window_end=end,
            express=express,
            cold_chain=needs_cold_chain(uow, order),
            now=now,
            handover_code=new_handover_code(),
            slot_id=DeliverySlotId(slot_id) if slot_id else None,
        )

    def _request(self, uow: UnitOfWork, order: Order, shipment: Shipment) -> CourierRequest:
        address = uow.addresses.find(shipment.address_id)
        if address is None:
            raise DeliveryNotFound(f"the address of order {order.id} is gone", order_id=order.id)
        return CourierRequest(
            order_id=order.id,
            depot=self._rules.depot,
            address=address.detail,
            recipient=address.recipient,
            phone=address.phone,
            window_start=shipment.window_start,
            window_end=shipment.window_end,
            express=shipment.express,
            cold_chain=shipment.cold_chain,
            parcels=1,
            community_id=order.community_id,
        )

    def send(self, request: CourierRequest) -> Shipment:
        """Ask each courier in turn; record who took it, or why nobody did."""
        reasons = []
        for courier in self._couriers.in_order:
            try:
                quote = courier.quote(request)
                ref = courier.dispatch(request)
            except (CourierUnavailable, CourierRefused) as e:
                log.warning(
                    "courier %s did not take order %s: %s", courier.name, request.order_id, e
                )
                reasons.append(f"{courier.name}: {e}")
                continue
            taken = functools.partial(
                self._taken, request.order_id, courier.name, ref, quote.fee.fen
            )
            return retry_on_conflict(taken)
        why = "; ".join(reasons) or "no courier is configured"
        return retry_on_conflict(lambda: self._not_taken(request.order_id, why))

    def _taken(self, order_id: OrderId, courier: str, ref: str, fee_fen: int) -> Shipment:
        with self._uow as uow:
            shipment = uow.shipments.get_for_update(order_id)
            if shipment.status is DeliveryStatus.CREATED:
                now = self._clock.now()
                shipment.dispatched(courier, ref, fee_fen, now=now)
                if courier == TEAM:
                    rider = least_loaded_rider(uow, shipment.community_id)
                    if rider is not None:
                        shipment.assign_rider(rider, now=now, by="dispatch")
                uow.commit()
            return shipment

    def _not_taken(self, order_id: OrderId, why: str) -> Shipment:
        with self._uow as uow:
            shipment = uow.shipments.get_for_update(order_id)
            if shipment.status is DeliveryStatus.CREATED:
                shipment.not_dispatched(why[:300], now=self._clock.now())
                uow.commit()
            return shipment


@attrs.frozen
class DispatchWaiting:
    limit: int = 100


class DispatchWaitingHandler:
    """For a scheduler: try again the shipments no courier has taken yet."""

    def __init__(self, uow: UnitOfWork, policy: Policy, dispatch: DispatchDeliveryHandler) -> None:
        self._uow, self._policy, self._dispatch = uow, policy, dispatch

    def __call__(self, cmd: DispatchWaiting, *, actor: Actor) -> list[Shipment]:
        self._policy.require(actor, Permission.MANAGE_FULFILMENT)
        with self._uow as uow:  # read the candidates; nothing is held afterwards
            waiting = [s.id for s in uow.shipments.waiting(cmd.limit)]
        return [self._dispatch(DispatchDelivery(order_id), actor=actor) for order_id in waiting]


@attrs.frozen
class ApplyCourierCallback:
    """What a courier posted to us, exactly as received."""

    courier: str
    headers: Mapping[str, str]
    body: bytes


class ApplyCourierCallbackHandler:
    """No actor: the courier's signature is the proof. The shipment moves forwards only;
    its order follows (out for delivery, delivered)."""

    def __init__(self, uow: UnitOfWork, clock: Clock, couriers: Couriers) -> None:
        self._uow, self._clock, self._couriers = uow, clock, couriers

    def __call__(self, cmd: ApplyCourierCallback) -> Shipment:
        courier = self._couriers.get(cmd.courier)
        update = courier.parse_callback(cmd.headers, cmd.body)  # raises before reading

        def attempt() -> Shipment:
            with self._uow as uow:
                shipment = uow.shipments.by_courier_ref(courier.name, update.courier_ref)
                if shipment is None:
                    raise DeliveryNotFound(
                        f"{courier.name} has no delivery {update.courier_ref!r} with us",
                        courier_ref=update.courier_ref,
                    )
                note = update.note or (
                    "the courier gave no reason" if update.status is DeliveryStatus.FAILED else ""
                )
                moved = shipment.advance(
                    update.status,
                    now=self._clock.now(),
                    source=courier.name,
                    note=note[:300],
                    proof=update.proof[:500] or f"{courier.name} {update.courier_ref}",
                )
                if moved:
                    follow(uow.orders.get_for_update(shipment.id), update.status, self._clock.now())
                uow.commit()
            return shipment

        return retry_on_conflict(attempt)


def stop_delivery(uow: UnitOfWork, order: Order, now: dt.datetime) -> tuple[str, str] | None:
    """An order refunded in full before its goods left is not delivered: its shipment, if
    one was recorded, is cancelled, so no scheduler offers it again and no rider keeps it.
    Returns the courier and its reference when a courier took it and must be told, after
    the commit (:meth:`Couriers.call_off`)."""
    if order.delivery.kind is not Fulfilment.DELIVERY or uow.shipments.find(order.id) is None:
        return None
    shipment = uow.shipments.get_for_update(order.id)
    if not shipment.cancel(now=now, note="the order was refunded before its goods left"):
        return None
    if shipment.courier is None or shipment.courier_ref is None:
        return None
    return shipment.courier, shipment.courier_ref


def riders_of(uow: UnitOfWork, community_id: CommunityId) -> list[AccountId]:
    """The community's active riders."""
    return [
        a.id
        for a in uow.accounts.list(community_id)
        if a.status is AccountStatus.ACTIVE and Role.RIDER in a.roles_in(community_id)
    ]


def least_loaded_rider(uow: UnitOfWork, community_id: CommunityId) -> AccountId | None:
    """The community's active rider with the fewest open deliveries (the earliest id on a
    tie), or ``None`` when it has no rider."""
    riders = riders_of(uow, community_id)
    if not riders:
        return None
    load = dict.fromkeys(riders, 0)
    for shipment in uow.shipments.with_team([community_id]):
        if shipment.rider_id in load:
            load[shipment.rider_id] += 1
    return min(riders, key=lambda r: (load[r], r))


def needs_cold_chain(uow: UnitOfWork, order: Order) -> bool:
    """Whether any of the order's products is kept chilled or frozen."""
    products = [uow.products.get(pid) for pid in sorted({line.product_id for line in order.lines})]
    return any(p.fresh is not None and p.fresh.storage in _COLD for p in products)


def new_handover_code() -> str:
    """The code the resident gives our rider at the door, from a secure source."""
    return f"{secrets.randbelow(10**HANDOVER_CODE_DIGITS):0{HANDOVER_CODE_DIGITS}d}"


def follow(order: Order, status: DeliveryStatus, now: dt.datetime) -> None:
    """The order's own steps, as far as the delivery has come."""
    steps = {
        DeliveryStatus.PICKED_UP: (OrderAction.DISPATCH,),
        DeliveryStatus.OUT_FOR_DELIVERY: (OrderAction.DISPATCH,),
        DeliveryStatus.DELIVERED: (OrderAction.DISPATCH, OrderAction.DELIVER),
    }.get(status, ())
    for step in steps:
        if order.allows(step):
            order.advance(step, now=now, note="the courier says so")


@attrs.frozen
class TrackDelivery:
    order_id: OrderId


class TrackDeliveryHandler:
    """The shipment and its timeline: the order's resident, and its community's staff."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: TrackDelivery, *, actor: Actor) -> Shipment:
        with self._uow as uow:
            order = uow.orders.get(query.order_id)
            if not self._policy.allows(actor, Permission.OWN_ORDER, owner=order.resident_id):
                self._policy.require(
                    actor, Permission.MANAGE_FULFILMENT, community_id=order.community_id
                )
            return uow.shipments.get(order.id)
