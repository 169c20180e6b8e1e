"""Browse products: filters, sort and cursor pagination."""

from __future__ import annotations

import attrs

from shequ.application.catalog.products import ProductDetail
from shequ.application.catalog.search import (
    MAX_PAGE_SIZE,
    Position,
    ProductFilter,
    ProductQuery,
    ProductSort,
    decode_cursor,
    encode_cursor,
)
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import UnitOfWork
from shequ.domain.errors import InvalidInput

__all__ = ["BrowseProducts", "BrowseProductsHandler", "ProductPage"]


@attrs.frozen
class BrowseProducts:
    filter: ProductFilter = attrs.field(factory=ProductFilter)
    sort: ProductSort = ProductSort.NEWEST
    cursor: str | None = None
    limit: int = 20


@attrs.frozen
class ProductPage:
    """One page of products, each with the SKUs that matched; ``next_cursor`` is ``None`` on
    the last page."""

    items: tuple[ProductDetail, ...]
    next_cursor: str | None


class BrowseProductsHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: BrowseProducts, *, actor: Actor) -> ProductPage:
        self._policy.require(actor, Permission.BROWSE)
        if type(query.limit) is not int or not 1 <= query.limit <= MAX_PAGE_SIZE:
            raise InvalidInput(f"page size must be 1 to {MAX_PAGE_SIZE}", field="limit")
        after = decode_cursor(query.cursor, query.filter, query.sort) if query.cursor else None
        with self._uow as uow:
            hits = uow.products.search(
                ProductQuery(
                    filter=query.filter, sort=query.sort, after=after, limit=query.limit + 1
                )
            )
            page = hits[: query.limit]
            skus = uow.skus.for_products(hit.product.id for hit in page)
        items = tuple(
            ProductDetail(
                product=hit.product,
                skus=tuple(s for s in skus[hit.product.id] if query.filter.matches_sku(s)),
            )
            for hit in page
        )
        next_cursor = None
        if len(hits) > query.limit:
            last = page[-1]
            next_cursor = encode_cursor(
                Position(key=last.key, product_id=last.product.id), query.filter, query.sort
            )
        return ProductPage(items=items, next_cursor=next_cursor)
