"""Catalog benchmark: the library's use cases against hand-written SQL, in the same run.

For each database it loads a catalog of --products products with --skus SKUs each through
the import use case, then measures three things, each beside the same work done with the
raw driver (sqlite3 / psycopg) on an identical, separate database:

- import: rows (SKUs) per second for one all-or-nothing import;
- browse: latency of one page of 20 (community, in stock, on sale, cheapest first);
- restock: latency of one stock adjustment (lock the SKU, update it, write the event).

    python bench/catalog.py                                  # SQLite only
    python bench/catalog.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from databases import postgres_databases, sqlite_databases

from shequ import (
    AdjustStock,
    AdjustStockHandler,
    BrowseProducts,
    BrowseProductsHandler,
    CreateCommunity,
    CreateCommunityHandler,
    CreateSeller,
    CreateSellerHandler,
    ImportCatalog,
    ImportCatalogHandler,
    ImportRow,
    Money,
    ProductFilter,
    ProductSort,
    SellerKind,
    Settings,
    StockReason,
    UnitOfWork,
    bootstrap,
)
from shequ.application.catalog.search import ProductQuery
from shequ.application.policy import CONSOLE
from shequ.application.ports import SchemaMigrations

CATEGORIES = ["生鲜/水果", "生鲜/蔬菜", "生鲜/肉禽", "粮油/米面", "日用品/清洁", "日用品/纸品"]


def rows(products: int, skus: int, rng: random.Random) -> tuple[ImportRow, ...]:
    made = []
    for p in range(products):
        for s in range(skus):
            made.append(
                ImportRow(
                    line=len(made) + 2,
                    fields={
                        "name": f"商品{p:05d}",
                        "category": CATEGORIES[p % len(CATEGORIES)],
                        "spec": f"规格{s}",
                        "price": Money(rng.randint(100, 20000)).plain(),
                        "stock": str(rng.choice([0, 5, 20, 100])),
                        "on_sale": "yes",
                    },
                )
            )
    return tuple(made)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "mean": statistics.fmean(ordered) * 1000,
    }


def timed(action: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


# ------------------------------------------------------------------ databases


class Raw:
    """The same reads and writes as hand-written SQL through the bare driver."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
        else:
            import psycopg

            parsed = sa.engine.make_url(url)
            self.conn = psycopg.connect(
                host=parsed.host,
                port=parsed.port,
                user=parsed.username,
                dbname=parsed.database,
                options=parsed.query["options"],
                autocommit=True,
            )
        self.mark = "?" if self.sqlite else "%s"

    def sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")

    def load(self, rows: tuple[ImportRow, ...], seller: str, community: str) -> None:
        now = dt.datetime.now(dt.UTC)
        stamp = now.replace(tzinfo=None) if self.sqlite else now
        products: dict[str, str] = {}
        product_rows, sku_rows, listing_rows, events = [], [], [], []
        for row in rows:
            f = row.fields
            if f["name"] not in products:
                products[f["name"]] = uuid.uuid4().hex
                product_rows.append(
                    (
                        products[f["name"]],
                        seller,
                        f["name"],
                        f["category"],
                        "",
                        "",
                        "",
                        "[]",
                        stamp,
                        stamp,
                        1,
                    )
                )
                events.append(
                    ("ProductCreated", json.dumps({"product_id": products[f["name"]]}), stamp)
                )
            sku_id = uuid.uuid4().hex
            sku_rows.append(
                (
                    sku_id,
                    products[f["name"]],
                    f["spec"],
                    Money.parse(f["price"]).fen,
                    int(f["stock"]),
                    True,
                    stamp,
                    stamp,
                    1,
                )
            )
            listing_rows.append((sku_id, community, stamp))
            events.append(("SkuAdded", json.dumps({"sku_id": sku_id}), stamp))
            events.append(("SkuListed", json.dumps({"sku_id": sku_id}), stamp))
        cur = self.conn.cursor()
        self.begin()
        cur.executemany(
            self.sql(
                "INSERT INTO products (id, seller_id, name, category, brand, origin, description, "
                "media, created_at, updated_at, version) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            ),
            product_rows,
        )
        cur.executemany(
            self.sql(
                "INSERT INTO skus (id, product_id, spec, price_fen, stock, on_sale, created_at, "
                "updated_at, version) VALUES (?,?,?,?,?,?,?,?,?)"
            ),
            sku_rows,
        )
        cur.executemany(
            self.sql("INSERT INTO sku_listings (sku_id, community_id, listed_at) VALUES (?,?,?)"),
            listing_rows,
        )
        cur.executemany(
            self.sql("INSERT INTO outbox (name, payload, occurred_at) VALUES (?,?,?)"), events
        )
        self.conn.execute("COMMIT")

    def browse(self, community: str, min_price: int) -> list[Any]:
        cur = self.conn.cursor()
        self.begin()
        cur.execute(
            self.sql(
                "SELECT p.*, m.price FROM products p JOIN ("
                " SELECT s.product_id, MIN(s.price_fen) AS price FROM skus s"
                " WHERE s.stock > 0 AND s.on_sale = ? AND s.price_fen >= ? AND EXISTS ("
                "  SELECT 1 FROM sku_listings l WHERE l.sku_id = s.id AND l.community_id = ?)"
                " GROUP BY s.product_id) m ON m.product_id = p.id"
                " ORDER BY m.price, p.id LIMIT 21"
            ),
            (True, min_price, community),
        )
        products = cur.fetchall()
        ids = [p[0] for p in products[:20]]
        marks = ",".join([self.mark] * len(ids))
        skus = []
        if ids:
            cur.execute(
                f"SELECT * FROM skus WHERE product_id IN ({marks}) ORDER BY created_at, id",
                ids,
            )
            skus = cur.fetchall()
            sku_ids = [s[0] for s in skus]
            cur.execute(
                f"SELECT * FROM sku_listings WHERE sku_id IN "
                f"({','.join([self.mark] * len(sku_ids))})",
                sku_ids,
            )
            cur.fetchall()
        self.conn.execute("COMMIT")
        return products + skus

    def restock(self, sku_id: str) -> None:
        now = dt.datetime.now(dt.UTC)
        stamp = now.replace(tzinfo=None) if self.sqlite else now
        cur = self.conn.cursor()
        self.begin()
        lock = "" if self.sqlite else " FOR UPDATE"
        cur.execute(self.sql(f"SELECT stock, version FROM skus WHERE id = ?{lock}"), (sku_id,))
        stock, version = cur.fetchone()
        cur.execute(
            self.sql(
                "UPDATE skus SET stock = ?, version = ?, updated_at = ? "
                "WHERE id = ? AND version = ?"
            ),
            (stock + 1, version + 1, stamp, sku_id, version),
        )
        cur.execute(
            self.sql("INSERT INTO outbox (name, payload, occurred_at) VALUES (?,?,?)"),
            ("StockAdjusted", json.dumps({"sku_id": sku_id, "delta": 1}), stamp),
        )
        self.conn.execute("COMMIT")

    def sku_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM skus").fetchall()]


def run(name: str, lib_url: str, raw_url: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(7)
    catalog_rows = rows(args.products, args.skus, rng)
    app = bootstrap(Settings(storage="sql", database_url=lib_url))
    raw_app = bootstrap(Settings(storage="sql", database_url=raw_url))
    for wired in (app, raw_app):
        wired.get(SchemaMigrations).upgrade()
    setups = []
    for wired in (app, raw_app):
        community = wired.get(CreateCommunityHandler)(
            CreateCommunity(name="阳光花园"), actor=CONSOLE
        )
        seller = wired.get(CreateSellerHandler)(
            CreateSeller(name="优选", kind=SellerKind.PLATFORM), actor=CONSOLE
        )
        setups.append((community.id, seller.id))
    (community, seller), (raw_community, raw_seller) = setups

    start = time.perf_counter()
    app.get(ImportCatalogHandler)(
        ImportCatalog(seller_id=seller, rows=catalog_rows, community_ids=(community,)),
        actor=CONSOLE,
    )
    lib_import = time.perf_counter() - start
    raw = Raw(raw_url)
    start = time.perf_counter()
    raw.load(catalog_rows, raw_seller, raw_community)
    raw_import = time.perf_counter() - start

    prices = [rng.randint(0, 15000) for _ in range(args.reads)]
    price_iter, raw_price_iter = iter(prices), iter(prices)

    def lib_browse() -> None:
        app.get(BrowseProductsHandler)(
            BrowseProducts(
                filter=ProductFilter(
                    community_id=community,
                    in_stock=True,
                    on_sale=True,
                    min_price=Money(next(price_iter)),
                ),
                sort=ProductSort.PRICE,
                limit=20,
            ),
            actor=CONSOLE,
        )

    def raw_browse() -> None:
        raw.browse(raw_community, next(raw_price_iter))

    browse_lib, browse_raw = [], []
    for _ in range(args.reads):  # alternate, so both see the same machine state
        browse_lib += timed(lib_browse, 1)
        browse_raw += timed(raw_browse, 1)

    with app.get(UnitOfWork) as uow:
        every_product = [h.product.id for h in uow.products.search(ProductQuery(limit=10**6))]
        lib_skus = [s.id for skus in uow.skus.for_products(every_product).values() for s in skus]
    raw_skus = raw.sku_ids()
    picks = [rng.randrange(len(lib_skus)) for _ in range(args.writes)]
    lib_pick, raw_pick = iter(picks), iter(picks)

    def lib_restock() -> None:
        app.get(AdjustStockHandler)(
            AdjustStock(lib_skus[next(lib_pick)], 1, StockReason.RESTOCK), actor=CONSOLE
        )

    def raw_restock() -> None:
        raw.restock(raw_skus[next(raw_pick)])

    restock_lib, restock_raw = [], []
    for _ in range(args.writes):
        restock_lib += timed(lib_restock, 1)
        restock_raw += timed(raw_restock, 1)

    total = len(catalog_rows)
    return {
        "database": name,
        "import_rows_per_s": {"library": total / lib_import, "raw": total / raw_import},
        "browse_ms": {"library": percentiles(browse_lib), "raw": percentiles(browse_raw)},
        "restock_ms": {"library": percentiles(restock_lib), "raw": percentiles(restock_raw)},
    }


def show(result: dict[str, Any]) -> None:
    imp = result["import_rows_per_s"]
    print(f"\n== {result['database']}")
    print(
        f"import   {imp['library']:9.0f} SKUs/s library   {imp['raw']:9.0f} SKUs/s raw   "
        f"library/raw {imp['library'] / imp['raw']:.2f}"
    )
    for key, label in (("browse_ms", "browse "), ("restock_ms", "restock")):
        lib, raw = result[key]["library"], result[key]["raw"]
        print(
            f"{label}  library p50 {lib['p50']:6.2f} ms  p95 {lib['p95']:6.2f}  "
            f"p99 {lib['p99']:6.2f}   raw p50 {raw['p50']:6.2f} ms  p95 {raw['p95']:6.2f}  "
            f"p99 {raw['p99']:6.2f}   added p50 {lib['p50'] - raw['p50']:+.2f} ms  "
            f"ratio {lib['p50'] / raw['p50']:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--skus", type=int, default=5, help="SKUs per product")
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--postgres", help="PostgreSQL URL; each run uses fresh schemas")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = []
    with sqlite_databases() as (lib, raw):
        results.append(run("SQLite (file, WAL)", lib, raw, args))
    if args.postgres:
        with postgres_databases(args.postgres) as (lib, raw):
            results.append(run("PostgreSQL", lib, raw, args))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"catalog of {args.products} products x {args.skus} SKUs; {args.reads} browses, "
            f"{args.writes} restocks, alternating library and raw"
        )
        for result in results:
            show(result)


if __name__ == "__main__":
    main()
