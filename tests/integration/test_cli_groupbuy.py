"""Group buying through the CLI only, on every backend: a campaign, groups started and
joined, paid in the sandbox, settled at their tier with the difference refunded or failed
with everything refunded, the purchase plan and distribution list; refusals that change
nothing; the demo; and `shequ groupbuy settle` twice at once as real processes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import injector
import pytest
from click.testing import CliRunner, Result

from shequ.adapters.clock import FixedClock
from shequ.application.ports import SchemaMigrations
from shequ.domain.groupbuy import GroupStatus
from shequ.domain.ids import OrderId
from shequ.domain.money import Money
from shequ.domain.ordering import OrderStatus
from shequ.entrypoints.cli import cli
from shequ.entrypoints.cli.groupbuy import DISTRIBUTION_COLUMNS, PURCHASE_COLUMNS
from tests.groupbuy_support import GroupShop
from tests.integration.conftest import database_url
from tests.support import TEST_KEYS, add_point, container, settings

DAY = dt.timedelta(days=1)
PICKUP_DATE = "2026-11-29"  # the tests' clock starts at 2026-11-25T02:00Z


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
def shop(app: injector.Injector) -> dict[str, Any]:
    """A community, a platform seller's rice at ¥49.90 on sale there, and seven residents:
    made with the CLI."""
    community = data(app, "community", "add", "阳光花园", "--city", "杭州")["id"]
    for point in ("pp-1", "pp-2"):
        add_point(app, community, point)
    seller = data(app, "seller", "add", "邻里优选", "--kind", "platform")["id"]
    product = data(
        app,
        "catalog",
        "add-product",
        "--seller",
        seller,
        "--name",
        "五常大米",
        "--category",
        "粮油",
    )["id"]
    sku = data(
        app,
        "catalog",
        "add-sku",
        product,
        "--spec",
        "5kg/袋",
        "--price",
        "49.90",
        "--stock",
        "100",
        "--on-sale",
        "--community",
        community,
    )["id"]
    residents = [
        data(
            app,
            "accounts",
            "create",
            "--phone",
            f"1381234567{n}",
            "--role",
            "resident",
            "--community",
            community,
        )["id"]
        for n in range(7)
    ]
    return {"community": community, "seller": seller, "sku": sku, "residents": residents}


def create_campaign(app: injector.Injector, shop: dict[str, Any], *change: str) -> Any:
    return data(app, *campaign_command(shop, *change))


def campaign_command(shop: dict[str, Any], *change: str) -> list[str]:
    """¥45.00 from 2 people, ¥42.00 from 5, ¥39.00 from 10 (unless ``change`` has tiers of
    its own); groups of 2 to 20, open 24 hours; 5 % commission. The options in ``change``
    come last, so they win."""
    ladder = ("--tier", "2:45.00", "--tier", "5:42.00", "--tier", "10:39.00")
    return [
        "groupbuy",
        "campaigns",
        "create",
        "--name",
        "五常大米 阶梯团",
        "--sku",
        shop["sku"],
        *(() if "--tier" in change else ladder),
        *("--min-heads", "2", "--max-heads", "20", "--stock", "1000"),
        *("--ends", "2026-11-28T00:00:00+08:00", "--pickup-date", PICKUP_DATE),
        *("--community", shop["community"], "--commission-percent", "5"),
        *change,
    ]


def start(
    app: injector.Injector,
    shop: dict[str, Any],
    campaign: str,
    resident: str,
    quantity: int = 1,
    point: str = "pp-1",
) -> Any:
    return data(
        app,
        "groupbuy",
        "start",
        "--campaign",
        campaign,
        "--resident",
        resident,
        "--community",
        shop["community"],
        "--point",
        point,
        "--quantity",
        str(quantity),
    )


def join(app: injector.Injector, group: str, resident: str, quantity: int = 1) -> Any:
    return data(app, "groupbuy", "join", group, "--resident", resident, "--quantity", str(quantity))


def pay(app: injector.Injector, order_id: str) -> None:
    paid = data(app, "payments", "simulate", order_id)
    assert (paid["outcome"], paid["order"]["status"]) == ("paid", "paid")


def test_groups_fill_settle_at_their_tier_refund_the_difference_and_make_the_plan(
    app: injector.Injector, shop: dict[str, Any], clock: FixedClock, tmp_path: Path
) -> None:
    r = shop["residents"]
    campaign = create_campaign(app, shop)
    assert [(t["min_heads"], t["price_fen"]) for t in campaign["tiers"]] == [
        (2, 4500),
        (5, 4200),
        (10, 3900),
    ]
    assert campaign["starts_at"] == clock.now().isoformat()  # now, by default
    assert campaign["reward"] == {
        "kind": "commission",
        "leader_price_fen": None,
        "commission_bp": 500,
    }
    assert [
        c["id"]
        for c in data(app, "groupbuy", "campaigns", "list", "--community", shop["community"])
    ] == [campaign["id"]]
    stored = data(app, "groupbuy", "campaigns", "show", campaign["id"])
    assert dt.datetime.fromisoformat(stored.pop("ends_at")) == dt.datetime.fromisoformat(
        campaign.pop("ends_at")
    )
    assert stored == campaign
    shown = run(app, "groupbuy", "campaigns", "show", campaign["id"]).stdout
    assert "2+ ¥45.00 / 5+ ¥42.00 / 10+ ¥39.00" in shown and "5% of the net revenue" in shown

    # the first group, at pp-1: a leader with 2 units and four neighbours
    first = data(
        app,
        "groupbuy",
        "start",
        "--campaign",
        campaign["id"],
        "--resident",
        r[0],
        "--community",
        shop["community"],
        "--point",
        "pp-1",
        "--quantity",
        "2",
        "--key",
        "start-1",
    )
    group = first["group"]["id"]
    assert (first["order"]["total_fen"], first["order"]["status"]) == (9000, "pending_payment")
    assert first["payment"]["amount_fen"] == 9000 and first["payment"]["provider"] == "sandbox"
    text = run(app, "groupbuy", "join", group, "--resident", r[1], "--key", "join-1")
    assert text.exit_code == 0, text.output + text.stderr
    order_id = re.search(r"order ([0-9a-f]{32}): ¥45\.00", text.stdout)
    assert order_id is not None and re.search(r"payment P[0-9a-f]{31} \(sandbox\)", text.stdout)
    assert f"shequ payments simulate {order_id[1]}" in text.stdout
    invited = data(
        app,
        "groupbuy",
        "join",
        "--invite",
        first["group"]["invite_code"].lower(),
        "--resident",
        r[2],
    )
    assert invited["group"]["id"] == group and invited["group"]["heads"] == 3
    seats = [first, invited, join(app, group, r[3]), join(app, group, r[4])]
    again = data(app, "groupbuy", "join", group, "--resident", r[1], "--key", "join-1")
    assert again["order"]["id"] == order_id[1] and again["group"]["heads"] == 5  # one seat
    for order in [order_id[1]] + [s["order"]["id"] for s in seats]:
        pay(app, order)

    # the second group, at pp-2: two people, the first tier
    second = start(app, shop, campaign["id"], r[5], 1, point="pp-2")
    other = second["group"]["id"]
    pay(app, second["order"]["id"])
    pay(app, join(app, other, r[6], 3)["order"]["id"])

    progress = data(app, "groupbuy", "show", group)
    assert (progress["status"], progress["heads"], progress["current_price_fen"]) == (
        "succeeded",
        5,
        4200,
    )
    assert progress["next_tier"] == {"min_heads": 10, "price_fen": 3900}
    assert (progress["needed_for_next_tier"], progress["seconds_left"]) == (5, 24 * 3600)
    assert data(app, "groupbuy", "show", "--invite", progress["invite_code"])["id"] == group
    listed = data(app, "groupbuy", "groups", campaign["id"])
    assert {g["id"]: g["status"] for g in listed} == {group: "succeeded", other: "succeeded"}
    assert [
        g["id"] for g in data(app, "groupbuy", "groups", campaign["id"], "--status", "open")
    ] == []
    table = run(app, "groupbuy", "groups", campaign["id"])
    assert group in table.stdout and "¥42.00" in table.stdout and table.stderr == "2 group(s)\n"
    waiting = run(app, "groupbuy", "purchase-plan", "--date", PICKUP_DATE, "--json")
    assert json.loads(waiting.stdout)["lines"] == [] and "2 group(s)" in waiting.stderr

    clock.advance(DAY + dt.timedelta(minutes=1))
    settled = run(app, "groupbuy", "settle")
    assert settled.exit_code == 0, settled.output + settled.stderr
    # pp-1: 6 units at ¥42.00, ¥3.00 back on each, ¥12.60 commission; pp-2: 4 at ¥45.00, ¥9.00
    assert settled.stdout == (
        "2 group(s) settled, 0 failed, 0 unpaid seat(s) given up; "
        "¥18.00 refunded, ¥21.60 commission\n"
    )
    assert data(app, "groupbuy", "settle", "--batch", "1") == {
        "settled": 0,
        "failed": 0,
        "unpaid_seats": 0,
        "refunded_fen": 0,
        "commission_fen": 0,
    }
    ended = data(app, "groupbuy", "show", group)
    assert (ended["status"], ended["unit_price_fen"]) == ("settled", 4200)
    for participant in ended["participants"]:
        order = data(app, "orders", "show", participant["order_id"])
        assert order["status"] == "paid"
        assert order["refunded_fen"] == 300 * participant["quantity"]
        assert [r["reason"] for r in order["refunds"]] == ["group_price"]
    payments = data(app, "payments", "list", "--order", first["order"]["id"])
    # the seat's own payment, and the one `payments simulate` started and paid
    assert sorted(p["status"] for p in payments) == ["created", "partly_refunded"]
    [payment] = [p for p in payments if p["status"] != "created"]
    assert (payment["status"], payment["refunded_fen"]) == ("partly_refunded", 600)
    for participant in data(app, "groupbuy", "show", other)["participants"]:
        assert data(app, "orders", "show", participant["order_id"])["refunded_fen"] == 0
    assert "-¥6.00" in run(app, "orders", "show", first["order"]["id"]).stdout
    assert data(app, "groupbuy", "earnings", r[0])["total_fen"] == 1260
    earned = data(app, "groupbuy", "earnings", r[5])
    assert [(e["group_id"], e["amount_fen"], e["revenue_fen"]) for e in earned["entries"]] == [
        (other, 900, 18000)
    ]

    plan = data(app, "groupbuy", "purchase-plan", "--date", PICKUP_DATE)
    assert (plan["units"], plan["unsettled"]) == (10, 0)
    assert plan["lines"] == [
        {
            "seller_id": shop["seller"],
            "sku_id": shop["sku"],
            "name": "五常大米",
            "spec": "5kg/袋",
            "units": 10,
            "groups": 2,
            "orders": 7,
        }
    ]
    orders_at = {
        point: sorted(p["order_id"] for p in data(app, "groupbuy", "show", g)["participants"])
        for point, g in (("pp-1", group), ("pp-2", other))
    }
    assert [
        (d["pickup_point_id"], d["sku_id"], d["units"], d["order_ids"])
        for d in plan["distribution"]
    ] == [("pp-1", shop["sku"], 6, orders_at["pp-1"]), ("pp-2", shop["sku"], 4, orders_at["pp-2"])]

    as_csv = run(app, "groupbuy", "purchase-plan", "--date", PICKUP_DATE, "--csv")
    assert as_csv.exit_code == 0 and as_csv.stderr == ""
    purchase, distribution = as_csv.stdout.split("\n\n")
    check_csv_plan(purchase, distribution, shop, orders_at)
    out = tmp_path / "plans"
    out.mkdir()
    done = run(app, "groupbuy", "purchase-plan", "--date", PICKUP_DATE, "--out-dir", str(out))
    assert done.exit_code == 0, done.output + done.stderr
    files = [out / f"purchase-{PICKUP_DATE}.csv", out / f"distribution-{PICKUP_DATE}.csv"]
    assert done.stdout == "".join(f"wrote {f}\n" for f in files)
    bought, sorted_out = (f.read_text(encoding="utf-8-sig") for f in files)
    check_csv_plan(bought, sorted_out, shop, orders_at)
    assert sorted(p.name for p in out.iterdir()) == sorted(f.name for f in files)
    text_plan = run(app, "groupbuy", "purchase-plan", "--date", PICKUP_DATE).stdout
    assert "10 unit(s) of 1 SKU(s)" in text_plan and "分拣单" in text_plan
    empty = data(app, "groupbuy", "purchase-plan", "--date", "2026-11-30")
    assert (empty["lines"], empty["distribution"], empty["units"]) == ([], [], 0)


def check_csv_plan(
    purchase: str, distribution: str, shop: dict[str, Any], orders_at: dict[str, list[str]]
) -> None:
    bought = list(csv.DictReader(io.StringIO(purchase)))
    assert list(bought[0]) == list(PURCHASE_COLUMNS)
    assert [
        (b["seller_id"], b["sku_id"], b["units"], b["groups"], b["orders"]) for b in bought
    ] == [(shop["seller"], shop["sku"], "10", "2", "7")]
    sorted_out = list(csv.DictReader(io.StringIO(distribution)))
    assert list(sorted_out[0]) == list(DISTRIBUTION_COLUMNS)
    assert [
        (d["pickup_point_id"], d["units"], d["orders"], d["order_ids"].split()) for d in sorted_out
    ] == [
        ("pp-1", "6", "5", orders_at["pp-1"]),
        ("pp-2", "4", "2", orders_at["pp-2"]),
    ]


def test_a_group_short_of_its_minimum_fails_and_every_paid_seat_is_refunded_in_full(
    app: injector.Injector, shop: dict[str, Any], clock: FixedClock
) -> None:
    r = shop["residents"]
    campaign = create_campaign(app, shop, "--min-heads", "4")
    seats = [start(app, shop, campaign["id"], r[0], 3)]
    group = seats[0]["group"]["id"]
    seats += [join(app, group, r[1]), join(app, group, r[2], 2)]
    for seat in seats[:2]:
        pay(app, seat["order"]["id"])  # the third never pays
    assert data(app, "groupbuy", "show", group)["needed_to_succeed"] == 1
    assert data(app, "groupbuy", "campaigns", "show", campaign["id"])["stock_taken"] == 6

    clock.advance(DAY)
    done = data(app, "groupbuy", "settle")
    assert done == {
        "settled": 0,
        "failed": 1,
        "unpaid_seats": 1,
        "refunded_fen": 4 * 4500,
        "commission_fen": 0,
    }
    ended = data(app, "groupbuy", "show", group)
    assert (ended["status"], ended["unit_price_fen"], ended["heads"]) == ("failed", None, 2)
    for seat, paid in zip(seats, (13500, 4500, 0), strict=True):
        order = data(app, "orders", "show", seat["order"]["id"])
        assert order["refunded_fen"] == paid
        assert order["status"] == ("cancelled" if paid else "expired")
    assert data(app, "groupbuy", "campaigns", "show", campaign["id"])["stock_taken"] == 0
    assert data(app, "groupbuy", "groups", campaign["id"], "--status", "failed")[0]["id"] == group
    plan = data(app, "groupbuy", "purchase-plan", "--date", PICKUP_DATE)
    assert (plan["lines"], plan["distribution"], plan["unsettled"]) == ([], [], 0)
    assert data(app, "groupbuy", "earnings", r[0]) == {
        "leader_id": r[0],
        "total_fen": 0,
        "entries": [],
    }


def test_a_member_leaves_and_an_operator_calls_a_group_off(
    app: injector.Injector, shop: dict[str, Any]
) -> None:
    r = shop["residents"]
    campaign = create_campaign(app, shop, "--min-heads", "3")
    seats = [start(app, shop, campaign["id"], r[0], 2), start(app, shop, campaign["id"], r[1])]
    group = seats[0]["group"]["id"]
    seats.append(join(app, group, r[2]))
    for seat in seats:
        pay(app, seat["order"]["id"])

    left = run(app, "groupbuy", "leave", group, "--resident", r[0])
    assert left.exit_code == 0 and left.stdout.startswith(f"resident {r[0]} left group {group}")
    after = data(app, "groupbuy", "show", group)
    assert (after["heads"], after["leader_id"], after["status"]) == (1, r[2], "open")
    order = data(app, "orders", "show", seats[0]["order"]["id"])
    assert (order["status"], order["refunded_fen"]) == ("cancelled", 9000)

    called_off = data(app, "groupbuy", "cancel", group, "--reason", "供应商缺货")
    assert (called_off["status"], called_off["refunded_fen"]) == ("cancelled", 4500)
    assert [line["order_id"] for line in called_off["lines"]] == [seats[2]["order"]["id"]]
    assert data(app, "orders", "show", seats[2]["order"]["id"])["refunded_fen"] == 4500
    text = run(app, "groupbuy", "cancel", seats[1]["group"]["id"], "--reason", "下架")
    assert (
        text.stdout == f"cancelled group {seats[1]['group']['id']}: 1 order(s), ¥45.00 refunded\n"
    )
    statuses = {g["id"]: g["status"] for g in data(app, "groupbuy", "groups", campaign["id"])}
    assert set(statuses.values()) == {"cancelled"}
    assert data(app, "groupbuy", "campaigns", "show", campaign["id"])["stock_taken"] == 0
    refused(run(app, "groupbuy", "cancel", group, "--reason", "again"), 65, "illegal-transition")


@pytest.fixture
def world(app: injector.Injector, shop: dict[str, Any]) -> dict[str, Any]:
    """A campaign of groups of at most 2, 3 units a resident: a full group of r0 and r1,
    and an open group of r2."""
    r = shop["residents"]
    campaign = create_campaign(
        app, shop, "--max-heads", "2", "--per-resident-limit", "3", "--tier", "2:45.00"
    )
    full = data(
        app,
        "groupbuy",
        "start",
        *("--campaign", campaign["id"], "--resident", r[0], "--community", shop["community"]),
        *("--point", "pp-1", "--key", "w-1"),
    )["group"]
    join(app, full["id"], r[1])
    open_ = start(app, shop, campaign["id"], r[2])["group"]
    return {"campaign": campaign["id"], "full": full, "open": open_}


def state(app: injector.Injector, shop: dict[str, Any], world: dict[str, Any]) -> Any:
    return (
        data(app, "groupbuy", "campaigns", "list", "--community", shop["community"]),
        data(app, "groupbuy", "groups", world["campaign"]),
        [(o["id"], o["status"]) for o in data(app, "orders", "list", "--limit", "1000")["items"]],
        data(app, "payments", "list"),
    )


BAD_INPUT = [
    ("{campaign} --tier 5:42.00 --tier 2:45.00", 65, "invalid-input"),  # tiers not ordered
    ("{campaign} --tier 1:50.00", 65, "invalid-input"),  # above the SKU's ¥49.90
    ("{campaign} --starts 2026-11-27 --ends 2026-11-26", 65, "invalid-input"),
    ("{campaign} --ends 2026-11-25T09:00:00+08:00", 65, "invalid-input"),  # before now
    ("{campaign} --starts tomorrow", 65, "invalid-input"),
    ("{campaign} --tier 3", 65, "invalid-input"),
    ("{campaign} --tier 3:4.555", 65, "invalid-amount"),
    ("{campaign} --min-heads 30", 65, "invalid-input"),
    ("{campaign} --pickup-date 2026-11-26", 65, "invalid-input"),
    ("{campaign} --commission-percent 40", 65, "invalid-input"),
    ("{campaign} --commission-percent 0 --commission-bp 900", 2, ""),
    ("{campaign} --leader-price 40.00 --commission-percent 5", 2, ""),
    ("{campaign} --virtual-success-percent 100", 65, "invalid-input"),
    ("{campaign} --sku nosuch", 66, "sku-not-found"),
    ("{campaign} --community nowhere", 66, "community-not-found"),
    ("groupbuy campaigns show nope", 66, "campaign-not-found"),
    ("groupbuy groups nope", 66, "campaign-not-found"),
    ("groupbuy show nope", 66, "group-not-found"),
    ("groupbuy show --invite ZZZZZZZZ", 66, "group-not-found"),
    ("groupbuy join --invite ZZZZZZZZ --resident {r3}", 66, "group-not-found"),
    ("groupbuy join {full} --resident {r3}", 65, "group-full"),
    ("groupbuy join --invite {full_code} --resident {r3}", 65, "group-full"),
    ("groupbuy join {open} --resident {r3} --quantity 4", 65, "group-limit-exceeded"),
    ("groupbuy join {open} --resident {r0} --quantity 3", 65, "group-limit-exceeded"),
    ("groupbuy join {open} --resident {r2}", 65, "group-limit-exceeded"),  # in it already
    ("groupbuy join {open} --resident {r3} --quantity 0", 65, "invalid-quantity"),
    ("groupbuy join {open} --resident nobody", 66, "account-not-found"),
    ("groupbuy start {start} --resident {r3} --quantity 4", 65, "group-limit-exceeded"),
    ("groupbuy start {start} --resident {r2}", 65, "group-limit-exceeded"),  # leads one
    (
        "groupbuy start --campaign nope --resident {r3} --community {c} --point p",
        66,
        "campaign-not-found",
    ),
    ("groupbuy join {open} --resident {r0} --key w-1", 75, "idempotency-key-reused"),
    ("groupbuy start {start} --resident {r0} --key w-1", 75, "idempotency-key-reused"),
    ("groupbuy leave {open} --resident {r3}", 65, "invalid-input"),
    ("groupbuy leave {full} --resident {r1}", 65, "illegal-transition"),  # it succeeded
    ("groupbuy cancel nope --reason x", 66, "group-not-found"),
]

USAGE_MISTAKES = [
    "groupbuy join {open} --invite {full_code} --resident {r3}",
    "groupbuy join --resident {r3}",
    "groupbuy show",
    "groupbuy show {open} --invite {full_code}",
    "groupbuy start --campaign {campaign_id} --resident {r3} --community {c}",
    "groupbuy groups {campaign_id} --status lost",
    "groupbuy settle --batch 0",
    "groupbuy purchase-plan --date 2026/11/29",
    "groupbuy purchase-plan --date 2026-11-29 --json --csv",
    "groupbuy purchase-plan --date 2026-11-29 --out-dir /no/such/dir",
    "groupbuy cancel {open}",
    "groupbuy campaigns list",
    "groupbuy campaigns create --name x",
]


def command(template: str, shop: dict[str, Any], world: dict[str, Any]) -> list[str]:
    r = shop["residents"]
    start_args = f"--campaign {world['campaign']} --community {shop['community']} --point pp-9"
    words = template.format(
        campaign="{campaign}",
        start=start_args,
        campaign_id=world["campaign"],
        c=shop["community"],
        full=world["full"]["id"],
        full_code=world["full"]["invite_code"],
        open=world["open"]["id"],
        **{f"r{n}": resident for n, resident in enumerate(r)},
    ).split()
    if words[0] == "{campaign}":
        return campaign_command(shop, *words[1:])
    return words


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize(("template", "exit_code", "code"), BAD_INPUT)
def test_bad_input_is_one_line_the_documented_exit_code_and_changes_nothing(
    app: injector.Injector,
    shop: dict[str, Any],
    world: dict[str, Any],
    template: str,
    exit_code: int,
    code: str,
) -> None:
    before = state(app, shop, world)
    result = run(app, *command(template, shop, world))
    if exit_code == 2:
        assert result.exit_code == 2 and "Traceback" not in result.stderr, result.stderr
    else:
        refused(result, exit_code, code)
    assert state(app, shop, world) == before


@pytest.mark.parametrize("backend", ["memory"])
@pytest.mark.parametrize("template", USAGE_MISTAKES)
def test_usage_mistakes_exit_2(
    app: injector.Injector, shop: dict[str, Any], world: dict[str, Any], template: str
) -> None:
    result = run(app, *command(template, shop, world))
    assert result.exit_code == 2, result.output + result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_the_demo_leaves_a_settled_group_and_a_failed_one(app: injector.Injector) -> None:
    made = data(app, "demo")
    buys = made["group_buys"]
    settled, failed = buys["settled"], buys["failed"]
    # 五常大米 at ¥59.90 up front; three people reach the ¥56.90 tier: ¥3.00 back a unit
    assert (settled["status"], settled["heads"], settled["unit_price_fen"]) == ("settled", 3, 5690)
    assert (settled["refunded_fen"], buys["commission_fen"]) == (4 * 300, 4 * 5690 * 5 // 100)
    assert (failed["status"], failed["heads"], failed["refunded_fen"]) == ("failed", 1, 5990)
    listed = data(app, "groupbuy", "groups", buys["campaign"]["id"])
    assert sorted(g["status"] for g in listed) == ["failed", "settled"]
    for order_id in settled["order_ids"]:
        order = data(app, "orders", "show", order_id)
        assert order["status"] == "paid"
        assert order["refunded_fen"] == 300 * order["lines"][0]["quantity"]
    [lost] = failed["order_ids"]
    assert data(app, "orders", "show", lost)["status"] == "cancelled"
    assert data(app, "orders", "show", lost)["refunded_fen"] == 5990
    assert data(app, "groupbuy", "earnings", settled["leader_id"])["total_fen"] == 1138
    assert data(app, "groupbuy", "settle")["settled"] == 0  # nothing was left to settle

    again = data(app, "demo")
    assert (again["created"], again["group_buys"]) == (False, None)
    assert data(app, "groupbuy", "groups", buys["campaign"]["id"]) == listed
    text = run(app, "demo").stdout
    assert "already there" in text


def test_the_demo_says_what_it_made(app: injector.Injector) -> None:
    text = run(app, "demo").stdout
    assert "group buying (社区团购): campaign 五常大米 阶梯团" in text
    assert "settled at ¥56.90 with 3 people, ¥12.00 refunded" in text
    assert "failed with 1 of 2 people, ¥59.90 refunded in full" in text


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_settlement_runs_at_once_settle_each_group_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    exe = shutil.which("shequ", path=os.path.dirname(sys.executable))
    assert exe is not None, "install the project (pip install -e .) so that `shequ` exists"
    url = database_url(backend, request, tmp_path)
    long_ago = FixedClock(dt.datetime(2024, 3, 1, 2, 0, tzinfo=dt.UTC))  # deadlines long past
    app = container(settings(storage="sql", database_url=url), long_ago)
    app.get(SchemaMigrations).upgrade()
    shop = GroupShop(app, long_ago)
    here = shop.community()
    rice = shop.rice(here)
    campaigns = [shop.campaign(rice, here), shop.campaign(rice, here, min_heads=3)]
    orders: dict[OrderId, int] = {}  # each paid order and what should come back to it
    for n in range(8):
        campaign = campaigns[n % 2]
        people = [shop.resident(here)[1] for _ in range(2)]
        seats = [shop.start(people[0], campaign, here, 2)]
        seats.append(shop.join(people[1], seats[0].group))
        for seat in seats:
            shop.pay_seat(seat)
            units = seat.order.lines[0].quantity
            orders[seat.order.id] = units * (4500 if campaign.min_heads == 3 else 0)
    env = {
        **os.environ,
        "SHEQU_DATABASE_URL": url,
        "SHEQU_DATA_KEYS": TEST_KEYS["data_keys"],
        "SHEQU_LOOKUP_KEY": TEST_KEYS["lookup_key"],
    }
    runs = [
        subprocess.Popen(
            [exe, "groupbuy", "settle", "--batch", "2", "--json"],
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
    results = [json.loads(out) for out, _ in outputs]
    assert sum(r["settled"] for r in results) == 4 and sum(r["failed"] for r in results) == 4
    assert sum(r["refunded_fen"] for r in results) == sum(orders.values())
    for order_id, back in orders.items():
        order = shop.stored_order(order_id)
        assert order.refunded == Money(back)
        assert order.status is (OrderStatus.CANCELLED if back else OrderStatus.PAID)
    for campaign in campaigns:
        groups = data(app, "groupbuy", "groups", campaign.id)
        wanted = GroupStatus.FAILED if campaign.min_heads == 3 else GroupStatus.SETTLED
        assert [g["status"] for g in groups] == [wanted.value] * 4
