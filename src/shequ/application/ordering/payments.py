"""Paying for an order through the payment provider, and its paid notification."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, PaymentGateway, PaymentIntent, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import IllegalTransition, PaymentMismatch
from shequ.domain.ids import OrderId, RefundId
from shequ.domain.ordering import Order, OrderStatus

__all__ = [
    "ConfirmPayment",
    "ConfirmPaymentHandler",
    "PaymentConfirmation",
    "PaymentOutcome",
    "StartPayment",
    "StartPaymentHandler",
]

log = logging.getLogger(__name__)


@attrs.frozen
class StartPayment:
    order_id: OrderId


class StartPaymentHandler:
    """Ask the provider to take the order's total; the resident's app completes it."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, policy: Policy, gateway: PaymentGateway
    ) -> None:
        self._uow, self._clock, self._policy, self._gateway = uow, clock, policy, gateway

    def __call__(self, cmd: StartPayment, *, actor: Actor) -> PaymentIntent:
        with self._uow as uow:
            order = uow.orders.get(cmd.order_id)
        if not self._policy.allows(actor, Permission.OWN_ORDER, owner=order.resident_id):
            self._policy.require(actor, Permission.MANAGE_ORDERS, community_id=order.community_id)
        if order.status is not OrderStatus.PENDING_PAYMENT or self._clock.now() >= order.expires_at:
            raise IllegalTransition(
                f"order {order.id} is {order.status.value.replace('_', ' ')}"
                + ("" if order.status is not OrderStatus.PENDING_PAYMENT else " past its deadline"),
                status=order.status.value,
                action="pay",
            )
        return self._gateway.create(order.id, order.total, f"shequ order {order.id}")


class PaymentOutcome(enum.StrEnum):
    PAID = "paid"
    ALREADY_PAID = "already_paid"
    REFUNDED = "refunded"  # paid after the order expired or was cancelled: money sent back


@attrs.frozen
class ConfirmPayment:
    """A provider's notification, as received: the raw body and the headers."""

    body: bytes
    headers: Mapping[str, str]


@attrs.frozen
class PaymentConfirmation:
    order: Order
    outcome: PaymentOutcome


class ConfirmPaymentHandler:
    """Verify a paid notification and mark the order paid, exactly once however often the
    provider repeats it. A payment that arrives for an order that expired or was cancelled
    meanwhile is refunded at once."""

    def __init__(self, uow: UnitOfWork, clock: Clock, gateway: PaymentGateway) -> None:
        self._uow, self._clock, self._gateway = uow, clock, gateway

    def __call__(self, cmd: ConfirmPayment) -> PaymentConfirmation:
        notice = self._gateway.verify(cmd.body, cmd.headers)

        def attempt() -> PaymentConfirmation:
            with self._uow as uow:
                order = uow.orders.get_for_update(notice.order_id)
                if order.payment_ref == notice.reference:
                    return PaymentConfirmation(order, PaymentOutcome.ALREADY_PAID)
                if order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED):
                    return PaymentConfirmation(order, PaymentOutcome.REFUNDED)
                if order.status is not OrderStatus.PENDING_PAYMENT:
                    raise PaymentMismatch(
                        f"order {order.id} was paid by another payment", order_id=order.id
                    )
                order.pay(notice.amount, notice.reference, now=self._clock.now())
                uow.commit()
            return PaymentConfirmation(order, PaymentOutcome.PAID)

        done = retry_on_conflict(attempt)
        if done.outcome is PaymentOutcome.REFUNDED:
            log.warning(
                "order %s was paid after it ended; refunding %s", done.order.id, notice.amount
            )
            self._gateway.refund(notice.reference, RefundId(f"late-{done.order.id}"), notice.amount)
        return done
