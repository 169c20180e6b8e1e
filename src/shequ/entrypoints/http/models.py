"""Request bodies. Money is integer fen; unknown fields are refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from shequ.domain.catalog import FreshFacts, Media, MediaKind, StockReason, StorageMethod
from shequ.domain.errors import InvalidInput
from shequ.entrypoints.http.deps import Input

__all__ = [
    "CommunityIn",
    "CommunityPatch",
    "FreshIn",
    "MediaIn",
    "OnSaleIn",
    "PriceIn",
    "ProductIn",
    "ProductPatch",
    "SellerIn",
    "SkuIn",
    "StockIn",
    "refuse_nulls",
]


def refuse_nulls(body: BaseModel, names: Iterable[str] | None = None) -> None:
    """A patch's fields that are present (of ``names``, when given) may not be null."""
    for name in sorted(body.model_fields_set):
        if (names is None or name in names) and getattr(body, name) is None:
            raise InvalidInput(f"{name} cannot be null", field=name)


class CommunityIn(Input):
    """``latitude`` and ``longitude`` (both, or neither): its gate, where home deliveries
    are driven to."""

    name: StrictStr
    city: StrictStr = ""
    district: StrictStr = ""
    latitude: StrictFloat | StrictInt | None = None
    longitude: StrictFloat | StrictInt | None = None


class CommunityPatch(Input):
    """The fields present change; nulls are refused."""

    name: StrictStr | None = None
    city: StrictStr | None = None
    district: StrictStr | None = None
    latitude: StrictFloat | StrictInt | None = None
    longitude: StrictFloat | StrictInt | None = None


class SellerIn(Input):
    name: StrictStr
    kind: Literal["platform", "merchant"] = "merchant"
    community_id: StrictStr | None = None


class MediaIn(Input):
    uri: StrictStr
    kind: MediaKind = MediaKind.IMAGE
    alt_text: StrictStr = ""

    def to_domain(self) -> Media:
        return Media(uri=self.uri, kind=self.kind, alt_text=self.alt_text)


class FreshIn(Input):
    storage: StorageMethod = StorageMethod.AMBIENT
    shelf_life_days: StrictInt | None = None
    harvested_at: dt.datetime | None = Field(default=None, description="With a time zone.")

    def to_domain(self) -> FreshFacts:
        return FreshFacts(
            storage=self.storage,
            shelf_life_days=self.shelf_life_days,
            harvested_at=self.harvested_at,
        )


class ProductIn(Input):
    seller_id: StrictStr
    name: StrictStr
    category: StrictStr = Field(description='A path of up to three levels, such as "生鲜/水果".')
    brand: StrictStr = ""
    origin: StrictStr = ""
    description: StrictStr = ""
    media: list[MediaIn] = Field(default_factory=list, max_length=20)
    fresh: FreshIn | None = None


class ProductPatch(Input):
    """Only the fields present change; ``"fresh": null`` removes the fresh-goods facts."""

    name: StrictStr | None = None
    category: StrictStr | None = None
    brand: StrictStr | None = None
    origin: StrictStr | None = None
    description: StrictStr | None = None
    media: list[MediaIn] | None = Field(default=None, max_length=20)
    fresh: FreshIn | None = None


class SkuIn(Input):
    spec: StrictStr = Field(description='What one unit is, such as "5kg/袋".')
    price_fen: StrictInt
    list_price_fen: StrictInt | None = None
    stock: StrictInt = 0
    on_sale: StrictBool = False
    community_ids: list[StrictStr] = Field(default_factory=list)


class PriceIn(Input):
    """Leave ``list_price_fen`` out to keep the list price; ``null`` removes it."""

    price_fen: StrictInt
    list_price_fen: StrictInt | None = None


class OnSaleIn(Input):
    on_sale: StrictBool


class StockIn(Input):
    """Either ``delta`` (with a reason) or ``counted`` (a stocktake)."""

    delta: StrictInt | None = None
    counted: StrictInt | None = None
    reason: StockReason | None = None
    note: StrictStr = ""
