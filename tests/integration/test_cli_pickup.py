"""Pickup points and codes through the CLI only, on every backend: a point added, an order
booked on its day, paid, packed, arriving with a code sent to its resident, handed over
for that code and completed; listing and editing points; orders nobody collects; and the
refusals that change nothing, each with its exit code."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.adapters.notify import RecordingNotifier
from shequ.application.ports import UnitOfWork
from shequ.domain.ids import PickupPointId
from tests.integration import test_http_pickup as http_pickup
from tests.integration.test_cli_ordering import data, refused, run

# the storages of the other integration tests, with the notices sent kept for the tests
app, notices = http_pickup.app, http_pickup.notices

TODAY = "2026-11-25"  # NOW in China Standard Time: a Wednesday
DAY = dt.timedelta(days=1)
EVERY_DAY = ("--hours", "daily 08:00-20:00")


@pytest.fixture
def shop(app: injector.Injector) -> dict[str, str]:
    """Two communities, a SKU sold in the first, and two residents of it."""
    here = data(app, "community", "add", "阳光花园", "--city", "杭州")["id"]
    there = data(app, "community", "add", "翠苑", "--city", "杭州")["id"]
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
    sku = data(
        app,
        "catalog",
        "add-sku",
        product,
        "--spec",
        "5斤/箱",
        "--price",
        "20.00",
        "--stock",
        "50",
        "--on-sale",
        "--community",
        here,
    )["id"]
    residents = [
        data(app, "accounts", "create", "--phone", phone, "--role", "resident", "--community", here)
        for phone in ("13812345678", "13812345679")
    ]
    return {
        "here": here,
        "there": there,
        "product": product,
        "sku": sku,
        "resident": residents[0]["id"],
        "neighbour": residents[1]["id"],
    }


def add_point(app: injector.Injector, point_id: str, community: str, *options: str) -> Any:
    return data(
        app,
        "pickup",
        "points",
        "add",
        "--community",
        community,
        "--id",
        point_id,
        "--name",
        "幸福便利店",
        "--address",
        "3幢底商",
        "--location",
        "30.27,120.15",
        *(options or EVERY_DAY),
        *(() if "--capacity" in options else ("--capacity", "100")),
    )


def place(
    app: injector.Injector, shop: dict[str, str], point: str, resident: str = "resident"
) -> Any:
    """``shequ orders place`` of one unit for pickup at ``point``, with a new key."""
    return run(
        app,
        "orders",
        "place",
        "--resident",
        shop[resident],
        "--community",
        shop["here"],
        "--sku",
        f"{shop['sku']}:1",
        "--pickup-point",
        point,
        "--key",
        uuid.uuid4().hex,
        "--json",
    )


def order(
    app: injector.Injector, shop: dict[str, str], point: str, resident: str = "resident"
) -> Any:
    placed = place(app, shop, point, resident)
    assert placed.exit_code == 0, placed.output + placed.stderr
    return json.loads(placed.stdout)


def packed(
    app: injector.Injector, shop: dict[str, str], point: str, resident: str = "resident"
) -> Any:
    placed = order(app, shop, point, resident)
    assert data(app, "payments", "simulate", placed["id"])["outcome"] == "paid"
    return data(app, "orders", "advance", placed["id"], "pack")


def stock(app: injector.Injector, shop: dict[str, str]) -> int:
    [sku] = data(app, "catalog", "show", shop["product"])["skus"]
    return int(sku["stock"])


def booked(app: injector.Injector, point: str, day: str = TODAY) -> int:
    with app.get(UnitOfWork) as uow:
        return uow.pickup_points.booked(PickupPointId(point), dt.date.fromisoformat(day))


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_an_order_is_collected_at_its_point_with_the_code_its_resident_was_sent(
    app: injector.Injector,
    shop: dict[str, str],
    clock: FixedClock,
    notices: RecordingNotifier,
) -> None:
    point = add_point(
        app,
        "pp-east",
        shop["here"],
        "--kind",
        "parcel_station",
        "--hours",
        "mon-fri 08:00-20:00",
        "--hours",
        "sat,sun 09:00-12:00, 14:00-18:00",
        "--closed-on",
        "2026-12-01",
        "--capacity",
        "5",
        "--operator",
        shop["neighbour"],
    )
    assert (point["id"], point["kind"], point["status"]) == ("pp-east", "parcel_station", "active")
    assert point["hours"]["wed"] == ["08:00-20:00"]
    assert point["hours"]["sun"] == ["09:00-12:00", "14:00-18:00"]
    assert point["hours"]["exceptions"] == {"2026-12-01": []}
    assert (point["daily_capacity"], point["operator_id"]) == (5, shop["neighbour"])
    text = run(app, "pickup", "points", "list", "--community", shop["here"]).stdout
    assert "pp-east" in text and "mon-fri 08:00-20:00; sat-sun 09:00-12:00,14:00-18:00" in text

    placed = order(app, shop, "pp-east")
    assert (placed["status"], placed["pickup_date"]) == ("pending_payment", TODAY)
    assert booked(app, "pp-east") == 1
    assert "to be collected on 2026-11-25" in run(app, "orders", "show", placed["id"]).stdout
    data(app, "payments", "simulate", placed["id"])
    data(app, "orders", "advance", placed["id"], "pack")

    arrived = run(app, "pickup", "arrive", "pp-east", placed["id"])
    assert arrived.exit_code == 0, arrived.output + arrived.stderr
    assert placed["id"] in arrived.stdout and "CODE" not in arrived.stdout
    assert "1 order(s) ready for pickup at pp-east" in arrived.stdout
    [(phone, notice)] = notices.notices
    assert (phone, notice.kind, notice.order_id) == ("13812345678", "code", placed["id"])
    assert notice.code is not None and notice.code not in arrived.stdout
    assert data(app, "orders", "show", placed["id"])["status"] == "ready_for_pickup"

    code = data(app, "pickup", "code", placed["id"])
    assert (code["code"], code["status"], code["pickup_point_id"]) == (
        notice.code,
        "waiting",
        "pp-east",
    )
    assert (
        f"code {notice.code} at pp-east, waiting" in run(app, "pickup", "code", placed["id"]).stdout
    )

    clock.advance(dt.timedelta(hours=2))
    handed = data(app, "pickup", "verify", "pp-east", notice.code)
    assert handed["status"] == "picked_up"
    assert handed["timeline"][-1]["note"] == "handed over at 幸福便利店"
    done = data(app, "orders", "advance", placed["id"], "complete")
    assert [t["status"] for t in done["timeline"]] == [
        "pending_payment",
        "paid",
        "packed",
        "ready_for_pickup",
        "picked_up",
        "completed",
    ]
    assert data(app, "pickup", "code", placed["id"])["status"] == "collected"


def test_points_are_listed_nearest_first_edited_paused_and_resumed(
    app: injector.Injector, shop: dict[str, str]
) -> None:
    add_point(app, "pp-far", shop["here"])
    near = data(
        app,
        "pickup",
        "points",
        "add",
        "--community",
        shop["here"],
        "--name",
        "菜鸟驿站",
        "--kind",
        "parcel_station",
        "--address",
        "南门",
        "--location",
        "30.2712,120.15",
        "--hours",
        "sat 09:00-18:00",
        "--capacity",
        "10",
    )
    listed = data(
        app, "pickup", "points", "list", "--community", shop["here"], "--near", "30.2712,120.15"
    )
    assert [(p["id"], p["open_on_day"]) for p in listed] == [(near["id"], False), ("pp-far", True)]
    assert listed[0]["distance_m"] == 0 and listed[1]["distance_m"] > 0
    saturday = data(
        app, "pickup", "points", "list", "--community", shop["here"], "--date", "2026-11-28"
    )
    assert all(p["open_on_day"] for p in saturday)

    paused = data(app, "pickup", "points", "edit", "pp-far", "--pause")
    assert paused["status"] == "paused"
    ids = [p["id"] for p in data(app, "pickup", "points", "list", "--community", shop["here"])]
    assert ids == [near["id"]]
    every = data(app, "pickup", "points", "list", "--community", shop["here"], "--all")
    assert {p["id"]: p["status"] for p in every} == {near["id"]: "active", "pp-far": "paused"}
    refused(place(app, shop, "pp-far"), 65, "pickup-point-unavailable")

    edited = data(
        app,
        "pickup",
        "points",
        "edit",
        "pp-far",
        "--resume",
        "--name",
        "物业前台",
        "--address",
        "1幢大堂",
        "--location",
        "30.28,120.16",
        "--hours",
        "mon-fri 07:00-09:00",
        "--closed-on",
        "2026-11-27",
        "--capacity",
        "7",
        "--operator",
        shop["neighbour"],
    )
    assert (edited["status"], edited["name"], edited["address"]) == (
        "active",
        "物业前台",
        "1幢大堂",
    )
    assert (edited["latitude"], edited["longitude"], edited["daily_capacity"]) == (30.28, 120.16, 7)
    assert edited["hours"]["mon"] == ["07:00-09:00"] and edited["hours"]["sat"] == []
    assert edited["hours"]["exceptions"] == {"2026-11-27": []}
    text = run(app, "pickup", "points", "edit", "pp-far", "--pause").stdout
    assert "paused" in text and "mon-fri 07:00-09:00; closed 2026-11-27" in text

    # refusals that change nothing
    before = data(app, "pickup", "points", "list", "--community", shop["here"], "--all")
    edit = ("pickup", "points", "edit", "pp-far")
    refused(run(app, *edit, "--hours", "mon 20:00-08:00"), 65, "invalid-input")
    refused(run(app, *edit, "--hours", "someday 08:00-20:00"), 65, "invalid-input")
    refused(run(app, *edit, "--hours", "mon"), 65, "invalid-input")
    refused(run(app, *edit, "--hours", "fri-mon 08:00-20:00"), 65, "invalid-input")
    refused(
        run(app, *edit, "--hours", "mon 08:00-12:00", "--hours", "mon 11:00-13:00"),
        65,
        "invalid-input",
    )
    refused(run(app, *edit, "--capacity", "0"), 65, "invalid-input")
    refused(run(app, *edit, "--location", "95,120"), 65, "invalid-input")
    refused(run(app, *edit, "--operator", "nobody"), 66, "account-not-found")
    refused(
        run(app, "pickup", "points", "edit", "nowhere", "--pause"), 66, "pickup-point-not-found"
    )
    refused(add_point_result(app, "pp-far", shop["here"]), 75, "duplicate")
    refused(add_point_result(app, "pp-x", "nowhere"), 66, "community-not-found")
    for usage in (
        run(app, *edit, "--closed-on", "2026-12-01"),
        run(app, *edit, "--location", "north"),
        run(app, "pickup", "points", "add", "--community", shop["here"], "--name", "x"),
    ):
        assert usage.exit_code == 2 and usage.stdout == "", usage.output
    assert data(app, "pickup", "points", "list", "--community", shop["here"], "--all") == before


def add_point_result(app: injector.Injector, point_id: str, community: str) -> Any:
    return run(
        app,
        "pickup",
        "points",
        "add",
        "--community",
        community,
        "--id",
        point_id,
        "--name",
        "重复",
        "--address",
        "某处",
        "--location",
        "30.27,120.15",
        *EVERY_DAY,
        "--capacity",
        "1",
    )


def test_checkout_refuses_another_community_s_paused_full_or_unknown_point(
    app: injector.Injector, shop: dict[str, str]
) -> None:
    add_point(app, "pp-there", shop["there"])
    add_point(app, "pp-small", shop["here"], *EVERY_DAY, "--capacity", "1")
    add_point(app, "pp-east", shop["here"])
    data(app, "pickup", "points", "edit", "pp-east", "--pause")
    before = stock(app, shop)

    refused(place(app, shop, "pp-there"), 65, "pickup-point-unavailable")
    refused(place(app, shop, "pp-east"), 65, "pickup-point-unavailable")
    refused(place(app, shop, "nowhere"), 66, "pickup-point-not-found")
    assert order(app, shop, "pp-small")["pickup_date"] == TODAY
    refused(place(app, shop, "pp-small", resident="neighbour"), 65, "pickup-point-full")
    assert stock(app, shop) == before - 1
    assert (booked(app, "pp-small"), booked(app, "pp-east"), booked(app, "pp-there")) == (1, 0, 0)
    assert len(data(app, "orders", "list", "--community", shop["here"])["items"]) == 1


def test_codes_are_refused_when_wrong_used_or_of_another_point_and_wrong_ones_lock_out(
    app: injector.Injector, shop: dict[str, str], clock: FixedClock
) -> None:
    add_point(app, "pp-east", shop["here"])
    add_point(app, "pp-west", shop["here"])
    first = packed(app, shop, "pp-east")
    second = packed(app, shop, "pp-east", resident="neighbour")
    tickets = data(app, "pickup", "arrive", "pp-east", first["id"], second["id"], "--show-codes")
    codes = {t["order_id"]: t["code"] for t in tickets}
    assert codes[first["id"]] == data(app, "pickup", "code", first["id"])["code"]
    code, other = codes[first["id"]], codes[second["id"]]

    refused(run(app, "pickup", "verify", "pp-west", code), 65, "pickup-code-invalid")
    refused(run(app, "pickup", "verify", "nowhere", code), 66, "pickup-point-not-found")
    refused(run(app, "pickup", "arrive", "pp-east", first["id"]), 65, "illegal-transition")
    refused(run(app, "pickup", "arrive", "pp-west", "nothing"), 66, "order-not-found")
    refused(run(app, "pickup", "code", packed(app, shop, "pp-west")["id"]), 66, "not-found")
    assert data(app, "pickup", "verify", "pp-east", code)["status"] == "picked_up"
    refused(run(app, "pickup", "verify", "pp-east", code), 65, "pickup-code-invalid")  # used

    for _ in range(4):  # with the used one, five wrong codes in 15 minutes
        refused(run(app, "pickup", "verify", "pp-east", wrong(other)), 65, "pickup-code-invalid")
    refused(run(app, "pickup", "verify", "pp-east", other), 75, "rate-limited")
    assert data(app, "orders", "show", second["id"])["status"] == "ready_for_pickup"
    clock.advance(dt.timedelta(minutes=16))
    handed = run(app, "pickup", "verify", "pp-east", other)
    assert handed.exit_code == 0, handed.output + handed.stderr
    assert handed.stdout == (
        f"order {second['id']} is picked_up: hand over 1 unit(s) to resident {shop['neighbour']}\n"
    )


def test_an_order_nobody_collects_is_reminded_then_returned_and_refunded(
    app: injector.Injector,
    shop: dict[str, str],
    clock: FixedClock,
    notices: RecordingNotifier,
) -> None:
    add_point(app, "pp-east", shop["here"])
    waiting = packed(app, shop, "pp-east")
    data(app, "pickup", "arrive", "pp-east", waiting["id"])
    before = stock(app, shop)
    clock.advance(DAY)
    assert data(app, "pickup", "overdue") == {"reminded": 0, "returned": 0}
    clock.advance(2 * DAY)
    assert run(app, "pickup", "overdue").stdout == (
        "1 resident(s) reminded, 0 order(s) returned and refunded\n"
    )
    assert data(app, "pickup", "overdue", "--limit", "10") == {"reminded": 0, "returned": 0}
    clock.advance(5 * DAY)
    assert data(app, "pickup", "overdue") == {"reminded": 0, "returned": 1}
    returned = data(app, "orders", "show", waiting["id"])
    assert (returned["status"], returned["refunded_fen"]) == ("cancelled", 2000)
    assert data(app, "pickup", "code", waiting["id"])["status"] == "returned"
    assert stock(app, shop) == before + 1
    assert [n.kind for _, n in notices.notices] == ["code", "reminder", "returned"]
    assert run(app, "pickup", "overdue", "--limit", "0").exit_code == 2
