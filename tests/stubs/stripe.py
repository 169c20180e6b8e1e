"""A stand-in for Stripe: PaymentIntents, refunds and balance transactions as the
``stripe`` SDK calls them (form-encoded bodies with bracketed keys, a Bearer key, an
``Idempotency-Key``, ``expand[]``, cursor pages), Stripe's error bodies, and webhook
events signed as Stripe signs them (``Stripe-Signature: t=…,v1=…``)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from tests.stubs import Reply, Request

__all__ = ["API_VERSION", "StripeError", "StripeStub"]

API_VERSION = "2026-10-28.endive"  # the version stripe 16.1.0 pins

_INTENT_PARAMS = frozenset(
    {
        "amount",
        "currency",
        "allowed_payment_method_types",
        "description",
        "metadata",
        "capture_method",
        "statement_descriptor_suffix",
        "expand",
    }
)
_REFUND_PARAMS = frozenset({"payment_intent", "charge", "amount", "metadata", "reason", "expand"})
_CANCEL_PARAMS = frozenset({"cancellation_reason", "expand"})
_CANCELABLE = frozenset(
    {
        "requires_payment_method",
        "requires_capture",
        "requires_confirmation",
        "requires_action",
        "processing",
    }
)
_PAYABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
_KEY = re.compile(r"(?P<name>[^\[\]]+)(?P<subscripts>(?:\[[^\[\]]*\])*)")


class StripeError(Exception):
    """An answer in Stripe's error format: ``{"error": {"type", "code", "message"}}``."""

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.type, self.message = status, type, message
        self.code, self.param = code, param

    def reply(self) -> Reply:
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return _json_reply(self.status, {"error": error})


class StripeStub:
    """Stripe's side of the account whose ``api_key`` the adapter holds; webhook events
    are signed with ``webhook_secret``. ``page_size`` caps list pages (Stripe's cap is
    100) so tests can make the SDK page."""

    def __init__(self, api_key: str, webhook_secret: str) -> None:
        self._api_key = api_key
        self._webhook_secret = webhook_secret
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._idempotent: dict[str, tuple[str, dict[str, Any], Reply]] = {}
        self._refusals: list[tuple[str, StripeError]] = []
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.balance_transactions: list[dict[str, Any]] = []
        self.page_size = 100

    # The HTTP API

    def handle(self, request: Request) -> Reply:
        try:
            self._authenticate(request)
            with self._lock:
                refusal = self._take_refusal(request.path)
                if refusal is not None:
                    raise refusal
                if request.method == "POST":
                    return self._post(request)
                return self._get(request)
        except StripeError as error:
            return error.reply()

    def _authenticate(self, request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not key:
            raise StripeError(
                401,
                "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth.",
            )
        if not hmac.compare_digest(key.encode(), self._api_key.encode()):
            raise StripeError(
                401, "invalid_request_error", f"Invalid API Key provided: {_masked(key)}"
            )

    def _post(self, request: Request) -> Reply:
        path = urlsplit(request.path).path
        params = _unflatten(parse_qsl(request.body.decode(), keep_blank_values=True))
        key = request.headers.get("idempotency-key")
        if key in self._idempotent:
            return self._replay(key, path, params)
        reply = self._route_post(path, params)
        if key is not None and 200 <= reply.status < 300:
            self._idempotent[key] = (path, params, reply)
        return reply

    def _replay(self, key: str, path: str, params: dict[str, Any]) -> Reply:
        first_path, first_params, reply = self._idempotent[key]
        if (first_path, first_params) != (path, params):
            raise StripeError(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
            )
        return attrs.evolve(reply, headers={**reply.headers, "Idempotent-Replayed": "true"})

    def _route_post(self, path: str, params: dict[str, Any]) -> Reply:
        parts = path.strip("/").split("/")
        match parts:
            case ["v1", "payment_intents"]:
                return self._answer(self._create_intent(params), params)
            case ["v1", "payment_intents", intent_id, "cancel"]:
                return self._answer(self._cancel_intent(intent_id, params), params)
            case ["v1", "refunds"]:
                return self._answer(self._create_refund(params), params)
        raise _unknown_url(path)

    def _get(self, request: Request) -> Reply:
        url = urlsplit(request.path)
        params = _unflatten(parse_qsl(url.query, keep_blank_values=True))
        match url.path.strip("/").split("/"):
            case ["v1", "payment_intents", intent_id]:
                return self._answer(self._found(self.intents, intent_id, "payment_intent"), params)
            case ["v1", "refunds", refund_id]:
                return self._answer(self._found(self.refunds, refund_id, "refund"), params)
            case ["v1", "balance_transactions"]:
                return self._answer(self._balance_page(params), params)
        raise _unknown_url(url.path)

    def _answer(self, obj: dict[str, Any], params: dict[str, Any]) -> Reply:
        expanded: Any = obj
        for path in params.get("expand", []):
            expanded = self._expand(expanded, path.split("."))
        return _json_reply(200, expanded)

    def _expand(self, value: Any, path: Sequence[str]) -> Any:
        if not path:
            return value
        if isinstance(value, list):
            return [self._expand(item, path) for item in value]
        if not isinstance(value, dict) or path[0] not in value:
            return value
        field = value[path[0]]
        if isinstance(field, str):
            field = self._by_id(field) or field
        return {**value, path[0]: self._expand(field, path[1:])}

    def _by_id(self, object_id: str) -> dict[str, Any] | None:
        for objects in (self.intents, self.charges, self.refunds):
            if object_id in objects:
                return objects[object_id]
        return None

    @staticmethod
    def _found(objects: dict[str, dict[str, Any]], object_id: str, kind: str) -> dict[str, Any]:
        if object_id not in objects:
            raise StripeError(
                404, "invalid_request_error", f"No such {kind}: '{object_id}'", "resource_missing"
            )
        return objects[object_id]

    def _create_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        _refuse_unknown(params, _INTENT_PARAMS)
        amount = _positive(params, "amount")
        currency = params.get("currency")
        if currency != "cny":
            raise StripeError(
                400,
                "invalid_request_error",
                f"Invalid currency: {currency}. This account takes cny here.",
                "parameter_invalid_string",
                "currency",
            )
        intent_id = self._new_id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "allowed_payment_method_types": params.get("allowed_payment_method_types"),
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": params.get("capture_method", "automatic_async"),
            "client_secret": f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency,
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": params.get("metadata", {}),
            "next_action": None,
            "payment_method": None,
            "payment_method_types": params.get("allowed_payment_method_types", ["card"]),
            "status": "requires_payment_method",
        }
        self.intents[intent_id] = intent
        return intent

    def _cancel_intent(self, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
        _refuse_unknown(params, _CANCEL_PARAMS)
        intent = self._found(self.intents, intent_id, "payment_intent")
        if intent["status"] not in _CANCELABLE:
            raise StripeError(
                400,
                "invalid_request_error",
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                "may be canceled: " + ", ".join(sorted(_CANCELABLE)) + ".",
                "payment_intent_unexpected_state",
            )
        intent.update(
            status="canceled",
            canceled_at=int(time.time()),
            cancellation_reason=params.get("cancellation_reason"),
            amount_capturable=0,
        )
        return intent

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        _refuse_unknown(params, _REFUND_PARAMS)
        intent_id = params.get("payment_intent")
        if not isinstance(intent_id, str):
            raise StripeError(
                400,
                "invalid_request_error",
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                "parameter_missing",
            )
        intent = self._found(self.intents, intent_id, "payment_intent")
        if intent["status"] != "succeeded":
            raise StripeError(
                400,
                "invalid_request_error",
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                "charge_not_refundable",
            )
        charge = self.charges[intent["latest_charge"]]
        left = charge["amount"] - charge["amount_refunded"]
        amount = _positive(params, "amount") if "amount" in params else left
        if amount > left:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Refund amount (¥{_yuan(amount)}) is greater than unrefunded amount on "
                f"charge (¥{_yuan(left)})",
                "amount_too_large",
                "amount",
            )
        refund_id = self._new_id("re")
        now = int(time.time())
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": self._book(-amount, "refund", refund_id, now),
            "charge": charge["id"],
            "created": now,
            "currency": "cny",
            "metadata": params.get("metadata", {}),
            "payment_intent": intent_id,
            "reason": params.get("reason"),
            "status": "pending",
        }
        self.refunds[refund_id] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        return refund

    def _balance_page(self, params: dict[str, Any]) -> dict[str, Any]:
        created = params.get("created", {})
        rows = [t for t in self.balance_transactions if _within(t["created"], created)]
        rows.sort(key=lambda t: t["created"], reverse=True)  # newest first, as Stripe lists
        after = params.get("starting_after")
        if after is not None:
            ids = [t["id"] for t in rows]
            rows = rows[ids.index(after) + 1 :] if after in ids else []
        limit = min(int(params.get("limit", 10)), self.page_size)
        return {
            "object": "list",
            "data": rows[:limit],
            "has_more": len(rows) > limit,
            "url": "/v1/balance_transactions",
        }

    def _book(self, amount: int, kind: str, source: str, created: int) -> str:
        transaction_id = self._new_id("txn")
        self.balance_transactions.append(
            {
                "id": transaction_id,
                "object": "balance_transaction",
                "amount": amount,
                "available_on": created + 7 * 86400,
                "created": created,
                "currency": "cny",
                "description": None,
                "fee": 0,
                "fee_details": [],
                "net": amount,
                "reporting_category": kind,
                "source": source,
                "status": "pending",
                "type": kind,
            }
        )
        return transaction_id

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}{secrets.token_hex(8)}"

    def _take_refusal(self, path: str) -> StripeError | None:
        for prefix, error in self._refusals:
            if path.startswith(prefix):
                self._refusals.remove((prefix, error))
                return error
        return None

    # What the payer, the card network and the test do

    def refuse_next(self, path_prefix: str, error: StripeError) -> None:
        """Answer the next request under ``path_prefix`` with ``error``."""
        with self._lock:
            self._refusals.append((path_prefix, error))

    def intents_of(self, payment_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                i for i in self.intents.values() if i["metadata"].get("payment_id") == payment_id
            ]

    def refunds_of(self, refund_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.refunds.values() if r["metadata"].get("refund_id") == refund_id]

    def pay(
        self, payment_id: str, *, at: float | None = None, account: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The payer confirms with a card that works; returns the
        ``payment_intent.succeeded`` webhook. ``at`` is when (seconds since the epoch),
        ``account`` a connected account the event names."""
        moment = int(time.time() if at is None else at)
        with self._lock:
            intent = self._payable(payment_id)
            charge = self._charge(intent, "succeeded", moment)
            charge["balance_transaction"] = self._book(
                intent["amount"], "charge", charge["id"], moment
            )
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                latest_charge=charge["id"],
                payment_method=charge["payment_method"],
                last_payment_error=None,
            )
            return self._event("payment_intent.succeeded", intent, moment, account=account)

    def fail(self, payment_id: str, *, at: float | None = None) -> tuple[bytes, dict[str, str]]:
        """The payer's card is declined; returns ``payment_intent.payment_failed``."""
        moment = int(time.time() if at is None else at)
        with self._lock:
            intent = self._payable(payment_id)
            charge = self._charge(intent, "failed", moment)
            intent.update(
                status="requires_payment_method",
                latest_charge=charge["id"],
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.",
                    "charge": charge["id"],
                },
            )
            return self._event("payment_intent.payment_failed", intent, moment)

    def hold(self, payment_id: str) -> tuple[bytes, dict[str, str]]:
        """The card's issuer holds the amount for a manual capture; returns
        ``payment_intent.amount_capturable_updated``."""
        moment = int(time.time())
        with self._lock:
            intent = self._payable(payment_id)
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
            return self._event("payment_intent.amount_capturable_updated", intent, moment)

    def refund_notification(
        self, refund_id: str, *, at: float | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The money is back on the card; returns the ``refund.updated`` webhook."""
        moment = int(time.time() if at is None else at)
        with self._lock:
            refund = next(
                r for r in self.refunds.values() if r["metadata"].get("refund_id") == refund_id
            )
            refund["status"] = "succeeded"
            return self._event("refund.updated", refund, moment, previous={"status": "pending"})

    def dashboard_refund(self, payment_id: str, amount: int) -> tuple[bytes, dict[str, str]]:
        """Someone refunds in the Stripe dashboard: no metadata of ours; returns the
        ``refund.created`` webhook."""
        with self._lock:
            intent = next(
                i for i in self.intents.values() if i["metadata"].get("payment_id") == payment_id
            )
            refund = self._create_refund({"payment_intent": intent["id"], "amount": str(amount)})
            refund["status"] = "succeeded"
            return self._event("refund.created", refund, int(time.time()))

    def sign(
        self, body: bytes, *, at: float | None = None, secret: str | None = None
    ) -> dict[str, str]:
        """The headers Stripe sends with ``body``, signed at ``at`` with the endpoint's
        secret (or another)."""
        timestamp = int(time.time() if at is None else at)
        signed = f"{timestamp}.".encode() + body
        mac = hmac.new((secret or self._webhook_secret).encode(), signed, hashlib.sha256)
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": f"t={timestamp},v1={mac.hexdigest()}",
        }

    def _payable(self, payment_id: str) -> dict[str, Any]:
        intent = next(
            i for i in self.intents.values() if i["metadata"].get("payment_id") == payment_id
        )
        if intent["status"] not in _PAYABLE:
            raise ValueError(f"{intent['id']} is {intent['status']}: it cannot be paid")
        return intent

    def _charge(self, intent: dict[str, Any], status: str, moment: int) -> dict[str, Any]:
        charge_id = self._new_id("ch")
        paid = status == "succeeded"
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"] if paid else 0,
            "amount_refunded": 0,
            "balance_transaction": None,
            "captured": paid,
            "created": moment,
            "currency": intent["currency"],
            "metadata": {},
            "paid": paid,
            "payment_intent": intent["id"],
            "payment_method": self._new_id("pm"),
            "payment_method_details": {"type": "card", "card": {"brand": "unionpay"}},
            "refunded": False,
            "status": status,
        }
        self.charges[charge_id] = charge
        return charge

    def _event(
        self,
        kind: str,
        obj: dict[str, Any],
        moment: int,
        *,
        account: str | None = None,
        previous: dict[str, Any] | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        event: dict[str, Any] = {
            "id": self._new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": moment,
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
        if account is not None:
            event["account"] = account
        body = json.dumps(event, indent=2).encode()
        return body, self.sign(body, at=moment)


def _json_reply(status: int, payload: Any) -> Reply:
    return Reply(
        status,
        json.dumps(payload, indent=2).encode(),
        {"Content-Type": "application/json", "Request-Id": f"req_{secrets.token_hex(7)}"},
    )


def _unknown_url(path: str) -> StripeError:
    return StripeError(
        404, "invalid_request_error", f"Unrecognized request URL (POST/GET: {path}).", None
    )


def _unflatten(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``metadata[payment_id]=x&allowed_payment_method_types[0]=card`` as nested values."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.fullmatch(key)
        if match is None:
            raise StripeError(400, "invalid_request_error", f"Invalid parameter: {key}")
        names = [match["name"], *re.findall(r"\[([^\[\]]*)\]", match["subscripts"])]
        node = root
        for name in names[:-1]:
            node = node.setdefault(name, {})
        node[names[-1]] = value
    return {k: _lists(v) for k, v in root.items()}


def _lists(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if value and all(k.isdigit() for k in value):
        return [_lists(value[k]) for k in sorted(value, key=int)]
    return {k: _lists(v) for k, v in value.items()}


def _refuse_unknown(params: dict[str, Any], known: frozenset[str]) -> None:
    for name in params:
        if name not in known:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Received unknown parameter: {name}",
                "parameter_unknown",
                name,
            )


def _positive(params: dict[str, Any], name: str) -> int:
    text = params.get(name)
    if text is None:
        raise StripeError(
            400, "invalid_request_error", f"Missing required param: {name}.", "parameter_missing"
        )
    if not isinstance(text, str) or not text.isdigit() or int(text) < 1:
        raise StripeError(
            400,
            "invalid_request_error",
            "This value must be greater than or equal to 1.",
            "parameter_invalid_integer",
            name,
        )
    return int(text)


def _within(created: int, bounds: dict[str, str]) -> bool:
    checks = {
        "gt": lambda b: created > b,
        "gte": lambda b: created >= b,
        "lt": lambda b: created < b,
        "lte": lambda b: created <= b,
    }
    return all(checks[name](int(bound)) for name, bound in bounds.items() if name in checks)


def _masked(key: str) -> str:
    prefix = key.rsplit("_", 1)[0] + "_" if "_" in key else ""
    return f"{prefix}{'*' * 12}{key[-4:]}"


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"
