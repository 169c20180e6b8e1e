"""Ordering over HTTP on every backend: cart, checkout, payment, fulfilment, coupons, refunds."""

from __future__ import annotations

import datetime as dt
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

PASSWORD = "ordering password"
PICKUP = {"kind": "pickup", "pickup_point_id": "pp-1"}


class World:
    """A community with a local grocer, three SKUs, and signed-in clients: two residents,
    the community's operator and a platform admin."""

    phones = iter(range(13700000000, 13800000000))

    def __init__(self, app: injector.Injector, clock: FixedClock) -> None:
        self.app, self.clock = app, clock
        self.sent: dict[str, tuple[bytes, dict[str, str]]] = {}
        self.api = create_app(app)
        shop = Shop(app, clock)
        here = shop.community()
        self.community = here.id
        self.grocer = shop.seller("老王生鲜铺", community=here)
        fruit = shop.product(self.grocer)
        self.oranges = shop.sku(fruit, "5斤/箱", "29.90", stock=10, communities=(here,)).id
        self.apples = shop.sku(fruit, "2斤/袋", "10.00", stock=20, communities=(here,)).id
        self.off_sale = shop.sku(fruit, "礼盒", "88.00", on_sale=False, communities=(here,)).id
        self.resident_id, self.resident = self.account(Membership(Role.RESIDENT, here.id))
        self.neighbour_id, self.neighbour = self.account(Membership(Role.RESIDENT, here.id))
        _, self.operator = self.account(Membership(Role.OPERATOR, here.id))
        _, self.admin = self.account(Membership(Role.ADMIN))

    def account(self, membership: Membership) -> tuple[str, TestClient]:
        phone = str(next(self.phones))
        account = self.app.get(OpenAccountHandler)(
            OpenAccount(phone=phone, password=PASSWORD, memberships=(membership,)), actor=CONSOLE
        )
        client = TestClient(self.api, raise_server_exceptions=False)
        signed = client.post("/v1/auth/sign-in", json={"phone": phone, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
        return account.id, client

    def checkout(
        self, client: TestClient | None = None, key: str | None = None, **body: Any
    ) -> Any:
        payload = {"community_id": self.community, "fulfilment": PICKUP, **body}
        headers = {"Idempotency-Key": key or uuid.uuid4().hex}
        return (client or self.resident).post("/v1/orders", json=payload, headers=headers)

    def order(self, *items: tuple[str, int], **body: Any) -> dict[str, Any]:
        lines = [{"sku_id": sku, "quantity": n} for sku, n in items]
        placed = self.checkout(items=lines, **body)
        assert placed.status_code == 201, placed.text
        result: dict[str, Any] = placed.json()
        return result

    def notification(self, order: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The resident pays in the sandbox; the notification it then sends."""
        intent = self.resident.post(f"/v1/orders/{order['id']}/payment")
        assert intent.status_code == 200, intent.text
        assert intent.json()["amount_fen"] == order["total_fen"]
        gateway = self.app.get(PaymentGateway)
        assert isinstance(gateway, SandboxPaymentGateway)
        return gateway.pay(PaymentId(intent.json()["payment_id"]))

    def pay(self, order: dict[str, Any]) -> dict[str, Any]:
        body, headers = self.sent[order["id"]] = self.notification(order)
        paid = TestClient(self.api).post(
            "/v1/payments/sandbox/notify", content=body, headers=headers
        )
        assert paid.json()["outcome"] == "paid", paid.text
        return self.get(order["id"])

    def advance(self, order_id: str, *actions: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for action in actions:
            response = self.operator.post(
                f"/v1/orders/{order_id}/advance", json={"action": action, "note": f"{action} ok"}
            )
            assert response.status_code == 200, response.text
            result = response.json()
        return result

    def get(self, order_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.resident.get(f"/v1/orders/{order_id}").json()
        return found

    def collect(self, order_id: str) -> dict[str, Any]:
        """A packed pickup order arrives at its point and is handed over for its code."""
        point = self.get(order_id)["delivery"]["pickup_point_id"]
        arrived = self.operator.post(
            f"/v1/pickup-points/{point}/arrivals", json={"order_ids": [order_id]}
        )
        assert arrived.status_code == 200, arrived.text
        code = self.resident.get(f"/v1/orders/{order_id}/pickup-code").json()["code"]
        verified = self.operator.post(f"/v1/pickup-points/{point}/verify", json={"code": code})
        assert verified.status_code == 200, verified.text
        collected: dict[str, Any] = verified.json()
        return collected

    def stock(self, sku_id: str) -> int:
        stock: int = self.resident.get(f"/v1/skus/{sku_id}").json()["stock"]
        return stock

    def cart(self) -> Any:
        return self.resident.get("/v1/cart", params={"community_id": self.community}).json()

    def my_orders(self) -> list[str]:
        return [o["id"] for o in self.resident.get("/v1/orders").json()["items"]]

    def coupon(self, **terms: Any) -> dict[str, Any]:
        now = self.clock.now()
        body = {
            "name": "测试券",
            "valid_from": now.isoformat(),
            "valid_until": (now + dt.timedelta(days=7)).isoformat(),
            **terms,
        }
        made = self.admin.post("/v1/coupons", json=body)
        assert made.status_code == 201, made.text
        coupon: dict[str, Any] = made.json()
        return coupon

    def issue(self, coupon: dict[str, Any], resident_id: str | None = None) -> str:
        issued = self.admin.post(
            f"/v1/coupons/{coupon['id']}/issue",
            json={"resident_ids": [resident_id or self.resident_id]},
        )
        assert issued.status_code == 201, issued.text
        grant_id: str = issued.json()[0]["id"]
        return grant_id


@pytest.fixture
def w(app: injector.Injector, clock: FixedClock) -> World:
    return World(app, clock)


def test_a_pickup_order_goes_from_the_cart_to_completed(w: World) -> None:
    added = w.resident.post(
        "/v1/cart/items", json={"community_id": w.community, "sku_id": w.oranges, "quantity": 1}
    )
    assert added.status_code == 200, added.text
    w.resident.post(
        "/v1/cart/items", json={"community_id": w.community, "sku_id": w.oranges, "quantity": 2}
    )
    w.clock.advance(dt.timedelta(seconds=1))
    w.resident.post(
        "/v1/cart/items", json={"community_id": w.community, "sku_id": w.off_sale, "quantity": 1}
    )
    cart = w.cart()
    assert [(i["sku_id"], i["quantity"], i["problem"]) for i in cart["items"]] == [
        (w.oranges, 3, None),
        (w.off_sale, 1, "off_sale"),
    ]
    assert cart["items"][0]["offer"]["price_fen"] == 2990
    quote = cart["quote"]
    assert (quote["subtotal_fen"], quote["delivery_fee_fen"], quote["total_fen"]) == (8970, 0, 8970)
    assert quote["total"] == "¥89.70" and quote["lines"][0]["payable_fen"] == 8970

    placed = w.checkout(key="cart-order-1", from_cart=True)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    again = w.checkout(key="cart-order-1", from_cart=True)
    assert (again.status_code, again.json()["id"]) == (201, order["id"])
    assert order["status"] == "pending_payment" and order["total_fen"] == 8970
    assert [(x["sku_id"], x["quantity"]) for x in order["lines"]] == [(w.oranges, 3)]
    assert w.stock(w.oranges) == 7
    assert [i["sku_id"] for i in w.cart()["items"]] == [w.off_sale]  # ordered lines left

    order = w.pay(order)
    assert (order["status"], order["paid_fen"]) == ("paid", 8970)
    body, headers = w.sent[order["id"]]
    repeated = TestClient(w.api).post("/v1/payments/sandbox/notify", content=body, headers=headers)
    assert repeated.json()["outcome"] == "already_applied"

    w.advance(order["id"], "pack")
    by_hand = w.operator.post(f"/v1/orders/{order['id']}/advance", json={"action": "ready"})
    is_problem(by_hand, 409, "illegal-transition")  # only its arrival makes it ready
    assert w.collect(order["id"])["status"] == "picked_up"
    done = w.advance(order["id"], "complete")
    assert done["status"] == "completed"
    detail = w.get(order["id"])
    assert [h["status"] for h in detail["history"]] == [
        "pending_payment",
        "paid",
        "packed",
        "ready_for_pickup",
        "picked_up",
        "completed",
    ]
    assert detail["history"][-1]["note"] == "complete ok"
    assert w.my_orders() == [order["id"]]
    listed = w.operator.get(
        "/v1/orders", params={"community_id": w.community, "status": "completed"}
    )
    assert [o["id"] for o in listed.json()["items"]] == [order["id"]]


def test_a_delivery_order_is_dispatched_delivered_and_completed(w: World) -> None:
    address = w.resident.post(
        "/v1/me/addresses",
        json={"recipient": "张伟", "phone": "13912345678", "detail": "3幢2单元501"},
    ).json()["id"]
    order = w.order(
        (w.apples, 2),
        fulfilment={"kind": "delivery", "address_id": address, "express": True},
    )
    assert (order["subtotal_fen"], order["delivery_fee_fen"], order["total_fen"]) == (
        2000,
        1300,
        3300,
    )
    assert order["delivery"] == {
        "kind": "delivery",
        "pickup_point_id": None,
        "address_id": address,
        "express": True,
        "slot_id": None,
    }
    w.pay(order)
    ready = w.operator.post(f"/v1/orders/{order['id']}/advance", json={"action": "pack"})
    assert ready.status_code == 200
    wrong = w.operator.post(f"/v1/orders/{order['id']}/advance", json={"action": "ready"})
    is_problem(wrong, 409, "illegal-transition")
    done = w.advance(order["id"], "dispatch", "deliver", "complete")
    assert [h["status"] for h in done["history"]][-4:] == [
        "packed",
        "out_for_delivery",
        "delivered",
        "completed",
    ]


def test_a_refund_is_requested_approved_and_shown_on_the_order(w: World) -> None:
    order = w.pay(w.order((w.oranges, 3)))
    w.advance(order["id"], "pack")
    w.collect(order["id"])
    asked = w.resident.post(
        f"/v1/orders/{order['id']}/refunds",
        json={
            "reason": "quality",
            "items": [{"sku_id": w.oranges, "quantity": 1}],
            "photos": ["/media/bruised.jpg"],
            "comment": "一个烂了",
        },
    )
    assert asked.status_code == 201, asked.text
    refund = asked.json()
    assert (refund["status"], refund["amount_fen"], refund["items"][0]["quantity"]) == (
        "requested",
        2990,
        1,
    )
    pending = w.get(order["id"])["lines"][0]
    assert (pending["pending_quantity"], pending["pending_fen"]) == (1, 2990)
    mine = w.resident.get("/v1/refunds", params={"order_id": order["id"]}).json()
    assert [r["id"] for r in mine] == [refund["id"]]
    queue = w.operator.get(
        "/v1/refunds", params={"community_id": w.community, "status": "requested"}
    )
    assert [r["id"] for r in queue.json()] == [refund["id"]]

    approved = w.operator.post(f"/v1/refunds/{refund['id']}/approve", json={"note": "已核实"})
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["paid_out"]) == ("approved", True)
    after = w.get(order["id"])
    assert (after["refunded_fen"], after["refunded"], after["paid_fen"]) == (2990, "¥29.90", 8970)
    line = after["lines"][0]
    assert (line["refunded_quantity"], line["refunded_fen"], line["pending_quantity"]) == (
        1,
        2990,
        0,
    )
    assert w.stock(w.oranges) == 7  # the goods had left: nothing goes back

    partial = w.resident.post(
        f"/v1/orders/{order['id']}/refunds", json={"reason": "missing", "amount_fen": 1000}
    )
    assert partial.json()["amount_fen"] == 1000
    rejected = w.operator.post(f"/v1/refunds/{partial.json()['id']}/reject", json={"note": "不符"})
    assert rejected.json()["status"] == "rejected"
    assert w.get(order["id"])["refunded_fen"] == 2990


def test_too_much_back_is_refused_and_changes_nothing(w: World) -> None:
    order = w.pay(w.order((w.oranges, 2)))
    before = w.get(order["id"])
    is_problem(
        w.resident.post(
            f"/v1/orders/{order['id']}/refunds", json={"reason": "quality", "amount_fen": 5981}
        ),
        409,
        "refund-exceeds-paid",
    )
    is_problem(
        w.resident.post(
            f"/v1/orders/{order['id']}/refunds",
            json={"reason": "quality", "items": [{"sku_id": w.oranges, "quantity": 3}]},
        ),
        409,
        "refund-exceeds-paid",
    )
    is_problem(
        w.resident.post(
            f"/v1/orders/{order['id']}/refunds", json={"reason": "quality", "amount_fen": 10.5}
        ),
        422,
        "request-invalid",
    )
    assert w.get(order["id"]) == before
    assert w.operator.get("/v1/refunds", params={"community_id": w.community}).json() == []


@pytest.mark.parametrize(
    ("quantity", "status", "code"),
    [
        (0, 422, "invalid-quantity"),
        (-1, 422, "invalid-quantity"),
        (10000, 422, "invalid-quantity"),
        (1.5, 422, "request-invalid"),
        (2.0, 422, "request-invalid"),
        ("2", 422, "request-invalid"),
    ],
)
def test_a_bad_quantity_is_refused_and_changes_nothing(
    w: World, quantity: Any, status: int, code: str
) -> None:
    w.resident.post(
        "/v1/cart/items", json={"community_id": w.community, "sku_id": w.apples, "quantity": 1}
    )
    cart = w.cart()
    item = {"sku_id": w.oranges, "quantity": quantity}
    is_problem(w.checkout(items=[item]), status, code)
    is_problem(
        w.resident.post("/v1/cart/items", json={"community_id": w.community, **item}),
        status,
        code,
    )
    is_problem(
        w.resident.patch(
            f"/v1/cart/items/{w.apples}", json={"community_id": w.community, "quantity": quantity}
        ),
        status,
        code,
    )
    assert w.cart() == cart
    assert w.stock(w.oranges) == 10 and w.my_orders() == []


def test_an_off_sale_sku_is_refused_and_changes_nothing(w: World) -> None:
    items = [{"sku_id": w.oranges, "quantity": 1}, {"sku_id": w.off_sale, "quantity": 1}]
    is_problem(w.checkout(items=items), 409, "sku-unavailable")
    is_problem(w.checkout(items=[{"sku_id": w.oranges, "quantity": 11}]), 409, "out-of-stock")
    is_problem(w.checkout(items=[{"sku_id": "nosuch", "quantity": 1}]), 404, "sku-not-found")
    assert w.stock(w.oranges) == 10 and w.my_orders() == []


def test_coupons_are_claimed_quoted_and_used_at_checkout(w: World) -> None:
    coupon = w.coupon(
        kind="threshold", amount_fen=1000, threshold_fen=5000, claim_code="MAN50", total_limit=100
    )
    assert (coupon["kind_label"], coupon["issued"], coupon["remaining"]) == ("满减", 0, 100)
    claimed = w.resident.post("/v1/coupons/claim", json={"code": "man50"})
    assert claimed.status_code == 201, claimed.text
    grant = claimed.json()["id"]
    is_problem(w.resident.post("/v1/coupons/claim", json={"code": "MAN50"}), 409, "coupon-used-up")
    is_problem(w.resident.post("/v1/coupons/claim", json={"code": "NOPE"}), 404, "coupon-not-found")
    mine = w.resident.get("/v1/coupons/mine").json()
    assert [(h["grant"]["id"], h["coupon"]["name"]) for h in mine] == [(grant, "测试券")]
    assert "claim_code" not in mine[0]["coupon"]

    w.resident.post(
        "/v1/cart/items", json={"community_id": w.community, "sku_id": w.oranges, "quantity": 2}
    )
    quote = w.cart()["quote"]
    assert (quote["discount_fen"], quote["total_fen"], quote["savings_fen"]) == (1000, 4980, 1000)
    assert [(c["grant_id"], c["saving_fen"]) for c in quote["coupons"]] == [(grant, 1000)]

    order = w.order((w.oranges, 2), coupon_ids=None)
    assert (order["discount_fen"], order["total_fen"], order["coupon_ids"]) == (1000, 4980, [grant])
    used = w.resident.get("/v1/coupons/mine").json()[0]["grant"]
    assert used["used_by"] == order["id"]
    listed = w.admin.get("/v1/coupons", params={"platform": "true"}).json()
    assert [(c["id"], c["issued"]) for c in listed] == [(coupon["id"], 1)]


def test_a_coupon_that_cannot_be_used_is_refused_and_changes_nothing(
    w: World, clock: FixedClock
) -> None:
    now = clock.now()
    soon = w.coupon(
        kind="amount", amount_fen=300, valid_until=(now + dt.timedelta(minutes=1)).isoformat()
    )
    expired = w.issue(soon)
    percent = w.coupon(kind="percent", percent_off=10)
    used = w.issue(percent)
    w.order((w.apples, 1), coupon_ids=[used])
    big = w.coupon(kind="threshold", amount_fen=2000, threshold_fen=20000)
    below = w.issue(big)
    theirs = w.issue(w.coupon(kind="amount", amount_fen=100), w.neighbour_id)
    first = w.issue(w.coupon(kind="delivery", name="免运费1"))
    second = w.issue(w.coupon(kind="delivery", name="免运费2"))
    clock.advance(dt.timedelta(minutes=2))
    stock, orders = w.stock(w.oranges), w.my_orders()
    item = [{"sku_id": w.oranges, "quantity": 1}]
    for grants, code in [
        ([expired], "coupon-expired"),
        ([used], "coupon-used-up"),
        ([theirs], "coupon-not-yours"),
        ([below], "coupon-below-threshold"),
        ([first, second], "coupons-not-stackable"),
        (["nosuch"], "coupon-not-found"),
    ]:
        status = 404 if code == "coupon-not-found" else 409
        is_problem(w.checkout(items=item, coupon_ids=grants), status, code)
    assert (w.stock(w.oranges), w.my_orders()) == (stock, orders)
    held = {
        h["grant"]["id"]: h["grant"]["used_by"] for h in w.resident.get("/v1/coupons/mine").json()
    }
    assert [g for g, by in held.items() if by] == [used]


def test_only_paid_orders_are_fulfilled(w: World) -> None:
    order = w.order((w.apples, 1))
    is_problem(
        w.operator.post(f"/v1/orders/{order['id']}/advance", json={"action": "pack"}),
        409,
        "illegal-transition",
    )
    is_problem(
        w.operator.post(f"/v1/orders/{order['id']}/advance", json={"action": "pay"}),
        422,
        "request-invalid",
    )
    assert w.get(order["id"]) == order
    cancelled = w.resident.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "买错了"})
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["order"]["status"], cancelled.json()["refund"]) == ("cancelled", None)
    assert w.stock(w.apples) == 20
    is_problem(w.resident.post(f"/v1/orders/{order['id']}/payment"), 409, "illegal-transition")


def test_a_paid_order_cancelled_is_refunded_in_full(w: World) -> None:
    order = w.pay(w.order((w.oranges, 2)))
    done = w.resident.post(f"/v1/orders/{order['id']}/cancel").json()
    assert done["order"]["status"] == "cancelled"
    assert (done["refund"]["amount_fen"], done["refund"]["paid_out"]) == (5980, True)
    assert done["order"]["refunded_fen"] == 5980 and w.stock(w.oranges) == 10


def test_an_idempotency_key_is_required_and_bound_to_its_body(w: World) -> None:
    items = [{"sku_id": w.apples, "quantity": 1}]
    payload = {"community_id": w.community, "fulfilment": PICKUP, "items": items}
    missing = w.resident.post("/v1/orders", json=payload)
    assert is_problem(missing, 422, "request-invalid")["errors"][0]["location"] == (
        "header.idempotency-key"
    )
    is_problem(w.checkout(key="x" * 65, items=items), 422, "invalid-input")
    first = w.checkout(key="k-1", items=items)
    assert first.status_code == 201
    other = w.checkout(key="k-1", items=[{"sku_id": w.apples, "quantity": 2}])
    is_problem(other, 409, "idempotency-key-reused")
    is_problem(w.checkout(key="k-2", items=items, colour="red"), 422, "request-invalid")
    is_problem(
        w.checkout(key="k-3", items=items, fulfilment={"kind": "pickup"}), 422, "invalid-input"
    )
    assert w.stock(w.apples) == 19 and w.my_orders() == [first.json()["id"]]


def test_a_forged_payment_notification_is_refused(w: World) -> None:
    order = w.order((w.apples, 1))
    body, headers = w.notification(order)
    anyone = TestClient(w.api, raise_server_exceptions=False)
    forged = body.replace(b'"amount_fen": 1000', b'"amount_fen": 1')
    assert forged != body
    is_problem(
        anyone.post("/v1/payments/sandbox/notify", content=forged, headers=headers),
        422,
        "payment-notification-invalid",
    )
    is_problem(
        anyone.post("/v1/payments/sandbox/notify", content=body),
        422,
        "payment-notification-invalid",
    )
    is_problem(
        anyone.post("/v1/payments/wechat/notify", content=body, headers=headers),
        404,
        "payment-provider-not-found",
    )
    assert w.get(order["id"])["status"] == "pending_payment"


def test_a_resident_sees_only_their_own_orders(w: World) -> None:
    placed = []
    for _ in range(3):
        w.clock.advance(dt.timedelta(seconds=1))
        placed.append(w.order((w.apples, 1))["id"])
    first = w.resident.get("/v1/orders", params={"limit": 2}).json()
    rest = w.resident.get("/v1/orders", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [o["id"] for o in first["items"] + rest.json()["items"]] == placed[::-1]
    assert rest.json()["next_cursor"] is None
    naive = w.resident.get("/v1/orders", params={"since": "2026-11-25T00:00:00"})
    is_problem(naive, 422, "request-invalid")
    order = w.get(placed[0])
    is_problem(w.neighbour.get(f"/v1/orders/{order['id']}"), 403, "forbidden")
    is_problem(w.neighbour.post(f"/v1/orders/{order['id']}/cancel"), 403, "forbidden")
    assert w.neighbour.get("/v1/orders").json() == {"items": [], "next_cursor": None}
    is_problem(
        w.neighbour.get("/v1/orders", params={"community_id": w.community}), 403, "forbidden"
    )
    is_problem(w.resident.get("/v1/orders/nosuch"), 404, "order-not-found")
