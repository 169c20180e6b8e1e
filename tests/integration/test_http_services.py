"""Local services over HTTP on every backend: an operator registers a merchant, its staff
add themselves and an offering, a resident finds it, books a free time, the merchant
confirms and completes it, the resident reviews it; a late cancellation costs the fee;
and the refusals that change nothing, with text stored as written."""

from __future__ import annotations

import uuid
from typing import Any

import injector
import pytest
from fastapi.testclient import TestClient

from shequ.adapters.clock import FixedClock
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.policy import CONSOLE
from shequ.domain.identity import Membership, Role
from shequ.entrypoints.http import create_app
from tests.integration.test_http import is_problem
from tests.support import Shop

PASSWORD = "services password"
TOMORROW = "2026-11-26"  # the tests' clock: Wednesday 25 November, 10:00 in China
HOURS = {d: ["08:00-12:00", "13:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


class World:
    phones = iter(range(13100000000, 13200000000))

    def __init__(self, app: injector.Injector, clock: FixedClock) -> None:
        self.app, self.api = app, create_app(app)
        self.refresh_tokens: dict[int, str] = {}
        shop = Shop(app, clock)
        self.here = shop.community().id
        self.operator = self.client(Membership(Role.OPERATOR, self.here))
        self.resident = self.client(Membership(Role.RESIDENT, self.here))
        merchant = self.operator.post(
            "/v1/merchants",
            json={
                "name": "好阿姨家政",
                "kind": "housekeeping",
                "community_ids": [self.here],
                "contact_phone": "0571-8888 6666",
                "address": "阳光花园3幢底商",
                "hours": HOURS,
                "description": "日常保洁 <b>八折</b>",
            },
        )
        assert merchant.status_code == 201, merchant.text
        self.merchant_id = merchant.json()["id"]
        self.staff_client = self.client(Membership(Role.MERCHANT, self.here, self.merchant_id))
        staff = self.staff_client.post(
            f"/v1/merchants/{self.merchant_id}/staff", json={"name": "王阿姨", "schedule": HOURS}
        )
        assert staff.status_code == 201, staff.text
        self.staff_id = staff.json()["id"]
        offering = self.staff_client.post(
            f"/v1/merchants/{self.merchant_id}/offerings",
            json={
                "name": "日常保洁",
                "duration_minutes": 120,
                "buffer_minutes": 30,
                "price_kind": "fixed",
                "price_fen": 12000,
                "venue": "at_home",
                "staff_ids": [self.staff_id],
                "late_cancel_fee_fen": 2000,
            },
        )
        assert offering.status_code == 201, offering.text
        self.offering_id = offering.json()["id"]
        added = self.resident.post(
            "/v1/me/addresses",
            json={"recipient": "张伟", "phone": "13912345678", "detail": "3幢2单元501"},
        )
        self.address = added.json()["id"]

    def client(self, membership: Membership) -> TestClient:
        phone = str(next(self.phones))
        self.app.get(OpenAccountHandler)(
            OpenAccount(phone=phone, password=PASSWORD, memberships=(membership,)), actor=CONSOLE
        )
        client = TestClient(self.api, raise_server_exceptions=False)
        signed = client.post("/v1/auth/sign-in", json={"phone": phone, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
        self.refresh_tokens[id(client)] = signed.json()["refresh_token"]
        return client

    def renew(self, *clients: TestClient) -> None:
        """New access tokens for clients whose tokens expired as the clock moved on."""
        for client in clients:
            renewed = client.post(
                "/v1/auth/refresh", json={"refresh_token": self.refresh_tokens[id(client)]}
            )
            assert renewed.status_code == 200, renewed.text
            client.headers["Authorization"] = f"Bearer {renewed.json()['access_token']}"
            self.refresh_tokens[id(client)] = renewed.json()["refresh_token"]

    def book(self, starts_at: str, **more: Any) -> Any:
        return self.resident.post(
            "/v1/bookings",
            json={
                "community_id": self.here,
                "offering_id": self.offering_id,
                "starts_at": starts_at,
                "address_id": self.address,
                **more,
            },
            headers={"Idempotency-Key": more.pop("key", uuid.uuid4().hex)},
        )


@pytest.fixture
def w(app: injector.Injector, clock: FixedClock) -> World:
    return World(app, clock)


def test_a_resident_finds_books_and_reviews_a_service(w: World) -> None:
    found = w.resident.get(
        "/v1/merchants", params={"community_id": w.here, "kind": "housekeeping", "q": "保洁"}
    )
    assert [m["id"] for m in found.json()] == [w.merchant_id]
    assert found.json()[0]["description"] == "日常保洁 <b>八折</b>"  # stored as written
    shown = w.resident.get(f"/v1/merchants/{w.merchant_id}").json()
    assert [o["id"] for o in shown["offerings"]] == [w.offering_id]
    free = w.resident.get(f"/v1/offerings/{w.offering_id}/free-time", params={"date": TOMORROW})
    starts = [f["starts_at"] for f in free.json()]
    assert starts[0] == f"{TOMORROW}T00:00:00Z"  # 08:00 in China
    booked = w.book(starts[2])  # 09:00
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert (booking["status"], booking["price_fen"]) == ("requested", 12000)
    after = w.resident.get(f"/v1/offerings/{w.offering_id}/free-time", params={"date": TOMORROW})
    assert starts[2] not in [f["starts_at"] for f in after.json()]
    is_problem(w.book(starts[2]), 409, "slot-taken")  # taken now
    for step in ("confirmed", "in_progress", "completed"):
        moved = w.staff_client.post(f"/v1/bookings/{booking['id']}/advance", json={"status": step})
        assert moved.json()["status"] == step, moved.text
    for rating in (0, 6):
        is_problem(
            w.resident.post(f"/v1/bookings/{booking['id']}/review", json={"rating": rating}),
            422,
            "invalid-input",
        )
    script = "<script>alert('x')</script>阿姨很细心"
    photo = "/v1/uploads/photos/9a1b.png"
    reviewed = w.resident.post(
        f"/v1/bookings/{booking['id']}/review",
        json={"rating": 5, "text": script, "photos": [photo]},
    )
    assert reviewed.json()["review"] == script  # stored as written, JSON-escaped on the wire
    assert reviewed.headers["content-type"] == "application/json"  # data, never a page
    is_problem(
        w.resident.post(f"/v1/bookings/{booking['id']}/review", json={"rating": 4}),
        409,
        "illegal-transition",
    )
    merchant = w.resident.get(f"/v1/merchants/{w.merchant_id}").json()["merchant"]
    assert (merchant["rating"], merchant["rating_count"]) == ("5.0", 1)
    reviews = w.resident.get(f"/v1/merchants/{w.merchant_id}/reviews").json()
    assert (reviews["rating"], reviews["rating_count"], reviews["next_cursor"]) == ("5.0", 1, None)
    [review] = reviews["reviews"]
    assert (review["text"], review["photos"], review["booking_id"]) == (
        script,
        [photo],
        booking["id"],
    )
    is_problem(
        w.resident.post(f"/v1/reviews/{review['id']}/answer", json={"text": "谢谢"}),
        403,
        "forbidden",
    )
    answered = w.staff_client.post(f"/v1/reviews/{review['id']}/answer", json={"text": "谢谢您"})
    assert answered.json()["answer"] == "谢谢您", answered.text
    is_problem(
        w.staff_client.post(f"/v1/reviews/{review['id']}/answer", json={"text": "再谢"}),
        409,
        "illegal-transition",
    )
    is_problem(
        w.resident.post("/v1/orders/nope/reviews", json={"sku_id": "x", "rating": 5}),
        404,
        "order-not-found",
    )
    mine = w.resident.get("/v1/me/bookings").json()
    assert [b["status"] for b in mine] == ["reviewed"]
    day = w.staff_client.get(f"/v1/merchants/{w.merchant_id}/bookings", params={"date": TOMORROW})
    assert [b["id"] for b in day.json()] == [booking["id"]]


def test_a_late_cancellation_costs_the_fee_and_refusals_change_nothing(w: World) -> None:
    late = w.book(f"{TOMORROW}T08:00:00+08:00").json()  # 22 hours ahead
    cancelled = w.resident.post(f"/v1/bookings/{late['id']}/cancel", json={"reason": "有事"})
    assert (cancelled.json()["status"], cancelled.json()["fee_fen"]) == ("cancelled", 2000)
    early = w.book(f"{TOMORROW}T13:00:00+08:00").json()  # 27 hours ahead
    assert w.resident.post(f"/v1/bookings/{early['id']}/cancel").json()["fee_fen"] == 0
    is_problem(w.book("2026-11-25T08:00:00+08:00"), 409, "slot-taken")  # in the past
    is_problem(w.book(f"{TOMORROW}T19:00:00+08:00"), 409, "slot-taken")  # after hours
    is_problem(w.book(f"{TOMORROW}T13:00:00"), 422, "invalid-input")  # no offset
    neighbour = w.client(Membership(Role.RESIDENT, w.here))
    kept = w.book(f"{TOMORROW}T14:00:00+08:00").json()
    is_problem(neighbour.post(f"/v1/bookings/{kept['id']}/cancel"), 403, "forbidden")
    is_problem(
        neighbour.post(f"/v1/bookings/{kept['id']}/review", json={"rating": 5}), 403, "forbidden"
    )
    is_problem(
        w.resident.post(f"/v1/bookings/{kept['id']}/review", json={"rating": 5}),
        409,
        "illegal-transition",
    )  # a review without the service
    long_text = "长" * 100_000
    is_problem(
        w.staff_client.patch(f"/v1/merchants/{w.merchant_id}", json={"description": long_text}),
        422,
        "invalid-input",
    )
    is_problem(
        w.staff_client.patch(f"/v1/merchants/{w.merchant_id}", json={"verified": True}),
        403,
        "forbidden",
    )
    assert [b["status"] for b in w.resident.get("/v1/me/bookings").json()] == [
        "requested",
        "cancelled",
        "cancelled",
    ]
