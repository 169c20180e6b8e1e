"""Signing in and out over HTTP."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import injector
import pytest
from fastapi.testclient import TestClient

from shequ import Settings, bootstrap
from shequ.adapters.clock import FixedClock
from shequ.adapters.notify import RecordingNotifier
from shequ.application.catalog.communities import CreateCommunity, CreateCommunityHandler
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import Notifier, SchemaMigrations
from shequ.entrypoints.http import create_app
from tests.support import ClockModule

PHONE, PASSWORD = "13812345678", "correct horse"


class Notify(injector.Module):
    def __init__(self, sent: RecordingNotifier) -> None:
        self._sent = sent

    @injector.provider
    def notifier(self) -> Notifier:
        return self._sent


@pytest.fixture
def sent() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def app(tmp_path: Path, clock: FixedClock, sent: RecordingNotifier) -> injector.Injector:
    made = bootstrap(
        Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", password_profile="cheap"),
        ClockModule(clock),
        Notify(sent),
    )
    made.get(SchemaMigrations).upgrade()
    made.get(OpenAccountHandler)(
        OpenAccount(phone=PHONE, name="张伟", password=PASSWORD), actor=CONSOLE
    )
    return made


@pytest.fixture
def client(app: injector.Injector) -> TestClient:
    return TestClient(create_app(app), raise_server_exceptions=False)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_password_sign_in_refresh_and_sign_out(client: TestClient) -> None:
    signed = client.post("/v1/auth/sign-in", json={"phone": PHONE, "password": PASSWORD}).json()
    me = client.get("/v1/me", headers=bearer(signed["access_token"]))
    assert me.status_code == 200
    assert (me.json()["phone"], me.json()["name"]) == (PHONE, "张伟")  # the owner sees all
    renewed = client.post("/v1/auth/refresh", json={"refresh_token": signed["refresh_token"]})
    assert renewed.status_code == 200 and renewed.json()["token_type"] == "Bearer"
    replayed = client.post("/v1/auth/refresh", json={"refresh_token": signed["refresh_token"]})
    assert replayed.status_code == 401
    again = client.post("/v1/auth/sign-in", json={"phone": PHONE, "password": PASSWORD}).json()
    out = client.post("/v1/auth/sign-out", json={"refresh_token": again["refresh_token"]})
    assert out.status_code == 204
    assert (
        client.post("/v1/auth/refresh", json={"refresh_token": again["refresh_token"]}).status_code
        == 401
    )


def test_a_code_signs_up_a_resident(
    client: TestClient, app: injector.Injector, sent: RecordingNotifier
) -> None:
    home = app.get(CreateCommunityHandler)(CreateCommunity(name="阳光花园"), actor=CONSOLE)
    newcomer = "13900001111"
    assert client.post("/v1/auth/code", json={"phone": newcomer}).status_code == 202
    joined = client.post(
        "/v1/auth/sign-up",
        json={
            "phone": newcomer,
            "code": sent.sent[newcomer],
            "community_id": home.id,
            "name": "李娜",
            "policy_version": "2026-11",
        },
    )
    assert joined.status_code == 201, joined.text
    me = client.get("/v1/me", headers=bearer(joined.json()["access_token"])).json()
    assert me["memberships"] == [{"role": "resident", "community_id": home.id, "scope_id": None}]


def test_wrong_secrets_get_one_answer_and_a_lockout(client: TestClient) -> None:
    answers = [
        client.post("/v1/auth/sign-in", json=body).json()["detail"]
        for body in (
            {"phone": PHONE, "password": "wrong horse!"},
            {"phone": "13900000000", "password": PASSWORD},
            {"phone": PHONE, "code": "123456"},
        )
    ]
    assert len(set(answers)) == 1
    for _ in range(2):
        client.post("/v1/auth/sign-in", json={"phone": PHONE, "password": "wrong horse!"})
    locked = client.post("/v1/auth/sign-in", json={"phone": PHONE, "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["code"] == "rate-limited"
    assert int(locked.headers["retry-after"]) > 0


def test_expired_tampered_and_voided_tokens_get_401(client: TestClient, clock: FixedClock) -> None:
    signed = client.post("/v1/auth/sign-in", json={"phone": PHONE, "password": PASSWORD}).json()
    token = signed["access_token"]
    for bad in (token[:-3] + "AAA", "Bearer", "not.a.token"):
        response = client.get("/v1/me", headers=bearer(bad))
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    assert client.get("/v1/me", headers={"Authorization": f"Basic {token}"}).status_code == 401
    assert client.post("/v1/auth/sign-out-everywhere", headers=bearer(token)).status_code == 204
    assert client.get("/v1/me", headers=bearer(token)).status_code == 401
    fresh = client.post("/v1/auth/sign-in", json={"phone": PHONE, "password": PASSWORD}).json()
    clock.advance(dt.timedelta(minutes=16))
    expired = client.get("/v1/me", headers=bearer(fresh["access_token"]))
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"phone": PHONE},
        {"phone": PHONE, "password": PASSWORD, "code": "123456"},
        {"phone": "not a phone", "password": PASSWORD},
        {"phone": 13812345678, "password": "x"},
    ],
)
def test_malformed_sign_ins_are_422(client: TestClient, body: dict[str, object]) -> None:
    assert client.post("/v1/auth/sign-in", json=body).status_code == 422


def test_a_resident_consents_exports_and_erases(
    client: TestClient, app: injector.Injector, tmp_path: Path
) -> None:
    signed = client.post("/v1/auth/sign-in", json={"phone": PHONE, "password": PASSWORD}).json()
    auth = bearer(signed["access_token"])
    consent = client.post("/v1/me/consents", json={"policy_version": "2026-11"}, headers=auth)
    assert consent.status_code == 201 and consent.json() == {"policy_version": "2026-11"}
    export = client.get("/v1/me/export", headers=auth).json()
    assert export["account"]["phone"] == PHONE and export["account"]["name"] == "张伟"
    assert [c["policy_version"] for c in export["consents"]] == ["2026-11"]
    assert {"account.signed_in", "consent.given"} <= {a["action"] for a in export["activity"]}
    assert client.delete("/v1/me", headers=auth).status_code == 204
    assert client.get("/v1/me", headers=auth).status_code == 401
    assert (
        client.post("/v1/auth/sign-in", json={"phone": PHONE, "password": PASSWORD}).status_code
        == 401
    )
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("a.db*"))
    assert PHONE.encode() not in raw and "张伟".encode() not in raw
    # the number is free again: a new account may use it
    app.get(OpenAccountHandler)(OpenAccount(phone=PHONE, password=PASSWORD), actor=CONSOLE)
    again = client.post("/v1/auth/sign-in", json={"phone": PHONE, "password": PASSWORD})
    assert again.status_code == 200
    assert client.get("/v1/me", headers=bearer(again.json()["access_token"])).json()["name"] == ""


def test_addresses_belong_to_their_owner_alone(
    client: TestClient, app: injector.Injector, tmp_path: Path
) -> None:
    mine = bearer(
        client.post("/v1/auth/sign-in", json={"phone": PHONE, "password": PASSWORD}).json()[
            "access_token"
        ]
    )
    app.get(OpenAccountHandler)(OpenAccount(phone="13900000002", password=PASSWORD), actor=CONSOLE)
    theirs = bearer(
        client.post("/v1/auth/sign-in", json={"phone": "13900000002", "password": PASSWORD}).json()[
            "access_token"
        ]
    )
    added = client.post(
        "/v1/me/addresses",
        headers=mine,
        json={
            "recipient": "王芳",
            "phone": "13912345678",
            "detail": "阳光花园3幢2单元501",
            "label": "家",
        },
    )
    assert added.status_code == 201, added.text
    address = added.json()
    assert (address["recipient"], address["phone"]) == ("王芳", "13912345678")
    assert client.get("/v1/me/addresses", headers=theirs).json() == []
    assert client.delete(f"/v1/me/addresses/{address['id']}", headers=theirs).status_code == 404
    export = client.get("/v1/me/export", headers=mine).json()
    assert export["addresses"][0]["detail"] == "阳光花园3幢2单元501"
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("a.db*"))
    for secret in ("王芳", "13912345678", "阳光花园3幢2单元501"):
        assert secret.encode() not in raw
    bad = client.post(
        "/v1/me/addresses", headers=mine, json={"recipient": "", "phone": "123", "detail": ""}
    )
    assert bad.status_code == 422
    assert client.delete(f"/v1/me/addresses/{address['id']}", headers=mine).status_code == 204
    assert client.get("/v1/me/addresses", headers=mine).json() == []
    client.post(
        "/v1/me/addresses",
        headers=mine,
        json={"recipient": "王芳", "phone": "13912345678", "detail": "5幢101"},
    )
    assert client.delete("/v1/me", headers=mine).status_code == 204
    app.get(OpenAccountHandler)(OpenAccount(phone=PHONE, password=PASSWORD), actor=CONSOLE)
    again = bearer(
        client.post("/v1/auth/sign-in", json={"phone": PHONE, "password": PASSWORD}).json()[
            "access_token"
        ]
    )
    assert client.get("/v1/me/addresses", headers=again).json() == []
