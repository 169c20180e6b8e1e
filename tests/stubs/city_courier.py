"""A stand-in for the City same-city courier (同城配送), speaking the protocol documented in
``shequ.adapters.couriers``: it checks every request's ``X-App-Id``, ``X-Timestamp``
(within 5 minutes), ``X-Nonce`` (never seen before) and ``X-Signature``; keeps orders,
one per ``client_order_id``; plays the rider (:meth:`CityCourierStub.advance`); and signs
status callbacks, returned as ``(body, headers)`` or sent to a URL.

Told to, it fails the next matching requests: it times out (does the work, then answers
late, as a partner whose answer is lost), answers an HTTP status such as 500, answers
garbage, or refuses with a business code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs
import httpx

from tests.stubs import Reply, Request

__all__ = ["CST", "CityCourierStub", "StubOrder", "sign"]

CST = dt.timezone(dt.timedelta(hours=8), "CST")
STALE_AFTER = dt.timedelta(minutes=5)
CANCELLABLE = frozenset({"ACCEPTED", "RIDER_ASSIGNED"})

Callback = tuple[bytes, dict[str, str]]


class _Refused(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def reply(self) -> Reply:
        return _json_reply(self.status, {"code": self.code, "message": self.message})


@attrs.define
class StubOrder:
    ref: str
    client_order_id: str
    delivery: dict[str, Any]
    fee_fen: int
    status: str = "ACCEPTED"
    events: list[dict[str, str]] = attrs.Factory(list)


@attrs.frozen
class _Fault:
    path_prefix: str
    kind: str  # "timeout", "status", "garbage" or "refuse"
    status: int = 500
    code: int = 0
    message: str = ""
    delay: float = 1.0
    body: bytes = b""


class CityCourierStub:
    """The partner's side of the account ``app_id``/``app_secret``. ``now`` is the
    partner's clock (the system's by default); ``callback_path`` the path of the callback
    URL registered with it."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        now: Callable[[], dt.datetime] | None = None,
        callback_path: str = "/v1/couriers/city/callback",
    ) -> None:
        self._app_id, self._secret = app_id, app_secret.encode()
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.callback_path = callback_path
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._nonces: set[str] = set()
        self._faults: list[_Fault] = []
        self.orders: dict[str, StubOrder] = {}

    # ---------------------------------------------------------------- faults

    def time_out_next(self, path_prefix: str = "/", *, delay: float = 1.0, times: int = 1) -> None:
        """Do the work of the next requests, then answer after ``delay`` seconds."""
        self._add(_Fault(path_prefix, "timeout", delay=delay), times)

    def fail_next(self, path_prefix: str = "/", *, status: int = 500, times: int = 1) -> None:
        """Answer the next requests with HTTP ``status`` and the partner's error body."""
        self._add(_Fault(path_prefix, "status", status=status), times)

    def garble_next(
        self,
        path_prefix: str = "/",
        *,
        body: bytes = b"<html><body>502 Bad Gateway</body></html>",
        status: int = 200,
        times: int = 1,
    ) -> None:
        """Answer the next requests with ``body``, whatever they asked."""
        self._add(_Fault(path_prefix, "garbage", status=status, body=body), times)

    def refuse_next(
        self,
        path_prefix: str = "/",
        *,
        code: int = 42201,
        message: str = "收货地址超出配送范围",
        status: int = 422,
        times: int = 1,
    ) -> None:
        """Refuse the next requests with a business ``code``."""
        self._add(_Fault(path_prefix, "refuse", status=status, code=code, message=message), times)

    def recover(self) -> None:
        """Forget the faults not yet played."""
        with self._lock:
            self._faults.clear()

    def _add(self, fault: _Fault, times: int) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            fault = next((f for f in self._faults if path.startswith(f.path_prefix)), None)
            if fault is not None:
                self._faults.remove(fault)
            return fault

    # ---------------------------------------------------------------- the HTTP API

    def handle(self, request: Request) -> Reply:
        try:
            self._authenticate(request)
            fault = self._take_fault(request.path)
            if fault is not None and fault.kind != "timeout":
                return _faulty(fault)
            reply = self._route(request)
            if fault is not None:
                time.sleep(fault.delay)
            return reply
        except _Refused as refused:
            return refused.reply()

    def _authenticate(self, request: Request) -> None:
        headers = request.headers
        if headers.get("x-app-id") != self._app_id:
            raise _Refused(401, 40100, "app id 不存在")
        stamp, nonce = headers.get("x-timestamp", ""), headers.get("x-nonce", "")
        if not stamp.isdigit() or not nonce:
            raise _Refused(401, 40100, "缺少时间戳或随机串")
        signed_at = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
        if abs(self.now() - signed_at) > STALE_AFTER:
            raise _Refused(401, 40100, "时间戳已过期")
        wanted = sign(self._secret, stamp, nonce, request.method, request.path, request.body)
        if not hmac.compare_digest(headers.get("x-signature", "").encode(), wanted.encode()):
            raise _Refused(401, 40100, "签名错误")
        with self._lock:
            if nonce in self._nonces:
                raise _Refused(401, 40100, "随机串已使用")
            self._nonces.add(nonce)

    def _route(self, request: Request) -> Reply:
        url = urlsplit(request.path)
        match (request.method, url.path.strip("/").split("/")):
            case ("POST", ["v1", "quotes"]):
                return _ok(self._quote(_body(request)))
            case ("POST", ["v1", "orders"]):
                return _ok(self._create(_body(request)))
            case ("POST", ["v1", "orders", ref, "cancel"]):
                return _ok(self._cancel(unquote(ref), _body(request)))
            case ("GET", ["v1", "orders", ref, "events"]):
                return _ok(self._events(unquote(ref)))
        raise _Refused(404, 40400, f"no such API: {request.method} {url.path}")

    def _quote(self, delivery: dict[str, Any]) -> dict[str, Any]:
        fee, eta = self._price(delivery)
        return {"fee_fen": fee, "eta": eta.isoformat()}

    def _price(self, delivery: dict[str, Any]) -> tuple[int, dt.datetime]:
        _check_delivery(delivery)
        fee = 800 + 600 * delivery["express"] + 300 * delivery["cold_chain"]
        fee += 200 * (delivery["parcels"] - 1)
        start = dt.datetime.fromisoformat(delivery["window"]["start"])
        end = dt.datetime.fromisoformat(delivery["window"]["end"])
        if delivery["express"]:
            return fee, min(end, max(start, self.now()) + dt.timedelta(minutes=40)).astimezone(CST)
        return fee, end.astimezone(CST)

    def _create(self, delivery: dict[str, Any]) -> dict[str, Any]:
        fee, _ = self._price(delivery)
        with self._lock:
            order = self.order_of(delivery["client_order_id"])
            if order is None:
                ref = f"CC{next(self._ids):04d}{secrets.token_hex(4).upper()}"
                order = StubOrder(ref, delivery["client_order_id"], delivery, fee)
                order.events.append(self._event("ACCEPTED"))
                self.orders[ref] = order
        return {
            "order_ref": order.ref,
            "client_order_id": order.client_order_id,
            "status": order.status,
        }

    def _cancel(self, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            order = self._order(ref)
            if order.status != "CANCELLED":
                if order.status not in CANCELLABLE:
                    raise _Refused(409, 40900, f"订单状态为 {order.status}，不能取消")
                order.status = "CANCELLED"
                order.events.append(self._event("CANCELLED", note=str(body.get("reason") or "")))
        return {"order_ref": ref, "status": "CANCELLED"}

    def _events(self, ref: str) -> dict[str, Any]:
        with self._lock:
            order = self._order(ref)
            return {
                "order_ref": ref,
                "client_order_id": order.client_order_id,
                "events": list(order.events),
            }

    def _order(self, ref: str) -> StubOrder:
        if ref not in self.orders:
            raise _Refused(404, 40400, f"订单 {ref} 不存在")
        return self.orders[ref]

    def _event(
        self, status: str, note: str = "", proof: str = "", at: dt.datetime | None = None
    ) -> dict[str, str]:
        moment = (at or self.now()).astimezone(CST)
        return {"status": status, "at": moment.isoformat(), "note": note, "proof": proof}

    # ---------------------------------------------------------------- the rider and the test

    def order_of(self, client_order_id: str) -> StubOrder | None:
        return next((o for o in self.orders.values() if o.client_order_id == client_order_id), None)

    def orders_for(self, client_order_id: str) -> int:
        return sum(o.client_order_id == client_order_id for o in self.orders.values())

    def advance(
        self,
        ref: str,
        status: str,
        note: str = "",
        proof: str = "",
        at: dt.datetime | None = None,
    ) -> dict[str, str]:
        """The rider reports ``status`` (a partner status, ``CANCELLED`` included)."""
        with self._lock:
            order = self.orders[ref]
            event = self._event(status, note, proof, at)
            order.status = status
            order.events.append(event)
            return event

    def callback(
        self,
        ref: str,
        *,
        event: dict[str, str] | None = None,
        path: str | None = None,
        signed_at: dt.datetime | None = None,
        secret: str | None = None,
        app_id: str | None = None,
    ) -> Callback:
        """The signed callback of the order's last event (or of ``event``), as
        ``(body, headers)``; ``signed_at``, ``secret`` and ``app_id`` forge one."""
        order = self.orders[ref]
        event = event or order.events[-1]
        payload = {"order_ref": ref, "client_order_id": order.client_order_id, **event}
        body = json.dumps(payload, ensure_ascii=False).encode()
        return body, self.sign(body, path=path, signed_at=signed_at, secret=secret, app_id=app_id)

    def sign(
        self,
        body: bytes,
        *,
        path: str | None = None,
        signed_at: dt.datetime | None = None,
        secret: str | None = None,
        app_id: str | None = None,
    ) -> dict[str, str]:
        """The headers the partner sends a callback of ``body`` with."""
        stamp = str(int((signed_at or self.now()).timestamp()))
        nonce = secrets.token_hex(16)
        key = self._secret if secret is None else secret.encode()
        return {
            "Content-Type": "application/json; charset=utf-8",
            "X-App-Id": app_id or self._app_id,
            "X-Timestamp": stamp,
            "X-Nonce": nonce,
            "X-Signature": sign(key, stamp, nonce, "POST", path or self.callback_path, body),
        }

    def send_callback(self, url: str, ref: str, **forge: Any) -> httpx.Response:
        """POST the callback of the order's last event to ``url``, signed over its path."""
        target = urlsplit(url)
        path = target.path + (f"?{target.query}" if target.query else "")
        body, headers = self.callback(ref, path=path, **forge)
        return httpx.post(url, content=body, headers=headers, timeout=5.0)


def sign(secret: bytes, stamp: str, nonce: str, method: str, path: str, body: bytes) -> str:
    signed = "\n".join((stamp, nonce, method, path)).encode() + b"\n" + body
    return hmac.new(secret, signed, hashlib.sha256).hexdigest()


def _faulty(fault: _Fault) -> Reply:
    if fault.kind == "garbage":
        return Reply(fault.status, fault.body, {"Content-Type": "text/html"})
    if fault.kind == "refuse":
        return _json_reply(fault.status, {"code": fault.code, "message": fault.message})
    return _json_reply(fault.status, {"code": 50000, "message": "系统繁忙，请稍后重试"})


def _ok(data: dict[str, Any]) -> Reply:
    return _json_reply(200, {"code": 0, "message": "ok", "data": data})


def _json_reply(status: int, payload: dict[str, Any]) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Reply(status, body, {"Content-Type": "application/json; charset=utf-8"})


def _body(request: Request) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise _Refused(400, 40001, "Content-Type 须为 application/json")
    try:
        body = json.loads(request.body)
    except ValueError:
        raise _Refused(400, 40001, "请求体不是 JSON") from None
    if not isinstance(body, dict):
        raise _Refused(400, 40001, "请求体须为 JSON 对象")
    return body


def _check_delivery(delivery: dict[str, Any]) -> None:
    def bad(field: str) -> _Refused:
        return _Refused(400, 40001, f"参数错误: {field}")

    client_order_id = delivery.get("client_order_id")
    if not isinstance(client_order_id, str) or not 0 < len(client_order_id) <= 64:
        raise bad("client_order_id")
    pickup, dropoff = delivery.get("pickup"), delivery.get("dropoff")
    if not isinstance(pickup, dict) or not isinstance(pickup.get("address"), str):
        raise bad("pickup.address")
    if not isinstance(dropoff, dict):
        raise bad("dropoff")
    for field in ("address", "name", "phone"):
        if not isinstance(dropoff.get(field), str) or not dropoff[field]:
            raise bad(f"dropoff.{field}")
    location = dropoff.get("location")
    if location is not None and not (
        isinstance(location, dict) and {"lat", "lng"} <= location.keys()
    ):
        raise bad("dropoff.location")
    window = delivery.get("window")
    try:
        start = dt.datetime.fromisoformat(window["start"])  # type: ignore[index]
        end = dt.datetime.fromisoformat(window["end"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        raise bad("window") from None
    if start.tzinfo is None or end <= start:
        raise bad("window")
    for field in ("express", "cold_chain"):
        if type(delivery.get(field)) is not bool:
            raise bad(field)
    parcels = delivery.get("parcels")
    if type(parcels) is not int or not 1 <= parcels <= 20:
        raise bad("parcels")
