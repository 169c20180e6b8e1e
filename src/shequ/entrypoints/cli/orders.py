"""``shequ orders …``: orders after checkout, for operators."""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import click

from shequ.application.ordering.checkout import OrderItem, PlaceOrder, PlaceOrderHandler
from shequ.application.ordering.orders import (
    AdvanceOrder,
    AdvanceOrderHandler,
    CancelOrder,
    CancelOrderHandler,
    ExpireOrders,
    ExpireOrdersHandler,
    GetOrder,
    GetOrderHandler,
    ListOrders,
    ListOrdersHandler,
)
from shequ.application.ordering.refunds import ListRefunds, ListRefundsHandler
from shequ.application.policy import CONSOLE
from shequ.domain.catalog import read_time
from shequ.domain.ids import AccountId, CommunityId, GrantId, OrderId, SellerId
from shequ.domain.ordering import Delivery, Fulfilment, Order, OrderAction, OrderStatus
from shequ.entrypoints.cli.main import counter, emit_data, get, json_option, table
from shequ.entrypoints.cli.ordering import (
    at,
    order_data,
    refund_data,
    refund_state,
    show_order,
    sku_quantities,
)

__all__ = ["orders"]

FULFILMENT_STEPS = (
    OrderAction.PACK,
    OrderAction.DISPATCH,
    OrderAction.DELIVER,
    OrderAction.READY,
    OrderAction.PICK_UP,
    OrderAction.COMPLETE,
)
EXPORT_PAGE = 500
EXPORT_COLUMNS = (
    "order_id",
    "placed_at",
    "status",
    "community_id",
    "resident_id",
    "fulfilment",
    "pickup_point_id",
    "sku_id",
    "name",
    "spec",
    "unit_price",
    "quantity",
    "subtotal",
    "discount",
    "payable",
    "refunded",
)


@click.group()
def orders() -> None:
    """Orders: list, show, fulfil, cancel, expire, export, and place for a resident."""


filter_options = [
    click.option("--community", help="Orders placed in this community id."),
    click.option(
        "--status", type=click.Choice([s.value for s in OrderStatus]), help="In this status."
    ),
    click.option("--since", help="Placed at or after this time (ISO 8601; UTC+8 if no zone)."),
    click.option("--until", help="Placed before this time."),
    click.option("--pickup-point", help="To be picked up at this pickup point."),
    click.option("--seller", help="With goods of this seller id."),
    click.option("--resident", help="Placed by this resident's account id."),
]


def _with_filters(f: Any) -> Any:
    for option in reversed(filter_options):
        f = option(f)
    return f


def _query(filters: dict[str, Any], *, cursor: str | None = None, limit: int = 50) -> ListOrders:
    since, until = filters["since"], filters["until"]
    return ListOrders(
        resident_id=AccountId(filters["resident"]) if filters["resident"] else None,
        community_id=CommunityId(filters["community"]) if filters["community"] else None,
        status=OrderStatus(filters["status"]) if filters["status"] else None,
        since=read_time(since, "since") if since else None,
        until=read_time(until, "until") if until else None,
        pickup_point_id=filters["pickup_point"] or None,
        seller_id=SellerId(filters["seller"]) if filters["seller"] else None,
        cursor=cursor,
        limit=limit,
    )


def _fulfilment(order: Order) -> str:
    if order.delivery.kind is not Fulfilment.DELIVERY:
        return order.delivery.kind.value
    if order.delivery.slot_id:
        return f"delivery in slot {order.delivery.slot_id}"
    return "delivery, express" if order.delivery.express else "delivery"


@orders.command("list")
@_with_filters
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--cursor", help="Where the previous page ended (printed with it).")
@json_option
@click.pass_context
def list_orders(
    ctx: click.Context, /, limit: int, cursor: str | None, as_json: bool, **filters: Any
) -> None:
    """List orders newest first, one page at a time."""
    page = get(ctx, ListOrdersHandler)(_query(filters, cursor=cursor, limit=limit), actor=CONSOLE)
    if as_json:
        emit_data({"items": [order_data(o) for o in page.items], "next_cursor": page.next_cursor})
        return
    table(
        ["ORDER", "PLACED", "STATUS", "RESIDENT", "FULFILMENT", "UNITS", "TOTAL", "REFUNDED"],
        [
            [
                o.id,
                at(o.placed_at),
                o.status.value,
                o.resident_id,
                _fulfilment(o),
                str(sum(line.quantity for line in o.lines)),
                o.total.format(),
                o.refunded.format() if o.refunded else "",
            ]
            for o in page.items
        ],
    )
    click.echo(f"{len(page.items)} order(s)", err=True)
    if page.next_cursor:
        click.echo(f"more: --cursor {page.next_cursor}", err=True)


@orders.command("show")
@click.argument("order_id")
@json_option
@click.pass_context
def show(ctx: click.Context, order_id: str, as_json: bool) -> None:
    """Show one order: its lines, money, refunds and timeline."""
    order = get(ctx, GetOrderHandler)(GetOrder(OrderId(order_id)), actor=CONSOLE)
    refunds = get(ctx, ListRefundsHandler)(ListRefunds(order_id=order.id), actor=CONSOLE)
    if as_json:
        emit_data(order_data(order, refunds))
    else:
        show_order(order, refunds)


@orders.command("advance")
@click.argument("order_id")
@click.argument("action", metavar="ACTION", type=click.Choice([a.value for a in FULFILMENT_STEPS]))
@click.option("--note", default="", help="Kept in the order's timeline (up to 500 characters).")
@json_option
@click.pass_context
def advance(ctx: click.Context, order_id: str, action: str, note: str, as_json: bool) -> None:
    """Move an order one fulfilment step on.

    A pickup order is packed, made ready at its pickup point, picked up and completed; a
    delivery order is packed, dispatched, delivered and completed.
    """
    order = get(ctx, AdvanceOrderHandler)(
        AdvanceOrder(OrderId(order_id), OrderAction(action), note=note), actor=CONSOLE
    )
    if as_json:
        emit_data(order_data(order))
    else:
        click.echo(f"order {order.id} is {order.status.value}")


@orders.command("cancel")
@click.argument("order_id")
@click.option("--reason", default="", help="Kept in the order's timeline.")
@json_option
@click.pass_context
def cancel(ctx: click.Context, order_id: str, reason: str, as_json: bool) -> None:
    """Cancel an order before it is packed; a paid order is refunded in full."""
    done = get(ctx, CancelOrderHandler)(CancelOrder(OrderId(order_id), reason), actor=CONSOLE)
    if as_json:
        emit_data(
            {
                "order": order_data(done.order),
                "refund": None if done.refund is None else refund_data(done.refund),
            }
        )
        return
    click.echo(f"cancelled order {done.order.id}")
    if done.refund is not None:
        click.echo(
            f"  refund {done.refund.id}: {done.refund.amount.format()}, {refund_state(done.refund)}"
        )


@orders.command("expire")
@click.option(
    "--batch",
    default=100,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Orders per transaction.",
)
@json_option
@click.pass_context
def expire(ctx: click.Context, batch: int, as_json: bool) -> None:
    """Expire unpaid orders past their deadline; their stock and coupons go back.

    For a scheduler: safe to run in several processes at once, and again at any time.
    """
    advance_count, done = counter("expired")
    expired = 0

    def counted(n: int) -> None:
        nonlocal expired
        expired += n
        if advance_count is not None:
            advance_count(n)

    try:  # every batch commits on its own, and one that loses a race is retried
        get(ctx, ExpireOrdersHandler)(ExpireOrders(batch=batch), actor=CONSOLE, progress=counted)
    finally:
        done()
    if as_json:
        emit_data({"expired": expired})
    else:
        click.echo(f"expired {expired} unpaid order(s)")


def _all_orders(
    ctx: click.Context,
    filters: dict[str, Any],
    progress: Callable[[int], None] | None = None,
) -> Iterator[Order]:
    """Every matching order, newest first, a page at a time; ``progress`` hears of each page."""
    listing = get(ctx, ListOrdersHandler)
    cursor: str | None = None
    while True:
        page = listing(_query(filters, cursor=cursor, limit=EXPORT_PAGE), actor=CONSOLE)
        yield from page.items
        if progress is not None:
            progress(len(page.items))
        cursor = page.next_cursor
        if cursor is None:
            return


def _write_rows(out: IO[str], found: Iterator[Order]) -> tuple[int, int]:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = lines = 0
    for order in found:
        count += 1
        for line in order.lines:
            lines += 1
            writer.writerow(
                [
                    order.id,
                    order.placed_at.isoformat(),
                    order.status.value,
                    order.community_id,
                    order.resident_id,
                    order.delivery.kind.value,
                    order.delivery.pickup_point_id or "",
                    line.sku_id,
                    line.name,
                    line.spec,
                    line.unit_price.plain(),
                    line.quantity,
                    line.subtotal.plain(),
                    line.discount.plain(),
                    line.payable.plain(),
                    line.refunded_amount.plain(),
                ]
            )
    return count, lines


@orders.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@_with_filters
@json_option
@click.pass_context
def export(ctx: click.Context, /, file: Path, as_json: bool, **filters: Any) -> None:
    """Write every matching order as CSV, one row per order line, to FILE (or - for stdout)."""
    if str(file) == "-":
        if as_json:
            raise click.UsageError("--json needs a FILE: with - the CSV itself is the output")
        count, lines = _write_rows(sys.stdout, _all_orders(ctx, filters))
        click.echo(f"{count} order(s), {lines} line(s)", err=True)
        return
    partial = file.with_name(f".{file.name}.partial")
    advance_count, done = counter("exported orders")
    try:
        # UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese right
        with partial.open("w", encoding="utf-8-sig", newline="") as out:
            count, lines = _write_rows(out, _all_orders(ctx, filters, advance_count))
        os.replace(partial, file)
    except OSError as e:
        raise click.BadParameter(f"cannot write {file}: {e.strerror}", param_hint="FILE") from e
    finally:
        done()
        partial.unlink(missing_ok=True)
    if as_json:
        emit_data({"file": str(file), "orders": count, "lines": lines})
    else:
        click.echo(f"exported {count} order(s), {lines} line(s) to {file}")


@orders.command("place")
@click.option("--resident", required=True, help="The resident's account id.")
@click.option("--community", required=True, help="The community id the order is placed in.")
@click.option("--sku", "skus", multiple=True, help="SKU:QTY, such as abc123:2. Repeat for more.")
@click.option("--from-cart", is_flag=True, help="Order what the resident's cart holds now.")
@click.option("--pickup-point", help="Collected at this pickup point.")
@click.option("--address", help="Delivered to this address id of the resident.")
@click.option("--express", is_flag=True, help="Express delivery (with --address).")
@click.option("--slot", help="Delivered in this delivery slot (with --address).")
@click.option("--coupon", "coupons", multiple=True, help="A coupon copy (grant id) to use.")
@click.option("--no-coupons", is_flag=True, help="Use no coupon.")
@click.option("--key", required=True, help="Idempotency key: the same key places one order.")
@json_option
@click.pass_context
def place(
    ctx: click.Context,
    resident: str,
    community: str,
    skus: tuple[str, ...],
    from_cart: bool,
    pickup_point: str | None,
    address: str | None,
    express: bool,
    slot: str | None,
    coupons: tuple[str, ...],
    no_coupons: bool,
    key: str,
    as_json: bool,
) -> None:
    """Place an order for a resident, who then pays for it.

    Without --coupon or --no-coupons, the best allowed combination of the resident's
    coupons is used.
    """
    if bool(skus) == from_cart:
        raise click.UsageError("give --sku SKU:QTY (one or more) or --from-cart")
    if (pickup_point is None) == (address is None):
        raise click.UsageError("give --pickup-point or --address")
    if (express or slot) and address is None:
        raise click.UsageError("--express and --slot are for delivery to an --address")
    if coupons and no_coupons:
        raise click.UsageError("give --coupon or --no-coupons, not both")
    delivery = (
        Delivery(Fulfilment.PICKUP, pickup_point_id=pickup_point)
        if address is None
        else Delivery(Fulfilment.DELIVERY, address_id=address, express=express, slot_id=slot)
    )
    grant_ids: tuple[GrantId, ...] | None = None
    if no_coupons or coupons:
        grant_ids = tuple(GrantId(c) for c in coupons)
    order = get(ctx, PlaceOrderHandler)(
        PlaceOrder(
            resident_id=AccountId(resident),
            community_id=CommunityId(community),
            delivery=delivery,
            idempotency_key=key,
            items=tuple(OrderItem(s, q) for s, q in sku_quantities(skus).items()),
            from_cart=from_cart,
            grant_ids=grant_ids,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(order_data(order))
        return
    saved = f", {order.discount.format()} off" if order.discount else ""
    click.echo(
        f"placed order {order.id}: {order.total.format()}{saved}, "
        f"{len(order.lines)} line(s), {_fulfilment(order)}"
    )
    if order.grant_ids:
        click.echo(f"  coupons used: {', '.join(order.grant_ids)}")
    if order.status is OrderStatus.PENDING_PAYMENT:
        click.echo(f"  to be paid by {at(order.expires_at)}")
