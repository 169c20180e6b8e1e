"""Ordering through the CLI only: coupons, the cart, orders, sandbox payments and refunds,
on every backend; and `shequ orders expire` twice at once as real processes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import injector
import pytest
from click.testing import CliRunner, Result

from shequ.adapters.clock import FixedClock
from shequ.adapters.payments import SandboxPaymentGateway
from shequ.application.payments.providers import PaymentProviders
from shequ.application.policy import Actor
from shequ.application.ports import PaymentGateway, SchemaMigrations
from shequ.bootstrap import bootstrap
from shequ.domain.identity import Membership, Role
from shequ.domain.ids import AccountId, CommunityId
from shequ.entrypoints.cli import cli
from shequ.entrypoints.cli import orders as orders_cli
from tests.integration.conftest import database_url
from tests.support import TEST_KEYS, ClockModule, Shop, add_point, container, settings

PICKUP = ["--pickup-point", "pp-1"]


def run(app: injector.Injector, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=app, catch_exceptions=False)


def data(app: injector.Injector, *args: str) -> Any:
    result = run(app, *args, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def refused(result: Result, exit_code: int, code: str) -> None:
    assert (result.exit_code, result.stdout) == (exit_code, ""), result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error[{code}]: "), result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def shop(app: injector.Injector) -> dict[str, str]:
    """A community, a seller with two SKUs on sale there, and a resident: made with the CLI."""
    community = data(app, "community", "add", "阳光花园", "--city", "杭州")["id"]
    add_point(app, community)  # pp-1
    seller = data(app, "seller", "add", "邻里优选", "--kind", "platform")["id"]
    product = data(
        app,
        "catalog",
        "add-product",
        "--seller",
        seller,
        "--name",
        "赣南脐橙",
        "--category",
        "生鲜",
    )["id"]
    skus = [
        data(
            app,
            "catalog",
            "add-sku",
            product,
            "--spec",
            spec,
            "--price",
            price,
            "--stock",
            "10",
            "--on-sale",
            "--community",
            community,
        )["id"]
        for spec, price in (("5斤/箱", "29.90"), ("10斤/箱", "50.00"))
    ]
    resident = data(
        app,
        "accounts",
        "create",
        "--phone",
        "13812345678",
        "--role",
        "resident",
        "--community",
        community,
    )["id"]
    return {
        "community": community,
        "seller": seller,
        "product": product,
        "small": skus[0],
        "big": skus[1],
        "resident": resident,
    }


def who(shop: dict[str, str]) -> list[str]:
    return ["--resident", shop["resident"], "--community", shop["community"]]


def stock(app: injector.Injector, product: str) -> dict[str, int]:
    return {s["id"]: s["stock"] for s in data(app, "catalog", "show", product)["skus"]}


def place(app: injector.Injector, shop: dict[str, str], key: str, *items: str) -> Any:
    skus = [arg for item in items for arg in ("--sku", item)]
    return data(app, "orders", "place", *who(shop), *skus, *PICKUP, "--key", key)


def test_a_cart_with_a_coupon_becomes_a_completed_pickup_order(
    app: injector.Injector, shop: dict[str, str], clock: FixedClock
) -> None:
    coupon = data(
        app,
        "coupons",
        "create",
        "满50减10",
        "--kind",
        "threshold",
        "--amount",
        "10",
        "--threshold",
        "50",
        "--from",
        "2026-11-01",
        "--until",
        "2026-12-31",
    )
    assert (coupon["amount_fen"], coupon["threshold_fen"], coupon["issued"]) == (1000, 5000, 0)
    [grant] = data(app, "coupons", "issue", coupon["id"], shop["resident"])
    assert grant["coupon_id"] == coupon["id"]
    assert [c["issued"] for c in data(app, "coupons", "list", "--platform")] == [1]

    cart = data(app, "cart", "add", *who(shop), shop["small"], "2")
    assert cart["lines"] == [
        {"sku_id": shop["small"], "quantity": 2, "added_at": clock.now().isoformat()}
    ]
    clock.advance(dt.timedelta(seconds=1))
    assert run(app, "cart", "add", *who(shop), shop["big"], "1").exit_code == 0
    view = data(app, "cart", "show", *who(shop))
    assert [(i["sku_id"], i["quantity"], i["problem"]) for i in view["items"]] == [
        (shop["small"], 2, None),
        (shop["big"], 1, None),
    ]
    quote = view["quote"]
    assert (quote["subtotal_fen"], quote["discount_fen"], quote["total_fen"]) == (10980, 1000, 9980)
    assert quote["coupons"] == [
        {
            "coupon_id": coupon["id"],
            "grant_id": grant["id"],
            "kind": "threshold",
            "saving_fen": 1000,
        }
    ]
    shown = run(app, "cart", "show", *who(shop)).stdout
    assert "¥99.80" in shown and "满50减10" in shown and grant["id"] in shown

    order = data(app, "orders", "place", *who(shop), "--from-cart", *PICKUP, "--key", "k-1")
    assert (order["status"], order["total_fen"]) == ("pending_payment", 9980)
    assert order["coupon_grant_ids"] == [grant["id"]]
    again = data(app, "orders", "place", *who(shop), "--from-cart", *PICKUP, "--key", "k-1")
    assert again["id"] == order["id"]
    emptied = data(app, "cart", "show", *who(shop))
    assert (emptied["items"], emptied["quote"]) == ([], None)

    paid = data(app, "payments", "simulate", order["id"])
    assert (paid["outcome"], paid["order"]["status"]) == ("paid", "paid")
    clock.advance(dt.timedelta(minutes=1))
    moved = run(app, "orders", "advance", order["id"], "pack", "--note", "pack ok")
    assert moved.exit_code == 0 and moved.stdout.startswith(f"order {order['id']} is ")
    refused(run(app, "orders", "advance", order["id"], "ready"), 65, "illegal-transition")
    clock.advance(dt.timedelta(minutes=1))
    data(app, "pickup", "arrive", "pp-1", order["id"])
    code = data(app, "pickup", "code", order["id"])["code"]
    clock.advance(dt.timedelta(minutes=1))
    data(app, "pickup", "verify", "pp-1", code)
    clock.advance(dt.timedelta(minutes=1))
    moved = run(app, "orders", "advance", order["id"], "complete", "--note", "complete ok")
    assert moved.exit_code == 0 and moved.stdout.startswith(f"order {order['id']} is ")
    done = data(app, "orders", "show", order["id"])
    assert done["status"] == "completed"
    assert [t["status"] for t in done["timeline"]] == [
        "pending_payment",
        "paid",
        "packed",
        "ready_for_pickup",
        "picked_up",
        "completed",
    ]
    assert done["timeline"][-1]["note"] == "complete ok" and done["refunds"] == []
    text = run(app, "orders", "show", order["id"]).stdout
    assert "completed" in text and "¥99.80" in text and "ready_for_pickup" in text
    assert stock(app, shop["product"]) == {shop["small"]: 8, shop["big"]: 9}


def test_a_refund_is_requested_approved_and_shown_on_the_order(
    app: injector.Injector, shop: dict[str, str]
) -> None:
    assert run(app, "cart", "add", *who(shop), shop["small"], "3").exit_code == 0
    order = data(app, "orders", "place", *who(shop), "--from-cart", *PICKUP, "--key", "k-1")
    assert data(app, "payments", "simulate", order["id"])["outcome"] == "paid"
    asked = data(
        app,
        "refunds",
        "request",
        order["id"],
        "--reason",
        "quality",
        "--sku",
        f"{shop['small']}:1",
        "--comment",
        "压坏了",
    )
    assert (asked["status"], asked["amount_fen"], asked["comment"]) == ("requested", 2990, "压坏了")
    listed = data(app, "refunds", "list", "--status", "requested", "--order", order["id"])
    assert [r["id"] for r in listed] == [asked["id"]]
    approved = data(app, "refunds", "approve", asked["id"], "--note", "同意")
    assert approved["status"] == "approved" and approved["payment_refund_ref"]
    assert approved["restocked"] is True and approved["awaiting_payout"] is False

    shown = data(app, "orders", "show", order["id"])
    assert shown["refunded_fen"] == 2990
    assert [(r["id"], r["status"], r["amount_fen"]) for r in shown["refunds"]] == [
        (asked["id"], "approved", 2990)
    ]
    assert shown["lines"][0]["refunded_quantity"] == 1
    text = run(app, "orders", "show", order["id"]).stdout
    assert "refunds:" in text and asked["id"] in text and "-¥29.90" in text
    assert stock(app, shop["product"])[shop["small"]] == 8  # the goods never left

    other = data(app, "refunds", "request", order["id"], "--reason", "not_wanted")
    assert other["amount_fen"] == 3 * 2990 - 2990
    rejected = data(app, "refunds", "reject", other["id"], "--note", "已发货")
    assert (rejected["status"], rejected["note"]) == ("rejected", "已发货")
    twice = run(app, "refunds", "approve", other["id"])
    refused(twice, 65, "illegal-transition")


def test_an_approved_refund_waits_for_a_provider_that_is_down_then_is_paid_out(
    app: injector.Injector, shop: dict[str, str]
) -> None:
    order = place(app, shop, "k-1", f"{shop['big']}:1")
    data(app, "payments", "simulate", order["id"])
    gateway = app.get(PaymentGateway)
    assert isinstance(gateway, SandboxPaymentGateway)
    gateway.available = False
    cancelled = data(app, "orders", "cancel", order["id"], "--reason", "缺货")
    assert cancelled["order"]["status"] == "cancelled"
    refund = cancelled["refund"]
    assert refund["amount_fen"] == 5000
    [payment] = data(app, "payments", "list", "--order", order["id"])
    assert (payment["refund_pending_fen"], payment["refunds"][0]["status"]) == (5000, "to_send")
    waiting = {"sent": 0, "confirmed": 0, "failed": 0, "waiting": 1}
    assert data(app, "payments", "retry-refunds") == waiting
    gateway.available = True
    paid = run(app, "payments", "retry-refunds")
    assert paid.stdout == (
        "1 refund(s) confirmed, 0 sent and awaiting confirmation, "
        "0 still waiting for the provider, 0 refused\n"
    )
    [payment] = data(app, "payments", "list", "--order", order["id"])
    assert (payment["status"], payment["refunded_fen"], payment["refund_pending_fen"]) == (
        "refunded",
        5000,
        0,
    )
    assert data(app, "payments", "retry-refunds")["confirmed"] == 0
    assert stock(app, shop["product"])[shop["big"]] == 10


def test_unpaid_orders_expire_once_the_clock_passes_their_deadline(
    app: injector.Injector, shop: dict[str, str], clock: FixedClock
) -> None:
    unpaid = place(app, shop, "k-1", f"{shop['small']}:4")
    paid = place(app, shop, "k-2", f"{shop['small']}:1")
    data(app, "payments", "simulate", paid["id"])
    assert data(app, "orders", "expire") == {"expired": 0}
    clock.advance(dt.timedelta(minutes=16))
    assert data(app, "orders", "expire", "--batch", "1") == {"expired": 1}
    assert data(app, "orders", "show", unpaid["id"])["status"] == "expired"
    assert data(app, "orders", "show", paid["id"])["status"] == "paid"
    assert run(app, "orders", "expire").stdout == "expired 0 unpaid order(s)\n"
    assert stock(app, shop["product"])[shop["small"]] == 9
    refused(run(app, "payments", "simulate", unpaid["id"]), 65, "illegal-transition")


def test_orders_are_listed_by_filter_and_page(
    app: injector.Injector, shop: dict[str, str], clock: FixedClock
) -> None:
    placed = []
    for n in range(5):
        clock.advance(dt.timedelta(seconds=1))
        placed.append(place(app, shop, f"k-{n}", f"{shop['small']}:1")["id"])
    data(app, "payments", "simulate", placed[0])
    seen: list[str] = []
    cursor: str | None = None
    while True:
        more = ["--cursor", cursor] if cursor else []
        page = data(app, "orders", "list", "--status", "pending_payment", "--limit", "2", *more)
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(placed[1:]))
    paid = data(app, "orders", "list", "--resident", shop["resident"], "--status", "paid")
    assert [o["id"] for o in paid["items"]] == [placed[0]]
    assert data(app, "orders", "list", "--pickup-point", "elsewhere")["items"] == []
    assert len(data(app, "orders", "list", "--seller", shop["seller"])["items"]) == 5
    since = (clock.now() - dt.timedelta(seconds=2)).isoformat()
    assert len(data(app, "orders", "list", "--since", since)["items"]) == 3
    text = run(app, "orders", "list", "--limit", "2")
    assert text.exit_code == 0 and placed[4] in text.stdout and "¥29.90" in text.stdout
    assert text.stderr.startswith("2 order(s)\nmore: --cursor ")
    first = data(app, "orders", "list", "--limit", "2")["next_cursor"]
    elsewhere = run(app, "orders", "list", "--limit", "2", "--status", "paid", "--cursor", first)
    refused(elsewhere, 65, "invalid-cursor")


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def fen(text: str) -> int:
    yuan, _, cents = text.partition(".")
    assert len(cents) == 2, text
    return int(yuan) * 100 + int(cents)


def test_the_export_has_a_row_per_line_and_its_amounts_add_up(
    app: injector.Injector,
    shop: dict[str, str],
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(orders_cli, "EXPORT_PAGE", 2)  # page through the cursor
    data(
        app,
        "coupons",
        "create",
        "九折",
        "--kind",
        "percent",
        "--percent",
        "10",
        "--from",
        "2026-11-01",
        "--until",
        "2026-12-31",
    )
    coupon = data(app, "coupons", "list")[0]["id"]
    data(app, "coupons", "issue", coupon, shop["resident"])
    placed = []
    for n, items in enumerate(
        [(f"{shop['small']}:3", f"{shop['big']}:1"), (f"{shop['small']}:1",), (f"{shop['big']}:2",)]
    ):
        clock.advance(dt.timedelta(seconds=1))
        placed.append(place(app, shop, f"k-{n}", *items))
    assert placed[0]["discount_fen"] > 0  # the 10% coupon went to the first order
    data(app, "payments", "simulate", placed[0]["id"])
    data(
        app,
        "refunds",
        "request",
        placed[0]["id"],
        "--reason",
        "missing",
        "--sku",
        f"{shop['big']}:1",
    )
    refund = data(app, "refunds", "list")[0]
    data(app, "refunds", "approve", refund["id"])

    exports = tmp_path / "exports"
    exports.mkdir()
    target = exports / "orders.csv"
    done = run(app, "orders", "export", str(target), "--community", shop["community"])
    assert done.exit_code == 0 and done.stdout == f"exported 3 order(s), 4 line(s) to {target}\n"
    rows = read_csv(target.read_text(encoding="utf-8-sig"))
    assert list(rows[0]) == list(orders_cli.EXPORT_COLUMNS) and len(rows) == 4
    by_order: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        assert fen(row["subtotal"]) == fen(row["unit_price"]) * int(row["quantity"])
        assert fen(row["subtotal"]) - fen(row["discount"]) == fen(row["payable"])
        by_order[row["order_id"]].append(row)
    assert list(by_order) == [o["id"] for o in reversed(placed)]  # newest first
    for order in placed:
        shown = data(app, "orders", "show", order["id"])
        lines = by_order[order["id"]]
        assert sum(fen(r["payable"]) for r in lines) == shown["total_fen"]  # pickup: no fee
        assert sum(fen(r["discount"]) for r in lines) == shown["discount_fen"]
        assert sum(fen(r["refunded"]) for r in lines) == shown["refunded_fen"]
        assert {r["status"] for r in lines} == {shown["status"]}
    assert sum(fen(r["refunded"]) for r in rows) == refund["amount_fen"] > 0

    to_stdout = run(app, "orders", "export", "-", "--status", "pending_payment")
    assert to_stdout.exit_code == 0 and to_stdout.stderr == "2 order(s), 2 line(s)\n"
    assert [r["order_id"] for r in read_csv(to_stdout.stdout)] == [
        placed[2]["id"],
        placed[1]["id"],
    ]
    summary = data(app, "orders", "export", str(exports / "none.csv"), "--status", "expired")
    assert (summary["orders"], summary["lines"]) == (0, 0)
    assert (exports / "none.csv").read_text(encoding="utf-8-sig").count("\n") == 1
    assert sorted(p.name for p in exports.iterdir()) == ["none.csv", "orders.csv"]


def test_orders_placed_by_staff_take_coupons_as_told_and_deliver_to_an_address(
    app: injector.Injector, shop: dict[str, str], clock: FixedClock
) -> None:
    data(
        app,
        "coupons",
        "create",
        "立减5元",
        "--kind",
        "amount",
        "--amount",
        "5",
        "--scope",
        f"skus:{shop['big']}",
        "--from",
        "2026-11-01",
        "--until",
        "2026-12-31",
        "--per-resident",
        "2",
    )
    coupon = data(app, "coupons", "list")[0]
    assert coupon["scope"] == {
        "kind": "skus",
        "category": None,
        "sku_ids": [shop["big"]],
        "seller_id": None,
    }
    grants = [g["id"] for g in data(app, "coupons", "issue", coupon["id"], shop["resident"])]
    plain = data(
        app,
        "orders",
        "place",
        *who(shop),
        "--sku",
        f"{shop['big']}:1",
        *PICKUP,
        "--no-coupons",
        "--key",
        "k-1",
    )
    assert (plain["total_fen"], plain["coupon_grant_ids"]) == (5000, [])
    chosen = data(
        app,
        "orders",
        "place",
        *who(shop),
        "--sku",
        f"{shop['big']}:1",
        *PICKUP,
        "--coupon",
        grants[0],
        "--key",
        "k-2",
    )
    assert (chosen["total_fen"], chosen["coupon_grant_ids"]) == (4500, grants)
    resident = Actor(
        account_id=AccountId(shop["resident"]),
        memberships=frozenset({Membership(Role.RESIDENT, CommunityId(shop["community"]))}),
    )
    address = Shop(app, clock).address(resident)
    delivered = data(
        app,
        "orders",
        "place",
        *who(shop),
        "--sku",
        f"{shop['small']}:1",
        "--address",
        address,
        "--express",
        "--key",
        "k-3",
    )
    assert (delivered["fulfilment"], delivered["express"]) == ("delivery", True)
    assert delivered["delivery_fee_fen"] == 500 + 800
    data(app, "payments", "simulate", delivered["id"])
    for action in ("pack", "dispatch", "deliver", "complete"):
        data(app, "orders", "advance", delivered["id"], action)
    refused(run(app, "orders", "advance", chosen["id"], "pack"), 65, "illegal-transition")
    shown = run(app, "orders", "show", delivered["id"]).stdout
    assert f"delivery to address {address}, express" in shown


BAD_INPUT = [
    ("cart add {who} {small} 0", 65, "invalid-quantity"),
    ("cart add {who} nosuch 1", 66, "sku-not-found"),
    ("orders place {who} --sku {small}:abc {pickup} --key k", 65, "invalid-quantity"),
    ("orders place {who} --sku {small}:0 {pickup} --key k", 65, "invalid-quantity"),
    ("orders place {who} --sku {small} {pickup} --key k", 65, "invalid-input"),
    ("orders place {who} --sku {small}:99 {pickup} --key k", 65, "out-of-stock"),
    ("orders place {who} --from-cart {pickup} --key k", 65, "invalid-input"),
    ("orders place {who} --sku {small}:1 {pickup} --coupon g --key k", 66, "coupon-not-found"),
    ("orders place {who} --sku {small}:1 --address a --key k", 66, "not-found"),
    ("orders show nope", 66, "order-not-found"),
    ("orders advance nope pack", 66, "order-not-found"),
    ("orders cancel nope", 66, "order-not-found"),
    ("orders list --since yesterday", 65, "invalid-input"),
    ("orders list --since 2026-11-26 --until 2026-11-25", 65, "invalid-input"),
    ("orders list --cursor tampered.cursor", 65, "invalid-cursor"),
    ("payments simulate nope", 66, "order-not-found"),
    ("coupons create x --kind threshold --amount 10 --threshold 5 {window}", 65, "invalid-amount"),
    ("coupons create x --kind amount --amount 1.234 {window}", 65, "invalid-amount"),
    ("coupons create x --kind amount {window}", 65, "invalid-amount"),
    ("coupons create x --kind percent --percent 100 {window}", 65, "invalid-input"),
    ("coupons create x --kind amount --amount 3 --scope aisle:3 {window}", 65, "invalid-input"),
    ("coupons create x --kind amount --amount 3 --seller nobody {window}", 66, "seller-not-found"),
    ("coupons create x --kind delivery --from 2026-12-01 --until 2026-11-01", 65, "invalid-input"),
    ("coupons issue nope {resident}", 66, "coupon-not-found"),
    ("refunds request nope --reason quality", 66, "order-not-found"),
    ("refunds approve nope", 66, "refund-not-found"),
    ("refunds reject nope --note no", 66, "refund-not-found"),
]

USAGE_MISTAKES = [
    "orders advance x bogus",
    "orders place {who} --sku s:1 --from-cart {pickup} --key k",
    "orders place {who} --sku s:1 --key k",
    "orders place {who} --sku s:1 {pickup} --address a --key k",
    "orders place {who} --sku s:1 {pickup} --express --key k",
    "orders place {who} --sku s:1 {pickup} --no-coupons --coupon g --key k",
    "orders place {who} --sku s:1 {pickup}",
    "orders list --status lost",
    "orders list --limit 0",
    "orders expire --batch 0",
    "orders export - --json",
    "orders export /no/such/dir/orders.csv",
    "cart add {who} s abc",
    "cart show {who} --express",
    "coupons create x --kind gift --from 2026-11-01 --until 2027-01-01",
    "coupons list --seller s --platform",
    "refunds request o --reason cancelled",
    "refunds reject r",
]


def command(template: str, shop: dict[str, str]) -> list[str]:
    """The words of a command, with {who}, {small}, {resident}, {pickup} and {window}."""
    text = template.format(
        who=" ".join(who(shop)),
        small=shop["small"],
        resident=shop["resident"],
        pickup=" ".join(PICKUP),
        window="--from 2026-11-01 --until 2026-12-31",
    )
    return text.split()


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize(("template", "exit_code", "code"), BAD_INPUT)
def test_bad_input_is_one_line_and_the_documented_exit_code(
    app: injector.Injector, shop: dict[str, str], template: str, exit_code: int, code: str
) -> None:
    refused(run(app, *command(template, shop)), exit_code, code)


@pytest.mark.parametrize("backend", ["memory"])
@pytest.mark.parametrize("template", USAGE_MISTAKES)
def test_usage_mistakes_exit_2(app: injector.Injector, shop: dict[str, str], template: str) -> None:
    result = run(app, *command(template, shop))
    assert result.exit_code == 2, result.output + result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


class WeChatModule(injector.Module):
    @injector.provider
    def providers(self) -> PaymentProviders:
        class WeChat(SandboxPaymentGateway):
            provider = "wechat"

        return PaymentProviders([WeChat()])


def test_simulated_payments_need_the_sandbox(clock: FixedClock) -> None:
    app = bootstrap(settings(storage="memory"), ClockModule(clock), WeChatModule())
    app.get(SchemaMigrations).upgrade()
    result = run(app, "payments", "simulate", "any-order")
    refused(result, 69, "adapter-error")
    assert "sandbox" in result.stderr and "takes wechat" in result.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_expiry_runs_at_once_expire_each_order_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    exe = shutil.which("shequ", path=os.path.dirname(sys.executable))
    assert exe is not None, "install the project (pip install -e .) so that `shequ` exists"
    url = database_url(backend, request, tmp_path)
    long_ago = FixedClock(dt.datetime(2024, 3, 1, 2, 0, tzinfo=dt.UTC))
    app = container(settings(storage="sql", database_url=url), long_ago)
    app.get(SchemaMigrations).upgrade()
    shop = Shop(app, long_ago)
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), stock=60, communities=(here,))
    _, resident = shop.resident(here)
    for _ in range(40):
        shop.order(resident, here, (sku, 1))
    env = {
        **os.environ,
        "SHEQU_DATABASE_URL": url,
        "SHEQU_DATA_KEYS": TEST_KEYS["data_keys"],
        "SHEQU_LOOKUP_KEY": TEST_KEYS["lookup_key"],
    }
    runs = [
        subprocess.Popen(
            [exe, "orders", "expire", "--batch", "3", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=120) for r in runs]
    for r, (_, err) in zip(runs, outputs, strict=True):
        assert r.returncode == 0, err
    assert sum(json.loads(out)["expired"] for out, _ in outputs) == 40
    listed = data(app, "orders", "list", "--status", "expired", "--limit", "100")
    assert len(listed["items"]) == 40
    assert data(app, "catalog", "show", sku.product_id)["skus"][0]["stock"] == 60
