"""Bank cards (UnionPay, Visa, Mastercard) through Stripe, with Stripe's own SDK.

A payment is a PaymentIntent in CNY (a two-decimal currency at Stripe, so amounts are
fen) whose metadata carries our payment and order ids; the payer's page confirms it with
the ``client_secret``. Refunds carry our refund number in their metadata. The webhook
endpoint should send ``payment_intent.*`` and ``refund.*`` events: other events are
refused as unreadable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import attrs
import stripe

from shequ.application.ports import (
    BillEntry,
    BillEntryKind,
    PaymentIntent,
    PaymentNotification,
    PaymentRequest,
    ProviderPayment,
    ProviderRefund,
)
from shequ.domain.errors import PaymentNotificationInvalid, PaymentRefused, PaymentUnavailable
from shequ.domain.ids import PaymentId
from shequ.domain.money import Money
from shequ.domain.payments import Channel, PaymentState, RefundState
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = ["StripeConfig", "StripeGateway"]


_PAYMENT_STATES = {
    "requires_payment_method": PaymentState.PENDING,
    "requires_confirmation": PaymentState.PENDING,
    "requires_action": PaymentState.PENDING,
    "processing": PaymentState.PENDING,
    "requires_capture": PaymentState.AUTHORISED,
    "succeeded": PaymentState.SUCCEEDED,
    "canceled": PaymentState.CLOSED,
}
_REFUND_STATES = {
    "pending": RefundState.PENDING,
    "requires_action": RefundState.PENDING,
    "succeeded": RefundState.SUCCEEDED,
    "failed": RefundState.FAILED,
    "canceled": RefundState.FAILED,
}
_REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed"})
_OLD_REFUND_EVENTS = frozenset({"charge.refund.updated"})
_BILL_KINDS = {
    "charge": BillEntryKind.PAYMENT,
    "payment": BillEntryKind.PAYMENT,
    "refund": BillEntryKind.REFUND,
    "payment_refund": BillEntryKind.REFUND,
}


@attrs.frozen
class StripeConfig:
    api_key: str = attrs.field(repr=False)  # a secret (sk_…) or restricted (rk_…) key
    webhook_secret: str = attrs.field(repr=False)  # the endpoint's signing secret, whsec_…
    base_url: str = "https://api.stripe.com"
    timeout: float = 10.0
    # The SDK retries timeouts, connection errors, 409 and 5xx, backing off from 0.5 s;
    # creating requests carry idempotency keys, so a retry never pays or refunds twice.
    max_network_retries: int = 0


class StripeGateway:
    """Card payments through Stripe; ``provider_ref`` is the PaymentIntent's ``pi_…``
    id (and a refund's ``re_…`` id), which Stripe needs to find either again."""

    def __init__(self, config: StripeConfig) -> None:
        self._webhook_secret = config.webhook_secret
        # The one place the API's address is chosen: Stripe's, or a stand-in's in tests.
        self._client = stripe.StripeClient(
            config.api_key,
            base_addresses={"api": config.base_url},
            http_client=stripe.RequestsClient(timeout=config.timeout),
            max_network_retries=config.max_network_retries,
        )

    @property
    def provider(self) -> str:
        return "stripe"

    @property
    def channels(self) -> frozenset[Channel]:
        return frozenset({Channel.CARD})

    @property
    def merchant_id(self) -> str | None:
        # An account's own events name no account; only Connect events name one.
        return None

    def create(self, request: PaymentRequest) -> PaymentIntent:
        if request.channel is not Channel.CARD:
            raise PaymentRefused(f"Stripe takes bank cards here, not {request.channel}")
        with _calling(f"create payment {request.payment_id}"):
            intent = self._client.v1.payment_intents.create(
                {
                    "amount": request.amount.fen,
                    "currency": "cny",
                    "allowed_payment_method_types": ["card"],
                    "description": request.description,
                    "metadata": {"payment_id": request.payment_id, "order_id": request.order_id},
                },
                # Stripe's idempotency keys span every endpoint: a prefix keeps a payment
                # and a refund that share an id apart.
                {"idempotency_key": f"payment-{request.payment_id}"},
            ).to_dict()
            return PaymentIntent(
                payment_id=request.payment_id,
                provider=self.provider,
                channel=Channel.CARD,
                amount=request.amount,
                params={"client_secret": _text(intent, "client_secret")},
                provider_ref=_text(intent, "id"),
            )

    def query(self, payment_id: PaymentId, provider_ref: str | None = None) -> ProviderPayment:
        intent_id = _required(provider_ref, f"payment {payment_id}")
        with _calling(f"read payment {payment_id}"):
            intent = self._client.v1.payment_intents.retrieve(
                intent_id, {"expand": ["latest_charge"]}
            ).to_dict()
            payment = _payment_of(intent, at=_settled_at(intent))
        if payment.payment_id != payment_id:
            raise PaymentRefused(f"Stripe's {intent_id} is payment {payment.payment_id}, not ours")
        return payment

    def close(self, payment_id: PaymentId, provider_ref: str | None = None) -> None:
        intent_id = _required(provider_ref, f"payment {payment_id}")
        with _calling(f"close payment {payment_id}"):
            try:
                self._client.v1.payment_intents.cancel(intent_id)
            except stripe.InvalidRequestError as e:
                # Stripe refuses to cancel a cancelled PaymentIntent as it does a paid one.
                if e.code != "payment_intent_unexpected_state":
                    raise
                if self.query(payment_id, intent_id).state is not PaymentState.CLOSED:
                    raise

    def refund(
        self,
        payment_id: PaymentId,
        refund_id: str,
        amount: Money,
        total: Money,
        provider_ref: str | None = None,
    ) -> ProviderRefund:
        intent_id = _required(provider_ref, f"payment {payment_id}")
        with _calling(f"refund {refund_id} of payment {payment_id}"):
            refund = self._client.v1.refunds.create(
                {
                    "payment_intent": intent_id,
                    "amount": amount.fen,
                    "metadata": {"refund_id": refund_id, "payment_id": payment_id},
                },
                {"idempotency_key": f"refund-{refund_id}"},
            ).to_dict()
            return _refund_of(refund)

    def query_refund(
        self, payment_id: PaymentId, refund_id: str, provider_ref: str | None = None
    ) -> ProviderRefund:
        stripe_refund_id = _required(provider_ref, f"refund {refund_id}")
        with _calling(f"read refund {refund_id}"):
            refund = _refund_of(self._client.v1.refunds.retrieve(stripe_refund_id).to_dict())
        if refund.refund_id != refund_id:
            raise PaymentRefused(f"Stripe's {stripe_refund_id} is refund {refund.refund_id}")
        return refund

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        signature = {name.lower(): value for name, value in headers.items()}.get("stripe-signature")
        if not signature:
            raise PaymentNotificationInvalid("the Stripe notification has no Stripe-Signature")
        try:
            # Also refuses a signature more than five minutes old.
            event = self._client.construct_event(body, signature, self._webhook_secret)
        except stripe.SignatureVerificationError as e:
            raise PaymentNotificationInvalid(
                f"the Stripe notification's signature does not verify: {e.user_message}"
            ) from None
        except (ValueError, AttributeError):  # the SDK reads a JSON array as if an object
            raise PaymentNotificationInvalid(
                "the Stripe notification is not an event in JSON"
            ) from None
        try:
            subject = _subject_of(event.to_dict())
        except _Unreadable as e:
            raise PaymentNotificationInvalid(f"the Stripe event cannot be read: {e}") from None
        return PaymentNotification(subject=self._ours(subject), sent_at=_signed_at(signature))

    def _ours(self, subject: ProviderPayment | ProviderRefund) -> ProviderPayment | ProviderRefund:
        """A refund made in Stripe's dashboard carries no metadata of ours: its
        PaymentIntent does, so ask Stripe for it (a failure makes Stripe send it again)."""
        if not isinstance(subject, ProviderRefund) or not subject.payment_id.startswith("pi_"):
            return subject
        with _calling(f"read the payment of refund {subject.refund_id}"):
            intent = self._client.v1.payment_intents.retrieve(subject.payment_id).to_dict()
        ours = _metadata(intent).get("payment_id")
        return subject if not ours else attrs.evolve(subject, payment_id=PaymentId(ours))

    def download_bill(self, day: dt.date) -> list[BillEntry]:
        start = dt.datetime.combine(day, dt.time(), CHINA_STANDARD_TIME)
        end = start + dt.timedelta(days=1)
        with _calling(f"download the bill of {day}"):
            transactions = self._client.v1.balance_transactions.list(
                {
                    "created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())},
                    "limit": 100,
                    # A charge's or a refund's PaymentIntent holds our payment id.
                    "expand": ["data.source.payment_intent"],
                }
            )
            entries = [_bill_entry(t.to_dict()) for t in transactions.auto_paging_iter()]
        return sorted((e for e in entries if e is not None), key=lambda e: e.at)


class _Unreadable(Exception):
    """A Stripe object lacks a field shequ reads, or holds something else there."""


@contextmanager
def _calling(doing: str) -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as e:
        raise _translated(e, doing) from None
    except _Unreadable as e:
        raise PaymentUnavailable(
            f"Stripe's answer cannot be read: {e} (could not {doing})", provider="stripe"
        ) from None


def _translated(error: stripe.StripeError, doing: str) -> PaymentUnavailable | PaymentRefused:
    status = error.http_status
    if isinstance(error, stripe.APIConnectionError) or status is None:
        return PaymentUnavailable(f"Stripe could not be reached to {doing}", provider="stripe")
    code = error.code or (error.error.type if error.error else None) or "no code"
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        # Stripe's message quotes the key, masked; ours leaves it out altogether.
        text = f"Stripe answered {status} {code}: the API key may not {doing}"
    else:
        text = f"Stripe answered {status} {code}: {error.user_message} (could not {doing})"
    if status >= 500 or status in (409, 429):
        return PaymentUnavailable(text, provider="stripe", provider_code=code)
    return PaymentRefused(text, provider="stripe", provider_code=code)


def _required(provider_ref: str | None, what: str) -> str:
    if not provider_ref:
        raise PaymentRefused(f"Stripe finds {what} only by its own id, and none was given")
    return provider_ref


def _subject_of(event: Mapping[str, Any]) -> ProviderPayment | ProviderRefund:
    kind = _text(event, "type")
    subject = _object(_object(event, "data"), "object")
    account = event.get("account")
    merchant_id = account if isinstance(account, str) else None
    at = _time(event, "created")
    if kind.startswith("payment_intent."):
        return _payment_of(subject, at=at, merchant_id=merchant_id)
    if kind in _REFUND_EVENTS | _OLD_REFUND_EVENTS:
        return _refund_of(subject, at=at, merchant_id=merchant_id)
    raise _Unreadable(f"shequ reads no {kind} events")


def _payment_of(
    intent: Mapping[str, Any], *, at: dt.datetime | None, merchant_id: str | None = None
) -> ProviderPayment:
    state = _payment_state(intent)
    amount = {
        PaymentState.SUCCEEDED: "amount_received",
        PaymentState.AUTHORISED: "amount_capturable",
    }.get(state, "amount")
    intent_id = _text(intent, "id")
    return ProviderPayment(
        payment_id=PaymentId(_metadata(intent).get("payment_id") or intent_id),
        state=state,
        amount=Money(_whole(intent, amount)),
        provider_ref=intent_id,
        merchant_id=merchant_id,
        at=at,
    )


def _payment_state(intent: Mapping[str, Any]) -> PaymentState:
    status = _text(intent, "status")
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return PaymentState.FAILED
    try:
        return _PAYMENT_STATES[status]
    except KeyError:
        raise _Unreadable(f"a PaymentIntent's status {status!r} is not known") from None


def _settled_at(intent: Mapping[str, Any]) -> dt.datetime | None:
    if intent.get("canceled_at") is not None:
        return _time(intent, "canceled_at")
    charge = intent.get("latest_charge")
    return _time(charge, "created") if isinstance(charge, Mapping) else None


def _refund_of(
    refund: Mapping[str, Any], *, at: dt.datetime | None = None, merchant_id: str | None = None
) -> ProviderRefund:
    status = _text(refund, "status")
    if status not in _REFUND_STATES:
        raise _Unreadable(f"a refund's status {status!r} is not known")
    refund_id = _text(refund, "id")
    ours = _metadata(refund)
    return ProviderRefund(
        refund_id=ours.get("refund_id") or refund_id,
        payment_id=PaymentId(ours.get("payment_id") or _text(refund, "payment_intent")),
        state=_REFUND_STATES[status],
        amount=Money(_whole(refund, "amount")),
        provider_ref=refund_id,
        merchant_id=merchant_id,
        at=at,
    )


def _bill_entry(transaction: Mapping[str, Any]) -> BillEntry | None:
    kind = _BILL_KINDS.get(_text(transaction, "type"))
    source = _object(transaction, "source")
    # shequ takes CNY only; other money on the account is not its business.
    if kind is None or source.get("currency") != "cny":
        return None
    intent = source.get("payment_intent")
    intent = intent if isinstance(intent, Mapping) else {}
    payment_id = _metadata(intent).get("payment_id") or _text(source, "id")
    amount = Money(_whole(source, "amount"))
    at = _time(transaction, "created")
    if kind is BillEntryKind.PAYMENT:
        provider_ref = intent.get("id") or _text(source, "id")
        return BillEntry(kind, payment_id, provider_ref, amount, at)
    refund_id = _metadata(source).get("refund_id") or _text(source, "id")
    return BillEntry(kind, payment_id, _text(source, "id"), amount, at, refund_id=refund_id)


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise _Unreadable(f"{key} is not a text")
    return value


def _whole(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if type(value) is not int or value < 0:
        raise _Unreadable(f"{key} is not a whole number")
    return value


def _time(obj: Mapping[str, Any], key: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(_whole(obj, key), dt.UTC)


def _object(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if not isinstance(value, Mapping):
        raise _Unreadable(f"{key} is not an object")
    return value


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """The text values of an object's metadata. An object made outside shequ carries none
    of our ids: Stripe's own id stands in for them, so that it shows as unknown."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return {}
    return {k: v for k, v in metadata.items() if isinstance(k, str) and isinstance(v, str)}


def _signed_at(signature: str) -> dt.datetime:
    for item in signature.split(","):
        name, _, value = item.partition("=")
        if name == "t":
            return dt.datetime.fromtimestamp(int(value), dt.UTC)
    raise _Unreadable("the signature has no timestamp")
