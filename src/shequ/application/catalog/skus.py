"""SKUs: add, price, put on or off sale, list in communities, and adjust stock."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.catalog import KEEP, Keep, Sku, StockReason
from shequ.domain.errors import Duplicate
from shequ.domain.ids import CommunityId, ProductId, SkuId, new_id
from shequ.domain.money import Money

__all__ = [
    "AddSku",
    "AddSkuHandler",
    "AdjustStock",
    "AdjustStockHandler",
    "ChangeSkuPrice",
    "ChangeSkuPriceHandler",
    "CountStock",
    "CountStockHandler",
    "GetSkuHandler",
    "SetSkuListing",
    "SetSkuListingHandler",
    "SetSkuOnSale",
    "SetSkuOnSaleHandler",
]


@attrs.frozen
class AddSku:
    product_id: ProductId
    spec: str
    price: Money
    list_price: Money | None = None
    stock: int = 0
    on_sale: bool = False
    community_ids: tuple[CommunityId, ...] = ()
    sku_id: SkuId | None = None


class AddSkuHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: AddSku, *, actor: Actor) -> Sku:
        sku = Sku.create(
            id=cmd.sku_id or SkuId(new_id()),
            product_id=cmd.product_id,
            spec=cmd.spec,
            price=cmd.price,
            list_price=cmd.list_price,
            stock=cmd.stock,
            on_sale=cmd.on_sale,
            community_ids=cmd.community_ids,
            now=self._clock.now(),
        )
        with self._uow as uow:
            product = uow.products.get(cmd.product_id)
            seller = uow.sellers.get(product.seller_id)
            self._policy.require(actor, Permission.MANAGE_PRODUCTS, seller=seller)
            for community_id in sku.community_ids:
                uow.communities.get(community_id)
                self._policy.require(
                    actor, Permission.LIST_IN_COMMUNITY, community_id=community_id, seller=seller
                )
            if uow.skus.find(sku.id) is not None:
                raise Duplicate(f"SKU {sku.id} exists already")
            if any(
                other.spec == sku.spec
                for other in uow.skus.for_products([sku.product_id])[sku.product_id]
            ):
                raise Duplicate(f"the product has a SKU {sku.spec!r} already", spec=sku.spec)
            uow.skus.add(sku)
            uow.commit()
        return sku


class _SkuChange:
    """Lock one SKU, check who asks, change it, commit; start again should a concurrent
    change still win. ``listing_in`` asks for the right to list in that community instead
    of the right to manage the seller's products."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def _change(
        self,
        sku_id: SkuId,
        change: Callable[[Sku, UnitOfWork], None],
        actor: Actor,
        listing_in: CommunityId | None = None,
    ) -> Sku:
        def attempt() -> Sku:
            with self._uow as uow:
                sku = uow.skus.get_for_update(sku_id)
                seller = uow.sellers.get(uow.products.get(sku.product_id).seller_id)
                if listing_in is None:
                    self._policy.require(actor, Permission.MANAGE_PRODUCTS, seller=seller)
                else:
                    self._policy.require(
                        actor, Permission.LIST_IN_COMMUNITY, community_id=listing_in, seller=seller
                    )
                change(sku, uow)
                uow.commit()
            return sku

        return retry_on_conflict(attempt)


@attrs.frozen
class ChangeSkuPrice:
    """Set a SKU's price; the list price stays unless given (``None`` removes it)."""

    sku_id: SkuId
    price: Money
    list_price: Money | Keep | None = KEEP


class ChangeSkuPriceHandler(_SkuChange):
    def __call__(self, cmd: ChangeSkuPrice, *, actor: Actor) -> Sku:
        return self._change(
            cmd.sku_id,
            lambda sku, _: sku.change_price(cmd.price, cmd.list_price, now=self._clock.now()),
            actor,
        )


@attrs.frozen
class SetSkuOnSale:
    sku_id: SkuId
    on_sale: bool


class SetSkuOnSaleHandler(_SkuChange):
    def __call__(self, cmd: SetSkuOnSale, *, actor: Actor) -> Sku:
        def change(sku: Sku, _: UnitOfWork) -> None:
            if cmd.on_sale:
                sku.put_on_sale(now=self._clock.now())
            else:
                sku.take_off_sale(now=self._clock.now())

        return self._change(cmd.sku_id, change, actor)


@attrs.frozen
class SetSkuListing:
    """List a SKU in a community (``listed=True``) or take it out of one."""

    sku_id: SkuId
    community_id: CommunityId
    listed: bool = True


class SetSkuListingHandler(_SkuChange):
    def __call__(self, cmd: SetSkuListing, *, actor: Actor) -> Sku:
        def change(sku: Sku, uow: UnitOfWork) -> None:
            if cmd.listed:
                uow.communities.get(cmd.community_id)
                sku.list_in(cmd.community_id, now=self._clock.now())
            else:
                sku.unlist(cmd.community_id, now=self._clock.now())

        return self._change(cmd.sku_id, change, actor, listing_in=cmd.community_id)


@attrs.frozen
class AdjustStock:
    """Add (``delta > 0``) or remove (``delta < 0``) units, with a reason."""

    sku_id: SkuId
    delta: int
    reason: StockReason
    note: str = ""


class AdjustStockHandler(_SkuChange):
    def __call__(self, cmd: AdjustStock, *, actor: Actor) -> Sku:
        return self._change(
            cmd.sku_id,
            lambda sku, _: sku.adjust_stock(
                cmd.delta, cmd.reason, now=self._clock.now(), note=cmd.note
            ),
            actor,
        )


@attrs.frozen
class CountStock:
    """Set stock to a stocktake's count."""

    sku_id: SkuId
    counted: int
    note: str = ""


class CountStockHandler(_SkuChange):
    def __call__(self, cmd: CountStock, *, actor: Actor) -> Sku:
        return self._change(
            cmd.sku_id,
            lambda sku, _: sku.count_stock(cmd.counted, now=self._clock.now(), note=cmd.note),
            actor,
        )


class GetSkuHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, sku_id: SkuId, *, actor: Actor) -> Sku:
        self._policy.require(actor, Permission.BROWSE)
        with self._uow as uow:
            return uow.skus.get(sku_id)
