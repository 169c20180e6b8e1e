"""The courier adapters: one contract suite run against the sandbox and against the City
adapter talking to a local City (``tests/stubs/city_courier.py``); then the City
adapter's faults (timeouts, 5xx, garbage, refusals) and the retrying wrapper."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import socket
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from shequ.adapters.clock import FixedClock
from shequ.adapters.couriers import (
    SANDBOX_SIGNATURE_HEADER,
    SANDBOX_TIMESTAMP_HEADER,
    CityCourier,
    CityCourierConfig,
    RetryingCourier,
    SandboxCourier,
)
from shequ.application.ports import Courier, CourierRequest
from shequ.domain.errors import (
    AdapterError,
    CourierCallbackInvalid,
    CourierRefused,
    CourierUnavailable,
)
from shequ.domain.fulfilment.delivery import DeliveryStatus
from shequ.domain.ids import OrderId
from shequ.domain.money import Money
from shequ.domain.routing import GeoPoint
from tests.stubs import Reply, Request, StubServer
from tests.stubs.city_courier import CST, CityCourierStub

APP_ID = "shequ-test-app"
Callback = tuple[bytes, dict[str, str]]

# The City partner's words for what the contract suite plays.
CITY_WORDS = {
    DeliveryStatus.ASSIGNED: "RIDER_ASSIGNED",
    DeliveryStatus.PICKED_UP: "PICKED",
    DeliveryStatus.OUT_FOR_DELIVERY: "DELIVERING",
    DeliveryStatus.DELIVERED: "DELIVERED",
    DeliveryStatus.FAILED: "FAILED",
    DeliveryStatus.RETURNED: "RETURNED",
}


def courier_request(
    order_id: str = "O2026112500001", *, express: bool = False, clock: FixedClock | None = None
) -> CourierRequest:
    start = (clock.now() if clock else dt.datetime(2026, 11, 25, 2, tzinfo=dt.UTC)) + dt.timedelta(
        hours=1
    )
    return CourierRequest(
        order_id=OrderId(order_id),
        depot="上海市浦东新区张杨路 1 号 中心仓",
        address="上海市浦东新区世纪大道 100 弄 3 号 502 室",
        recipient="王小明",
        phone="13800138000",
        window_start=start,
        window_end=start + dt.timedelta(hours=2),
        express=express,
        cold_chain=True,
        parcels=2,
        location=GeoPoint(31.2304, 121.4737),
    )


# ---------------------------------------------------------------- the two sides


@attrs.define
class SandboxSide:
    courier: SandboxCourier
    secret: bytes
    clock: FixedClock
    name: str = "sandbox"

    def play(self, ref: str, status: DeliveryStatus, note: str = "", proof: str = "") -> Callback:
        return self.courier.advance(ref, status, note, proof)

    def deliveries_of(self, order_id: str) -> int:
        return 0 if self.courier.delivery_of(OrderId(order_id)) is None else 1

    def signed(self, body: bytes, signed_at: dt.datetime | None = None) -> Callback:
        stamp = str(int((signed_at or self.clock.now()).timestamp()))
        mac = hmac.new(self.secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return body, {SANDBOX_TIMESTAMP_HEADER: stamp, SANDBOX_SIGNATURE_HEADER: mac}

    def forged(self, ref: str, how: str) -> Callback:
        body, headers = self.play(ref, DeliveryStatus.PICKED_UP)
        payload = json.loads(body)
        if how == "other_secret":
            return SandboxCourier(clock=self.clock).callback(payload)
        if how == "tampered":
            return body.replace(b"picked_up", b"delivered"), headers
        if how == "stale":
            return self.courier.callback(payload, self.clock.now() - dt.timedelta(minutes=6))
        if how == "from_the_future":
            return self.courier.callback(payload, self.clock.now() + dt.timedelta(minutes=6))
        if how == "unsigned":
            return body, {}
        return self.signed(garbage(how, payload, status_key="status", unknown="teleported"))

    def refuse(self) -> None:
        self.courier.refusal = "outside the service area"

    def go_down(self) -> None:
        self.courier.available = False


@attrs.define
class CitySide:
    courier: CityCourier
    stub: CityCourierStub
    server: StubServer
    name: str = "city"

    def play(self, ref: str, status: DeliveryStatus, note: str = "", proof: str = "") -> Callback:
        self.stub.advance(ref, CITY_WORDS[status], note, proof)
        return self.stub.callback(ref)

    def deliveries_of(self, order_id: str) -> int:
        return self.stub.orders_for(order_id)

    def forged(self, ref: str, how: str) -> Callback:
        body, headers = self.play(ref, DeliveryStatus.PICKED_UP)
        now = self.stub.now()
        if how == "other_secret":
            return self.stub.callback(ref, secret="not-the-app-secret")
        if how == "tampered":
            return body.replace(b"PICKED", b"DELIVERED"), headers
        if how == "stale":
            return self.stub.callback(ref, signed_at=now - dt.timedelta(minutes=6))
        if how == "from_the_future":
            return self.stub.callback(ref, signed_at=now + dt.timedelta(minutes=6))
        if how == "unsigned":
            return body, {}
        forged = garbage(how, json.loads(body), status_key="status", unknown="TELEPORTED")
        return forged, self.stub.sign(forged)

    def refuse(self) -> None:
        self.stub.refuse_next(times=2)

    def go_down(self) -> None:
        self.stub.fail_next(status=503, times=5)


Side = SandboxSide | CitySide


def garbage(how: str, payload: dict[str, Any], *, status_key: str, unknown: str) -> bytes:
    """A body signed properly that is no callback shequ can read."""
    if how == "not_json":
        return b"<xml><status>PICKED</status></xml>"
    if how == "nested":
        return b"[" * 60_000
    if how == "json_array":
        return json.dumps([payload]).encode()
    if how == "unknown_status":
        return json.dumps({**payload, status_key: unknown}).encode()
    if how == "no_time_zone":
        return json.dumps({**payload, "at": "2026-11-25T10:00:00"}).encode()
    if how == "missing_order":
        return json.dumps({k: v for k, v in payload.items() if "order" not in k}).encode()
    raise AssertionError(how)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[tuple[StubServer, list[CityCourierStub]]]:
    # One server for the module, as stopping one takes a moment; each test's stub answers.
    answering: list[CityCourierStub] = []
    with StubServer(lambda request: answering[0].handle(request)).running() as running:
        yield running, answering


@pytest.fixture
def app_secret() -> str:
    return secrets.token_hex(24)


@pytest.fixture
def stub(app_secret: str, clock: FixedClock) -> CityCourierStub:
    return CityCourierStub(APP_ID, app_secret, now=clock.now)


@pytest.fixture
def server(
    shared_server: tuple[StubServer, list[CityCourierStub]], stub: CityCourierStub
) -> StubServer:
    running, answering = shared_server
    answering[:] = [stub]
    running.requests.clear()
    return running


def city_courier(
    server: StubServer, secret: str, clock: FixedClock, timeout: float = 3.0, **more: Any
) -> CityCourier:
    config = CityCourierConfig(
        base_url=server.url, app_id=APP_ID, app_secret=secret, timeout=timeout, **more
    )
    return CityCourier(config, clock=clock)


@pytest.fixture
def city(server: StubServer, app_secret: str, clock: FixedClock) -> Iterator[CityCourier]:
    courier = city_courier(server, app_secret, clock)
    yield courier
    courier.close()


@pytest.fixture(params=["sandbox", "city"])
def side(request: pytest.FixtureRequest, clock: FixedClock) -> Side:
    if request.param == "sandbox":
        secret = secrets.token_bytes(32)
        return SandboxSide(SandboxCourier(secret=secret, clock=clock), secret, clock)
    return CitySide(
        request.getfixturevalue("city"),
        request.getfixturevalue("stub"),
        request.getfixturevalue("server"),
    )


# ---------------------------------------------------------------- the contract


def test_a_quote_names_the_courier_and_charges_more_for_express(
    side: Side, clock: FixedClock
) -> None:
    standard = side.courier.quote(courier_request(clock=clock))
    express = side.courier.quote(courier_request(express=True, clock=clock))

    assert standard.courier == express.courier == side.courier.name == side.name
    assert isinstance(standard.fee, Money) and standard.fee.fen > 0
    assert express.fee > standard.fee
    request = courier_request(clock=clock)
    assert standard.eta.tzinfo is not None
    assert request.window_start <= standard.eta <= request.window_end
    assert side.deliveries_of(request.order_id) == 0  # a quote orders nothing


def test_dispatching_one_order_twice_is_one_delivery(side: Side, clock: FixedClock) -> None:
    request = courier_request(clock=clock)

    first = side.courier.dispatch(request)
    again = side.courier.dispatch(request)
    other = side.courier.dispatch(courier_request("O2026112500002", clock=clock))

    assert first == again and first != other
    assert first and len(first) <= 64
    assert side.deliveries_of(request.order_id) == 1


def test_tracking_reports_every_step_the_courier_reported_oldest_first(
    side: Side, clock: FixedClock
) -> None:
    request = courier_request(clock=clock)
    ref = side.courier.dispatch(request)

    [taken] = side.courier.track(ref)

    assert (taken.courier_ref, taken.status, taken.order_id) == (
        ref,
        DeliveryStatus.ASSIGNED,
        request.order_id,
    )
    clock.advance(dt.timedelta(minutes=20))
    side.play(ref, DeliveryStatus.PICKED_UP)
    clock.advance(dt.timedelta(minutes=5))
    side.play(ref, DeliveryStatus.OUT_FOR_DELIVERY, note="骑手已出发")
    clock.advance(dt.timedelta(minutes=25))
    side.play(ref, DeliveryStatus.DELIVERED, proof="https://img.example/pod/1.jpg")

    updates = side.courier.track(ref)

    assert [u.status for u in updates] == [
        DeliveryStatus.ASSIGNED,
        DeliveryStatus.PICKED_UP,
        DeliveryStatus.OUT_FOR_DELIVERY,
        DeliveryStatus.DELIVERED,
    ]
    assert [u.at for u in updates] == sorted(u.at for u in updates)
    assert updates[-1].at == clock.now() and updates[-1].at.tzinfo is not None
    assert updates[2].note == "骑手已出发"
    assert updates[-1].proof == "https://img.example/pod/1.jpg"
    assert {u.order_id for u in updates} == {request.order_id}
    assert {u.courier_ref for u in updates} == {ref}


def test_a_delivery_is_cancelled_before_pickup_and_cancelling_again_is_fine(
    side: Side, clock: FixedClock
) -> None:
    ref = side.courier.dispatch(courier_request(clock=clock))

    side.courier.cancel(ref)
    side.courier.cancel(ref)

    updates = side.courier.track(ref)
    assert [u.status for u in updates] == [DeliveryStatus.ASSIGNED, DeliveryStatus.FAILED]
    assert "cancelled" in updates[-1].note


def test_a_delivery_picked_up_cannot_be_cancelled(side: Side, clock: FixedClock) -> None:
    ref = side.courier.dispatch(courier_request(clock=clock))
    side.play(ref, DeliveryStatus.PICKED_UP)

    with pytest.raises(CourierRefused):
        side.courier.cancel(ref)

    assert side.courier.track(ref)[-1].status is DeliveryStatus.PICKED_UP


def test_an_unknown_delivery_is_refused(side: Side) -> None:
    with pytest.raises(CourierRefused):
        side.courier.track("no-such-delivery")
    with pytest.raises(CourierRefused):
        side.courier.cancel("no-such-delivery")


def test_a_signed_callback_is_read(side: Side, clock: FixedClock) -> None:
    request = courier_request(clock=clock)
    ref = side.courier.dispatch(request)
    clock.advance(dt.timedelta(minutes=30))

    body, headers = side.play(ref, DeliveryStatus.DELIVERED, note="放门口", proof="pod-1.jpg")
    update = side.courier.parse_callback(headers, body)

    assert (update.courier_ref, update.order_id, update.status) == (
        ref,
        request.order_id,
        DeliveryStatus.DELIVERED,
    )
    assert (update.at, update.note, update.proof) == (clock.now(), "放门口", "pod-1.jpg")
    assert update == side.courier.track(ref)[-1]
    # Header names are matched whatever their case.
    shouted = {name.upper(): value for name, value in headers.items()}
    assert side.courier.parse_callback(shouted, body) == update


def test_a_failure_reported_without_a_reason_is_given_one(side: Side, clock: FixedClock) -> None:
    ref = side.courier.dispatch(courier_request(clock=clock))

    body, headers = side.play(ref, DeliveryStatus.FAILED)

    update = side.courier.parse_callback(headers, body)
    assert update.status is DeliveryStatus.FAILED and update.note.strip()
    assert side.courier.track(ref)[-1].note == update.note


@pytest.mark.parametrize(
    "how",
    [
        "other_secret",
        "tampered",
        "stale",
        "from_the_future",
        "unsigned",
        "not_json",
        "nested",
        "json_array",
        "unknown_status",
        "no_time_zone",
        "missing_order",
    ],
)
def test_a_callback_that_must_not_be_believed_is_refused(
    side: Side, clock: FixedClock, how: str
) -> None:
    ref = side.courier.dispatch(courier_request(clock=clock))
    body, headers = side.forged(ref, how)

    with pytest.raises(CourierCallbackInvalid) as refused:
        side.courier.parse_callback(headers, body)

    assert refused.value.code == "courier-callback-invalid"


def test_a_callback_larger_than_any_courier_sends_is_refused_unread(
    side: Side, clock: FixedClock
) -> None:
    ref = side.courier.dispatch(courier_request(clock=clock))
    body, headers = side.play(ref, DeliveryStatus.PICKED_UP)

    with pytest.raises(CourierCallbackInvalid, match="never that long"):
        side.courier.parse_callback(headers, body + b" " * (64 * 1024))


def test_a_courier_that_declines_raises_courier_refused(side: Side, clock: FixedClock) -> None:
    side.refuse()

    with pytest.raises(CourierRefused) as quoted:
        side.courier.quote(courier_request(clock=clock))
    with pytest.raises(CourierRefused):
        side.courier.dispatch(courier_request(clock=clock))

    assert quoted.value.details["courier"] == side.name
    assert side.deliveries_of("O2026112500001") == 0


def test_a_courier_that_is_down_raises_courier_unavailable(side: Side, clock: FixedClock) -> None:
    ref = side.courier.dispatch(courier_request(clock=clock))
    side.go_down()

    for call in (
        lambda: side.courier.quote(courier_request(clock=clock)),
        lambda: side.courier.dispatch(courier_request("O2026112500002", clock=clock)),
        lambda: side.courier.track(ref),
        lambda: side.courier.cancel(ref),
    ):
        with pytest.raises(CourierUnavailable) as down:
            call()
        assert down.value.code == "courier-unavailable"
        assert down.value.details["courier"] == side.name


def test_retries_get_through_a_short_outage(side: Side, clock: FixedClock) -> None:
    request = courier_request(clock=clock)
    side.go_down()
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:
            _recover(side)

    ref = RetryingCourier(side.courier, sleep=sleep).dispatch(request)

    assert pauses == [0.2, 0.5]
    assert side.courier.dispatch(request) == ref
    assert side.deliveries_of(request.order_id) == 1


def _recover(side: Side) -> None:
    if isinstance(side, SandboxSide):
        side.courier.available = True
    else:
        side.stub.recover()


# ---------------------------------------------------------------- City: the wire


def test_every_request_is_signed_and_carries_the_delivery(
    city: CityCourier, server: StubServer, clock: FixedClock, app_secret: str
) -> None:
    request = courier_request(clock=clock)

    city.quote(request)
    ref = city.dispatch(request)
    city.track(ref)

    quote, order, events = server.requests
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/v1/quotes"),
        ("POST", "/v1/orders"),
        ("GET", f"/v1/orders/{ref}/events"),
    ]
    for sent in server.requests:
        assert sent.headers["x-app-id"] == APP_ID
        assert sent.headers["x-timestamp"] == str(int(clock.now().timestamp()))
        assert len(sent.headers["x-nonce"]) == 32
        assert app_secret not in str(sent.headers) and app_secret.encode() not in sent.body
    assert len({r.headers["x-nonce"] for r in server.requests}) == 3
    assert events.body == b""
    assert quote.body == order.body
    assert order.headers["content-type"] == "application/json; charset=utf-8"
    sent_body = json.loads(order.body)
    assert sent_body == {
        "client_order_id": request.order_id,
        "pickup": {"address": request.depot},
        "dropoff": {
            "address": request.address,
            "name": "王小明",
            "phone": "13800138000",
            "location": {"lat": 31.2304, "lng": 121.4737},
        },
        "window": {
            "start": request.window_start.astimezone(CST).isoformat(),
            "end": request.window_end.astimezone(CST).isoformat(),
        },
        "express": False,
        "cold_chain": True,
        "parcels": 2,
    }
    assert sent_body["window"]["start"].endswith("+08:00")
    assert "王小明".encode() in order.body  # UTF-8, not \\u escapes


def test_the_stubs_price_reaches_the_quote_exactly(city: CityCourier, clock: FixedClock) -> None:
    quote = city.quote(courier_request(express=True, clock=clock))

    # 8.00 base + 6.00 express + 3.00 cold chain + 2.00 for the second parcel
    assert quote.fee == Money(1900)
    assert quote.eta == clock.now() + dt.timedelta(hours=1, minutes=40)
    assert quote.eta.tzinfo == dt.UTC


def test_a_reference_is_sent_as_one_path_segment(
    city: CityCourier, server: StubServer, stub: CityCourierStub
) -> None:
    with pytest.raises(CourierRefused) as refused:
        city.track("../quotes?x=1")

    assert server.requests[-1].path == "/v1/orders/..%2Fquotes%3Fx%3D1/events"
    assert refused.value.details["courier_code"] == 40400


def test_a_partner_that_does_not_know_our_secret_refuses_and_no_message_shows_it(
    server: StubServer, clock: FixedClock
) -> None:
    wrong = "wrong-" + secrets.token_hex(16)
    courier = city_courier(server, wrong, clock)

    with pytest.raises(CourierRefused) as refused:
        courier.dispatch(courier_request(clock=clock))

    assert refused.value.details["courier_code"] == 40100
    assert wrong not in str(refused.value) and wrong not in repr(refused.value.details)
    assert wrong not in repr(CityCourierConfig(server.url, APP_ID, wrong))


def test_a_callback_for_another_app_id_is_refused(
    city: CityCourier, stub: CityCourierStub, clock: FixedClock
) -> None:
    ref = city.dispatch(courier_request(clock=clock))

    body, headers = stub.callback(ref, app_id="another-app")

    with pytest.raises(CourierCallbackInvalid, match="another app id"):
        city.parse_callback(headers, body)


def test_a_callback_signed_for_another_path_is_refused(
    city: CityCourier, stub: CityCourierStub, clock: FixedClock
) -> None:
    ref = city.dispatch(courier_request(clock=clock))

    body, headers = stub.callback(ref, path="/v1/couriers/other/callback")

    with pytest.raises(CourierCallbackInvalid, match="signature"):
        city.parse_callback(headers, body)


def test_a_cancelled_order_reports_as_failed_saying_so(
    city: CityCourier, stub: CityCourierStub, clock: FixedClock
) -> None:
    ref = city.dispatch(courier_request(clock=clock))

    stub.advance(ref, "CANCELLED", note="骑手运力不足")
    body, headers = stub.callback(ref)
    update = city.parse_callback(headers, body)

    assert (update.status, update.note) == (DeliveryStatus.FAILED, "cancelled: 骑手运力不足")
    assert city.track(ref)[-1] == update


def test_callbacks_sent_over_http_verify_against_the_registered_path(
    city: CityCourier, stub: CityCourierStub, app_secret: str, clock: FixedClock
) -> None:
    ref = city.dispatch(courier_request(clock=clock))
    stub.advance(ref, "DELIVERED", proof="pod.jpg")
    received: list[Request] = []

    def receive(request: Request) -> Reply:
        received.append(request)
        return Reply(200, b'{"code":0,"message":"ok"}')

    with StubServer(receive).running() as shop:
        answer = stub.send_callback(f"{shop.url}/hooks/city?v=1", ref)

    assert answer.status_code == 200
    [callback] = received
    assert (callback.method, callback.path) == ("POST", "/hooks/city?v=1")
    with pytest.raises(CourierCallbackInvalid):  # registered at another path
        city.parse_callback(callback.headers, callback.body)
    registered = CityCourier(
        CityCourierConfig("http://unused", APP_ID, app_secret, callback_path="/hooks/city?v=1"),
        clock,
    )
    update = registered.parse_callback(callback.headers, callback.body)
    assert (update.courier_ref, update.status, update.proof) == (
        ref,
        DeliveryStatus.DELIVERED,
        "pod.jpg",
    )


# ---------------------------------------------------------------- City: faults


def test_a_timeout_is_unavailable_and_the_order_it_made_is_found_again(
    server: StubServer, stub: CityCourierStub, clock: FixedClock, app_secret: str
) -> None:
    hasty = city_courier(server, app_secret, clock, timeout=0.3)
    request = courier_request(clock=clock)
    stub.time_out_next("/v1/orders", delay=1.0)

    with pytest.raises(CourierUnavailable, match=r"did not answer within 0\.3 s") as down:
        hasty.dispatch(request)

    assert app_secret not in str(down.value)
    assert stub.orders_for(request.order_id) == 1  # the partner acted; the answer was lost
    ref = hasty.dispatch(request)
    assert ref == stub.order_of(request.order_id).ref  # type: ignore[union-attr]
    assert stub.orders_for(request.order_id) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("call", ["quote", "dispatch", "cancel", "track"])
def test_a_5xx_answer_is_unavailable(
    city: CityCourier, stub: CityCourierStub, clock: FixedClock, status: int, call: str
) -> None:
    ref = city.dispatch(courier_request("O-known", clock=clock))
    stub.fail_next(status=status)

    with pytest.raises(CourierUnavailable, match=f"HTTP {status}") as down:
        _call(city, call, ref, clock)

    assert down.value.details["http_status"] == status


def _call(courier: Courier, call: str, ref: str, clock: FixedClock) -> object:
    if call in ("quote", "dispatch"):
        return getattr(courier, call)(courier_request(clock=clock))
    return getattr(courier, call)(ref)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", 200),
        (b'{"code": 0, "data": {"fee', 200),  # cut short
        (b'["code", 0]', 200),
        (b'{"message": "ok", "data": {}}', 200),  # no code
        (b'{"code": "0", "data": {}}', 200),  # a code that is not a number
        (b'{"code": 0, "message": "ok"}', 200),  # no data
        (b'{"code": 0, "message": "ok", "data": {}}', 200),  # data without the fields
        (b'{"code": 0, "data": {"fee_fen": 12.5, "eta": "2026-11-25T12:00:00+08:00"}}', 200),
        (b'{"code": 0, "data": {"fee_fen": 1200, "eta": "soon"}}', 200),
        (b'{"code": 0, "data": {"fee_fen": 1200, "eta": "2026-11-25T12:00:00"}}', 200),
        (b'{"code": 0, "data": {"fee_fen": -1, "eta": "2026-11-25T12:00:00+08:00"}}', 200),
        (b"[" * 100_000, 200),  # nested past what Python's parser takes
        (b"Not Found", 404),
        (b'{"code": 0, "data": {}}', 404),  # a success code on a failure
        (b"", 301),
    ],
)
def test_an_answer_that_is_not_the_partners_json_is_unavailable(
    city: CityCourier, stub: CityCourierStub, clock: FixedClock, body: bytes, status: int
) -> None:
    stub.garble_next(body=body, status=status)

    with pytest.raises(CourierUnavailable) as down:
        city.quote(courier_request(clock=clock))

    assert "could not quote order" in str(down.value)


@pytest.mark.parametrize(
    "data",
    [
        {"order_ref": "", "client_order_id": "O2026112500001"},
        {"order_ref": "x" * 65, "client_order_id": "O2026112500001"},
        {"order_ref": "CC1\n", "client_order_id": "O2026112500001"},
        {"order_ref": "CC1", "client_order_id": "another order"},
    ],
)
def test_a_dispatch_answer_without_our_courier_order_is_unavailable(
    city: CityCourier, stub: CityCourierStub, clock: FixedClock, data: dict[str, str]
) -> None:
    stub.garble_next(body=json.dumps({"code": 0, "data": data}).encode())

    with pytest.raises(CourierUnavailable, match="cannot be read"):
        city.dispatch(courier_request(clock=clock))


def test_events_the_adapter_cannot_read_are_unavailable(
    city: CityCourier, stub: CityCourierStub, clock: FixedClock
) -> None:
    ref = city.dispatch(courier_request(clock=clock))
    stub.advance(ref, "BEAMED_UP")

    with pytest.raises(CourierUnavailable, match="BEAMED_UP"):
        city.track(ref)


def test_a_partner_that_cannot_be_reached_is_unavailable(
    app_secret: str, clock: FixedClock
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    courier = CityCourier(
        CityCourierConfig(f"http://127.0.0.1:{port}", APP_ID, app_secret, timeout=1.0), clock
    )

    with pytest.raises(CourierUnavailable, match="could not be reached: ConnectError"):
        courier.quote(courier_request(clock=clock))


@pytest.mark.parametrize(
    ("code", "status"), [(42201, 422), (42202, 409), (40001, 400), (40100, 401), (43000, 200)]
)
def test_a_business_code_is_a_refusal_naming_it(
    city: CityCourier, stub: CityCourierStub, clock: FixedClock, code: int, status: int
) -> None:
    stub.refuse_next(code=code, status=status, message="收货地址超出配送范围")

    with pytest.raises(CourierRefused) as refused:
        city.dispatch(courier_request(clock=clock))

    assert refused.value.code == "courier-refused"
    assert refused.value.details["courier_code"] == code
    assert "收货地址超出配送范围" in str(refused.value)
    assert stub.orders_for("O2026112500001") == 0


@pytest.mark.parametrize(("code", "status"), [(42900, 429), (50001, 200), (40800, 408)])
def test_a_busy_or_failing_partner_is_unavailable_whatever_its_code(
    city: CityCourier, stub: CityCourierStub, clock: FixedClock, code: int, status: int
) -> None:
    stub.refuse_next(code=code, status=status, message="系统繁忙")

    with pytest.raises(CourierUnavailable) as down:
        city.dispatch(courier_request(clock=clock))

    assert down.value.details["courier_code"] == code


def test_a_config_without_a_secret_or_a_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="app_secret"):
        CityCourierConfig("http://127.0.0.1:1", APP_ID, " ")
    with pytest.raises(ValueError, match="timeout"):
        CityCourierConfig("http://127.0.0.1:1", APP_ID, "s", timeout=0)


# ---------------------------------------------------------------- retrying


@pytest.fixture
def pauses() -> list[float]:
    return []


def test_retrying_sends_again_until_the_partner_recovers(
    city: CityCourier, stub: CityCourierStub, server: StubServer, pauses: list[float]
) -> None:
    stub.fail_next("/v1/orders", status=503, times=2)
    retrying = RetryingCourier(city, sleep=pauses.append)
    request = courier_request()

    ref = retrying.dispatch(request)

    assert ref == stub.order_of(request.order_id).ref  # type: ignore[union-attr]
    assert pauses == [0.2, 0.5]
    assert len(server.requests) == 3
    assert len({r.headers["x-nonce"] for r in server.requests}) == 3  # each signed afresh
    assert retrying.name == "city"


def test_retrying_through_timeouts_still_makes_one_order(
    server: StubServer,
    stub: CityCourierStub,
    clock: FixedClock,
    app_secret: str,
    pauses: list[float],
) -> None:
    hasty = city_courier(server, app_secret, clock, timeout=0.3)
    stub.time_out_next("/v1/orders", delay=1.0, times=2)
    request = courier_request(clock=clock)

    ref = RetryingCourier(hasty, sleep=pauses.append).dispatch(request)

    assert stub.orders_for(request.order_id) == 1
    assert ref == stub.order_of(request.order_id).ref  # type: ignore[union-attr]
    assert pauses == [0.2, 0.5]


def test_retrying_gives_up_after_its_attempts(
    city: CityCourier, stub: CityCourierStub, server: StubServer, pauses: list[float]
) -> None:
    stub.fail_next(status=500, times=5)

    with pytest.raises(CourierUnavailable, match="gave up after 4 attempts") as down:
        RetryingCourier(city, attempts=4, backoff=(0.1, 0.3), sleep=pauses.append).quote(
            courier_request()
        )

    assert pauses == [0.1, 0.3, 0.3]  # the last pause repeats
    assert len(server.requests) == 4
    assert (down.value.details["attempts"], down.value.details["http_status"]) == (4, 500)


def test_retrying_never_sends_a_refusal_again(
    city: CityCourier, stub: CityCourierStub, server: StubServer, pauses: list[float]
) -> None:
    stub.refuse_next(code=42201)

    with pytest.raises(CourierRefused):
        RetryingCourier(city, sleep=pauses.append).dispatch(courier_request())

    assert (pauses, len(server.requests)) == ([], 1)


def test_retrying_with_one_attempt_raises_the_first_failure_as_it_is(
    clock: FixedClock, pauses: list[float]
) -> None:
    sandbox = SandboxCourier(clock=clock)
    sandbox.available = False

    with pytest.raises(CourierUnavailable) as down:
        RetryingCourier(sandbox, attempts=1, sleep=pauses.append).track("any")

    assert "attempts" not in down.value.details and pauses == []
    with pytest.raises(ValueError, match="at least once"):
        RetryingCourier(sandbox, attempts=0)


def test_retrying_passes_callbacks_through_unretried(clock: FixedClock) -> None:
    sandbox = SandboxCourier(clock=clock)
    retrying = RetryingCourier(sandbox, sleep=pytest.fail)
    ref = retrying.dispatch(courier_request(clock=clock))
    sandbox.available = False  # reading a callback asks the courier nothing

    body, headers = sandbox.advance(ref, DeliveryStatus.PICKED_UP)
    update = retrying.parse_callback(headers, body)

    assert update.status is DeliveryStatus.PICKED_UP
    with pytest.raises(CourierCallbackInvalid):
        retrying.parse_callback({}, b"{}")


def test_without_the_couriers_extra_the_city_courier_says_which_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)  # as if it were not installed

    with pytest.raises(AdapterError, match=r"pip install 'shequ\[couriers\]'"):
        CityCourier(CityCourierConfig("http://127.0.0.1:1", APP_ID, "s"))
