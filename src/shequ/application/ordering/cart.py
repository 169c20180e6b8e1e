"""The resident's cart: put in, change, take out, and look at it with live prices."""

from __future__ import annotations

import enum
from collections.abc import Callable

import attrs

from shequ.application.ordering.rules import (
    OrderingRules,
    check_resident,
    held_coupons,
    pricing_lines,
)
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, SkuOffer, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import SkuNotFound
from shequ.domain.ids import AccountId, CartId, CommunityId, CouponId, GrantId, SkuId, new_id
from shequ.domain.ordering import Cart, Fulfilment, Quote, best_choice, check_quantity

__all__ = [
    "AddToCart",
    "AddToCartHandler",
    "CartItem",
    "CartProblem",
    "CartView",
    "ChangeCart",
    "ChangeCartHandler",
    "ViewCart",
    "ViewCartHandler",
    "problem_of",
]


class CartProblem(enum.StrEnum):
    """Why a line of the cart cannot be ordered as it is now."""

    GONE = "gone"  # the SKU no longer exists
    OFF_SALE = "off_sale"
    NOT_SOLD_HERE = "not_sold_here"
    OUT_OF_STOCK = "out_of_stock"
    NOT_ENOUGH_STOCK = "not_enough_stock"


@attrs.frozen
class CartItem:
    sku_id: SkuId
    quantity: int
    offer: SkuOffer | None
    problem: CartProblem | None


@attrs.frozen
class CartView:
    """The cart's lines, flagged, and the price of those that can be ordered now, with the
    best of the resident's coupons (``None`` when no line can be ordered)."""

    resident_id: AccountId
    community_id: CommunityId
    items: tuple[CartItem, ...]
    quote: Quote | None
    coupon_grants: dict[CouponId, GrantId]  # coupon id → the copy the quote would use

    @property
    def orderable(self) -> dict[SkuId, int]:
        return {i.sku_id: i.quantity for i in self.items if i.problem is None}


def problem_of(
    offer: SkuOffer | None, quantity: int, community_id: CommunityId
) -> CartProblem | None:
    if offer is None:
        return CartProblem.GONE
    if not offer.on_sale:
        return CartProblem.OFF_SALE
    if community_id not in offer.community_ids:
        return CartProblem.NOT_SOLD_HERE
    if offer.stock == 0:
        return CartProblem.OUT_OF_STOCK
    if offer.stock < quantity:
        return CartProblem.NOT_ENOUGH_STOCK
    return None


@attrs.frozen
class AddToCart:
    resident_id: AccountId
    community_id: CommunityId
    sku_id: SkuId
    quantity: int = 1


@attrs.frozen
class ChangeCart:
    """Set a line's quantity, or take the line out with ``remove=True``. A quantity of 0
    is refused as a likely mistake, not taken as "remove"."""

    resident_id: AccountId
    community_id: CommunityId
    sku_id: SkuId
    quantity: int | None = None
    remove: bool = False


class _CartChange:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def _change(
        self,
        resident_id: AccountId,
        community_id: CommunityId,
        actor: Actor,
        change: Callable[[Cart, UnitOfWork], None],
    ) -> Cart:
        self._policy.require(actor, Permission.BUY, community_id=community_id, owner=resident_id)

        def attempt() -> Cart:
            now = self._clock.now()
            with self._uow as uow:
                uow.communities.get(community_id)
                if actor.account_id != resident_id:  # staff acting for a resident
                    check_resident(uow, resident_id, community_id)
                cart = uow.carts.find_for(resident_id, community_id)
                if cart is None:
                    cart = Cart(
                        id=CartId(new_id()),
                        resident_id=resident_id,
                        community_id=community_id,
                        updated_at=now,
                    )
                    uow.carts.add(cart)
                change(cart, uow)
                uow.commit()
            return cart

        return retry_on_conflict(attempt)


class AddToCartHandler(_CartChange):
    """Put units of a SKU in the resident's cart (it must exist; whether it can be bought
    now is shown by the cart view)."""

    def __call__(self, cmd: AddToCart, *, actor: Actor) -> Cart:
        check_quantity(cmd.quantity)

        def add(cart: Cart, uow: UnitOfWork) -> None:
            if cmd.sku_id not in uow.skus.offers([cmd.sku_id]):
                raise SkuNotFound(f"no SKU with id {cmd.sku_id!r}", id=cmd.sku_id)
            cart.add(cmd.sku_id, cmd.quantity, now=self._clock.now())

        return self._change(cmd.resident_id, cmd.community_id, actor, add)


class ChangeCartHandler(_CartChange):
    def __call__(self, cmd: ChangeCart, *, actor: Actor) -> Cart:
        quantity = None if cmd.remove else check_quantity(cmd.quantity or 0)

        def change(cart: Cart, _: UnitOfWork) -> None:
            now = self._clock.now()
            if quantity is None:
                cart.remove(cmd.sku_id, now=now)
            else:
                cart.set_quantity(cmd.sku_id, quantity, now=now)

        return self._change(cmd.resident_id, cmd.community_id, actor, change)


@attrs.frozen
class ViewCart:
    resident_id: AccountId
    community_id: CommunityId
    fulfilment: Fulfilment = Fulfilment.PICKUP
    express: bool = False


class ViewCartHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, rules: OrderingRules) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules

    def __call__(self, query: ViewCart, *, actor: Actor) -> CartView:
        self._policy.require(
            actor, Permission.BUY, community_id=query.community_id, owner=query.resident_id
        )
        now = self._clock.now()
        with self._uow as uow:
            cart = uow.carts.find_for(query.resident_id, query.community_id)
            lines = cart.lines if cart is not None else []
            offers = uow.skus.offers(line.sku_id for line in lines)
            held = held_coupons(uow, query.resident_id, now)
        items = tuple(
            CartItem(
                sku_id=line.sku_id,
                quantity=line.quantity,
                offer=offers.get(line.sku_id),
                problem=problem_of(offers.get(line.sku_id), line.quantity, query.community_id),
            )
            for line in lines
        )
        view = CartView(query.resident_id, query.community_id, items, None, {})
        if not view.orderable:
            return view
        quote = best_choice(
            pricing_lines(view.orderable, offers),
            fulfilment=query.fulfilment,
            express=query.express,
            fees=self._rules.fees,
            candidates=[coupon.priced() for _, coupon in held.values()],
        )
        by_coupon = {coupon.id: grant.id for grant, coupon in held.values()}
        grants = {cid: by_coupon[cid] for cid in quote.coupon_ids}
        return attrs.evolve(view, quote=quote, coupon_grants=grants)
