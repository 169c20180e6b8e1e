"""``shequ refunds …``: after-sale (售后) requests, decisions and payouts."""

from __future__ import annotations

import click

from shequ.application.ordering.refunds import (
    DecideRefund,
    DecideRefundHandler,
    ListRefunds,
    ListRefundsHandler,
    RequestRefund,
    RequestRefundHandler,
)
from shequ.application.policy import CONSOLE
from shequ.domain.ids import CommunityId, OrderId, RefundId
from shequ.domain.money import Money
from shequ.domain.ordering import Refund, RefundReason, RefundStatus
from shequ.entrypoints.cli.main import emit_data, get, json_option
from shequ.entrypoints.cli.ordering import refund_data, refund_state, refunds_table, sku_quantities

__all__ = ["refunds"]

REASONS = [r.value for r in RefundReason if r is not RefundReason.CANCELLED]


@click.group()
def refunds() -> None:
    """After-sale refunds: request, approve or reject (payments send the money back)."""


def _show(refund: Refund, as_json: bool, verb: str) -> None:
    if as_json:
        emit_data(refund_data(refund))
        return
    units = sum(item.quantity for item in refund.items)
    click.echo(
        f"{verb} refund {refund.id} of {refund.amount.format()} for order {refund.order_id} "
        f"({units} unit(s)): {refund_state(refund)}"
    )
    if refund.restocked:
        click.echo("  the goods went back in stock")


@refunds.command("list")
@click.option("--status", type=click.Choice([s.value for s in RefundStatus]))
@click.option("--community", help="Refunds of orders placed in this community id.")
@click.option("--order", "order_id", help="Refunds of this order.")
@click.option("--awaiting-payout", is_flag=True, help="Approved, not yet handed to its payment.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@json_option
@click.pass_context
def list_refunds(
    ctx: click.Context,
    status: str | None,
    community: str | None,
    order_id: str | None,
    awaiting_payout: bool,
    limit: int,
    as_json: bool,
) -> None:
    """List refunds, newest request first."""
    found = get(ctx, ListRefundsHandler)(
        ListRefunds(
            status=RefundStatus(status) if status else None,
            order_id=OrderId(order_id) if order_id else None,
            community_id=CommunityId(community) if community else None,
            awaiting_payout=awaiting_payout,
            limit=limit,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data([refund_data(r) for r in found])
    else:
        refunds_table(found)


@refunds.command("request")
@click.argument("order_id")
@click.option("--reason", required=True, type=click.Choice(REASONS))
@click.option(
    "--sku", "skus", multiple=True, help="SKU:QTY to give back; without it, every unit left."
)
@click.option("--amount", help="Ask for less than the goods cost, in yuan.")
@click.option("--comment", default="", help="What the resident says (up to 500 characters).")
@json_option
@click.pass_context
def request(
    ctx: click.Context,
    order_id: str,
    reason: str,
    skus: tuple[str, ...],
    amount: str | None,
    comment: str,
    as_json: bool,
) -> None:
    """Ask for money back for a paid order, on the resident's behalf."""
    refund = get(ctx, RequestRefundHandler)(
        RequestRefund(
            order_id=OrderId(order_id),
            reason=RefundReason(reason),
            items=sku_quantities(skus) if skus else None,
            amount=None if amount is None else Money.parse(amount),
            comment=comment,
        ),
        actor=CONSOLE,
    )
    _show(refund, as_json, "requested")


@refunds.command("approve")
@click.argument("refund_id")
@click.option("--note", default="", help="Kept with the decision (up to 500 characters).")
@json_option
@click.pass_context
def approve(ctx: click.Context, refund_id: str, note: str, as_json: bool) -> None:
    """Approve a refund: the money goes back through the payment provider."""
    refund = get(ctx, DecideRefundHandler)(
        DecideRefund(RefundId(refund_id), approve=True, note=note), actor=CONSOLE
    )
    _show(refund, as_json, "approved")


@refunds.command("reject")
@click.argument("refund_id")
@click.option("--note", required=True, help="Why: the resident reads it.")
@json_option
@click.pass_context
def reject(ctx: click.Context, refund_id: str, note: str, as_json: bool) -> None:
    """Reject a refund request, saying why."""
    refund = get(ctx, DecideRefundHandler)(
        DecideRefund(RefundId(refund_id), approve=False, note=note), actor=CONSOLE
    )
    _show(refund, as_json, "rejected")
