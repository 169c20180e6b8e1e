"""Sending refunds to the provider that took the money, and following them until the
provider confirms. A refund is recorded on its payment first, in the same transaction as
the decision behind it; sending is a second step that may fail and is retried."""

from __future__ import annotations

import logging

import attrs

from shequ.application.payments.providers import PaymentProviders
from shequ.application.ports import Clock, ProviderRefund, RefundQuery, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import (
    InvalidInput,
    PaymentProviderNotFound,
    PaymentRefused,
    PaymentUnavailable,
    ShequError,
)
from shequ.domain.ids import PaymentId, RefundId
from shequ.domain.ordering import Refund, RefundStatus
from shequ.domain.payments import PaymentRefundStatus, RefundState

__all__ = ["RefundPayer", "RefundRetry"]

log = logging.getLogger(__name__)


@attrs.frozen
class RefundRetry:
    """What one pass of :meth:`RefundPayer.retry` did, counted in refunds."""

    sent: int = 0  # the provider accepted them
    confirmed: int = 0  # the provider says the money is back
    failed: int = 0  # refused, given up, or with no payment to take it: an operator must look
    waiting: int = 0  # still to send (provider down) or still unconfirmed

    def __add__(self, other: RefundRetry) -> RefundRetry:
        return RefundRetry(
            *(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other), strict=True))
        )


_OUTCOME = {
    PaymentRefundStatus.TO_SEND: RefundRetry(waiting=1),
    PaymentRefundStatus.SENT: RefundRetry(sent=1),
    PaymentRefundStatus.SUCCEEDED: RefundRetry(confirmed=1),
    PaymentRefundStatus.FAILED: RefundRetry(failed=1),
}


class RefundPayer:
    def __init__(self, uow: UnitOfWork, clock: Clock, providers: PaymentProviders) -> None:
        self._uow, self._clock, self._providers = uow, clock, providers

    def pay_out(self, refund_id: RefundId) -> Refund:
        """Hand an approved after-sale refund to the payment that took the order's money,
        then send it. Does nothing for a refund handed over before."""

        def attempt() -> tuple[Refund, PaymentId | None]:
            with self._uow as uow:
                refund = uow.refunds.get(refund_id)
                order = uow.orders.get(refund.order_id)
                if (
                    refund.status is not RefundStatus.APPROVED
                    or refund.payment_refund_ref
                    or order.payment_ref is None
                    or uow.payments.find(PaymentId(order.payment_ref)) is None
                ):
                    return refund, None
                payment = uow.payments.get_for_update(PaymentId(order.payment_ref))
                refund = uow.refunds.get_for_update(refund_id)
                if refund.payment_refund_ref:
                    return refund, None
                try:
                    payment.request_refund(
                        refund.id,
                        refund.amount,
                        reason=f"after-sale refund {refund.id} ({refund.reason.value})",
                        now=self._clock.now(),
                        order_refund_id=refund.id,
                    )
                except InvalidInput as e:  # more than the payment has left to give back
                    payment.flag_for_operator(
                        f"after-sale refund {refund.id} cannot be sent: {e}",
                        key=f"handover:{refund.id}",
                        now=self._clock.now(),
                    )
                    uow.commit()
                    return refund, None
                refund.paid_out(refund.id)
                uow.commit()
            return refund, payment.id

        refund, payment_id = retry_on_conflict(attempt)
        if payment_id is not None:
            self.send(payment_id, refund.id)
        return refund

    def send(self, payment_id: PaymentId, refund_id: str) -> PaymentRefundStatus:
        """Send a recorded refund to the provider, once it is accepted there. A provider
        that cannot be reached leaves it waiting for :meth:`retry`."""
        with self._uow as uow:
            payment = uow.payments.get(payment_id)
        refund = payment.refund(refund_id)
        if refund is None or refund.status is not PaymentRefundStatus.TO_SEND:
            return PaymentRefundStatus.FAILED if refund is None else refund.status
        try:
            gateway = self._providers.get(payment.provider)
            answer = gateway.refund(
                payment.id, refund.id, refund.amount, payment.charged, payment.provider_ref
            )
        except (PaymentUnavailable, PaymentProviderNotFound) as e:
            log.warning("refund %s of payment %s waits: %s", refund_id, payment_id, e)
            return self._apply(payment_id, refund_id, error=str(e))
        except PaymentRefused as e:
            log.error("refund %s of payment %s was refused: %s", refund_id, payment_id, e)
            return self._apply(payment_id, refund_id, refused=str(e))
        return self._apply(payment_id, refund_id, answer=answer)

    def follow(self, payment_id: PaymentId, refund_id: str) -> PaymentRefundStatus:
        """Ask the provider how a sent refund is doing."""
        with self._uow as uow:
            payment = uow.payments.get(payment_id)
        refund = payment.refund(refund_id)
        if refund is None or refund.status is not PaymentRefundStatus.SENT:
            return PaymentRefundStatus.FAILED if refund is None else refund.status
        try:
            answer = self._providers.get(payment.provider).query_refund(
                payment.id, refund.id, refund.provider_ref
            )
        except (PaymentUnavailable, PaymentProviderNotFound) as e:
            log.warning("refund %s of payment %s: no answer yet: %s", refund_id, payment_id, e)
            return refund.status
        except PaymentRefused as e:  # the provider says it has no such refund
            log.error("refund %s of payment %s: %s", refund_id, payment_id, e)
            self._flag(payment_id, f"the provider cannot find refund {refund_id}: {e}", refund_id)
            return refund.status
        return self._apply(payment_id, refund_id, answer=answer)

    def retry(self, limit: int = 1000) -> RefundRetry:
        """Hand over approved refunds that never reached their payment, send the ones
        waiting, and ask after the ones the provider has not confirmed."""
        with self._uow as uow:
            approved = uow.refunds.search(RefundQuery(awaiting_payout=True, limit=limit))
        done = RefundRetry()
        for approval in approved:
            if not self._handed_over(approval.id):  # an operator must look
                done += RefundRetry(failed=1)
        with self._uow as uow:
            payments = uow.payments.with_open_refunds(limit)
        for payment in payments:
            for waiting in payment.open_refunds:
                step = self.send if waiting.status is PaymentRefundStatus.TO_SEND else self.follow
                try:
                    done += _OUTCOME[step(payment.id, waiting.id)]
                except ShequError:  # one refund's trouble does not hold up the others
                    log.exception("refund %s of payment %s", waiting.id, payment.id)
                    done += RefundRetry(failed=1)
        return done

    def _handed_over(self, refund_id: RefundId) -> bool:
        try:
            handed = self.pay_out(refund_id).payment_refund_ref is not None
        except ShequError:
            log.exception("after-sale refund %s", refund_id)
            return False
        if not handed:
            log.warning(
                "after-sale refund %s waits: its order has no payment record that can take "
                "it back (paid before payment records, or flagged); refund it by hand",
                refund_id,
            )
        return handed

    def _flag(self, payment_id: PaymentId, why: str, refund_id: str) -> None:
        def attempt() -> None:
            with self._uow as uow:
                payment = uow.payments.get_for_update(payment_id)
                payment.flag_for_operator(why, key=f"unknown:{refund_id}", now=self._clock.now())
                uow.commit()

        retry_on_conflict(attempt)

    def _apply(
        self,
        payment_id: PaymentId,
        refund_id: str,
        *,
        answer: ProviderRefund | None = None,
        error: str = "",
        refused: str = "",
    ) -> PaymentRefundStatus:
        def attempt() -> PaymentRefundStatus:
            now = self._clock.now()
            with self._uow as uow:
                payment = uow.payments.get_for_update(payment_id)
                if error:
                    payment.refund_not_sent(refund_id, error, now=now)
                elif refused:
                    payment.record_refund(
                        refund_id,
                        RefundState.FAILED,
                        amount=payment.refund_of(refund_id).amount,
                        provider_ref=None,
                        at=now,
                        now=now,
                        note=refused,
                    )
                    payment.flag_for_operator(
                        f"the provider refused refund {refund_id}: {refused}",
                        key=f"refused:{refund_id}",
                        now=now,
                    )
                elif answer is not None:
                    payment.refund_sent(refund_id, answer.provider_ref, now=now)  # if not yet
                    payment.record_refund(
                        refund_id,
                        answer.state,
                        amount=answer.amount,
                        provider_ref=answer.provider_ref,
                        at=answer.at or now,
                        now=now,
                    )
                uow.commit()
                refund = payment.refund(refund_id)
                return PaymentRefundStatus.FAILED if refund is None else refund.status

        return retry_on_conflict(attempt)
