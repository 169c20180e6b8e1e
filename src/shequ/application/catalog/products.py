"""Create, edit and read products."""

from __future__ import annotations

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.domain.catalog import KEEP, FreshFacts, Keep, Media, Product, Sku
from shequ.domain.errors import Duplicate
from shequ.domain.ids import ProductId, SellerId, new_id

__all__ = [
    "CreateProduct",
    "CreateProductHandler",
    "EditProduct",
    "EditProductHandler",
    "GetProductHandler",
    "ProductDetail",
]


@attrs.frozen
class ProductDetail:
    """A product with its SKUs (all of them, or those that matched a search)."""

    product: Product
    skus: tuple[Sku, ...]


@attrs.frozen
class CreateProduct:
    seller_id: SellerId
    name: str
    category: str
    brand: str = ""
    origin: str = ""
    description: str = ""
    media: tuple[Media, ...] = ()
    fresh: FreshFacts | None = None
    product_id: ProductId | None = None


class CreateProductHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: CreateProduct, *, actor: Actor) -> Product:
        product = Product.create(
            id=cmd.product_id or ProductId(new_id()),
            seller_id=cmd.seller_id,
            name=cmd.name,
            category=cmd.category,
            brand=cmd.brand,
            origin=cmd.origin,
            description=cmd.description,
            media=cmd.media,
            fresh=cmd.fresh,
            now=self._clock.now(),
        )
        with self._uow as uow:
            seller = uow.sellers.get(cmd.seller_id)
            self._policy.require(actor, Permission.MANAGE_PRODUCTS, seller=seller)
            if uow.products.find(product.id) is not None:
                raise Duplicate(f"product {product.id} exists already")
            uow.products.add(product)
            uow.commit()
        return product


@attrs.frozen
class EditProduct:
    """Fields left at ``KEEP`` stay as they are."""

    product_id: ProductId
    name: str | Keep = KEEP
    category: str | Keep = KEEP
    brand: str | Keep = KEEP
    origin: str | Keep = KEEP
    description: str | Keep = KEEP
    media: tuple[Media, ...] | Keep = KEEP
    fresh: FreshFacts | Keep | None = KEEP


class EditProductHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: EditProduct, *, actor: Actor) -> Product:
        with self._uow as uow:
            product = uow.products.get(cmd.product_id)
            seller = uow.sellers.get(product.seller_id)
            self._policy.require(actor, Permission.MANAGE_PRODUCTS, seller=seller)
            product.edit(
                now=self._clock.now(),
                name=cmd.name,
                category=cmd.category,
                brand=cmd.brand,
                origin=cmd.origin,
                description=cmd.description,
                media=cmd.media,
                fresh=cmd.fresh,
            )
            uow.commit()
        return product


class GetProductHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, product_id: ProductId, *, actor: Actor) -> ProductDetail:
        self._policy.require(actor, Permission.BROWSE)
        with self._uow as uow:
            product = uow.products.get(product_id)
            skus = uow.skus.for_products([product_id])[product_id]
        return ProductDetail(product=product, skus=tuple(skus))
