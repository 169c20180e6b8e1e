"""Bulk import of products and SKUs from rows of text (a CSV file, read by the entrypoint).

One row is one SKU. Rows with the same ``name`` and ``brand`` make one product; its
descriptive fields come from its first row and later rows must agree with them.
By default a file with any bad row writes nothing; with ``skip_bad_rows`` the good rows
are written and the bad ones reported.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.domain.catalog import FreshFacts, Media, Product, Sku, StorageMethod, read_time
from shequ.domain.errors import InvalidImport, ShequError
from shequ.domain.ids import CommunityId, ProductId, SellerId, SkuId, new_id
from shequ.domain.money import Money

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "ImportCatalog",
    "ImportCatalogHandler",
    "ImportReport",
    "ImportRow",
    "RowProblem",
]

REQUIRED_COLUMNS = ("name", "category", "spec", "price")
COLUMNS = (
    *REQUIRED_COLUMNS,
    "brand",
    "origin",
    "description",
    "storage",
    "shelf_life_days",
    "harvested_at",
    "image",
    "image_alt",
    "list_price",
    "stock",
    "on_sale",
)
_PRODUCT_FIELDS = (
    "category",
    "origin",
    "description",
    "storage",
    "shelf_life_days",
    "harvested_at",
    "image",
    "image_alt",
)
_YES = {"1", "true", "yes", "y", "是", "上架"}
_NO = {"0", "false", "no", "n", "否", "下架"}
_WHOLE = re.compile(r"[0-9]{1,9}")
_CHUNK = 500  # rows written between flushes


@attrs.frozen
class ImportRow:
    """One row: its line number in the file, its values by column, and how many values it
    had beyond the header's columns (a misplaced comma)."""

    line: int
    fields: Mapping[str, str]
    extra_values: int = 0


@attrs.frozen
class RowProblem:
    line: int
    reason: str


@attrs.frozen
class ImportCatalog:
    seller_id: SellerId
    rows: tuple[ImportRow, ...]
    community_ids: tuple[CommunityId, ...] = ()
    skip_bad_rows: bool = False


@attrs.frozen
class ImportReport:
    products: int
    skus: int
    problems: tuple[RowProblem, ...]


@attrs.frozen
class _Parsed:
    key: tuple[str, str]
    product_fields: tuple[str, ...]
    product: Product
    sku: Sku


def _whole(text: str, column: str) -> int:
    if not _WHOLE.fullmatch(text):
        raise InvalidImport(f"{column} {text!r} is not a whole number")
    return int(text)


def _yes_no(text: str) -> bool:
    if text.lower() in _YES:
        return True
    if text.lower() in _NO:
        return False
    raise InvalidImport(f"on_sale {text!r} is not yes or no")


class ImportCatalogHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(
        self,
        cmd: ImportCatalog,
        progress: Callable[[int], None] | None = None,
        *,
        actor: Actor,
    ) -> ImportReport:
        """Validate every row, then write the good ones in one transaction.

        The work is ``2 * len(cmd.rows)`` steps, one per row checked and one per row written
        (or skipped); ``progress``, if given, is called with the steps done since its last
        call. Raises :class:`InvalidImport` (``details["rows"]``: ``(line, reason)`` pairs)
        when a row is bad and ``skip_bad_rows`` is false; nothing is written then.
        """
        self._authorize(cmd, actor)
        if not cmd.rows:
            raise InvalidImport("the file has no rows to import", rows=[])
        self._check_columns(cmd.rows[0])
        advance = progress or (lambda _: None)
        now = self._clock.now()
        parsed, problems = self._parse_all(cmd, now, advance)
        if problems and not cmd.skip_bad_rows:
            raise InvalidImport(
                f"{len(problems)} of {len(cmd.rows)} rows are bad; nothing was imported",
                rows=[(p.line, p.reason) for p in problems],
            )
        products: dict[tuple[str, str], Product] = {}
        with self._uow as uow:
            uow.sellers.get(cmd.seller_id)
            for community_id in cmd.community_ids:
                uow.communities.get(community_id)
            advance(len(problems))
            for start in range(0, len(parsed), _CHUNK):
                chunk = parsed[start : start + _CHUNK]
                for row in chunk:
                    if row.key not in products:
                        products[row.key] = row.product
                        uow.products.add(row.product)
                    uow.skus.add(row.sku)
                uow.flush()
                advance(len(chunk))
            uow.commit()
        return ImportReport(products=len(products), skus=len(parsed), problems=tuple(problems))

    def _authorize(self, cmd: ImportCatalog, actor: Actor) -> None:
        with self._uow as uow:
            seller = uow.sellers.get(cmd.seller_id)
            for community_id in cmd.community_ids:
                uow.communities.get(community_id)
        self._policy.require(actor, Permission.MANAGE_PRODUCTS, seller=seller)
        for community_id in cmd.community_ids:
            self._policy.require(
                actor, Permission.LIST_IN_COMMUNITY, community_id=community_id, seller=seller
            )

    @staticmethod
    def _check_columns(first: ImportRow) -> None:
        columns = set(first.fields)
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        unknown = sorted(c or repr(c) for c in columns - set(COLUMNS))
        if missing or unknown:
            parts = ([f"missing column(s): {', '.join(missing)}"] if missing else []) + (
                [f"unknown column(s): {', '.join(unknown)}"] if unknown else []
            )
            raise InvalidImport(f"bad header: {'; '.join(parts)}", rows=[(1, "; ".join(parts))])

    def _parse_all(
        self, cmd: ImportCatalog, now: dt.datetime, advance: Callable[[int], None]
    ) -> tuple[list[_Parsed], list[RowProblem]]:
        parsed: list[_Parsed] = []
        problems: list[RowProblem] = []
        first_of: dict[tuple[str, str], tuple[int, _Parsed]] = {}
        specs: set[tuple[tuple[str, str], str]] = set()
        for row in cmd.rows:
            advance(1)
            try:
                if row.extra_values:
                    raise InvalidImport(
                        f"the row has {row.extra_values} value(s) more than the header has columns"
                    )
                key = (
                    (row.fields.get("name") or "").strip(),
                    (row.fields.get("brand") or "").strip(),
                )
                first = first_of.get(key)
                item = self._parse(row, cmd, now, key, first[1].product.id if first else None)
                if first is not None and item.product_fields != first[1].product_fields:
                    raise InvalidImport(
                        f"product fields differ from line {first[0]} for the same product"
                    )
                if (key, item.sku.spec) in specs:
                    raise InvalidImport(f"spec {item.sku.spec!r} appears twice for this product")
            except ShequError as e:
                problems.append(RowProblem(line=row.line, reason=e.message))
                continue
            first_of.setdefault(key, (row.line, item))
            specs.add((key, item.sku.spec))
            parsed.append(item if first is None else attrs.evolve(item, product=first[1].product))
        return parsed, problems

    @staticmethod
    def _parse(
        row: ImportRow,
        cmd: ImportCatalog,
        now: dt.datetime,
        key: tuple[str, str],
        product_id: ProductId | None,
    ) -> _Parsed:
        get = {k: (v or "").strip() for k, v in row.fields.items()}.get
        storage, days, harvested = (
            get("storage", ""),
            get("shelf_life_days", ""),
            get("harvested_at", ""),
        )
        fresh = None
        if storage or days or harvested:
            fresh = FreshFacts(
                storage=StorageMethod.parse(storage) if storage else StorageMethod.AMBIENT,
                shelf_life_days=_whole(days, "shelf_life_days") if days else None,
                harvested_at=read_time(harvested, "harvested_at") if harvested else None,
            )
        image = get("image", "")
        product = Product.create(
            id=product_id or ProductId(new_id()),
            seller_id=cmd.seller_id,
            name=get("name", ""),
            category=get("category", ""),
            brand=get("brand", ""),
            origin=get("origin", ""),
            description=get("description", ""),
            fresh=fresh,
            now=now,
            media=(Media(uri=image, alt_text=get("image_alt", "")),) if image else (),
        )
        list_price = get("list_price", "")
        stock = get("stock", "")
        sku = Sku.create(
            id=SkuId(new_id()),
            product_id=product.id,
            spec=get("spec", ""),
            price=Money.parse(get("price", "")),
            list_price=Money.parse(list_price) if list_price else None,
            stock=_whole(stock, "stock") if stock else 0,
            on_sale=_yes_no(get("on_sale", "")) if get("on_sale", "") else True,
            community_ids=cmd.community_ids,
            now=now,
        )
        return _Parsed(
            key=key,
            product_fields=tuple(get(f, "") for f in _PRODUCT_FIELDS),
            product=product,
            sku=sku,
        )
