"""``shequ coupons …``: create coupons (优惠券), issue copies to residents, list them."""

from __future__ import annotations

import click

from shequ.application.ordering.coupons import (
    CreateCoupon,
    CreateCouponHandler,
    IssueCoupon,
    IssueCouponHandler,
    ListCoupons,
    ListCouponsHandler,
)
from shequ.application.policy import CONSOLE
from shequ.domain.catalog import read_time
from shequ.domain.errors import InvalidInput
from shequ.domain.ids import AccountId, CouponId, SellerId, SkuId
from shequ.domain.money import Money
from shequ.domain.ordering import Coupon, CouponKind, CouponScope, CouponTerms, ScopeKind
from shequ.entrypoints.cli.main import emit_data, get, json_option, table
from shequ.entrypoints.cli.ordering import at, coupon_data, grant_data

__all__ = ["coupons"]


@click.group()
def coupons() -> None:
    """Coupons: the platform's and sellers'."""


def _scope(text: str) -> CouponScope:
    """``order``, ``category:PATH``, ``skus:ID,ID`` or ``seller:ID``."""
    kind, _, value = text.strip().partition(":")
    value = value.strip()
    if kind == ScopeKind.ORDER and not value:
        return CouponScope()
    if kind == ScopeKind.CATEGORY and value:
        return CouponScope(ScopeKind.CATEGORY, category=value)
    if kind == ScopeKind.SKUS and value:
        ids = frozenset(SkuId(s.strip()) for s in value.split(",") if s.strip())
        if ids:
            return CouponScope(ScopeKind.SKUS, sku_ids=ids)
    if kind == ScopeKind.SELLER and value:
        return CouponScope(ScopeKind.SELLER, seller_id=SellerId(value))
    raise InvalidInput(
        f"--scope {text!r}: give order, category:PATH, skus:ID,ID or seller:ID", field="scope"
    )


def _yuan(text: str | None) -> Money:
    return Money(0) if text is None else Money.parse(text)


def _describe(coupon: Coupon) -> str:
    issuer = f"seller {coupon.seller_id}" if coupon.seller_id else "platform"
    return f"{coupon.name} ({issuer}): {coupon.terms.describe()}"


@coupons.command("create")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice([k.value for k in CouponKind]))
@click.option("--amount", help="Yuan off (threshold and amount coupons).")
@click.option("--threshold", help="Spend at least this many yuan on the covered goods.")
@click.option("--percent", type=int, help="Percent off, 1 to 99 (percent coupons).")
@click.option("--cap", help="At most this many yuan off (percent coupons).")
@click.option(
    "--scope",
    default="order",
    show_default=True,
    help="What it covers: order, category:PATH, skus:ID,ID or seller:ID.",
)
@click.option("--seller", help="The issuing seller's id (default: the platform).")
@click.option(
    "--from", "valid_from", required=True, help="Valid from (ISO 8601; UTC+8 if no zone)."
)
@click.option("--until", "valid_until", required=True, help="Valid until (not included).")
@click.option("--per-resident", default=1, show_default=True, type=int, help="Copies one may hold.")
@click.option("--total", type=int, help="Copies that may be issued in all (default: no limit).")
@click.option("--code", help="A code residents claim it by: 4 to 20 letters or digits.")
@json_option
@click.pass_context
def create(
    ctx: click.Context,
    name: str,
    kind: str,
    amount: str | None,
    threshold: str | None,
    percent: int | None,
    cap: str | None,
    scope: str,
    seller: str | None,
    valid_from: str,
    valid_until: str,
    per_resident: int,
    total: int | None,
    code: str | None,
    as_json: bool,
) -> None:
    """Create a coupon NAME.

    \b
    threshold  满减: --amount off when the covered goods cost at least --threshold
    percent    折扣: --percent off, at most --cap; --threshold is a minimum spend
    amount     无门槛: --amount off
    delivery   运费券: the delivery fee waived; --threshold is a minimum spend
    """
    terms = CouponTerms(
        kind=CouponKind(kind),
        amount=_yuan(amount),
        threshold=_yuan(threshold),
        percent_off=percent or 0,
        cap=None if cap is None else Money.parse(cap),
        scope=_scope(scope),
        seller_id=SellerId(seller) if seller else None,
    )
    coupon = get(ctx, CreateCouponHandler)(
        CreateCoupon(
            name=name,
            terms=terms,
            valid_from=read_time(valid_from, "from"),
            valid_until=read_time(valid_until, "until"),
            per_resident_limit=per_resident,
            total_limit=total,
            claim_code=code,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(coupon_data(coupon))
        return
    click.echo(f"created coupon {coupon.id}: {_describe(coupon)}")
    click.echo(f"  valid {at(coupon.valid_from)} to {at(coupon.valid_until)}")
    if coupon.claim_code:
        click.echo(f"  residents claim it with the code {coupon.claim_code}")


@coupons.command("issue")
@click.argument("coupon_id")
@click.argument("residents", nargs=-1, required=True)
@json_option
@click.pass_context
def issue(ctx: click.Context, coupon_id: str, residents: tuple[str, ...], as_json: bool) -> None:
    """Give each RESIDENT (account id) one copy of a coupon: all of them, or none."""
    grants = get(ctx, IssueCouponHandler)(
        IssueCoupon(CouponId(coupon_id), tuple(AccountId(r) for r in residents)), actor=CONSOLE
    )
    if as_json:
        emit_data([grant_data(g) for g in grants])
        return
    table(["GRANT", "RESIDENT"], [[g.id, g.resident_id] for g in grants])
    click.echo(f"issued {len(grants)} copy(ies) of coupon {coupon_id}", err=True)


@coupons.command("list")
@click.option("--seller", help="Only this seller's coupons.")
@click.option("--platform", is_flag=True, help="Only the platform's coupons.")
@json_option
@click.pass_context
def list_coupons(ctx: click.Context, seller: str | None, platform: bool, as_json: bool) -> None:
    """List coupons, newest first."""
    if seller and platform:
        raise click.UsageError("give --seller or --platform, not both")
    found = get(ctx, ListCouponsHandler)(
        ListCoupons(SellerId(seller) if seller else None, platform=platform), actor=CONSOLE
    )
    if as_json:
        emit_data([coupon_data(c) for c in found])
        return
    table(
        ["COUPON", "NAME", "ISSUER", "TERMS", "VALID UNTIL", "ISSUED", "CODE"],
        [
            [
                c.id,
                c.name,
                c.seller_id or "platform",
                c.terms.describe(),
                at(c.valid_until),
                f"{c.issued}/{c.total_limit}" if c.total_limit else str(c.issued),
                c.claim_code or "",
            ]
            for c in found
        ],
    )
