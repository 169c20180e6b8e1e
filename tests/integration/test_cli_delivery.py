"""Home delivery through the CLI on every backend: an express order for the resident's
door, paid and packed, dispatched to the sandbox courier, played to the door with
``shequ delivery simulate`` and tracked; and the refusals that change nothing, each with
its exit code."""

from __future__ import annotations

import uuid
from typing import Any

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.domain.ids import OrderId
from tests.integration.test_cli_ordering import data, refused, run
from tests.integration.test_http_delivery import sandbox
from tests.support import Shop


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> dict[str, str]:
    """A community with a pickup point, a SKU on sale there, and a resident with an address."""
    made = Shop(app, clock)
    here = made.community()
    sku = made.sku(made.product(made.seller()), price="30.00", stock=20, communities=(here,))
    account, actor = made.resident(here)
    return {
        "here": here.id,
        "point": made.points[here.id],
        "sku": sku.id,
        "resident": account.id,
        "address": made.address(actor),
    }


def paid(app: injector.Injector, shop: dict[str, str], *where: str) -> str:
    order = data(
        app,
        "orders",
        "place",
        "--resident",
        shop["resident"],
        "--community",
        shop["here"],
        "--sku",
        f"{shop['sku']}:1",
        *(where or ("--address", shop["address"])),
        "--key",
        uuid.uuid4().hex,
    )
    data(app, "payments", "simulate", order["id"])
    order_id: str = order["id"]
    return order_id


def packed(app: injector.Injector, shop: dict[str, str], *where: str) -> str:
    order_id = paid(app, shop, *where)
    data(app, "orders", "advance", order_id, "pack")
    return order_id


def status(app: injector.Injector, order_id: str) -> Any:
    return data(app, "orders", "show", order_id)["status"]


def test_an_express_order_is_dispatched_played_to_the_door_and_tracked(
    app: injector.Injector, shop: dict[str, str]
) -> None:
    order_id = packed(app, shop, "--address", shop["address"], "--express")
    shipment = data(app, "delivery", "dispatch", order_id)
    assert shipment["status"] == "assigned" and shipment["courier"] == "sandbox"
    assert shipment["express"] is True and shipment["fee_fen"] > 0
    assert sandbox(app).delivery_of(OrderId(order_id)) == shipment["courier_ref"]
    picked = run(app, "delivery", "simulate", order_id, "picked_up")
    assert picked.exit_code == 0, picked.output + picked.stderr
    assert f"order {order_id}: picked up with sandbox" in picked.stdout
    data(app, "delivery", "simulate", order_id, "out_for_delivery")
    done = data(app, "delivery", "simulate", order_id, "delivered", "--proof", "门口签收")
    assert done["status"] == "delivered" and done["proof"] == "门口签收"
    assert status(app, order_id) == "delivered"
    tracked = data(app, "delivery", "track", order_id)
    assert [e["status"] for e in tracked["timeline"]] == [
        "created",
        "assigned",
        "picked_up",
        "out_for_delivery",
        "delivered",
    ]
    shown = run(app, "delivery", "track", order_id)
    assert shown.exit_code == 0 and "proof: 门口签收" in shown.stdout
    assert "out_for_delivery" in shown.stdout
    assert data(app, "delivery", "dispatch", "--waiting") == []


def test_refusals_change_nothing_and_exit_with_their_code(
    app: injector.Injector, shop: dict[str, str]
) -> None:
    not_packed = paid(app, shop)
    refused(run(app, "delivery", "dispatch", not_packed), 65, "illegal-transition")
    pickup = packed(app, shop, "--pickup-point", shop["point"])
    refused(run(app, "delivery", "dispatch", pickup), 65, "invalid-input")
    refused(run(app, "delivery", "track", pickup), 66, "delivery-not-found")
    refused(run(app, "delivery", "simulate", pickup, "delivered"), 66, "delivery-not-found")
    assert (status(app, not_packed), status(app, pickup)) == ("paid", "packed")

    order_id = packed(app, shop)
    data(app, "delivery", "dispatch", order_id)
    refused(run(app, "delivery", "dispatch", order_id), 65, "illegal-transition")
    data(app, "delivery", "simulate", order_id, "out_for_delivery")
    before = data(app, "delivery", "track", order_id)
    backwards = run(app, "delivery", "simulate", order_id, "picked_up")
    refused(backwards, 65, "illegal-transition")
    failed = run(app, "delivery", "simulate", order_id, "failed")  # with no reason given
    assert failed.exit_code == 0, failed.output + failed.stderr
    assert data(app, "delivery", "track", order_id)["status"] == "failed"
    assert before["status"] == "out_for_delivery"

    for args in (("dispatch",), ("dispatch", order_id, "--waiting")):
        usage = run(app, "delivery", *args)
        assert usage.exit_code == 2 and "ORDER_ID or --waiting" in usage.stderr
    refused(run(app, "delivery", "track", "no-such-order"), 66, "order-not-found")
