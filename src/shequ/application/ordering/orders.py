"""Orders after checkout: read them, move them through their lifecycle, cancel and expire."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable

import attrs

from shequ.application.cursors import open_cursor, seal_cursor
from shequ.application.fulfilment.pickup import release_pickup
from shequ.application.fulfilment.slots import release_slot
from shequ.application.payments.refunds import RefundPayer
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, OrderQuery, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import IllegalTransition, InvalidCursor, InvalidInput
from shequ.domain.ids import AccountId, CommunityId, OrderId, RefundId, SellerId, SkuId, new_id
from shequ.domain.ordering import Order, OrderAction, OrderStatus, Refund

__all__ = [
    "AdvanceOrder",
    "AdvanceOrderHandler",
    "CancelOrder",
    "CancelOrderHandler",
    "Cancellation",
    "ExpireOrders",
    "ExpireOrdersHandler",
    "GetOrder",
    "GetOrderHandler",
    "ListOrders",
    "ListOrdersHandler",
    "OrderPage",
    "give_back",
]

log = logging.getLogger(__name__)


def give_back(uow: UnitOfWork, orders: list[tuple[Order, dict[SkuId, int]]]) -> None:
    """Return unfulfilled orders' places at their pickup points, their stock, all at once
    so that the SKUs are locked in id order as checkout locks them, and their coupon
    copies."""
    by_day = sorted(
        (o for o, _ in orders),
        key=lambda o: (
            o.delivery.pickup_point_id or "",
            str(o.pickup_date),
            o.delivery.slot_id or "",
            o.id,
        ),
    )
    for order in by_day:  # the points' days and the slots first, then the SKUs, as checkout
        release_pickup(uow, order)
        release_slot(uow, order)
    units: dict[SkuId, int] = {}
    for order, back in orders:
        if order.group_id is not None:  # its units came from a campaign, not the SKU's stock
            continue
        for sku_id, n in back.items():
            units[sku_id] = units.get(sku_id, 0) + n
    units = {sku_id: n for sku_id, n in units.items() if n > 0}
    if units:
        uow.skus.return_stock(units)
    for order, _ in orders:
        for grant_id in order.grant_ids:
            grant = uow.grants.find(grant_id)
            if grant is not None:
                grant.give_back(order.id)


def _check_reader(policy: Policy, actor: Actor, order: Order) -> None:
    if not policy.allows(actor, Permission.OWN_ORDER, owner=order.resident_id):
        policy.require(actor, Permission.READ_ORDERS, community_id=order.community_id)


@attrs.frozen
class GetOrder:
    order_id: OrderId


class GetOrderHandler:
    """One order, with its lines, money and timeline: for its resident and its operators."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: GetOrder, *, actor: Actor) -> Order:
        with self._uow as uow:
            order = uow.orders.get(query.order_id)
        _check_reader(self._policy, actor, order)
        return order


@attrs.frozen
class ListOrders:
    """Orders newest first. A resident lists their own (``resident_id``); operators list
    a community's; admins and the console any."""

    resident_id: AccountId | None = None
    community_id: CommunityId | None = None
    status: OrderStatus | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    pickup_point_id: str | None = None
    seller_id: SellerId | None = None
    cursor: str | None = None
    limit: int = 20

    def fingerprint(self) -> str:
        fields = attrs.asdict(self, filter=lambda a, _: a.name not in ("cursor", "limit"))
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


@attrs.frozen
class OrderPage:
    items: tuple[Order, ...]
    next_cursor: str | None


class ListOrdersHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: ListOrders, *, actor: Actor) -> OrderPage:
        if not (
            query.resident_id is not None
            and self._policy.allows(actor, Permission.OWN_ORDER, owner=query.resident_id)
        ):
            self._policy.require(actor, Permission.READ_ORDERS, community_id=query.community_id)
        if type(query.limit) is not int or not 1 <= query.limit <= 1000:
            raise InvalidInput("page size must be 1 to 1000", field="limit")
        for moment, name in ((query.since, "since"), (query.until, "until")):
            if moment is not None and moment.tzinfo is None:
                raise InvalidInput(f"{name} must carry a time zone", field=name)
        if query.since and query.until and query.since >= query.until:
            raise InvalidInput("since must come before until", field="since")
        after = None
        if query.cursor:
            position = open_cursor(query.cursor, query.fingerprint())
            try:
                after = (dt.datetime.fromisoformat(position[0]), OrderId(str(position[1])))
            except (ValueError, TypeError, IndexError) as e:
                raise InvalidCursor("the page cursor is not valid for this search") from e
            if after[0].tzinfo is None:
                raise InvalidCursor("the page cursor is not valid for this search")
        wanted = OrderQuery(
            resident_id=query.resident_id,
            community_id=query.community_id,
            status=query.status,
            since=query.since,
            until=query.until,
            pickup_point_id=query.pickup_point_id,
            seller_id=query.seller_id,
            after=after,
            limit=query.limit + 1,
        )
        with self._uow as uow:
            found = uow.orders.search(wanted)
        page = tuple(found[: query.limit])
        next_cursor = None
        if len(found) > query.limit:
            last = page[-1]
            next_cursor = seal_cursor([last.placed_at.isoformat(), last.id], query.fingerprint())
        return OrderPage(items=page, next_cursor=next_cursor)


@attrs.frozen
class AdvanceOrder:
    """A fulfilment step by hand: ``pack``, ``complete``, and ``dispatch`` and ``deliver``
    for a home delivery no courier carries (the shop's own hands).

    The steps that hand goods over have their own use cases, which this one does not go
    around: a pickup order is ready when its batch arrives at the point
    (:class:`~shequ.application.fulfilment.pickup.ArriveAtPickupPointHandler`) and picked
    up for its code (:class:`~shequ.application.fulfilment.pickup.VerifyPickupCodeHandler`);
    a delivery a courier or our rider carries moves with their reports."""

    order_id: OrderId
    action: OrderAction
    note: str = ""


_BY_HAND = {
    OrderAction.READY: "made ready",
    OrderAction.PICK_UP: "picked up",
    OrderAction.DISPATCH: "dispatched",
    OrderAction.DELIVER: "delivered",
}
_HANDED_OVER = {
    OrderAction.READY: "its batch's arrival at its point does that (shequ pickup arrive)",
    OrderAction.PICK_UP: "its resident's code at its point does that (shequ pickup verify)",
}


class AdvanceOrderHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: AdvanceOrder, *, actor: Actor) -> Order:
        def attempt() -> Order:
            with self._uow as uow:
                order = uow.orders.get_for_update(cmd.order_id)
                self._policy.require(
                    actor, Permission.MANAGE_ORDERS, community_id=order.community_id
                )
                self._check_by_hand(uow, order, cmd.action)
                order.advance(cmd.action, now=self._clock.now(), note=cmd.note)
                uow.commit()
            return order

        return retry_on_conflict(attempt)

    @staticmethod
    def _check_by_hand(uow: UnitOfWork, order: Order, action: OrderAction) -> None:
        why = _HANDED_OVER.get(action)
        if why is None and action in (OrderAction.DISPATCH, OrderAction.DELIVER):
            shipment = uow.shipments.find(order.id)
            if shipment is not None:
                why = f"{shipment.courier or 'a courier'} carries it, and its reports do that"
        if why is not None:
            raise IllegalTransition(
                f"order {order.id} is not {_BY_HAND[action]} by hand: {why}",
                status=order.status.value,
                action=action.value,
            )


@attrs.frozen
class CancelOrder:
    order_id: OrderId
    reason: str = ""


@attrs.frozen
class Cancellation:
    order: Order
    refund: Refund | None


class CancelOrderHandler:
    """Cancel before packing: by the resident, or by the community's operator. Stock and
    coupons go back; a paid order is refunded in full."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, payer: RefundPayer) -> None:
        self._uow, self._clock, self._policy, self._payer = uow, clock, policy, payer

    def __call__(self, cmd: CancelOrder, *, actor: Actor) -> Cancellation:
        def attempt() -> Cancellation:
            with self._uow as uow:
                order = uow.orders.get_for_update(cmd.order_id)
                if not self._policy.allows(actor, Permission.OWN_ORDER, owner=order.resident_id):
                    self._policy.require(
                        actor, Permission.MANAGE_ORDERS, community_id=order.community_id
                    )
                if order.awaiting_group:
                    raise IllegalTransition(
                        f"order {order.id} holds a seat in group {order.group_id}: "
                        "leave the group instead",
                        status=order.status.value,
                        action="cancel",
                    )
                back = {x.sku_id: x.quantity - x.refunded_quantity for x in order.lines}
                reason = cmd.reason.strip() or "cancelled"
                refund = order.cancel(RefundId(new_id()), now=self._clock.now(), reason=reason)
                give_back(uow, [(order, back)])
                if refund is not None:
                    uow.refunds.add(refund)
                uow.commit()
            return Cancellation(order, refund)

        done = retry_on_conflict(attempt)
        if done.refund is not None:
            done = Cancellation(done.order, self._payer.pay_out(done.refund.id))
        return done


@attrs.frozen
class ExpireOrders:
    """Expire unpaid orders past their deadline, ``batch`` per transaction."""

    batch: int = 100


class ExpireOrdersHandler:
    """Safe to run in several processes at once: each takes orders the others do not hold."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(
        self,
        cmd: ExpireOrders,
        *,
        actor: Actor,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        self._policy.require(actor, Permission.MANAGE_ORDERS)
        if type(cmd.batch) is not int or not 1 <= cmd.batch <= 10_000:
            raise InvalidInput("batch is 1 to 10000", field="batch")
        total = 0
        while True:
            expired = retry_on_conflict(lambda: self._batch(cmd.batch))
            if not expired:
                return total
            total += expired
            log.info("expired %d unpaid orders", expired)
            if progress is not None:
                progress(expired)

    def _batch(self, size: int) -> int:
        now = self._clock.now()
        with self._uow as uow:
            due = uow.orders.due_to_expire(now, size)
            for order in due:
                order.expire(now=now)
            give_back(uow, [(order, order.units) for order in due])
            uow.commit()
        return len(due)
