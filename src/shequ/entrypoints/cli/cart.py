"""``shequ cart …``: a resident's cart, filled and priced on the resident's behalf."""

from __future__ import annotations

from typing import Any

import click

from shequ.application.ordering.cart import (
    AddToCart,
    AddToCartHandler,
    CartView,
    ViewCart,
    ViewCartHandler,
)
from shequ.application.ordering.coupons import MyCoupons, MyCouponsHandler
from shequ.application.policy import CONSOLE
from shequ.domain.ids import AccountId, CommunityId, SkuId
from shequ.domain.ordering import Cart, Fulfilment, Quote
from shequ.entrypoints.cli.main import emit_data, get, json_option, table
from shequ.entrypoints.cli.ordering import moment

__all__ = ["cart"]

resident_options = [
    click.option("--resident", required=True, help="The resident's account id."),
    click.option("--community", required=True, help="The community id the cart is for."),
]


def _with_resident(f: Any) -> Any:
    for option in reversed(resident_options):
        f = option(f)
    return f


@click.group()
def cart() -> None:
    """A resident's cart: one per resident per community."""


def _cart_data(found: Cart) -> dict[str, Any]:
    return {
        "id": found.id,
        "resident_id": found.resident_id,
        "community_id": found.community_id,
        "updated_at": moment(found.updated_at),
        "lines": [
            {"sku_id": line.sku_id, "quantity": line.quantity, "added_at": moment(line.added_at)}
            for line in found.lines
        ],
    }


@cart.command("add")
@_with_resident
@click.argument("sku_id")
@click.argument("quantity", type=int)
@json_option
@click.pass_context
def add(
    ctx: click.Context, resident: str, community: str, sku_id: str, quantity: int, as_json: bool
) -> None:
    """Put QUANTITY more units of a SKU in the cart."""
    found = get(ctx, AddToCartHandler)(
        AddToCart(AccountId(resident), CommunityId(community), SkuId(sku_id), quantity),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(_cart_data(found))
        return
    units = sum(line.quantity for line in found.lines)
    click.echo(
        f"cart of {found.resident_id}: {found.quantity_of(SkuId(sku_id))} of SKU {sku_id}; "
        f"{len(found.lines)} line(s), {units} unit(s) in all"
    )


def _quote_data(quote: Quote, view: CartView) -> dict[str, Any]:
    breakdown = quote.breakdown
    return {
        "lines": [
            {
                "sku_id": line.sku_id,
                "unit_price_fen": line.unit_price.fen,
                "quantity": line.quantity,
                "subtotal_fen": line.subtotal.fen,
                "discount_fen": line.discount.fen,
                "payable_fen": line.payable.fen,
            }
            for line in breakdown.lines
        ],
        "subtotal_fen": breakdown.subtotal.fen,
        "discount_fen": breakdown.discount.fen,
        "delivery_fee_fen": breakdown.delivery_fee.fen,
        "delivery_waived_fen": breakdown.delivery_waived.fen,
        "total_fen": breakdown.total.fen,
        "savings_fen": quote.savings.fen,
        "coupons": [
            {
                "coupon_id": c.coupon_id,
                "grant_id": view.coupon_grants.get(c.coupon_id),
                "kind": c.kind.value,
                "saving_fen": c.saving.fen,
            }
            for c in breakdown.coupons
        ],
    }


def _view_data(view: CartView, fulfilment: Fulfilment, express: bool) -> dict[str, Any]:
    return {
        "resident_id": view.resident_id,
        "community_id": view.community_id,
        "fulfilment": fulfilment.value,
        "express": express,
        "items": [
            {
                "sku_id": item.sku_id,
                "quantity": item.quantity,
                "name": item.offer.name if item.offer else None,
                "spec": item.offer.spec if item.offer else None,
                "unit_price_fen": item.offer.price.fen if item.offer else None,
                "stock": item.offer.stock if item.offer else None,
                "problem": item.problem.value if item.problem else None,
            }
            for item in view.items
        ],
        "quote": None if view.quote is None else _quote_data(view.quote, view),
    }


def _show_view(ctx: click.Context, view: CartView) -> None:
    if not view.items:
        click.echo(f"the cart of {view.resident_id} in {view.community_id} is empty")
        return
    quote = view.quote
    priced = {line.sku_id: line for line in quote.breakdown.lines} if quote else {}
    table(
        ["SKU", "NAME", "SPEC", "PRICE", "QTY", "PAYABLE", "PROBLEM"],
        [
            [
                item.sku_id,
                item.offer.name if item.offer else "",
                item.offer.spec if item.offer else "",
                item.offer.price.format() if item.offer else "",
                str(item.quantity),
                priced[item.sku_id].payable.format() if item.sku_id in priced else "",
                item.problem.value.replace("_", " ") if item.problem else "",
            ]
            for item in view.items
        ],
    )
    if quote is None:
        click.echo("nothing in the cart can be ordered now")
        return
    b = quote.breakdown
    money = [("subtotal", b.subtotal), ("discount", -b.discount), ("delivery", b.delivery_fee)]
    if b.delivery_waived:
        money.append(("waived", -b.delivery_waived))
    money.append(("total", b.total))
    for label, amount in money:
        click.echo(f"  {label:<9}{amount.format():>12}")
    if b.coupons:
        held = get(ctx, MyCouponsHandler)(MyCoupons(view.resident_id), actor=CONSOLE)
        names = {h.coupon.id: h.coupon.name for h in held}
        click.echo(f"coupons (saving {quote.savings.format()}):")
        for c in b.coupons:
            grant = view.coupon_grants.get(c.coupon_id, "")
            click.echo(
                f"  {names.get(c.coupon_id, c.coupon_id)} ({c.kind.label}) "
                f"{c.saving.format()} off, grant {grant}"
            )
    skipped = len(view.items) - len(view.orderable)
    if skipped:
        click.echo(f"{skipped} line(s) with a problem are left out of the price", err=True)


@cart.command("show")
@_with_resident
@click.option("--delivery", is_flag=True, help="Price for delivery to the door (default pickup).")
@click.option("--express", is_flag=True, help="Express delivery (with --delivery).")
@json_option
@click.pass_context
def show(
    ctx: click.Context,
    resident: str,
    community: str,
    delivery: bool,
    express: bool,
    as_json: bool,
) -> None:
    """Show the cart: each line with any problem, the price of what can be ordered now,
    and the best of the resident's coupons."""
    if express and not delivery:
        raise click.UsageError("--express is for --delivery")
    fulfilment = Fulfilment.DELIVERY if delivery else Fulfilment.PICKUP
    view = get(ctx, ViewCartHandler)(
        ViewCart(AccountId(resident), CommunityId(community), fulfilment, express),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(_view_data(view, fulfilment, express))
    else:
        _show_view(ctx, view)
