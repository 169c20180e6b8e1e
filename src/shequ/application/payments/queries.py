"""Reading payments: one with its log, or those an operator must look at; and clearing
a flag once it was dealt with."""

from __future__ import annotations

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, PaymentQuery, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.ids import PaymentId
from shequ.domain.payments import EntryKind, Payment

__all__ = [
    "ClearPaymentFlag",
    "ClearPaymentFlagHandler",
    "GetPaymentHandler",
    "ListPayments",
    "ListPaymentsHandler",
]


class GetPaymentHandler:
    """A payment with its log: its order's resident, or an operator of its community. The
    resident does not see what is for operators: flags, and the providers' error texts."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, payment_id: PaymentId, *, actor: Actor) -> Payment:
        with self._uow as uow:
            payment = uow.payments.get(payment_id)
            order = uow.orders.get(payment.order_id)
        if self._policy.allows(actor, Permission.READ_ORDERS, community_id=order.community_id):
            return payment
        self._policy.require(actor, Permission.OWN_ORDER, owner=order.resident_id)
        return _for_the_payer(payment)


_FOR_OPERATORS = (EntryKind.FLAGGED, EntryKind.FLAG_CLEARED)


def _for_the_payer(payment: Payment) -> Payment:
    return attrs.evolve(
        payment,
        flag="",
        entries=[attrs.evolve(e, note="") for e in payment.entries if e.kind not in _FOR_OPERATORS],
        refunds=[attrs.evolve(r, last_error="") for r in payment.refunds],
    )


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


@attrs.frozen
class ClearPaymentFlag:
    payment_id: PaymentId
    note: str


class ClearPaymentFlagHandler:
    """An operator of the platform records how a flagged payment was dealt with."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: ClearPaymentFlag, *, actor: Actor) -> Payment:
        self._policy.require(actor, Permission.MANAGE_PAYMENTS)

        def attempt() -> Payment:
            with self._uow as uow:
                payment = uow.payments.get_for_update(cmd.payment_id)
                payment.clear_flag(cmd.note, now=self._clock.now())
                uow.commit()
            return payment

        return retry_on_conflict(attempt)
