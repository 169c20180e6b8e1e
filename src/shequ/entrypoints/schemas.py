"""Pydantic views of the catalog, shared by the HTTP API and the CLI's ``--json``.

Domain classes never cross an entrypoint: they are turned into these first. Money is an
integer number of fen (``price_fen``) with a display string beside it (``price``).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from shequ.application.catalog.browse import ProductPage
from shequ.application.catalog.products import ProductDetail
from shequ.domain.catalog import Community, FreshFacts, Media, Product, Seller, Sku
from shequ.domain.identity import Account, Membership, mask_name
from shequ.domain.money import Money

__all__ = [
    "AccountOut",
    "CommunityOut",
    "MembershipOut",
    "ProductOut",
    "ProductPageOut",
    "SellerOut",
    "SkuOut",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


def _display(amount: Money | None) -> str | None:
    return None if amount is None else amount.format()


class CommunityOut(_Out):
    id: str
    name: str
    city: str
    district: str
    created_at: dt.datetime
    latitude: float | None
    longitude: float | None

    @classmethod
    def of(cls, c: Community) -> CommunityOut:
        where = c.location
        return cls(
            id=c.id,
            name=c.name,
            city=c.city,
            district=c.district,
            created_at=c.created_at,
            latitude=None if where is None else where.latitude,
            longitude=None if where is None else where.longitude,
        )


class SellerOut(_Out):
    id: str
    name: str
    kind: str
    community_id: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, s: Seller) -> SellerOut:
        return cls(
            id=s.id,
            name=s.name,
            kind=s.kind.value,
            community_id=s.community_id,
            created_at=s.created_at,
        )


class MediaOut(_Out):
    uri: str
    kind: str
    alt_text: str

    @classmethod
    def of(cls, m: Media) -> MediaOut:
        return cls(uri=m.uri, kind=m.kind.value, alt_text=m.alt_text)


class FreshOut(_Out):
    storage: str
    storage_label: str
    shelf_life_days: int | None
    harvested_at: dt.datetime | None

    @classmethod
    def of(cls, f: FreshFacts) -> FreshOut:
        return cls(
            storage=f.storage.value,
            storage_label=f.storage.label,
            shelf_life_days=f.shelf_life_days,
            harvested_at=f.harvested_at,
        )


class SkuOut(_Out):
    id: str
    product_id: str
    spec: str
    price_fen: int
    price: str
    list_price_fen: int | None
    list_price: str | None
    stock: int
    on_sale: bool
    community_ids: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @classmethod
    def of(cls, s: Sku) -> SkuOut:
        return cls(
            id=s.id,
            product_id=s.product_id,
            spec=s.spec,
            price_fen=s.price.fen,
            price=s.price.format(),
            list_price_fen=None if s.list_price is None else s.list_price.fen,
            list_price=_display(s.list_price),
            stock=s.stock,
            on_sale=s.on_sale,
            community_ids=sorted(s.community_ids),
            created_at=s.created_at,
            updated_at=s.updated_at,
            version=s.version,
        )


class ProductOut(_Out):
    id: str
    seller_id: str
    name: str
    category: str
    brand: str
    origin: str
    description: str
    media: list[MediaOut]
    fresh: FreshOut | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    skus: list[SkuOut]

    @classmethod
    def of(cls, p: Product, skus: tuple[Sku, ...] = ()) -> ProductOut:
        return cls(
            id=p.id,
            seller_id=p.seller_id,
            name=p.name,
            category=p.category,
            brand=p.brand,
            origin=p.origin,
            description=p.description,
            media=[MediaOut.of(m) for m in p.media],
            fresh=None if p.fresh is None else FreshOut.of(p.fresh),
            created_at=p.created_at,
            updated_at=p.updated_at,
            version=p.version,
            skus=[SkuOut.of(s) for s in skus],
        )

    @classmethod
    def of_detail(cls, detail: ProductDetail) -> ProductOut:
        return cls.of(detail.product, detail.skus)


class ProductPageOut(_Out):
    items: list[ProductOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: ProductPage) -> ProductPageOut:
        return cls(
            items=[ProductOut.of_detail(d) for d in page.items], next_cursor=page.next_cursor
        )


class MembershipOut(_Out):
    role: str
    community_id: str | None
    scope_id: str | None

    @classmethod
    def of(cls, m: Membership) -> MembershipOut:
        return cls(role=m.role.value, community_id=m.community_id, scope_id=m.scope_id)


class AccountOut(_Out):
    """An account as others see it: the phone number masked, the name cut to its first
    character."""

    id: str
    phone: str
    name: str
    status: str
    memberships: list[MembershipOut]
    created_at: dt.datetime

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(
            id=a.id,
            phone=a.masked_phone,
            name=mask_name(a.name),
            status=a.status.value,
            memberships=[MembershipOut.of(m) for m in a.memberships],
            created_at=a.created_at,
        )
