"""Delivery slots, our own riders and the day's route plan through the CLI on every
backend: slots opened, listed and edited; an order placed into a slot; a team delivery
reassigned; and ``shequ delivery plan`` with its table, JSON, CSV and GeoJSON, and the
exit code that says something was left out."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.catalog.products import EditProduct, EditProductHandler
from shequ.application.policy import CONSOLE
from shequ.domain.catalog import FreshFacts, StorageMethod
from shequ.domain.routing import GeoPoint
from tests.integration.test_cli_ordering import data, refused, run
from tests.support import Shop

TODAY = "2026-11-25"  # the tests' clock: 10:00 in China


@pytest.fixture
def app(team_app: injector.Injector) -> injector.Injector:
    return team_app


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> dict[str, str]:
    """A community with a pickup point, a rider, a SKU on sale there (and a chilled one),
    and a resident with an address."""
    made = Shop(app, clock)
    here = made.community()
    seller = made.seller()
    sku = made.sku(made.product(seller), price="30.00", stock=50, communities=(here,))
    milk = made.product(seller, "鲜牛奶", "生鲜/乳品")
    app.get(EditProductHandler)(
        EditProduct(milk.id, fresh=FreshFacts(StorageMethod.CHILLED, 3)), actor=CONSOLE
    )
    cold = made.sku(milk, "1L", price="12.00", stock=50, communities=(here,))
    account, actor = made.resident(here)
    rider, _ = made.rider(here)
    return {
        "here": here.id,
        "point": made.points[here.id],
        "sku": sku.id,
        "cold": cold.id,
        "resident": account.id,
        "address": made.address(actor),
        "rider": rider.id,
    }


def place(app: injector.Injector, shop: dict[str, str], *where: str, sku: str = "sku") -> str:
    order = data(
        app,
        "orders",
        "place",
        "--resident",
        shop["resident"],
        "--community",
        shop["here"],
        "--sku",
        f"{shop[sku]}:1",
        *where,
        "--key",
        uuid.uuid4().hex,
    )
    data(app, "payments", "simulate", order["id"])
    order_id: str = order["id"]
    return order_id


def test_slots_are_opened_listed_edited_and_chosen_at_checkout(
    app: injector.Injector, shop: dict[str, str]
) -> None:
    opened = run(
        app,
        "delivery", "slots", "open", "--community", shop["here"], "--date", TODAY,
        "--from", "14:00", "--to", "20:00", "--capacity", "2",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output + opened.stderr
    assert "opened 3 slot(s)" in opened.stderr and "2026-11-25 14:00" in opened.stdout
    slots = data(app, "delivery", "slots", "list", "--community", shop["here"], "--date", TODAY)
    assert [(s["capacity"], s["booked"], s["bookable"]) for s in slots] == [(2, 0, True)] * 3
    again = data(
        app,
        "delivery", "slots", "open", "--community", shop["here"], "--date", TODAY,
        "--from", "14:00", "--to", "20:00", "--capacity", "2",
    )  # fmt: skip
    assert again == []
    first = slots[0]["id"]
    order_id = place(app, shop, "--address", shop["address"], "--slot", first)
    assert data(app, "orders", "show", order_id)["slot_id"] == first
    shown = run(app, "orders", "show", order_id)
    assert f"slot {first}" in shown.stdout
    refused(run(app, "delivery", "slots", "edit", first, "--capacity", "0"), 65, "invalid-input")
    closed = data(app, "delivery", "slots", "edit", first, "--close")
    assert (closed["status"], closed["booked"], closed["bookable"]) == ("closed", 1, False)
    refused(
        run(
            app,
            "orders", "place", "--resident", shop["resident"], "--community", shop["here"],
            "--sku", f"{shop['sku']}:1", "--address", shop["address"], "--slot", first,
            "--key", uuid.uuid4().hex,
        ),
        65,
        "slot-unavailable",
    )  # fmt: skip
    refused(run(app, "delivery", "slots", "edit", "nope", "--open"), 66, "slot-not-found")
    usage = run(
        app,
        "orders", "place", "--resident", shop["resident"], "--community", shop["here"],
        "--sku", f"{shop['sku']}:1", "--pickup-point", shop["point"], "--slot", first,
        "--key", "k",
    )  # fmt: skip
    assert usage.exit_code == 2 and "--slot" in usage.stderr


def test_a_team_delivery_is_reassigned_to_the_queue_and_back(
    app: injector.Injector, shop: dict[str, str]
) -> None:
    order_id = place(app, shop, "--address", shop["address"])
    data(app, "orders", "advance", order_id, "pack")
    shipment = data(app, "delivery", "dispatch", order_id)
    assert (shipment["courier"], shipment["rider_id"]) == ("team", shop["rider"])
    queued = run(app, "delivery", "assign", order_id, "--queue")
    assert queued.exit_code == 0 and "in the team's queue" in queued.stdout
    back = data(app, "delivery", "assign", order_id, "--rider", shop["rider"])
    assert back["rider_id"] == shop["rider"]
    refused(
        run(app, "delivery", "assign", order_id, "--rider", shop["resident"]), 65, "invalid-input"
    )
    usage = run(app, "delivery", "assign", order_id)
    assert usage.exit_code == 2 and "--rider" in usage.stderr


def test_the_day_s_plan_prints_routes_and_writes_csv_and_geojson(
    app: injector.Injector, shop: dict[str, str], tmp_path: Path
) -> None:
    data(app, "community", "edit", shop["here"], "--location", "30.2800,120.1600")
    slots = data(
        app,
        "delivery", "slots", "open", "--community", shop["here"], "--date", TODAY,
        "--from", "14:00", "--to", "18:00", "--capacity", "20",
    )  # fmt: skip
    orders = [
        place(app, shop, "--pickup-point", shop["point"]),
        place(app, shop, "--pickup-point", shop["point"], sku="cold"),
        place(app, shop, "--address", shop["address"], "--slot", slots[0]["id"]),
        place(app, shop, "--address", shop["address"], "--slot", slots[1]["id"]),
        place(app, shop, "--address", shop["address"], "--slot", slots[1]["id"], sku="cold"),
    ]
    csv_file, geo_file = tmp_path / "plan.csv", tmp_path / "plan.geojson"
    args = ("delivery", "plan", "--date", TODAY, "--time-limit", "1")
    files = ("--csv", str(csv_file), "--geojson", str(geo_file))
    shown = run(app, *args, *files)
    assert shown.exit_code == 0, shown.output + shown.stderr
    assert "5 stop(s), 5 order(s)" in shown.stdout and "(cold)" in shown.stdout
    rows = list(csv.DictReader(csv_file.open(encoding="utf-8")))
    planned = [o for row in rows for o in row["order_ids"].split()]
    assert sorted(planned) == sorted(orders)
    assert all(row["vehicle"] for row in rows)
    assert {row["vehicle"] for row in rows if row["cold"] == "True"} <= {"cold-1"}
    geo = json.loads(geo_file.read_text(encoding="utf-8"))
    kinds = [f["properties"]["kind"] for f in geo["features"]]
    assert kinds.count("depot") == 1 and kinds.count("route") >= 1
    assert kinds.count("pickup_point") == 2 and kinds.count("community") == 3
    depot = next(f for f in geo["features"] if f["properties"]["kind"] == "depot")
    assert depot["geometry"]["coordinates"] == [120.1551, 30.2741]  # longitude first

    as_json = data(app, *args)
    assert as_json["stops"] == 5 and as_json["unplaced"] == [] and as_json["faults"] == []
    tiny = run(app, *args, "--vehicle", "van-1:1", "--json")
    assert tiny.exit_code == 1, tiny.output + tiny.stderr  # something could not fit
    left = json.loads(tiny.stdout)
    assert left["unplaced"] and all(u["reason"] for u in left["unplaced"])
    empty = run(app, "delivery", "plan", "--date", "2026-12-25")
    assert empty.exit_code == 0 and "nothing to deliver that day" in empty.stdout
    bad = run(app, *args, "--vehicle", "van-1")
    assert bad.exit_code == 2 and "ID:CAPACITY" in bad.stderr
    refused(run(app, *args, "--depot", "91,0"), 65, "invalid-input")
    assert run(app, *args, "--depot", "north").exit_code == 2


def test_a_community_without_a_location_is_reported_and_the_plan_exits_1(
    app: injector.Injector, shop: dict[str, str]
) -> None:
    slot = data(
        app,
        "delivery", "slots", "open", "--community", shop["here"], "--date", TODAY,
        "--from", "14:00", "--to", "16:00", "--capacity", "20",
    )[0]  # fmt: skip
    order_id = place(app, shop, "--address", shop["address"], "--slot", slot["id"])
    shown = run(app, "delivery", "plan", "--date", TODAY, "--time-limit", "1")
    assert shown.exit_code == 1
    assert f"not planned: order {order_id}" in shown.stdout and "no location" in shown.stdout
    assert GeoPoint  # where a community is, is set with `shequ community edit --location`
