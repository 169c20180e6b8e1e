"""``shequ promotions …``: local merchants' promotions (商家优惠) and their vouchers, for
operators: publish, list, withdraw, redeem a code, expire what is past its use period."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from shequ.application.policy import CONSOLE
from shequ.application.services.promotions import (
    ExpireVouchers,
    ExpireVouchersHandler,
    ListPromotions,
    ListPromotionsHandler,
    PublishPromotion,
    PublishPromotionHandler,
    RedeemVoucher,
    RedeemVoucherHandler,
    WithdrawPromotion,
    WithdrawPromotionHandler,
)
from shequ.domain.errors import InvalidInput
from shequ.domain.ids import CommunityId, PromotionId, ProviderId
from shequ.domain.money import Money
from shequ.domain.promotions import Promotion, PromotionKind
from shequ.domain.values import CHINA_STANDARD_TIME
from shequ.entrypoints.cli.main import emit_data, get, json_option, printable, table

__all__ = ["promotion_data", "promotions"]

WHEN = click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"])


def _when(value: dt.datetime | None) -> dt.datetime | None:
    """A time typed without an offset is China time."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=CHINA_STANDARD_TIME)


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


def promotion_data(p: Promotion) -> dict[str, Any]:
    return {
        "id": p.id,
        "provider_id": p.provider_id,
        "community_ids": list(p.community_ids),
        "kind": p.kind.value,
        "title": p.title,
        "terms": p.terms,
        "price_fen": p.price.fen,
        "value_fen": None if p.value is None else p.value.fen,
        "quantity": p.quantity,
        "per_resident": p.per_resident,
        "sale_starts_at": p.sale_starts_at.isoformat(),
        "sale_ends_at": p.sale_ends_at.isoformat(),
        "use_until": p.use_until.isoformat(),
        "sku_id": p.sku_id,
        "withdrawn": p.withdrawn,
    }


@click.group("promotions")
def promotions() -> None:
    """Local merchants' promotions (商家优惠) and their vouchers."""


@promotions.command("publish")
@click.option("--merchant", required=True, help="The local merchant's id.")
@click.option("--kind", type=click.Choice([k.value for k in PromotionKind]), required=True)
@click.option("--title", required=True, help="Up to 60 characters.")
@click.option("--terms", required=True, help="When and how it may be used (使用规则).")
@click.option("--price", required=True, help="What a resident pays, in yuan: 99.00.")
@click.option("--value", help="What it is worth at the merchant (门市价), in yuan.")
@click.option("--quantity", type=int, required=True, help="Vouchers for sale.")
@click.option("--per-resident", type=int, default=1, show_default=True)
@click.option("--until", "sale_ends_at", type=WHEN, required=True, help="Sale ends (China time).")
@click.option("--use-until", type=WHEN, required=True, help="Vouchers usable until (China time).")
@click.option("--from", "sale_starts_at", type=WHEN, help="Sale starts. Default: now.")
@click.option("--community", "communities", multiple=True, help="Default: every one it serves.")
@click.option("--description", default="")
@json_option
@click.pass_context
def publish(
    ctx: click.Context,
    merchant: str,
    kind: str,
    title: str,
    terms: str,
    price: str,
    value: str | None,
    quantity: int,
    per_resident: int,
    sale_ends_at: dt.datetime,
    use_until: dt.datetime,
    sale_starts_at: dt.datetime | None,
    communities: tuple[str, ...],
    description: str,
    as_json: bool,
) -> None:
    """Publish a merchant's offer; residents buy it as an order of vouchers."""
    made = get(ctx, PublishPromotionHandler)(
        PublishPromotion(
            provider_id=ProviderId(merchant),
            kind=PromotionKind(kind),
            title=title,
            terms=terms,
            price=Money.parse(price),
            quantity=quantity,
            sale_ends_at=_when(sale_ends_at),  # type: ignore[arg-type]
            use_until=_when(use_until),  # type: ignore[arg-type]
            value=None if value is None else Money.parse(value),
            description=description,
            per_resident=per_resident,
            sale_starts_at=_when(sale_starts_at),
            community_ids=tuple(CommunityId(c) for c in communities),
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(promotion_data(made))
    else:
        click.echo(f"published {printable(made.title)} at {made.price}: {made.id}")


@promotions.command("list")
@click.option("--community", help="On sale in a community now.")
@click.option("--merchant", help="Every promotion of a merchant.")
@json_option
@click.pass_context
def list_promotions(
    ctx: click.Context, community: str | None, merchant: str | None, as_json: bool
) -> None:
    if (community is None) == (merchant is None):
        raise InvalidInput("give --community or --merchant", field="community")
    found = get(ctx, ListPromotionsHandler)(
        ListPromotions(
            None if community is None else CommunityId(community),
            None if merchant is None else ProviderId(merchant),
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data([promotion_data(p) for p in found])
        return
    table(
        ["PROMOTION", "KIND", "PRICE", "SALE ENDS (UTC+8)", "USE BY", "TITLE"],
        [
            [
                p.id,
                p.kind.value,
                str(p.price),
                _local(p.sale_ends_at),
                _local(p.use_until),
                p.title + (" (withdrawn)" if p.withdrawn else ""),
            ]
            for p in found
        ],
    )


@promotions.command("withdraw")
@click.argument("promotion_id")
@click.pass_context
def withdraw(ctx: click.Context, promotion_id: str) -> None:
    """Off sale for good; vouchers sold stay valid until they expire."""
    done = get(ctx, WithdrawPromotionHandler)(
        WithdrawPromotion(PromotionId(promotion_id)), actor=CONSOLE
    )
    click.echo(f"withdrawn {printable(done.title)}")


@promotions.command("redeem")
@click.option("--merchant", required=True)
@click.option("--code", required=True, help="The code the resident shows.")
@click.pass_context
def redeem(ctx: click.Context, merchant: str, code: str) -> None:
    """Redeem a voucher at the merchant (核销)."""
    done = get(ctx, RedeemVoucherHandler)(RedeemVoucher(ProviderId(merchant), code), actor=CONSOLE)
    click.echo(f"redeemed voucher {done.id} of order {done.order_id}")


@promotions.command("expire")
@click.option("--limit", type=click.IntRange(1, 10_000), default=500, show_default=True)
@json_option
@click.pass_context
def expire(ctx: click.Context, limit: int, as_json: bool) -> None:
    """For a scheduler, daily: vouchers past their use period expire and are refunded."""
    count = get(ctx, ExpireVouchersHandler)(ExpireVouchers(limit), actor=CONSOLE)
    if as_json:
        emit_data({"expired": count})
    else:
        click.echo(f"{count} voucher(s) expired and refunded")
