"""What residents see of their orders: the code to show at the pickup point, and the
code to give our rider at the door."""

from __future__ import annotations

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import UnitOfWork
from shequ.domain.errors import NotFound
from shequ.domain.fulfilment.delivery import TEAM, DeliveryStatus
from shequ.domain.fulfilment.pickup import PickupTicket
from shequ.domain.ids import OrderId

__all__ = [
    "GetHandoverCode",
    "GetHandoverCodeHandler",
    "GetPickupCode",
    "GetPickupCodeHandler",
    "HandoverCode",
]


@attrs.frozen
class GetPickupCode:
    order_id: OrderId


class GetPickupCodeHandler:
    """An order's pickup code (核销码) and where it waits: for the order's resident (and,
    as for everything, admins and the console). Not for the operators of the community or
    of the point: whoever hands the order over must have the code from the resident."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: GetPickupCode, *, actor: Actor) -> PickupTicket:
        with self._uow as uow:
            order = uow.orders.get(query.order_id)
            self._policy.require(actor, Permission.OWN_ORDER, owner=order.resident_id)
            ticket = uow.pickup_tickets.find(order.id)
        if ticket is None:
            raise NotFound(f"order {order.id} has no pickup code: it has not reached its point")
        return ticket


@attrs.frozen
class GetHandoverCode:
    order_id: OrderId


@attrs.frozen
class HandoverCode:
    order_id: OrderId
    code: str
    status: DeliveryStatus
    rider_assigned: bool


class GetHandoverCodeHandler:
    """The code a resident gives our own rider at the door, so that the parcel is
    handed to the right person: for the order's resident only (and admins, the console),
    as long as our team carries it. Riders never see it."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: GetHandoverCode, *, actor: Actor) -> HandoverCode:
        with self._uow as uow:
            order = uow.orders.get(query.order_id)
            self._policy.require(actor, Permission.OWN_ORDER, owner=order.resident_id)
            shipment = uow.shipments.find(order.id)
        if shipment is None or shipment.courier != TEAM:
            raise NotFound(f"order {order.id} has no handover code: our own riders do not carry it")
        return HandoverCode(
            shipment.id, shipment.handover_code, shipment.status, shipment.rider_id is not None
        )
