"""``shequ payments``: paying through the sandbox, reading payments, retrying refunds and
the daily reconciliation with each provider's bill."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from typing import Any, Protocol, cast

import attrs
import click

from shequ.application.payments.notifications import ConfirmPayment, ConfirmPaymentHandler
from shequ.application.payments.providers import PaymentProviders
from shequ.application.payments.queries import (
    ClearPaymentFlag,
    ClearPaymentFlagHandler,
    GetPaymentHandler,
    ListPayments,
    ListPaymentsHandler,
)
from shequ.application.payments.reconcile import (
    Match,
    ReconcilePayments,
    ReconcilePaymentsHandler,
    Reconciliation,
)
from shequ.application.payments.refunds import RefundPayer
from shequ.application.payments.start import StartPayment, StartPaymentHandler
from shequ.application.payments.sweep import SweepPayments, SweepPaymentsHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import PaymentQuery
from shequ.domain.errors import AdapterError
from shequ.domain.ids import OrderId, PaymentId
from shequ.domain.money import Money
from shequ.domain.payments import Channel, Payment, PaymentStatus
from shequ.entrypoints.cli.main import emit_data, get, json_option, table
from shequ.entrypoints.cli.ordering import order_data

__all__ = ["payment_data", "payments"]


@click.group()
def payments() -> None:
    """Payments: the sandbox payer, flagged payments, refunds and reconciliation."""


def _money(name: str, money: Money | None) -> dict[str, Any]:
    return {f"{name}_fen": None if money is None else money.fen}


def payment_data(p: Payment, *, entries: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": p.id,
        "order_id": p.order_id,
        "provider": p.provider,
        "channel": p.channel.value,
        "status": p.status.value,
        "provider_ref": p.provider_ref,
        **_money("amount", p.amount),
        **_money("authorised", p.authorised),
        **_money("charged", p.charged),
        **_money("refunded", p.refunded),
        **_money("refund_pending", p.refund_pending),
        "created_at": p.created_at.isoformat(),
        "paid_at": None if p.paid_at is None else p.paid_at.isoformat(),
        "flag": p.flag,
        "refunds": [
            {
                "id": r.id,
                "amount_fen": r.amount.fen,
                "status": r.status.value,
                "reason": r.reason,
                "order_refund_id": r.order_refund_id,
                "provider_ref": r.provider_ref,
                "attempts": r.attempts,
                "last_error": r.last_error,
            }
            for r in p.refunds
        ],
    }
    if entries:
        data["entries"] = [
            {
                "kind": e.kind.value,
                "key": e.key,
                "amount_fen": e.amount.fen,
                "at": e.at.isoformat(),
                "recorded_at": e.recorded_at.isoformat(),
                "note": e.note,
            }
            for e in p.entries
        ]
    return data


@payments.command("simulate")
@click.argument("order_id")
@click.option(
    "--outcome",
    type=click.Choice(["pay", "fail", "abandon"]),
    default="pay",
    show_default=True,
    help="pay; fail (the bank declines); abandon (never pay: the order expires)",
)
@json_option
@click.pass_context
def simulate(ctx: click.Context, order_id: str, outcome: str, as_json: bool) -> None:
    """Play the resident paying for an order through the sandbox provider.

    The sandbox's signed notification is then received as it would be over HTTP.
    """
    payer = _sandbox(get(ctx, PaymentProviders))
    intent = get(ctx, StartPaymentHandler)(
        StartPayment(OrderId(order_id), Channel.SANDBOX), actor=CONSOLE
    )
    if outcome == "abandon":
        _done(as_json, f"payment {intent.payment_id} started and left unpaid", intent.payment_id)
        return
    body, headers = (payer.pay if outcome == "pay" else payer.fail)(intent.payment_id)
    done = get(ctx, ConfirmPaymentHandler)(ConfirmPayment("sandbox", body, headers))
    if as_json:
        order = None if done.order is None else order_data(done.order)
        emit_data(
            {"outcome": done.outcome.value, "payment": payment_data(done.payment), "order": order}
        )
        return
    status = done.order.status.value if done.order is not None else "unchanged"
    click.echo(
        f"payment {done.payment.id} of order {order_id}: {done.outcome.value} "
        f"({intent.amount.format()}; the order is {status.replace('_', ' ')})"
    )


class _SandboxPayer(Protocol):
    def pay(self, payment_id: PaymentId) -> tuple[bytes, dict[str, str]]: ...

    def fail(self, payment_id: PaymentId) -> tuple[bytes, dict[str, str]]: ...


def _sandbox(providers: PaymentProviders) -> _SandboxPayer:
    if "sandbox" not in providers.names:
        raise AdapterError(
            "payments simulate needs the sandbox payment provider (SHEQU_PAYMENTS=sandbox); "
            f"this installation takes {', '.join(providers.names)}"
        )
    return cast(_SandboxPayer, providers.get("sandbox"))


def _done(as_json: bool, message: str, payment_id: str) -> None:
    if as_json:
        emit_data({"outcome": "started", "payment_id": payment_id})
    else:
        click.echo(message)


@payments.command("list")
@click.option("--order", "order_id", help="the payments of one order")
@click.option("--status", type=click.Choice([s.value for s in PaymentStatus]))
@click.option("--provider")
@click.option("--flagged", is_flag=True, help="only those an operator must look at")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@json_option
@click.pass_context
def list_payments(
    ctx: click.Context,
    order_id: str | None,
    status: str | None,
    provider: str | None,
    flagged: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Payments, newest first."""
    query = PaymentQuery(
        order_id=None if order_id is None else OrderId(order_id),
        status=None if status is None else PaymentStatus(status),
        provider=provider,
        flagged=flagged,
        limit=limit,
    )
    found = get(ctx, ListPaymentsHandler)(ListPayments(query), actor=CONSOLE)
    if as_json:
        emit_data([payment_data(p) for p in found])
        return
    rows = [
        [
            p.id,
            p.order_id,
            p.channel.value,
            p.status.value,
            p.amount.format(),
            p.refunded.format(),
            p.flag,
        ]
        for p in found
    ]
    table(["payment", "order", "channel", "status", "amount", "refunded", "flag"], rows)


@payments.command("show")
@click.argument("payment_id")
@json_option
@click.pass_context
def show(ctx: click.Context, payment_id: str, as_json: bool) -> None:
    """A payment with its refunds and its log."""
    p = get(ctx, GetPaymentHandler)(PaymentId(payment_id), actor=CONSOLE)
    if as_json:
        emit_data(payment_data(p, entries=True))
        return
    click.echo(
        f"payment {p.id} of order {p.order_id} ({p.provider}/{p.channel.value}): {p.status.value}"
    )
    click.echo(
        f"amount {p.amount}  charged {p.charged}  refunded {p.refunded}  "
        f"refund pending {p.refund_pending}"
    )
    if p.flag:
        click.echo(f"flagged: {p.flag}")
    table(
        ["at", "entry", "key", "amount", "note"],
        [[e.at.isoformat(), e.kind.value, e.key, e.amount.format(), e.note] for e in p.entries],
    )


@payments.command("clear-flag")
@click.argument("payment_id")
@click.option("--note", required=True, help="how it was dealt with (up to 200 characters)")
@json_option
@click.pass_context
def clear_flag(ctx: click.Context, payment_id: str, note: str, as_json: bool) -> None:
    """Record that a flagged payment was dealt with; the log keeps the flag and the note."""
    p = get(ctx, ClearPaymentFlagHandler)(
        ClearPaymentFlag(PaymentId(payment_id), note), actor=CONSOLE
    )
    if as_json:
        emit_data(payment_data(p))
    else:
        click.echo(f"payment {p.id}: flag cleared")


@payments.command("sweep")
@click.option(
    "--older-than",
    "minutes",
    type=click.IntRange(1, 7 * 24 * 60),
    default=5,
    show_default=True,
    help="minutes since the payment was started",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=500, show_default=True)
@json_option
@click.pass_context
def sweep(ctx: click.Context, minutes: int, limit: int, as_json: bool) -> None:
    """Ask the providers about payments still open (a scheduler's job, every few minutes).

    A payment the provider took but whose notification never came is applied as the
    notification would have been; an unpaid payment whose order has ended is closed at
    its provider, so nobody can pay it any more.
    """
    done = get(ctx, SweepPaymentsHandler)(
        SweepPayments(older_than=dt.timedelta(minutes=minutes), limit=limit)
    )
    if as_json:
        emit_data(attrs.asdict(done))
        return
    click.echo(
        f"{done.paid} paid (notification lost), {done.closed} closed (order ended), "
        f"{done.changed} failed or closed at the provider, {done.open} still open, "
        f"{done.unreachable} not reached"
    )


@payments.command("retry-refunds")
@json_option
@click.pass_context
def retry_refunds(ctx: click.Context, as_json: bool) -> None:
    """Send refunds that wait for their provider, and ask after unconfirmed ones.

    For a scheduler: run it every few minutes. Exits 1 when a provider refused a refund
    (an operator must look: `shequ payments list --flagged`).
    """
    done = get(ctx, RefundPayer).retry()
    if as_json:
        emit_data(
            {
                "sent": done.sent,
                "confirmed": done.confirmed,
                "failed": done.failed,
                "waiting": done.waiting,
            }
        )
    else:
        click.echo(
            f"{done.confirmed} refund(s) confirmed, {done.sent} sent and awaiting confirmation, "
            f"{done.waiting} still waiting for the provider, {done.failed} refused"
        )
    if done.failed:
        ctx.exit(1)


CSV_COLUMNS = (
    "provider",
    "kind",
    "payment_id",
    "refund_id",
    "match",
    "ours",
    "theirs",
    "our_status",
    "provider_ref",
)


def _plain(money: Money | None) -> str:
    return "" if money is None else money.plain()


@payments.command("reconcile")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="the bill's day, China Standard Time",
)
@click.option(
    "--provider", "providers", multiple=True, help="one provider (repeatable); all by default"
)
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV on stdout.")
@click.option("--all", "show_all", is_flag=True, help="list matched lines too")
@click.pass_context
def reconcile(
    ctx: click.Context,
    day: dt.datetime,
    providers: tuple[str, ...],
    as_json: bool,
    as_csv: bool,
    show_all: bool,
) -> None:
    """Match each provider's bill for a day against our payment records (对账).

    Exits 1 when anything is unmatched, so a scheduler can alert.
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    done = get(ctx, ReconcilePaymentsHandler)(
        ReconcilePayments(day.date(), providers), actor=CONSOLE
    )
    lines = done.lines if (show_all or as_json or as_csv) else done.unmatched
    rows = [
        [
            line.provider,
            line.kind.value,
            line.payment_id,
            line.refund_id or "",
            line.match.value,
            _plain(line.ours),
            _plain(line.theirs),
            line.our_status,
            line.provider_ref,
        ]
        for line in lines
    ]
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    elif as_json:
        emit_data(
            {
                "date": done.day.isoformat(),
                "providers": list(done.providers),
                "counts": {m.value: done.count(m) for m in Match},
                "lines": [
                    {
                        "provider": line.provider,
                        "kind": line.kind.value,
                        "payment_id": line.payment_id,
                        "refund_id": line.refund_id,
                        "match": line.match.value,
                        "ours_fen": None if line.ours is None else line.ours.fen,
                        "theirs_fen": None if line.theirs is None else line.theirs.fen,
                        "our_status": line.our_status,
                        "provider_ref": line.provider_ref,
                    }
                    for line in lines
                ],
            }
        )
    else:
        _summary(done)
        if rows:
            table(list(CSV_COLUMNS), rows)
    if done.unmatched:
        ctx.exit(1)


def _summary(done: Reconciliation) -> None:
    counts = ", ".join(f"{done.count(m)} {m.value.replace('_', ' ')}" for m in Match)
    click.echo(f"{done.day.isoformat()} {'+'.join(done.providers)}: {counts}")
