"""Reading payments: one with its log, or those an operator must look at."""

from __future__ import annotations

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import PaymentQuery, UnitOfWork
from shequ.domain.ids import PaymentId
from shequ.domain.payments import Payment

__all__ = ["GetPaymentHandler", "ListPayments", "ListPaymentsHandler"]


class GetPaymentHandler:
    """A payment with its log: its order's resident, or an operator of its community."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, payment_id: PaymentId, *, actor: Actor) -> Payment:
        with self._uow as uow:
            payment = uow.payments.get(payment_id)
            order = uow.orders.get(payment.order_id)
        if not self._policy.allows(actor, Permission.OWN_ORDER, owner=order.resident_id):
            self._policy.require(actor, Permission.READ_ORDERS, community_id=order.community_id)
        return payment


@attrs.frozen
class ListPayments:
    query: PaymentQuery = attrs.field(factory=PaymentQuery)


class ListPaymentsHandler:
    """Payments across communities: platform operators only."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, cmd: ListPayments, *, actor: Actor) -> list[Payment]:
        self._policy.require(actor, Permission.READ_ORDERS)
        with self._uow as uow:
            return uow.payments.search(cmd.query)
