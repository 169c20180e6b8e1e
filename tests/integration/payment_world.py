"""What the payment flow tests share: the app bootstrapped with one real provider
(WeChat Pay, Alipay or Stripe) pointing at that provider's local stub, a community with
signed-in clients, and for each provider a ``Side`` that plays the payer and the provider:
it pays, notifies, forges notifications and fails on request.

Test modules import the fixtures from here: ``*_fixture``, each named without its
suffix. The app's clock is the ``clock`` of ``tests/conftest.py``; each stub's clock is set
to it, as WeChat Pay's and Stripe's signed timestamps are checked against it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import types
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import attrs
import injector
import pytest
import stripe
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fastapi.testclient import TestClient
from httpx import Response

import tests.stubs.stripe as stripe_stub
from shequ.adapters.clock import FixedClock
from shequ.adapters.payments import SandboxPaymentGateway
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.payments.providers import PaymentProviders
from shequ.application.policy import CONSOLE
from shequ.application.ports import AuditQuery, SchemaMigrations, UnitOfWork
from shequ.domain.audit import AuditRecord
from shequ.domain.identity import Membership, Role
from shequ.domain.ids import PaymentId
from shequ.entrypoints.cli import cli
from shequ.entrypoints.http import create_app
from tests.integration.conftest import database_url
from tests.stubs import StubServer
from tests.stubs.alipay import GATEWAY_PATH, AlipayStub
from tests.stubs.wechat import WechatPayStub
from tests.support import Shop, container, settings

__all__ = [
    "ALL_PROVIDERS",
    "AND_THE_SANDBOX",
    "CST",
    "EVERY_BACKEND",
    "MEMORY_AND_SQLITE",
    "UNKNOWN_PAYMENT",
    "Keys",
    "Notice",
    "Side",
    "World",
    "alipay_stub_fixture",
    "bill_day",
    "keys_fixture",
    "kinds",
    "side_fixture",
    "stripe_server_fixture",
    "w_fixture",
    "wechat_stub_fixture",
]

CST = dt.timezone(dt.timedelta(hours=8), "CST")
PROVIDERS = ["wechat", "alipay", "stripe"]
ALL_PROVIDERS = pytest.mark.parametrize("side", PROVIDERS, indirect=True)
# the in-process sandbox goes through the same door as the real providers' adapters
AND_THE_SANDBOX = pytest.mark.parametrize("side", [*PROVIDERS, "sandbox"], indirect=True)
EVERY_BACKEND = pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"], indirect=True)
MEMORY_AND_SQLITE = pytest.mark.parametrize("backend", ["memory", "sqlite"], indirect=True)

MCHID = "1900000109"
WECHAT_APPID = "wxd678efh567hg6787"
MERCHANT_SERIAL = "444F4864EA9B34415D1D5E0C4B4A5A7E1C3B2D90"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092025010100000000000001"
ALIPAY_APP_ID = "2021000000000001"
PASSWORD = "payments password"
UNKNOWN_PAYMENT = "P" + "0" * 31  # shaped like ours; never created

Notice = tuple[bytes, dict[str, str]]


@attrs.frozen
class Keys:
    wechat_merchant: RSAPrivateKey
    wechat_platform: RSAPrivateKey
    alipay_app: RSAPrivateKey
    alipay: RSAPrivateKey
    other: RSAPrivateKey
    apiv3: str


def _pem(key: RSAPrivateKey, form: serialization.PrivateFormat) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, form, serialization.NoEncryption()
    ).decode()


def _public_pem(key: RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="ascii")
    return str(path)


def kinds(payment: dict[str, Any]) -> list[str]:
    """The kinds of a payment's log entries, in order."""
    return [e["kind"] for e in payment["entries"]]


def bill_day(payment: dict[str, Any]) -> dt.date:
    """The day, China Standard Time, the payment was charged on: its bill's day."""
    return dt.datetime.fromisoformat(payment["paid_at"]).astimezone(CST).date()


# ---------------------------------------------------------------- fixtures


@pytest.fixture(name="keys", scope="module")
def keys_fixture() -> Keys:
    def new_key() -> RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(new_key(), new_key(), new_key(), new_key(), new_key(), secrets.token_hex(16))


@pytest.fixture(name="wechat_stub", scope="module")
def wechat_stub_fixture(keys: Keys) -> Iterator[WechatPayStub]:
    stub = WechatPayStub(
        mchid=MCHID,
        appid=WECHAT_APPID,
        apiv3_key=keys.apiv3,
        merchant_public_key=keys.wechat_merchant.public_key(),
        merchant_serial_no=MERCHANT_SERIAL,
        platform_key=keys.wechat_platform,
        public_key_id=PUBLIC_KEY_ID,
    )
    with _quiet(stub.server).running():
        yield stub


@pytest.fixture(name="alipay_stub", scope="module")
def alipay_stub_fixture(keys: Keys) -> Iterator[AlipayStub]:
    stub = AlipayStub(
        app_id=ALIPAY_APP_ID,
        app_public_key=keys.alipay_app.public_key(),
        alipay_private_key=keys.alipay,
    )
    with _quiet(stub.server).running():
        yield stub


@pytest.fixture(name="stripe_server", scope="module")
def stripe_server_fixture() -> Iterator[tuple[StubServer, list[stripe_stub.StripeStub]]]:
    """One server for the module; each test's own Stripe (with its own keys) answers it,
    so a request a fault delayed past its test is refused by the next one's."""
    answering: list[stripe_stub.StripeStub] = []
    server = StubServer(lambda request: answering[0].handle(request))
    with _quiet(server).running() as running:
        yield running, answering


def _quiet(server: StubServer) -> StubServer:
    """A delayed answer (a timeout fault) finds its client gone; socketserver would print
    that broken pipe to stderr, in whichever later CliRunner happens to capture it."""
    server._http.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    return server


# ---------------------------------------------------------------- the provider's side


class Side:
    """A provider as the tests play it: the payer who pays, the provider that notifies,
    fails, and (for the security tests) someone forging its notifications."""

    name: ClassVar[str]
    channel: ClassVar[str]
    create_path: ClassVar[str]  # where a fault on creating a payment is injected
    refund_path: ClassVar[str]
    bill_path: ClassVar[str]
    refunds_at_once: ClassVar[bool] = False  # the refund call answers the refund done
    server: StubServer

    def settings(self, tmp_path: Path) -> dict[str, object]:
        raise NotImplementedError

    def attach(self, app: injector.Injector) -> None:
        """Meet the app once it is built."""

    def pay(self, intent: dict[str, Any]) -> Notice:
        raise NotImplementedError

    def refund_notification(self, refund_id: str) -> Notice:
        raise NotImplementedError

    def sent_again(self, notice: Notice) -> Notice:
        """A notification as the provider delivers it again later: signed anew where its
        signature carries a time."""
        return notice

    def payments_at_provider(self, payment_id: str) -> int:
        raise NotImplementedError

    def refunds_at_provider(self, refund_id: str) -> int:
        raise NotImplementedError

    def assert_accepted(self, response: Response, outcome: str) -> None:
        """The provider's own form of "received": ``outcome`` shows only in Stripe's."""
        raise NotImplementedError

    def assert_refused(self, response: Response, status: int, code: str) -> None:
        raise NotImplementedError

    # forged, tampered or misdirected notifications for a started payment
    def forge(self, how: str, intent: dict[str, Any]) -> Notice:
        return getattr(self, f"_{how}")(intent)  # type: ignore[no-any-return]


class WechatSide(Side):
    name = "wechat"
    channel = "wechat_native"
    create_path = "/v3/pay/transactions/native"
    refund_path = "/v3/refund/domestic/refunds"
    bill_path = "/v3/bill/tradebill"

    def __init__(self, stub: WechatPayStub, keys: Keys, clock: FixedClock) -> None:
        stub.reset()
        stub.now = clock.now  # signatures' timestamps are checked against the app's clock
        self.stub, self.keys, self.clock, self.server = stub, keys, clock, stub.server

    def settings(self, tmp_path: Path) -> dict[str, object]:
        private = _pem(self.keys.wechat_merchant, serialization.PrivateFormat.PKCS8)
        return {
            "wechat_mchid": MCHID,
            "wechat_appid": WECHAT_APPID,
            "wechat_private_key_file": _write(tmp_path / "apiclient_key.pem", private),
            "wechat_cert_serial_no": MERCHANT_SERIAL,
            "wechat_apiv3_key": self.keys.apiv3,
            "wechat_public_key_file": _write(
                tmp_path / "pub_key.pem", _public_pem(self.keys.wechat_platform)
            ),
            "wechat_public_key_id": PUBLIC_KEY_ID,
            "wechat_base_url": self.server.url,
        }

    def pay(self, intent: dict[str, Any]) -> Notice:
        return self.stub.pay(intent["payment_id"])

    def refund_notification(self, refund_id: str) -> Notice:
        return self.stub.refund_notification(refund_id)

    def sent_again(self, notice: Notice) -> Notice:
        body, _ = notice
        return body, self.stub.signed_headers(body)

    def payments_at_provider(self, payment_id: str) -> int:
        return int(payment_id in self.stub.payments)

    def refunds_at_provider(self, refund_id: str) -> int:
        return int(refund_id in self.stub.refunds)

    def assert_accepted(self, response: Response, outcome: str) -> None:
        assert (response.status_code, response.content) == (200, b""), response.text

    def assert_refused(self, response: Response, status: int, code: str) -> None:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        answer = response.json()
        assert answer["code"] == "FAIL" and answer["message"].startswith(f"{code}: ")

    def _resource(self, intent: dict[str, Any]) -> dict[str, Any]:
        self.stub.pay(intent["payment_id"])
        return self.stub.payment_resource(self.stub.payments[intent["payment_id"]])

    def _notify(self, resource: dict[str, Any], **forged: Any) -> Notice:
        return self.stub.notify(
            "TRANSACTION.SUCCESS", "transaction", resource, "支付成功", **forged
        )

    def _bad_signature(self, intent: dict[str, Any]) -> Notice:
        body, headers = self.pay(intent)
        forged = base64.b64encode(secrets.token_bytes(256)).decode()
        return body, headers | {"Wechatpay-Signature": forged}

    def _other_key(self, intent: dict[str, Any]) -> Notice:
        body, _ = self.pay(intent)
        return body, self.stub.signed_headers(body, key=self.keys.other)

    def _tampered_amount(self, intent: dict[str, Any]) -> Notice:
        resource = self._resource(intent)
        _, headers = self._notify(resource)
        resource["amount"] = {**resource["amount"], "total": 1, "payer_total": 1}
        body = self.stub.envelope("TRANSACTION.SUCCESS", "transaction", resource, "支付成功")
        return body, headers  # signed over the body before the change

    def _unknown_payment(self, intent: dict[str, Any]) -> Notice:
        return self._notify(self._resource(intent) | {"out_trade_no": UNKNOWN_PAYMENT})

    def _stale(self, intent: dict[str, Any]) -> Notice:
        return self._notify(self._resource(intent), at=self.clock.now() - dt.timedelta(minutes=6))

    def _other_merchant(self, intent: dict[str, Any]) -> Notice:
        return self._notify(self._resource(intent) | {"mchid": "1900000999"})

    def _signed_other_amount(self, intent: dict[str, Any]) -> Notice:
        resource = self._resource(intent)
        resource["amount"] = {**resource["amount"], "total": 1, "payer_total": 1}
        return self._notify(resource)


class AlipaySide(Side):
    name = "alipay"
    channel = "alipay_page"
    create_path = GATEWAY_PATH  # never called: the page URL is signed locally
    refund_path = GATEWAY_PATH
    bill_path = GATEWAY_PATH
    refunds_at_once = True

    def __init__(self, stub: AlipayStub, keys: Keys, clock: FixedClock) -> None:
        stub.reset()
        stub.now = clock.now().astimezone(CST)  # then each event moves it on a second
        self.stub, self.keys, self.clock, self.server = stub, keys, clock, stub.server

    def settings(self, tmp_path: Path) -> dict[str, object]:
        private = _pem(self.keys.alipay_app, serialization.PrivateFormat.TraditionalOpenSSL)
        return {
            "alipay_app_id": ALIPAY_APP_ID,
            "alipay_private_key_file": _write(tmp_path / "app_private_key.pem", private),
            "alipay_public_key_file": _write(
                tmp_path / "alipay_public_key.pem", _public_pem(self.keys.alipay)
            ),
            "alipay_base_url": self.stub.gateway,
        }

    def pay(self, intent: dict[str, Any]) -> Notice:
        if intent["payment_id"] not in self.stub.trades:
            self.stub.open(intent["params"]["url"])  # the payer's browser reaches Alipay
        return self.stub.pay(intent["payment_id"])

    def refund_notification(self, refund_id: str) -> Notice:
        return self.stub.refund_notification(refund_id)

    def payments_at_provider(self, payment_id: str) -> int:
        return int(payment_id in self.stub.trades)

    def refunds_at_provider(self, refund_id: str) -> int:
        return sum(refund_id in t.refunds for t in self.stub.trades.values())

    def assert_accepted(self, response: Response, outcome: str) -> None:
        assert (response.status_code, response.text) == (200, "success")
        assert response.headers["content-type"].startswith("text/plain")

    def assert_refused(self, response: Response, status: int, code: str) -> None:
        assert (response.status_code, response.text) == (status, "fail")

    def _fields(self, intent: dict[str, Any]) -> dict[str, str]:
        self.pay(intent)
        return self.stub.payment_fields(intent["payment_id"])

    def _bad_signature(self, intent: dict[str, Any]) -> Notice:
        body, headers = self.pay(intent)
        fields = dict(urllib.parse.parse_qsl(body.decode()))
        fields["sign"] = base64.b64encode(secrets.token_bytes(256)).decode()
        return urllib.parse.urlencode(fields).encode(), headers

    def _other_key(self, intent: dict[str, Any]) -> Notice:
        return self.stub.notification(self._fields(intent), key=self.keys.other)

    def _tampered_amount(self, intent: dict[str, Any]) -> Notice:
        body, headers = self.pay(intent)
        fields = dict(urllib.parse.parse_qsl(body.decode()))
        for name in ("total_amount", "receipt_amount", "buyer_pay_amount", "invoice_amount"):
            fields[name] = "0.01"
        return urllib.parse.urlencode(fields).encode(), headers

    def _unknown_payment(self, intent: dict[str, Any]) -> Notice:
        return self.stub.notification(self._fields(intent) | {"out_trade_no": UNKNOWN_PAYMENT})

    def _other_merchant(self, intent: dict[str, Any]) -> Notice:
        other = "2021000000000999"
        return self.stub.notification(
            self._fields(intent) | {"app_id": other, "auth_app_id": other}
        )


class StripeSide(Side):
    name = "stripe"
    channel = "card"
    create_path = "/v1/payment_intents"
    refund_path = "/v1/refunds"
    bill_path = "/v1/balance_transactions"

    def __init__(
        self,
        server: tuple[StubServer, list[stripe_stub.StripeStub]],
        clock: FixedClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(stripe, "enable_telemetry", False)
        # The SDK refuses a signature older than five minutes by the real clock, and
        # access tokens one issued in the future: the app's clock runs a minute behind.
        clock.at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
        # The stub's clock is the app's: what it books and signs is dated by it.
        monkeypatch.setattr(
            stripe_stub, "time", types.SimpleNamespace(time=lambda: clock.now().timestamp())
        )
        self.api_key = "sk_test_" + secrets.token_hex(24)
        self.webhook_secret = "whsec_" + secrets.token_hex(24)
        self.stub = stripe_stub.StripeStub(self.api_key, self.webhook_secret)
        self.server, answering = server
        answering[:] = [self.stub]
        self.server.requests.clear()
        self.clock = clock

    def settings(self, tmp_path: Path) -> dict[str, object]:
        return {
            "stripe_api_key": self.api_key,
            "stripe_webhook_secret": self.webhook_secret,
            "stripe_base_url": self.server.url,
        }

    def pay(self, intent: dict[str, Any]) -> Notice:
        return self.stub.pay(intent["payment_id"])

    def refund_notification(self, refund_id: str) -> Notice:
        return self.stub.refund_notification(refund_id)

    def sent_again(self, notice: Notice) -> Notice:
        body, _ = notice
        return body, self.stub.sign(body)

    def payments_at_provider(self, payment_id: str) -> int:
        return len(self.stub.intents_of(payment_id))

    def refunds_at_provider(self, refund_id: str) -> int:
        return len(self.stub.refunds_of(refund_id))

    def assert_accepted(self, response: Response, outcome: str) -> None:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json()["outcome"] == outcome

    def assert_refused(self, response: Response, status: int, code: str) -> None:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code

    def _event(self, intent: dict[str, Any]) -> dict[str, Any]:
        body, _ = self.pay(intent)
        event: dict[str, Any] = json.loads(body)
        return event

    def _bad_signature(self, intent: dict[str, Any]) -> Notice:
        body, headers = self.pay(intent)
        timestamp = int(self.clock.now().timestamp())
        return body, headers | {"Stripe-Signature": f"t={timestamp},v1={secrets.token_hex(32)}"}

    def _other_key(self, intent: dict[str, Any]) -> Notice:
        body, _ = self.pay(intent)
        return body, self.stub.sign(body, secret="whsec_" + secrets.token_hex(24))

    def _tampered_amount(self, intent: dict[str, Any]) -> Notice:
        body, headers = self.pay(intent)
        event = json.loads(body)
        event["data"]["object"] |= {"amount": 1, "amount_received": 1}
        return json.dumps(event, indent=2).encode(), headers

    def _unknown_payment(self, intent: dict[str, Any]) -> Notice:
        event = self._event(intent)
        event["data"]["object"]["metadata"]["payment_id"] = UNKNOWN_PAYMENT
        body = json.dumps(event, indent=2).encode()
        return body, self.stub.sign(body)

    def _stale(self, intent: dict[str, Any]) -> Notice:
        body, _ = self.pay(intent)
        return body, self.stub.sign(
            body, at=(self.clock.now() - dt.timedelta(minutes=6)).timestamp()
        )

    def _signed_other_amount(self, intent: dict[str, Any]) -> Notice:
        event = self._event(intent)
        event["data"]["object"] |= {"amount": 1, "amount_received": 1}
        body = json.dumps(event, indent=2).encode()
        return body, self.stub.sign(body)


class SandboxSide(Side):
    name = "sandbox"
    channel = "sandbox"
    create_path = refund_path = bill_path = ""  # in-process: no server to fail
    refunds_at_once = True

    def __init__(self) -> None:
        self.secret = secrets.token_hex(16)
        self.gateway: SandboxPaymentGateway | None = None

    def settings(self, tmp_path: Path) -> dict[str, object]:
        return {"sandbox_secret": self.secret}

    def attach(self, app: injector.Injector) -> None:
        gateway = app.get(PaymentProviders).get("sandbox")
        assert isinstance(gateway, SandboxPaymentGateway)
        self.gateway = gateway

    @property
    def sandbox(self) -> SandboxPaymentGateway:
        assert self.gateway is not None
        return self.gateway

    def pay(self, intent: dict[str, Any]) -> Notice:
        return self.sandbox.pay(PaymentId(intent["payment_id"]))

    def refund_notification(self, refund_id: str) -> Notice:
        return self.sandbox.refund_notification(refund_id)

    def sent_again(self, notice: Notice) -> Notice:
        body, _ = notice
        return self.sandbox.notification(json.loads(body))

    def payments_at_provider(self, payment_id: str) -> int:
        return int(payment_id in self.sandbox._payments)

    def refunds_at_provider(self, refund_id: str) -> int:
        return int(refund_id in self.sandbox._refunds)

    def assert_accepted(self, response: Response, outcome: str) -> None:
        assert response.status_code == 200, response.text
        assert response.json()["outcome"] == outcome

    def assert_refused(self, response: Response, status: int, code: str) -> None:
        assert response.status_code == status, response.text
        assert response.json()["code"] == code


@pytest.fixture(name="side")
def side_fixture(
    request: pytest.FixtureRequest,
    keys: Keys,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Side:
    name = request.param
    if name == "wechat":
        return WechatSide(request.getfixturevalue("wechat_stub"), keys, clock)
    if name == "alipay":
        return AlipaySide(request.getfixturevalue("alipay_stub"), keys, clock)
    if name == "sandbox":
        return SandboxSide()
    assert name == "stripe"
    return StripeSide(request.getfixturevalue("stripe_server"), clock, monkeypatch)


# ---------------------------------------------------------------- the shop


class World:
    """The app wired to ``side``'s provider: a community with a grocer, apples on sale,
    and signed-in clients (a resident, the community's operator, a platform admin)."""

    phones = iter(range(13600000000, 13700000000))

    def __init__(self, app: injector.Injector, clock: FixedClock, side: Side) -> None:
        self.app, self.clock, self.side = app, clock, side
        self.api = create_app(app)
        self.provider = TestClient(self.api, raise_server_exceptions=False)  # no token
        shop = Shop(app, clock)
        here = shop.community()
        self.community = here.id
        grocer = shop.seller("老王生鲜铺", community=here)
        fruit = shop.product(grocer, "烟台苹果")
        self.apples = shop.sku(fruit, "2斤/袋", "10.00", stock=20, communities=(here,)).id
        self.resident = self.account(Membership(Role.RESIDENT, here.id))
        self.operator = self.account(Membership(Role.OPERATOR, here.id))
        self.admin = self.account(Membership(Role.ADMIN))

    def account(self, membership: Membership) -> TestClient:
        phone = str(next(self.phones))
        self.app.get(OpenAccountHandler)(
            OpenAccount(phone=phone, password=PASSWORD, memberships=(membership,)), actor=CONSOLE
        )
        client = TestClient(self.api, raise_server_exceptions=False)
        signed = client.post("/v1/auth/sign-in", json={"phone": phone, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
        return client

    # -- HTTP

    def order(self, quantity: int = 2) -> dict[str, Any]:
        placed = self.resident.post(
            "/v1/orders",
            json={
                "community_id": self.community,
                "fulfilment": {"kind": "pickup", "pickup_point_id": "pp-1"},
                "items": [{"sku_id": self.apples, "quantity": quantity}],
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert placed.status_code == 201, placed.text
        order: dict[str, Any] = placed.json()
        return order

    def ask_to_pay(self, order: dict[str, Any], key: str = "") -> Response:
        headers = {"Idempotency-Key": key} if key else {}
        answer: Response = self.resident.post(
            f"/v1/orders/{order['id']}/payment",
            json={"channel": self.side.channel},
            headers=headers,
        )
        return answer

    def start_payment(self, order: dict[str, Any], key: str = "") -> dict[str, Any]:
        started = self.ask_to_pay(order, key)
        assert started.status_code == 200, started.text
        intent: dict[str, Any] = started.json()
        return intent

    def notify(self, notice: Notice) -> Response:
        """POST a notification to the provider's endpoint, as the provider would."""
        body, headers = notice
        url = f"/v1/payments/{self.side.name}/notify"
        answer: Response = self.provider.post(url, content=body, headers=headers)
        return answer

    def payment(self, payment_id: str) -> dict[str, Any]:
        """The payment as the community's operator sees it: flags and errors included."""
        found = self.operator.get(f"/v1/payments/{payment_id}")
        assert found.status_code == 200, found.text
        payment: dict[str, Any] = found.json()
        return payment

    def payments_of(self, order_id: str, **query: Any) -> list[dict[str, Any]]:
        found = self.admin.get("/v1/payments", params={"order_id": order_id, **query})
        assert found.status_code == 200, found.text
        payments: list[dict[str, Any]] = found.json()
        return payments

    def order_of(self, order_id: str) -> dict[str, Any]:
        found = self.resident.get(f"/v1/orders/{order_id}")
        assert found.status_code == 200, found.text
        order: dict[str, Any] = found.json()
        return order

    def advance(self, order_id: str, *actions: str) -> None:
        for action in actions:
            done = self.operator.post(f"/v1/orders/{order_id}/advance", json={"action": action})
            assert done.status_code == 200, done.text

    def collect(self, order_id: str) -> None:
        """A packed order arrives at pp-1 and is handed over for its code."""
        arrived = self.operator.post(
            "/v1/pickup-points/pp-1/arrivals", json={"order_ids": [order_id]}
        )
        assert arrived.status_code == 200, arrived.text
        code = self.resident.get(f"/v1/orders/{order_id}/pickup-code").json()["code"]
        verified = self.operator.post("/v1/pickup-points/pp-1/verify", json={"code": code})
        assert verified.status_code == 200, verified.text

    # -- CLI

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), obj=self.app, catch_exceptions=False)

    def data(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, result.output + result.stderr
        return json.loads(result.stdout)

    def shown_payment(self, payment_id: str) -> dict[str, Any]:
        """``shequ payments show --json``: the payment with its refunds and its log."""
        payment: dict[str, Any] = self.data("payments", "show", payment_id)
        return payment

    def shown_order(self, order_id: str) -> dict[str, Any]:
        order: dict[str, Any] = self.data("orders", "show", order_id)
        return order

    @staticmethod
    def json(result: Result) -> Any:
        return json.loads(result.stdout)

    def reconcile(self, day: dt.date, provider: str) -> Result:
        return self.run(
            "payments", "reconcile", "--date", day.isoformat(), "--provider", provider, "--json"
        )

    # -- records

    def events(self, name: str, order_id: str) -> int:
        with self.app.get(UnitOfWork) as uow:
            return sum(
                1
                for m in uow.outbox.pending(10_000)
                if m.name == name and m.payload.get("order_id") == order_id
            )

    def rejections(self, provider: str) -> list[AuditRecord]:
        with self.app.get(UnitOfWork) as uow:
            found = uow.audit.search(AuditQuery(subject=f"payment-provider:{provider}"))
        return [r for r in found if r.action == "payment.notification-rejected"]


@pytest.fixture(name="w")
def w_fixture(
    backend: str,
    side: Side,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clock: FixedClock,
) -> Iterator[World]:
    values: dict[str, object] = {
        "payments": (side.name,),
        "payment_timeout_seconds": 0.5,
        **side.settings(tmp_path),
    }
    if backend == "memory":
        values["storage"] = "memory"
    else:
        values |= {
            "storage": "sql",
            "database_url": database_url(backend, request, tmp_path),
            "media_dir": str(tmp_path / "media"),
        }
    app = container(settings(**values), clock)
    app.get(SchemaMigrations).upgrade()
    side.attach(app)
    yield World(app, clock, side)
    if backend != "memory":
        from shequ.adapters.storage.sqlalchemy import Database

        app.get(Database).engine.dispose()
