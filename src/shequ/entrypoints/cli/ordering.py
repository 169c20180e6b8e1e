"""What the ordering commands share: reading ``SKU:QTY`` and showing orders, refunds and
coupons, as JSON (money in integer ``*_fen`` fields) or as text (money as ¥ amounts)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import click

from shequ.domain.errors import InvalidInput, InvalidQuantity
from shequ.domain.ids import SkuId
from shequ.domain.money import Money
from shequ.domain.ordering import (
    MAX_QUANTITY,
    Coupon,
    CouponGrant,
    Delivery,
    Fulfilment,
    Order,
    Refund,
    RefundStatus,
)
from shequ.entrypoints.cli.main import table

__all__ = [
    "at",
    "coupon_data",
    "fen",
    "fulfilment_text",
    "grant_data",
    "moment",
    "order_data",
    "refund_data",
    "refund_state",
    "refunds_table",
    "show_order",
    "sku_quantities",
]

_DIGITS = re.compile(r"[0-9]{1,9}")


def sku_quantities(values: Iterable[str], option: str = "--sku") -> dict[SkuId, int]:
    """``SKU:QTY`` values as units per SKU; a SKU given twice adds up."""
    units: dict[SkuId, int] = {}
    for value in values:
        sku, colon, quantity = value.strip().partition(":")
        if not colon or not sku.strip():
            raise InvalidInput(f"{option} takes SKU:QTY, such as abc123:2, not {value!r}")
        quantity = quantity.strip()
        if not _DIGITS.fullmatch(quantity):
            raise InvalidQuantity(
                f"{option} {value!r}: the quantity must be a whole number from 1 to {MAX_QUANTITY}",
                field="quantity",
            )
        sku_id = SkuId(sku.strip())
        units[sku_id] = units.get(sku_id, 0) + int(quantity)
    for sku_id, total in units.items():
        if not 1 <= total <= MAX_QUANTITY:
            raise InvalidQuantity(
                f"{option} {sku_id}: the quantity must be a whole number from 1 to "
                f"{MAX_QUANTITY}, not {total}",
                field="quantity",
            )
    return units


def fen(amount: Money | None) -> int | None:
    return None if amount is None else amount.fen


def moment(value: dt.datetime | None) -> str | None:
    """A time for JSON: ISO 8601 with its zone."""
    return None if value is None else value.isoformat()


def at(value: dt.datetime | None) -> str:
    """A time for people: UTC, to the second."""
    return "" if value is None else value.astimezone(dt.UTC).isoformat(timespec="seconds")


def fulfilment_text(delivery: Delivery) -> str:
    if delivery.kind is Fulfilment.VOUCHER:
        return "vouchers, redeemed at the merchant"
    if delivery.kind is Fulfilment.PICKUP:
        return f"pickup at {delivery.pickup_point_id}"
    when = (
        ", express"
        if delivery.express
        else f", slot {delivery.slot_id}"
        if delivery.slot_id
        else ""
    )
    return f"delivery to address {delivery.address_id}{when}"


# ---------------------------------------------------------------- JSON


def order_data(order: Order, refunds: Iterable[Refund] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": order.id,
        "status": order.status.value,
        "resident_id": order.resident_id,
        "community_id": order.community_id,
        "fulfilment": order.delivery.kind.value,
        "pickup_point_id": order.delivery.pickup_point_id,
        "pickup_date": None if order.pickup_date is None else order.pickup_date.isoformat(),
        "address_id": order.delivery.address_id,
        "express": order.delivery.express,
        "slot_id": order.delivery.slot_id,
        "placed_at": moment(order.placed_at),
        "pay_by": moment(order.expires_at),
        "paid_at": moment(order.paid_at),
        "payment_ref": order.payment_ref,
        "subtotal_fen": order.subtotal.fen,
        "discount_fen": order.discount.fen,
        "delivery_fee_fen": order.delivery_fee.fen,
        "total_fen": order.total.fen,
        "refunded_fen": order.refunded.fen,
        "coupon_grant_ids": list(order.grant_ids),
        "lines": [
            {
                "sku_id": line.sku_id,
                "product_id": line.product_id,
                "seller_id": line.seller_id,
                "name": line.name,
                "spec": line.spec,
                "unit_price_fen": line.unit_price.fen,
                "quantity": line.quantity,
                "subtotal_fen": line.subtotal.fen,
                "discount_fen": line.discount.fen,
                "payable_fen": line.payable.fen,
                "refunded_quantity": line.refunded_quantity,
                "refunded_fen": line.refunded_amount.fen,
                "pending_refund_quantity": line.pending_quantity,
                "pending_refund_fen": line.pending_amount.fen,
            }
            for line in order.lines
        ],
        "timeline": [
            {"at": moment(change.at), "status": change.status.value, "note": change.note}
            for change in order.history
        ],
    }
    if refunds is not None:
        data["refunds"] = [refund_data(r) for r in refunds]
    return data


def refund_data(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "order_id": refund.order_id,
        "resident_id": refund.resident_id,
        "status": refund.status.value,
        "reason": refund.reason.value,
        "amount_fen": refund.amount.fen,
        "delivery_fee_fen": refund.delivery_fee.fen,
        "items": [
            {"sku_id": i.sku_id, "quantity": i.quantity, "amount_fen": i.amount.fen}
            for i in refund.items
        ],
        "comment": refund.comment,
        "photos": list(refund.photos),
        "requested_at": moment(refund.requested_at),
        "decided_at": moment(refund.decided_at),
        "decided_by": refund.decided_by,
        "note": refund.note,
        "restocked": refund.restocked,
        "payment_refund_ref": refund.payment_refund_ref,
        "awaiting_payout": _awaiting_payout(refund),
    }


def coupon_data(coupon: Coupon) -> dict[str, Any]:
    return {
        "id": coupon.id,
        "name": coupon.name,
        "kind": coupon.kind.value,
        "terms": coupon.terms.describe(),
        "amount_fen": coupon.amount.fen,
        "threshold_fen": coupon.threshold.fen,
        "percent_off": coupon.percent_off,
        "cap_fen": fen(coupon.cap),
        "scope": {
            "kind": coupon.scope_kind.value,
            "category": coupon.scope_category,
            "sku_ids": list(coupon.scope_sku_ids),
            "seller_id": coupon.scope_seller_id,
        },
        "seller_id": coupon.seller_id,
        "valid_from": moment(coupon.valid_from),
        "valid_until": moment(coupon.valid_until),
        "per_resident_limit": coupon.per_resident_limit,
        "total_limit": coupon.total_limit,
        "issued": coupon.issued,
        "claim_code": coupon.claim_code,
    }


def grant_data(grant: CouponGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "coupon_id": grant.coupon_id,
        "resident_id": grant.resident_id,
        "granted_at": moment(grant.granted_at),
        "used_by": grant.used_by,
    }


# ---------------------------------------------------------------- text


def _awaiting_payout(refund: Refund) -> bool:
    return refund.status is RefundStatus.APPROVED and refund.payment_refund_ref is None


def refund_state(refund: Refund) -> str:
    if refund.status is not RefundStatus.APPROVED:
        return refund.status.value
    if refund.payment_refund_ref is None:
        return "approved, awaiting payout"
    return "approved, handed to its payment"


def refunds_table(refunds: Iterable[Refund]) -> None:
    table(
        ["REFUND", "ORDER", "STATUS", "REASON", "AMOUNT", "REQUESTED", "NOTE"],
        [
            [
                r.id,
                r.order_id,
                refund_state(r),
                r.reason.value,
                r.amount.format(),
                at(r.requested_at),
                r.note,
            ]
            for r in refunds
        ],
    )


def show_order(order: Order, refunds: list[Refund]) -> None:
    click.echo(f"order {order.id}  {order.status.value}")
    click.echo(f"  resident {order.resident_id}, community {order.community_id}")
    click.echo(f"  {fulfilment_text(order.delivery)}")
    if order.pickup_date is not None:
        click.echo(f"  to be collected on {order.pickup_date.isoformat()}")
    click.echo(f"  placed {at(order.placed_at)}")
    if order.paid_at is not None:
        click.echo(f"  paid {at(order.paid_at)} (payment {order.payment_ref})")
    elif not order.status.final:
        click.echo(f"  to be paid by {at(order.expires_at)}")
    table(
        ["SKU", "NAME", "SPEC", "PRICE", "QTY", "SUBTOTAL", "DISCOUNT", "PAYABLE", "REFUNDED"],
        [
            [
                line.sku_id,
                line.name,
                line.spec,
                line.unit_price.format(),
                str(line.quantity),
                line.subtotal.format(),
                line.discount.format(),
                line.payable.format(),
                f"{line.refunded_amount.format()} ({line.refunded_quantity})"
                if line.refunded_quantity or line.refunded_amount
                else "",
            ]
            for line in order.lines
        ],
    )
    money = [
        ("subtotal", order.subtotal),
        ("discount", -order.discount),
        ("delivery", order.delivery_fee),
        ("total", order.total),
    ]
    if order.refunded:
        money.append(("refunded", -order.refunded))
    for label, amount in money:
        click.echo(f"  {label:<9}{amount.format():>12}")
    if order.grant_ids:
        click.echo(f"  coupons used: {', '.join(order.grant_ids)}")
    if refunds:
        click.echo("refunds:")
        refunds_table(refunds)
    click.echo("timeline:")
    table(
        ["AT", "STATUS", "NOTE"],
        [[at(change.at), change.status.value, change.note] for change in order.history],
    )
