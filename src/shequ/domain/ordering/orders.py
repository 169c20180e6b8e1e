"""The order, its lifecycle, and after-sale refunds (售后).

The lifecycle is one table, :data:`TRANSITIONS`: ``(status, action) → status``. Some
steps belong to one way of fulfilment (:data:`FULFILMENT_OF_ACTION`): a pickup order is
made ready at its pickup point and picked up; a delivery order is dispatched and
delivered.

Money: an order keeps what each line costs after its share of the discounts
(``payable``). Refunds are taken from it: the first ``n`` units of a line are worth
``⌊payable × n / quantity⌋``, so the units add up to exactly the payable, and a partial
refund (less than the units are worth) keeps the rest for nobody else's units. The
delivery fee is refunded with the refund that leaves nothing to deliver, when the goods
never left (paid or packed).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import Final

import attrs

from shequ.domain.errors import (
    IllegalTransition,
    InvalidInput,
    PaymentMismatch,
    RefundExceedsPaid,
)
from shequ.domain.events import DomainEvent
from shequ.domain.ids import (
    AccountId,
    CommunityId,
    GrantId,
    GroupBuyId,
    OrderId,
    ProductId,
    RefundId,
    SellerId,
    SkuId,
    check_id,
)
from shequ.domain.money import Money
from shequ.domain.ordering.pricing import Fulfilment, PriceBreakdown, check_quantity
from shequ.domain.values import clean_text

__all__ = [
    "FULFILMENT_OF_ACTION",
    "GIVEN_REASONS",
    "GOODS_NOT_LEFT",
    "TRANSITIONS",
    "Delivery",
    "Order",
    "OrderAction",
    "OrderCancelled",
    "OrderExpired",
    "OrderLine",
    "OrderPaid",
    "OrderPlaced",
    "OrderStatus",
    "OrderStatusChanged",
    "Refund",
    "RefundApproved",
    "RefundItem",
    "RefundReason",
    "RefundRejected",
    "RefundRequested",
    "RefundStatus",
    "StatusChange",
]


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PACKED = "packed"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    READY_FOR_PICKUP = "ready_for_pickup"
    PICKED_UP = "picked_up"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        return self in (OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.EXPIRED)


class OrderAction(enum.StrEnum):
    PAY = "pay"
    PACK = "pack"
    DISPATCH = "dispatch"
    DELIVER = "deliver"
    READY = "ready"  # at the pickup point
    PICK_UP = "pick_up"
    COMPLETE = "complete"
    CANCEL = "cancel"
    EXPIRE = "expire"
    REFUND_ALL = "refund_all"  # every unit refunded before the goods left
    RETURN = "return"  # never collected at its pickup point: returned and refunded
    REDEEM = "redeem"  # every voucher of a voucher order redeemed or refunded, some redeemed


S, A = OrderStatus, OrderAction
TRANSITIONS: Final[Mapping[tuple[OrderStatus, OrderAction], OrderStatus]] = {
    (S.PENDING_PAYMENT, A.PAY): S.PAID,
    (S.PENDING_PAYMENT, A.CANCEL): S.CANCELLED,
    (S.PENDING_PAYMENT, A.EXPIRE): S.EXPIRED,
    (S.PAID, A.PACK): S.PACKED,
    (S.PAID, A.CANCEL): S.CANCELLED,
    (S.PAID, A.REFUND_ALL): S.CANCELLED,
    (S.PACKED, A.REFUND_ALL): S.CANCELLED,
    (S.PACKED, A.DISPATCH): S.OUT_FOR_DELIVERY,
    (S.OUT_FOR_DELIVERY, A.DELIVER): S.DELIVERED,
    (S.PACKED, A.READY): S.READY_FOR_PICKUP,
    (S.READY_FOR_PICKUP, A.PICK_UP): S.PICKED_UP,
    (S.READY_FOR_PICKUP, A.RETURN): S.CANCELLED,
    (S.DELIVERED, A.COMPLETE): S.COMPLETED,
    (S.PICKED_UP, A.COMPLETE): S.COMPLETED,
    (S.PAID, A.REDEEM): S.COMPLETED,
}
"""The whole lifecycle: ``(status, action) → next status``. Nothing else moves an order."""

FULFILMENT_OF_ACTION: Final[Mapping[OrderAction, Fulfilment]] = {
    A.DISPATCH: Fulfilment.DELIVERY,
    A.DELIVER: Fulfilment.DELIVERY,
    A.READY: Fulfilment.PICKUP,
    A.PICK_UP: Fulfilment.PICKUP,
    A.RETURN: Fulfilment.PICKUP,
    A.REDEEM: Fulfilment.VOUCHER,
}
"""Steps that belong to one way of fulfilment only."""

GOODS_NOT_LEFT: Final = frozenset({S.PAID, S.PACKED})
"""Paid, and the goods are still with the seller: refunds put them back in stock."""

_FULFILLING: Final = frozenset({A.PACK, A.DISPATCH, A.DELIVER, A.READY, A.PICK_UP, A.COMPLETE})

REFUNDABLE: Final = frozenset(
    {
        S.PAID,
        S.PACKED,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
        S.READY_FOR_PICKUP,
        S.PICKED_UP,
        S.COMPLETED,
    }
)
del S, A


class RefundReason(enum.StrEnum):
    QUALITY = "quality"  # 质量问题
    MISSING = "missing"  # 少件
    WRONG_ITEM = "wrong_item"  # 发错货
    NOT_WANTED = "not_wanted"  # 不想要了
    CANCELLED = "cancelled"  # the order was cancelled after payment
    GROUP_PRICE = "group_price"  # a group settled at a lower tier: the difference back
    NOT_COLLECTED = "not_collected"  # left at the pickup point: returned by policy
    VOUCHER_UNUSED = "voucher_unused"  # vouchers refunded unused (随时退, 过期退)


GIVEN_REASONS: Final = frozenset(
    {RefundReason.GROUP_PRICE, RefundReason.NOT_COLLECTED, RefundReason.VOUCHER_UNUSED}
)
"""Refunds the platform makes itself (price protection, a parcel nobody collected, unused
vouchers); a resident's request names another reason."""


class RefundStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


# ---------------------------------------------------------------- events


@attrs.frozen
class PlacedLine:
    sku_id: SkuId
    quantity: int
    payable: Money


@attrs.frozen(kw_only=True)
class OrderPlaced(DomainEvent):
    order_id: OrderId
    resident_id: AccountId
    community_id: CommunityId
    total: Money
    fulfilment: Fulfilment
    lines: tuple[PlacedLine, ...]


@attrs.frozen(kw_only=True)
class OrderPaid(DomainEvent):
    order_id: OrderId
    amount: Money
    payment_ref: str


@attrs.frozen(kw_only=True)
class OrderCancelled(DomainEvent):
    order_id: OrderId
    reason: str
    refund_id: RefundId | None
    refund_amount: Money


@attrs.frozen(kw_only=True)
class OrderExpired(DomainEvent):
    order_id: OrderId


@attrs.frozen(kw_only=True)
class OrderStatusChanged(DomainEvent):
    order_id: OrderId
    old_status: OrderStatus
    new_status: OrderStatus
    action: OrderAction


@attrs.frozen(kw_only=True)
class RefundRequested(DomainEvent):
    refund_id: RefundId
    order_id: OrderId
    amount: Money
    reason: RefundReason


@attrs.frozen(kw_only=True)
class RefundApproved(DomainEvent):
    refund_id: RefundId
    order_id: OrderId
    amount: Money
    restocked: bool


@attrs.frozen(kw_only=True)
class RefundRejected(DomainEvent):
    refund_id: RefundId
    order_id: OrderId
    note: str


def _note(text: str, field: str = "note") -> str:
    return clean_text(text, field, max_len=500, required=False)


def _photo(uri: str) -> str:
    cleaned = clean_text(uri, "photos", max_len=1000)
    if any(ch.isspace() for ch in cleaned):
        raise InvalidInput("a photo is the URI of an uploaded photo", field="photos")
    return cleaned


# ---------------------------------------------------------------- the order


@attrs.frozen
class Delivery:
    """How the goods reach the resident: at a pickup point, or to an address, either as
    soon as possible, in a delivery slot the resident chose (``slot_id``), or express."""

    kind: Fulfilment
    pickup_point_id: str | None = None
    address_id: str | None = None
    express: bool = False
    slot_id: str | None = None

    def __attrs_post_init__(self) -> None:
        for name, value in (
            ("pickup point", self.pickup_point_id),
            ("address", self.address_id),
            ("delivery slot", self.slot_id),
        ):
            if value is not None:
                check_id(value, name)
        if self.kind is Fulfilment.VOUCHER:
            if self.pickup_point_id or self.address_id or self.express or self.slot_id:
                raise InvalidInput(
                    "vouchers are redeemed at the merchant: no pickup point, address, slot "
                    "or express",
                    field="fulfilment",
                )
        elif self.kind is Fulfilment.PICKUP:
            if not self.pickup_point_id or self.address_id or self.express or self.slot_id:
                raise InvalidInput(
                    "a pickup names its pickup point, and no address, slot or express",
                    field="pickup_point_id",
                )
        elif not self.address_id or self.pickup_point_id:
            raise InvalidInput("a home delivery names its address", field="address_id")
        elif self.express and self.slot_id:
            raise InvalidInput(
                "an express delivery comes as fast as it can, in no slot", field="slot_id"
            )

    def __composite_values__(self) -> tuple[Fulfilment, str | None, str | None, bool, str | None]:
        return (self.kind, self.pickup_point_id, self.address_id, self.express, self.slot_id)


@attrs.frozen
class StatusChange:
    at: dt.datetime
    status: OrderStatus
    note: str = ""


@attrs.define(slots=False, eq=False)
class OrderLine:
    """A SKU as it was sold: the names and prices are copies, kept as they were."""

    sku_id: SkuId
    product_id: ProductId
    seller_id: SellerId
    name: str
    spec: str
    unit_price: Money
    quantity: int
    subtotal: Money
    discount: Money
    payable: Money
    refunded_quantity: int = 0
    refunded_amount: Money = Money(0)
    pending_quantity: int = 0
    pending_amount: Money = Money(0)

    @property
    def units_left(self) -> int:
        """Units neither refunded nor in a pending refund request."""
        return self.quantity - self.refunded_quantity - self.pending_quantity

    @property
    def money_left(self) -> Money:
        return self.payable - self.refunded_amount - self.pending_amount

    def refund_for(self, units: int) -> Money:
        """What ``units`` more units are worth: the units of a line are worth their share of
        its payable, ``⌊payable × n / quantity⌋`` for the first ``n``, so all of them add up
        to exactly the payable. Never more than the money left on the line."""
        taken = self.refunded_quantity + self.pending_quantity
        payable, quantity = self.payable.fen, self.quantity
        worth = payable * (taken + units) // quantity - payable * taken // quantity
        return min(Money(worth), self.money_left)


@attrs.frozen
class RefundItem:
    sku_id: SkuId
    quantity: int
    amount: Money


@attrs.define(slots=False, eq=False)
class Order:
    id: OrderId
    resident_id: AccountId
    community_id: CommunityId
    status: OrderStatus
    delivery: Delivery
    lines: list[OrderLine]
    subtotal: Money
    discount: Money
    delivery_fee: Money
    total: Money
    placed_at: dt.datetime
    expires_at: dt.datetime
    idempotency_key: str
    request_digest: str
    grant_ids: tuple[GrantId, ...] = ()
    paid_at: dt.datetime | None = None
    payment_ref: str | None = None
    refunded: Money = Money(0)
    delivery_fee_refunded: bool = False
    history: list[StatusChange] = attrs.Factory(list)
    pickup_date: dt.date | None = None  # a pickup order: the day it is collected
    group_id: GroupBuyId | None = None  # the group (团) this order is a seat of
    awaiting_group: bool = False  # held back from fulfilment until its group settles
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def place(
        cls,
        *,
        id: OrderId,
        resident_id: AccountId,
        community_id: CommunityId,
        delivery: Delivery,
        lines: Sequence[OrderLine],
        breakdown: PriceBreakdown,
        grant_ids: tuple[GrantId, ...],
        now: dt.datetime,
        pay_within: dt.timedelta,
        idempotency_key: str,
        request_digest: str,
        group_id: GroupBuyId | None = None,
        pickup_date: dt.date | None = None,
    ) -> Order:
        order = cls(
            id=id,
            resident_id=resident_id,
            community_id=community_id,
            status=OrderStatus.PENDING_PAYMENT,
            delivery=delivery,
            lines=list(lines),
            subtotal=breakdown.subtotal,
            discount=breakdown.discount,
            delivery_fee=breakdown.delivery_fee,
            total=breakdown.total,
            placed_at=now,
            expires_at=now + pay_within,
            idempotency_key=idempotency_key,
            request_digest=request_digest,
            grant_ids=grant_ids,
            history=[StatusChange(now, OrderStatus.PENDING_PAYMENT)],
            group_id=group_id,
            awaiting_group=group_id is not None,
            pickup_date=pickup_date,
        )
        order.events.append(
            OrderPlaced(
                occurred_at=now,
                order_id=id,
                resident_id=resident_id,
                community_id=community_id,
                total=order.total,
                fulfilment=delivery.kind,
                lines=tuple(PlacedLine(x.sku_id, x.quantity, x.payable) for x in order.lines),
            )
        )
        return order

    # ------------------------------------------------------------ lifecycle

    def allows(self, action: OrderAction) -> bool:
        wanted = FULFILMENT_OF_ACTION.get(action)
        if self.awaiting_group and action in _FULFILLING:
            return False
        if self.delivery.kind is Fulfilment.VOUCHER and action in _FULFILLING:
            return False  # nothing to pack or hand over: its vouchers settle it
        return (self.status, action) in TRANSITIONS and wanted in (None, self.delivery.kind)

    def _check_allowed(self, action: OrderAction) -> None:
        if self.awaiting_group and action in _FULFILLING:
            raise IllegalTransition(
                f"order {self.id} waits for group {self.group_id} to settle",
                status=self.status.value,
                action=action.value,
            )
        if not self.allows(action):
            raise IllegalTransition(
                f"cannot {action.value.replace('_', ' ')} a {self.delivery.kind.value} order"
                f" that is {self.status.value.replace('_', ' ')}",
                status=self.status.value,
                action=action.value,
            )

    def _step(self, action: OrderAction, now: dt.datetime, note: str = "") -> OrderStatus:
        self._check_allowed(action)
        old, self.status = self.status, TRANSITIONS[(self.status, action)]
        self.history = [*self.history, StatusChange(now, self.status, note)]
        self.version += 1
        self.events.append(
            OrderStatusChanged(
                occurred_at=now,
                order_id=self.id,
                old_status=old,
                new_status=self.status,
                action=action,
            )
        )
        return old

    def advance(self, action: OrderAction, *, now: dt.datetime, note: str = "") -> None:
        note = _note(note)
        """A fulfilment step: pack, dispatch, deliver, ready, pick up, complete."""
        if action in (
            OrderAction.PAY,
            OrderAction.CANCEL,
            OrderAction.EXPIRE,
            OrderAction.REFUND_ALL,
            OrderAction.RETURN,
            OrderAction.REDEEM,
        ):
            raise InvalidInput(f"{action.value} is not a fulfilment step", field="action")
        self._step(action, now, note)

    def pay(self, amount: Money, payment_ref: str, *, now: dt.datetime) -> bool:
        """Record the payment; ``False`` when this very payment was recorded before."""
        if self.payment_ref == payment_ref and self.paid_at is not None:
            return False
        if amount != self.total:
            raise PaymentMismatch(
                f"order {self.id} costs {self.total}, the payment was {amount}",
                order_id=self.id,
            )
        self._step(OrderAction.PAY, now)
        self.paid_at, self.payment_ref = now, payment_ref
        self.events.append(
            OrderPaid(occurred_at=now, order_id=self.id, amount=amount, payment_ref=payment_ref)
        )
        return True

    def expire(self, *, now: dt.datetime) -> None:
        if now < self.expires_at:
            raise IllegalTransition(
                f"order {self.id} may be paid until {self.expires_at.isoformat()}",
                status=self.status.value,
                action=OrderAction.EXPIRE.value,
            )
        self._step(OrderAction.EXPIRE, now)
        self.events.append(OrderExpired(occurred_at=now, order_id=self.id))

    def cancel(self, refund_id: RefundId, *, now: dt.datetime, reason: str) -> Refund | None:
        """Cancel before packing. A paid order is refunded in full (returned, approved)."""
        if any(line.pending_quantity for line in self.lines):
            raise IllegalTransition(
                "decide the pending refund request first",
                status=self.status.value,
                action=OrderAction.CANCEL.value,
            )
        self._check_allowed(OrderAction.CANCEL)
        if self.delivery.kind is Fulfilment.VOUCHER and self.status is OrderStatus.PAID:
            raise IllegalTransition(
                f"order {self.id} is of vouchers: refund its unused vouchers instead",
                status=self.status.value,
                action=OrderAction.CANCEL.value,
            )
        reason = _note(reason)
        refund = None
        if self.status is OrderStatus.PAID:
            refund = self._request(
                refund_id,
                {line.sku_id: line.units_left for line in self.lines if line.units_left},
                RefundReason.CANCELLED,
                now=now,
            )
            refund.approve(
                now=now,
                note=reason,
                restock=self.group_id is None,  # a group's units go back to its campaign
                decided_by=None,
                delivery_fee=self._fee_due(refund),
            )
            self._settle(refund)
        self._step(OrderAction.CANCEL, now, reason)
        self.events.append(
            OrderCancelled(
                occurred_at=now,
                order_id=self.id,
                reason=reason,
                refund_id=refund.id if refund else None,
                refund_amount=refund.amount if refund else Money(0),
            )
        )
        return refund

    def release_from_group(self) -> None:
        """The group settled: the order may be fulfilled."""
        if self.awaiting_group:
            self.awaiting_group = False
            self.version += 1

    def give_back_difference(
        self, refund_id: RefundId, amount: Money, *, now: dt.datetime, note: str
    ) -> Refund:
        """Price protection: refund ``amount`` of a paid order and keep every unit, as
        when its group settles at a lower tier than was paid. The amount is taken from
        the lines by largest remainder, in proportion to the money left on them; the
        refund is approved at once."""
        if self.status not in REFUNDABLE:
            raise IllegalTransition(
                f"an order that is {self.status.value.replace('_', ' ')} has nothing to refund",
                status=self.status.value,
                action="refund",
            )
        left = [line.money_left.fen for line in self.lines]
        if amount.fen <= 0 or amount.fen > sum(left):
            raise RefundExceedsPaid(
                f"order {self.id} has {Money(sum(left))} left to refund, not {amount}",
                order_id=self.id,
            )
        parts = amount.allocate(left)
        items = tuple(
            RefundItem(line.sku_id, 0, part)
            for line, part in zip(self.lines, parts, strict=True)
            if part.fen
        )
        refund = Refund.create(
            id=refund_id,
            order_id=self.id,
            resident_id=self.resident_id,
            items=items,
            reason=RefundReason.GROUP_PRICE,
            photos=(),
            comment="",
            now=now,
        )
        for item in items:
            line = next(x for x in self.lines if x.sku_id == item.sku_id)
            line.pending_amount += item.amount
        self.version += 1
        refund.approve(now=now, note=note, restock=False, decided_by=None)
        self._settle(refund)
        return refund

    def return_uncollected(
        self, refund_id: RefundId, *, now: dt.datetime, note: str
    ) -> Refund | None:
        """Nobody collected the order at its pickup point: the goods go back and whatever
        is left of the payment is refunded (approved at once; ``None`` when nothing was
        left to refund)."""
        self._check_allowed(OrderAction.RETURN)
        if any(line.pending_quantity for line in self.lines):
            raise IllegalTransition(
                "decide the pending refund request first",
                status=self.status.value,
                action=OrderAction.RETURN.value,
            )
        note = _note(note)
        left = {line.sku_id: line.units_left for line in self.lines if line.units_left}
        refund = None
        if left:
            refund = self._request(refund_id, left, RefundReason.NOT_COLLECTED, now=now)
            refund.approve(now=now, note=note, restock=True, decided_by=None)
            self._settle(refund)
        self._step(OrderAction.RETURN, now, note)
        self.events.append(
            OrderCancelled(
                occurred_at=now,
                order_id=self.id,
                reason="not collected",
                refund_id=None if refund is None else refund.id,
                refund_amount=Money(0) if refund is None else refund.amount,
            )
        )
        return refund

    def refund_vouchers(
        self, refund_id: RefundId, units: Mapping[SkuId, int], *, now: dt.datetime, note: str
    ) -> Refund:
        """Vouchers of this order refunded unused (on the resident's word, or when they
        expired): their share of the payment, approved at once; their units go back on
        sale (``refund.restocked``)."""
        if self.delivery.kind is not Fulfilment.VOUCHER or self.status is not OrderStatus.PAID:
            raise IllegalTransition(
                f"order {self.id} has no vouchers to refund",
                status=self.status.value,
                action="refund",
            )
        refund = self._request(refund_id, units, RefundReason.VOUCHER_UNUSED, now=now)
        refund.approve(now=now, note=_note(note), restock=True, decided_by=None)
        self._settle(refund)
        return refund

    def vouchers_settled(self, *, redeemed: int, now: dt.datetime) -> None:
        """Every voucher is redeemed or refunded: completed when some were redeemed,
        cancelled when none was."""
        if redeemed:
            self._step(OrderAction.REDEEM, now, f"{redeemed} voucher(s) redeemed")
            return
        self._step(OrderAction.REFUND_ALL, now, "every voucher refunded unused")
        self.events.append(
            OrderCancelled(
                occurred_at=now,
                order_id=self.id,
                reason="vouchers refunded",
                refund_id=None,
                refund_amount=self.refunded,
            )
        )

    @property
    def units(self) -> dict[SkuId, int]:
        return {line.sku_id: line.quantity for line in self.lines}

    @property
    def paid(self) -> Money:
        return self.total if self.paid_at is not None else Money(0)

    @property
    def sellers(self) -> frozenset[SellerId]:
        return frozenset(line.seller_id for line in self.lines)

    # ------------------------------------------------------------ after-sale

    def request_refund(
        self,
        refund_id: RefundId,
        items: Mapping[SkuId, int] | None,
        reason: RefundReason,
        *,
        now: dt.datetime,
        amount: Money | None = None,
        photos: tuple[str, ...] = (),
        comment: str = "",
    ) -> Refund:
        """Ask for ``items`` (every unit left when ``None``) back. ``amount`` asks for less
        than they cost (a partial refund for a quality problem); never more."""
        if self.status not in REFUNDABLE:
            raise IllegalTransition(
                f"an order that is {self.status.value.replace('_', ' ')} has nothing to refund",
                status=self.status.value,
                action="refund",
            )
        if reason is RefundReason.CANCELLED:
            raise InvalidInput("cancel the order instead", field="reason")
        if reason in GIVEN_REASONS:
            raise InvalidInput(
                f"{reason.value} refunds are made by the platform, not asked for", field="reason"
            )
        if self.delivery.kind is Fulfilment.VOUCHER:
            raise IllegalTransition(
                f"order {self.id} is of vouchers: refund its unused vouchers instead",
                status=self.status.value,
                action="refund",
            )
        if self.awaiting_group:
            raise IllegalTransition(
                f"order {self.id} holds a seat in group {self.group_id}: leave the group instead",
                status=self.status.value,
                action="refund",
            )
        wanted = (
            {line.sku_id: line.units_left for line in self.lines if line.units_left}
            if items is None
            else dict(items)
        )
        refund = self._request(
            refund_id,
            wanted,
            reason,
            now=now,
            amount=amount,
            photos=photos,
            comment=comment,
        )
        self.events.append(
            RefundRequested(
                occurred_at=now,
                refund_id=refund.id,
                order_id=self.id,
                amount=refund.amount,
                reason=reason,
            )
        )
        return refund

    def _request(
        self,
        refund_id: RefundId,
        wanted: Mapping[SkuId, int],
        reason: RefundReason,
        *,
        now: dt.datetime,
        amount: Money | None = None,
        photos: tuple[str, ...] = (),
        comment: str = "",
    ) -> Refund:
        if not wanted:
            raise RefundExceedsPaid(f"order {self.id} has nothing left to refund", order_id=self.id)
        by_sku = {line.sku_id: line for line in self.lines}
        items: list[RefundItem] = []
        for sku_id, units in sorted(wanted.items()):
            check_quantity(units)
            line = by_sku.get(sku_id)
            if line is None:
                raise InvalidInput(f"SKU {sku_id} is not in order {self.id}", field="items")
            if units > line.units_left:
                raise RefundExceedsPaid(
                    f"{units} units of SKU {sku_id} asked back; {line.units_left} are left",
                    sku_id=sku_id,
                )
            items.append(RefundItem(sku_id, units, line.refund_for(units)))
        most = sum((item.amount for item in items), Money(0))
        if amount is not None:
            if amount > most:
                raise RefundExceedsPaid(
                    f"at most {most} can be refunded for these goods, not {amount}",
                    most=most.fen,
                )
            if amount.fen <= 0:
                raise InvalidInput("a refund is more than zero", field="amount")
            if amount != most and self.status in GOODS_NOT_LEFT:
                raise InvalidInput(
                    "before the goods leave, units are refunded in full; a smaller amount "
                    "is for goods the resident received",
                    field="amount",
                )
            if amount != most:
                parts = amount.allocate([item.amount.fen for item in items]) if most else []
                items = [attrs.evolve(i, amount=p) for i, p in zip(items, parts, strict=True)]
        refund = Refund.create(
            id=refund_id,
            order_id=self.id,
            resident_id=self.resident_id,
            items=tuple(items),
            reason=reason,
            photos=photos,
            comment=comment,
            now=now,
        )
        for item in items:
            line = by_sku[item.sku_id]
            line.pending_quantity += item.quantity
            line.pending_amount += item.amount
        self.version += 1
        return refund

    def _fee_due(self, refund: Refund) -> Money:
        """The delivery fee, when approving ``refund`` leaves nothing to deliver and the
        goods never left; else nothing. Decided at approval: what is true then counts."""
        units = {item.sku_id: item.quantity for item in refund.items}
        done = all(x.refunded_quantity + units.get(x.sku_id, 0) == x.quantity for x in self.lines)
        if done and self.status in GOODS_NOT_LEFT and not self.delivery_fee_refunded:
            return self.delivery_fee
        return Money(0)

    def approve_refund(
        self, refund: Refund, *, now: dt.datetime, note: str = "", by: AccountId | None
    ) -> None:
        """Approve ``refund``. Its goods go back in stock (``refund.restocked``) when they
        never left; an order with every unit refunded before they left is cancelled."""
        self._check_own(refund)
        refund.approve(
            now=now,
            note=note,
            restock=self.status in GOODS_NOT_LEFT and self.group_id is None,
            decided_by=by,
            delivery_fee=self._fee_due(refund),
        )
        self._settle(refund)
        everything = all(line.refunded_quantity == line.quantity for line in self.lines)
        if everything and self.allows(OrderAction.REFUND_ALL):
            self._step(OrderAction.REFUND_ALL, now, "refunded in full")
            self.events.append(
                OrderCancelled(
                    occurred_at=now,
                    order_id=self.id,
                    reason="refunded in full",
                    refund_id=refund.id,
                    refund_amount=refund.amount,
                )
            )

    def reject_refund(
        self, refund: Refund, *, now: dt.datetime, note: str, by: AccountId | None
    ) -> None:
        self._check_own(refund)
        refund.reject(now=now, note=note, decided_by=by)
        self._release(refund)

    def _check_own(self, refund: Refund) -> None:
        if refund.order_id != self.id:
            raise InvalidInput(f"refund {refund.id} is not for order {self.id}")

    def _release(self, refund: Refund) -> None:
        by_sku = {line.sku_id: line for line in self.lines}
        for item in refund.items:
            line = by_sku[item.sku_id]
            line.pending_quantity -= item.quantity
            line.pending_amount -= item.amount
        self.version += 1

    def _settle(self, refund: Refund) -> None:
        self._release(refund)
        by_sku = {line.sku_id: line for line in self.lines}
        for item in refund.items:
            line = by_sku[item.sku_id]
            line.refunded_quantity += item.quantity
            line.refunded_amount += item.amount
        if refund.delivery_fee:
            self.delivery_fee_refunded = True
        self.refunded += refund.amount
        if self.refunded > self.paid:  # the rules above make this impossible
            raise RefundExceedsPaid(f"order {self.id} would refund more than was paid")


@attrs.define(slots=False, eq=False)
class Refund:
    """A request for money back (售后), decided by an operator."""

    id: RefundId
    order_id: OrderId
    resident_id: AccountId
    items: tuple[RefundItem, ...]
    delivery_fee: Money
    amount: Money
    reason: RefundReason
    requested_at: dt.datetime
    status: RefundStatus = RefundStatus.REQUESTED
    photos: tuple[str, ...] = ()
    comment: str = ""
    note: str = ""
    restocked: bool = False
    decided_at: dt.datetime | None = None
    decided_by: AccountId | None = None
    payment_refund_ref: str | None = None
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        id: RefundId,
        order_id: OrderId,
        resident_id: AccountId,
        items: tuple[RefundItem, ...],
        reason: RefundReason,
        photos: tuple[str, ...],
        comment: str,
        now: dt.datetime,
    ) -> Refund:
        if len(photos) > 9:
            raise InvalidInput("a refund request has at most 9 photos", field="photos")
        photos = tuple(_photo(uri) for uri in photos)
        comment = _note(comment, "comment")
        if len(comment) > 500:
            raise InvalidInput("a comment is at most 500 characters", field="comment")
        return cls(
            id=id,
            order_id=order_id,
            resident_id=resident_id,
            items=items,
            delivery_fee=Money(0),
            amount=sum((i.amount for i in items), Money(0)),
            reason=reason,
            requested_at=now,
            photos=photos,
            comment=comment,
        )

    def _decide(
        self, status: RefundStatus, now: dt.datetime, note: str, by: AccountId | None
    ) -> None:
        if self.status is not RefundStatus.REQUESTED:
            raise IllegalTransition(
                f"refund {self.id} was {self.status.value} already",
                status=self.status.value,
                action=status.value,
            )
        note = _note(note)
        self.status, self.decided_at, self.decided_by = status, now, by
        self.note = note
        self.version += 1

    def approve(
        self,
        *,
        now: dt.datetime,
        note: str = "",
        restock: bool,
        decided_by: AccountId | None,
        delivery_fee: Money = Money(0),
    ) -> None:
        """Approve; ``delivery_fee`` is added when this refund leaves nothing to deliver."""
        self._decide(RefundStatus.APPROVED, now, note, decided_by)
        self.restocked = restock
        self.delivery_fee = delivery_fee
        self.amount = sum((i.amount for i in self.items), delivery_fee)
        self.events.append(
            RefundApproved(
                occurred_at=now,
                refund_id=self.id,
                order_id=self.order_id,
                amount=self.amount,
                restocked=restock,
            )
        )

    def reject(self, *, now: dt.datetime, note: str, decided_by: AccountId | None) -> None:
        if not _note(note):
            raise InvalidInput("say why the refund is rejected", field="note")
        self._decide(RefundStatus.REJECTED, now, note, decided_by)
        self.events.append(
            RefundRejected(
                occurred_at=now, refund_id=self.id, order_id=self.order_id, note=self.note
            )
        )

    def paid_out(self, reference: str) -> None:
        self.payment_refund_ref = reference
        self.version += 1
