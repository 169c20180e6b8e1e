"""The HTTP API end to end, through the real app on SQLite (and PostgreSQL for the flow)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import injector
import pytest
from fastapi.testclient import TestClient

from shequ import SeedDemoHandler, Settings
from shequ.adapters.clock import FixedClock
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.policy import CONSOLE
from shequ.domain.identity import Membership, Role
from shequ.entrypoints.http import create_app
from tests.support import container

PROBLEM = "application/problem+json"


ADMIN_PHONE, ADMIN_PASSWORD = "13800000009", "admin password"


def sign_in(client: TestClient, phone: str, password: str) -> None:
    """Sign the client in; later requests carry its access token."""
    response = client.post("/v1/auth/sign-in", json={"phone": phone, "password": password})
    assert response.status_code == 200, response.text
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"


@pytest.fixture
def client(app: injector.Injector) -> Iterator[TestClient]:
    """A client signed in as a platform admin."""
    app.get(OpenAccountHandler)(
        OpenAccount(
            phone=ADMIN_PHONE, password=ADMIN_PASSWORD, memberships=(Membership(Role.ADMIN),)
        ),
        actor=CONSOLE,
    )
    with TestClient(create_app(app), raise_server_exceptions=False) as c:
        sign_in(c, ADMIN_PHONE, ADMIN_PASSWORD)
        yield c


def is_problem(response: Any, status: int, code: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    code = code or body["code"]
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:shequ:error:{code}" and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_a_catalog_is_built_and_browsed_over_http(client: TestClient) -> None:
    community = client.post("/v1/communities", json={"name": "阳光花园", "city": "杭州"})
    assert community.status_code == 201
    cid = community.json()["id"]
    seller = client.post("/v1/sellers", json={"name": "老王", "community_id": cid}).json()
    product = client.post(
        "/v1/products",
        json={
            "seller_id": seller["id"],
            "name": "赣南脐橙",
            "category": "生鲜/水果",
            "media": [{"uri": "https://img/1.jpg", "alt_text": "橙子"}],
            "fresh": {"storage": "chilled", "shelf_life_days": 20},
        },
    )
    assert product.status_code == 201, product.text
    pid = product.json()["id"]
    sku = client.post(
        f"/v1/products/{pid}/skus",
        json={
            "spec": "5斤/箱",
            "price_fen": 2990,
            "list_price_fen": 3990,
            "stock": 5,
            "on_sale": True,
            "community_ids": [cid],
        },
    )
    assert sku.status_code == 201, sku.text
    assert sku.json()["price"] == "¥29.90"
    sid = sku.json()["id"]
    repriced = client.put(f"/v1/skus/{sid}/price", json={"price_fen": 2590}).json()
    assert (repriced["price_fen"], repriced["list_price_fen"]) == (2590, 3990)
    repriced = client.put(
        f"/v1/skus/{sid}/price", json={"price_fen": 2590, "list_price_fen": None}
    ).json()
    assert repriced["list_price_fen"] is None
    restocked = client.post(
        f"/v1/skus/{sid}/stock-adjustments", json={"delta": 10, "reason": "restock"}
    )
    assert restocked.json()["stock"] == 15
    assert (
        client.post(f"/v1/skus/{sid}/stock-adjustments", json={"counted": 12}).json()["stock"] == 12
    )
    edited = client.patch(f"/v1/products/{pid}", json={"origin": "江西赣州", "fresh": None})
    assert (edited.json()["origin"], edited.json()["fresh"]) == ("江西赣州", None)
    page = client.get("/v1/products", params={"community": cid, "in_stock": "true"}).json()
    assert [i["name"] for i in page["items"]] == ["赣南脐橙"]
    assert page["items"][0]["skus"][0]["stock"] == 12 and page["next_cursor"] is None
    assert client.get(f"/v1/products/{pid}").json()["skus"][0]["id"] == sid
    unlisted = client.delete(f"/v1/skus/{sid}/listings/{cid}")
    assert unlisted.json()["community_ids"] == []
    assert client.get("/v1/products", params={"community": cid}).json()["items"] == []
    off = client.put(f"/v1/skus/{sid}/on-sale", json={"on_sale": False})
    assert off.json()["on_sale"] is False
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}


@pytest.fixture
def demo_client(tmp_path: Path, clock: FixedClock) -> Iterator[TestClient]:
    from shequ.application.ports import SchemaMigrations

    app = container(
        Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", password_profile="cheap"),
        clock,
    )
    app.get(SchemaMigrations).upgrade()
    made = app.get(SeedDemoHandler)(actor=CONSOLE)
    admin = next(a for a in made.accounts if a.role is Role.ADMIN)
    assert admin.password is not None
    with TestClient(create_app(app), raise_server_exceptions=False) as c:
        sign_in(c, admin.phone, admin.password)
        yield c


def test_the_demo_pages_through_with_cursors(demo_client: TestClient) -> None:
    names: list[str] = []
    params: dict[str, Any] = {"sort": "price", "limit": 7}
    while True:
        page = demo_client.get("/v1/products", params=params).json()
        names += [i["name"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(names) == len(set(names)) == 30
    prices = [
        min(s["price_fen"] for s in i["skus"])
        for i in demo_client.get("/v1/products", params={"sort": "price", "limit": 100}).json()[
            "items"
        ]
    ]
    assert prices == sorted(prices)


def test_a_tampered_cursor_is_a_clear_422(demo_client: TestClient) -> None:
    cursor = demo_client.get("/v1/products", params={"limit": 2}).json()["next_cursor"]
    tampered = cursor[:-1] + ("0" if cursor[-1] != "0" else "1")
    is_problem(
        demo_client.get("/v1/products", params={"limit": 2, "cursor": tampered}),
        422,
        "invalid-cursor",
    )
    is_problem(
        demo_client.get("/v1/products", params={"limit": 2, "cursor": cursor, "sort": "price"}),
        422,
        "invalid-cursor",
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "/v1/products", "{not json", 422, "request-invalid"),
        ("post", "/v1/products", {"name": "x"}, 422, "request-invalid"),
        (
            "post",
            "/v1/products",
            {"seller_id": "s", "name": "x", "category": "y", "colour": 1},
            422,
            "request-invalid",
        ),
        (
            "post",
            "/v1/products",
            {"seller_id": "nobody", "name": "x", "category": "y"},
            404,
            "seller-not-found",
        ),
        (
            "post",
            "/v1/products/nope/skus",
            {"spec": "a", "price_fen": 100},
            404,
            "product-not-found",
        ),
        (
            "post",
            "/v1/products/nope/skus",
            {"spec": "a", "price_fen": "12.5"},
            422,
            "request-invalid",
        ),
        (
            "post",
            "/v1/products/nope/skus",
            {"spec": "a", "price_fen": 12.5},
            422,
            "request-invalid",
        ),
        ("post", "/v1/products/nope/skus", {"spec": "a", "price_fen": -100}, 422, "invalid-amount"),
        (
            "post",
            "/v1/products/nope/skus",
            {"spec": "a", "price_fen": 10**20},
            422,
            "invalid-amount",
        ),
        ("get", "/v1/skus/nope", None, 404, "sku-not-found"),
        ("put", "/v1/skus/nope/price", {"price_fen": 100}, 404, "sku-not-found"),
        ("post", "/v1/skus/nope/stock-adjustments", {"delta": 1}, 422, "invalid-input"),
        (
            "post",
            "/v1/skus/nope/stock-adjustments",
            {"delta": 1, "counted": 2},
            422,
            "invalid-input",
        ),
        ("get", "/v1/products?limit=0", None, 422, "request-invalid"),
        ("get", "/v1/products?min_price_fen=500&max_price_fen=100", None, 422, "invalid-input"),
        ("get", "/v1/products?min_price_fen=abc", None, 422, "request-invalid"),
        ("get", "/v1/products?min_price_fen=100000000000000000000", None, 422, "invalid-amount"),
        ("get", "/v1/products?category=a//b", None, 422, "invalid-input"),
        ("get", "/v1/nowhere", None, 404, "route-not-found"),
        ("post", "/v1/communities", '{"name": "\\ud800x"}', 422, "invalid-input"),
        (
            "post",
            "/v1/products",
            '{"seller_id": "\\ud800", "name": "x", "category": "y"}',
            422,
            "invalid-input",
        ),
        (
            "post",
            "/v1/products",
            {
                "seller_id": "s",
                "name": "x",
                "category": "y",
                "fresh": {"harvested_at": "0001-01-01T00:00:00+08:00"},
            },
            422,
            "invalid-input",
        ),
        (
            "post",
            "/v1/products",
            {
                "seller_id": "s",
                "name": "x",
                "category": "y",
                "fresh": {"harvested_at": "9999-12-31T23:00:00-08:00"},
            },
            422,
            "invalid-input",
        ),
        (
            "post",
            "/v1/products/nope/skus",
            {"spec": "a", "price_fen": 100, "list_price_fen": 10**19},
            422,
            "invalid-amount",
        ),
        ("get", "/v1/products?cursor=%C3%A9.%C3%A9", None, 422, "invalid-cursor"),
        ("get", "/v1/products/" + "x" * 5000, None, 404, "product-not-found"),
        ("delete", "/v1/products", None, 405, "method-not-allowed"),
    ],
)
def test_bad_requests_get_a_problem_never_a_500(
    demo_client: TestClient, method: str, path: str, body: Any, status: int, code: str
) -> None:
    kwargs: dict[str, Any] = {}
    if isinstance(body, str):
        kwargs = {"content": body, "headers": {"content-type": "application/json"}}
    elif body is not None:
        kwargs = {"json": body}
    is_problem(demo_client.request(method.upper(), path, **kwargs), status, code)


def test_a_refused_change_is_a_4xx_and_changes_nothing(demo_client: TestClient) -> None:
    item = demo_client.get("/v1/products", params={"in_stock": "true", "limit": 1}).json()
    sku = item["items"][0]["skus"][0]
    response = demo_client.post(
        f"/v1/skus/{sku['id']}/stock-adjustments",
        json={"delta": -(sku["stock"] + 1), "reason": "damage"},
    )
    is_problem(response, 409, "out-of-stock")
    zero = demo_client.put(f"/v1/skus/{sku['id']}/price", json={"price_fen": 0})
    assert is_problem(zero, 422, "invalid-amount")["field"] == "price"
    after = demo_client.get(f"/v1/skus/{sku['id']}").json()
    assert (after["stock"], after["price_fen"]) == (sku["stock"], sku["price_fen"])


def test_the_openapi_document_lists_the_routes(demo_client: TestClient) -> None:
    spec = demo_client.get("/openapi.json").json()
    assert {
        "/v1/products",
        "/v1/products/{product_id}",
        "/v1/skus/{sku_id}/stock-adjustments",
        "/healthz",
    } <= set(spec["paths"])


def test_health_is_503_on_a_database_without_the_schema(tmp_path: Path, clock: FixedClock) -> None:
    app = container(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"), clock)
    with TestClient(create_app(app), raise_server_exceptions=False) as c:
        is_problem(c.get("/healthz"), 503, "schema-out-of-date")
        signing_in = c.post("/v1/auth/sign-in", json={"phone": ADMIN_PHONE, "password": "x" * 9})
        is_problem(signing_in, 503, "schema-out-of-date")


def test_an_unexpected_failure_is_a_500_problem_with_a_reference(
    demo_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shequ.application.catalog.browse import BrowseProductsHandler

    def broken(*_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(BrowseProductsHandler, "__call__", broken)
    body = is_problem(demo_client.get("/v1/products"), 500, "internal")
    assert body["reference"] in body["detail"] and "disk" not in body["detail"]
