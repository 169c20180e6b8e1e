"""For a scheduler: ask the providers about the payments still open.

A notification can be lost (the service was down longer than the provider retries, a
network in between dropped it): the provider's answer to a query is then the word that
counts, and is applied exactly as a notification would be. A payment still unpaid whose
order has ended is closed at its provider, so that nobody can pay it any more (a Stripe
PaymentIntent never expires by itself).
"""

from __future__ import annotations

import datetime as dt
import logging

import attrs

from shequ.application.payments.notifications import ConfirmPaymentHandler, PaymentOutcome
from shequ.application.payments.providers import PaymentProviders
from shequ.application.ports import Clock, PaymentGateway, ProviderPayment, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import PaymentProviderNotFound, PaymentRefused, PaymentUnavailable
from shequ.domain.ordering import OrderStatus
from shequ.domain.payments import Payment, PaymentState

__all__ = ["SweepPayments", "SweepPaymentsHandler", "Swept"]

log = logging.getLogger(__name__)


@attrs.frozen
class SweepPayments:
    """Payments created more than ``older_than`` ago and still open, oldest first."""

    older_than: dt.timedelta = dt.timedelta(minutes=5)
    limit: int = 500


@attrs.frozen
class Swept:
    """What one sweep did, counted in payments."""

    paid: int = 0  # the provider had taken the money; applied as its notification would be
    closed: int = 0  # unpaid, its order ended: closed at the provider
    changed: int = 0  # failed or closed at the provider; recorded
    open: int = 0  # still waiting for the payer
    unreachable: int = 0  # the provider did not answer: next time


class SweepPaymentsHandler:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        providers: PaymentProviders,
        confirm: ConfirmPaymentHandler,
    ) -> None:
        self._uow, self._clock, self._providers, self._confirm = uow, clock, providers, confirm

    def __call__(self, cmd: SweepPayments) -> Swept:
        with self._uow as uow:
            found = uow.payments.still_open(self._clock.now() - cmd.older_than, cmd.limit)
        counts = {field.name: 0 for field in attrs.fields(Swept)}
        for payment in found:
            counts[self._sweep(payment)] += 1
        return Swept(**counts)

    def _sweep(self, payment: Payment) -> str:
        try:
            gateway = self._providers.get(payment.provider)
            report: ProviderPayment | None = gateway.query(payment.id, payment.provider_ref)
        except (PaymentUnavailable, PaymentProviderNotFound) as e:
            log.warning("payment %s: its provider did not answer: %s", payment.id, e)
            return "unreachable"
        except PaymentRefused:
            report = None  # not known there yet (an Alipay link nobody opened)
        if report is not None and report.state is not PaymentState.PENDING:
            done = self._confirm.apply(gateway, report)
            if done is not None and done.outcome in (PaymentOutcome.PAID, PaymentOutcome.REFUNDING):
                return "paid"
            return "changed"
        with self._uow as uow:
            order = uow.orders.get(payment.order_id)
        if order.status is OrderStatus.PENDING_PAYMENT:
            return "open"
        return self._close(gateway, payment)

    def _close(self, gateway: PaymentGateway, payment: Payment) -> str:
        try:
            gateway.close(payment.id, payment.provider_ref)
        except (PaymentUnavailable, PaymentRefused) as e:  # refused: paid meanwhile
            log.warning("payment %s stays open at its provider: %s", payment.id, e)
            return "unreachable"

        def attempt() -> None:
            now = self._clock.now()
            with self._uow as uow:
                fresh = uow.payments.get_for_update(payment.id)
                fresh.record(
                    PaymentState.CLOSED,
                    provider_ref=f"closed-by-shop:{fresh.id}",
                    amount=fresh.amount,
                    at=now,
                    now=now,
                )
                uow.commit()

        retry_on_conflict(attempt)
        return "closed"
