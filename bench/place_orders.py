"""Order placement: the checkout use case against hand-written SQL, in the same run.

For each database it builds two identical databases with the library (schema, a community,
a seller, --skus SKUs, --residents residents), then places orders on one through
``PlaceOrderHandler`` and on the other with the same statements written by hand against
the bare driver (sqlite3 / psycopg): the idempotency-key lookup, the SKUs' offers, a
guarded stock decrement per SKU in id order, the order, its lines and its outbox event,
one transaction. Every order has 1 to 3 random SKUs, 1 unit each, picked up at a
pickup point, no coupons.

- concurrency 1: orders one after another; the headline ratio;
- concurrency 4: four threads, spread over all SKUs; raw and library runs alternate
  (--pairs times) and each pair gives a ratio, since on 2 cores the figures fall into two
  groups from run to run;
- concurrency 16: sixteen threads all buying one hot SKU until its stock is gone; a
  pass/fail gate checks that exactly its stock was sold, on both sides.

    python bench/place_orders.py                                  # SQLite only
    python bench/place_orders.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from databases import postgres_databases, sqlite_databases

from shequ import (
    Actor,
    CreateCommunity,
    CreateCommunityHandler,
    CreateSeller,
    CreateSellerHandler,
    Delivery,
    Fulfilment,
    ImportCatalog,
    ImportCatalogHandler,
    ImportRow,
    Membership,
    Money,
    OpenAccount,
    OpenAccountHandler,
    OrderItem,
    PlaceOrder,
    PlaceOrderHandler,
    Role,
    SellerKind,
    Settings,
    UnitOfWork,
    bootstrap,
)
from shequ.application.fulfilment.pickup import CreatePickupPoint, CreatePickupPointHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import SchemaMigrations
from shequ.domain.fulfilment import WEEKDAYS, Hours, OpeningHours, PointKind
from shequ.domain.ids import PickupPointId
from shequ.domain.routing import GeoPoint
from shequ.domain.values import CHINA_STANDARD_TIME
from shequ.errors import InsufficientStock

HOT_STOCK = 200
PICKUP = Delivery(Fulfilment.PICKUP, pickup_point_id="pp-bench")


# ------------------------------------------------------------------ databases


def settings(url: str, keys: Path) -> Settings:
    profile = "cheap"  # argon2 cost: residents are made, not signed in
    return Settings(storage="sql", database_url=url, key_file=str(keys), password_profile=profile)


class World:
    """What a database holds after the seeding: ids to order with."""

    def __init__(self, url: str, keys: Path, skus: int, residents: int) -> None:
        self.app = bootstrap(settings(url, keys))
        self.app.get(SchemaMigrations).upgrade()
        community = self.app.get(CreateCommunityHandler)(
            CreateCommunity(name="基准小区"), actor=CONSOLE
        )
        seller = self.app.get(CreateSellerHandler)(
            CreateSeller(name="基准商家", kind=SellerKind.PLATFORM), actor=CONSOLE
        )
        self.community = community.id
        self.app.get(CreatePickupPointHandler)(
            CreatePickupPoint(
                community_id=community.id,
                name="基准自提点",
                kind=PointKind.CONVENIENCE_STORE,
                address="基准小区1幢",
                location=GeoPoint(30.27, 120.15),
                hours=OpeningHours.build(
                    {day: [Hours(dt.time(0), dt.time(23, 59))] for day in WEEKDAYS}
                ),
                daily_capacity=100_000,
                point_id=PickupPointId("pp-bench"),
            ),
            actor=CONSOLE,
        )
        rows = tuple(
            ImportRow(
                line=i + 2,
                fields={
                    "name": f"商品{i // 5:05d}",
                    "category": "生鲜/水果",
                    "spec": f"规格{i % 5}",
                    "price": Money(100 + (i * 37) % 9900).plain(),
                    "stock": str(HOT_STOCK if i == 0 else 1_000_000),
                    "on_sale": "yes",
                },
            )
            for i in range(skus)
        )
        self.app.get(ImportCatalogHandler)(
            ImportCatalog(rows=rows, seller_id=seller.id, community_ids=(community.id,)),
            actor=CONSOLE,
        )
        with self.app.get(UnitOfWork) as uow:
            products = uow.products.search(_every_product(community.id, skus))
            self.sku_ids = sorted(
                s.id
                for hit in products
                for s in uow.skus.for_products([hit.product.id])[hit.product.id]
            )
        self.hot = next(sku_id for sku_id in self.sku_ids if self._stock(sku_id) == HOT_STOCK)
        self.sku_ids.remove(self.hot)
        self.residents = []
        for n in range(residents):
            account = self.app.get(OpenAccountHandler)(
                OpenAccount(
                    phone=f"1390000{n:04d}",
                    memberships=(Membership(Role.RESIDENT, community.id),),
                ),
                actor=CONSOLE,
            )
            self.residents.append(Actor.of(account))

    def _stock(self, sku_id: str) -> int:
        with self.app.get(UnitOfWork) as uow:
            return uow.skus.get(sku_id).stock  # type: ignore[arg-type]


def _every_product(community: str, skus: int) -> Any:
    from shequ.application.catalog.search import ProductFilter, ProductQuery

    return ProductQuery(filter=ProductFilter(community_id=community), limit=skus)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the raw twin


class Raw:
    """The same checkout, hand-written against the bare driver, on the library's schema."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(
                url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
            )
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)  # BEGIN and COMMIT by hand

    def sql(self, text: str) -> str:
        return text if self.sqlite else text.replace("?", "%s")

    def place(self, resident: str, community: str, sku_ids: list[str], key: str) -> str:
        now = dt.datetime.now(dt.UTC)
        stamp: Any = now.replace(tzinfo=None).isoformat(" ") if self.sqlite else now
        today = now.astimezone(CHINA_STANDARD_TIME).date()
        day: Any = today.isoformat() if self.sqlite else today
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        try:
            cur.execute(
                self.sql("SELECT id FROM orders WHERE resident_id = ? AND idempotency_key = ?"),
                (resident, key),
            )
            if cur.fetchone() is not None:
                raise RuntimeError("key used")
            marks = ", ".join("?" for _ in sku_ids)
            cur.execute(
                self.sql(
                    "SELECT s.id, s.product_id, p.seller_id, p.name, s.spec, p.category, "
                    "s.price_fen, s.stock, s.on_sale, l.community_id FROM skus s "
                    "JOIN products p ON p.id = s.product_id "
                    f"LEFT JOIN sku_listings l ON l.sku_id = s.id WHERE s.id IN ({marks})"
                ),
                sku_ids,
            )
            offers = {row[0]: row for row in cur.fetchall()}
            # the pickup point and its day, as checkout books them: the point's row, the
            # day's row once, then a guarded increment
            cur.execute(
                self.sql(
                    "SELECT community_id, status, hours, daily_capacity FROM pickup_points "
                    "WHERE id = 'pp-bench'"
                )
            )
            capacity = cur.fetchone()[3]
            cur.execute(
                self.sql(
                    "INSERT INTO pickup_point_days (pickup_point_id, day, booked) "
                    "VALUES ('pp-bench', ?, 0) ON CONFLICT DO NOTHING"
                ),
                (day,),
            )
            cur.execute(
                self.sql(
                    "UPDATE pickup_point_days SET booked = booked + 1 WHERE pickup_point_id = "
                    "'pp-bench' AND day = ? AND booked < ?"
                ),
                (day, capacity),
            )
            if cur.rowcount != 1:
                raise RuntimeError("the pickup point is full")
            for sku_id in sorted(sku_ids):
                cur.execute(
                    self.sql("UPDATE skus SET stock = stock - 1 WHERE id = ? AND stock >= 1"),
                    (sku_id,),
                )
                if cur.rowcount != 1:
                    raise InsufficientStock("sold out")
            order_id = uuid.uuid4().hex
            total = sum(offers[s][6] for s in sku_ids)
            history = json.dumps([{"at": now.isoformat(), "status": "pending_payment", "note": ""}])
            cur.execute(
                self.sql(
                    "INSERT INTO orders (id, resident_id, community_id, status, fulfilment, "
                    "pickup_point_id, address_id, express, subtotal_fen, discount_fen, "
                    "delivery_fee_fen, total_fen, refunded_fen, delivery_fee_refunded, "
                    "placed_at, expires_at, paid_at, payment_ref, idempotency_key, "
                    "request_digest, grant_ids, history, pickup_date, awaiting_group, version) "
                    "VALUES (?, ?, ?, 'pending_payment', 'pickup', 'pp-bench', NULL, ?, ?, 0, 0, "
                    "?, 0, ?, ?, ?, NULL, NULL, ?, ?, '[]', ?, ?, ?, 1)"
                ),
                (
                    order_id,
                    resident,
                    community,
                    False,
                    total,
                    total,
                    False,
                    stamp,
                    stamp,
                    key,
                    "0" * 64,
                    history,
                    day,
                    False,
                ),
            )
            cur.executemany(
                self.sql(
                    "INSERT INTO order_lines (order_id, sku_id, product_id, seller_id, name, "
                    "spec, unit_price_fen, quantity, subtotal_fen, discount_fen, payable_fen, "
                    "refunded_quantity, refunded_fen, pending_quantity, pending_fen) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, 1, ?, 0, ?, 0, 0, 0, 0)"
                ),
                [
                    (
                        order_id,
                        s,
                        offers[s][1],
                        offers[s][2],
                        offers[s][3],
                        offers[s][4],
                        offers[s][6],
                        offers[s][6],
                        offers[s][6],
                    )
                    for s in sorted(sku_ids)
                ],
            )
            payload = json.dumps(
                {
                    "order_id": order_id,
                    "resident_id": resident,
                    "total": total,
                    "lines": [{"sku_id": s, "quantity": 1} for s in sorted(sku_ids)],
                }
            )
            cur.execute(
                self.sql("INSERT INTO outbox (name, payload, occurred_at) VALUES (?, ?, ?)"),
                ("OrderPlaced", payload, stamp),
            )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return order_id

    def close(self) -> None:
        self.conn.close()


# ------------------------------------------------------------------ runs


def pick(rng: random.Random, sku_ids: list[str]) -> list[str]:
    return rng.sample(sku_ids, rng.randint(1, 3))


def run_threads(workers: int, work: Callable[[int], None]) -> float:
    start = threading.Barrier(workers + 1)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - began


class Bench:
    def __init__(self, name: str, lib_url: str, raw_url: str, args: argparse.Namespace) -> None:
        folder = Path(tempfile.mkdtemp())
        self.name, self.args = name, args
        print(f"[{name}] seeding two databases ({args.skus} SKUs each)…", file=sys.stderr)
        self.lib = World(lib_url, folder / "lib.keys", args.skus, args.residents)
        self.raw_world = World(raw_url, folder / "raw.keys", args.skus, args.residents)
        self.raw_url = raw_url
        self.rng = random.Random(7)

    def lib_order(self, n: int, skus: list[str], handler: PlaceOrderHandler) -> None:
        actor = self.lib.residents[n % len(self.lib.residents)]
        assert actor.account_id is not None
        handler(
            PlaceOrder(
                resident_id=actor.account_id,
                community_id=self.lib.community,  # type: ignore[arg-type]
                delivery=PICKUP,
                idempotency_key=uuid.uuid4().hex,
                items=tuple(OrderItem(s, 1) for s in skus),  # type: ignore[arg-type]
                grant_ids=(),
            ),
            actor=actor,
        )

    def raw_order(self, raw: Raw, n: int, skus: list[str]) -> None:
        resident = self.raw_world.residents[n % len(self.raw_world.residents)].account_id
        raw.place(str(resident), self.raw_world.community, skus, uuid.uuid4().hex)

    def sequential(self, orders: int) -> dict[str, float]:
        lib_skus = [pick(self.rng, self.lib.sku_ids) for _ in range(orders)]
        raw_skus = [pick(self.rng, self.raw_world.sku_ids) for _ in range(orders)]
        raw = Raw(self.raw_url)
        lib_times, raw_times = [], []
        for n in range(orders):  # alternate, so drift hits both sides alike
            handler = self.lib.app.get(PlaceOrderHandler)
            began = time.perf_counter()
            self.lib_order(n, lib_skus[n], handler)
            lib_times.append(time.perf_counter() - began)
            began = time.perf_counter()
            self.raw_order(raw, n, raw_skus[n])
            raw_times.append(time.perf_counter() - began)
        raw.close()
        return {
            "lib_per_s": orders / sum(lib_times),
            "raw_per_s": orders / sum(raw_times),
            "lib_p50_ms": statistics.median(lib_times) * 1000,
            "raw_p50_ms": statistics.median(raw_times) * 1000,
            "lib_p95_ms": sorted(lib_times)[int(0.95 * orders)] * 1000,
            "raw_p95_ms": sorted(raw_times)[int(0.95 * orders)] * 1000,
            "added_ms": (sum(lib_times) - sum(raw_times)) / orders * 1000,
        }

    def concurrent_pair(self, workers: int, orders: int) -> tuple[float, float]:
        per = orders // workers
        raws = [Raw(self.raw_url) for _ in range(workers)]
        lib_skus = [[pick(self.rng, self.lib.sku_ids) for _ in range(per)] for _ in range(workers)]
        raw_skus = [
            [pick(self.rng, self.raw_world.sku_ids) for _ in range(per)] for _ in range(workers)
        ]

        def raw_work(i: int) -> None:
            for n in range(per):
                self.raw_order(raws[i], i + n * workers, raw_skus[i][n])

        def lib_work(i: int) -> None:
            for n in range(per):
                self.lib_order(i + n * workers, lib_skus[i][n], self.lib.app.get(PlaceOrderHandler))

        raw_rate = per * workers / run_threads(workers, raw_work)
        lib_rate = per * workers / run_threads(workers, lib_work)
        for raw in raws:
            raw.close()
        return lib_rate, raw_rate

    def hot(self, workers: int) -> dict[str, Any]:
        sold = {"lib": 0, "raw": 0}
        lock = threading.Lock()
        raws = [Raw(self.raw_url) for _ in range(workers)]

        def until_gone(side: str, i: int) -> None:
            while True:
                try:
                    if side == "lib":
                        self.lib_order(i, [self.lib.hot], self.lib.app.get(PlaceOrderHandler))
                    else:
                        self.raw_order(raws[i], i, [self.raw_world.hot])
                except InsufficientStock:
                    return
                with lock:
                    sold[side] += 1

        raw_s = run_threads(workers, lambda i: until_gone("raw", i))
        lib_s = run_threads(workers, lambda i: until_gone("lib", i))
        for raw in raws:
            raw.close()
        left = {
            "lib": self.lib._stock(self.lib.hot),
            "raw": self.raw_world._stock(self.raw_world.hot),
        }
        exact = sold == {"lib": HOT_STOCK, "raw": HOT_STOCK} and left == {"lib": 0, "raw": 0}
        return {
            "lib_per_s": HOT_STOCK / lib_s,
            "raw_per_s": HOT_STOCK / raw_s,
            "sold": sold,
            "left": left,
            "gate": "pass" if exact else "FAIL",
        }

    def run(self) -> dict[str, Any]:
        args = self.args
        self.sequential(min(50, args.orders))  # warm up both sides
        result: dict[str, Any] = {"database": self.name}
        result["c1"] = self.sequential(args.orders)
        pairs = [self.concurrent_pair(4, args.orders) for _ in range(args.pairs)]
        ratios = [lib / raw for lib, raw in pairs]
        result["c4"] = {
            "pairs": [{"lib_per_s": lib, "raw_per_s": raw} for lib, raw in pairs],
            "ratios": ratios,
            "median_ratio": statistics.median(ratios),
        }
        result["c16_hot"] = self.hot(16)
        return result


def show(r: dict[str, Any]) -> None:
    c1, c4, hot = r["c1"], r["c4"], r["c16_hot"]
    print(f"\n== {r['database']} ==")
    print(
        f"concurrency 1 : library {c1['lib_per_s']:8.1f} orders/s   raw {c1['raw_per_s']:8.1f}"
        f"   library/raw {c1['lib_per_s'] / c1['raw_per_s']:.2f}   added per order "
        f"{c1['added_ms']:.2f} ms (p50 {c1['lib_p50_ms']:.2f} vs {c1['raw_p50_ms']:.2f} ms,"
        f" p95 {c1['lib_p95_ms']:.2f} vs {c1['raw_p95_ms']:.2f} ms)"
    )
    for n, pair in enumerate(c4["pairs"], 1):
        print(
            f"concurrency 4 : pair {n}: library {pair['lib_per_s']:8.1f} orders/s   raw "
            f"{pair['raw_per_s']:8.1f}   library/raw {pair['lib_per_s'] / pair['raw_per_s']:.2f}"
        )
    print(f"concurrency 4 : median of the pair ratios {c4['median_ratio']:.2f}")
    print(
        f"concurrency 16, one hot SKU of {HOT_STOCK}: library {hot['lib_per_s']:8.1f} orders/s"
        f"   raw {hot['raw_per_s']:8.1f}   sold {hot['sold']} left {hot['left']}"
        f"   gate {hot['gate']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL; without it only SQLite runs")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--residents", type=int, default=20)
    parser.add_argument("--orders", type=int, default=400, help="orders per run")
    parser.add_argument("--pairs", type=int, default=5, help="raw/library pairs at c=4")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    if not args.skip_sqlite:
        with sqlite_databases() as (lib, raw):
            results.append(Bench("SQLite", lib, raw, args).run())
    if args.postgres:
        with postgres_databases(args.postgres) as (lib, raw):
            results.append(Bench("PostgreSQL", lib, raw, args).run())
    if args.json:
        print(json.dumps(results, indent=2))
    for r in results:
        show(r)
    if any(r["c16_hot"]["gate"] != "pass" for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
