"""Group buying over HTTP on every backend: campaigns, starting and joining groups, paying,
settlement with price protection and commission, failure with full refunds, leaving and
cancelling, the purchase plan, and the refusals that change nothing."""

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
from tests.groupbuy_support import GroupShop
from tests.integration.test_http import is_problem

PASSWORD = "groupbuy password"
DAY = dt.timedelta(days=1)


class Person:
    """A signed-in account and its client; signs in again once its token has expired."""

    def __init__(self, world: World, phone: str, account_id: str) -> None:
        self.world, self.phone, self.id = world, phone, account_id
        self.client = TestClient(world.api, raise_server_exceptions=False)
        self.signed_at: dt.datetime | None = None

    def _sign_in(self) -> None:
        now = self.world.clock.now()
        if self.signed_at is not None and now - self.signed_at < dt.timedelta(minutes=10):
            return
        signed = self.client.post(
            "/v1/auth/sign-in", json={"phone": self.phone, "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        self.client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
        self.signed_at = now

    def get(self, path: str, **kwargs: Any) -> Any:
        self._sign_in()
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        self._sign_in()
        return self.client.post(path, **kwargs)


class World:
    """Two communities, a rice SKU at ¥49.90, and signed-in people: the operator of the
    first community, a platform admin, six residents of it and one of the other."""

    phones = iter(range(13600000000, 13700000000))

    def __init__(self, app: injector.Injector, clock: FixedClock) -> None:
        self.app, self.clock = app, clock
        # the scenarios start three days before NOW, as the examples in docs/http.md do
        clock.advance(-3 * DAY)
        self.api = create_app(app)
        shop = GroupShop(app, clock)
        here, there = shop.community(), shop.community("翠苑")
        shop.point(here, "pp-east")
        self.here, self.there = here.id, there.id
        self.rice = shop.rice(here).id
        self.operator = self.person(Membership(Role.OPERATOR, here.id))
        self.other_operator = self.person(Membership(Role.OPERATOR, there.id))
        self.admin = self.person(Membership(Role.ADMIN))
        self.residents = [self.person(Membership(Role.RESIDENT, here.id)) for _ in range(6)]
        self.stranger = self.person(Membership(Role.RESIDENT, there.id))

    def person(self, membership: Membership) -> Person:
        phone = str(next(self.phones))
        account = self.app.get(OpenAccountHandler)(
            OpenAccount(phone=phone, password=PASSWORD, memberships=(membership,)), actor=CONSOLE
        )
        return Person(self, phone, account.id)

    def campaign_body(self, **change: Any) -> dict[str, Any]:
        now = self.clock.now()
        return {
            "name": "五常大米 阶梯团",
            "sku_id": self.rice,
            "tiers": [
                {"min_heads": 2, "price_fen": 4500},
                {"min_heads": 5, "price_fen": 4200},
                {"min_heads": 10, "price_fen": 3900},
            ],
            "min_heads": 2,
            "max_heads": 20,
            "starts_at": (now - dt.timedelta(minutes=1)).isoformat(),
            "ends_at": (now + 3 * DAY).isoformat(),
            "group_hours": 24,
            "per_resident_limit": 5,
            "stock": 1000,
            "community_ids": [self.here],
            "reward": {"kind": "commission", "commission_bp": 500},
            "pickup_date": (now + 4 * DAY).date().isoformat(),
            **change,
        }

    def campaign(self, **change: Any) -> dict[str, Any]:
        made = self.operator.post("/v1/campaigns", json=self.campaign_body(**change))
        assert made.status_code == 201, made.text
        campaign: dict[str, Any] = made.json()
        return campaign

    def start(
        self, who: Person, campaign: dict[str, Any], quantity: int = 1, **body: Any
    ) -> dict[str, Any]:
        started = self.try_start(who, campaign, quantity, **body)
        assert started.status_code == 201, started.text
        seat: dict[str, Any] = started.json()
        return seat

    def try_start(
        self,
        who: Person,
        campaign: dict[str, Any],
        quantity: int = 1,
        key: str | None = None,
        **body: Any,
    ) -> Any:
        payload = {
            "community_id": self.here,
            "pickup_point_id": "pp-east",
            "quantity": quantity,
            **body,
        }
        return who.post(
            f"/v1/campaigns/{campaign['id']}/groups",
            json=payload,
            headers={"Idempotency-Key": key or uuid.uuid4().hex},
        )

    def join(self, who: Person, path: str, quantity: int = 1) -> dict[str, Any]:
        joined = self.try_join(who, path, quantity)
        assert joined.status_code == 201, joined.text
        seat: dict[str, Any] = joined.json()
        return seat

    def try_join(self, who: Person, path: str, quantity: int = 1, key: str | None = None) -> Any:
        """``path``: ``/v1/groups/{id}`` or ``/v1/invites/{code}``."""
        return who.post(
            f"{path}/join",
            json={"quantity": quantity},
            headers={"Idempotency-Key": key or uuid.uuid4().hex},
        )

    def pay(self, seat: dict[str, Any]) -> dict[str, Any]:
        """The resident pays the seat's payment in the sandbox; the provider notifies."""
        payment = seat["payment"]
        assert payment["amount_fen"] == seat["order"]["total_fen"]
        gateway = self.app.get(PaymentGateway)
        assert isinstance(gateway, SandboxPaymentGateway)
        body, headers = gateway.pay(PaymentId(payment["payment_id"]))
        paid = TestClient(self.api).post(
            "/v1/payments/sandbox/notify", content=body, headers=headers
        )
        assert paid.json()["outcome"] == "paid", paid.text
        return self.order(seat["order"]["id"])

    def order(self, order_id: str) -> dict[str, Any]:
        found = self.admin.get(f"/v1/orders/{order_id}")
        assert found.status_code == 200, found.text
        order: dict[str, Any] = found.json()
        return order

    def group(self, group_id: str, who: Person | None = None) -> dict[str, Any]:
        found = (who or self.admin).get(f"/v1/groups/{group_id}")
        assert found.status_code == 200, found.text
        group: dict[str, Any] = found.json()
        return group

    def stock_taken(self, campaign: dict[str, Any]) -> int:
        taken: int = self.admin.get(f"/v1/campaigns/{campaign['id']}").json()["stock_taken"]
        return taken

    def orders_of(self, who: Person) -> list[str]:
        return [o["id"] for o in who.get("/v1/orders").json()["items"]]

    def settle(self) -> dict[str, Any]:
        done = self.admin.post("/v1/groupbuy/settle")
        assert done.status_code == 200, done.text
        settled: dict[str, Any] = done.json()
        return settled


@pytest.fixture
def w(app: injector.Injector, clock: FixedClock) -> World:
    return World(app, clock)


def test_a_group_fills_settles_at_its_tier_and_refunds_the_difference(w: World) -> None:
    campaign = w.campaign()
    assert (campaign["upfront_price_fen"], campaign["upfront_price"]) == (4500, "¥45.00")
    assert [(t["min_heads"], t["price_fen"]) for t in campaign["tiers"]] == [
        (2, 4500),
        (5, 4200),
        (10, 3900),
    ]
    leader, *neighbours = w.residents[:5]
    running = leader.get("/v1/campaigns", params={"community_id": w.here}).json()
    assert [c["id"] for c in running] == [campaign["id"]]

    first = w.start(leader, campaign, 2)
    group, order, payment = first["group"], first["order"], first["payment"]
    assert (order["status"], order["total_fen"], order["total"]) == (
        "pending_payment",
        9000,
        "¥90.00",
    )
    assert (payment["provider"], payment["channel"], payment["amount_fen"]) == (
        "sandbox",
        "sandbox",
        9000,
    )
    assert payment["payment_id"] and payment["params"]
    assert (group["status"], group["leader_id"], group["heads"]) == ("open", leader.id, 1)
    assert (group["needed_to_succeed"], group["needed_for_next_tier"]) == (1, 1)
    assert group["next_tier"] == {"min_heads": 2, "price_fen": 4500, "price": "¥45.00"}
    assert (group["current_price_fen"], group["seconds_left"], group["joinable"]) == (
        4500,
        24 * 3600,
        True,
    )
    assert group["members"] == [
        {
            "resident_id": None,
            "mine": True,
            "quantity": 2,
            "unit_price_fen": 4500,
            "unit_price": "¥45.00",
            "joined_at": group["started_at"],
        }
    ]
    seats = [first]
    for i, neighbour in enumerate(neighbours):
        w.clock.advance(dt.timedelta(minutes=1))
        by_invite = f"/v1/invites/{group['invite_code'].lower()}"
        seats.append(w.join(neighbour, by_invite if i == 3 else f"/v1/groups/{group['id']}"))
    assert seats[-1]["group"]["id"] == group["id"]
    orders = [w.pay(seat) for seat in seats]
    assert [o["status"] for o in orders] == ["paid"] * 5
    assert [o["paid_fen"] for o in orders] == [9000, 4500, 4500, 4500, 4500]

    progress = w.group(group["id"], neighbours[0])
    assert (progress["status"], progress["heads"], progress["needed_to_succeed"]) == (
        "succeeded",
        5,
        0,
    )
    assert progress["next_tier"] == {"min_heads": 10, "price_fen": 3900, "price": "¥39.00"}
    assert (progress["needed_for_next_tier"], progress["current_price_fen"]) == (5, 4200)
    assert progress["seconds_left"] == 24 * 3600 - 4 * 60 and progress["joinable"]
    assert [(m["resident_id"], m["mine"]) for m in progress["members"]] == [
        (None, False),
        (None, True),
        (None, False),
        (None, False),
        (None, False),
    ]
    invited = leader.get(f"/v1/invites/{group['invite_code']}")
    assert invited.json() == w.group(group["id"], leader)
    staff = w.group(group["id"], w.operator)
    assert [m["resident_id"] for m in staff["members"]] == [p.id for p in w.residents[:5]]
    mine = neighbours[0].get("/v1/me/groups").json()
    assert [g["id"] for g in mine] == [group["id"]]

    w.clock.advance(DAY)
    closed = w.group(group["id"])
    assert (closed["status"], closed["seconds_left"], closed["joinable"]) == (
        "succeeded",
        0,
        False,
    )
    done = w.settle()
    assert done == {
        "settled": 1,
        "failed": 0,
        "unpaid_seats": 0,
        "refunded_fen": 1800,  # 6 units from ¥45 to ¥42
        "refunded": "¥18.00",
        "commission_fen": 1260,  # 5 % of 6 × ¥42
        "commission": "¥12.60",
    }
    settled = w.group(group["id"])
    assert (settled["status"], settled["current_price_fen"], settled["current_price"]) == (
        "settled",
        4200,
        "¥42.00",
    )
    assert settled["settled_at"] is not None
    for seat, person in zip(seats, w.residents[:5], strict=True):
        own = person.get(f"/v1/orders/{seat['order']['id']}")
        assert own.status_code == 200, own.text
        quantity = own.json()["lines"][0]["quantity"]
        assert (own.json()["status"], own.json()["refunded_fen"]) == ("paid", 300 * quantity)
    assert w.settle()["settled"] == 0  # nothing settles twice

    earnings = leader.get("/v1/me/earnings").json()
    assert (earnings["leader_id"], earnings["total_fen"], earnings["total"]) == (
        leader.id,
        1260,
        "¥12.60",
    )
    [entry] = earnings["entries"]
    assert (entry["group_id"], entry["campaign_id"]) == (group["id"], campaign["id"])
    assert (entry["amount_fen"], entry["revenue_fen"]) == (1260, 25200)
    assert w.admin.get(f"/v1/leaders/{leader.id}/earnings").json() == earnings
    is_problem(neighbours[0].get(f"/v1/leaders/{leader.id}/earnings"), 403, "forbidden")
    assert neighbours[0].get("/v1/me/earnings").json()["total_fen"] == 0

    plan = w.admin.get("/v1/groupbuy/purchase-plan", params={"date": campaign["pickup_date"]})
    assert plan.status_code == 200, plan.text
    assert (plan.json()["units"], plan.json()["unsettled"]) == (6, 0)
    [line] = plan.json()["lines"]
    assert (line["sku_id"], line["units"], line["groups"], line["orders"]) == (w.rice, 6, 1, 5)
    assert plan.json()["distribution"] == [
        {
            "pickup_point_id": "pp-east",
            "sku_id": w.rice,
            "name": "五常大米",
            "units": 6,
            "order_ids": sorted(s["order"]["id"] for s in seats),
        }
    ]


def test_a_group_short_of_its_minimum_fails_and_everyone_is_refunded_in_full(
    w: World,
) -> None:
    campaign = w.campaign(min_heads=3)
    leader, member = w.residents[:2]
    first = w.start(leader, campaign, 3)
    second = w.join(member, f"/v1/groups/{first['group']['id']}", 2)
    assert second["group"]["heads"] == 2 and second["group"]["status"] == "open"
    for seat in (first, second):
        w.pay(seat)
    assert w.stock_taken(campaign) == 5

    w.clock.advance(2 * DAY)
    done = w.settle()
    assert (done["settled"], done["failed"], done["refunded_fen"], done["commission_fen"]) == (
        0,
        1,
        22500,
        0,
    )
    group = w.group(first["group"]["id"])
    assert (group["status"], group["joinable"]) == ("failed", False)
    for seat, paid in ((first, 13500), (second, 9000)):
        order = w.order(seat["order"]["id"])
        assert (order["status"], order["paid_fen"], order["refunded_fen"]) == (
            "cancelled",
            paid,
            paid,
        )
    assert w.stock_taken(campaign) == 0
    assert leader.get("/v1/me/earnings").json() == {
        "leader_id": leader.id,
        "entries": [],
        "total_fen": 0,
        "total": "¥0.00",
    }
    plan = w.admin.get("/v1/groupbuy/purchase-plan", params={"date": campaign["pickup_date"]})
    assert (plan.json()["lines"], plan.json()["distribution"]) == ([], [])


def test_a_member_leaves_an_operator_takes_one_out_and_cancels_the_group(w: World) -> None:
    campaign = w.campaign(min_heads=5)
    leader, a, b, c = w.residents[:4]
    first = w.start(leader, campaign, 2)
    path = f"/v1/groups/{first['group']['id']}"
    w.pay(first)
    w.clock.advance(dt.timedelta(minutes=1))
    paid = w.join(a, path)
    w.pay(paid)
    w.clock.advance(dt.timedelta(minutes=1))
    unpaid = w.join(b, path)
    w.clock.advance(dt.timedelta(minutes=1))
    last = w.join(c, path)

    left = leader.post(f"{path}/leave")
    assert left.status_code == 200, left.text
    assert left.json() | {"left_at": None} == {
        "group_id": first["group"]["id"],
        "status": "open",
        "heads": 3,
        "leader_id": a.id,  # handed to the earliest who joined
        "resident_id": leader.id,
        "order_id": first["order"]["id"],
        "quantity": 2,
        "left_at": None,
    }
    order = w.order(first["order"]["id"])
    assert (order["status"], order["refunded_fen"]) == ("cancelled", 9000)
    is_problem(leader.post(f"{path}/leave"), 422, "invalid-input")  # not in it any more

    is_problem(a.post(f"{path}/leave", json={"resident_id": b.id}), 403, "forbidden")
    is_problem(w.other_operator.post(f"{path}/leave", json={"resident_id": b.id}), 403, "forbidden")
    taken_out = w.operator.post(f"{path}/leave", json={"resident_id": b.id})
    assert taken_out.status_code == 200, taken_out.text
    assert (taken_out.json()["heads"], taken_out.json()["order_id"]) == (
        2,
        unpaid["order"]["id"],
    )
    assert w.order(unpaid["order"]["id"])["status"] == "cancelled"
    assert w.stock_taken(campaign) == 2

    is_problem(a.post(f"{path}/cancel", json={"reason": "供货不足"}), 403, "forbidden")
    is_problem(w.other_operator.post(f"{path}/cancel", json={"reason": "x"}), 403, "forbidden")
    is_problem(w.operator.post(f"{path}/cancel", json={"reason": " "}), 422, "invalid-input")
    cancelled = w.operator.post(f"{path}/cancel", json={"reason": "供货不足"})
    assert cancelled.status_code == 200, cancelled.text
    settlement = cancelled.json()
    assert (settlement["status"], settlement["unit_price_fen"], settlement["group_id"]) == (
        "cancelled",
        None,
        first["group"]["id"],
    )
    assert sorted((x["resident_id"], x["order_id"]) for x in settlement["lines"]) == sorted(
        [(a.id, paid["order"]["id"]), (c.id, last["order"]["id"])]
    )
    assert w.order(paid["order"]["id"])["refunded_fen"] == 4500
    never_paid = w.order(last["order"]["id"])
    assert (never_paid["status"], never_paid["refunded_fen"]) == ("cancelled", 0)
    assert w.group(first["group"]["id"])["status"] == "cancelled"
    assert w.stock_taken(campaign) == 0
    is_problem(
        w.operator.post(f"{path}/cancel", json={"reason": "again"}), 409, "illegal-transition"
    )
    listed = w.operator.get(
        f"/v1/campaigns/{campaign['id']}/groups",
        params={"community_id": w.here, "status": "cancelled"},
    )
    assert [g["id"] for g in listed.json()] == [first["group"]["id"]]
    members = listed.json()[0]["members"]  # who was in it when it was called off
    assert [m["resident_id"] for m in members] == [a.id, c.id]


def test_operators_list_the_groups_of_their_community(w: World) -> None:
    campaign = w.campaign()
    one = w.start(w.residents[0], campaign)
    w.clock.advance(dt.timedelta(seconds=1))
    two = w.start(w.residents[1], campaign)
    w.join(w.residents[2], f"/v1/groups/{two['group']['id']}")
    path = f"/v1/campaigns/{campaign['id']}/groups"
    listed = w.operator.get(path, params={"community_id": w.here}).json()
    assert [g["id"] for g in listed] == [two["group"]["id"], one["group"]["id"]]
    assert [m["resident_id"] for m in listed[0]["members"]] == [
        w.residents[1].id,
        w.residents[2].id,
    ]
    succeeded = w.admin.get(path, params={"status": "succeeded"}).json()
    assert [g["id"] for g in succeeded] == [two["group"]["id"]]
    is_problem(w.operator.get(path), 403, "forbidden")  # every community's: admins only
    is_problem(w.other_operator.get(path, params={"community_id": w.here}), 403, "forbidden")
    is_problem(w.residents[0].get(path, params={"community_id": w.here}), 403, "forbidden")
    is_problem(w.admin.get(path, params={"status": "done"}), 422, "request-invalid")
    is_problem(w.admin.get("/v1/campaigns/nosuch/groups"), 404, "campaign-not-found")


def test_a_seat_is_idempotent_and_needs_its_key(w: World) -> None:
    campaign = w.campaign()
    leader, me = w.residents[:2]
    body = {"community_id": w.here, "pickup_point_id": "pp-east", "quantity": 1}
    missing = leader.post(f"/v1/campaigns/{campaign['id']}/groups", json=body)
    assert is_problem(missing, 422, "request-invalid")["errors"][0]["location"] == (
        "header.idempotency-key"
    )
    is_problem(w.try_start(leader, campaign, key="x" * 65), 422, "invalid-input")
    first = w.try_start(leader, campaign, key="start-1")
    again = w.try_start(leader, campaign, key="start-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["order"]["id"] == first.json()["order"]["id"]
    assert again.json()["payment"]["payment_id"] == first.json()["payment"]["payment_id"]
    is_problem(w.try_start(leader, campaign, 2, key="start-1"), 409, "idempotency-key-reused")

    path = f"/v1/groups/{first.json()['group']['id']}"
    missing = me.post(f"{path}/join", json={"quantity": 1})
    assert is_problem(missing, 422, "request-invalid")["errors"][0]["location"] == (
        "header.idempotency-key"
    )
    once = w.try_join(me, path, key="join-1")
    twice = w.try_join(me, path, key="join-1")
    assert (once.status_code, twice.status_code) == (201, 201)
    assert twice.json()["order"]["id"] == once.json()["order"]["id"]
    assert twice.json()["group"]["heads"] == 2
    is_problem(w.try_join(me, path, 2, key="join-1"), 409, "idempotency-key-reused")
    assert len(w.orders_of(me)) == 1 and w.stock_taken(campaign) == 2


def test_joining_refuses_what_it_must_and_changes_nothing(w: World) -> None:
    campaign = w.campaign(
        max_heads=3, per_resident_limit=3, tiers=[{"min_heads": 2, "price_fen": 4500}]
    )
    leader, a, b, c = w.residents[:4]
    seat = w.start(leader, campaign)
    group_id = seat["group"]["id"]
    path = f"/v1/groups/{group_id}"
    w.join(a, path, 3)

    def unchanged(attempt: Any, status: int, code: str, who: Person) -> None:
        before = (w.group(group_id), w.stock_taken(campaign), w.orders_of(who))
        is_problem(attempt, status, code)
        assert (w.group(group_id), w.stock_taken(campaign), w.orders_of(who)) == before

    unchanged(w.try_join(a, path, 1), 409, "group-limit-exceeded", a)  # in it already
    unchanged(w.try_join(b, path, 4), 409, "group-limit-exceeded", b)  # beyond the limit
    unchanged(w.try_join(w.stranger, path), 409, "campaign-not-running", w.stranger)
    unchanged(w.try_join(b, "/v1/invites/NOSUCH22"), 404, "group-not-found", b)
    unchanged(b.get("/v1/invites/NOSUCH22"), 404, "group-not-found", b)
    unchanged(w.try_join(b, "/v1/groups/nosuch"), 404, "group-not-found", b)
    floating = b.post(f"{path}/join", json={"quantity": 1.5}, headers={"Idempotency-Key": "f"})
    unchanged(floating, 422, "request-invalid", b)
    w.join(b, path)
    unchanged(w.try_join(c, path), 409, "group-full", c)

    w.clock.advance(DAY + dt.timedelta(minutes=1))
    unchanged(w.try_join(c, path), 409, "group-closed", c)  # past its deadline
    w.settle()
    assert w.group(group_id)["status"] == "failed"  # nobody paid
    unchanged(w.try_join(c, path), 409, "group-closed", c)  # settled


def test_a_resident_of_another_community_cannot_start_a_group(w: World) -> None:
    campaign = w.campaign()
    refused = w.try_start(w.stranger, campaign, community_id=w.there)
    is_problem(refused, 409, "campaign-not-running")
    is_problem(w.try_start(w.stranger, campaign), 409, "campaign-not-running")
    assert w.stock_taken(campaign) == 0 and w.orders_of(w.stranger) == []


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (
            {
                "tiers": [
                    {"min_heads": 5, "price_fen": 4200},
                    {"min_heads": 2, "price_fen": 4500},
                ]
            },
            422,
            "invalid-input",
        ),
        (
            {
                "tiers": [
                    {"min_heads": 2, "price_fen": 4500},
                    {"min_heads": 5, "price_fen": 4600},
                ]
            },
            422,
            "invalid-input",
        ),
        ({"tiers": [{"min_heads": 2, "price_fen": 5900}]}, 422, "invalid-input"),  # > ¥49.90
        ({"tiers": [{"min_heads": 2, "price_fen": 45.5}]}, 422, "request-invalid"),
        ({"ends_at": "2020-01-01T00:00:00+00:00"}, 422, "invalid-input"),
        ({"starts_at": "2026-11-25T00:00:00"}, 422, "invalid-input"),  # no time zone
        ({"min_heads": 30}, 422, "invalid-input"),
        ({"reward": {"kind": "commission", "commission_bp": 9000}}, 422, "invalid-input"),
        ({"reward": {"kind": "leader_price"}}, 422, "invalid-input"),
        ({"reward": {"kind": "free"}}, 422, "request-invalid"),
        ({"community_ids": []}, 422, "invalid-input"),
        ({"community_ids": ["nosuch"]}, 404, "community-not-found"),
        ({"sku_id": "nosuch"}, 404, "sku-not-found"),
        ({"colour": "red"}, 422, "request-invalid"),
    ],
)
def test_a_campaign_that_makes_no_sense_is_refused_and_changes_nothing(
    w: World, change: dict[str, Any], status: int, code: str
) -> None:
    is_problem(w.admin.post("/v1/campaigns", json=w.campaign_body(**change)), status, code)
    assert w.residents[0].get("/v1/campaigns", params={"community_id": w.here}).json() == []


def test_only_those_who_run_a_community_create_its_campaigns(w: World) -> None:
    body = w.campaign_body()
    for who in (w.residents[0], w.other_operator):
        is_problem(who.post("/v1/campaigns", json=body), 403, "forbidden")
    both = w.campaign_body(community_ids=[w.here, w.there])
    is_problem(w.operator.post("/v1/campaigns", json=both), 403, "forbidden")
    made = w.admin.post("/v1/campaigns", json=both)
    assert made.status_code == 201, made.text
    assert made.json()["community_ids"] == [w.here, w.there]
    for community in (w.here, w.there):
        listed = w.stranger.get("/v1/campaigns", params={"community_id": community}).json()
        assert [c["id"] for c in listed] == [made.json()["id"]]
    is_problem(w.stranger.get("/v1/campaigns/nosuch"), 404, "campaign-not-found")
    is_problem(w.stranger.get("/v1/campaigns"), 422, "request-invalid")


def test_settlement_and_the_purchase_plan_are_the_platform_s(w: World) -> None:
    for who in (w.operator, w.residents[0]):
        is_problem(who.post("/v1/groupbuy/settle"), 403, "forbidden")
        is_problem(
            who.get("/v1/groupbuy/purchase-plan", params={"date": "2026-11-29"}),
            403,
            "forbidden",
        )
    is_problem(w.admin.post("/v1/groupbuy/settle", json={"batch": 0}), 422, "invalid-input")
    is_problem(
        w.admin.get("/v1/groupbuy/purchase-plan", params={"date": "29/11/2026"}),
        422,
        "request-invalid",
    )
    empty = w.admin.get("/v1/groupbuy/purchase-plan", params={"date": "2026-11-29"}).json()
    assert empty == {
        "pickup_date": "2026-11-29",
        "units": 0,
        "lines": [],
        "distribution": [],
        "unsettled": 0,
    }
