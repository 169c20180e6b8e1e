"""Pickup-code verification (核销): VerifyPickupCodeHandler against hand-written SQL, in the
same run.

For each database it builds two identical databases with the library (``group_joins.World``:
schema, a community, one pickup point made by ``CreatePickupPointHandler``, open all day
every day for 100,000 parcels a day, a rice SKU with 1,000,000 in stock, --residents
residents), then --orders orders for pickup there (and --warm-up more), each placed through
``PlaceOrderHandler``, paid as recorded (``pay_as_recorded``: a sandbox payment, no provider
asked), packed through ``AdvanceOrderHandler`` and arrived at the point --batch at a time
through ``ArriveAtPickupPointHandler``, which issues the 6-digit codes. Then it verifies
codes one at a time, the two sides alternating, each call timed:

- on one database through ``VerifyPickupCodeHandler``, resolved from the container for every
  call as a request gets it (the timing includes that), acting as the console: in one
  transaction the point, the throttle row ``pickup:<point>`` (made on first use, refused
  while locked), the waiting ticket with that code (``FOR UPDATE`` on PostgreSQL), the ticket
  collected, the order locked and picked up (its history appended, its version bumped), and
  ``OrderStatusChanged`` and ``OrderPickedUp`` in the outbox;
- on the other with the same transaction written by hand against the bare driver (sqlite3
  / psycopg), on the library's schema: ``BEGIN IMMEDIATE`` on SQLite; the point's name and
  status; the throttle's row (inserted when there is none, updated only when it changes,
  guarded by its version); the ticket ``FOR UPDATE`` on PostgreSQL; the order's status,
  history and version ``FOR UPDATE``; ``UPDATE`` of the ticket and of the order's status,
  history and version, each guarded by its version; the two outbox rows with the library's
  payloads. The library also reads the order's lines with the order and writes back every
  column of the order and its lines; the raw side writes only what changes.

Two runs, after a warm-up of --warm-up right codes and 4 wrong ones a side (not counted):

- **wrong codes**: --wrong 6-digit codes that name no waiting ticket, verified while every
  ticket still waits. Both sides raise ``PickupCodeInvalid`` and count the failure against
  the point in the same transaction. The throttle locks a point after 5 failures within 15
  minutes, and a locked point is refused before the ticket is looked for, which is cheaper
  and not what a wrong code costs; so each side's clock (the library's is bound through the
  container, the raw side reads its own) is moved on by 16 minutes before every fifth
  failure in a row. Each wrong code then finds the point unlocked in a window of fewer than
  5 failures and does the whole work: the point, the throttle, the ticket lookup, the
  failure written and committed. The moved clock changes nothing else: the right codes,
  verified after, are stamped some hours ahead (25 moves of 16 minutes for 100 codes).
- **right codes**: every waiting ticket's code, in random order: verifications/s (one over
  the mean) and latency p50/p95/p99.

A gate checks each side afterwards: every ticket collected exactly once (status collected,
version 2, one ``OrderPickedUp`` event naming it), every order picked up with one
``picked_up`` entry in its history, every wrong code refused as invalid and none
rate-limited, the point not locked. It prints pass or FAIL and exits 1 on a FAIL.

    python bench/pickup_codes.py                                  # SQLite only
    python bench/pickup_codes.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import logging
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import group_joins
from databases import postgres_databases, sqlite_databases
from group_joins import POINT, BenchClock, say, unjson, when

from shequ import (
    AdvanceOrder,
    AdvanceOrderHandler,
    OrderItem,
    PlaceOrder,
    PlaceOrderHandler,
    UnitOfWork,
)
from shequ.application.fulfilment.pickup import (
    ArriveAtPickupPoint,
    ArriveAtPickupPointHandler,
    VerifyPickupCode,
    VerifyPickupCodeHandler,
)
from shequ.application.ordering.demo import pay_as_recorded
from shequ.application.policy import CONSOLE
from shequ.domain.auth import LOCKOUT, MAX_FAILURES, WINDOW
from shequ.domain.errors import (
    ConcurrentUpdate,
    PickupCodeInvalid,
    PickupPointNotFound,
    RateLimited,
)
from shequ.domain.fulfilment import CODE_DIGITS
from shequ.domain.ids import OrderId, PickupPointId
from shequ.domain.ordering import Delivery, Fulfilment, OrderAction

PICKUP = Delivery(Fulfilment.PICKUP, pickup_point_id=POINT)
NEW_WINDOW = WINDOW + dt.timedelta(minutes=1)


# ------------------------------------------------------------------ the orders


def waiting_codes(world: group_joins.World, count: int, batch: int) -> list[str]:
    """``count`` orders waiting at the point, made through the use cases: their codes."""
    order_ids: list[OrderId] = []
    for n in range(count):
        resident = world.residents[n % len(world.residents)]
        assert resident.account_id is not None
        order = world.app.get(PlaceOrderHandler)(
            PlaceOrder(
                resident_id=resident.account_id,
                community_id=world.community,  # type: ignore[arg-type]
                delivery=PICKUP,
                idempotency_key=uuid.uuid4().hex,
                items=(OrderItem(world.sku, 1),),
            ),
            actor=resident,
        )
        pay_as_recorded(world.app.get(UnitOfWork), world.clock.now(), order.id)
        world.app.get(AdvanceOrderHandler)(AdvanceOrder(order.id, OrderAction.PACK), actor=CONSOLE)
        order_ids.append(order.id)
    codes = []
    for start in range(0, count, batch):
        tickets = world.app.get(ArriveAtPickupPointHandler)(
            ArriveAtPickupPoint(PickupPointId(POINT), tuple(order_ids[start : start + batch])),
            actor=CONSOLE,
        )
        codes += [t.code for t in tickets]
    return codes


def wrong_codes(rng: random.Random, taken: list[str], count: int) -> list[str]:
    """``count`` different well-formed codes that name none of the waiting tickets."""
    codes: list[str] = []
    while len(codes) < count:
        code = f"{rng.randrange(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if code not in taken and code not in codes:
            codes.append(code)
    return codes


# ------------------------------------------------------------------ the raw twin


class Raw(group_joins.Raw):
    """The same verification, by hand, on the library's schema, reading ``clock``."""

    def __init__(self, url: str, clock: BenchClock) -> None:
        super().__init__(url)
        self.clock = clock

    def verify(self, point_id: str, code: str) -> str:
        """The order handed over for ``code``. A wrong code raises ``PickupCodeInvalid``
        after its failure is committed, a locked point ``RateLimited``, as the library."""
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        try:
            order_id = self._hand_over(cur, point_id, code.strip(), self.clock.now())
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        if order_id is None:  # the failure counts even though the call fails
            raise PickupCodeInvalid("the code is wrong, used, or for another point")
        return order_id

    def _hand_over(self, cur: Any, point_id: str, code: str, now: dt.datetime) -> str | None:
        lock, key = self.lock(), f"pickup:{point_id}"
        cur.execute(self.sql("SELECT name, status FROM pickup_points WHERE id = ?"), (point_id,))
        point = cur.fetchone()
        if point is None:
            raise PickupPointNotFound(f"no pickup point with id {point_id!r}", id=point_id)
        cur.execute(
            self.sql(
                "SELECT window_started_at, failures, locked_until, version FROM throttles "
                "WHERE id = ?"
            ),
            (key,),
        )
        row = cur.fetchone()
        new = row is None
        started, failures, locked, loaded = (now, 0, None, 1) if new else row
        started, locked = when(started), None if locked is None else when(locked)
        if locked is not None and now < locked:
            wait = int((locked - now).total_seconds()) + 1
            raise RateLimited(
                f"too many failed attempts; try again in {wait} seconds", retry_after=wait
            )
        ticket = None
        if len(code) == CODE_DIGITS and code.isdigit():
            cur.execute(
                self.sql(
                    "SELECT id, version FROM pickup_tickets WHERE pickup_point_id = ? "
                    f"AND code = ? AND status = 'waiting'{lock}"
                ),
                (point_id, code),
            )
            ticket = cur.fetchone()
        if ticket is None:
            if now - started > WINDOW:
                started, failures = now, 0
            failures += 1
            if failures >= MAX_FAILURES:
                locked, failures, started = now + LOCKOUT, 0, now
            self._keep_throttle(cur, key, new, (started, failures, locked), loaded, loaded + 1)
            return None
        order_id, ticket_version = ticket
        cur.execute(
            self.sql(f"SELECT status, history, version FROM orders WHERE id = ?{lock}"),
            (order_id,),
        )
        status, history, order_version = cur.fetchone()
        assert status == "ready_for_pickup", status
        timeline = unjson(history)
        timeline.append(
            {"at": now.isoformat(), "status": "picked_up", "note": f"handed over at {point[0]}"}
        )
        version = loaded + 1 if failures or locked else loaded  # a success clears the failures
        self._keep_throttle(cur, key, new, (started, 0, None), loaded, version)
        stamp = self.stamp(now)
        self._guarded(
            cur,
            "UPDATE pickup_tickets SET status = 'collected', closed_at = ?, version = ? "
            "WHERE id = ? AND version = ?",
            (stamp, ticket_version + 1, order_id, ticket_version),
        )
        self._guarded(
            cur,
            "UPDATE orders SET status = 'picked_up', history = ?, version = ? "
            "WHERE id = ? AND version = ?",
            (json.dumps(timeline), order_version + 1, order_id, order_version),
        )
        at = now.isoformat()
        events = [
            (
                "OrderStatusChanged",
                {
                    "occurred_at": at,
                    "order_id": order_id,
                    "old_status": "ready_for_pickup",
                    "new_status": "picked_up",
                    "action": "pick_up",
                },
            ),
            (
                "OrderPickedUp",
                {
                    "occurred_at": at,
                    "order_id": order_id,
                    "pickup_point_id": point_id,
                    "handed_over_by": None,
                },
            ),
        ]
        cur.executemany(
            self.sql("INSERT INTO outbox (name, payload, occurred_at) VALUES (?, ?, ?)"),
            [(name, json.dumps(payload), stamp) for name, payload in events],
        )
        return str(order_id)

    def _keep_throttle(
        self,
        cur: Any,
        key: str,
        new: bool,
        state: tuple[dt.datetime, int, dt.datetime | None],
        loaded: int,
        version: int,
    ) -> None:
        """Insert the point's throttle, or update it when it changed (``version`` moved)."""
        started, failures, locked = self.stamp(state[0]), state[1], state[2]
        until = None if locked is None else self.stamp(locked)
        if new:
            cur.execute(
                self.sql(
                    "INSERT INTO throttles (id, window_started_at, failures, locked_until, "
                    "version) VALUES (?, ?, ?, ?, ?)"
                ),
                (key, started, failures, until, version),
            )
        elif version != loaded:
            self._guarded(
                cur,
                "UPDATE throttles SET window_started_at = ?, failures = ?, locked_until = ?, "
                "version = ? WHERE id = ? AND version = ?",
                (started, failures, until, version, key, loaded),
            )

    def _guarded(self, cur: Any, text: str, params: tuple[Any, ...]) -> None:
        cur.execute(self.sql(text), params)
        if cur.rowcount != 1:
            raise ConcurrentUpdate("changed by someone else first; try again")


# ------------------------------------------------------------------ runs


class Desk:
    """One side's counter at the pickup point: ``verify`` takes a code; ``clock`` is what
    that side reads, moved on before a wrong code that would lock the point."""

    def __init__(self, verify: Callable[[str], Any], clock: BenchClock) -> None:
        self.verify, self.clock = verify, clock
        self.failures = 0  # in the point's current window, since its last success
        self.refused = {"invalid": 0, "rate_limited": 0}

    def right(self, code: str) -> float:
        began = time.perf_counter()
        self.verify(code)
        took = time.perf_counter() - began
        self.failures = 0
        return took * 1000

    def wrong(self, code: str) -> float:
        if self.failures == MAX_FAILURES - 1:  # the next failure would lock: a new window
            self.clock.shift += NEW_WINDOW
            self.failures = 0
        began = time.perf_counter()
        try:
            self.verify(code)
        except PickupCodeInvalid:
            self.refused["invalid"] += 1
        except RateLimited:
            self.refused["rate_limited"] += 1
        else:
            raise AssertionError(f"the wrong code {code} handed an order over")
        took = time.perf_counter() - began
        self.failures += 1
        return took * 1000


def figures(took: list[float]) -> dict[str, float]:
    q = statistics.quantiles(took, n=100)
    return {
        "count": len(took),
        "per_s": len(took) / (sum(took) / 1000),
        "mean": statistics.fmean(took),
        "p50": statistics.median(took),
        "p95": q[94],
        "p99": q[98],
    }


def handed_over(url: str, tickets: int, desk: Desk, wrong: int) -> dict[str, Any]:
    """The gate's reading of one database, through the bare driver."""
    raw = Raw(url, BenchClock())
    rows = raw.rows("SELECT id, status, version FROM pickup_tickets")
    orders = raw.rows("SELECT id, status, history FROM orders")
    events = Counter(
        unjson(r["payload"])["order_id"]
        for r in raw.rows("SELECT payload FROM outbox WHERE name = 'OrderPickedUp'")
    )
    throttle = raw.rows(
        "SELECT failures, locked_until FROM throttles WHERE id = ?", (f"pickup:{POINT}",)
    )
    raw.close()
    ids = {r["id"] for r in rows}
    collected = sum(1 for r in rows if r["status"] == "collected" and r["version"] == 2)
    picked_up = sum(
        1
        for o in orders
        if o["status"] == "picked_up"
        and sum(1 for c in unjson(o["history"]) if c["status"] == "picked_up") == 1
    )
    once = sum(1 for order_id in ids if events[order_id] == 1)
    state = {
        "tickets": len(rows),
        "collected": collected,
        "orders": len(orders),
        "picked_up": picked_up,
        "picked_up_events": sum(events.values()),
        "events_once": once,
        "wrong_refused": desk.refused["invalid"],
        "rate_limited": desk.refused["rate_limited"],
        "point_locked": bool(throttle and throttle[0]["locked_until"] is not None),
    }
    ok = (
        len(rows) == len(orders) == collected == picked_up == once == tickets
        and sum(events.values()) == tickets
        and set(events) == ids
        and desk.refused == {"invalid": wrong, "rate_limited": 0}
        and not state["point_locked"]
    )
    state["gate"] = "pass" if ok else "FAIL"
    return state


def bench(name: str, lib_url: str, raw_url: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    count = args.orders + args.warm_up
    with tempfile.TemporaryDirectory() as keys:
        say(f"[{name}] seeding two databases ({count} orders waiting at the point each)…")
        worlds = {
            side: group_joins.World(url, Path(keys) / f"{side}.keys", args.residents, BenchClock())
            for side, url in (("lib", lib_url), ("raw", raw_url))
        }
        codes = {side: waiting_codes(w, count, args.batch) for side, w in worlds.items()}
        for side_codes in codes.values():
            rng.shuffle(side_codes)
        wrong = {side: wrong_codes(rng, codes[side], args.wrong + 4) for side in worlds}
        raw = Raw(raw_url, worlds["raw"].clock)
        point, lib_app = PickupPointId(POINT), worlds["lib"].app

        def lib_verify(code: str) -> Any:
            handler = lib_app.get(VerifyPickupCodeHandler)
            return handler(VerifyPickupCode(point, code), actor=CONSOLE)

        desks = {
            "lib": Desk(lib_verify, worlds["lib"].clock),
            "raw": Desk(lambda code: raw.verify(POINT, code), worlds["raw"].clock),
        }
        say(f"[{name}] verifying…")
        for n in range(args.warm_up):
            for side, desk in desks.items():
                desk.right(codes[side][n])
        for n in range(MAX_FAILURES - 1):
            for side, desk in desks.items():
                desk.wrong(wrong[side][n])
        times: dict[str, dict[str, list[float]]] = {
            run: {side: [] for side in desks} for run in ("wrong", "right")
        }
        for n in range(MAX_FAILURES - 1, len(wrong["lib"])):
            for side, desk in desks.items():
                times["wrong"][side].append(desk.wrong(wrong[side][n]))
        for n in range(args.warm_up, count):
            for side, desk in desks.items():
                times["right"][side].append(desk.right(codes[side][n]))
        raw.close()
        result: dict[str, Any] = {
            "database": name,
            "orders": args.orders,
            "warm_up": args.warm_up,
            "wrong_codes": args.wrong,
            "clock_moved_by_min": worlds["lib"].clock.shift / dt.timedelta(minutes=1),
        }
        for run in ("right", "wrong"):
            result[run] = {side: figures(t) for side, t in times[run].items()}
        result["gate"] = {
            side: handed_over(url, count, desks[side], args.wrong + 4)
            for side, url in (("lib", lib_url), ("raw", raw_url))
        }
    return result


# ------------------------------------------------------------------ report


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine(postgres: str | None) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": None,
        "sqlalchemy": version("sqlalchemy"),
        "psycopg": version("psycopg"),
        "cpus": os.cpu_count(),
    }
    if postgres:
        import psycopg

        with psycopg.connect(postgres) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            facts["postgresql"] = str(row[0]).split()[0] if row else "?"
    return facts


def show_machine(m: dict[str, Any]) -> None:
    print(
        f"Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql'] or '-'}, "
        f"SQLAlchemy {m['sqlalchemy']}, psycopg {m['psycopg']}, {m['cpus']} CPUs"
    )


def gates(r: dict[str, Any]) -> list[str]:
    return [r["gate"][side]["gate"] for side in ("lib", "raw")]


def show(r: dict[str, Any]) -> None:
    print(
        f"\n== {r['database']}: {r['orders']} codes (after {r['warm_up']} warm-up), "
        f"{r['wrong_codes']} wrong codes (clock moved {r['clock_moved_by_min']:.0f} min) =="
    )
    for run in ("right", "wrong"):
        lib, raw = r[run]["lib"], r[run]["raw"]
        print(
            f"{run:5} codes  library {lib['per_s']:7.1f}/s  p50 {lib['p50']:6.2f}  "
            f"p95 {lib['p95']:6.2f}  p99 {lib['p99']:6.2f} ms   |   raw {raw['per_s']:7.1f}/s  "
            f"p50 {raw['p50']:6.2f}  p95 {raw['p95']:6.2f}  p99 {raw['p99']:6.2f} ms   |   "
            f"library/raw {lib['per_s'] / raw['per_s']:.2f}, +{lib['mean'] - raw['mean']:.2f} ms"
        )
    for side in ("lib", "raw"):
        g = r["gate"][side]
        print(
            f"gate {side}: {g['collected']}/{g['tickets']} tickets collected once, "
            f"{g['picked_up']}/{g['orders']} orders picked up, {g['picked_up_events']} "
            f"OrderPickedUp ({g['events_once']} tickets named once), wrong codes refused "
            f"{g['wrong_refused']} (rate-limited {g['rate_limited']}), point locked "
            f"{g['point_locked']}   {g['gate']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL; without it only SQLite runs")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--orders", type=int, default=500, help="codes verified and timed")
    parser.add_argument("--warm-up", type=int, default=20, help="codes verified first, untimed")
    parser.add_argument("--wrong", type=int, default=100, help="wrong codes, timed")
    parser.add_argument("--residents", type=int, default=20)
    parser.add_argument("--batch", type=int, default=50, help="orders per arrival")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.orders < 2 or args.wrong < 2:
        parser.error("--orders and --wrong need 2 or more, for percentiles")
    # no notifier is configured: arrival logs that it told nobody, once per order
    logging.getLogger("shequ.application.fulfilment.pickup").setLevel(logging.ERROR)
    facts = machine(args.postgres)
    results = []
    if not args.skip_sqlite:
        with sqlite_databases() as (lib, raw):
            results.append(bench("SQLite", lib, raw, args))
    if args.postgres:
        with postgres_databases(args.postgres) as (lib, raw):
            results.append(bench("PostgreSQL", lib, raw, args))
    if args.json:
        print(json.dumps({"machine": facts, "results": results}, indent=2))
    show_machine(facts)
    for r in results:
        show(r)
    if any(gate != "pass" for r in results for gate in gates(r)):
        sys.exit(1)


if __name__ == "__main__":
    main()
