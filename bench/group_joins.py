"""Group buying: joins to a hot group and a hot campaign, and settlement, against
hand-written SQL in the same run.

For each database it builds two identical databases with the library (schema, a community,
a rice SKU at ¥49.90, residents; campaigns and groups through ``CreateCampaignHandler`` and
``StartGroupHandler``), then joins groups on one through ``JoinGroupHandler``, resolved from
the container for every join and acting as the resident (lock the campaign, lock the group,
check its seats and the resident's units in the campaign, take the campaign's stock, the
order with its line, the participant row and the outbox events in one transaction; then a
sandbox payment for the order), and on the other with the same statements written by hand
against the bare driver (sqlite3 / psycopg), on the same schema, payment included:

- one thread: 100 joins one after another into a group a side, library and raw
  alternating: what a join costs with nobody to wait for;
- hot group: --threads threads join one group (up to --max-heads people), each join a new
  resident, until --joins joins are done; joins/s and latency p50/p95/p99;
- full group: --threads threads race, with twice as many residents as seats, for the
  seats of a group of --seats people, 1 to 3 units each; a gate checks that exactly
  --seats people are in and that the campaign's stock_taken is their units;
- hot campaign: --campaign-groups groups of one campaign with --campaign-stock units;
  --threads threads join random groups (1 to 3 units, 1 when less is left) until the stock
  is gone; a gate checks that stock_taken == stock == the members' units and that no group
  holds more than its maximum;
- settlement (on two more fresh databases): --groups paid groups of 2 are due (they settle
  at the price everyone paid up front, so nothing is refunded; the leader earns 5 %); the time
  ``SettleGroupsHandler`` takes to settle them all, against a hand-written settlement that
  does the same work batch by batch; a gate checks that every group was settled exactly
  once (statuses, GroupSettled events, commission lines, orders released).

A join that finds the database busy (on SQLite, a lock wait past its 10 s timeout) is sent
again with the same idempotency key, as a client would, on both sides; the figures count
those retries, and how many of them came back after the seat had been committed.

The settlement's groups are built fast: one group is made through the use cases (started,
joined, both seats paid through the sandbox and ``ConfirmPaymentHandler``), and its rows are
copied --groups - 1 times with fresh ids and the values the use cases derive from them
(invite codes, idempotency keys, request digests, payment ids, provider references), the
members drawn from the residents; then the campaign's stock_taken is moved on by the
units copied.

    python bench/group_joins.py                                  # SQLite only
    python bench/group_joins.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import re
import secrets
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

import injector
import place_orders
from databases import postgres_databases, sqlite_databases
from place_orders import run_threads

from shequ import (
    Actor,
    AddSku,
    AddSkuHandler,
    Clock,
    ConfirmPayment,
    ConfirmPaymentHandler,
    CreateCampaign,
    CreateCampaignHandler,
    CreateCommunity,
    CreateCommunityHandler,
    CreateProduct,
    CreateProductHandler,
    CreateSeller,
    CreateSellerHandler,
    GroupBuyCampaign,
    JoinGroup,
    JoinGroupHandler,
    LeaderReward,
    Membership,
    Money,
    OpenAccount,
    OpenAccountHandler,
    OrderId,
    PaymentProviders,
    PriceTier,
    Role,
    SellerKind,
    SettleGroups,
    SettleGroupsHandler,
    StartGroup,
    StartGroupHandler,
    bootstrap,
)
from shequ.application.fulfilment.pickup import CreatePickupPoint, CreatePickupPointHandler
from shequ.application.groupbuy.groups import INVITE_ALPHABET, Seat
from shequ.application.payments.start import payment_id_for
from shequ.application.policy import CONSOLE
from shequ.application.ports import SchemaMigrations
from shequ.domain.errors import (
    CampaignNotRunning,
    ConcurrentUpdate,
    GroupBuyClosed,
    GroupBuyFull,
    GroupBuyLimitExceeded,
    IdempotencyKeyReused,
    IllegalTransition,
    PickupPointUnavailable,
)
from shequ.domain.fulfilment import Hours, OpeningHours, PointKind
from shequ.domain.ids import PickupPointId
from shequ.domain.payments import Channel
from shequ.domain.routing import GeoPoint

LADDER = (
    PriceTier(2, Money.parse("45.00")),
    PriceTier(5, Money.parse("42.00")),
    PriceTier(10, Money.parse("39.00")),
)
POINT = "pp-bench"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = OpeningHours.build({day: [Hours(dt.time(0), dt.time(23, 59))] for day in WEEKDAYS})
JOINABLE = ("open", "succeeded")
PAY_WITHIN = dt.timedelta(minutes=15)  # the library's default (SHEQU_ORDER_PAY_MINUTES)
SERIAL = {"group_buy_participants", "payment_entries", "outbox"}  # numbered by the database
BUSY_TRIES = 5


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Tally:
    """A counter the threads share."""

    def __init__(self, start: int = 0) -> None:
        self.value, self._lock = start, threading.Lock()

    def take(self) -> int:
        with self._lock:
            self.value += 1
            return self.value - 1


def percentile(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def latencies(times: list[float]) -> dict[str, float]:
    return {f"p{q}_ms": percentile(times, q / 100) for q in (50, 95, 99)}


# ------------------------------------------------------------------ the library's side


class BenchClock:
    """The system's clock, moved on by ``shift``: settlement runs past the deadlines."""

    def __init__(self) -> None:
        self.shift = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.shift


class ClockModule(injector.Module):
    def __init__(self, clock: BenchClock) -> None:
        self._clock = clock

    @injector.provider
    def clock(self) -> Clock:
        return self._clock


class World:
    """A database built with the library: a community, a rice SKU, ``residents`` residents."""

    def __init__(self, url: str, keys: Path, residents: int, clock: BenchClock) -> None:
        self.url, self.clock = url, clock
        self.app = bootstrap(place_orders.settings(url, keys), ClockModule(clock))
        self.app.get(SchemaMigrations).upgrade()
        community = self.app.get(CreateCommunityHandler)(
            CreateCommunity(name="基准小区"), actor=CONSOLE
        )
        seller = self.app.get(CreateSellerHandler)(
            CreateSeller(name="基准商家", kind=SellerKind.PLATFORM), actor=CONSOLE
        )
        product = self.app.get(CreateProductHandler)(
            CreateProduct(seller_id=seller.id, name="五常大米", category="粮油/大米"),
            actor=CONSOLE,
        )
        sku = self.app.get(AddSkuHandler)(
            AddSku(
                product_id=product.id,
                spec="5kg/袋",
                price=Money.parse("49.90"),
                stock=1_000_000,
                on_sale=True,
                community_ids=(community.id,),
            ),
            actor=CONSOLE,
        )
        self.app.get(CreatePickupPointHandler)(
            CreatePickupPoint(
                community_id=community.id,
                name="基准自提点",
                kind=PointKind.CONVENIENCE_STORE,
                address="1幢底商",
                location=GeoPoint(30.27, 120.15),
                hours=EVERY_DAY,
                daily_capacity=100_000,
                point_id=PickupPointId(POINT),
            ),
            actor=CONSOLE,
        )
        self.community, self.sku = community.id, sku.id
        self.residents: list[Actor] = []
        for n in range(residents):
            account = self.app.get(OpenAccountHandler)(
                OpenAccount(
                    phone=f"139{n:08d}", memberships=(Membership(Role.RESIDENT, community.id),)
                ),
                actor=CONSOLE,
            )
            self.residents.append(Actor.of(account))

    def campaign(
        self, *, max_heads: int, stock: int, hours: int = 720, limit: int = 3
    ) -> GroupBuyCampaign:
        now = self.clock.now()
        ends = now + dt.timedelta(hours=hours + 24)
        return self.app.get(CreateCampaignHandler)(
            CreateCampaign(
                name="五常大米 阶梯团",
                sku_id=self.sku,
                tiers=tuple(t for t in LADDER if t.min_heads <= max_heads),
                min_heads=2,
                max_heads=max_heads,
                starts_at=now - dt.timedelta(minutes=1),
                ends_at=ends,
                group_hours=hours,
                per_resident_limit=limit,
                stock=stock,
                community_ids=(self.community,),
                reward=LeaderReward.commission(500),
                pickup_date=(ends + dt.timedelta(days=1)).date(),
                many_groups_per_leader=True,
            ),
            actor=CONSOLE,
        )

    def start(self, leader: Actor, campaign: GroupBuyCampaign, quantity: int = 1) -> Seat:
        assert leader.account_id is not None
        return self.app.get(StartGroupHandler)(
            StartGroup(
                campaign_id=campaign.id,
                resident_id=leader.account_id,
                community_id=self.community,  # type: ignore[arg-type]
                pickup_point_id=POINT,
                quantity=quantity,
                idempotency_key=uuid.uuid4().hex,
            ),
            actor=leader,
        )

    def join(self, resident: Actor, group_id: str, quantity: int, key: str = "") -> Seat:
        assert resident.account_id is not None
        return self.app.get(JoinGroupHandler)(
            JoinGroup(
                resident_id=resident.account_id,
                quantity=quantity,
                idempotency_key=key or uuid.uuid4().hex,
                group_id=group_id,  # type: ignore[arg-type]
            ),
            actor=resident,
        )

    def pay(self, seat: Seat) -> None:
        """Pay the seat through the sandbox, as the resident would."""
        assert seat.payment is not None
        sandbox: Any = self.app.get(PaymentProviders).get("sandbox")
        body, headers = sandbox.pay(seat.payment.payment_id)
        self.app.get(ConfirmPaymentHandler)(ConfirmPayment("sandbox", body, headers))


# ------------------------------------------------------------------ the raw twin


def when(value: Any) -> dt.datetime:
    """A stored time: PostgreSQL gives timestamptz, SQLite naive UTC text."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


def unjson(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def join_digest(group_id: str, quantity: int) -> str:
    body = json.dumps({"join": group_id, "quantity": quantity}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


class Raw(place_orders.Raw):
    """Joins and settlement, by hand, on the library's schema."""

    def stamp(self, at: dt.datetime) -> Any:
        if self.sqlite:
            return at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return at

    def lock(self, skip: bool = False) -> str:
        if self.sqlite:
            return ""  # BEGIN IMMEDIATE holds the one write lock
        return " FOR UPDATE SKIP LOCKED" if skip else " FOR UPDATE"

    def rows(self, text: str, params: Any = ()) -> list[dict[str, Any]]:
        cur = self.conn.cursor()
        cur.execute(self.sql(text), params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def join(self, group_id: str, resident: str, quantity: int, key: str) -> str:
        """A seat in the group, then a payment for its order."""
        order_id = self.seat(group_id, resident, quantity, key)
        self.start_payment(order_id, resident, key)
        return order_id

    def seat(self, group_id: str, resident: str, quantity: int, key: str) -> str:
        now = dt.datetime.now(dt.UTC)
        stamp, lock = self.stamp(now), self.lock()
        digest = join_digest(group_id, quantity)
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        try:
            cur.execute(
                self.sql(
                    "SELECT id, request_digest FROM orders "
                    "WHERE resident_id = ? AND idempotency_key = ?"
                ),
                (resident, key),
            )
            placed = cur.fetchone()
            if placed is not None:  # the same request again: its seat holds
                if placed[1] != digest:
                    raise IdempotencyKeyReused("this key was used for another request")
                cur.execute("COMMIT")
                return str(placed[0])
            cur.execute(self.sql("SELECT campaign_id FROM group_buys WHERE id = ?"), (group_id,))
            (campaign_id,) = cur.fetchone()
            cur.execute(
                self.sql(
                    "SELECT sku_id, tiers, min_heads, max_heads, starts_at, ends_at, "
                    "per_resident_limit, community_ids, pickup_date FROM group_buy_campaigns "
                    f"WHERE id = ?{lock}"
                ),
                (campaign_id,),
            )
            sku_id, tiers, min_heads, max_heads, starts, ends, limit, where, day = cur.fetchone()
            cur.execute(
                self.sql(
                    "SELECT community_id, pickup_point_id, status, deadline FROM group_buys "
                    f"WHERE id = ?{lock}"
                ),
                (group_id,),
            )
            community, point, status, deadline = cur.fetchone()
            deadline = when(deadline)
            if community not in unjson(where) or not when(starts) <= now < when(ends):
                raise CampaignNotRunning(f"campaign {campaign_id} is not running")
            if status not in JOINABLE or now >= deadline:
                raise GroupBuyClosed(f"group {group_id} is {status}")
            cur.execute(
                self.sql(
                    "SELECT count(*), coalesce(sum(CASE WHEN resident_id = ? THEN 1 ELSE 0 END), 0)"
                    " FROM group_buy_participants WHERE group_id = ? AND left_at IS NULL"
                ),
                (resident, group_id),
            )
            heads, mine = cur.fetchone()
            if mine:
                raise GroupBuyLimitExceeded(f"you are in group {group_id} already")
            if heads >= max_heads:
                raise GroupBuyFull(f"group {group_id} is full ({max_heads} people)")
            if not 1 <= quantity <= limit:
                raise GroupBuyLimitExceeded(f"a resident buys 1 to {limit} units")
            cur.execute(
                self.sql(
                    "SELECT coalesce(sum(p.quantity), 0) FROM group_buy_participants p "
                    "JOIN group_buys g ON g.id = p.group_id WHERE g.campaign_id = ? "
                    "AND g.status IN ('open', 'succeeded', 'settled') AND p.resident_id = ? "
                    "AND p.left_at IS NULL"
                ),
                (campaign_id, resident),
            )
            (held,) = cur.fetchone()
            if held + quantity > limit:
                raise GroupBuyLimitExceeded(f"a resident buys at most {limit} units")
            cur.execute(
                self.sql("SELECT community_id, status, hours FROM pickup_points WHERE id = ?"),
                (point,),
            )
            where, state, hours = cur.fetchone()
            hours, on = (
                unjson(hours),
                day if isinstance(day, dt.date) else dt.date.fromisoformat(day),
            )
            if where != community or state != "active":
                raise PickupPointUnavailable(f"pickup point {point} takes no orders")
            if not hours["exceptions"].get(on.isoformat(), hours["weekly"][on.weekday()]):
                raise PickupPointUnavailable(f"pickup point {point} is closed on {on}")
            cur.execute(
                self.sql(
                    "UPDATE group_buy_campaigns SET stock_taken = stock_taken + ?, "
                    "version = version + 1 WHERE id = ? AND stock_taken + ? <= stock"
                ),
                (quantity, campaign_id, quantity),
            )
            if cur.rowcount != 1:
                raise GroupBuyLimitExceeded(f"campaign {campaign_id} has too few units left")
            cur.execute(
                self.sql(
                    "SELECT s.product_id, p.seller_id, p.name, s.spec FROM skus s "
                    "JOIN products p ON p.id = s.product_id WHERE s.id = ?"
                ),
                (sku_id,),
            )
            product_id, seller_id, name, spec = cur.fetchone()
            unit = unjson(tiers)[0]["price_fen"]
            total, heads = unit * quantity, heads + 1
            succeeded = status == "open" and heads >= min_heads
            cur.execute(
                self.sql("UPDATE group_buys SET status = ?, version = version + 1 WHERE id = ?"),
                ("succeeded" if succeeded else status, group_id),
            )
            order_id = uuid.uuid4().hex
            cur.execute(
                self.sql(
                    "INSERT INTO group_buy_participants (group_id, resident_id, quantity, "
                    "order_id, unit_price_fen, joined_at, left_at) VALUES (?, ?, ?, ?, ?, ?, NULL)"
                ),
                (group_id, resident, quantity, order_id, unit, stamp),
            )
            history = json.dumps([{"at": now.isoformat(), "status": "pending_payment", "note": ""}])
            cur.execute(
                self.sql(
                    "INSERT INTO orders (id, resident_id, community_id, status, fulfilment, "
                    "pickup_point_id, address_id, express, subtotal_fen, discount_fen, "
                    "delivery_fee_fen, total_fen, refunded_fen, delivery_fee_refunded, "
                    "placed_at, expires_at, paid_at, payment_ref, idempotency_key, "
                    "request_digest, grant_ids, history, pickup_date, group_id, awaiting_group, "
                    "version) VALUES (?, ?, ?, 'pending_payment', 'pickup', ?, NULL, ?, ?, 0, 0, "
                    "?, 0, ?, ?, ?, NULL, NULL, ?, ?, '[]', ?, ?, ?, ?, 1)"
                ),
                (
                    order_id,
                    resident,
                    community,
                    point,
                    False,
                    total,
                    total,
                    False,
                    stamp,
                    self.stamp(min(now + PAY_WITHIN, deadline)),
                    key,
                    digest,
                    history,
                    day,
                    group_id,
                    True,
                ),
            )
            cur.execute(
                self.sql(
                    "INSERT INTO order_lines (order_id, sku_id, product_id, seller_id, name, "
                    "spec, unit_price_fen, quantity, subtotal_fen, discount_fen, payable_fen, "
                    "refunded_quantity, refunded_fen, pending_quantity, pending_fen) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, 0, 0, 0)"
                ),
                (order_id, sku_id, product_id, seller_id, name, spec, unit, quantity, total, total),
            )
            at = now.isoformat()
            events = [
                (
                    "OrderPlaced",
                    {
                        "occurred_at": at,
                        "order_id": order_id,
                        "resident_id": resident,
                        "community_id": community,
                        "total": total,
                        "fulfilment": "pickup",
                        "lines": [{"sku_id": sku_id, "quantity": quantity, "payable": total}],
                    },
                ),
                (
                    "GroupJoined",
                    {
                        "occurred_at": at,
                        "group_id": group_id,
                        "resident_id": resident,
                        "quantity": quantity,
                        "order_id": order_id,
                        "heads": heads,
                    },
                ),
            ]
            if succeeded:
                events.append(
                    ("GroupSucceeded", {"occurred_at": at, "group_id": group_id, "heads": heads})
                )
            cur.executemany(
                self.sql("INSERT INTO outbox (name, payload, occurred_at) VALUES (?, ?, ?)"),
                [(event, json.dumps(payload), stamp) for event, payload in events],
            )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return order_id

    def start_payment(self, order_id: str, resident: str, key: str) -> str:
        """What StartPaymentHandler writes for a sandbox payment (the sandbox itself, an
        in-process dictionary, is not called)."""
        cur = self.conn.cursor()
        cur.execute(
            self.sql("SELECT resident_id, status, total_fen, expires_at FROM orders WHERE id = ?"),
            (order_id,),
        )
        owner, status, total, expires = cur.fetchone()
        now = dt.datetime.now(dt.UTC)
        if owner != resident or status != "pending_payment" or now >= when(expires):
            raise IllegalTransition(f"order {order_id} is {status}")
        seed = f"{order_id}|sandbox|{key}".encode()
        payment_id = "P" + hashlib.sha256(seed).hexdigest()[:31]
        stamp = self.stamp(now)
        cur.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        try:
            cur.execute(self.sql("SELECT 1 FROM payments WHERE id = ?"), (payment_id,))
            if cur.fetchone() is None:
                cur.execute(
                    self.sql(
                        "INSERT INTO payments (id, order_id, provider, channel, amount_fen, "
                        "status, provider_ref, authorised_fen, charged_fen, refunded_fen, "
                        "refund_pending_fen, created_at, paid_at, flag, version) VALUES "
                        "(?, ?, 'sandbox', 'sandbox', ?, 'created', NULL, 0, 0, 0, 0, ?, NULL, "
                        "'', 1)"
                    ),
                    (payment_id, order_id, total, stamp),
                )
                cur.execute(
                    self.sql(
                        'INSERT INTO payment_entries (payment_id, kind, "key", amount_fen, at, '
                        "recorded_at, note) VALUES (?, 'created', ?, ?, ?, ?, '')"
                    ),
                    (payment_id, payment_id, total, stamp, stamp),
                )
                payload = {
                    "occurred_at": now.isoformat(),
                    "payment_id": payment_id,
                    "order_id": order_id,
                    "provider": "sandbox",
                    "channel": "sandbox",
                    "amount": total,
                }
                cur.execute(
                    self.sql("INSERT INTO outbox (name, payload, occurred_at) VALUES (?, ?, ?)"),
                    ("PaymentStarted", json.dumps(payload), stamp),
                )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return payment_id

    def settle(self, now: dt.datetime, batch: int = 100) -> int:
        """Settle the due groups, campaign by campaign and ``batch`` groups a transaction,
        as SettleGroupsHandler does, with set-wise statements. Only what the bench builds
        is written out (paid groups that reach their minimum at a price with nothing to
        refund); anything else stops the run."""
        stamp, at = self.stamp(now), now.isoformat()
        cur = self.conn.cursor()
        cur.execute(
            self.sql(
                "SELECT campaign_id FROM group_buys WHERE status IN ('open', 'succeeded') "
                "AND deadline <= ? GROUP BY campaign_id ORDER BY min(deadline), campaign_id"
            ),
            (stamp,),
        )
        settled = 0
        for (campaign_id,) in cur.fetchall():
            while True:
                cur.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
                try:
                    done = self._settle_batch(cur, campaign_id, stamp, at, batch)
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                if not done:
                    break
                settled += done
        return settled

    def _settle_batch(self, cur: Any, campaign_id: str, stamp: Any, at: str, batch: int) -> int:
        cur.execute(
            self.sql(
                "SELECT tiers, min_heads, reward FROM group_buy_campaigns "
                f"WHERE id = ?{self.lock()}"
            ),
            (campaign_id,),
        )
        tiers, min_heads, reward = cur.fetchone()
        tiers, reward = unjson(tiers), unjson(reward)
        if reward["kind"] != "commission":
            raise NotImplementedError("the bench's campaigns pay their leaders a commission")
        cur.execute(
            self.sql(
                "SELECT id, leader_id, version FROM group_buys WHERE campaign_id = ? "
                "AND status IN ('open', 'succeeded') AND deadline <= ? ORDER BY deadline, id "
                f"LIMIT ?{self.lock(skip=True)}"
            ),
            (campaign_id, stamp, batch),
        )
        groups = cur.fetchall()
        if not groups:
            return 0
        marks = ", ".join("?" for _ in groups)
        cur.execute(
            self.sql(
                "SELECT group_id, quantity, order_id, unit_price_fen FROM group_buy_participants "
                f"WHERE group_id IN ({marks}) AND left_at IS NULL ORDER BY id"
            ),
            [g[0] for g in groups],
        )
        seats: dict[str, list[tuple[int, str, int]]] = {g[0]: [] for g in groups}
        for group_id, quantity, order_id, unit in cur.fetchall():
            seats[group_id].append((quantity, order_id, unit))
        order_ids = [order_id for members in seats.values() for _, order_id, _ in members]
        marks = ", ".join("?" for _ in order_ids)
        cur.execute(
            self.sql(f"SELECT id, status, version FROM orders WHERE id IN ({marks}){self.lock()}"),
            order_ids,
        )
        orders = {order_id: (status, version) for order_id, status, version in cur.fetchall()}
        group_rows, order_rows, commissions, events = [], [], [], []
        for group_id, leader_id, version in groups:
            members = seats[group_id]
            if any(orders[o][0] == "pending_payment" for _, o, _ in members):
                raise NotImplementedError("the bench's groups are paid in full")
            heads = len(members)
            if heads < min_heads:
                raise NotImplementedError("the bench's groups reach their minimum")
            price = [t["price_fen"] for t in tiers if t["min_heads"] <= heads][-1]
            if any(unit != price for _, _, unit in members):
                raise NotImplementedError("the bench's groups settle with nothing to refund")
            revenue = sum(quantity * price for quantity, _, _ in members)
            commission = revenue * reward["bp"] // 10_000
            group_rows.append((stamp, price, group_id, version))
            order_rows += [(False, o, orders[o][1]) for _, o, _ in members]
            settled = {"group_id": group_id, "heads": heads, "unit_price": price, "refunded": 0}
            events.append(("GroupSettled", json.dumps({"occurred_at": at, **settled}), stamp))
            if commission:
                commissions.append((group_id, campaign_id, leader_id, commission, revenue, stamp))
                earned = {
                    "occurred_at": at,
                    "group_id": group_id,
                    "leader_id": leader_id,
                    "amount": commission,
                    "revenue": revenue,
                }
                events.append(("CommissionEarned", json.dumps(earned), stamp))
        cur.executemany(
            self.sql(
                "UPDATE group_buys SET status = 'settled', settled_at = ?, unit_price_fen = ?, "
                "version = version + 1 WHERE id = ? AND version = ?"
            ),
            group_rows,
        )
        cur.executemany(
            self.sql(
                "UPDATE orders SET awaiting_group = ?, version = version + 1 "
                "WHERE id = ? AND version = ?"
            ),
            order_rows,
        )
        cur.executemany(
            self.sql(
                "INSERT INTO leader_commissions (group_id, campaign_id, leader_id, amount_fen, "
                "revenue_fen, earned_at) VALUES (?, ?, ?, ?, ?, ?)"
            ),
            commissions,
        )
        cur.executemany(
            self.sql("INSERT INTO outbox (name, payload, occurred_at) VALUES (?, ?, ?)"), events
        )
        return len(groups)


def campaign_state(url: str, campaign_id: str) -> dict[str, Any]:
    """What a campaign holds, read back with plain SQL: stock, stock taken, each group's
    heads and the members' units."""
    raw = Raw(url)
    try:
        ((stock, taken, max_heads),) = [
            tuple(r.values())
            for r in raw.rows(
                "SELECT stock, stock_taken, max_heads FROM group_buy_campaigns WHERE id = ?",
                (campaign_id,),
            )
        ]
        groups = raw.rows(
            "SELECT g.id, count(p.id) AS heads, coalesce(sum(p.quantity), 0) AS units "
            "FROM group_buys g LEFT JOIN group_buy_participants p ON p.group_id = g.id "
            "AND p.left_at IS NULL WHERE g.campaign_id = ? GROUP BY g.id",
            (campaign_id,),
        )
    finally:
        raw.close()
    return {
        "stock": stock,
        "stock_taken": taken,
        "max_heads": max_heads,
        "units": sum(g["units"] for g in groups),
        "heads": {g["id"]: g["heads"] for g in groups},
    }


# ------------------------------------------------------------------ joins


class Joiner:
    """How the threads join groups on one side: thread ``i`` calls ``join``.

    A join that finds the database busy (SQLite's lock wait ran out: ``ConcurrentUpdate``
    from the library, "database is locked" from sqlite3) is sent again with the same key,
    as a client would; ``busy`` counts those, and ``busy_after_seat`` those whose seat
    (the order under that key) had been committed before the error came back."""

    def __init__(self, world: World, raw_url: str | None, args: argparse.Namespace) -> None:
        self.world, self.busy, self.busy_after_seat = world, Tally(), Tally()
        self._raws = [Raw(raw_url) for _ in range(args.threads)] if raw_url else []
        self._lookups: dict[int, Raw] = {}

    def join(self, i: int, who: Actor, group: str, quantity: int) -> None:
        key, resident = uuid.uuid4().hex, str(who.account_id)
        for attempt in range(1, BUSY_TRIES + 1):
            try:
                if self._raws:
                    self._raws[i].join(group, resident, quantity, key)
                else:
                    self.world.join(who, group, quantity, key)
                return
            except (ConcurrentUpdate, sqlite3.OperationalError) as e:
                locked = isinstance(e, ConcurrentUpdate) or "locked" in str(e)
                if attempt == BUSY_TRIES or not locked:
                    raise
                self.busy.take()
                if self._placed(i, resident, key):
                    self.busy_after_seat.take()

    def _placed(self, i: int, resident: str, key: str) -> bool:
        if i not in self._lookups:
            self._lookups[i] = Raw(self.world.url)  # it only reads: no write lock
        found = self._lookups[i].rows(
            "SELECT id FROM orders WHERE resident_id = ? AND idempotency_key = ?", (resident, key)
        )
        return bool(found)

    def counts(self) -> dict[str, int]:
        return {"busy_retries": self.busy.value, "busy_after_seat": self.busy_after_seat.value}

    def close(self) -> None:
        for raw in [*self._raws, *self._lookups.values()]:
            raw.close()


class Joins:
    def __init__(self, name: str, lib_url: str, raw_url: str, args: argparse.Namespace) -> None:
        self.name, self.args, self.raw_url = name, args, raw_url
        self.residents = max(args.joins + 1, 2 * args.seats + args.threads + 1) + args.threads
        self.residents = max(self.residents, args.campaign_stock + args.threads)
        folder = Path(tempfile.mkdtemp())
        clock = BenchClock()
        say(f"[{name}] seeding two databases ({self.residents} residents each)…")
        self.worlds = {
            "lib": World(lib_url, folder / "lib.keys", self.residents, clock),
            "raw": World(raw_url, folder / "raw.keys", self.residents, clock),
        }

    def joiner(self, side: str) -> Joiner:
        return Joiner(self.worlds[side], self.raw_url if side == "raw" else None, self.args)

    def warm_up(self, side: str) -> None:
        world = self.worlds[side]
        joiner = self.joiner(side)
        campaign = world.campaign(max_heads=100, stock=1_000)
        group = world.start(world.residents[0], campaign).group.id
        for n in range(1, 31):
            joiner.join(0, world.residents[n], group, 1)
        joiner.close()

    def hot_group(self, side: str) -> dict[str, Any]:
        args, world = self.args, self.worlds[side]
        joiner = self.joiner(side)
        campaign = world.campaign(max_heads=args.max_heads, stock=1_000_000)
        group = world.start(world.residents[0], campaign).group.id
        taken, times = Tally(1), list[tuple[int, float]]()

        def work(i: int) -> None:
            while (n := taken.take()) <= args.joins:
                began = time.perf_counter()
                joiner.join(i, world.residents[n], group, 1)
                times.append((n, time.perf_counter() - began))

        elapsed = run_threads(args.threads, work)
        joiner.close()
        state = campaign_state(world.url, campaign.id)
        heads = args.joins + 1
        exact = state["heads"] == {group: heads} and state["stock_taken"] == state["units"] == heads
        spans = [t for _, t in times]
        in_order = [t for _, t in sorted(times)]
        return {
            "joins": args.joins,
            "per_s": args.joins / elapsed,
            **latencies(spans),
            "first_100_p50_ms": statistics.median(in_order[:100]) * 1000,
            "last_100_p50_ms": statistics.median(in_order[-100:]) * 1000,
            "heads": state["heads"][group],
            **joiner.counts(),
            "gate": "pass" if exact else "FAIL",
        }

    def full_group(self, side: str) -> dict[str, Any]:
        args, world = self.args, self.worlds[side]
        joiner = self.joiner(side)
        per = -(-2 * args.seats // args.threads)  # residents a thread: twice the seats in all
        campaign = world.campaign(max_heads=args.seats, stock=1_000_000)
        group = world.start(world.residents[0], campaign, 2).group.id
        joined, full, times = Tally(), Tally(), list[float]()

        def work(i: int) -> None:
            for k in range(per):
                n = 1 + i * per + k
                began = time.perf_counter()
                try:
                    joiner.join(i, world.residents[n], group, 1 + n % 3)
                except GroupBuyFull:
                    full.take()
                    continue
                times.append(time.perf_counter() - began)
                joined.take()

        elapsed = run_threads(args.threads, work)
        joiner.close()
        state = campaign_state(world.url, campaign.id)
        exact = (
            state["heads"] == {group: args.seats}
            and joined.value == args.seats - 1
            and full.value == per * args.threads - joined.value
            and state["stock_taken"] == state["units"]
        )
        return {
            "tries": per * args.threads,
            "joined": joined.value,
            "full": full.value,
            "per_s": per * args.threads / elapsed,
            "heads": state["heads"][group],
            "stock_taken": state["stock_taken"],
            "units": state["units"],
            **joiner.counts(),
            "gate": "pass" if exact else "FAIL",
        }

    def hot_campaign(self, side: str) -> dict[str, Any]:
        args, world = self.args, self.worlds[side]
        joiner = self.joiner(side)
        campaign = world.campaign(max_heads=10, stock=args.campaign_stock)
        groups = [
            world.start(world.residents[n], campaign).group.id for n in range(args.campaign_groups)
        ]
        taken, joined, times = Tally(args.campaign_groups), Tally(), list[float]()

        def work(i: int) -> None:
            rng = random.Random(100 + i)
            while True:
                n = taken.take()
                if n >= len(world.residents):
                    raise RuntimeError("more residents needed: raise --campaign-stock's margin")
                quantity = rng.randint(1, 3)
                while True:
                    began = time.perf_counter()
                    try:
                        joiner.join(i, world.residents[n], rng.choice(groups), quantity)
                    except GroupBuyFull:
                        continue  # another group
                    except GroupBuyLimitExceeded:  # a new resident: the campaign's stock
                        if quantity == 1:
                            return
                        quantity = 1
                        continue
                    times.append(time.perf_counter() - began)
                    joined.take()
                    break

        elapsed = run_threads(args.threads, work)
        joiner.close()
        state = campaign_state(world.url, campaign.id)
        exact = (
            state["stock_taken"] == state["stock"] == state["units"]
            and max(state["heads"].values()) <= state["max_heads"]
            and sum(state["heads"].values()) == args.campaign_groups + joined.value
        )
        return {
            "joins": joined.value,
            "per_s": joined.value / elapsed,
            **latencies(times),
            "stock": state["stock"],
            "stock_taken": state["stock_taken"],
            "units": state["units"],
            "fullest": max(state["heads"].values()),
            **joiner.counts(),
            "gate": "pass" if exact else "FAIL",
        }

    def one_thread(self, joins: int = 100) -> dict[str, Any]:
        """Joins one after another into one group a side, library and raw alternating:
        what a join costs without anyone to wait for."""
        joins = min(joins, self.residents - 1)
        joiners = {side: self.joiner(side) for side in self.worlds}
        groups, times = {}, {side: list[float]() for side in self.worlds}
        for side, world in self.worlds.items():
            campaign = world.campaign(max_heads=joins + 1, stock=1_000_000)
            groups[side] = world.start(world.residents[0], campaign).group.id
        for n in range(1, joins + 1):
            for side, world in self.worlds.items():
                began = time.perf_counter()
                joiners[side].join(0, world.residents[n], groups[side], 1)
                times[side].append(time.perf_counter() - began)
        for joiner in joiners.values():
            joiner.close()
        return {
            side: {"joins": joins, "per_s": joins / sum(spans), **latencies(spans)}
            for side, spans in times.items()
        }

    def run(self) -> dict[str, Any]:
        result: dict[str, Any] = {"database": self.name}
        for side in ("raw", "lib"):
            self.warm_up(side)
        say(f"[{self.name}] one thread…")
        result["one_thread"] = self.one_thread()
        for run in ("hot_group", "full_group", "hot_campaign"):
            result[run] = {}
            for side in ("raw", "lib"):
                say(f"[{self.name}] {run.replace('_', ' ')}: {side}…")
                result[run][side] = getattr(self, run)(side)
        return result


# ------------------------------------------------------------------ settlement


def invite_code(n: int) -> str:
    digits = []
    for _ in range(8):
        n, digit = divmod(n, len(INVITE_ALPHABET))
        digits.append(INVITE_ALPHABET[digit])
    return "".join(digits)


class Template:
    """A table's rows of the template group, ready to be written again with other ids:
    each value is kept, swapped for the copy's id, or (JSON) rewritten with its ids."""

    def __init__(self, table: str, rows: list[dict[str, Any]], ids: set[str]) -> None:
        self.table, self.rows = table, rows
        self.columns = [c for c in rows[0] if not (table in SERIAL and c == "id")]
        self._pattern = re.compile("|".join(re.escape(i) for i in sorted(ids, key=len)[::-1]))
        self._cells = [[self._cell(row[c], ids) for c in self.columns] for row in rows]

    def _cell(self, value: Any, ids: set[str]) -> tuple[str, Any]:
        if isinstance(value, str) and value in ids:
            return "id", value
        if isinstance(value, dict | list) or (isinstance(value, str) and value[:1] in ("[", "{")):
            text = value if isinstance(value, str) else json.dumps(value)
            if self._pattern.search(text):
                return "json", text  # psycopg sends text untyped: PostgreSQL reads it as JSON
            return "value", text
        return "value", value

    def copy(self, ids: dict[str, str]) -> list[list[Any]]:
        swap = self._pattern.sub
        return [
            [
                ids[v]
                if kind == "id"
                else swap(lambda m: ids[m.group(0)], v)
                if kind == "json"
                else v
                for kind, v in cells
            ]
            for cells in self._cells
        ]


def copy_group(url: str, template: str, since: int, residents: list[str], copies: int) -> None:
    """``copies`` more groups like the paid group ``template``: its rows (group, members,
    orders and lines, payments and their entries, and the outbox events written since
    outbox id ``since``) with fresh ids and what the use cases derive from them."""
    raw = Raw(url)
    group = raw.rows("SELECT * FROM group_buys WHERE id = ?", (template,))[0]
    members = raw.rows(
        "SELECT * FROM group_buy_participants WHERE group_id = ? ORDER BY id", (template,)
    )
    marks = ", ".join("?" for _ in members)
    order_ids = [m["order_id"] for m in members]
    orders = raw.rows(f"SELECT * FROM orders WHERE id IN ({marks}) ORDER BY placed_at", order_ids)
    payments = raw.rows(f"SELECT * FROM payments WHERE order_id IN ({marks})", order_ids)
    quantity = {m["order_id"]: m["quantity"] for m in members}
    key = {o["id"]: o["idempotency_key"] for o in orders}
    # the template's own values are what the library derives, so the copies' are too
    for p in payments:
        assert p["id"] == payment_id_for(p["order_id"], Channel(p["channel"]), key[p["order_id"]])
    digests = {join_digest(template, quantity[o["id"]]) for o in orders}
    assert {o["request_digest"] for o in orders} & digests
    ids = {template, group["invite_code"], *(m["resident_id"] for m in members)}
    ids |= {o["id"] for o in orders} | set(key.values()) | digests
    ids |= {p["id"] for p in payments} | {p["provider_ref"] for p in payments}
    templates = [
        Template(table, rows, ids)
        for table, rows in (
            ("group_buys", [group]),
            ("group_buy_participants", members),
            ("orders", orders),
            (
                "order_lines",
                raw.rows(f"SELECT * FROM order_lines WHERE order_id IN ({marks})", order_ids),
            ),
            ("payments", payments),
            (
                "payment_entries",
                raw.rows(
                    f"SELECT * FROM payment_entries WHERE payment_id IN ({marks}) ORDER BY id",
                    [p["id"] for p in payments],
                ),
            ),
            ("outbox", raw.rows("SELECT * FROM outbox WHERE id > ? ORDER BY id", (since,))),
        )
    ]
    cells: dict[str, list[list[Any]]] = {t.table: [] for t in templates}
    for n in range(1, copies + 1):
        gid = uuid.uuid4().hex
        new = {template: gid, group["invite_code"]: invite_code(n)}
        assert new[group["invite_code"]] != group["invite_code"]
        for j, member in enumerate(members):
            new[member["resident_id"]] = residents[(n * len(members) + j) % len(residents)]
        for o in orders:
            new[o["id"]], new[o["idempotency_key"]] = (
                uuid.uuid4().hex,
                f"{o['idempotency_key']}-{n}",
            )
            if o["request_digest"] in digests:
                new[o["request_digest"]] = join_digest(gid, quantity[o["id"]])
        for p in payments:
            order_id = OrderId(new[p["order_id"]])
            new[p["id"]] = payment_id_for(order_id, Channel(p["channel"]), new[key[p["order_id"]]])
            new[p["provider_ref"]] = "sbx-" + secrets.token_hex(8)
        for t in templates:
            cells[t.table] += t.copy(new)
    cur = raw.conn.cursor()
    cur.execute("BEGIN")
    try:
        for t in templates:
            names = ", ".join(f'"{c}"' for c in t.columns)
            marks = ", ".join("?" for _ in t.columns)
            if raw.sqlite:
                statement = f"INSERT INTO {t.table} ({names}) VALUES ({marks})"
                cur.executemany(statement, cells[t.table])
                continue
            with cur.copy(f"COPY {t.table} ({names}) FROM STDIN") as copy:
                for row in cells[t.table]:
                    copy.write_row(row)
        units = sum(m["quantity"] for m in members)
        cur.execute(
            raw.sql(
                "UPDATE group_buy_campaigns SET stock_taken = stock_taken + ?, "
                "version = version + ? WHERE id = ?"
            ),
            (units * copies, len(members) * copies, group["campaign_id"]),
        )
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        raw.close()


def settled_state(url: str, campaign_id: str) -> dict[str, Any]:
    raw = Raw(url)
    try:
        statuses = {
            r["status"]: r["n"]
            for r in raw.rows(
                "SELECT status, count(*) AS n FROM group_buys WHERE campaign_id = ? "
                "GROUP BY status",
                (campaign_id,),
            )
        }
        settled = [
            unjson(r["payload"])["group_id"]
            for r in raw.rows("SELECT payload FROM outbox WHERE name = 'GroupSettled'")
        ]
        (commissions,) = raw.rows(
            "SELECT count(*) AS n FROM leader_commissions WHERE campaign_id = ?", (campaign_id,)
        )
        (waiting,) = raw.rows(
            "SELECT count(*) AS n FROM orders WHERE group_id IS NOT NULL AND awaiting_group = ?",
            (True,),
        )
    finally:
        raw.close()
    return {
        "statuses": statuses,
        "events": len(settled),
        "groups_in_events": len(set(settled)),
        "commissions": commissions["n"],
        "orders_waiting": waiting["n"],
    }


class Settlement:
    def __init__(self, name: str, lib_url: str, raw_url: str, args: argparse.Namespace) -> None:
        self.name, self.groups = name, args.groups
        self.clock = BenchClock()
        folder = Path(tempfile.mkdtemp())
        say(f"[{name}] settlement: seeding two databases, {args.groups} paid groups each…")
        self.worlds, self.campaigns = {}, {}
        for side, url in (("lib", lib_url), ("raw", raw_url)):
            world = World(url, folder / f"{side}.keys", 200, self.clock)
            campaign = world.campaign(max_heads=10, stock=10_000_000, hours=24, limit=9999)
            raw = Raw(url)
            ((since,),) = [tuple(r.values()) for r in raw.rows("SELECT max(id) FROM outbox")]
            raw.close()
            seat = world.start(world.residents[0], campaign)
            world.pay(seat)
            world.pay(world.join(world.residents[1], seat.group.id, 1))
            began = time.perf_counter()
            residents = [str(r.account_id) for r in world.residents]
            copy_group(url, seat.group.id, since, residents, args.groups - 1)
            spent = time.perf_counter() - began
            say(f"[{name}] {side}: {args.groups - 1} groups copied in {spent:.1f} s")
            self.worlds[side], self.campaigns[side] = world, campaign.id

    def run(self) -> dict[str, Any]:
        self.clock.shift = dt.timedelta(hours=25)  # every group is past its deadline
        now = self.clock.now()
        say(f"[{self.name}] settlement: raw…")
        raw = Raw(self.worlds["raw"].url)
        began = time.perf_counter()
        raw_settled = raw.settle(now)
        raw_s = time.perf_counter() - began
        raw.close()
        say(f"[{self.name}] settlement: lib…")
        handler = self.worlds["lib"].app.get(SettleGroupsHandler)
        began = time.perf_counter()
        done = handler(SettleGroups(), actor=CONSOLE)
        lib_s = time.perf_counter() - began
        result: dict[str, Any] = {"groups": self.groups}
        for side, seconds, count in (("raw", raw_s, raw_settled), ("lib", lib_s, done.settled)):
            state = settled_state(self.worlds[side].url, self.campaigns[side])
            exact = (
                count == self.groups
                and state["statuses"] == {"settled": self.groups}
                and state["events"] == state["groups_in_events"] == self.groups
                and state["commissions"] == self.groups
                and state["orders_waiting"] == 0
            )
            result[side] = {
                "seconds": seconds,
                "per_s": self.groups / seconds,
                "settled": count,
                **state,
                "gate": "pass" if exact else "FAIL",
            }
        return result


# ------------------------------------------------------------------ report


def gates(r: dict[str, Any]) -> list[str]:
    runs = ("hot_group", "full_group", "hot_campaign", "settle")
    return [r[run][side]["gate"] for run in runs if r.get(run) for side in ("lib", "raw")]


def busy(run: dict[str, Any]) -> str:
    return f"busy retries {run['busy_retries']} ({run['busy_after_seat']} after the seat)"


def show(r: dict[str, Any]) -> None:
    print(f"\n== {r['database']} ==")
    one = r["one_thread"]
    for side in ("lib", "raw"):
        o = one[side]
        print(
            f"one thread, {o['joins']} joins into one group: {side:3} {o['per_s']:7.1f} joins/s"
            f"   p50/p95/p99 {o['p50_ms']:.2f} / {o['p95_ms']:.2f} / {o['p99_ms']:.2f} ms"
        )
    added = one["lib"]["p50_ms"] - one["raw"]["p50_ms"]
    print(
        f"one thread: library/raw {one['lib']['per_s'] / one['raw']['per_s']:.2f}, +{added:.2f} ms"
    )
    hot = r["hot_group"]
    for side in ("lib", "raw"):
        h = hot[side]
        print(
            f"hot group, {h['joins']} joins: {side:3} {h['per_s']:7.1f} joins/s   p50/p95/p99 "
            f"{h['p50_ms']:.2f} / {h['p95_ms']:.2f} / {h['p99_ms']:.2f} ms   p50 of the first / "
            f"last 100 joins {h['first_100_p50_ms']:.2f} / {h['last_100_p50_ms']:.2f} ms   "
            f"heads {h['heads']}   {busy(h)}   gate {h['gate']}"
        )
    print(f"hot group: library/raw {hot['lib']['per_s'] / hot['raw']['per_s']:.2f}")
    for side in ("lib", "raw"):
        f = r["full_group"][side]
        print(
            f"full group: {side:3} {f['tries']} tries, {f['joined']} joined, {f['full']} full, "
            f"{f['per_s']:.1f} tries/s   heads {f['heads']}   stock_taken {f['stock_taken']}"
            f"   members' units {f['units']}   {busy(f)}   gate {f['gate']}"
        )
    camp = r["hot_campaign"]
    for side in ("lib", "raw"):
        c = camp[side]
        print(
            f"hot campaign: {side:3} {c['joins']} joins, {c['per_s']:.1f} joins/s   p50/p95/p99 "
            f"{c['p50_ms']:.2f} / {c['p95_ms']:.2f} / {c['p99_ms']:.2f} ms   stock "
            f"{c['stock']} taken {c['stock_taken']} units {c['units']}   fullest "
            f"{c['fullest']}   {busy(c)}   gate {c['gate']}"
        )
    print(f"hot campaign: library/raw {camp['lib']['per_s'] / camp['raw']['per_s']:.2f}")
    settle = r.get("settle")
    if settle:
        for side in ("lib", "raw"):
            s = settle[side]
            print(
                f"settlement, {settle['groups']} groups: {side:3} {s['seconds']:.1f} s, "
                f"{s['per_s']:.0f} groups/s   settled {s['settled']}, statuses {s['statuses']}, "
                f"GroupSettled {s['events']} ({s['groups_in_events']} groups), commissions "
                f"{s['commissions']}, orders waiting {s['orders_waiting']}   gate {s['gate']}"
            )
        print(f"settlement: library/raw {settle['lib']['per_s'] / settle['raw']['per_s']:.2f}")


def bench(name: str, urls: Callable[[], Any], args: argparse.Namespace) -> dict[str, Any]:
    with urls() as (lib, raw):
        result = Joins(name, lib, raw, args).run()
    result["settle"] = None
    if not args.skip_settle:
        with urls() as (lib, raw):
            result["settle"] = Settlement(name, lib, raw, args).run()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL; without it only SQLite runs")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--joins", type=int, default=800, help="joins to the hot group")
    parser.add_argument("--max-heads", type=int, default=1000, help="the hot group's maximum")
    parser.add_argument("--seats", type=int, default=50, help="the full group's maximum")
    parser.add_argument("--campaign-groups", type=int, default=100)
    parser.add_argument("--campaign-stock", type=int, default=600)
    parser.add_argument("--groups", type=int, default=10_000, help="groups to settle")
    parser.add_argument("--skip-settle", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.joins < args.max_heads <= 1000:
        parser.error("--joins must be below --max-heads, at most 1000")
    if not args.campaign_groups < args.campaign_stock:
        parser.error("--campaign-stock must be above --campaign-groups")
    results = []
    if not args.skip_sqlite:
        results.append(bench("SQLite", sqlite_databases, args))
    if args.postgres:
        base = args.postgres
        results.append(bench("PostgreSQL", lambda: postgres_databases(base), args))
    if args.json:
        print(json.dumps(results, indent=2))
    for r in results:
        show(r)
    if any(gate != "pass" for r in results for gate in gates(r)):
        sys.exit(1)


if __name__ == "__main__":
    main()
