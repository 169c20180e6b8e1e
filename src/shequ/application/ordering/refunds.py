"""After-sale (售后): residents ask for money back; operators approve or reject."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from shequ.application.fulfilment.delivery import Couriers, stop_delivery
from shequ.application.fulfilment.pickup import release_pickup
from shequ.application.fulfilment.slots import release_slot
from shequ.application.payments.refunds import RefundPayer
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, RefundQuery, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import InvalidInput
from shequ.domain.ids import CommunityId, OrderId, RefundId, SkuId, new_id
from shequ.domain.money import Money
from shequ.domain.ordering import OrderStatus, Refund, RefundReason, RefundStatus

__all__ = [
    "DecideRefund",
    "DecideRefundHandler",
    "ListRefunds",
    "ListRefundsHandler",
    "RequestRefund",
    "RequestRefundHandler",
]


@attrs.frozen
class RequestRefund:
    """Ask for ``items`` (SKU → units; every unit left when ``None``) back. ``amount``
    asks for less than they cost; photos are URIs of uploaded photos."""

    order_id: OrderId
    reason: RefundReason
    items: Mapping[SkuId, int] | None = None
    amount: Money | None = None
    photos: tuple[str, ...] = ()
    comment: str = ""


class RequestRefundHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: RequestRefund, *, actor: Actor) -> Refund:

        def attempt() -> Refund:
            with self._uow as uow:
                order = uow.orders.get_for_update(cmd.order_id)
                if not self._policy.allows(actor, Permission.OWN_ORDER, owner=order.resident_id):
                    self._policy.require(
                        actor, Permission.MANAGE_ORDERS, community_id=order.community_id
                    )
                refund = order.request_refund(
                    RefundId(new_id()),
                    cmd.items,
                    cmd.reason,
                    now=self._clock.now(),
                    amount=cmd.amount,
                    photos=cmd.photos,
                    comment=cmd.comment,
                )
                uow.refunds.add(refund)
                uow.commit()
            return refund

        return retry_on_conflict(attempt)


@attrs.frozen
class DecideRefund:
    refund_id: RefundId
    approve: bool
    note: str = ""


class DecideRefundHandler:
    """An operator approves (stock goes back if the goods never left; the money goes back
    through the provider) or rejects (with a note) a refund request. An approval that
    leaves nothing to deliver or collect also gives back the order's place at its pickup
    point or in its delivery slot, and cancels its delivery (the courier that took it is
    told after the commit)."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: Policy,
        payer: RefundPayer,
        couriers: Couriers,
    ) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy
        self._payer, self._couriers = payer, couriers

    def __call__(self, cmd: DecideRefund, *, actor: Actor) -> Refund:
        call_off: tuple[str, str] | None = None

        def attempt() -> Refund:
            nonlocal call_off
            call_off = None
            now = self._clock.now()
            with self._uow as uow:
                order_id = uow.refunds.get(cmd.refund_id).order_id
                order = uow.orders.get_for_update(order_id)
                refund = uow.refunds.get_for_update(cmd.refund_id)  # as it is now
                self._policy.require(
                    actor, Permission.MANAGE_ORDERS, community_id=order.community_id
                )
                if cmd.approve:
                    was = order.status
                    order.approve_refund(refund, now=now, note=cmd.note, by=actor.account_id)
                    if order.status is OrderStatus.CANCELLED and was is not order.status:
                        release_pickup(uow, order)  # the points' days and slots before SKUs
                        release_slot(uow, order)
                        call_off = stop_delivery(uow, order, now)
                    if refund.restocked:
                        uow.skus.return_stock({i.sku_id: i.quantity for i in refund.items})
                else:
                    order.reject_refund(refund, now=now, note=cmd.note, by=actor.account_id)
                uow.commit()
            return refund

        refund = retry_on_conflict(attempt)
        if call_off is not None:
            self._couriers.call_off(*call_off)
        if refund.status is RefundStatus.APPROVED:
            refund = self._payer.pay_out(refund.id)
        return refund


@attrs.frozen
class ListRefunds:
    status: RefundStatus | None = None
    order_id: OrderId | None = None
    community_id: CommunityId | None = None
    awaiting_payout: bool = False
    limit: int = 50


class ListRefundsHandler:
    """Refunds newest first: an order's for its resident; a community's for its operators."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: ListRefunds, *, actor: Actor) -> list[Refund]:
        if type(query.limit) is not int or not 1 <= query.limit <= 1000:
            raise InvalidInput("limit is 1 to 1000", field="limit")
        with self._uow as uow:
            community = query.community_id
            if query.order_id is not None:
                order = uow.orders.get(query.order_id)
                if self._policy.allows(actor, Permission.OWN_ORDER, owner=order.resident_id):
                    return uow.refunds.search(
                        RefundQuery(
                            status=query.status,
                            order_id=order.id,
                            awaiting_payout=query.awaiting_payout,
                            limit=query.limit,
                        )
                    )
                community = order.community_id
            self._policy.require(actor, Permission.READ_ORDERS, community_id=community)
            return uow.refunds.search(
                RefundQuery(
                    status=query.status,
                    order_id=query.order_id,
                    community_id=community,
                    awaiting_payout=query.awaiting_payout,
                    limit=query.limit,
                )
            )
