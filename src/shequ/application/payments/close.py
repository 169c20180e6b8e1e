"""Closing an ended order's unpaid payments at their providers, so that nobody can pay
them any more (a Stripe PaymentIntent never expires by itself; a WeChat QR code lives
until its own deadline)."""

from __future__ import annotations

import logging

from shequ.application.payments.providers import PaymentProviders
from shequ.application.ports import Clock, PaymentQuery, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import PaymentProviderNotFound, PaymentRefused, PaymentUnavailable
from shequ.domain.ids import OrderId
from shequ.domain.payments import Payment, PaymentState, PaymentStatus

__all__ = ["ClosePaymentsHandler"]

log = logging.getLogger(__name__)

_OPEN = (PaymentStatus.CREATED, PaymentStatus.AUTHORISED)


class ClosePaymentsHandler:
    """Runs after an order expired or was cancelled. A provider that cannot be reached, or
    that says the payment was paid meanwhile, is logged and left: a payment that does
    arrive is refunded when its notification comes."""

    def __init__(self, uow: UnitOfWork, clock: Clock, providers: PaymentProviders) -> None:
        self._uow, self._clock, self._providers = uow, clock, providers

    def __call__(self, order_id: OrderId) -> int:
        """Returns how many payments were closed."""
        with self._uow as uow:
            found = uow.payments.search(PaymentQuery(order_id=order_id))
        return sum(1 for p in found if p.status in _OPEN and self._close(p))

    def _close(self, payment: Payment) -> bool:
        try:
            self._providers.get(payment.provider).close(payment.id, payment.provider_ref)
        except (PaymentUnavailable, PaymentRefused, PaymentProviderNotFound) as e:
            log.warning("payment %s stays open at its provider: %s", payment.id, e)
            return False

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
        return True
