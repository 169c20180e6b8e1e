"""Catalog: communities, sellers, products and their SKUs, and the rules that keep them sane.

A :class:`Product` holds what a resident reads (name, origin, media, fresh-goods facts).
A :class:`Sku` is one buyable specification of it: price and stock live there, and a SKU
is listed in the communities that can buy it. Products and SKUs are separate aggregates so
that stock changes on a busy SKU never contend with edits of its product.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Final

import attrs

from shequ.domain.errors import InsufficientStock, InvalidAmount, InvalidInput
from shequ.domain.events import DomainEvent
from shequ.domain.ids import CommunityId, ProductId, SellerId, SkuId, check_id
from shequ.domain.money import Money
from shequ.domain.reviews import average_tenths, checked_rating
from shequ.domain.routing import GeoPoint
from shequ.domain.values import CHINA_STANDARD_TIME, clean_text, utc_time

__all__ = [
    "CHINA_STANDARD_TIME",
    "KEEP",
    "MAX_PRICE",
    "MAX_STOCK",
    "Community",
    "FreshFacts",
    "Keep",
    "Listing",
    "Media",
    "MediaKind",
    "Product",
    "ProductCreated",
    "ProductEdited",
    "Seller",
    "SellerKind",
    "Sku",
    "SkuAdded",
    "SkuListed",
    "SkuPriceChanged",
    "SkuPutOnSale",
    "SkuTakenOffSale",
    "SkuUnlisted",
    "StockAdjusted",
    "StockReason",
    "StorageMethod",
    "normalise_category",
    "read_time",
]

MAX_PRICE: Final = Money(100_000_000)  # ¥1,000,000.00: above this a price is a typo
MAX_STOCK: Final = 10_000_000


class Keep(enum.Enum):
    """Marks an edit argument as "leave unchanged"."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


class StorageMethod(enum.StrEnum):
    """How fresh goods are kept: 常温, 冷藏 or 冷冻."""

    AMBIENT = "ambient"
    CHILLED = "chilled"
    FROZEN = "frozen"

    @property
    def label(self) -> str:
        return {"ambient": "常温", "chilled": "冷藏", "frozen": "冷冻"}[self.value]

    @classmethod
    def parse(cls, text: str) -> StorageMethod:
        """Accept the English value or the Chinese label."""
        wanted = text.strip().lower()
        for method in cls:
            if wanted in (method.value, method.label):
                return method
        choices = ", ".join(f"{m.value} ({m.label})" for m in cls)
        raise InvalidInput(f"storage must be one of {choices}, not {text!r}", field="storage")


class SellerKind(enum.StrEnum):
    PLATFORM = "platform"
    MERCHANT = "merchant"


class MediaKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class StockReason(enum.StrEnum):
    """Why stock changed by hand. Sales and cancellations move stock through orders."""

    INITIAL = "initial"
    RESTOCK = "restock"
    RETURN = "return"
    DAMAGE = "damage"
    EXPIRY = "expiry"
    STOCKTAKE = "stocktake"
    CORRECTION = "correction"


def normalise_category(value: str) -> str:
    """``" 生鲜 / 水果 "`` → ``"生鲜/水果"``: a path of up to three levels."""
    parts = [part.strip() for part in clean_text(value, "category", max_len=64).split("/")]
    if any(not part for part in parts) or len(parts) > 3:
        raise InvalidInput(
            f"category {value!r} must be one to three names separated by '/'", field="category"
        )
    return "/".join(parts)


def read_time(text: str, field: str) -> dt.datetime:
    """An ISO 8601 date or date-time typed by a person; without a zone it is UTC+8 (CST)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise InvalidInput(f"{field} {text!r} is not an ISO date or date-time", field=field) from e
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_STANDARD_TIME)


@attrs.frozen
class Media:
    """An image or video of a product; its place in the product's tuple is its order."""

    uri: str
    kind: MediaKind = MediaKind.IMAGE
    alt_text: str = ""

    def __attrs_post_init__(self) -> None:
        uri = clean_text(self.uri, "media uri", max_len=1000)
        if any(ch.isspace() for ch in uri):
            raise InvalidInput("media uri must not contain spaces", field="media")
        object.__setattr__(self, "uri", uri)
        object.__setattr__(
            self, "alt_text", clean_text(self.alt_text, "alt text", max_len=200, required=False)
        )


@attrs.frozen
class FreshFacts:
    """Facts residents check on fresh goods: when harvested or caught, shelf life, storage."""

    storage: StorageMethod = StorageMethod.AMBIENT
    shelf_life_days: int | None = None
    harvested_at: dt.datetime | None = None

    def __attrs_post_init__(self) -> None:
        days = self.shelf_life_days
        if days is not None and (type(days) is not int or not 1 <= days <= 3650):
            raise InvalidInput("shelf life must be 1 to 3650 days", field="shelf_life_days")
        if self.harvested_at is not None:
            object.__setattr__(self, "harvested_at", utc_time(self.harvested_at, "harvested_at"))

    def __composite_values__(self) -> tuple[StorageMethod, int | None, dt.datetime | None]:
        return (self.storage, self.shelf_life_days, self.harvested_at)


# ---------------------------------------------------------------- events


@attrs.frozen(kw_only=True)
class ProductCreated(DomainEvent):
    product_id: ProductId
    seller_id: SellerId
    name: str
    category: str


@attrs.frozen(kw_only=True)
class ProductEdited(DomainEvent):
    product_id: ProductId
    fields: tuple[str, ...]


@attrs.frozen(kw_only=True)
class SkuAdded(DomainEvent):
    sku_id: SkuId
    product_id: ProductId
    spec: str
    price: Money
    stock: int


@attrs.frozen(kw_only=True)
class SkuPriceChanged(DomainEvent):
    sku_id: SkuId
    old_price: Money
    new_price: Money
    list_price: Money | None


@attrs.frozen(kw_only=True)
class SkuPutOnSale(DomainEvent):
    sku_id: SkuId


@attrs.frozen(kw_only=True)
class SkuTakenOffSale(DomainEvent):
    sku_id: SkuId


@attrs.frozen(kw_only=True)
class StockAdjusted(DomainEvent):
    sku_id: SkuId
    delta: int
    stock: int
    reason: StockReason
    note: str


@attrs.frozen(kw_only=True)
class SkuListed(DomainEvent):
    sku_id: SkuId
    community_id: CommunityId


@attrs.frozen(kw_only=True)
class SkuUnlisted(DomainEvent):
    sku_id: SkuId
    community_id: CommunityId


# ---------------------------------------------------------------- aggregates


@attrs.define(slots=False, eq=False)
class Community:
    """A residential community (小区) that residents, pickup points and listings belong to."""

    id: CommunityId
    name: str
    created_at: dt.datetime
    city: str = ""
    district: str = ""
    version: int = 1
    location: GeoPoint | None = None  # its gate: where home deliveries are driven to

    def __attrs_post_init__(self) -> None:
        check_id(self.id, "community")
        self.name = clean_text(self.name, "community name", max_len=80)
        self.city = clean_text(self.city, "city", max_len=40, required=False)
        self.district = clean_text(self.district, "district", max_len=40, required=False)
        if self.location is not None and not isinstance(self.location, GeoPoint):
            raise InvalidInput("a community's location is a GeoPoint", field="location")

    def edit(
        self,
        *,
        name: str | None = None,
        city: str | None = None,
        district: str | None = None,
        location: GeoPoint | None = None,
    ) -> None:
        """Change what is given."""
        changed = attrs.evolve(
            self,
            name=self.name if name is None else name,
            city=self.city if city is None else city,
            district=self.district if district is None else district,
            location=self.location if location is None else location,
        )
        fields = ("name", "city", "district", "location")
        if any(getattr(changed, f) != getattr(self, f) for f in fields):
            for f in fields:
                setattr(self, f, getattr(changed, f))
            self.version += 1


@attrs.define(slots=False, eq=False)
class Seller:
    """Who sells: the platform itself, or a local merchant of one community."""

    id: SellerId
    name: str
    kind: SellerKind
    created_at: dt.datetime
    community_id: CommunityId | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        check_id(self.id, "seller")
        self.name = clean_text(self.name, "seller name", max_len=80)
        if self.kind is SellerKind.MERCHANT and self.community_id is None:
            raise InvalidInput("a local merchant belongs to a community", field="community_id")


@attrs.define(slots=False, eq=False)
class Product:
    """What a resident reads about something for sale. Buyable specs are its SKUs."""

    id: ProductId
    seller_id: SellerId
    name: str
    category: str
    created_at: dt.datetime
    updated_at: dt.datetime
    brand: str = ""
    origin: str = ""
    description: str = ""
    media: tuple[Media, ...] = ()
    fresh: FreshFacts | None = None
    rating_total: int = 0  # of its reviews' ratings
    rating_count: int = 0
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @property
    def rating_tenths(self) -> int | None:
        """The average rating of its reviews in tenths (46 for 4.6), rounded half up;
        ``None`` before the first review."""
        return average_tenths(self.rating_total, self.rating_count)

    def rated(self, rating: int) -> None:
        """A review's rating joins the average."""
        self.rating_total += checked_rating(rating)
        self.rating_count += 1
        self.version += 1

    @classmethod
    def create(
        cls,
        *,
        id: ProductId,
        seller_id: SellerId,
        name: str,
        category: str,
        now: dt.datetime,
        brand: str = "",
        origin: str = "",
        description: str = "",
        media: tuple[Media, ...] = (),
        fresh: FreshFacts | None = None,
    ) -> Product:
        check_id(id, "product")
        product = cls(
            id=id, seller_id=seller_id, name="", category="", created_at=now, updated_at=now
        )
        product._apply(
            name=name,
            category=category,
            brand=brand,
            origin=origin,
            description=description,
            media=media,
            fresh=fresh,
        )
        product.version = 1
        product.events.append(
            ProductCreated(
                occurred_at=now,
                product_id=id,
                seller_id=seller_id,
                name=product.name,
                category=product.category,
            )
        )
        return product

    def edit(
        self,
        *,
        now: dt.datetime,
        name: str | Keep = KEEP,
        category: str | Keep = KEEP,
        brand: str | Keep = KEEP,
        origin: str | Keep = KEEP,
        description: str | Keep = KEEP,
        media: tuple[Media, ...] | Keep = KEEP,
        fresh: FreshFacts | Keep | None = KEEP,
    ) -> tuple[str, ...]:
        """Change the given fields; returns the names of those that really changed."""
        changed = self._apply(
            name=name,
            category=category,
            brand=brand,
            origin=origin,
            description=description,
            media=media,
            fresh=fresh,
        )
        if changed:
            self.updated_at = now
            self.events.append(ProductEdited(occurred_at=now, product_id=self.id, fields=changed))
        return changed

    def _apply(
        self,
        *,
        name: str | Keep,
        category: str | Keep,
        brand: str | Keep,
        origin: str | Keep,
        description: str | Keep,
        media: tuple[Media, ...] | Keep,
        fresh: FreshFacts | Keep | None,
    ) -> tuple[str, ...]:
        proposed: dict[str, object] = {}
        if name is not KEEP:
            proposed["name"] = clean_text(name, "name", max_len=120)
        if category is not KEEP:
            proposed["category"] = normalise_category(category)
        if brand is not KEEP:
            proposed["brand"] = clean_text(brand, "brand", max_len=60, required=False)
        if origin is not KEEP:
            proposed["origin"] = clean_text(origin, "origin", max_len=60, required=False)
        if description is not KEEP:
            proposed["description"] = clean_text(
                description, "description", max_len=5000, required=False
            )
        if media is not KEEP:
            if len(media) > 20:
                raise InvalidInput("a product has at most 20 media items", field="media")
            proposed["media"] = tuple(media)
        if fresh is not KEEP:
            proposed["fresh"] = fresh
        changed = tuple(key for key, value in proposed.items() if getattr(self, key) != value)
        for key in changed:
            setattr(self, key, proposed[key])
        if changed:
            self.version += 1
        return changed


@attrs.define(slots=False, eq=False)
class Listing:
    """A SKU offered to the residents of one community."""

    community_id: CommunityId
    listed_at: dt.datetime


def _check_price(price: Money, list_price: Money | None) -> None:
    if not isinstance(price, Money):
        raise TypeError("price must be Money")
    if price.fen <= 0:
        raise InvalidAmount(f"price must be more than zero, not {price}", field="price")
    if price > MAX_PRICE:
        raise InvalidAmount(f"price {price} is above the limit of {MAX_PRICE}", field="price")
    if list_price is not None and list_price < price:
        raise InvalidAmount(
            f"list price {list_price} is below the price {price}", field="list_price"
        )
    if list_price is not None and list_price > MAX_PRICE:
        raise InvalidAmount(
            f"list price {list_price} is above the limit of {MAX_PRICE}", field="list_price"
        )


def _check_stock(stock: int, field: str = "stock") -> int:
    if type(stock) is not int or not 0 <= stock <= MAX_STOCK:
        raise InvalidInput(f"{field} must be a whole number from 0 to {MAX_STOCK}", field=field)
    return stock


@attrs.define(slots=False, eq=False)
class Sku:
    """One buyable spec of a product ("5kg/袋"): price, stock on hand, on sale or not."""

    id: SkuId
    product_id: ProductId
    spec: str
    price: Money
    created_at: dt.datetime
    updated_at: dt.datetime
    list_price: Money | None = None
    stock: int = 0
    on_sale: bool = False
    listings: list[Listing] = attrs.Factory(list)
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        id: SkuId,
        product_id: ProductId,
        spec: str,
        price: Money,
        now: dt.datetime,
        list_price: Money | None = None,
        stock: int = 0,
        on_sale: bool = False,
        community_ids: tuple[CommunityId, ...] = (),
    ) -> Sku:
        check_id(id, "SKU")
        _check_price(price, list_price)
        listings = [Listing(community_id=c, listed_at=now) for c in dict.fromkeys(community_ids)]
        sku = cls(
            id=id,
            product_id=product_id,
            spec=clean_text(spec, "spec", max_len=64),
            price=price,
            list_price=list_price,
            stock=_check_stock(stock),
            on_sale=on_sale,
            listings=listings,
            created_at=now,
            updated_at=now,
        )
        sku.events.append(
            SkuAdded(
                occurred_at=now,
                sku_id=id,
                product_id=product_id,
                spec=sku.spec,
                price=price,
                stock=stock,
            )
        )
        sku.events.extend(
            SkuListed(occurred_at=now, sku_id=id, community_id=listing.community_id)
            for listing in listings
        )
        return sku

    @property
    def community_ids(self) -> frozenset[CommunityId]:
        return frozenset(listing.community_id for listing in self.listings)

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    def _touch(self, now: dt.datetime, event: DomainEvent) -> None:
        self.updated_at = now
        self.version += 1
        self.events.append(event)

    def change_price(
        self, price: Money, list_price: Money | Keep | None = KEEP, *, now: dt.datetime
    ) -> None:
        """Set the price; ``list_price`` is kept unless given (``None`` removes it)."""
        if list_price is KEEP:
            list_price = self.list_price
        _check_price(price, list_price)
        if (price, list_price) == (self.price, self.list_price):
            return
        old, self.price, self.list_price = self.price, price, list_price
        self._touch(
            now,
            SkuPriceChanged(
                occurred_at=now,
                sku_id=self.id,
                old_price=old,
                new_price=price,
                list_price=list_price,
            ),
        )

    def put_on_sale(self, *, now: dt.datetime) -> None:
        if not self.on_sale:
            self.on_sale = True
            self._touch(now, SkuPutOnSale(occurred_at=now, sku_id=self.id))

    def take_off_sale(self, *, now: dt.datetime) -> None:
        if self.on_sale:
            self.on_sale = False
            self._touch(now, SkuTakenOffSale(occurred_at=now, sku_id=self.id))

    def adjust_stock(
        self, delta: int, reason: StockReason, *, now: dt.datetime, note: str = ""
    ) -> None:
        """Add (delta > 0) or remove (delta < 0) units by hand, with a reason."""
        if type(delta) is not int or delta == 0 or abs(delta) > MAX_STOCK:
            raise InvalidInput(
                f"a stock change must be a non-zero whole number of at most {MAX_STOCK} units",
                field="delta",
            )
        if self.stock + delta < 0:
            raise InsufficientStock(
                f"cannot remove {-delta} units of SKU {self.id}: only {self.stock} on hand",
                sku_id=self.id,
                on_hand=self.stock,
            )
        _check_stock(self.stock + delta)
        self._record_stock(delta, reason, now, note)

    def count_stock(self, counted: int, *, now: dt.datetime, note: str = "") -> None:
        """Set stock to what a stocktake counted; the event records the difference."""
        _check_stock(counted, "counted")
        self._record_stock(counted - self.stock, StockReason.STOCKTAKE, now, note)

    def _record_stock(self, delta: int, reason: StockReason, now: dt.datetime, note: str) -> None:
        self.stock += delta
        self._touch(
            now,
            StockAdjusted(
                occurred_at=now,
                sku_id=self.id,
                delta=delta,
                stock=self.stock,
                reason=reason,
                note=clean_text(note, "note", max_len=200, required=False),
            ),
        )

    def list_in(self, community_id: CommunityId, *, now: dt.datetime) -> None:
        if community_id not in self.community_ids:
            self.listings.append(Listing(community_id=community_id, listed_at=now))
            self._touch(now, SkuListed(occurred_at=now, sku_id=self.id, community_id=community_id))

    def unlist(self, community_id: CommunityId, *, now: dt.datetime) -> None:
        if community_id in self.community_ids:
            self.listings = [x for x in self.listings if x.community_id != community_id]
            self._touch(
                now, SkuUnlisted(occurred_at=now, sku_id=self.id, community_id=community_id)
            )
