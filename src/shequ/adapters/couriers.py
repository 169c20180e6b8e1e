"""Courier partners (配送) behind the ``Courier`` port: an in-process sandbox, a same-city
courier (同城配送) over HTTP, and a wrapper that retries a courier that is down.

**SandboxCourier** plays a partner in the process, for tests, demos and development: a
fixed fee (plus a surcharge for express), the window's end as the ETA, and
:meth:`SandboxCourier.advance` to play the rider, which returns the signed status callback.

**CityCourier** speaks the HTTP API of a same-city courier partner ("City"):

Requests go to ``base_url`` with a JSON body (UTF-8) and four headers:

- ``X-App-Id``: our app id at the partner;
- ``X-Timestamp``: Unix seconds; the partner refuses one more than 5 minutes off;
- ``X-Nonce``: 32 random hex digits, new for every request (a retry too);
- ``X-Signature``: the lower-case hex HMAC-SHA256, under the app secret, of
  ``timestamp + "\\n" + nonce + "\\n" + METHOD + "\\n" + path + "\\n" + body``, where
  ``path`` is the request's path and query as sent (``/v1/orders/CC1/events``) and
  ``body`` the raw bytes (empty for a GET).

The calls:

- ``POST /v1/quotes`` with a delivery (below) answers ``{"fee_fen", "eta"}``.
- ``POST /v1/orders`` with a delivery answers ``{"order_ref", "client_order_id",
  "status"}``. It is idempotent on ``client_order_id``: the same id answers the same
  courier order.
- ``POST /v1/orders/{ref}/cancel`` with ``{"reason"}`` answers ``{"order_ref", "status":
  "CANCELLED"}``; cancelling again is fine, cancelling once picked up is refused.
- ``GET /v1/orders/{ref}/events`` answers ``{"order_ref", "client_order_id", "events":
  [{"status", "at", "note", "proof"}, …]}``, oldest first.

A delivery is ``{"client_order_id", "pickup": {"address"}, "dropoff": {"address",
"name", "phone", "location": {"lat", "lng"} | null}, "window": {"start", "end"},
"express", "cold_chain", "parcels"}``. Times are ISO 8601 with an offset (the partner
writes +08:00), amounts whole fen.

Every answer is ``{"code": 0, "message": "ok", "data": {…}}`` (HTTP 200) or
``{"code": <non-zero>, "message": "…"}`` (HTTP 4xx, or 5xx for its own failures).
Business codes: ``40001`` a bad parameter, ``40100`` a bad app id, signature or
timestamp, ``40400`` no such order, ``40900`` the order's state forbids it (cancelling
after pickup), ``42201`` outside the service area, ``42202`` no rider free, ``42900`` too
many requests, ``5xxxx`` the partner's own failure.

How answers become errors: a timeout, a failed connection, HTTP 5xx, HTTP 408 or 429,
a ``5xxxx`` code, or a body that is not that JSON is :class:`CourierUnavailable` (safe to
send again: every call is idempotent); any other non-zero code is :class:`CourierRefused`
with the code in ``details["courier_code"]``. No message carries the app secret.

Status callbacks come as a ``POST`` to the URL registered at the partner, signed the same
way: ``X-App-Id`` is ours, and ``path`` is the callback URL's path and query as
registered (``callback_path``). The body is ``{"order_ref", "client_order_id", "status",
"at", "note", "proof"}``. The partner's statuses map to :class:`DeliveryStatus` as
:data:`CITY_STATUSES` says; ``CANCELLED`` (by us or by the partner) becomes ``failed``
with a note saying so, and a failure without a note gets one, as the domain wants a
reason. A callback is refused unless its signature holds and its timestamp is within 5
minutes of the clock.

**RetryingCourier** wraps any courier: it sends a call again, after a pause, while the
courier raises :class:`CourierUnavailable`, and never after :class:`CourierRefused`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote

import attrs

from shequ.application.fulfilment.delivery import MAX_CALLBACK_BYTES
from shequ.application.ports import Clock, Courier, CourierQuote, CourierRequest, CourierUpdate
from shequ.domain.errors import (
    AdapterError,
    CourierCallbackInvalid,
    CourierRefused,
    CourierUnavailable,
)
from shequ.domain.fulfilment.delivery import TEAM, DeliveryStatus
from shequ.domain.ids import CommunityId, OrderId
from shequ.domain.money import Money
from shequ.domain.values import CHINA_STANDARD_TIME

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CITY_STATUSES",
    "SANDBOX_SIGNATURE_HEADER",
    "SANDBOX_TIMESTAMP_HEADER",
    "STALE_AFTER",
    "CityCourier",
    "CityCourierConfig",
    "RetryingCourier",
    "SandboxCourier",
    "TeamCourier",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

STALE_AFTER: Final = dt.timedelta(minutes=5)
"""A callback signed further than this from the clock, either way, is refused."""
EXTRA_MISSING: Final = "the city courier needs the couriers extra: pip install 'shequ[couriers]'"

SANDBOX_SIGNATURE_HEADER: Final = "x-sandbox-signature"
SANDBOX_TIMESTAMP_HEADER: Final = "x-sandbox-timestamp"

_S = DeliveryStatus
CITY_STATUSES: Final[Mapping[str, DeliveryStatus]] = {
    "ACCEPTED": _S.ASSIGNED,  # the partner took the order and looks for a rider
    "RIDER_ASSIGNED": _S.ASSIGNED,  # a rider is named
    "PICKED": _S.PICKED_UP,
    "DELIVERING": _S.OUT_FOR_DELIVERY,
    "DELIVERED": _S.DELIVERED,
    "FAILED": _S.FAILED,
    "RETURNED": _S.RETURNED,
    "CANCELLED": _S.FAILED,  # the port knows no cancelled delivery: it did not happen
}
"""The City partner's order statuses, as shequ's delivery statuses."""
del _S


class _Unreadable(Exception):
    """An answer or a callback lacks a field shequ reads, or holds something else there."""


# ---------------------------------------------------------------- the sandbox


@attrs.define
class _Delivery:
    order_id: OrderId
    ref: str
    updates: list[CourierUpdate]
    cancelled: bool = False


class SandboxCourier:
    """A courier in the process. ``secret`` signs callbacks (random per instance by
    default); ``clock`` dates updates and judges callbacks' age (the system's clock by
    default). ``available = False`` plays an outage (every call but
    :meth:`parse_callback` raises :class:`CourierUnavailable`); a ``refusal`` makes
    quotes and dispatches raise :class:`CourierRefused` with that reason."""

    def __init__(
        self,
        name: str = "sandbox",
        *,
        secret: bytes | None = None,
        clock: Clock | None = None,
        fee: Money = Money(600),
        express_surcharge: Money = Money(400),
    ) -> None:
        self._name = name
        self._secret = secret or secrets.token_bytes(32)
        self._clock = clock
        self._fee, self._express_surcharge = fee, express_surcharge
        self._lock = threading.Lock()
        self._by_order: dict[OrderId, _Delivery] = {}
        self._by_ref: dict[str, _Delivery] = {}
        self.available = True
        self.refusal: str | None = None

    @property
    def name(self) -> str:
        return self._name

    # ---------------------------------------------------------------- the port

    def quote(self, request: CourierRequest) -> CourierQuote:
        self._check_takes(request)
        fee = self._fee + self._express_surcharge if request.express else self._fee
        return CourierQuote(courier=self._name, fee=fee, eta=request.window_end)

    def dispatch(self, request: CourierRequest) -> str:
        self._check_takes(request)
        with self._lock:
            known = self._by_order.get(request.order_id)
            if known is None:
                ref = f"sbx-{secrets.token_hex(8)}"
                taken = f"taken by {self._name}"
                first = _courier_update(
                    ref, DeliveryStatus.ASSIGNED, self._now(), taken, "", request.order_id
                )
                known = _Delivery(request.order_id, ref, [first])
                self._by_order[request.order_id] = self._by_ref[ref] = known
        return known.ref

    def cancel(self, courier_ref: str) -> None:
        self._check_up()
        with self._lock:
            delivery = self._delivery(courier_ref)
            if delivery.cancelled:
                return
            status = delivery.updates[-1].status
            if status is not DeliveryStatus.ASSIGNED:
                raise CourierRefused(
                    f"{self._name} cannot cancel delivery {courier_ref}: it is {status.value}",
                    courier=self._name,
                )
            delivery.cancelled = True
            delivery.updates.append(
                _courier_update(
                    courier_ref,
                    DeliveryStatus.FAILED,
                    self._now(),
                    "cancelled",
                    "",
                    delivery.order_id,
                )
            )

    def track(self, courier_ref: str) -> list[CourierUpdate]:
        self._check_up()
        with self._lock:
            return list(self._delivery(courier_ref).updates)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> CourierUpdate:
        if len(body) > MAX_CALLBACK_BYTES:
            raise CourierCallbackInvalid(f"a callback from {self._name} is never that long")
        lower = {k.lower(): v for k, v in headers.items()}
        stamp = lower.get(SANDBOX_TIMESTAMP_HEADER, "")
        wanted = lower.get(SANDBOX_SIGNATURE_HEADER, "")
        if not hmac.compare_digest(wanted.encode(), self._sign(stamp, body).encode()):
            raise CourierCallbackInvalid(f"the callback's signature is not {self._name}'s")
        _check_fresh(stamp, self._now(), self._name)
        try:
            return _read_callback(body, "courier_ref", "order_id", _sandbox_update)
        except _Unreadable as e:
            raise CourierCallbackInvalid(
                f"the callback from {self._name} cannot be read: {e}"
            ) from None

    # ---------------------------------------------------------------- the rider and the test

    def delivery_of(self, order_id: OrderId) -> str | None:
        """The reference of the order's delivery, if it was dispatched here."""
        with self._lock:
            found = self._by_order.get(order_id)
        return None if found is None else found.ref

    def advance(
        self,
        courier_ref: str,
        status: DeliveryStatus,
        note: str = "",
        proof: str = "",
        at: dt.datetime | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The rider reports ``status``: it joins what :meth:`track` returns, and the
        signed callback the courier would send is returned as ``(body, headers)``."""
        with self._lock:
            delivery = self._delivery(courier_ref)
            moment = at or self._now()
            update = _courier_update(courier_ref, status, moment, note, proof, delivery.order_id)
            delivery.updates.append(update)
        return self.callback(
            {
                "courier_ref": courier_ref,
                "order_id": update.order_id,
                "status": status.value,
                "at": update.at.isoformat(),
                "note": update.note,
                "proof": update.proof,
            }
        )

    def callback(
        self, payload: Mapping[str, Any], signed_at: dt.datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A signed callback of any content, as the sandbox would send it (for tests of
        stale or odd callbacks)."""
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        stamp = str(int((signed_at or self._now()).timestamp()))
        return body, {
            SANDBOX_TIMESTAMP_HEADER: stamp,
            SANDBOX_SIGNATURE_HEADER: self._sign(stamp, body),
        }

    # ---------------------------------------------------------------- internals

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) if self._clock is None else self._clock.now()

    def _check_up(self) -> None:
        if not self.available:
            raise CourierUnavailable(
                f"the {self._name} courier is down (as asked)", courier=self._name
            )

    def _check_takes(self, request: CourierRequest) -> None:
        self._check_up()
        if self.refusal is not None:
            raise CourierRefused(
                f"{self._name} declines order {request.order_id}: {self.refusal}",
                courier=self._name,
            )

    def _delivery(self, courier_ref: str) -> _Delivery:
        found = self._by_ref.get(courier_ref)
        if found is None:
            raise CourierRefused(
                f"{self._name} knows no delivery {courier_ref}", courier=self._name
            )
        return found

    def _sign(self, stamp: str, body: bytes) -> str:
        return hmac.new(self._secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- our own team


class TeamCourier:
    """Our own delivery team (自有骑手) in the courier chain, named ``team``.

    It takes a delivery when the community has riders (``riders(community_id)`` counts
    them: a read, when asked) and, for cold goods, only if the team carries cold
    (``cold_chain``); otherwise it refuses, so the next courier is asked. What happens
    next is shequ's own: the delivery is assigned to a rider, who reports its steps
    through the rider routes; there are no callbacks, and :meth:`track` has nothing the
    shipment's timeline does not.
    """

    def __init__(
        self,
        riders: Callable[[CommunityId], int],
        *,
        fee: Money = Money(0),
        cold_chain: bool = False,
    ) -> None:
        self._riders, self._fee, self._cold_chain = riders, fee, cold_chain

    @property
    def name(self) -> str:
        return TEAM

    def quote(self, request: CourierRequest) -> CourierQuote:
        self._check_takes(request)
        return CourierQuote(courier=TEAM, fee=self._fee, eta=request.window_end)

    def dispatch(self, request: CourierRequest) -> str:
        self._check_takes(request)
        return f"team-{request.order_id}"

    def cancel(self, courier_ref: str) -> None:
        """Nothing to tell anyone: the shipment's own record is the team's."""

    def track(self, courier_ref: str) -> list[CourierUpdate]:
        return []

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> CourierUpdate:
        raise CourierCallbackInvalid(
            "our own riders report through the rider routes, never by callback"
        )

    def _check_takes(self, request: CourierRequest) -> None:
        if request.cold_chain and not self._cold_chain:
            raise CourierRefused(
                "our own team carries no cold goods (SHEQU_TEAM_COLD_CHAIN)", courier=TEAM
            )
        if request.community_id is None or self._riders(request.community_id) < 1:
            raise CourierRefused(
                f"our own team has no rider in community {request.community_id}", courier=TEAM
            )


# ---------------------------------------------------------------- the City partner


@attrs.frozen
class CityCourierConfig:
    """Our account at the City partner. ``callback_path`` is the path of the callback URL
    registered with the partner, as the partner calls it (it is signed)."""

    base_url: str
    app_id: str
    app_secret: str = attrs.field(repr=False)
    timeout: float = 5.0  # seconds, for each of connecting, sending and reading
    name: str = "city"
    callback_path: str = "/v1/couriers/city/callback"

    def __attrs_post_init__(self) -> None:
        for field in ("base_url", "app_id", "app_secret"):
            if not getattr(self, field).strip():
                raise ValueError(f"CityCourierConfig.{field} is required")
        if not self.timeout > 0:
            raise ValueError("CityCourierConfig.timeout must be positive")


class CityCourier:
    """The City same-city courier over its signed JSON API (see the module's docstring).
    ``transport`` replaces httpx's network transport (``httpx.MockTransport`` in a
    test). Building one does no I/O; one instance serves many threads."""

    def __init__(
        self,
        config: CityCourierConfig,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        try:
            import httpx
        except ImportError as e:
            raise AdapterError(EXTRA_MISSING) from e
        self._name = config.name
        self._app_id = config.app_id
        self._secret = config.app_secret.encode()
        self._timeout = config.timeout
        self._callback_path = config.callback_path
        self._clock = clock
        self._client = httpx.Client(
            base_url=config.base_url,
            timeout=config.timeout,
            transport=transport,
            headers={"User-Agent": "shequ-couriers"},
        )

    @property
    def name(self) -> str:
        return self._name

    def close(self) -> None:
        self._client.close()

    # ---------------------------------------------------------------- the port

    def quote(self, request: CourierRequest) -> CourierQuote:
        doing = f"quote order {request.order_id}"
        data = self._call("POST", "/v1/quotes", _delivery_body(request), doing)
        with self._reading(doing):
            return CourierQuote(
                courier=self._name, fee=Money(_whole(data, "fee_fen")), eta=_time(data, "eta")
            )

    def dispatch(self, request: CourierRequest) -> str:
        doing = f"dispatch order {request.order_id}"
        data = self._call("POST", "/v1/orders", _delivery_body(request), doing)
        with self._reading(doing):
            ref = _ref(data)
            if data.get("client_order_id") != request.order_id:
                raise _Unreadable(f"its order {ref} is not for order {request.order_id}")
        return ref

    def cancel(self, courier_ref: str) -> None:
        path = f"/v1/orders/{self._quoted(courier_ref)}/cancel"
        self._call(
            "POST", path, {"reason": "cancelled by the shop"}, f"cancel delivery {courier_ref}"
        )

    def track(self, courier_ref: str) -> list[CourierUpdate]:
        doing = f"track delivery {courier_ref}"
        data = self._call("GET", f"/v1/orders/{self._quoted(courier_ref)}/events", None, doing)
        with self._reading(doing):
            order_id = OrderId(_text(data, "client_order_id"))
            events = data.get("events")
            if not isinstance(events, list):
                raise _Unreadable("events is not a list")
            return [_city_update(_object(e), courier_ref, order_id) for e in events]

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> CourierUpdate:
        if len(body) > MAX_CALLBACK_BYTES:
            raise CourierCallbackInvalid(f"a callback from {self._name} is never that long")
        lower = {k.lower(): v for k, v in headers.items()}
        stamp, nonce = lower.get("x-timestamp", ""), lower.get("x-nonce", "")
        wanted = lower.get("x-signature", "")
        expected = _signature(self._secret, stamp, nonce, "POST", self._callback_path, body)
        if not (stamp and nonce and hmac.compare_digest(wanted.encode(), expected.encode())):
            raise CourierCallbackInvalid(f"the callback's signature is not {self._name}'s")
        if lower.get("x-app-id") != self._app_id:
            raise CourierCallbackInvalid(f"the callback from {self._name} is for another app id")
        _check_fresh(stamp, self._now(), self._name)
        try:
            return _read_callback(body, "order_ref", "client_order_id", _city_update)
        except _Unreadable as e:
            raise CourierCallbackInvalid(
                f"the callback from {self._name} cannot be read: {e}"
            ) from None

    # ---------------------------------------------------------------- internals

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) if self._clock is None else self._clock.now()

    def _call(
        self, method: str, path: str, payload: Mapping[str, Any] | None, doing: str
    ) -> Mapping[str, Any]:
        import httpx

        body = b"" if payload is None else _json(payload)
        request = self._client.build_request(method, path, content=body or None)
        stamp, nonce = str(int(self._now().timestamp())), secrets.token_hex(16)
        target = request.url.raw_path.decode("ascii")
        request.headers.update(
            {
                "X-App-Id": self._app_id,
                "X-Timestamp": stamp,
                "X-Nonce": nonce,
                "X-Signature": _signature(self._secret, stamp, nonce, method, target, body),
            }
        )
        if payload is not None:
            request.headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = self._client.send(request)
        except httpx.TimeoutException:
            raise CourierUnavailable(
                f"{self._name} did not answer within {self._timeout:g} s (could not {doing})",
                courier=self._name,
            ) from None
        except httpx.HTTPError as e:
            raise CourierUnavailable(
                f"{self._name} could not be reached: {type(e).__name__} (could not {doing})",
                courier=self._name,
            ) from None
        return self._answer(response.status_code, response.content, doing)

    def _answer(self, status: int, content: bytes, doing: str) -> Mapping[str, Any]:
        if status >= 500:
            raise CourierUnavailable(
                f"{self._name} answered HTTP {status} (could not {doing})",
                courier=self._name,
                http_status=status,
            )
        try:
            answer = json.loads(content)
        except (ValueError, RecursionError):  # RecursionError: nested past Python's limit
            answer = None
        if not isinstance(answer, dict) or type(answer.get("code")) is not int:
            raise CourierUnavailable(
                f"{self._name} answered HTTP {status} with something other than its JSON "
                f"(could not {doing})",
                courier=self._name,
                http_status=status,
            )
        code: int = answer["code"]
        if code == 0 and 200 <= status < 300:
            data = answer.get("data")
            if not isinstance(data, dict):
                raise CourierUnavailable(
                    f"{self._name}'s answer has no data (could not {doing})", courier=self._name
                )
            return data
        message = answer.get("message")
        said = message[:200] if isinstance(message, str) else "no message"
        text = f"{self._name} answered {code}: {said} (could not {doing})"
        if code == 0 or code >= 50000 or status in (408, 429):
            raise CourierUnavailable(
                text, courier=self._name, courier_code=code, http_status=status
            )
        raise CourierRefused(text, courier=self._name, courier_code=code, http_status=status)

    def _quoted(self, courier_ref: str) -> str:
        """The reference as one path segment."""
        if not courier_ref:
            raise CourierRefused(
                f"{self._name} finds a delivery only by its reference, and none was given",
                courier=self._name,
            )
        return quote(courier_ref, safe="")

    @contextmanager
    def _reading(self, doing: str) -> Iterator[None]:
        try:
            yield
        except _Unreadable as e:
            raise CourierUnavailable(
                f"{self._name}'s answer cannot be read: {e} (could not {doing})", courier=self._name
            ) from None


def _signature(secret: bytes, stamp: str, nonce: str, method: str, path: str, body: bytes) -> str:
    signed = f"{stamp}\n{nonce}\n{method}\n{path}\n".encode() + body
    return hmac.new(secret, signed, hashlib.sha256).hexdigest()


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _cst(at: dt.datetime) -> str:
    return at.astimezone(CHINA_STANDARD_TIME).isoformat()


def _delivery_body(request: CourierRequest) -> dict[str, Any]:
    location = request.location
    return {
        "client_order_id": request.order_id,
        "pickup": {"address": request.depot},
        "dropoff": {
            "address": request.address,
            "name": request.recipient,
            "phone": request.phone,
            "location": None
            if location is None
            else {"lat": location.latitude, "lng": location.longitude},
        },
        "window": {"start": _cst(request.window_start), "end": _cst(request.window_end)},
        "express": request.express,
        "cold_chain": request.cold_chain,
        "parcels": request.parcels,
    }


def _city_update(event: Mapping[str, Any], ref: str, order_id: OrderId) -> CourierUpdate:
    status = _text(event, "status")
    if status not in CITY_STATUSES:
        raise _Unreadable(f"the status {status[:40]!r} is not known")
    note = _optional_text(event, "note")
    if status == "CANCELLED":
        note = f"cancelled: {note}" if note else "cancelled"
    return _courier_update(
        ref,
        CITY_STATUSES[status],
        _time(event, "at"),
        note,
        _optional_text(event, "proof"),
        order_id,
    )


# ---------------------------------------------------------------- shared


def _courier_update(
    ref: str,
    status: DeliveryStatus,
    at: dt.datetime,
    note: str,
    proof: str,
    order_id: OrderId | None,
) -> CourierUpdate:
    if status is DeliveryStatus.FAILED and not note.strip():
        note = "the courier gave no reason"  # the domain wants one
    return CourierUpdate(ref, status, at, note, proof, order_id)


def _check_fresh(stamp: str, now: dt.datetime, courier: str) -> None:
    if not (stamp.isdigit() and len(stamp) <= 12):
        raise CourierCallbackInvalid(f"the callback from {courier} has no readable timestamp")
    signed_at = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
    if abs(now - signed_at) > STALE_AFTER:
        raise CourierCallbackInvalid(
            f"the callback from {courier} was signed at {signed_at.isoformat()}, "
            f"more than {STALE_AFTER.seconds // 60} minutes from now"
        )


def _read_callback(
    body: bytes,
    ref_key: str,
    order_key: str,
    read_event: Callable[[Mapping[str, Any], str, OrderId], CourierUpdate],
) -> CourierUpdate:
    """Read a verified callback's body: ``ref_key``, ``order_key`` and the event."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise _Unreadable("it is not JSON") from None
    data = _object(data)
    return read_event(data, _text(data, ref_key), OrderId(_text(data, order_key)))


def _sandbox_update(event: Mapping[str, Any], ref: str, order_id: OrderId) -> CourierUpdate:
    status = _text(event, "status")
    try:
        known = DeliveryStatus(status)
    except ValueError:
        raise _Unreadable(f"the status {status[:40]!r} is not known") from None
    note, proof = _optional_text(event, "note"), _optional_text(event, "proof")
    return _courier_update(ref, known, _time(event, "at"), note, proof, order_id)


def _object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Unreadable("it is not a JSON object")
    return value


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Unreadable(f"{key} is not a text")
    return value


def _optional_text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Unreadable(f"{key} is not a text")
    return value


def _whole(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if type(value) is not int or value < 0:
        raise _Unreadable(f"{key} is not a whole number of fen")
    return value


def _time(obj: Mapping[str, Any], key: str) -> dt.datetime:
    text = _text(obj, key)
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _Unreadable(f"{key} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise _Unreadable(f"{key} has no time zone")
    return at.astimezone(dt.UTC)


def _ref(data: Mapping[str, Any]) -> str:
    ref = _text(data, "order_ref")
    if len(ref) > 64 or not ref.isprintable():
        raise _Unreadable("order_ref is not a reference")
    return ref


# ---------------------------------------------------------------- retries


class RetryingCourier:
    """A courier whose calls are sent again while it raises :class:`CourierUnavailable`:
    at most ``attempts`` times in all, pausing ``backoff[i]`` seconds before the
    ``i+1``-th retry (the last pause repeats). :class:`CourierRefused` and every other
    error pass at once. Every call of the port is idempotent, so a call the partner did
    act on, whose answer was lost, is safe to send again. :meth:`parse_callback` is
    never retried. The last failure is raised with ``details["attempts"]``."""

    def __init__(
        self,
        courier: Courier,
        attempts: int = 3,
        backoff: Sequence[float] = (0.2, 0.5, 1.0),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("a courier is tried at least once")
        self._courier, self._attempts = courier, attempts
        self._backoff, self._sleep = tuple(backoff) or (0.0,), sleep

    @property
    def name(self) -> str:
        return self._courier.name

    @property
    def wrapped(self) -> Courier:
        """The courier this one retries."""
        return self._courier

    def quote(self, request: CourierRequest) -> CourierQuote:
        return self._retried(lambda: self._courier.quote(request))

    def dispatch(self, request: CourierRequest) -> str:
        return self._retried(lambda: self._courier.dispatch(request))

    def cancel(self, courier_ref: str) -> None:
        self._retried(lambda: self._courier.cancel(courier_ref))

    def track(self, courier_ref: str) -> list[CourierUpdate]:
        return self._retried(lambda: self._courier.track(courier_ref))

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> CourierUpdate:
        return self._courier.parse_callback(headers, body)

    def _retried(self, call: Callable[[], T]) -> T:
        for attempt in range(1, self._attempts):
            try:
                return call()
            except CourierUnavailable as e:
                pause = self._backoff[min(attempt, len(self._backoff)) - 1]
                log.warning(
                    "courier %s unavailable (attempt %d of %d, again in %g s): %s",
                    self.name,
                    attempt,
                    self._attempts,
                    pause,
                    e,
                )
                self._sleep(pause)
        try:
            return call()
        except CourierUnavailable as e:
            if self._attempts == 1:
                raise
            raise CourierUnavailable(
                f"{e.message} (gave up after {self._attempts} attempts)",
                **{**e.details, "attempts": self._attempts},
            ) from e
