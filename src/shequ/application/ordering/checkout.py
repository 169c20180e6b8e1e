"""Checkout: price, reserve stock, use coupons and place the order, all in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import attrs

from shequ.application.fulfilment.delivery import DeliveryRules
from shequ.application.fulfilment.pickup import book_pickup
from shequ.application.fulfilment.slots import book_slot
from shequ.application.identity.addresses import owned_address
from shequ.application.ordering.cart import problem_of
from shequ.application.ordering.rules import (
    OrderingRules,
    available_offer,
    check_resident,
    chosen_coupons,
    held_coupons,
    pricing_lines,
)
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, SkuOffer, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.application.services.promotions import check_voucher_order
from shequ.domain.errors import (
    Duplicate,
    IdempotencyKeyReused,
    InvalidInput,
)
from shequ.domain.ids import AccountId, CommunityId, GrantId, OrderId, SkuId, new_id
from shequ.domain.ordering import (
    CouponGrant,
    Delivery,
    Fulfilment,
    Order,
    OrderLine,
    PriceBreakdown,
    best_choice,
    check_quantity,
    price,
)

__all__ = ["OrderItem", "PlaceOrder", "PlaceOrderHandler"]


@attrs.frozen
class OrderItem:
    sku_id: SkuId
    quantity: int


@attrs.frozen
class PlaceOrder:
    """Place an order of ``items`` (or of the orderable lines of the cart, ``from_cart``).

    ``grant_ids``: the coupon copies to use; ``None`` lets the engine choose the best
    allowed combination of the resident's coupons, ``()`` uses none. The same
    ``idempotency_key`` with the same request returns the order placed the first time.
    """

    resident_id: AccountId
    community_id: CommunityId
    delivery: Delivery
    idempotency_key: str
    items: tuple[OrderItem, ...] = ()
    from_cart: bool = False
    grant_ids: tuple[GrantId, ...] | None = None
    pickup_date: dt.date | None = None  # a pickup order: default, the point's next open day

    def digest(self) -> str:
        """A fingerprint of the request, to tell a retry from another request."""
        body = {
            "resident": self.resident_id,
            "community": self.community_id,
            # a slot only when chosen, so digests of orders from before slots stay the same
            "delivery": list(self.delivery.__composite_values__()[:4])
            + ([self.delivery.slot_id] if self.delivery.slot_id else []),
            "items": sorted([i.sku_id, i.quantity] for i in self.items),
            "from_cart": self.from_cart,
            "coupons": None if self.grant_ids is None else sorted(self.grant_ids),
            "pickup_date": None if self.pickup_date is None else self.pickup_date.isoformat(),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class PlaceOrderHandler:
    """Place an order: the stock of every SKU is decremented if enough is on hand (in SKU
    id order), the chosen coupon copies are used, and the order waits for payment."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: Policy,
        rules: OrderingRules,
        delivery_rules: DeliveryRules,
    ) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules
        self._delivery_rules = delivery_rules

    def __call__(self, cmd: PlaceOrder, *, actor: Actor) -> Order:
        self._policy.require(
            actor, Permission.BUY, community_id=cmd.community_id, owner=cmd.resident_id
        )
        key = cmd.idempotency_key
        if not isinstance(key, str) or not 1 <= len(key) <= 64 or not key.isprintable():
            raise InvalidInput("an idempotency key is 1 to 64 printable characters", field="key")
        if cmd.from_cart == bool(cmd.items):
            raise InvalidInput("order either the cart or the given items", field="items")
        units: dict[SkuId, int] = {}
        for item in cmd.items:
            check_quantity(item.quantity)
            units[item.sku_id] = check_quantity(units.get(item.sku_id, 0) + item.quantity)
        actor_id = actor.account_id
        try:
            return retry_on_conflict(lambda: self._attempt(cmd, units, actor_id))
        except Duplicate:  # the same key raced itself: the other request's order stands
            return self._attempt(cmd, units, actor_id)

    def _attempt(
        self, cmd: PlaceOrder, units: dict[SkuId, int], actor_id: AccountId | None
    ) -> Order:
        now, digest = self._clock.now(), cmd.digest()
        with self._uow as uow:
            placed = uow.orders.find_by_key(cmd.resident_id, cmd.idempotency_key)
            if placed is not None:
                if placed.request_digest != digest:
                    raise IdempotencyKeyReused(
                        "this idempotency key was used for another order request",
                        order_id=placed.id,
                    )
                return placed
            if actor_id != cmd.resident_id:  # staff ordering for a resident
                check_resident(uow, cmd.resident_id, cmd.community_id)
            cart = None
            if cmd.from_cart:
                cart = uow.carts.find_for(cmd.resident_id, cmd.community_id)
                lines = cart.lines if cart else []
                offers = uow.skus.offers(line.sku_id for line in lines)
                units = {
                    line.sku_id: line.quantity
                    for line in lines
                    if problem_of(offers.get(line.sku_id), line.quantity, cmd.community_id) is None
                }
                if not units:
                    raise InvalidInput("nothing in the cart can be ordered now", field="items")
            else:
                offers = uow.skus.offers(units)
            for sku_id in units:
                available_offer(offers, sku_id, cmd.community_id)
            check_voucher_order(
                uow, cmd.resident_id, cmd.community_id, cmd.delivery.kind, units, now
            )
            if cmd.delivery.kind is Fulfilment.DELIVERY:
                self._check_address(uow, cmd)
            grants, breakdown = self._price(uow, cmd, units, offers)
            pickup_date = None
            # the point's day or the slot first, then the SKUs
            if cmd.delivery.kind is Fulfilment.PICKUP:
                point_id = cmd.delivery.pickup_point_id or ""
                pickup_date = book_pickup(uow, point_id, cmd.community_id, cmd.pickup_date, now)
            elif cmd.pickup_date is not None:
                raise InvalidInput("a pickup date is for a pickup", field="pickup_date")
            elif cmd.delivery.slot_id:
                book_slot(uow, cmd.delivery.slot_id, cmd.community_id, now, self._delivery_rules)
            uow.skus.take_stock(units)
            order = Order.place(
                id=OrderId(new_id()),
                resident_id=cmd.resident_id,
                community_id=cmd.community_id,
                delivery=cmd.delivery,
                lines=_lines(breakdown, offers),
                breakdown=breakdown,
                grant_ids=tuple(g.id for g in grants),
                now=now,
                pay_within=self._rules.pay_within,
                idempotency_key=cmd.idempotency_key,
                request_digest=digest,
                pickup_date=pickup_date,
            )
            for grant in grants:
                grant.use(order.id, cmd.resident_id, now=now)
            uow.orders.add(order)
            if cart is not None:
                cart.take_out(set(units), now=now)
            uow.commit()
        return order

    def _price(
        self,
        uow: UnitOfWork,
        cmd: PlaceOrder,
        units: dict[SkuId, int],
        offers: dict[SkuId, SkuOffer],
    ) -> tuple[list[CouponGrant], PriceBreakdown]:
        now, fees = self._clock.now(), self._rules.fees
        lines = pricing_lines(units, offers)
        kind, express = cmd.delivery.kind, cmd.delivery.express
        if cmd.grant_ids is not None:
            chosen = chosen_coupons(uow, cmd.resident_id, cmd.grant_ids, now)
            breakdown = price(
                lines,
                fulfilment=kind,
                express=express,
                fees=fees,
                coupons=[coupon for _, coupon in chosen],
            )
            return [grant for grant, _ in chosen], breakdown
        held = held_coupons(uow, cmd.resident_id, now)
        quote = best_choice(
            lines,
            fulfilment=kind,
            express=express,
            fees=fees,
            candidates=[coupon.priced() for _, coupon in held.values()],
        )
        grants = [grant for grant, coupon in held.values() if coupon.id in quote.coupon_ids]
        return grants, quote.breakdown

    @staticmethod
    def _check_address(uow: UnitOfWork, cmd: PlaceOrder) -> None:
        owned_address(uow, cmd.resident_id, cmd.delivery.address_id or "")


def _lines(breakdown: PriceBreakdown, offers: dict[SkuId, SkuOffer]) -> list[OrderLine]:
    return [
        OrderLine(
            sku_id=line.sku_id,
            product_id=offers[line.sku_id].product_id,
            seller_id=offers[line.sku_id].seller_id,
            name=offers[line.sku_id].name,
            spec=offers[line.sku_id].spec,
            unit_price=line.unit_price,
            quantity=line.quantity,
            subtotal=line.subtotal,
            discount=line.discount,
            payable=line.payable,
        )
        for line in breakdown.lines
    ]
