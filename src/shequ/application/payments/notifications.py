"""A provider's asynchronous notification: verified, checked, applied once.

The order of the checks is the point: the signature before anything is read; then the
timestamp, the payment it names, the merchant and the amount; only then the change. A
notification that fails a check changes nothing, and is kept: a forged one as a security
event in the audit log, a mismatched one as a flag on its payment for an operator.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Mapping

import attrs

from shequ.application.payments.providers import PaymentProviders
from shequ.application.payments.refunds import RefundPayer
from shequ.application.ports import (
    Clock,
    PaymentGateway,
    PaymentNotification,
    ProviderPayment,
    ProviderRefund,
    UnitOfWork,
)
from shequ.application.retry import retry_on_conflict
from shequ.application.services.promotions import issue_vouchers
from shequ.domain.audit import AuditRecord
from shequ.domain.errors import PaymentMismatch, PaymentNotFound, PaymentNotificationInvalid
from shequ.domain.ids import new_id
from shequ.domain.ordering import Order, OrderStatus
from shequ.domain.payments import Payment, PaymentState

__all__ = [
    "MAX_NOTIFICATION_BYTES",
    "STALE_AFTER",
    "ConfirmPayment",
    "ConfirmPaymentHandler",
    "PaymentConfirmation",
    "PaymentOutcome",
]

log = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(minutes=5)  # WeChat Pay's and Stripe's own window
MAX_NOTIFICATION_BYTES = 64 * 1024  # the providers' notifications are a few KiB


class PaymentOutcome(enum.StrEnum):
    PAID = "paid"  # the order is paid
    APPLIED = "applied"  # recorded on the payment: a failure, a closing, a hold, a refund
    ALREADY_APPLIED = "already_applied"  # a repeat: nothing changed
    REFUNDING = "refunding"  # paid after the order ended, or paid twice: the money goes back
    FLAGGED = "flagged"  # not applied: amount or merchant differ; an operator must look


@attrs.frozen
class ConfirmPayment:
    """A provider's notification, as received: the raw body and the headers."""

    provider: str
    body: bytes
    headers: Mapping[str, str]


@attrs.frozen
class PaymentConfirmation:
    payment: Payment
    outcome: PaymentOutcome
    order: Order | None = None


class ConfirmPaymentHandler:
    def __init__(
        self, uow: UnitOfWork, clock: Clock, providers: PaymentProviders, payer: RefundPayer
    ) -> None:
        self._uow, self._clock, self._providers, self._payer = uow, clock, providers, payer

    def __call__(self, cmd: ConfirmPayment) -> PaymentConfirmation:
        gateway = self._providers.get(cmd.provider)
        subject = self._verified(gateway, cmd).subject
        done = self.apply(gateway, subject)
        if done is None:
            self._security_event(cmd.provider, "names no payment of this provider", subject)
            raise PaymentNotFound(
                f"no {gateway.provider} payment {subject.payment_id}",
                payment_id=subject.payment_id,
            )
        return done

    def apply(
        self, gateway: PaymentGateway, subject: ProviderPayment | ProviderRefund
    ) -> PaymentConfirmation | None:
        """Apply what ``gateway`` reports, once it is believed: from a verified notification
        or from the provider's answer to a query. ``None`` when it names no payment of
        this provider."""

        def attempt() -> tuple[PaymentConfirmation | None, str | None]:
            now = self._clock.now()
            with self._uow as uow:
                try:
                    payment = uow.payments.get_for_update(subject.payment_id)
                except PaymentNotFound:
                    return None, None
                if payment.provider != gateway.provider:
                    return None, None
                mismatch = _mismatch(gateway, payment, subject)
                if mismatch:
                    payment.flag_for_operator(mismatch, key=_key(subject), now=now)
                    uow.commit()
                    return PaymentConfirmation(payment, PaymentOutcome.FLAGGED), None
                done, refund_id = self._apply(uow, payment, subject, now)
                uow.commit()
            return done, refund_id

        done, refund_id = retry_on_conflict(attempt)
        if done is None:
            return None
        if done.outcome is PaymentOutcome.FLAGGED:
            log.error("payment %s flagged: %s", done.payment.id, done.payment.flag)
        if refund_id is not None:
            self._payer.send(done.payment.id, refund_id)
        return done

    def _verified(self, gateway: PaymentGateway, cmd: ConfirmPayment) -> PaymentNotification:
        try:
            if len(cmd.body) > MAX_NOTIFICATION_BYTES:
                raise PaymentNotificationInvalid(
                    f"a notification of {len(cmd.body)} bytes is not one a provider sends",
                    limit=MAX_NOTIFICATION_BYTES,
                )
            notice = gateway.parse_notification(cmd.body, cmd.headers)
        except PaymentNotificationInvalid as e:
            self._security_event(cmd.provider, str(e), None)
            raise
        if notice.sent_at is not None and abs(self._clock.now() - notice.sent_at) > STALE_AFTER:
            self._security_event(cmd.provider, "stale timestamp", notice.subject)
            raise PaymentNotificationInvalid(
                f"the notification was signed at {notice.sent_at.isoformat()}, "
                f"more than {STALE_AFTER.seconds // 60} minutes from now",
                sent_at=notice.sent_at.isoformat(),
            )
        return notice

    def _apply(
        self,
        uow: UnitOfWork,
        payment: Payment,
        subject: ProviderPayment | ProviderRefund,
        now: dt.datetime,
    ) -> tuple[PaymentConfirmation, str | None]:
        if isinstance(subject, ProviderRefund):
            changed = payment.record_refund(
                subject.refund_id,
                subject.state,
                amount=subject.amount,
                provider_ref=subject.provider_ref,
                at=subject.at or now,
                now=now,
            )
            return PaymentConfirmation(payment, _applied(changed)), None
        try:
            changed = payment.record(
                subject.state,
                provider_ref=subject.provider_ref or payment.id,
                amount=subject.amount,
                at=subject.at or now,
                now=now,
            )
        except PaymentMismatch as e:  # charged already, under another reference
            payment.flag_for_operator(str(e), key=_key(subject), now=now)
            return PaymentConfirmation(payment, PaymentOutcome.FLAGGED), None
        if not changed or subject.state is not PaymentState.SUCCEEDED:
            return PaymentConfirmation(payment, _applied(changed)), None
        order = uow.orders.get_for_update(payment.order_id)
        if payment.refunded >= payment.charged:  # its refund was reported first
            return PaymentConfirmation(payment, PaymentOutcome.APPLIED, order), None
        if order.status is OrderStatus.PENDING_PAYMENT:
            order.pay(payment.charged, payment.id, now=now)
            issue_vouchers(uow, order, now)  # a voucher order's, in the same transaction
            return PaymentConfirmation(payment, PaymentOutcome.PAID, order), None
        why = (
            "the order was paid by another payment"
            if order.payment_ref
            else {
                OrderStatus.EXPIRED: "the order had expired before it was paid",
                OrderStatus.CANCELLED: "the order was cancelled before it was paid",
            }.get(order.status, f"the order was {order.status.value} before it was paid")
        )
        log.warning("payment %s of order %s is refunded: %s", payment.id, order.id, why)
        refund = payment.request_refund(new_id(), payment.refundable, reason=why, now=now)
        return PaymentConfirmation(payment, PaymentOutcome.REFUNDING, order), refund.id

    def _security_event(
        self, provider: str, why: str, subject: ProviderPayment | ProviderRefund | None
    ) -> None:
        log.warning("rejected a %s payment notification: %s", provider, why)
        detail = {"reason": why[:200]}
        if subject is not None:
            detail["payment_id"] = subject.payment_id[:64]
        with self._uow as uow:
            uow.audit.append(
                AuditRecord(
                    at=self._clock.now(),
                    actor_id=None,
                    action="payment.notification-rejected",
                    subject=f"payment-provider:{provider}",
                    client=f"{provider} notification",
                    detail=detail,
                )
            )
            uow.commit()


def _mismatch(
    gateway: PaymentGateway, payment: Payment, subject: ProviderPayment | ProviderRefund
) -> str:
    expected = gateway.merchant_id
    if subject.merchant_id is not None and expected is not None and subject.merchant_id != expected:
        return f"the notification names merchant {subject.merchant_id[:40]!r}, not ours"
    if (
        isinstance(subject, ProviderPayment)
        and subject.state in (PaymentState.SUCCEEDED, PaymentState.AUTHORISED)
        and subject.amount != payment.amount
    ):
        return f"the provider reports {subject.amount}; the payment is for {payment.amount}"
    return ""


def _key(subject: ProviderPayment | ProviderRefund) -> str:
    if isinstance(subject, ProviderRefund):
        return f"refund:{subject.refund_id}:{subject.state.value}:{subject.amount.fen}"
    return f"{subject.provider_ref}:{subject.state.value}:{subject.amount.fen}"


def _applied(changed: bool) -> PaymentOutcome:
    return PaymentOutcome.APPLIED if changed else PaymentOutcome.ALREADY_APPLIED
