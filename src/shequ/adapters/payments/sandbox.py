"""A deterministic, in-process payment provider for tests, demos and development.

It behaves as a provider does: :meth:`create` makes a payment the payer can pay; the
payer pays (:meth:`pay`), fails (:meth:`fail`) or never pays; each returns the
notification the provider would send, signed with HMAC-SHA256 over a timestamp and the
body. Refunds succeed at once. ``available = False`` plays an outage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping
from typing import Any

import attrs

from shequ.application.ports import (
    BillEntry,
    BillEntryKind,
    Clock,
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

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "SandboxPaymentGateway"]

SIGNATURE_HEADER = "x-sandbox-signature"
TIMESTAMP_HEADER = "x-sandbox-timestamp"


@attrs.define
class _Payment:
    request: PaymentRequest
    state: PaymentState = PaymentState.PENDING
    provider_ref: str = ""
    at: dt.datetime | None = None


@attrs.define
class _Refund:
    payment_id: PaymentId
    amount: Money
    provider_ref: str
    at: dt.datetime


class SandboxPaymentGateway:
    """``secret`` signs notifications; a random one per process by default. ``clock``
    dates payments, refunds and notifications (the system's clock by default)."""

    provider = "sandbox"
    channels = frozenset({Channel.SANDBOX})
    merchant_id = "sandbox"

    def __init__(self, secret: bytes | None = None, clock: Clock | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._clock = clock
        self._lock = threading.Lock()
        self._payments: dict[PaymentId, _Payment] = {}
        self._refunds: dict[str, _Refund] = {}
        self.available = True

    def _check_up(self) -> None:
        if not self.available:
            raise PaymentUnavailable("the sandbox payment provider is down (as asked)")

    def _payment(self, payment_id: PaymentId) -> _Payment:
        found = self._payments.get(payment_id)
        if found is None:
            raise PaymentRefused(f"the sandbox knows no payment {payment_id}")
        return found

    # ---------------------------------------------------------------- the port

    def create(self, request: PaymentRequest) -> PaymentIntent:
        self._check_up()
        if request.channel is not Channel.SANDBOX:
            raise PaymentRefused(f"the sandbox takes no {request.channel.value} payments")
        with self._lock:
            known = self._payments.setdefault(request.payment_id, _Payment(request))
        if known.request.amount != request.amount:
            raise PaymentRefused(f"payment {request.payment_id} was created for another amount")
        return PaymentIntent(
            payment_id=request.payment_id,
            provider=self.provider,
            channel=request.channel,
            amount=request.amount,
            params={"payment_id": request.payment_id, "amount_fen": str(request.amount.fen)},
        )

    def query(self, payment_id: PaymentId, provider_ref: str | None = None) -> ProviderPayment:
        self._check_up()
        return self._report(self._payment(payment_id))

    def close(self, payment_id: PaymentId, provider_ref: str | None = None) -> None:
        self._check_up()
        payment = self._payment(payment_id)
        if payment.state is PaymentState.SUCCEEDED:
            raise PaymentRefused(f"payment {payment_id} is paid; refund it instead")
        payment.state = PaymentState.CLOSED

    def refund(
        self,
        payment_id: PaymentId,
        refund_id: str,
        amount: Money,
        total: Money,
        provider_ref: str | None = None,
    ) -> ProviderRefund:
        self._check_up()
        with self._lock:
            # A payment made by another process (another CLI run) is taken on trust, up to
            # the total the caller says it was for.
            payment = self._payments.get(payment_id)
            if payment is not None and payment.state is not PaymentState.SUCCEEDED:
                raise PaymentRefused(f"payment {payment_id} is not paid")
            known = self._refunds.get(refund_id)
            if known is None:
                given = sum(
                    r.amount.fen for r in self._refunds.values() if r.payment_id == payment_id
                )
                if given + amount.fen > total.fen:
                    raise PaymentRefused(f"payment {payment_id} has not {amount} left to refund")
                known = _Refund(payment_id, amount, f"sbx-refund-{refund_id}", self._now())
                self._refunds[refund_id] = known
        return self._refund_report(refund_id, known)

    def query_refund(
        self, payment_id: PaymentId, refund_id: str, provider_ref: str | None = None
    ) -> ProviderRefund:
        self._check_up()
        known = self._refunds.get(refund_id)
        if known is None:
            raise PaymentRefused(f"the sandbox knows no refund {refund_id}")
        return self._refund_report(refund_id, known)

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        lower = {k.lower(): v for k, v in headers.items()}
        stamp = lower.get(TIMESTAMP_HEADER, "")
        wanted = lower.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(wanted.encode(), self._sign(stamp, body).encode()):
            raise PaymentNotificationInvalid("the payment notification's signature is wrong")
        try:
            sent_at = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
            return PaymentNotification(subject=_subject(json.loads(body)), sent_at=sent_at)
        except (ValueError, KeyError, TypeError) as e:
            raise PaymentNotificationInvalid("the payment notification cannot be read") from e

    def download_bill(self, day: dt.date) -> list[BillEntry]:
        self._check_up()
        on_day = [
            BillEntry(
                BillEntryKind.PAYMENT, p.request.payment_id, p.provider_ref, p.request.amount, p.at
            )
            for p in self._payments.values()
            if p.at is not None and p.state is PaymentState.SUCCEEDED and _day(p.at) == day
        ]
        on_day += [
            BillEntry(BillEntryKind.REFUND, r.payment_id, r.provider_ref, r.amount, r.at, refund_id)
            for refund_id, r in self._refunds.items()
            if _day(r.at) == day
        ]
        return on_day

    # ---------------------------------------------------------------- the payer

    def pay(
        self, payment_id: PaymentId, at: dt.datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Pay as the resident would; returns the notification's body and headers."""
        return self._settle(payment_id, PaymentState.SUCCEEDED, at)

    def fail(self, payment_id: PaymentId) -> tuple[bytes, dict[str, str]]:
        """The payer's bank declines."""
        return self._settle(payment_id, PaymentState.FAILED, None)

    def notification(
        self, payload: Mapping[str, Any], sent_at: dt.datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A signed notification of any content, as the sandbox would send it."""
        body = json.dumps(payload, sort_keys=True).encode()
        stamp = str(int((sent_at or self._now()).timestamp()))
        return body, {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: self._sign(stamp, body)}

    def refund_notification(self, refund_id: str) -> tuple[bytes, dict[str, str]]:
        report = self.query_refund(self._refunds[refund_id].payment_id, refund_id)
        return self.notification(
            {
                "type": "refund",
                "refund_id": report.refund_id,
                "payment_id": report.payment_id,
                "state": report.state.value,
                "amount_fen": report.amount.fen,
                "provider_ref": report.provider_ref,
                "merchant_id": self.merchant_id,
                "at": _iso(report.at),
            }
        )

    # ---------------------------------------------------------------- internals

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) if self._clock is None else self._clock.now()

    def _settle(
        self, payment_id: PaymentId, state: PaymentState, at: dt.datetime | None
    ) -> tuple[bytes, dict[str, str]]:
        with self._lock:
            payment = self._payment(payment_id)
            if payment.state is PaymentState.PENDING:
                payment.state, payment.at = state, at or self._now()
                payment.provider_ref = f"sbx-{secrets.token_hex(8)}"
        report = self._report(payment)
        return self.notification(
            {
                "type": "payment",
                "payment_id": payment_id,
                "state": report.state.value,
                "amount_fen": report.amount.fen,
                "provider_ref": report.provider_ref,
                "merchant_id": self.merchant_id,
                "at": _iso(report.at),
            }
        )

    def _sign(self, stamp: str, body: bytes) -> str:
        return hmac.new(self._secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()

    def _report(self, payment: _Payment) -> ProviderPayment:
        return ProviderPayment(
            payment_id=payment.request.payment_id,
            state=payment.state,
            amount=payment.request.amount,
            provider_ref=payment.provider_ref or None,
            merchant_id=self.merchant_id,
            at=payment.at,
        )

    def _refund_report(self, refund_id: str, refund: _Refund) -> ProviderRefund:
        return ProviderRefund(
            refund_id=refund_id,
            payment_id=refund.payment_id,
            state=RefundState.SUCCEEDED,
            amount=refund.amount,
            provider_ref=refund.provider_ref,
            merchant_id=self.merchant_id,
            at=refund.at,
        )


def _day(at: dt.datetime) -> dt.date:
    return at.astimezone(CHINA_STANDARD_TIME).date()


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _fen(value: object) -> Money:
    if type(value) is not int:
        raise TypeError("amount_fen is not an integer")
    return Money(value)


def _subject(data: dict[str, Any]) -> ProviderPayment | ProviderRefund:
    at = None if data.get("at") is None else dt.datetime.fromisoformat(data["at"])
    if data["type"] == "payment":
        return ProviderPayment(
            payment_id=PaymentId(str(data["payment_id"])),
            state=PaymentState(data["state"]),
            amount=_fen(data["amount_fen"]),
            provider_ref=data.get("provider_ref"),
            merchant_id=data.get("merchant_id"),
            at=at,
        )
    if data["type"] == "refund":
        return ProviderRefund(
            refund_id=str(data["refund_id"]),
            payment_id=PaymentId(str(data["payment_id"])),
            state=RefundState(data["state"]),
            amount=_fen(data["amount_fen"]),
            provider_ref=data.get("provider_ref"),
            merchant_id=data.get("merchant_id"),
            at=at,
        )
    raise ValueError(f"unknown notification type {data['type']!r}")
