"""Paying refunds out through the payment provider, after they are approved."""

from __future__ import annotations

import logging

from shequ.application.ports import PaymentGateway, RefundQuery, UnitOfWork
from shequ.domain.errors import PaymentUnavailable
from shequ.domain.ids import RefundId
from shequ.domain.ordering import Refund, RefundStatus

__all__ = ["RefundPayer"]

log = logging.getLogger(__name__)


class RefundPayer:
    """Sends approved refunds to the provider. An approval stands even when the provider
    is down: the refund waits, listed as awaiting payout, for :meth:`pay_out_waiting`."""

    def __init__(self, uow: UnitOfWork, gateway: PaymentGateway) -> None:
        self._uow, self._gateway = uow, gateway

    def pay_out(self, refund_id: RefundId) -> Refund:
        with self._uow as uow:
            refund = uow.refunds.get(refund_id)
            if refund.status is not RefundStatus.APPROVED or refund.payment_refund_ref:
                return refund
            order = uow.orders.get(refund.order_id)
            if order.payment_ref is None:
                return refund
            try:
                reference = self._gateway.refund(order.payment_ref, refund.id, refund.amount)
            except PaymentUnavailable as e:
                log.warning("refund %s waits for its payout: %s", refund.id, e)
                return refund
            refund.paid_out(reference)
            uow.commit()
        return refund

    def pay_out_waiting(self, limit: int = 1000) -> tuple[int, int]:
        """Try every refund awaiting payout; returns (paid out, still waiting)."""
        with self._uow as uow:
            waiting = [
                r.id for r in uow.refunds.search(RefundQuery(awaiting_payout=True, limit=limit))
            ]
        paid = sum(1 for refund_id in waiting if self.pay_out(refund_id).payment_refund_ref)
        return paid, len(waiting) - paid
