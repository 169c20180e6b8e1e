"""Pickup points and codes over HTTP on every backend: a point opened, an order booked on
its day, paid, packed, arriving with a code sent to its resident, handed over for that
code and completed; the points residents see; orders nobody collects; and the refusals
that change nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import injector
import pytest
from fastapi.testclient import TestClient

from shequ.adapters.clock import FixedClock
from shequ.adapters.notify import RecordingNotifier
from shequ.adapters.payments import SandboxPaymentGateway
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import Notifier, PaymentGateway, SchemaMigrations, UnitOfWork
from shequ.bootstrap import bootstrap
from shequ.domain.identity import Membership, Role
from shequ.domain.ids import PaymentId, PickupPointId
from shequ.entrypoints.http import create_app
from tests.integration.conftest import database_url
from tests.integration.test_http import is_problem
from tests.support import Catalog, ClockModule, settings

PASSWORD = "pickup password"
DAY = dt.timedelta(days=1)
TODAY = "2026-11-25"  # NOW in China Standard Time: a Wednesday
EVERY_DAY = {day: ["08:00-20:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


class Notices(injector.Module):
    def __init__(self, recording: RecordingNotifier) -> None:
        self.recording = recording

    @injector.provider
    def notifier(self) -> Notifier:
        return self.recording


@pytest.fixture
def notices() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def app(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clock: FixedClock,
    notices: RecordingNotifier,
) -> Iterator[injector.Injector]:
    """As the shared ``app`` fixture, with the notices sent kept for the tests to read."""
    if backend == "memory":
        chosen = settings(storage="memory")
    else:
        chosen = settings(storage="sql", database_url=database_url(backend, request, tmp_path))
    wired = bootstrap(chosen, ClockModule(clock), Notices(notices))
    wired.get(SchemaMigrations).upgrade()
    yield wired
    if backend != "memory":
        from shequ.adapters.storage.sqlalchemy import Database

        wired.get(Database).engine.dispose()


class Person:
    """A signed-in account and its client; signs in again once its token is old."""

    def __init__(self, world: World, phone: str, account_id: str) -> None:
        self.world, self.phone, self.id = world, phone, account_id
        self.client = TestClient(world.api, raise_server_exceptions=False)
        self.signed_at: dt.datetime | None = None

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        now = self.world.clock.now()
        if self.signed_at is None or now - self.signed_at >= dt.timedelta(minutes=10):
            signed = self.client.post(
                "/v1/auth/sign-in", json={"phone": self.phone, "password": PASSWORD}
            )
            assert signed.status_code == 200, signed.text
            self.client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
            self.signed_at = now
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)


class World:
    """Two communities, a SKU sold in the first, and signed-in people: the first's
    operator, a leader who runs a pickup point there, a platform admin, two residents of
    the first and one of the second."""

    phones = iter(range(13500000000, 13600000000))

    def __init__(self, app: injector.Injector, clock: FixedClock, notices: RecordingNotifier):
        self.app, self.clock, self.notices = app, clock, notices
        self.api = create_app(app)
        shop = Catalog(app, clock)
        here, there = shop.community(), shop.community("翠苑")
        self.here, self.there = here.id, there.id
        product = shop.product(shop.seller())
        self.sku = shop.sku(product, price="20.00", stock=50, communities=(here,)).id
        self.operator = self.person(Membership(Role.OPERATOR, here.id))
        self.leader = self.person(Membership(Role.LEADER, here.id, "pp-east"))
        self.admin = self.person(Membership(Role.ADMIN))
        self.resident = self.person(Membership(Role.RESIDENT, here.id))
        self.neighbour = self.person(Membership(Role.RESIDENT, here.id))
        self.stranger = self.person(Membership(Role.RESIDENT, there.id))

    def person(self, membership: Membership) -> Person:
        phone = str(next(self.phones))
        account = self.app.get(OpenAccountHandler)(
            OpenAccount(phone=phone, password=PASSWORD, memberships=(membership,)), actor=CONSOLE
        )
        return Person(self, phone, account.id)

    def point(self, point_id: str, who: Person | None = None, **change: Any) -> dict[str, Any]:
        made = self.point_response(point_id, who or self.operator, **change)
        assert made.status_code == 201, made.text
        point: dict[str, Any] = made.json()
        return point

    def point_response(self, point_id: str, who: Person, **change: Any) -> Any:
        body = {
            "community_id": self.here,
            "id": point_id,
            "name": "幸福便利店",
            "kind": "convenience_store",
            "address": "3幢底商",
            "latitude": 30.27,
            "longitude": 120.15,
            "hours": {**EVERY_DAY, "exceptions": {"2026-12-01": []}},
            "daily_capacity": 100,
            **change,
        }
        return who.post("/v1/pickup-points", json=body)

    def checkout(self, point_id: str, who: Person | None = None, **body: Any) -> Any:
        return (who or self.resident).post(
            "/v1/orders",
            json={
                "community_id": self.here,
                "items": [{"sku_id": self.sku, "quantity": 1}],
                "fulfilment": {"kind": "pickup", "pickup_point_id": point_id},
                **body,
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )

    def order(self, point_id: str, who: Person | None = None, **body: Any) -> dict[str, Any]:
        placed = self.checkout(point_id, who, **body)
        assert placed.status_code == 201, placed.text
        order: dict[str, Any] = placed.json()
        return order

    def packed(self, point_id: str, who: Person | None = None) -> dict[str, Any]:
        """An order for pickup at the point, paid in the sandbox and packed."""
        who = who or self.resident
        order = self.order(point_id, who)
        intent = who.post(f"/v1/orders/{order['id']}/payment")
        assert intent.status_code == 200, intent.text
        gateway = self.app.get(PaymentGateway)
        assert isinstance(gateway, SandboxPaymentGateway)
        body, headers = gateway.pay(PaymentId(intent.json()["payment_id"]))
        paid = TestClient(self.api).post(
            "/v1/payments/sandbox/notify", content=body, headers=headers
        )
        assert paid.json()["outcome"] == "paid", paid.text
        return self.advance(order["id"], "pack")

    def advance(self, order_id: str, action: str) -> dict[str, Any]:
        moved = self.operator.post(f"/v1/orders/{order_id}/advance", json={"action": action})
        assert moved.status_code == 200, moved.text
        order: dict[str, Any] = moved.json()
        return order

    def arrive(self, point_id: str, *orders: dict[str, Any]) -> list[dict[str, Any]]:
        arrived = self.operator.post(
            f"/v1/pickup-points/{point_id}/arrivals", json={"order_ids": [o["id"] for o in orders]}
        )
        assert arrived.status_code == 200, arrived.text
        tickets: list[dict[str, Any]] = arrived.json()
        return tickets

    def code_of(self, order: dict[str, Any], who: Person | None = None) -> str:
        shown = (who or self.resident).get(f"/v1/orders/{order['id']}/pickup-code")
        assert shown.status_code == 200, shown.text
        code: str = shown.json()["code"]
        return code

    def verify(self, point_id: str, code: str, who: Person | None = None) -> Any:
        return (who or self.leader).post(
            f"/v1/pickup-points/{point_id}/verify", json={"code": code}
        )

    def status(self, order: dict[str, Any]) -> str:
        status: str = self.operator.get(f"/v1/orders/{order['id']}").json()["status"]
        return status

    def stock(self) -> int:
        stock: int = self.resident.get(f"/v1/skus/{self.sku}").json()["stock"]
        return stock

    def booked(self, point_id: str, day: str = TODAY) -> int:
        with self.app.get(UnitOfWork) as uow:
            return uow.pickup_points.booked(PickupPointId(point_id), dt.date.fromisoformat(day))

    def listed(self, who: Person, **params: Any) -> list[str]:
        found = who.get("/v1/pickup-points", params={"community_id": self.here, **params})
        assert found.status_code == 200, found.text
        return [p["id"] for p in found.json()]


@pytest.fixture
def w(app: injector.Injector, clock: FixedClock, notices: RecordingNotifier) -> World:
    return World(app, clock, notices)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_an_order_is_collected_at_its_point_with_the_code_its_resident_was_sent(
    w: World,
) -> None:
    point = w.point("pp-east", operator_id=w.leader.id, daily_capacity=5)
    assert point["hours"]["wed"] == ["08:00-20:00"]
    assert point["hours"]["exceptions"] == {"2026-12-01": []}
    assert (point["status"], point["operator_id"], point["version"]) == ("active", w.leader.id, 1)

    near = w.resident.get(
        "/v1/pickup-points", params={"community_id": w.here, "lat": 30.2701, "lng": 120.1501}
    ).json()
    assert [(p["id"], p["open_on_day"]) for p in near] == [("pp-east", True)]
    assert 0 < near[0]["distance_m"] < 50

    order = w.order("pp-east")
    assert (order["status"], order["pickup_date"]) == ("pending_payment", TODAY)
    assert order["delivery"]["pickup_point_id"] == "pp-east"
    assert w.booked("pp-east") == 1

    packed = w.packed("pp-east")
    assert packed["status"] == "packed"
    # the point's own operator registers the batch: no code in what they get back
    arrived = w.leader.post(
        "/v1/pickup-points/pp-east/arrivals", json={"order_ids": [order["id"], packed["id"]]}
    )
    assert arrived.status_code == 409, arrived.text  # the first is not paid: all or none
    assert w.notices.notices == []
    arrived = w.leader.post(
        "/v1/pickup-points/pp-east/arrivals", json={"order_ids": [packed["id"]]}
    )
    assert arrived.status_code == 200, arrived.text
    [ticket] = arrived.json()
    assert ticket == {
        "order_id": packed["id"],
        "pickup_point_id": "pp-east",
        "resident_id": w.resident.id,
        "status": "waiting",
        "arrived_at": ticket["arrived_at"],
    }
    assert dt.datetime.fromisoformat(ticket["arrived_at"]) == w.clock.now()
    assert w.status(packed) == "ready_for_pickup"
    [(phone, notice)] = w.notices.notices
    assert (phone, notice.kind, notice.order_id) == (w.resident.phone, "code", packed["id"])
    assert notice.point_name == "幸福便利店" and notice.code is not None

    shown = w.resident.get(f"/v1/orders/{packed['id']}/pickup-code").json()
    assert shown["code"] == notice.code and len(shown["code"]) == 6 and shown["code"].isdigit()
    assert (shown["status"], shown["closed_at"]) == ("waiting", None)
    for staff in (w.leader, w.operator):  # who hands it over must have it from the resident
        is_problem(staff.get(f"/v1/orders/{packed['id']}/pickup-code"), 403, "forbidden")
    is_problem(w.neighbour.get(f"/v1/orders/{packed['id']}/pickup-code"), 403, "forbidden")
    is_problem(w.resident.get(f"/v1/orders/{order['id']}/pickup-code"), 404, "not-found")

    w.clock.advance(dt.timedelta(hours=3))
    handed = w.verify("pp-east", f" {notice.code} ")
    assert handed.status_code == 200, handed.text
    assert handed.json()["status"] == "picked_up"
    assert handed.json()["history"][-1]["note"] == "handed over at 幸福便利店"
    collected = w.resident.get(f"/v1/orders/{packed['id']}/pickup-code").json()
    assert collected["status"] == "collected"
    assert dt.datetime.fromisoformat(collected["closed_at"]) == w.clock.now()

    done = w.advance(packed["id"], "complete")
    assert [h["status"] for h in done["history"]] == [
        "pending_payment",
        "paid",
        "packed",
        "ready_for_pickup",
        "picked_up",
        "completed",
    ]


def test_residents_see_active_points_nearest_first_and_operators_manage_them(
    w: World,
) -> None:
    w.point("pp-far", name="物业服务中心", kind="property_office", latitude=30.30)
    w.point("pp-near", name="菜鸟驿站", kind="parcel_station", latitude=30.271)
    w.point("pp-weekend", hours={"sat": ["09:00-12:00", "14:00-18:00"], "sun": ["09:00-12:00"]})
    assert sorted(w.listed(w.resident)) == ["pp-far", "pp-near", "pp-weekend"]
    assert w.listed(w.resident, lat=30.2712, lng=120.15) == ["pp-near", "pp-weekend", "pp-far"]

    def open_on(day: str) -> dict[str, bool]:
        found = w.resident.get("/v1/pickup-points", params={"community_id": w.here, "date": day})
        return {p["id"]: p["open_on_day"] for p in found.json()}

    assert open_on(TODAY) == {"pp-far": True, "pp-near": True, "pp-weekend": False}
    assert open_on("2026-11-28") == {"pp-far": True, "pp-near": True, "pp-weekend": True}
    assert open_on("2026-12-01") == {"pp-far": False, "pp-near": False, "pp-weekend": False}
    weekend = next(
        p
        for p in w.resident.get("/v1/pickup-points", params={"community_id": w.here}).json()
        if p["id"] == "pp-weekend"
    )
    assert weekend["hours"]["sat"] == ["09:00-12:00", "14:00-18:00"]
    assert weekend["hours"]["mon"] == [] and weekend["distance_m"] is None
    is_problem(
        w.resident.get("/v1/pickup-points", params={"community_id": w.here, "lat": 30.2}),
        422,
        "invalid-input",
    )

    paused = w.operator.patch("/v1/pickup-points/pp-far", json={"active": False})
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused" and paused.json()["version"] > 1
    assert "pp-far" not in w.listed(w.resident)
    assert "pp-far" in w.listed(w.operator, include_paused=True)
    is_problem(
        w.resident.get(
            "/v1/pickup-points", params={"community_id": w.here, "include_paused": True}
        ),
        403,
        "forbidden",
    )
    edited = w.operator.patch(
        "/v1/pickup-points/pp-far",
        json={
            "active": True,
            "name": "物业前台",
            "latitude": 30.28,
            "longitude": 120.16,
            "daily_capacity": 50,
            "operator_id": w.leader.id,
            "hours": {"mon": ["07:00-09:00"]},
        },
    )
    assert edited.status_code == 200, edited.text
    point = edited.json()
    assert (point["status"], point["name"], point["daily_capacity"]) == ("active", "物业前台", 50)
    assert (point["latitude"], point["longitude"], point["operator_id"]) == (
        30.28,
        120.16,
        w.leader.id,
    )
    assert point["hours"]["mon"] == ["07:00-09:00"] and point["hours"]["tue"] == []

    # refusals that change nothing
    before = w.operator.get("/v1/pickup-points", params={"community_id": w.here}).json()
    is_problem(
        w.operator.patch("/v1/pickup-points/pp-far", json={"name": None}), 422, "invalid-input"
    )
    is_problem(
        w.operator.patch("/v1/pickup-points/pp-far", json={"latitude": 30.0}), 422, "invalid-input"
    )
    is_problem(
        w.operator.patch(
            "/v1/pickup-points/pp-far", json={"hours": {"mon": ["20:00-08:00"]}, "name": "新名"}
        ),
        422,
        "invalid-input",
    )
    is_problem(
        w.operator.patch("/v1/pickup-points/pp-far", json={"latitude": "30.2", "longitude": 1}),
        422,
        "request-invalid",
    )
    is_problem(w.leader.patch("/v1/pickup-points/pp-far", json={"active": False}), 403, "forbidden")
    is_problem(
        w.operator.patch("/v1/pickup-points/nowhere", json={"active": False}),
        404,
        "pickup-point-not-found",
    )
    is_problem(w.point_response("pp-y", w.leader), 403, "forbidden")
    is_problem(w.point_response("pp-y", w.operator, community_id=w.there), 403, "forbidden")
    is_problem(w.point_response("pp-y", w.operator, kind="kiosk"), 422, "request-invalid")
    is_problem(w.point_response("pp-y", w.operator, daily_capacity=0), 422, "invalid-input")
    is_problem(w.point_response("pp-y", w.operator, latitude=91.0), 422, "invalid-input")
    is_problem(
        w.point_response("pp-y", w.operator, hours={"mon": ["08:00-12:00", "11:00-13:00"]}),
        422,
        "invalid-input",
    )
    is_problem(w.point_response("pp-y", w.operator, operator_id="nobody"), 404, "account-not-found")
    is_problem(w.point_response("pp-far", w.operator), 409, "duplicate")
    assert w.operator.get("/v1/pickup-points", params={"community_id": w.here}).json() == before


def test_checkout_refuses_another_community_s_paused_full_closed_or_unknown_point(
    w: World,
) -> None:
    w.point("pp-there", who=w.admin, community_id=w.there)
    w.point("pp-small", daily_capacity=1)
    w.point("pp-east")
    w.operator.patch("/v1/pickup-points/pp-east", json={"active": False})
    stock = w.stock()

    refusals = [
        (w.checkout("pp-there"), 409, "pickup-point-unavailable"),
        (w.checkout("pp-east"), 409, "pickup-point-unavailable"),
        (w.checkout("nowhere"), 404, "pickup-point-not-found"),
    ]
    first = w.order("pp-small", pickup_date=TODAY)
    assert first["pickup_date"] == TODAY
    refusals += [
        (w.checkout("pp-small", w.neighbour), 409, "pickup-point-full"),
        (w.checkout("pp-small", pickup_date="2026-12-01"), 409, "pickup-point-unavailable"),
        (w.checkout("pp-small", pickup_date="2026-11-24"), 422, "invalid-input"),
        (w.checkout("pp-small", pickup_date="tomorrow"), 422, "request-invalid"),
    ]
    for response, status, code in refusals:
        is_problem(response, status, code)
    assert "another community" in refusals[0][0].json()["detail"]
    assert "paused" in refusals[1][0].json()["detail"]
    assert w.stock() == stock - 1
    assert (w.booked("pp-small"), w.booked("pp-east"), w.booked("pp-there")) == (1, 0, 0)
    assert w.resident.get("/v1/orders").json()["items"] == [
        w.resident.get(f"/v1/orders/{first['id']}").json()
    ]

    later = w.order("pp-small", pickup_date="2026-11-26")  # another day has room
    assert later["pickup_date"] == "2026-11-26"
    w.operator.patch("/v1/pickup-points/pp-east", json={"active": True})
    assert w.order("pp-east")["pickup_date"] == TODAY


def test_codes_are_refused_when_wrong_used_or_of_another_point_and_wrong_ones_lock_out(
    w: World,
) -> None:
    w.point("pp-east", operator_id=w.leader.id)
    w.point("pp-west")
    first, second = w.packed("pp-east"), w.packed("pp-east", w.neighbour)
    w.arrive("pp-east", first, second)
    code, other = w.code_of(first), w.code_of(second, w.neighbour)
    assert code != other

    is_problem(w.verify("pp-west", code, w.operator), 409, "pickup-code-invalid")
    is_problem(w.verify("pp-east", code, w.resident), 403, "forbidden")  # not staff
    is_problem(w.verify("pp-west", code, w.leader), 403, "forbidden")  # not their point
    is_problem(w.verify("nowhere", code, w.admin), 404, "pickup-point-not-found")
    is_problem(w.verify("pp-east", "12345"), 409, "pickup-code-invalid")
    assert w.status(first) == "ready_for_pickup"
    assert w.verify("pp-east", code).status_code == 200
    is_problem(w.verify("pp-east", code), 409, "pickup-code-invalid")  # used
    assert w.status(first) == "picked_up"

    # a code handed over clears the count: with the used one, five wrong in 15 minutes
    for _ in range(4):
        is_problem(w.verify("pp-east", wrong(other)), 409, "pickup-code-invalid")
    locked = w.verify("pp-east", other, w.operator)  # even the right one, while locked
    body = is_problem(locked, 429, "rate-limited")
    assert locked.headers["retry-after"] == str(body["retry_after"]) and body["retry_after"] > 0
    assert w.status(second) == "ready_for_pickup"
    assert w.verify("pp-west", other, w.operator).status_code == 409  # other points are not locked

    w.clock.advance(dt.timedelta(minutes=16))
    handed = w.verify("pp-east", other)
    assert handed.status_code == 200, handed.text
    assert handed.json()["status"] == "picked_up"


def test_an_order_nobody_collects_is_reminded_then_returned_and_refunded(w: World) -> None:
    w.point("pp-east")
    order = w.packed("pp-east")
    w.arrive("pp-east", order)
    stock = w.stock()
    is_problem(w.operator.post("/v1/pickup/overdue"), 403, "forbidden")  # the platform's

    def overdue() -> dict[str, int]:
        done = w.admin.post("/v1/pickup/overdue", json={"limit": 100})
        assert done.status_code == 200, done.text
        counts: dict[str, int] = done.json()
        return counts

    w.clock.advance(DAY)
    assert overdue() == {"reminded": 0, "returned": 0}
    w.clock.advance(2 * DAY)
    assert overdue() == {"reminded": 1, "returned": 0}
    assert overdue() == {"reminded": 0, "returned": 0}  # once a day
    w.clock.advance(5 * DAY)
    assert w.admin.post("/v1/pickup/overdue").json() == {"reminded": 0, "returned": 1}
    returned = w.resident.get(f"/v1/orders/{order['id']}").json()
    assert (returned["status"], returned["refunded_fen"]) == ("cancelled", 2000)
    assert w.resident.get(f"/v1/orders/{order['id']}/pickup-code").json()["status"] == "returned"
    assert w.stock() == stock + 1
    assert [n.kind for _, n in w.notices.notices] == ["code", "reminder", "returned"]
    is_problem(w.admin.post("/v1/pickup/overdue", json={"limit": 0}), 422, "request-invalid")


def test_an_order_refunded_in_full_before_it_arrives_gives_its_place_back(w: World) -> None:
    w.point("pp-small", daily_capacity=1)
    order = w.packed("pp-small")
    assert w.booked("pp-small") == 1
    is_problem(w.checkout("pp-small"), 409, "pickup-point-full")
    asked = w.resident.post(f"/v1/orders/{order['id']}/refunds", json={"reason": "not_wanted"})
    assert asked.status_code == 201, asked.text
    approved = w.operator.post(f"/v1/refunds/{asked.json()['id']}/approve", json={})
    assert approved.status_code == 200, approved.text
    assert (w.status(order), w.booked("pp-small")) == ("cancelled", 0)
    assert w.checkout("pp-small").status_code == 201  # the place is free again
