"""``shequ payments simulate``: pay for an order through the sandbox provider."""

from __future__ import annotations

from typing import Protocol, cast

import click

from shequ.application.ordering.payments import (
    ConfirmPayment,
    ConfirmPaymentHandler,
    PaymentOutcome,
    StartPayment,
    StartPaymentHandler,
)
from shequ.application.policy import CONSOLE
from shequ.application.ports import PaymentGateway
from shequ.domain.errors import AdapterError
from shequ.domain.ids import OrderId
from shequ.domain.money import Money
from shequ.entrypoints.cli.main import emit_data, get, json_option
from shequ.entrypoints.cli.ordering import order_data

__all__ = ["payments"]


@click.group()
def payments() -> None:
    """Payments through the configured provider."""


class _SandboxPayer(Protocol):
    def pay(self, order_id: OrderId, amount: Money) -> tuple[bytes, dict[str, str]]: ...


def _sandbox(gateway: PaymentGateway) -> _SandboxPayer:
    if gateway.provider != "sandbox" or not callable(getattr(gateway, "pay", None)):
        raise AdapterError(
            "payments simulate needs the sandbox payment provider; "
            f"this installation pays through {gateway.provider!r}"
        )
    return cast(_SandboxPayer, gateway)


@payments.command("simulate")
@click.argument("order_id")
@json_option
@click.pass_context
def simulate(ctx: click.Context, order_id: str, as_json: bool) -> None:
    """Pay for an order as its resident would, through the sandbox provider.

    The provider's signed notification is then received as it would be over HTTP.
    """
    payer = _sandbox(get(ctx, PaymentGateway))
    intent = get(ctx, StartPaymentHandler)(StartPayment(OrderId(order_id)), actor=CONSOLE)
    body, headers = payer.pay(OrderId(order_id), intent.amount)
    done = get(ctx, ConfirmPaymentHandler)(ConfirmPayment(body, headers))
    if as_json:
        emit_data({"outcome": done.outcome.value, "order": order_data(done.order)})
        return
    message = {
        PaymentOutcome.PAID: f"paid order {done.order.id}: {intent.amount.format()}",
        PaymentOutcome.ALREADY_PAID: f"order {done.order.id} was paid already",
        PaymentOutcome.REFUNDED: (
            f"order {done.order.id} had ended ({done.order.status.value}); "
            f"the payment of {intent.amount.format()} was refunded"
        ),
    }[done.outcome]
    click.echo(f"{message} (payment {intent.reference})")
