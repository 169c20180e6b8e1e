"""Home delivery over HTTP on every backend: an express order for the resident's door,
paid, packed, dispatched to the sandbox courier, followed through its signed callbacks to
the door, and tracked with its timeline; and the refusals that change nothing."""

from __future__ import annotations

import uuid
from typing import Any

import injector
import pytest
from fastapi.testclient import TestClient

from shequ.adapters.clock import FixedClock
from shequ.adapters.couriers import RetryingCourier, SandboxCourier
from shequ.adapters.payments import SandboxPaymentGateway
from shequ.application.fulfilment.delivery import Couriers
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import PaymentGateway
from shequ.domain.fulfilment.delivery import DeliveryStatus
from shequ.domain.identity import Membership, Role
from shequ.domain.ids import PaymentId
from shequ.entrypoints.http import create_app
from tests.integration.test_http import is_problem
from tests.support import Shop

PASSWORD = "delivery password"
S = DeliveryStatus


def sandbox(app: injector.Injector) -> SandboxCourier:
    courier = app.get(Couriers).get("sandbox")
    assert isinstance(courier, RetryingCourier)
    inner = courier.wrapped
    assert isinstance(inner, SandboxCourier)
    return inner


class World:
    """A community with a SKU on sale, its operator, and a resident with an address."""

    phones = iter(range(13300000000, 13400000000))

    def __init__(self, app: injector.Injector, clock: FixedClock) -> None:
        self.app = app
        self.api = create_app(app)
        shop = Shop(app, clock)
        here = shop.community()
        self.here, self.point = here.id, shop.points[here.id]
        product = shop.product(shop.seller())
        self.sku = shop.sku(product, price="30.00", stock=50, communities=(here,)).id
        self.operator = self.client(Membership(Role.OPERATOR, here.id))
        self.resident = self.client(Membership(Role.RESIDENT, here.id))
        added = self.resident.post(
            "/v1/me/addresses",
            json={"recipient": "张伟", "phone": "13912345678", "detail": "3幢2单元501"},
        )
        assert added.status_code == 201, added.text
        self.address = added.json()["id"]
        self.courier = TestClient(self.api, raise_server_exceptions=False)  # no token

    def client(self, membership: Membership) -> TestClient:
        phone = str(next(self.phones))
        self.app.get(OpenAccountHandler)(
            OpenAccount(phone=phone, password=PASSWORD, memberships=(membership,)), actor=CONSOLE
        )
        client = TestClient(self.api, raise_server_exceptions=False)
        signed = client.post("/v1/auth/sign-in", json={"phone": phone, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
        return client

    def paid(self, *, home: bool = True, express: bool = False) -> str:
        """An order paid in the sandbox: for the resident's door, or for pickup."""
        fulfilment = (
            {"kind": "delivery", "address_id": self.address, "express": express}
            if home
            else {"kind": "pickup", "pickup_point_id": self.point}
        )
        placed = self.resident.post(
            "/v1/orders",
            json={
                "community_id": self.here,
                "items": [{"sku_id": self.sku, "quantity": 1}],
                "fulfilment": fulfilment,
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert placed.status_code == 201, placed.text
        order_id: str = placed.json()["id"]
        intent = self.resident.post(f"/v1/orders/{order_id}/payment")
        assert intent.status_code == 200, intent.text
        gateway = self.app.get(PaymentGateway)
        assert isinstance(gateway, SandboxPaymentGateway)
        body, headers = gateway.pay(PaymentId(intent.json()["payment_id"]))
        notified = self.courier.post("/v1/payments/sandbox/notify", content=body, headers=headers)
        assert notified.json()["outcome"] == "paid", notified.text
        return order_id

    def packed(self, **kwargs: Any) -> str:
        order_id = self.paid(**kwargs)
        self.advance(order_id, "pack")
        return order_id

    def advance(self, order_id: str, action: str) -> None:
        moved = self.operator.post(f"/v1/orders/{order_id}/advance", json={"action": action})
        assert moved.status_code == 200, moved.text

    def status(self, order_id: str) -> str:
        status: str = self.operator.get(f"/v1/orders/{order_id}").json()["status"]
        return status

    def track(self, order_id: str) -> dict[str, Any]:
        tracked = self.resident.get(f"/v1/orders/{order_id}/delivery")
        assert tracked.status_code == 200, tracked.text
        shipment: dict[str, Any] = tracked.json()
        return shipment

    def callback(self, body: bytes, headers: dict[str, str], courier: str = "sandbox") -> Any:
        return self.courier.post(f"/v1/couriers/{courier}/callback", content=body, headers=headers)


@pytest.fixture
def w(app: injector.Injector, clock: FixedClock) -> World:
    return World(app, clock)


def test_an_express_order_is_dispatched_followed_to_the_door_and_tracked(w: World) -> None:
    order_id = w.packed(express=True)
    dispatched = w.operator.post(f"/v1/orders/{order_id}/delivery/dispatch")
    assert dispatched.status_code == 200, dispatched.text
    shipment = dispatched.json()
    assert shipment["order_id"] == order_id and shipment["status"] == "assigned"
    assert shipment["courier"] == "sandbox" and shipment["express"] is True
    assert shipment["fee_fen"] > 0 and shipment["fee"].startswith("¥")
    ref = shipment["courier_ref"]
    rider = sandbox(w.app)
    for status in (S.PICKED_UP, S.OUT_FOR_DELIVERY):
        body, headers = rider.advance(ref, status)
        answered = w.callback(body, headers)
        assert (answered.status_code, answered.json()) == (200, {"ok": True}), answered.text
    assert w.status(order_id) == "out_for_delivery"
    body, headers = rider.advance(ref, S.DELIVERED, proof="门口签收")
    assert w.callback(body, headers).json() == {"ok": True}
    assert w.callback(body, headers).json() == {"ok": True}  # a repeat changes nothing
    assert w.status(order_id) == "delivered"
    tracked = w.track(order_id)
    assert tracked["status"] == "delivered" and tracked["proof"] == "门口签收"
    assert [e["status"] for e in tracked["timeline"]] == [
        "created",
        "assigned",
        "picked_up",
        "out_for_delivery",
        "delivered",
    ]
    assert tracked["timeline"][-1]["source"] == "sandbox"
    assert w.operator.get(f"/v1/orders/{order_id}/delivery").json() == tracked
    # nobody waits for a courier: trying again changes nothing
    admin = w.client(Membership(Role.ADMIN))
    retried = admin.post("/v1/deliveries/dispatch-waiting")
    assert (retried.status_code, retried.json()) == (200, [])


def test_callbacks_that_are_forged_unknown_backwards_or_too_long_change_nothing(
    w: World,
) -> None:
    order_id = w.packed()
    ref = w.operator.post(f"/v1/orders/{order_id}/delivery/dispatch").json()["courier_ref"]
    rider = sandbox(w.app)
    body, headers = rider.advance(ref, S.OUT_FOR_DELIVERY)
    assert w.callback(body, headers).status_code == 200
    before = w.track(order_id)

    body, headers = rider.advance(ref, S.DELIVERED, proof="门口签收")
    forged = {**headers, "x-sandbox-signature": "0" * 64}
    is_problem(w.callback(body, forged), 422, "courier-callback-invalid")
    is_problem(w.callback(body, {}), 422, "courier-callback-invalid")
    is_problem(w.callback(body + b" ", headers), 422, "courier-callback-invalid")
    is_problem(w.callback(b"x" * (64 * 1024 + 1), headers), 422, "courier-callback-invalid")

    unknown = rider.callback(
        {
            "courier_ref": "sbx-nobody",
            "order_id": order_id,
            "status": "delivered",
            "at": before["timeline"][-1]["at"],
            "note": "",
            "proof": "门口签收",
        }
    )
    is_problem(w.callback(*unknown), 404, "delivery-not-found")

    body, headers = rider.advance(ref, S.PICKED_UP)  # backwards
    is_problem(w.callback(body, headers), 409, "illegal-transition")
    assert w.track(order_id) == before
    assert w.status(order_id) == "out_for_delivery"


def test_only_packed_home_delivery_orders_are_dispatched(w: World) -> None:
    paid = w.paid()
    is_problem(w.operator.post(f"/v1/orders/{paid}/delivery/dispatch"), 409, "illegal-transition")
    pickup = w.packed(home=False)
    is_problem(w.operator.post(f"/v1/orders/{pickup}/delivery/dispatch"), 422, "invalid-input")
    for order_id in (paid, pickup):
        is_problem(w.resident.get(f"/v1/orders/{order_id}/delivery"), 404, "delivery-not-found")
    assert (w.status(paid), w.status(pickup)) == ("paid", "packed")
    # the resident may track but not dispatch
    packed = w.packed()
    is_problem(w.resident.post(f"/v1/orders/{packed}/delivery/dispatch"), 403, "forbidden")
    dispatched = w.operator.post(f"/v1/orders/{packed}/delivery/dispatch")
    assert dispatched.json()["status"] == "assigned"
    again = w.operator.post(f"/v1/orders/{packed}/delivery/dispatch")
    is_problem(again, 409, "illegal-transition")


def refund_all(w: World, order_id: str) -> None:
    asked = w.resident.post(f"/v1/orders/{order_id}/refunds", json={"reason": "not_wanted"})
    assert asked.status_code == 201, asked.text
    approved = w.operator.post(f"/v1/refunds/{asked.json()['id']}/approve", json={"note": "同意"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"


def test_an_order_refunded_before_its_courier_has_the_goods_is_not_delivered(
    w: World,
) -> None:
    order_id = w.packed()
    ref = w.operator.post(f"/v1/orders/{order_id}/delivery/dispatch").json()["courier_ref"]
    refund_all(w, order_id)
    assert w.status(order_id) == "cancelled"
    tracked = w.track(order_id)
    assert tracked["status"] == "cancelled"
    assert [e["status"] for e in tracked["timeline"]] == ["created", "assigned", "cancelled"]
    rider = sandbox(w.app)
    told = rider.track(ref)[-1]
    assert told.status is S.FAILED and told.note.startswith("cancelled")  # it was told
    # its report of that is answered and changes nothing
    echoed = w.callback(
        *rider.callback(
            {
                "courier_ref": ref,
                "order_id": order_id,
                "status": "failed",
                "at": tracked["timeline"][-1]["at"],
                "note": told.note,
                "proof": "",
            }
        )
    )
    assert (echoed.status_code, echoed.json()) == (200, {"ok": True}), echoed.text
    assert w.track(order_id) == tracked
    # a late report of the goods picked up changes nothing
    picked = w.callback(
        *rider.callback(
            {
                "courier_ref": ref,
                "order_id": order_id,
                "status": "picked_up",
                "at": tracked["timeline"][-1]["at"],
                "note": "",
                "proof": "",
            }
        )
    )
    is_problem(picked, 409, "illegal-transition")
    assert (w.status(order_id), w.track(order_id)) == ("cancelled", tracked)
    again = w.operator.post(f"/v1/orders/{order_id}/delivery/dispatch")
    is_problem(again, 409, "illegal-transition")


def test_an_order_refunded_while_no_courier_would_take_it_is_never_offered_again(
    w: World,
) -> None:
    rider = sandbox(w.app)
    rider.available = False
    order_id = w.packed()
    waiting = w.operator.post(f"/v1/orders/{order_id}/delivery/dispatch").json()
    assert waiting["status"] == "created" and waiting["pending_reason"]
    refund_all(w, order_id)
    rider.available = True
    admin = w.client(Membership(Role.ADMIN))
    retried = admin.post("/v1/deliveries/dispatch-waiting")
    assert (retried.status_code, retried.json()) == (200, [])
    tracked = w.track(order_id)
    assert (tracked["status"], tracked["courier"], w.status(order_id)) == (
        "cancelled",
        None,
        "cancelled",
    )


def test_a_refund_the_courier_cannot_be_told_of_still_cancels_the_delivery(w: World) -> None:
    order_id = w.packed()
    ref = w.operator.post(f"/v1/orders/{order_id}/delivery/dispatch").json()["courier_ref"]
    rider = sandbox(w.app)
    rider.available = False  # the courier's line is down when the refund is approved
    refund_all(w, order_id)
    rider.available = True
    assert (w.status(order_id), w.track(order_id)["status"]) == ("cancelled", "cancelled")
    assert rider.track(ref)[-1].status is S.ASSIGNED  # left for a person to call
