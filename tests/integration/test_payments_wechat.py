"""The WeChat Pay adapter, through the real wechatpayv3 SDK, against a local WeChat Pay."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable, Iterator

import attrs
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shequ.adapters.payments.wechat import WechatPayConfig, WechatPayGateway
from shequ.application.ports import (
    BillEntryKind,
    PaymentGateway,
    PaymentRequest,
    ProviderPayment,
    ProviderRefund,
)
from shequ.domain.errors import (
    InvalidInput,
    PaymentNotificationInvalid,
    PaymentRefused,
    PaymentUnavailable,
)
from shequ.domain.ids import OrderId, PaymentId
from shequ.domain.money import Money
from shequ.domain.payments import Channel, PaymentState, RefundState
from tests.stubs.wechat import CST, Notification, WechatPayStub

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
MERCHANT_SERIAL = "444F4864EA9B34415D1D5E0C4B4A5A7E1C3B2D90"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092025010100000000000001"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@attrs.frozen
class Keys:
    merchant: RSAPrivateKey
    platform: RSAPrivateKey
    other: RSAPrivateKey
    apiv3: str


def _private_pem(key: RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key: RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def keys() -> Keys:
    def new_key() -> RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(new_key(), new_key(), new_key(), secrets.token_hex(16))


@pytest.fixture(scope="module")
def running_stub(keys: Keys) -> Iterator[WechatPayStub]:
    wechat = WechatPayStub(
        mchid=MCHID,
        appid=APPID,
        apiv3_key=keys.apiv3,
        merchant_public_key=keys.merchant.public_key(),
        merchant_serial_no=MERCHANT_SERIAL,
        platform_key=keys.platform,
        public_key_id=PUBLIC_KEY_ID,
    )
    with wechat.server.running():
        yield wechat


@pytest.fixture
def stub(running_stub: WechatPayStub) -> WechatPayStub:
    running_stub.reset()
    return running_stub


@pytest.fixture
def config(keys: Keys, stub: WechatPayStub) -> WechatPayConfig:
    return WechatPayConfig(
        mchid=MCHID,
        appid=APPID,
        private_key=_private_pem(keys.merchant),
        cert_serial_no=MERCHANT_SERIAL,
        apiv3_key=keys.apiv3,
        public_key=_public_pem(keys.platform),
        public_key_id=PUBLIC_KEY_ID,
        notify_url="https://shop.example.com/payments/wechat/notify",
        base_url=stub.server.url,
        timeout=0.5,
    )


@pytest.fixture
def gateway(config: WechatPayConfig) -> WechatPayGateway:
    return WechatPayGateway(config)


def payment_request(
    payment_id: str = "P20250101000001",
    channel: Channel = Channel.WECHAT_NATIVE,
    fen: int = 1000,
    payer_id: str | None = None,
    client_ip: str | None = None,
) -> PaymentRequest:
    return PaymentRequest(
        payment_id=PaymentId(payment_id),
        order_id=OrderId("order-1"),
        amount=Money(fen),
        channel=channel,
        description="社区团购-草莓 2 盒",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30),
        payer_id=payer_id,
        client_ip=client_ip,
    )


@pytest.fixture
def paid(gateway: WechatPayGateway, stub: WechatPayStub) -> PaymentId:
    request = payment_request()
    gateway.create(request)
    stub.pay(request.payment_id)
    return request.payment_id


def today_in_china(stub: WechatPayStub) -> dt.date:
    return stub.now().astimezone(CST).date()


# -- the happy path ----------------------------------------------------------------------


def test_a_native_payment_is_paid_refunded_twice_and_billed(
    gateway: WechatPayGateway, stub: WechatPayStub
) -> None:
    request = payment_request(fen=1000)

    intent = gateway.create(request)
    assert intent.params["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    assert (intent.payment_id, intent.provider, intent.amount) == (
        request.payment_id,
        "wechat",
        Money(1000),
    )

    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    paid = gateway.parse_notification(*stub.pay(request.payment_id))
    transaction_id = stub.payments[request.payment_id].transaction_id
    assert isinstance(paid.subject, ProviderPayment)
    assert attrs.evolve(paid.subject, at=None) == ProviderPayment(
        payment_id=request.payment_id,
        state=PaymentState.SUCCEEDED,
        amount=Money(1000),
        provider_ref=transaction_id,
        merchant_id=MCHID,
    )
    assert paid.subject.at is not None
    assert paid.sent_at is not None and before <= paid.sent_at <= dt.datetime.now(dt.UTC)

    queried = gateway.query(request.payment_id)
    assert (queried.state, queried.amount, queried.provider_ref, queried.merchant_id) == (
        PaymentState.SUCCEEDED,
        Money(1000),
        transaction_id,
        MCHID,
    )

    first = gateway.refund(request.payment_id, "R1", Money(300), Money(1000))
    assert (first.refund_id, first.payment_id, first.state, first.amount) == (
        "R1",
        request.payment_id,
        RefundState.PENDING,
        Money(300),
    )
    refunded = gateway.parse_notification(*stub.refund_notification("R1"))
    assert refunded.subject == ProviderRefund(
        refund_id="R1",
        payment_id=request.payment_id,
        state=RefundState.SUCCEEDED,
        amount=Money(300),
        provider_ref=first.provider_ref,
        merchant_id=MCHID,
        at=refunded.subject.at,
    )
    assert refunded.subject.at is not None
    assert gateway.query_refund(request.payment_id, "R1").state is RefundState.SUCCEEDED

    second = gateway.refund(request.payment_id, "R2", Money(700), Money(1000))
    assert (second.state, second.amount) == (RefundState.PENDING, Money(700))
    assert gateway.query(request.payment_id).state is PaymentState.SUCCEEDED

    bill = gateway.download_bill(today_in_china(stub))
    assert {(e.kind, e.payment_id, e.provider_ref, e.amount, e.refund_id) for e in bill} == {
        (BillEntryKind.PAYMENT, request.payment_id, transaction_id, Money(1000), None),
        (BillEntryKind.REFUND, request.payment_id, first.provider_ref, Money(300), "R1"),
        (BillEntryKind.REFUND, request.payment_id, second.provider_ref, Money(700), "R2"),
    }
    assert len(bill) == 3
    assert all(entry.at.date() == today_in_china(stub) for entry in bill)


def test_a_jsapi_payment_gives_the_signed_parameters_for_the_js_bridge(
    gateway: WechatPayGateway, stub: WechatPayStub, keys: Keys
) -> None:
    intent = gateway.create(payment_request(channel=Channel.WECHAT_JSAPI, payer_id=OPENID))

    params = intent.params
    assert params["package"] == f"prepay_id={params['prepay_id']}"
    assert (params["appId"], params["signType"]) == (APPID, "RSA")
    assert params["timeStamp"].isdigit() and len(params["nonceStr"]) == 32
    message = f"{APPID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    keys.merchant.public_key().verify(
        base64.b64decode(params["paySign"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    sent = json.loads(stub.server.requests[-1].body)
    assert sent["payer"] == {"openid": OPENID}
    assert stub.server.requests[-1].path == "/v3/pay/transactions/jsapi"


def test_an_h5_payment_gives_the_h5_url_and_sends_the_payers_ip(
    gateway: WechatPayGateway, stub: WechatPayStub
) -> None:
    intent = gateway.create(payment_request(channel=Channel.WECHAT_H5, client_ip="14.23.150.211"))

    assert intent.params["h5_url"].startswith("https://wx.tenpay.com/")
    sent = json.loads(stub.server.requests[-1].body)
    assert sent["scene_info"] == {"payer_client_ip": "14.23.150.211", "h5_info": {"type": "Wap"}}
    assert sent["time_expire"].endswith("+08:00")


@pytest.mark.parametrize(
    ("channel", "missing"),
    [(Channel.WECHAT_JSAPI, "openid"), (Channel.WECHAT_H5, "IP address")],
)
def test_jsapi_needs_the_openid_and_h5_the_ip_address(
    gateway: WechatPayGateway, stub: WechatPayStub, channel: Channel, missing: str
) -> None:
    with pytest.raises(InvalidInput, match=missing):
        gateway.create(payment_request(channel=channel))
    assert stub.server.requests == []


def test_a_payment_id_that_would_change_the_url_is_refused(
    gateway: WechatPayGateway, stub: WechatPayStub
) -> None:
    with pytest.raises(InvalidInput):
        gateway.query(PaymentId("P1/close"))
    with pytest.raises(InvalidInput):
        gateway.refund(PaymentId("P1"), "R1?x=1", Money(1), Money(1))
    assert stub.server.requests == []


def test_a_closed_payment_is_closed_and_closing_it_again_is_fine(
    gateway: WechatPayGateway, stub: WechatPayStub
) -> None:
    request = payment_request()
    gateway.create(request)

    gateway.close(request.payment_id)
    gateway.close(request.payment_id)

    assert gateway.query(request.payment_id).state is PaymentState.CLOSED
    assert (
        stub.server.requests[-2].path
        == f"/v3/pay/transactions/out-trade-no/{request.payment_id}/close"
    )


def test_a_failed_payment_queries_as_failed(gateway: WechatPayGateway, stub: WechatPayStub) -> None:
    request = payment_request()
    gateway.create(request)
    stub.fail(request.payment_id)

    assert gateway.query(request.payment_id).state is PaymentState.FAILED


def test_a_paid_payment_cannot_be_closed(gateway: WechatPayGateway, paid: PaymentId) -> None:
    with pytest.raises(PaymentRefused, match="ORDERPAID"):
        gateway.close(paid)


def test_a_day_without_trades_has_an_empty_bill(
    gateway: WechatPayGateway, stub: WechatPayStub
) -> None:
    assert gateway.download_bill(dt.date(2020, 1, 1)) == []


def test_a_bill_that_does_not_match_its_digest_is_not_believed(
    gateway: WechatPayGateway, stub: WechatPayStub, paid: PaymentId, monkeypatch: pytest.MonkeyPatch
) -> None:
    honest = stub.bill
    served: list[dt.date] = []

    def bill_changed_after_its_digest(day: dt.date) -> bytes:
        served.append(day)  # the digest is of the first; the file served is the second
        return honest(day) if len(served) == 1 else honest(day).replace(b"`10.00", b"`1.00")

    monkeypatch.setattr(stub, "bill", bill_changed_after_its_digest)

    with pytest.raises(PaymentUnavailable, match="digest"):
        gateway.download_bill(today_in_china(stub))


# -- idempotency -------------------------------------------------------------------------


def test_creating_twice_with_one_payment_id_is_one_payment(
    gateway: WechatPayGateway, stub: WechatPayStub
) -> None:
    request = payment_request()

    first = gateway.create(request)
    second = gateway.create(request)

    assert first.params == second.params
    assert list(stub.payments) == [request.payment_id]


def test_refunding_twice_with_one_refund_id_is_one_refund(
    gateway: WechatPayGateway, stub: WechatPayStub, paid: PaymentId
) -> None:
    first = gateway.refund(paid, "R1", Money(400), Money(1000))
    second = gateway.refund(paid, "R1", Money(400), Money(1000))

    assert first == second
    assert list(stub.refunds) == ["R1"]


# -- notifications that must not be believed ---------------------------------------------


@pytest.fixture
def notification(gateway: WechatPayGateway, stub: WechatPayStub) -> Notification:
    request = payment_request()
    gateway.create(request)
    return stub.pay(request.payment_id)


def test_a_notification_with_a_bad_signature_is_refused(
    gateway: WechatPayGateway, notification: Notification
) -> None:
    body, headers = notification
    forged = base64.b64encode(secrets.token_bytes(256)).decode()

    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(body, headers | {"Wechatpay-Signature": forged})


def test_a_notification_signed_by_another_key_is_refused(
    gateway: WechatPayGateway, stub: WechatPayStub, keys: Keys, notification: Notification
) -> None:
    body, _ = notification
    headers = stub.signed_headers(body, key=keys.other)

    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(body, headers)


def test_a_notification_naming_another_public_key_is_refused_without_asking_wechat(
    gateway: WechatPayGateway, stub: WechatPayStub, notification: Notification
) -> None:
    body, _ = notification
    headers = stub.signed_headers(body, serial="PUB_KEY_ID_0119000001092025010100000000000002")
    asked = len(stub.server.requests)

    with pytest.raises(PaymentNotificationInvalid, match="other than the platform public key"):
        gateway.parse_notification(body, headers)
    assert len(stub.server.requests) == asked


def test_a_notification_whose_amount_was_changed_after_signing_is_refused(
    gateway: WechatPayGateway, stub: WechatPayStub, notification: Notification
) -> None:
    _, headers = notification
    payment = next(iter(stub.payments.values()))
    resource = stub.payment_resource(payment)
    resource["amount"] = {**resource["amount"], "total": 1}
    tampered = stub.envelope("TRANSACTION.SUCCESS", "transaction", resource, "支付成功")

    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(tampered, headers)


def test_a_notification_whose_ciphertext_was_changed_is_refused(
    gateway: WechatPayGateway, notification: Notification
) -> None:
    body, headers = notification
    event = json.loads(body)
    ciphertext = bytearray(base64.b64decode(event["resource"]["ciphertext"]))
    ciphertext[0] ^= 1
    event["resource"]["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()

    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(json.dumps(event, ensure_ascii=False).encode(), headers)


def test_a_signed_notification_encrypted_with_another_apiv3_key_is_refused(
    gateway: WechatPayGateway, stub: WechatPayStub, paid: PaymentId
) -> None:
    resource = stub.payment_resource(stub.payments[paid])
    body, headers = stub.notify(
        "TRANSACTION.SUCCESS", "transaction", resource, "支付成功", apiv3_key=secrets.token_hex(16)
    )

    with pytest.raises(PaymentNotificationInvalid, match="cannot be decrypted"):
        gateway.parse_notification(body, headers)


def test_a_signed_body_that_is_not_json_is_refused(
    gateway: WechatPayGateway, stub: WechatPayStub
) -> None:
    body = b"<xml>not json</xml>"

    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(body, stub.signed_headers(body))


def test_a_notification_without_signature_headers_is_refused(
    gateway: WechatPayGateway, notification: Notification
) -> None:
    body, _ = notification

    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(body, {"Content-Type": "application/json"})


def test_a_signed_notification_of_an_unknown_event_is_refused(
    gateway: WechatPayGateway, stub: WechatPayStub, paid: PaymentId
) -> None:
    resource = stub.payment_resource(stub.payments[paid])
    body, headers = stub.notify("MCHTRANSFER.BILL.FINISHED", "mch_payment", resource, "转账")

    with pytest.raises(PaymentNotificationInvalid, match="not a payment or refund event"):
        gateway.parse_notification(body, headers)


@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
def test_notification_headers_are_read_in_any_case(
    gateway: WechatPayGateway, notification: Notification, case: Callable[[str], str]
) -> None:
    body, headers = notification

    parsed = gateway.parse_notification(body, {case(k): v for k, v in headers.items()})

    assert parsed.subject.state is PaymentState.SUCCEEDED


def test_a_notification_naming_another_merchant_carries_that_merchant(
    gateway: WechatPayGateway, stub: WechatPayStub, paid: PaymentId
) -> None:
    resource = stub.payment_resource(stub.payments[paid]) | {"mchid": "1900000999"}
    body, headers = stub.notify("TRANSACTION.SUCCESS", "transaction", resource, "支付成功")

    parsed = gateway.parse_notification(body, headers)

    assert parsed.subject.merchant_id == "1900000999"
    assert gateway.merchant_id == MCHID


def test_a_stale_notification_carries_its_signed_time(
    gateway: WechatPayGateway, stub: WechatPayStub, paid: PaymentId
) -> None:
    signed_at = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    resource = stub.payment_resource(stub.payments[paid])
    body, headers = stub.notify(
        "TRANSACTION.SUCCESS", "transaction", resource, "支付成功", at=signed_at
    )

    assert gateway.parse_notification(body, headers).sent_at == signed_at


def test_refund_notifications_that_end_badly_say_failed(
    gateway: WechatPayGateway, stub: WechatPayStub, paid: PaymentId
) -> None:
    gateway.refund(paid, "R1", Money(100), Money(1000))

    parsed = gateway.parse_notification(*stub.refund_notification("R1", "ABNORMAL"))

    assert isinstance(parsed.subject, ProviderRefund)
    assert (parsed.subject.state, parsed.subject.at) == (RefundState.FAILED, None)


# -- what WeChat Pay answers must be WeChat Pay's ----------------------------------------


def test_an_answer_signed_by_another_key_is_not_believed(
    gateway: WechatPayGateway, stub: WechatPayStub, keys: Keys
) -> None:
    stub.platform_key = keys.other

    with pytest.raises(PaymentUnavailable, match="could not be verified"):
        gateway.create(payment_request())


def test_building_the_gateway_asks_wechat_nothing(
    config: WechatPayConfig, stub: WechatPayStub, keys: Keys
) -> None:
    WechatPayGateway(config)
    WechatPayGateway(attrs.evolve(config, base_url="https://api.mch.weixin.qq.com"))

    assert stub.server.requests == []
    assert keys.apiv3 not in repr(config)
    assert "PRIVATE KEY" not in repr(config)


def test_a_config_without_the_platform_public_key_is_refused(config: WechatPayConfig) -> None:
    with pytest.raises(ValueError, match="public_key"):
        attrs.evolve(config, public_key="")


# -- faults ------------------------------------------------------------------------------


def assert_tells_no_secret(text: str, config: WechatPayConfig) -> None:
    secrets_ = [config.apiv3_key, *config.private_key.splitlines()[1:-1]]
    assert not [s for s in secrets_ if s and s in text]


Call = Callable[[WechatPayGateway, PaymentId], object]

OPERATIONS: dict[str, tuple[str, Call]] = {
    "create": ("/v3/pay/transactions/native", lambda g, _: g.create(payment_request("P2"))),
    "query": ("/v3/pay/transactions/out-trade-no/", lambda g, p: g.query(p)),
    "refund": (
        "/v3/refund/domestic/refunds",
        lambda g, p: g.refund(p, "R9", Money(1), Money(1000)),
    ),
    "bill": ("/v3/bill/tradebill", lambda g, _: g.download_bill(dt.datetime.now(CST).date())),
    "bill file": ("/v3/billdownload/", lambda g, _: g.download_bill(dt.datetime.now(CST).date())),
}


@pytest.mark.parametrize("fault", ["timeout", 503])
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_provider_that_times_out_or_fails_is_unavailable(
    gateway: WechatPayGateway,
    stub: WechatPayStub,
    config: WechatPayConfig,
    paid: PaymentId,
    caplog: pytest.LogCaptureFixture,
    operation: str,
    fault: str | int,
) -> None:
    caplog.set_level(logging.DEBUG)
    prefix, call = OPERATIONS[operation]
    stub.server.fail_next(prefix, fault, delay=1.0)

    with pytest.raises(PaymentUnavailable) as raised:
        call(gateway, paid)

    assert_tells_no_secret(str(raised.value), config)
    assert_tells_no_secret(caplog.text, config)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda g, p: g.refund(p, "R1", Money(1001), Money(1000)), "INVALID_REQUEST"),
        (lambda g, _: g.query(PaymentId("P404")), "ORDER_NOT_EXIST"),
        (lambda g, p: g.create(payment_request(p, fen=999)), "ORDERPAID"),
        (lambda g, _: g.query_refund(PaymentId("P1"), "R404"), "RESOURCE_NOT_EXISTS"),
    ],
)
def test_a_business_refusal_is_refused_with_wechats_code(
    gateway: WechatPayGateway,
    paid: PaymentId,
    config: WechatPayConfig,
    caplog: pytest.LogCaptureFixture,
    call: Call,
    code: str,
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PaymentRefused, match=code) as raised:
        call(gateway, paid)

    assert raised.value.details["provider_code"] == code
    assert_tells_no_secret(str(raised.value), config)
    assert_tells_no_secret(caplog.text, config)


def test_a_request_signed_with_the_wrong_merchant_key_is_refused(
    config: WechatPayConfig, keys: Keys
) -> None:
    gateway = WechatPayGateway(attrs.evolve(config, private_key=_private_pem(keys.other)))

    with pytest.raises(PaymentRefused, match="SIGN_ERROR") as raised:
        gateway.create(payment_request())
    assert_tells_no_secret(str(raised.value), config)


def _is_gateway(gateway: WechatPayGateway) -> PaymentGateway:
    return gateway
