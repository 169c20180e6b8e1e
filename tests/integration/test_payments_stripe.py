"""The Stripe card adapter, through the real stripe SDK, against a local Stripe."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl

import attrs
import pytest
import stripe

from shequ.adapters.payments.stripe import StripeConfig, StripeGateway
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
from shequ.domain.values import CHINA_STANDARD_TIME
from tests.stubs import StubServer
from tests.stubs.stripe import StripeError, StripeStub


@attrs.frozen
class Secrets:
    api_key: str
    webhook_secret: str


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    # Else the SDK writes an id to ~/.config/stripe and reports the platform.
    monkeypatch.setattr(stripe, "enable_telemetry", False)


@pytest.fixture
def keys() -> Secrets:
    return Secrets("sk_test_" + secrets.token_hex(24), "whsec_" + secrets.token_hex(24))


@pytest.fixture
def stub(keys: Secrets) -> StripeStub:
    return StripeStub(keys.api_key, keys.webhook_secret)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[tuple[StubServer, list[StripeStub]]]:
    # One server for the module, as stopping one takes half a second; each test's own
    # stub answers it.
    answering: list[StripeStub] = []
    with StubServer(lambda request: answering[0].handle(request)).running() as running:
        yield running, answering


@pytest.fixture
def server(shared_server: tuple[StubServer, list[StripeStub]], stub: StripeStub) -> StubServer:
    running, answering = shared_server
    answering[:] = [stub]
    running.requests.clear()
    return running


@pytest.fixture
def config(keys: Secrets, server: StubServer) -> StripeConfig:
    return StripeConfig(
        api_key=keys.api_key,
        webhook_secret=keys.webhook_secret,
        base_url=server.url,
        timeout=0.5,
    )


@pytest.fixture
def gateway(config: StripeConfig) -> StripeGateway:
    return StripeGateway(config)


def payment_request(payment_id: str = "P20250101000001", fen: int = 12345) -> PaymentRequest:
    return PaymentRequest(
        payment_id=PaymentId(payment_id),
        order_id=OrderId("order-1"),
        amount=Money(fen),
        channel=Channel.CARD,
        description="社区团购-草莓 2 盒",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30),
    )


@attrs.frozen
class Paid:
    payment_id: PaymentId
    intent_id: str


@pytest.fixture
def paid(gateway: StripeGateway, stub: StripeStub) -> Paid:
    request = payment_request()
    intent = gateway.create(request)
    stub.pay(request.payment_id)
    assert intent.provider_ref is not None
    return Paid(request.payment_id, intent.provider_ref)


def form_of(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode()))


def utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


# -- the happy path ----------------------------------------------------------------------


def test_a_card_payment_is_paid_refunded_twice_and_billed(
    gateway: StripeGateway, stub: StripeStub, server: StubServer, keys: Secrets
) -> None:
    request = payment_request(fen=12345)

    intent = gateway.create(request)

    [stored] = stub.intents_of(request.payment_id)
    assert intent.provider_ref == stored["id"]
    assert intent.params == {"client_secret": stored["client_secret"]}
    assert (intent.payment_id, intent.provider, intent.channel, intent.amount) == (
        request.payment_id,
        "stripe",
        Channel.CARD,
        Money(12345),
    )
    [sent] = server.requests
    assert sent.headers["authorization"] == f"Bearer {keys.api_key}"
    assert sent.headers["idempotency-key"].endswith(request.payment_id)
    assert form_of(sent.body) == {
        "amount": "12345",
        "currency": "cny",
        "allowed_payment_method_types[0]": "card",
        "description": "社区团购-草莓 2 盒",
        "metadata[payment_id]": request.payment_id,
        "metadata[order_id]": "order-1",
    }

    body, headers = stub.pay(request.payment_id)
    notification = gateway.parse_notification(body, headers)
    signed_at = int(headers["Stripe-Signature"].split(",")[0].removeprefix("t="))
    assert notification.sent_at == utc(signed_at)
    assert notification.subject == ProviderPayment(
        payment_id=request.payment_id,
        state=PaymentState.SUCCEEDED,
        amount=Money(12345),
        provider_ref=intent.provider_ref,
        merchant_id=None,
        at=utc(json.loads(body)["created"]),
    )
    assert gateway.merchant_id is None

    queried = gateway.query(request.payment_id, intent.provider_ref)
    assert (queried.state, queried.amount, queried.provider_ref) == (
        PaymentState.SUCCEEDED,
        Money(12345),
        intent.provider_ref,
    )
    assert queried.at == utc(stub.charges[stored["latest_charge"]]["created"])

    first = gateway.refund(
        request.payment_id, "R1", Money(4000), Money(12345), provider_ref=intent.provider_ref
    )
    assert (first.refund_id, first.payment_id, first.state, first.amount) == (
        "R1",
        request.payment_id,
        RefundState.PENDING,
        Money(4000),
    )
    assert first.provider_ref is not None and first.provider_ref.startswith("re_")

    refunded = gateway.parse_notification(*stub.refund_notification("R1")).subject
    assert refunded == attrs.evolve(first, state=RefundState.SUCCEEDED, at=refunded.at)
    assert gateway.query_refund(request.payment_id, "R1", first.provider_ref) == attrs.evolve(
        first, state=RefundState.SUCCEEDED
    )

    rest = gateway.refund(
        request.payment_id, "R2", Money(8345), Money(12345), provider_ref=intent.provider_ref
    )
    assert (rest.state, rest.amount) == (RefundState.PENDING, Money(8345))

    stub.page_size = 2  # so that the SDK pages through the day
    bill = gateway.download_bill(dt.datetime.now(CHINA_STANDARD_TIME).date())
    assert [(e.kind, e.payment_id, e.provider_ref, e.amount, e.refund_id) for e in bill] == [
        (BillEntryKind.PAYMENT, request.payment_id, intent.provider_ref, Money(12345), None),
        (BillEntryKind.REFUND, request.payment_id, first.provider_ref, Money(4000), "R1"),
        (BillEntryKind.REFUND, request.payment_id, rest.provider_ref, Money(8345), "R2"),
    ]
    assert all(isinstance(e, BillEntry) and e.at.tzinfo is not None for e in bill)
    pages = [r.path for r in server.requests if r.path.startswith("/v1/balance_transactions")]
    assert len(pages) == 2 and "starting_after=txn_" in pages[1]


def test_the_bill_covers_one_day_in_china_standard_time(
    gateway: StripeGateway, stub: StripeStub
) -> None:
    day = dt.date(2025, 3, 1)
    midnight = dt.datetime.combine(day, dt.time(), CHINA_STANDARD_TIME).timestamp()
    for payment_id, at in [
        ("PBEFORE", midnight - 1),
        ("PFIRST", midnight),
        ("PLAST", midnight + 86399),
        ("PAFTER", midnight + 86400),
    ]:
        gateway.create(payment_request(payment_id))
        stub.pay(payment_id, at=at)

    bill = gateway.download_bill(day)

    assert [(e.payment_id, e.at) for e in bill] == [
        ("PFIRST", utc(int(midnight))),
        ("PLAST", utc(int(midnight) + 86399)),
    ]


def test_a_day_without_payments_has_an_empty_bill(gateway: StripeGateway) -> None:
    assert gateway.download_bill(dt.date(2024, 1, 1)) == []


def test_a_closed_payment_is_closed_and_closing_it_again_is_fine(
    gateway: StripeGateway,
) -> None:
    request = payment_request()
    intent = gateway.create(request)

    gateway.close(request.payment_id, intent.provider_ref)
    gateway.close(request.payment_id, intent.provider_ref)

    closed = gateway.query(request.payment_id, intent.provider_ref)
    assert (closed.state, closed.amount) == (PaymentState.CLOSED, Money(12345))
    assert closed.at is not None


def test_a_paid_payment_cannot_be_closed(gateway: StripeGateway, paid: Paid) -> None:
    with pytest.raises(PaymentRefused, match="payment_intent_unexpected_state"):
        gateway.close(paid.payment_id, paid.intent_id)


def test_a_declined_card_fails_the_payment(gateway: StripeGateway, stub: StripeStub) -> None:
    request = payment_request()
    intent = gateway.create(request)

    notification = gateway.parse_notification(*stub.fail(request.payment_id))

    assert isinstance(notification.subject, ProviderPayment)
    assert (notification.subject.state, notification.subject.amount) == (
        PaymentState.FAILED,
        Money(12345),
    )
    assert gateway.query(request.payment_id, intent.provider_ref).state is PaymentState.FAILED


def test_a_card_hold_is_authorised(gateway: StripeGateway, stub: StripeStub) -> None:
    request = payment_request()
    intent = gateway.create(request)

    notification = gateway.parse_notification(*stub.hold(request.payment_id))

    assert isinstance(notification.subject, ProviderPayment)
    assert notification.subject.state is PaymentState.AUTHORISED
    assert gateway.query(request.payment_id, intent.provider_ref).state is PaymentState.AUTHORISED


def test_an_unpaid_payment_queries_as_pending(gateway: StripeGateway) -> None:
    request = payment_request()
    intent = gateway.create(request)

    pending = gateway.query(request.payment_id, intent.provider_ref)

    assert pending == ProviderPayment(
        request.payment_id, PaymentState.PENDING, Money(12345), intent.provider_ref
    )


# -- idempotency -------------------------------------------------------------------------


def test_creating_twice_with_one_payment_id_is_one_payment(
    gateway: StripeGateway, stub: StripeStub
) -> None:
    first = gateway.create(payment_request())
    again = gateway.create(payment_request())

    assert again == first
    assert len(stub.intents_of("P20250101000001")) == 1


def test_a_create_that_timed_out_and_is_repeated_is_one_payment(
    gateway: StripeGateway, stub: StripeStub, server: StubServer
) -> None:
    server.fail_next("/v1/payment_intents", "timeout", delay=1.0)
    with pytest.raises(PaymentUnavailable):
        gateway.create(payment_request())
    time.sleep(0.7)  # the stub finishes the first request

    intent = gateway.create(payment_request())

    assert [i["id"] for i in stub.intents_of("P20250101000001")] == [intent.provider_ref]


def test_refunding_twice_with_one_refund_id_is_one_refund(
    gateway: StripeGateway, stub: StripeStub, paid: Paid
) -> None:
    first = gateway.refund(paid.payment_id, "R1", Money(100), Money(12345), paid.intent_id)
    again = gateway.refund(paid.payment_id, "R1", Money(100), Money(12345), paid.intent_id)

    assert again == first
    assert len(stub.refunds_of("R1")) == 1


def test_one_refund_id_for_another_amount_is_refused(
    gateway: StripeGateway, stub: StripeStub, paid: Paid
) -> None:
    gateway.refund(paid.payment_id, "R1", Money(100), Money(12345), paid.intent_id)

    with pytest.raises(PaymentRefused, match="idempotency_error"):
        gateway.refund(paid.payment_id, "R1", Money(200), Money(12345), paid.intent_id)
    assert len(stub.refunds_of("R1")) == 1


def test_a_refund_id_equal_to_a_payment_id_does_not_collide(
    gateway: StripeGateway, paid: Paid
) -> None:
    refund = gateway.refund(
        paid.payment_id, paid.payment_id, Money(100), Money(12345), paid.intent_id
    )

    assert (refund.refund_id, refund.amount) == (paid.payment_id, Money(100))


# -- notifications -----------------------------------------------------------------------


@pytest.fixture
def notification(gateway: StripeGateway, stub: StripeStub) -> tuple[bytes, dict[str, str]]:
    gateway.create(payment_request())
    return stub.pay("P20250101000001")


def test_a_notification_with_a_bad_signature_is_refused(
    gateway: StripeGateway, notification: tuple[bytes, dict[str, str]]
) -> None:
    body, headers = notification
    t, v1 = headers["Stripe-Signature"].split(",")
    forged = v1[:-4] + ("0000" if not v1.endswith("0000") else "1111")

    with pytest.raises(PaymentNotificationInvalid, match="signature"):
        gateway.parse_notification(body, {**headers, "Stripe-Signature": f"{t},{forged}"})


def test_a_notification_signed_with_another_secret_is_refused(
    gateway: StripeGateway, stub: StripeStub, notification: tuple[bytes, dict[str, str]]
) -> None:
    body, _ = notification
    headers = stub.sign(body, secret="whsec_" + secrets.token_hex(24))

    with pytest.raises(PaymentNotificationInvalid, match="signature"):
        gateway.parse_notification(body, headers)


def test_a_notification_whose_amount_was_changed_after_signing_is_refused(
    gateway: StripeGateway, notification: tuple[bytes, dict[str, str]]
) -> None:
    body, headers = notification
    event = json.loads(body)
    event["data"]["object"]["amount_received"] = 1
    tampered = json.dumps(event, indent=2).encode()

    with pytest.raises(PaymentNotificationInvalid, match="signature"):
        gateway.parse_notification(tampered, headers)


@pytest.mark.parametrize("headers", [{}, {"Stripe-Signature": ""}, {"Stripe-Signature": "v1=00"}])
def test_a_notification_without_a_usable_signature_header_is_refused(
    gateway: StripeGateway, notification: tuple[bytes, dict[str, str]], headers: dict[str, str]
) -> None:
    body, _ = notification

    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(body, headers)


@pytest.mark.parametrize(
    "body", [b"\xff\xfe not json", b"[1]", b"null", b"{}", b'{"object": "event", "data": [1]}']
)
def test_a_signed_body_that_is_no_event_is_refused(
    gateway: StripeGateway, stub: StripeStub, body: bytes
) -> None:
    with pytest.raises(PaymentNotificationInvalid):
        gateway.parse_notification(body, stub.sign(body))


def test_a_signed_event_shequ_does_not_read_is_refused(
    gateway: StripeGateway, stub: StripeStub
) -> None:
    event = {
        "id": "evt_1",
        "object": "event",
        "created": int(time.time()),
        "type": "customer.created",
        "data": {"object": {"id": "cus_1", "object": "customer"}},
    }
    body = json.dumps(event).encode()

    with pytest.raises(PaymentNotificationInvalid, match=r"customer\.created"):
        gateway.parse_notification(body, stub.sign(body))


@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
def test_notification_headers_are_read_in_any_case(
    gateway: StripeGateway,
    notification: tuple[bytes, dict[str, str]],
    case: Callable[[str], str],
) -> None:
    body, headers = notification

    parsed = gateway.parse_notification(body, {case(k): v for k, v in headers.items()})

    assert parsed.subject.payment_id == "P20250101000001"


def test_a_notification_naming_a_connected_account_carries_that_account(
    gateway: StripeGateway, stub: StripeStub
) -> None:
    gateway.create(payment_request())

    parsed = gateway.parse_notification(*stub.pay("P20250101000001", account="acct_1Other"))

    assert parsed.subject.merchant_id == "acct_1Other"
    assert parsed.subject.merchant_id != gateway.merchant_id


def test_a_notification_signed_a_minute_ago_carries_its_signed_time(
    gateway: StripeGateway, stub: StripeStub, notification: tuple[bytes, dict[str, str]]
) -> None:
    body, _ = notification
    a_minute_ago = int(time.time()) - 60

    parsed = gateway.parse_notification(body, stub.sign(body, at=a_minute_ago))

    assert parsed.sent_at == utc(a_minute_ago)


def test_a_notification_signed_more_than_five_minutes_ago_is_refused_by_the_sdk(
    gateway: StripeGateway, stub: StripeStub
) -> None:
    gateway.create(payment_request())
    body, headers = stub.pay("P20250101000001", at=time.time() - 301)

    with pytest.raises(PaymentNotificationInvalid, match="tolerance"):
        gateway.parse_notification(body, headers)


def test_a_refund_notification_names_our_refund_and_payment(
    gateway: StripeGateway, stub: StripeStub, paid: Paid
) -> None:
    refund = gateway.refund(paid.payment_id, "R7", Money(45), Money(12345), paid.intent_id)

    body, headers = stub.refund_notification("R7")
    parsed = gateway.parse_notification(body, headers)

    assert parsed.subject == ProviderRefund(
        refund_id="R7",
        payment_id=paid.payment_id,
        state=RefundState.SUCCEEDED,
        amount=Money(45),
        provider_ref=refund.provider_ref,
        at=utc(json.loads(body)["created"]),
    )


def test_a_refund_made_in_the_dashboard_names_our_payment(
    gateway: StripeGateway, stub: StripeStub, paid: Paid
) -> None:
    body, headers = stub.dashboard_refund(paid.payment_id, 300)

    parsed = gateway.parse_notification(body, headers)

    assert isinstance(parsed.subject, ProviderRefund)
    assert (parsed.subject.payment_id, parsed.subject.amount) == (paid.payment_id, Money(300))
    assert parsed.subject.refund_id.startswith("re_")  # not one of ours: the shop flags it


# -- refusals and faults -----------------------------------------------------------------


def assert_tells_no_secret(text: str, keys: Secrets) -> None:
    assert keys.api_key not in text
    assert keys.api_key.removeprefix("sk_test_") not in text
    assert keys.webhook_secret not in text
    assert keys.webhook_secret.removeprefix("whsec_") not in text


Call = Callable[[StripeGateway, Paid], object]

OPERATIONS: dict[str, tuple[str, Call]] = {
    "create": ("/v1/payment_intents", lambda g, _: g.create(payment_request("P2"))),
    "query": ("/v1/payment_intents/pi_", lambda g, p: g.query(p.payment_id, p.intent_id)),
    "close": ("/v1/payment_intents/pi_", lambda g, p: g.close(p.payment_id, p.intent_id)),
    "refund": (
        "/v1/refunds",
        lambda g, p: g.refund(p.payment_id, "R9", Money(1), Money(12345), p.intent_id),
    ),
    "bill": (
        "/v1/balance_transactions",
        lambda g, _: g.download_bill(dt.datetime.now(CHINA_STANDARD_TIME).date()),
    ),
}


@pytest.mark.parametrize("fault", ["timeout", 503])
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_provider_that_times_out_or_fails_is_unavailable(
    gateway: StripeGateway,
    server: StubServer,
    keys: Secrets,
    paid: Paid,
    caplog: pytest.LogCaptureFixture,
    operation: str,
    fault: str | int,
) -> None:
    caplog.set_level(logging.DEBUG)
    prefix, call = OPERATIONS[operation]
    server.fail_next(prefix, fault, delay=1.0)

    with pytest.raises(PaymentUnavailable) as raised:
        call(gateway, paid)

    assert_tells_no_secret(str(raised.value), keys)
    assert_tells_no_secret(caplog.text, keys)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (
            lambda g, p: g.refund(p.payment_id, "R1", Money(12346), Money(12345), p.intent_id),
            "amount_too_large",
        ),
        (lambda g, p: g.query(p.payment_id, "pi_404"), "resource_missing"),
        (lambda g, p: g.query_refund(p.payment_id, "R404", "re_404"), "resource_missing"),
        (lambda g, _: g.refund(PaymentId("P3"), "R3", Money(1), Money(1), None), None),
        (lambda g, p: g.query(p.payment_id), None),
    ],
)
def test_a_business_refusal_is_refused_with_stripes_code(
    gateway: StripeGateway,
    paid: Paid,
    keys: Secrets,
    caplog: pytest.LogCaptureFixture,
    call: Call,
    code: str | None,
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PaymentRefused) as raised:
        call(gateway, paid)

    assert raised.value.details.get("provider_code") == code
    assert_tells_no_secret(str(raised.value), keys)
    assert_tells_no_secret(caplog.text, keys)


def test_a_refund_of_an_unpaid_payment_is_refused(gateway: StripeGateway) -> None:
    intent = gateway.create(payment_request())

    with pytest.raises(PaymentRefused, match="charge_not_refundable"):
        gateway.refund(
            PaymentId("P20250101000001"), "R1", Money(1), Money(12345), intent.provider_ref
        )


def test_a_declined_card_error_is_refused(gateway: StripeGateway, stub: StripeStub) -> None:
    stub.refuse_next(
        "/v1/payment_intents",
        StripeError(402, "card_error", "Your card was declined.", "card_declined"),
    )

    with pytest.raises(PaymentRefused, match="card_declined") as raised:
        gateway.create(payment_request())
    assert raised.value.details["provider_code"] == "card_declined"


def test_another_payments_intent_is_not_taken_for_ours(gateway: StripeGateway, paid: Paid) -> None:
    with pytest.raises(PaymentRefused, match=paid.payment_id):
        gateway.query(PaymentId("P-other"), paid.intent_id)


def test_a_wrong_api_key_is_refused_without_repeating_it(
    config: StripeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = Secrets("sk_test_" + secrets.token_hex(24), config.webhook_secret)
    gateway = StripeGateway(attrs.evolve(config, api_key=wrong.api_key))

    with pytest.raises(PaymentRefused, match="401") as raised:
        gateway.create(payment_request())

    assert_tells_no_secret(str(raised.value), wrong)
    assert "Invalid API Key provided" in caplog.text  # the SDK logs Stripe's masked quote
    assert_tells_no_secret(caplog.text, wrong)


def test_only_card_payments_are_taken(gateway: StripeGateway, server: StubServer) -> None:
    with pytest.raises(PaymentRefused, match="wechat_native"):
        gateway.create(attrs.evolve(payment_request(), channel=Channel.WECHAT_NATIVE))
    assert server.requests == []


def test_building_the_gateway_asks_stripe_nothing(config: StripeConfig, server: StubServer) -> None:
    gateway = StripeGateway(config)

    assert (gateway.provider, gateway.channels) == ("stripe", frozenset({Channel.CARD}))
    assert server.requests == []
    assert config.api_key not in repr(config)
    assert config.webhook_secret not in repr(config)


def _is_gateway(gateway: StripeGateway) -> PaymentGateway:
    return gateway
