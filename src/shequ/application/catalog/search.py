"""What a product search asks for, and the opaque cursor that pages through its answer."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import hashlib
import hmac
import json

import attrs

from shequ.domain.catalog import MAX_PRICE, Product, Sku, normalise_category
from shequ.domain.errors import InvalidAmount, InvalidCursor, InvalidInput
from shequ.domain.ids import CommunityId, ProductId, SellerId
from shequ.domain.money import Money

__all__ = [
    "MAX_PAGE_SIZE",
    "Position",
    "ProductFilter",
    "ProductHit",
    "ProductQuery",
    "ProductSort",
    "SortKey",
    "decode_cursor",
    "encode_cursor",
]

MAX_PAGE_SIZE = 100

SortKey = int | dt.datetime


class ProductSort(enum.StrEnum):
    """``price``: cheapest matching SKU first; ``-price``: dearest first; ``newest``."""

    PRICE = "price"
    PRICE_DESC = "-price"
    NEWEST = "newest"

    @property
    def descending(self) -> bool:
        return self is not ProductSort.PRICE


def _category(value: str | None) -> str | None:
    return None if value is None else normalise_category(value)


@attrs.frozen
class ProductFilter:
    """Criteria for a product search. SKU criteria must all hold for one and the same SKU.

    ``category`` matches the category and everything below it ("生鲜" matches "生鲜/水果").
    """

    community_id: CommunityId | None = None
    category: str | None = attrs.field(default=None, converter=_category)
    seller_id: SellerId | None = None
    min_price: Money | None = None
    max_price: Money | None = None
    in_stock: bool = False
    on_sale: bool | None = None

    def __attrs_post_init__(self) -> None:
        low, high = self.min_price, self.max_price
        for bound, name in ((low, "min_price"), (high, "max_price")):
            if bound is not None and not Money(0) <= bound <= MAX_PRICE:
                raise InvalidAmount(f"{name} must be from ¥0.00 to {MAX_PRICE}", field=name)
        if low is not None and high is not None and low > high:
            raise InvalidInput(f"min price {low} is above max price {high}", field="min_price")

    def matches_product(self, product: Product) -> bool:
        if self.seller_id is not None and product.seller_id != self.seller_id:
            return False
        return self.category is None or (
            product.category == self.category or product.category.startswith(self.category + "/")
        )

    def matches_sku(self, sku: Sku) -> bool:
        return (
            (self.community_id is None or self.community_id in sku.community_ids)
            and (self.min_price is None or sku.price >= self.min_price)
            and (self.max_price is None or sku.price <= self.max_price)
            and (not self.in_stock or sku.stock > 0)
            and (self.on_sale is None or sku.on_sale is self.on_sale)
        )

    def fingerprint(self, sort: ProductSort) -> str:
        fields = attrs.asdict(
            self, value_serializer=lambda _i, _a, v: v.fen if isinstance(v, Money) else v
        )
        text = json.dumps([fields, sort.value], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


@attrs.frozen
class Position:
    """Where the previous page ended: its last product's sort key and id."""

    key: SortKey
    product_id: ProductId


@attrs.frozen
class ProductQuery:
    filter: ProductFilter = attrs.field(factory=ProductFilter)
    sort: ProductSort = ProductSort.NEWEST
    after: Position | None = None
    limit: int = 20


@attrs.frozen
class ProductHit:
    """A product that matched, with the key it was sorted by (cheapest matching price in fen,
    or its creation time)."""

    product: Product
    key: SortKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _seal(fingerprint: str, body: str) -> str:
    return hashlib.sha256(f"{fingerprint}:{body}".encode("utf-8", "surrogatepass")).hexdigest()[:24]


def encode_cursor(position: Position, filter: ProductFilter, sort: ProductSort) -> str:
    """An opaque token for the page after ``position``, valid only for the same search."""
    key = position.key.isoformat() if isinstance(position.key, dt.datetime) else position.key
    body = _b64(json.dumps({"k": key, "i": position.product_id}, separators=(",", ":")).encode())
    return f"{body}.{_seal(filter.fingerprint(sort), body)}"


def decode_cursor(token: str, filter: ProductFilter, sort: ProductSort) -> Position:
    """Read a token back; a token that was altered or made for another search is refused.

    The seal catches edits and cursors carried over to another search. It is not a secret:
    whoever forges a well-formed cursor only starts a page of their own search elsewhere.
    """
    refused = InvalidCursor(
        "the page cursor is not valid for this search: it was altered, or the filters or the "
        "sort changed; start again from the first page",
    )
    body, _, seal = token.partition(".")
    expected = _seal(filter.fingerprint(sort), body)
    if not hmac.compare_digest(seal.encode("utf-8", "replace"), expected.encode()):
        raise refused
    try:
        data = json.loads(_unb64(body))
        key, product_id = data["k"], data["i"]
        parsed = _sort_key(key, sort)
    except (ValueError, TypeError, KeyError, binascii.Error, OverflowError) as e:
        raise refused from e
    if not isinstance(product_id, str) or not product_id or len(product_id) > 64:
        raise refused
    return Position(key=parsed, product_id=ProductId(product_id))


def _sort_key(key: object, sort: ProductSort) -> SortKey:
    if sort is ProductSort.NEWEST:
        if not isinstance(key, str):
            raise TypeError("a time is expected")
        moment = dt.datetime.fromisoformat(key)
        if moment.tzinfo is None:
            raise ValueError("a time zone is expected")
        return moment
    if type(key) is not int or not 0 <= key <= MAX_PRICE.fen:
        raise ValueError("a price in fen is expected")
    return key
