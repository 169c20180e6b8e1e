"""A merchant's promotion over HTTP: published by the merchant, found by a resident in
their community, bought with the voucher fulfilment, paid in the sandbox, redeemed at the
merchant for its code, the rest refunded; refusals as problem+json."""

from __future__ import annotations

from typing import Any

import injector
import pytest
from fastapi.testclient import TestClient

from shequ.adapters.clock import FixedClock
from shequ.adapters.payments import SandboxPaymentGateway
from shequ.application.ports import PaymentGateway
from shequ.domain.ids import PaymentId
from tests.integration.test_http import is_problem
from tests.integration.test_http_services import World

OFFER = {
    "kind": "group_package",
    "title": "四人火锅团购套餐",
    "terms": "到店出示券码；<script>alert(1)</script>",
    "price_fen": 19800,
    "value_fen": 32800,
    "quantity": 50,
    "per_resident": 3,
    "sale_ends_at": "2026-12-02T00:00:00+08:00",
    "use_until": "2026-12-31T00:00:00+08:00",
}


@pytest.fixture
def w(app: injector.Injector, clock: FixedClock) -> World:
    return World(app, clock)


def pay(w: World, order: dict[str, Any]) -> None:
    intent = w.resident.post(f"/v1/orders/{order['id']}/payment")
    assert intent.status_code == 200, intent.text
    gateway = w.app.get(PaymentGateway)
    assert isinstance(gateway, SandboxPaymentGateway)
    body, headers = gateway.pay(PaymentId(intent.json()["payment_id"]))
    paid = TestClient(w.api).post("/v1/payments/sandbox/notify", content=body, headers=headers)
    assert paid.json()["outcome"] == "paid", paid.text


def test_a_promotion_bought_redeemed_and_refunded(w: World) -> None:
    made = w.staff_client.post(f"/v1/merchants/{w.merchant_id}/promotions", json=OFFER)
    assert made.status_code == 201, made.text
    offer = made.json()
    shown = w.resident.get(f"/v1/communities/{w.here}/promotions").json()
    assert [(p["id"], p["terms"]) for p in shown] == [(offer["id"], OFFER["terms"])]
    placed = w.resident.post(
        "/v1/orders",
        json={
            "community_id": w.here,
            "items": [{"sku_id": offer["sku_id"], "quantity": 2}],
            "fulfilment": {"kind": "voucher"},
        },
        headers={"Idempotency-Key": "promo-1"},
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["total_fen"], order["delivery_fee_fen"]) == (39600, 0)
    pay(w, order)
    vouchers = w.resident.get("/v1/me/vouchers").json()
    assert [v["status"] for v in vouchers] == ["valid", "valid"]
    code = vouchers[0]["code"]
    is_problem(
        w.resident.post(f"/v1/merchants/{w.merchant_id}/vouchers/redeem", json={"code": code}),
        403,
        "forbidden",
    )
    redeemed = w.staff_client.post(
        f"/v1/merchants/{w.merchant_id}/vouchers/redeem", json={"code": code}
    )
    assert (redeemed.json()["status"], redeemed.json()["code"]) == ("redeemed", None)
    is_problem(
        w.staff_client.post(
            f"/v1/merchants/{w.merchant_id}/vouchers/redeem", json={"code": "0123456789"}
        ),
        409,
        "voucher-code-invalid",
    )
    is_problem(w.resident.post(f"/v1/orders/{order['id']}/cancel"), 409, "illegal-transition")
    back = w.resident.post(f"/v1/orders/{order['id']}/vouchers/refund", json={})
    assert [v["status"] for v in back.json()] == ["refunded"], back.text
    done = w.resident.get(f"/v1/orders/{order['id']}").json()
    assert (done["status"], done["refunded_fen"]) == ("completed", 19800)
    is_problem(
        w.resident.post(
            "/v1/orders",
            json={
                "community_id": w.here,
                "items": [{"sku_id": offer["sku_id"], "quantity": 1}],
                "fulfilment": {"kind": "voucher", "pickup_point_id": "pp-1"},
            },
            headers={"Idempotency-Key": "promo-2"},
        ),
        422,
        "invalid-input",
    )
    is_problem(
        w.staff_client.post(
            f"/v1/merchants/{w.merchant_id}/promotions", json=OFFER | {"price_fen": 0}
        ),
        422,
        "invalid-input",
    )
