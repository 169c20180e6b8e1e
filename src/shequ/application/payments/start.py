"""Asking a provider to take an order's money."""

from __future__ import annotations

import hashlib

import attrs

from shequ.application.payments.providers import PaymentProviders
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, PaymentIntent, PaymentRequest, UnitOfWork
from shequ.domain.errors import Duplicate, IllegalTransition
from shequ.domain.ids import OrderId, PaymentId
from shequ.domain.ordering import OrderStatus
from shequ.domain.payments import Channel, Payment

__all__ = ["StartPayment", "StartPaymentHandler", "payment_id_for"]


@attrs.frozen
class StartPayment:
    """``idempotency_key``: the same order, channel and key always name one payment, so
    a request retried after a timeout cannot take the money twice."""

    order_id: OrderId
    channel: Channel = Channel.SANDBOX
    idempotency_key: str = ""
    payer_id: str | None = None  # WeChat JSAPI: the payer's openid
    client_ip: str | None = None  # WeChat H5: the payer's address


def payment_id_for(order_id: OrderId, channel: Channel, idempotency_key: str) -> PaymentId:
    """32 characters, as every provider accepts for its merchant reference."""
    seed = f"{order_id}|{channel.value}|{idempotency_key}".encode()
    return PaymentId("P" + hashlib.sha256(seed).hexdigest()[:31])


class StartPaymentHandler:
    """The provider is asked first; the payment is recorded only once it answered, so a
    timeout leaves nothing behind and the same request can simply be sent again."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, policy: Policy, providers: PaymentProviders
    ) -> None:
        self._uow, self._clock, self._policy, self._providers = uow, clock, policy, providers

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
        gateway = self._providers.for_channel(cmd.channel)
        request = PaymentRequest(
            payment_id=payment_id_for(order.id, cmd.channel, cmd.idempotency_key),
            order_id=order.id,
            amount=order.total,
            channel=cmd.channel,
            description=f"shequ order {order.id}",
            expires_at=order.expires_at,
            payer_id=cmd.payer_id,
            client_ip=cmd.client_ip,
        )
        intent = gateway.create(request)
        try:
            with self._uow as uow:
                if uow.payments.find(request.payment_id) is None:
                    uow.payments.add(
                        Payment.start(
                            id=request.payment_id,
                            order_id=order.id,
                            provider=gateway.provider,
                            channel=cmd.channel,
                            amount=order.total,
                            now=self._clock.now(),
                            provider_ref=intent.provider_ref,
                        )
                    )
                    uow.commit()
        except Duplicate:
            pass  # the same request, recorded by a concurrent call
        return intent
