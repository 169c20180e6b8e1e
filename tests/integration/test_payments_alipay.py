"""The Alipay gateway, through the real python-alipay-sdk, against a local Alipay stub."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator

import attrs
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shequ.adapters.payments.alipay import AlipayConfig, AlipayGateway
from shequ.application.ports import (
    BillEntry,
    BillEntryKind,
    PaymentGateway,
    PaymentRequest,
    ProviderPayment,
    ProviderRefund,
)
from shequ.domain.errors import PaymentNotificationInvalid, PaymentRefused, PaymentUnavailable
from shequ.domain.ids import OrderId, PaymentId
from shequ.domain.money import Money
from shequ.domain.payments import Channel, PaymentState, RefundState
from tests.stubs.alipay import BILL_PATH, CST, GATEWAY_PATH, AlipayStub, signing_string

APP_ID = "2021000000000001"
NOTIFY_URL = "https://shop.example.com/payments/alipay/notify"
RETURN_URL = "https://shop.example.com/orders/paid"


@attrs.frozen
class Keys:
    app: rsa.RSAPrivateKey
    alipay: rsa.RSAPrivateKey
    other: rsa.RSAPrivateKey

    @property
    def app_pem(self) -> str:
        return self.app.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def keys() -> Keys:
    def generate() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(app=generate(), alipay=generate(), other=generate())


@pytest.fixture(scope="module")
def running_stub(keys: Keys) -> Iterator[AlipayStub]:
    alipay = AlipayStub(
        app_id=APP_ID, app_public_key=keys.app.public_key(), alipay_private_key=keys.alipay
    )
    with alipay.server.running():
        yield alipay


@pytest.fixture
def stub(running_stub: AlipayStub) -> AlipayStub:
    running_stub.reset()
    return running_stub


@pytest.fixture
def config(keys: Keys, stub: AlipayStub) -> AlipayConfig:
    return AlipayConfig(
        app_id=APP_ID,
        private_key=keys.app_pem,
        alipay_public_key=_public_pem(keys.alipay),
        notify_url=NOTIFY_URL,
        return_url=RETURN_URL,
        base_url=stub.gateway,
        timeout=0.5,
    )


@pytest.fixture
def gateway(config: AlipayConfig) -> AlipayGateway:
    return AlipayGateway(config)


def _request(
    payment_id: str = "P20240520000001",
    fen: int = 10000,
    channel: Channel = Channel.ALIPAY_PAGE,
    description: str = "社区团购 阳光玫瑰葡萄 2 串",
) -> PaymentRequest:
    return PaymentRequest(
        payment_id=PaymentId(payment_id),
        order_id=OrderId("O20240520000001"),
        amount=Money(fen),
        channel=channel,
        description=description,
        expires_at=dt.datetime(2024, 5, 20, 2, 30, tzinfo=dt.UTC),
    )


def _signed_params(signed: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(signed.partition("?")[2] or signed))


def _browse(url: str) -> str:
    """The payer's browser follows the page/wap URL to Alipay's cashier."""
    with urllib.request.urlopen(url, timeout=5) as page:  # noqa: S310 -- the local stub
        text: str = page.read().decode()
        return text


def _opened(gateway: AlipayGateway, stub: AlipayStub, request: PaymentRequest) -> None:
    intent = gateway.create(request)
    if request.channel is Channel.ALIPAY_APP:
        stub.open(intent.params["order_string"])
    else:
        _browse(intent.params["url"])


def _is_a_gateway(gateway: AlipayGateway) -> PaymentGateway:
    return gateway


# -------------------------------------------------------------------- creating


@pytest.mark.parametrize(
    ("channel", "method", "product_code"),
    [
        (Channel.ALIPAY_PAGE, "alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"),
        (Channel.ALIPAY_WAP, "alipay.trade.wap.pay", "QUICK_WAP_WAY"),
    ],
)
def test_a_browser_payment_is_a_signed_url_to_the_gateway(
    gateway: AlipayGateway, stub: AlipayStub, channel: Channel, method: str, product_code: str
) -> None:
    intent = gateway.create(_request(channel=channel))

    assert (intent.provider, intent.channel, intent.amount) == ("alipay", channel, Money(10000))
    url = intent.params["url"]
    assert url.startswith(stub.gateway + "?")
    params = _signed_params(url)
    biz = json.loads(params["biz_content"])
    assert params["method"] == method
    assert params["app_id"] == APP_ID
    assert (params["notify_url"], params["return_url"]) == (NOTIFY_URL, RETURN_URL)
    assert (params["sign_type"], params["charset"]) == ("RSA2", "utf-8")
    assert biz == {
        "out_trade_no": "P20240520000001",
        "total_amount": "100.00",
        "subject": "社区团购 阳光玫瑰葡萄 2 串",
        "product_code": product_code,
        "time_expire": "2024-05-20 10:30:00",  # 02:30 UTC, written in China Standard Time
    }
    signed_at = dt.datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S")
    assert abs(signed_at.replace(tzinfo=CST) - dt.datetime.now(CST)) < dt.timedelta(minutes=5)
    assert stub.server.requests == []  # signing needs no call

    assert "收银台 P20240520000001 ¥100.00" in _browse(url)
    assert stub.trades["P20240520000001"].total == Money(10000)


def test_an_app_payment_is_a_signed_order_string(gateway: AlipayGateway, stub: AlipayStub) -> None:
    intent = gateway.create(_request(channel=Channel.ALIPAY_APP))

    params = _signed_params(intent.params["order_string"])
    assert set(intent.params) == {"order_string"}
    assert params["method"] == "alipay.trade.app.pay"
    assert params["notify_url"] == NOTIFY_URL
    assert "return_url" not in params
    assert json.loads(params["biz_content"])["product_code"] == "QUICK_MSECURITY_PAY"
    assert stub.open(intent.params["order_string"]).total == Money(10000)


def test_a_channel_of_another_provider_is_refused(gateway: AlipayGateway) -> None:
    with pytest.raises(PaymentRefused):
        gateway.create(_request(channel=Channel.WECHAT_NATIVE))


def test_the_gateway_is_built_without_a_call_and_hides_its_key(
    config: AlipayConfig, stub: AlipayStub, keys: Keys
) -> None:
    gateway = AlipayGateway(config)

    assert stub.server.requests == []
    assert _is_a_gateway(gateway).merchant_id == APP_ID
    assert gateway.channels == {Channel.ALIPAY_PAGE, Channel.ALIPAY_WAP, Channel.ALIPAY_APP}
    assert "PRIVATE" not in repr(config)
    with pytest.raises(ValueError, match="not a PEM key") as caught:
        AlipayGateway(attrs.evolve(config, private_key=keys.app_pem[:200]))
    assert keys.app_pem[40:100] not in str(caught.value)


# -------------------------------------------------------------------- the whole flow


def test_a_payment_goes_from_create_to_the_days_bill(
    gateway: AlipayGateway, stub: AlipayStub
) -> None:
    request = _request()
    _opened(gateway, stub, request)
    assert gateway.query(request.payment_id).state is PaymentState.PENDING

    paid = gateway.parse_notification(*stub.pay(request.payment_id))

    trade = stub.trades[request.payment_id]
    assert paid.subject == ProviderPayment(
        payment_id=request.payment_id,
        state=PaymentState.SUCCEEDED,
        amount=Money(10000),
        provider_ref=trade.trade_no,
        merchant_id=APP_ID,
        at=trade.paid_at,
    )
    assert paid.sent_at is None
    assert gateway.query(request.payment_id) == paid.subject

    first = gateway.refund(request.payment_id, "R1", Money(3050), Money(10000))
    assert first.state in (RefundState.PENDING, RefundState.SUCCEEDED)
    assert (first.refund_id, first.payment_id, first.amount) == (
        "R1",
        request.payment_id,
        Money(3050),
    )

    notified = gateway.parse_notification(*stub.refund_notification("R1"))
    assert notified.subject == ProviderRefund(
        refund_id="R1",
        payment_id=request.payment_id,
        state=RefundState.SUCCEEDED,
        amount=Money(3050),
        merchant_id=APP_ID,
        at=trade.refunds["R1"].at,
    )
    assert gateway.query_refund(request.payment_id, "R1") == notified.subject

    gateway.refund(request.payment_id, "R2", Money(6950), Money(10000))
    rest = gateway.parse_notification(*stub.refund_notification("R2"))
    assert isinstance(rest.subject, ProviderRefund)
    assert (rest.subject.refund_id, rest.subject.amount) == ("R2", Money(6950))  # not 100.00
    assert gateway.query(request.payment_id).state is PaymentState.CLOSED  # fully refunded

    bill = gateway.download_bill(dt.date(2024, 5, 20))

    assert trade.paid_at is not None
    assert bill == [
        BillEntry(
            BillEntryKind.PAYMENT, request.payment_id, trade.trade_no, Money(10000), trade.paid_at
        ),
        BillEntry(
            BillEntryKind.REFUND,
            request.payment_id,
            trade.trade_no,
            Money(3050),
            trade.refunds["R1"].at,
            "R1",
        ),
        BillEntry(
            BillEntryKind.REFUND,
            request.payment_id,
            trade.trade_no,
            Money(6950),
            trade.refunds["R2"].at,
            "R2",
        ),
    ]
    assert gateway.download_bill(dt.date(2024, 5, 19)) == []


def test_an_app_payment_is_notified_like_a_page_payment(
    gateway: AlipayGateway, stub: AlipayStub
) -> None:
    request = _request(channel=Channel.ALIPAY_APP)
    _opened(gateway, stub, request)

    paid = gateway.parse_notification(*stub.pay(request.payment_id))

    assert isinstance(paid.subject, ProviderPayment)
    assert (paid.subject.state, paid.subject.amount) == (PaymentState.SUCCEEDED, Money(10000))


def test_an_unpaid_payment_closes_and_stays_closed(
    gateway: AlipayGateway, stub: AlipayStub
) -> None:
    request = _request(channel=Channel.ALIPAY_WAP)
    _opened(gateway, stub, request)

    gateway.close(request.payment_id)
    gateway.close(request.payment_id)

    assert gateway.query(request.payment_id).state is PaymentState.CLOSED


def test_closing_a_payment_the_payer_never_opened_is_fine(
    gateway: AlipayGateway, stub: AlipayStub
) -> None:
    request = _request()
    gateway.create(request)

    gateway.close(request.payment_id)

    with pytest.raises(PaymentRefused, match=r"ACQ.TRADE_NOT_EXIST"):
        gateway.query(request.payment_id)


def test_a_paid_payment_does_not_close(gateway: AlipayGateway, stub: AlipayStub) -> None:
    request = _request()
    _opened(gateway, stub, request)
    stub.pay(request.payment_id)

    with pytest.raises(PaymentRefused, match="refund it instead"):
        gateway.close(request.payment_id)


def test_an_expired_payment_is_notified_closed(gateway: AlipayGateway, stub: AlipayStub) -> None:
    request = _request()
    _opened(gateway, stub, request)

    closed = gateway.parse_notification(*stub.expire(request.payment_id))

    assert isinstance(closed.subject, ProviderPayment)
    assert closed.subject.state is PaymentState.CLOSED
    assert closed.subject.at == stub.trades[request.payment_id].closed_at


# -------------------------------------------------------------------- idempotency


def test_creating_twice_makes_one_alipay_trade(gateway: AlipayGateway, stub: AlipayStub) -> None:
    request = _request()
    _opened(gateway, stub, request)
    _opened(gateway, stub, request)

    assert list(stub.trades) == [request.payment_id]


def test_refunding_twice_with_one_number_refunds_once(
    gateway: AlipayGateway, stub: AlipayStub
) -> None:
    request = _request()
    _opened(gateway, stub, request)
    stub.pay(request.payment_id)

    first = gateway.refund(request.payment_id, "R1", Money(2000), Money(10000))
    again = gateway.refund(request.payment_id, "R1", Money(2000), Money(10000))

    assert first.state is RefundState.SUCCEEDED
    assert again.state is RefundState.PENDING  # Alipay answers a repeat with fund_change N
    assert again.amount == Money(2000)
    assert list(stub.trades[request.payment_id].refunds) == ["R1"]
    assert stub.trades[request.payment_id].refunded == Money(2000)
    assert gateway.query_refund(request.payment_id, "R1").state is RefundState.SUCCEEDED


def test_an_unknown_refund_is_refused(gateway: AlipayGateway, stub: AlipayStub) -> None:
    request = _request()
    _opened(gateway, stub, request)
    stub.pay(request.payment_id)

    with pytest.raises(PaymentRefused, match="knows no refund R9"):
        gateway.query_refund(request.payment_id, "R9")


# -------------------------------------------------------------------- notifications


@pytest.fixture
def paid(gateway: AlipayGateway, stub: AlipayStub) -> dict[str, str]:
    """The fields of a paid payment's notification."""
    request = _request()
    _opened(gateway, stub, request)
    stub.pay(request.payment_id)
    return stub.payment_fields(request.payment_id)


def _form(body: bytes) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(body.decode()))


def test_a_notification_with_a_bad_signature_is_invalid(
    gateway: AlipayGateway, stub: AlipayStub, paid: dict[str, str]
) -> None:
    body, headers = stub.notification(paid)
    fields = _form(body)
    fields["sign"] = fields["sign"][:-8] + "AAAAAAA="

    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(urllib.parse.urlencode(fields).encode(), headers)


def test_a_notification_signed_by_another_key_is_invalid(
    gateway: AlipayGateway, stub: AlipayStub, keys: Keys, paid: dict[str, str]
) -> None:
    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(*stub.notification(paid, key=keys.other))


@pytest.mark.parametrize(
    "change",
    [
        {"total_amount": "1.00"},
        {"out_trade_no": "P20240520000002"},
        {"trade_status": "TRADE_FINISHED"},
        {"notify_time": "2030-01-01 00:00:00"},
    ],
)
def test_a_notification_changed_after_signing_is_invalid(
    gateway: AlipayGateway, stub: AlipayStub, paid: dict[str, str], change: dict[str, str]
) -> None:
    body, headers = stub.notification(paid)
    tampered = _form(body) | change

    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(urllib.parse.urlencode(tampered).encode(), headers)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda f: {k: v for k, v in f.items() if k != "sign"},
        lambda f: f | {"sign_type": "RSA"},
        lambda f: f | {"sign": "not base64 at all!"},
        lambda f: f | {"charset": "koi8-r"},
    ],
)
def test_a_notification_without_a_usable_signature_is_invalid(
    gateway: AlipayGateway,
    stub: AlipayStub,
    paid: dict[str, str],
    mangle: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    body, headers = stub.notification(paid)

    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(urllib.parse.urlencode(mangle(_form(body))).encode(), headers)


@pytest.mark.parametrize(
    "body",
    [b"", b"\xff\xfe", b"sign=abc&&&", b'{"trade_status": 1}', b"charset=%00&sign=abc"],
)
def test_a_body_that_is_no_form_is_invalid(gateway: AlipayGateway, body: bytes) -> None:
    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(body, {"Content-Type": "application/x-www-form-urlencoded"})


def test_a_notification_naming_another_merchant_carries_it(
    gateway: AlipayGateway, stub: AlipayStub, paid: dict[str, str]
) -> None:
    body, headers = stub.notification(paid | {"app_id": "2021999999999999"})

    notification = gateway.parse_notification(body, headers)

    assert notification.subject.merchant_id == "2021999999999999"
    assert notification.subject.merchant_id != gateway.merchant_id


def test_an_old_notification_still_parses_and_has_no_sent_at(
    gateway: AlipayGateway, stub: AlipayStub, paid: dict[str, str]
) -> None:
    # Alipay signs notify_time but does not promise a fresh one on each delivery, so it
    # is not offered as sent_at; retries come for about a day.
    notification = gateway.parse_notification(
        *stub.notification(paid | {"notify_time": "2024-05-01 00:00:00"})
    )

    assert notification.sent_at is None
    assert notification.subject.state is PaymentState.SUCCEEDED


def test_header_names_arrive_in_any_case(
    gateway: AlipayGateway, stub: AlipayStub, paid: dict[str, str]
) -> None:
    body, headers = stub.notification(paid)

    upper = {k.upper(): v for k, v in headers.items()}

    assert gateway.parse_notification(body, upper).subject.amount == Money(10000)
    assert gateway.parse_notification(body, {}).subject.amount == Money(10000)


def test_a_gbk_notification_is_read_and_checked_in_gbk(
    gateway: AlipayGateway, stub: AlipayStub, paid: dict[str, str]
) -> None:
    body, headers = stub.notification(paid, charset="gbk")

    notification = gateway.parse_notification(body, headers)

    assert "%D1%F4" in body.decode()  # 阳 in GBK, not UTF-8
    assert notification.subject.amount == Money(10000)
    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(body.replace(b"%D1%F4", b"%D1%F5"), headers)


def test_the_stub_signs_what_alipay_signs(stub: AlipayStub, paid: dict[str, str]) -> None:
    body, headers = stub.notification(paid)
    fields = _form(body)

    assert headers == {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    assert fields["sign_type"] == "RSA2"
    assert "sign" not in signing_string(fields)
    assert signing_string(fields).startswith("app_id=")


# -------------------------------------------------------------------- faults


@pytest.fixture
def paid_payment(gateway: AlipayGateway, stub: AlipayStub) -> PaymentId:
    request = _request()
    _opened(gateway, stub, request)
    stub.pay(request.payment_id)
    gateway.refund(request.payment_id, "R1", Money(100), Money(10000))
    return request.payment_id


CALLS: dict[str, Callable[[AlipayGateway, PaymentId], object]] = {
    "query": lambda g, p: g.query(p),
    "close": lambda g, p: g.close(p),
    "refund": lambda g, p: g.refund(p, "R2", Money(100), Money(10000)),
    "query_refund": lambda g, p: g.query_refund(p, "R1"),
    "bill link": lambda g, _: g.download_bill(dt.date(2024, 5, 20)),
}


def _secrets(keys: Keys) -> list[str]:
    lines = [line for line in keys.app_pem.splitlines() if "-----" not in line]
    return [keys.app_pem, *lines]


def _assert_no_secret(error: BaseException, log: str, keys: Keys) -> None:
    shown = f"{error}|{error!r}|{getattr(error, 'details', '')}|{log}"
    for secret in _secrets(keys):
        assert secret not in shown


FAULTS = [(call, 503) for call in CALLS] + [
    (call, "timeout")
    for call in ("query", "refund", "bill link")  # each waits 0.5 s
]


@pytest.mark.parametrize(("call", "fault"), FAULTS)
def test_a_provider_that_does_not_answer_is_unavailable(
    gateway: AlipayGateway,
    stub: AlipayStub,
    keys: Keys,
    paid_payment: PaymentId,
    caplog: pytest.LogCaptureFixture,
    call: str,
    fault: str | int,
) -> None:
    caplog.set_level(logging.DEBUG)
    stub.server.fail_next(GATEWAY_PATH, fault, delay=1.0)

    with pytest.raises(PaymentUnavailable) as caught:
        CALLS[call](gateway, paid_payment)

    _assert_no_secret(caught.value, caplog.text, keys)


@pytest.mark.parametrize("fault", ["timeout", 503])
def test_a_bill_that_does_not_download_is_unavailable(
    gateway: AlipayGateway,
    stub: AlipayStub,
    keys: Keys,
    paid_payment: PaymentId,
    caplog: pytest.LogCaptureFixture,
    fault: str | int,
) -> None:
    caplog.set_level(logging.DEBUG)
    stub.server.fail_next(BILL_PATH, fault, delay=1.0)

    with pytest.raises(PaymentUnavailable) as caught:
        gateway.download_bill(dt.date(2024, 5, 20))

    _assert_no_secret(caught.value, caplog.text, keys)


def test_a_refund_notification_while_alipay_is_down_is_unavailable(
    gateway: AlipayGateway, stub: AlipayStub, paid_payment: PaymentId
) -> None:
    stub.server.fail_next(GATEWAY_PATH, 503)

    with pytest.raises(PaymentUnavailable):  # Alipay sends it again later
        gateway.parse_notification(*stub.refund_notification("R1"))


def test_creating_needs_no_provider(gateway: AlipayGateway, stub: AlipayStub) -> None:
    assert gateway.create(_request()).params["url"]
    assert stub.server.requests == []


@pytest.mark.parametrize(
    ("call", "fen", "expected"),
    [
        ("refund more than was paid", 20000, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"),
        ("query an unknown payment", 0, "ACQ.TRADE_NOT_EXIST"),
    ],
)
def test_a_business_refusal_is_refused(
    gateway: AlipayGateway,
    keys: Keys,
    paid_payment: PaymentId,
    caplog: pytest.LogCaptureFixture,
    call: str,
    fen: int,
    expected: str,
) -> None:
    caplog.set_level(logging.DEBUG)

    def ask() -> object:
        if fen:
            return gateway.refund(paid_payment, "R3", Money(fen), Money(10000))
        return gateway.query(PaymentId("P20240520009999"))

    with pytest.raises(PaymentRefused, match=re.escape(expected)) as caught:
        ask()

    assert caught.value.details["sub_code"] == expected
    _assert_no_secret(caught.value, caplog.text, keys)


def test_alipays_system_error_is_unavailable(
    gateway: AlipayGateway, stub: AlipayStub, paid_payment: PaymentId
) -> None:
    stub.answer_next("alipay.trade.refund", "20000", "ACQ.SYSTEM_ERROR", "系统错误")

    with pytest.raises(PaymentUnavailable, match=r"ACQ.SYSTEM_ERROR"):
        gateway.refund(paid_payment, "R2", Money(100), Money(10000))


@pytest.mark.parametrize(
    ("code", "sub_code", "error"),
    [
        ("40002", "isv.invalid-app-id", PaymentRefused),
        ("20000", "isp.unknow-error", PaymentUnavailable),
    ],
)
def test_an_unsigned_gateway_error_is_read_by_its_code(
    gateway: AlipayGateway,
    stub: AlipayStub,
    paid_payment: PaymentId,
    code: str,
    sub_code: str,
    error: type[Exception],
) -> None:
    stub.answer_next("alipay.trade.query", code, sub_code, "网关错误", signed=False)

    with pytest.raises(error, match=code):
        gateway.query(paid_payment)


def test_an_answer_signed_by_another_key_is_unavailable(
    gateway: AlipayGateway, stub: AlipayStub, keys: Keys, paid_payment: PaymentId
) -> None:
    stub.alipay_private_key = keys.other

    with pytest.raises(PaymentUnavailable, match="does not verify"):
        gateway.query(paid_payment)


def test_a_request_signed_by_another_app_key_is_refused(
    config: AlipayConfig, keys: Keys, paid_payment: PaymentId
) -> None:
    other = keys.other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    gateway = AlipayGateway(attrs.evolve(config, private_key=other))

    with pytest.raises(PaymentRefused, match=r"isv.invalid-signature"):
        gateway.query(paid_payment)


def test_an_http_4xx_from_the_gateway_is_refused(
    gateway: AlipayGateway, stub: AlipayStub, paid_payment: PaymentId
) -> None:
    stub.server.fail_next(GATEWAY_PATH, 403)

    with pytest.raises(PaymentRefused, match="HTTP 403"):
        gateway.query(paid_payment)


def test_a_bill_for_a_day_alipay_has_not_made_is_refused(gateway: AlipayGateway) -> None:
    with pytest.raises(PaymentRefused, match=r"isp.bill_not_exist"):
        gateway.download_bill(dt.date(2024, 5, 21))
