"""Payment notifications: ConfirmPaymentHandler against hand-written SQL, in the same run.

For each database it builds two identical databases with the library (the catalog and
residents of ``place_orders.py``, then --notifications orders, each with a sandbox payment
started), and has the sandbox pay every one of them. Then it delivers the notifications:

- **first delivery**: on one database through ``ConfirmPaymentHandler`` (HMAC check, lock
  the payment, append its `charged` line, lock the order, mark it paid, three outbox
  events, one transaction); on the other with the same work written by hand against the
  bare driver (sqlite3 / psycopg), on the library's schema;
- **repeat**: every notification again, as providers repeat them: both sides verify it,
  find the report applied and change nothing.

A gate checks that each side wrote exactly one OrderPaid per payment.

    python bench/notifications.py                                  # SQLite only
    python bench/notifications.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import place_orders
from databases import postgres_databases, sqlite_databases

from shequ import (
    ConfirmPayment,
    ConfirmPaymentHandler,
    OrderItem,
    PaymentProviders,
    PlaceOrder,
    PlaceOrderHandler,
    Settings,
    SkuId,
    StartPayment,
    StartPaymentHandler,
    UnitOfWork,
)
from shequ.application.policy import CONSOLE

SECRET = "bench-sandbox-secret"  # noqa: S105 -- a benchmark's throwaway sandbox key
Notice = tuple[bytes, dict[str, str]]


def settings(url: str, keys: Path) -> Settings:
    return Settings(
        storage="sql",
        database_url=url,
        key_file=str(keys),
        password_profile="cheap",  # noqa: S106 -- argon2 cost, not a password
        sandbox_secret=SECRET,  # type: ignore[arg-type]
    )


place_orders.settings = settings  # both worlds sign with a key the raw side knows


def paid_notices(world: place_orders.World, count: int) -> list[Notice]:
    """``count`` orders, each with a sandbox payment the payer has just paid."""
    place, start = world.app.get(PlaceOrderHandler), world.app.get(StartPaymentHandler)
    sandbox = world.app.get(PaymentProviders).get("sandbox")
    notices = []
    for n in range(count):
        resident = world.residents[n % len(world.residents)]
        assert resident.account_id is not None
        order = place(
            PlaceOrder(
                resident_id=resident.account_id,
                community_id=world.community,  # type: ignore[arg-type]
                delivery=place_orders.PICKUP,
                idempotency_key=f"pay-{n}",
                items=(OrderItem(SkuId(world.sku_ids[n % len(world.sku_ids)]), 1),),
            ),
            actor=resident,
        )
        intent = start(StartPayment(order.id), actor=CONSOLE)
        notices.append(sandbox.pay(intent.payment_id))  # type: ignore[attr-defined]
    return notices


class Raw(place_orders.Raw):
    """The same notification handling, by hand."""

    def confirm(self, body: bytes, headers: dict[str, str]) -> str:
        stamp, signature = headers["x-sandbox-timestamp"], headers["x-sandbox-signature"]
        wanted = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        if not hmac.compare_digest(signature.encode(), wanted.hexdigest().encode()):
            raise ValueError("bad signature")
        if abs(time.time() - int(stamp)) > 300:
            raise ValueError("stale")
        data = json.loads(body)
        now = dt.datetime.now(dt.UTC)
        stamp_db: Any = now.replace(tzinfo=None).isoformat(" ") if self.sqlite else now
        lock = "" if self.sqlite else " FOR UPDATE"
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        try:
            cur.execute(
                self.sql(f"SELECT order_id, amount_fen, version FROM payments WHERE id = ?{lock}"),
                (data["payment_id"],),
            )
            order_id, amount, version = cur.fetchone()
            cur.execute(
                self.sql(
                    "SELECT 1 FROM payment_entries WHERE payment_id = ? AND kind = 'charged' "
                    "AND key = ?"
                ),
                (data["payment_id"], data["provider_ref"]),
            )
            if cur.fetchone() is not None:
                cur.execute("COMMIT")
                return "already_applied"
            if data["amount_fen"] != amount:
                raise ValueError("amount differs")
            cur.execute(
                self.sql(f"SELECT status, history, version FROM orders WHERE id = ?{lock}"),
                (order_id,),
            )
            status, history, order_version = cur.fetchone()
            assert status == "pending_payment"
            timeline = json.loads(history) if isinstance(history, str) else history
            timeline.append({"at": now.isoformat(), "status": "paid", "note": ""})
            cur.execute(
                self.sql(
                    "INSERT INTO payment_entries (payment_id, kind, key, amount_fen, at, "
                    "recorded_at, note) VALUES (?, 'charged', ?, ?, ?, ?, '')"
                ),
                (data["payment_id"], data["provider_ref"], amount, stamp_db, stamp_db),
            )
            cur.execute(
                self.sql(
                    "UPDATE payments SET status = 'paid', charged_fen = ?, provider_ref = ?, "
                    "paid_at = ?, version = ? WHERE id = ? AND version = ?"
                ),
                (amount, data["provider_ref"], stamp_db, version + 1, data["payment_id"], version),
            )
            cur.execute(
                self.sql(
                    "UPDATE orders SET status = 'paid', paid_at = ?, payment_ref = ?, "
                    "history = ?, version = ? WHERE id = ? AND version = ?"
                ),
                (
                    stamp_db,
                    data["payment_id"],
                    json.dumps(timeline),
                    order_version + 1,
                    order_id,
                    order_version,
                ),
            )
            events = [
                ("PaymentCharged", {"payment_id": data["payment_id"], "amount": amount}),
                ("OrderPaid", {"order_id": order_id, "amount": amount}),
                ("OrderStatusChanged", {"order_id": order_id, "status": "paid"}),
            ]
            cur.executemany(
                self.sql("INSERT INTO outbox (name, payload, occurred_at) VALUES (?, ?, ?)"),
                [(name, json.dumps(payload), stamp_db) for name, payload in events],
            )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return "paid"


def timed(calls: list[Any]) -> list[float]:
    took = []
    for call in calls:
        began = time.perf_counter()
        call()
        took.append((time.perf_counter() - began) * 1000)
    return took


def figures(took: list[float]) -> dict[str, float]:
    q = statistics.quantiles(took, n=100)
    return {
        "per_s": len(took) / (sum(took) / 1000),
        "p50": statistics.median(took),
        "p95": q[94],
        "p99": q[98],
    }


def order_paid_events(world: place_orders.World) -> int:
    with world.app.get(UnitOfWork) as uow:
        return sum(1 for m in uow.outbox.pending(1_000_000) if m.name == "OrderPaid")


def bench(name: str, lib_url: str, raw_url: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as keys:
        lib = place_orders.World(lib_url, Path(keys) / "lib.keys", args.skus, args.residents)
        raw_world = place_orders.World(raw_url, Path(keys) / "raw.keys", args.skus, 5)
        lib_notices = paid_notices(lib, args.notifications)
        raw_notices = paid_notices(raw_world, args.notifications)
        confirm = lib.app.get(ConfirmPaymentHandler)
        raw = Raw(raw_url.replace("postgresql://", "postgresql://", 1))

        def lib_call(notice: Notice) -> Any:
            return lambda: confirm(ConfirmPayment("sandbox", *notice))

        def raw_call(notice: Notice) -> Any:
            return lambda: raw.confirm(*notice)

        result: dict[str, Any] = {"database": name, "notifications": args.notifications}
        for label in ("first", "repeat"):
            result[label] = {
                "library": figures(timed([lib_call(n) for n in lib_notices])),
                "raw": figures(timed([raw_call(n) for n in raw_notices])),
            }
        paid = (order_paid_events(lib), order_paid_events(raw_world))
        result["gate"] = "pass" if paid == (args.notifications, args.notifications) else "FAIL"
        result["order_paid_events"] = {"library": paid[0], "raw": paid[1]}
        raw.close()
    return result


def show(r: dict[str, Any]) -> None:
    print(f"\n{r['database']}: {r['notifications']} notifications, gate {r['gate']}")
    for label in ("first", "repeat"):
        lib, raw = r[label]["library"], r[label]["raw"]
        print(
            f"  {label:6}  library {lib['per_s']:7.0f}/s  p50 {lib['p50']:6.2f}  "
            f"p95 {lib['p95']:6.2f}  p99 {lib['p99']:6.2f} ms   |   raw {raw['per_s']:7.0f}/s  "
            f"p50 {raw['p50']:6.2f}  p95 {raw['p95']:6.2f}  p99 {raw['p99']:6.2f} ms   |   "
            f"library/raw {lib['per_s'] / raw['per_s']:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL; without it only SQLite runs")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--residents", type=int, default=5)
    parser.add_argument("--notifications", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    if not args.skip_sqlite:
        with sqlite_databases() as (lib, raw):
            results.append(bench("SQLite", lib, raw, args))
    if args.postgres:
        with postgres_databases(args.postgres) as (lib, raw):
            results.append(bench("PostgreSQL", lib, raw, args))
    if args.json:
        print(json.dumps(results, indent=2))
    for r in results:
        show(r)
    if any(r["gate"] != "pass" for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
