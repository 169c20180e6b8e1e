"""Delivery slots and our own riders over HTTP on every backend: the operator opens the
day's slots, the resident orders into one, our rider takes the delivery to the door and
hands it over for the resident's code; and the refusals that change nothing."""

from __future__ import annotations

import uuid
from typing import Any

import injector
import pytest
from fastapi.testclient import TestClient

from shequ.adapters.clock import FixedClock
from shequ.adapters.payments import SandboxPaymentGateway
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import PaymentGateway
from shequ.domain.identity import Membership, Role
from shequ.domain.ids import PaymentId
from shequ.entrypoints.http import create_app
from tests.integration.test_http import is_problem
from tests.support import Shop

PASSWORD = "rider password"
TODAY = "2026-11-25"  # the tests' clock: 10:00 in China


class World:
    """A community with a SKU on sale, its operator, a rider, and a resident with an
    address; and a second community with a slot of its own."""

    phones = iter(range(13200000000, 13300000000))

    def __init__(self, app: injector.Injector, clock: FixedClock) -> None:
        self.app = app
        self.api = create_app(app)
        shop = Shop(app, clock)
        here, away = shop.community(), shop.community("翠苑")
        self.here, self.away = here.id, away.id
        product = shop.product(shop.seller())
        self.sku = shop.sku(product, price="30.00", stock=50, communities=(here,)).id
        self.operator = self.client(Membership(Role.OPERATOR, here.id))
        self.rider, self.rider_id = self.client(Membership(Role.RIDER, here.id), with_id=True)
        self.resident = self.client(Membership(Role.RESIDENT, here.id))
        added = self.resident.post(
            "/v1/me/addresses",
            json={"recipient": "张伟", "phone": "13912345678", "detail": "3幢2单元501"},
        )
        assert added.status_code == 201, added.text
        self.address = added.json()["id"]
        self.anyone = TestClient(self.api, raise_server_exceptions=False)

    def client(self, membership: Membership, *, with_id: bool = False) -> Any:
        phone = str(next(self.phones))
        account = self.app.get(OpenAccountHandler)(
            OpenAccount(phone=phone, password=PASSWORD, memberships=(membership,)), actor=CONSOLE
        )
        client = TestClient(self.api, raise_server_exceptions=False)
        signed = client.post("/v1/auth/sign-in", json={"phone": phone, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
        return (client, account.id) if with_id else client

    def open_slots(self, community: str, capacity: int, first: str = "14:00") -> list[Any]:
        opened = self.operator_of(community).post(
            f"/v1/communities/{community}/delivery-slots",
            json={"date": TODAY, "first": first, "last": "20:00", "capacity": capacity},
        )
        assert opened.status_code == 201, opened.text
        slots: list[Any] = opened.json()
        return slots

    def operator_of(self, community: str) -> TestClient:
        if community == self.here:
            client: TestClient = self.operator
            return client
        admin: TestClient = self.client(Membership(Role.ADMIN))
        return admin

    def order(self, slot_id: str | None) -> Any:
        return self.resident.post(
            "/v1/orders",
            json={
                "community_id": self.here,
                "items": [{"sku_id": self.sku, "quantity": 1}],
                "fulfilment": {"kind": "delivery", "address_id": self.address, "slot_id": slot_id},
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )

    def pay(self, order_id: str) -> None:
        intent = self.resident.post(f"/v1/orders/{order_id}/payment")
        assert intent.status_code == 200, intent.text
        gateway = self.app.get(PaymentGateway)
        assert isinstance(gateway, SandboxPaymentGateway)
        body, headers = gateway.pay(PaymentId(intent.json()["payment_id"]))
        notified = self.anyone.post("/v1/payments/sandbox/notify", content=body, headers=headers)
        assert notified.json()["outcome"] == "paid", notified.text

    def status(self, order_id: str) -> str:
        status: str = self.operator.get(f"/v1/orders/{order_id}").json()["status"]
        return status

    def stock(self) -> int:
        stock: int = self.operator.get(f"/v1/skus/{self.sku}").json()["stock"]
        return stock


@pytest.fixture
def w(team_app: injector.Injector, clock: FixedClock) -> World:
    return World(team_app, clock)


def test_an_order_in_a_slot_is_carried_by_our_rider_and_handed_over_for_the_code(
    w: World,
) -> None:
    slots = w.open_slots(w.here, capacity=5)
    assert [s["starts_at"][11:16] for s in slots] == ["06:00", "08:00", "10:00"]  # UTC
    listed = w.resident.get(f"/v1/communities/{w.here}/delivery-slots", params={"date": TODAY})
    assert [(s["id"], s["bookable"], s["remaining"]) for s in listed.json()] == [
        (s["id"], True, 5) for s in slots
    ]
    placed = w.order(slots[0]["id"])
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    assert placed.json()["delivery"]["slot_id"] == slots[0]["id"]
    w.pay(order_id)
    assert w.operator.post(f"/v1/orders/{order_id}/advance", json={"action": "pack"}).is_success
    shipment = w.operator.post(f"/v1/orders/{order_id}/delivery/dispatch").json()
    assert (shipment["courier"], shipment["rider_id"]) == ("team", w.rider_id)
    assert shipment["slot_id"] == slots[0]["id"]
    assert shipment["window_start"].startswith(f"{TODAY}T06:00")

    mine = w.rider.get("/v1/rider/deliveries").json()
    assert [(d["shipment"]["order_id"], d["address"]["detail"]) for d in mine] == [
        (order_id, "3幢2单元501")
    ]
    accepted = w.rider.post(f"/v1/rider/deliveries/{order_id}/accept")
    assert accepted.status_code == 200 and accepted.json()["shipment"]["rider_accepted_at"]
    for step in ("picked_up", "out_for_delivery"):
        moved = w.rider.post(f"/v1/rider/deliveries/{order_id}/report", json={"status": step})
        assert moved.json()["status"] == step, moved.text
    assert w.status(order_id) == "out_for_delivery"

    code = w.resident.get(f"/v1/orders/{order_id}/delivery/code").json()["code"]
    is_problem(w.rider.get(f"/v1/orders/{order_id}/delivery/code"), 403, "forbidden")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    deliver = f"/v1/rider/deliveries/{order_id}/report"
    is_problem(
        w.rider.post(deliver, json={"status": "delivered", "code": wrong}),
        409,
        "delivery-code-invalid",
    )
    assert w.status(order_id) == "out_for_delivery"
    done = w.rider.post(deliver, json={"status": "delivered", "code": code})
    assert done.json()["status"] == "delivered", done.text
    assert w.status(order_id) == "delivered"
    tracked = w.resident.get(f"/v1/orders/{order_id}/delivery").json()
    assert [e["status"] for e in tracked["timeline"]][-3:] == [
        "picked_up",
        "out_for_delivery",
        "delivered",
    ]
    assert "code" not in tracked and "handover_code" not in tracked
    assert w.rider.get("/v1/rider/deliveries").json() == []


def test_slots_that_cannot_be_chosen_are_refused_and_nothing_changes(w: World) -> None:
    early, *_ = w.open_slots(w.here, capacity=5, first="10:20")  # within the cut-off
    later = w.open_slots(w.here, capacity=1)[0]
    theirs = w.open_slots(w.away, capacity=5)[0]
    stock = w.stock()
    is_problem(w.order(early["id"]), 409, "slot-unavailable")
    is_problem(w.order(theirs["id"]), 409, "slot-unavailable")
    is_problem(w.order("no-such-slot"), 404, "slot-not-found")
    assert w.order(later["id"]).status_code == 201
    is_problem(w.order(later["id"]), 409, "slot-full")
    closed = w.operator.patch(f"/v1/delivery-slots/{early['id']}", json={"open": False})
    assert closed.json()["status"] == "closed"
    is_problem(
        w.operator.patch(f"/v1/delivery-slots/{later['id']}", json={"capacity": 0}),
        422,
        "invalid-input",
    )
    is_problem(w.resident.patch(f"/v1/delivery-slots/{later['id']}", json={}), 403, "forbidden")
    express = w.resident.post(
        "/v1/orders",
        json={
            "community_id": w.here,
            "items": [{"sku_id": w.sku, "quantity": 1}],
            "fulfilment": {
                "kind": "delivery",
                "address_id": w.address,
                "slot_id": later["id"],
                "express": True,
            },
        },
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    is_problem(express, 422, "invalid-input")
    assert w.stock() == stock - 1  # only the one order placed took any
    bad = w.operator.post(
        f"/v1/communities/{w.here}/delivery-slots",
        json={"date": TODAY, "first": "20:00", "last": "08:00", "capacity": 5},
    )
    is_problem(bad, 422, "invalid-input")
