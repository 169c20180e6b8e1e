"""``/v1`` routes of merchants' promotions (商家优惠) and their vouchers. Residents buy a
promotion with ``POST /v1/orders`` and the fulfilment ``{"kind": "voucher"}``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import Field, StrictInt, StrictStr

from shequ.application.services.promotions import (
    ExpireVouchers,
    ExpireVouchersHandler,
    ListPromotions,
    ListPromotionsHandler,
    MyVouchers,
    MyVouchersHandler,
    PublishPromotion,
    PublishPromotionHandler,
    RedeemVoucher,
    RedeemVoucherHandler,
    RefundVouchers,
    RefundVouchersHandler,
    WithdrawPromotion,
    WithdrawPromotionHandler,
)
from shequ.domain.ids import CommunityId, OrderId, PromotionId, ProviderId
from shequ.domain.money import Money
from shequ.domain.promotions import Promotion, PromotionKind, Voucher, VoucherStatus
from shequ.entrypoints.http.deps import CurrentActor, Input, Output, resolve, signed_in

__all__ = ["PromotionIn", "PromotionOut", "VoucherOut", "router"]

router = APIRouter(prefix="/v1")


class PromotionIn(Input):
    kind: PromotionKind
    title: StrictStr
    terms: StrictStr = Field(description="使用规则: when and how it may be used")
    price_fen: StrictInt = Field(description="what a resident pays, in fen")
    value_fen: StrictInt | None = Field(default=None, description="what it is worth (门市价)")
    quantity: StrictInt = Field(description="vouchers for sale, 1 to 100,000")
    per_resident: StrictInt = 1
    sale_starts_at: dt.datetime | None = Field(default=None, description="default: now")
    sale_ends_at: dt.datetime
    use_until: dt.datetime = Field(description="vouchers are redeemed until then")
    description: StrictStr = ""
    community_ids: list[StrictStr] = Field(
        default_factory=list, max_length=50, description="default: every one it serves"
    )
    photos: list[StrictStr] = Field(default_factory=list, max_length=9)


class PromotionOut(Output):
    id: str
    provider_id: str
    community_ids: list[str]
    kind: PromotionKind
    title: str
    description: str
    terms: str
    price_fen: int
    value_fen: int | None
    quantity: int
    per_resident: int
    sale_starts_at: dt.datetime
    sale_ends_at: dt.datetime
    use_until: dt.datetime
    sku_id: str = Field(description="order it with the fulfilment voucher")
    photos: list[str]
    withdrawn: bool

    @classmethod
    def of(cls, p: Promotion) -> PromotionOut:
        return cls(
            id=p.id,
            provider_id=p.provider_id,
            community_ids=list(p.community_ids),
            kind=p.kind,
            title=p.title,
            description=p.description,
            terms=p.terms,
            price_fen=p.price.fen,
            value_fen=None if p.value is None else p.value.fen,
            quantity=p.quantity,
            per_resident=p.per_resident,
            sale_starts_at=p.sale_starts_at,
            sale_ends_at=p.sale_ends_at,
            use_until=p.use_until,
            sku_id=p.sku_id,
            photos=list(p.photos),
            withdrawn=p.withdrawn,
        )


class VoucherOut(Output):
    """A voucher; ``code`` is shown to its resident only, to show at the merchant."""

    id: str
    promotion_id: str
    provider_id: str
    order_id: str
    status: VoucherStatus
    code: str | None
    issued_at: dt.datetime
    expires_at: dt.datetime
    changed_at: dt.datetime | None

    @classmethod
    def of(cls, v: Voucher, *, with_code: bool) -> VoucherOut:
        return cls(
            id=v.id,
            promotion_id=v.promotion_id,
            provider_id=v.provider_id,
            order_id=v.order_id,
            status=v.status,
            code=v.code if with_code else None,
            issued_at=v.issued_at,
            expires_at=v.expires_at,
            changed_at=v.changed_at,
        )


class RedeemIn(Input):
    code: StrictStr


class RefundIn(Input):
    count: StrictInt | None = Field(default=None, description="default: every unused one")


class ExpiredOut(Output):
    expired: int


@router.post("/merchants/{provider_id}/promotions", status_code=201, tags=["promotions"])
def publish(
    actor: CurrentActor,
    provider_id: str,
    body: PromotionIn,
    publish: Annotated[PublishPromotionHandler, Depends(resolve(PublishPromotionHandler))],
) -> PromotionOut:
    """Publish an offer (the merchant's staff, its communities' operators)."""
    made = publish(
        PublishPromotion(
            provider_id=ProviderId(provider_id),
            kind=body.kind,
            title=body.title,
            terms=body.terms,
            price=Money(body.price_fen),
            quantity=body.quantity,
            sale_ends_at=body.sale_ends_at,
            use_until=body.use_until,
            value=None if body.value_fen is None else Money(body.value_fen),
            description=body.description,
            per_resident=body.per_resident,
            sale_starts_at=body.sale_starts_at,
            community_ids=tuple(CommunityId(c) for c in body.community_ids),
            photos=tuple(body.photos),
        ),
        actor=actor,
    )
    return PromotionOut.of(made)


@router.get("/merchants/{provider_id}/promotions", tags=["promotions"])
def merchant_promotions(
    actor: CurrentActor,
    provider_id: str,
    promotions: Annotated[ListPromotionsHandler, Depends(resolve(ListPromotionsHandler))],
) -> list[PromotionOut]:
    """Every promotion of a merchant, newest first."""
    found = promotions(ListPromotions(provider_id=ProviderId(provider_id)), actor=actor)
    return [PromotionOut.of(p) for p in found]


@router.get("/communities/{community_id}/promotions", tags=["promotions"])
def community_promotions(
    actor: CurrentActor,
    community_id: str,
    promotions: Annotated[ListPromotionsHandler, Depends(resolve(ListPromotionsHandler))],
) -> list[PromotionOut]:
    """What local merchants offer in the community now, ending soonest first."""
    found = promotions(ListPromotions(community_id=CommunityId(community_id)), actor=actor)
    return [PromotionOut.of(p) for p in found]


@router.post("/promotions/{promotion_id}/withdraw", tags=["promotions"])
def withdraw(
    actor: CurrentActor,
    promotion_id: str,
    withdraw: Annotated[WithdrawPromotionHandler, Depends(resolve(WithdrawPromotionHandler))],
) -> PromotionOut:
    """Off sale for good; vouchers sold stay valid until they expire."""
    return PromotionOut.of(withdraw(WithdrawPromotion(PromotionId(promotion_id)), actor=actor))


@router.get("/me/vouchers", tags=["promotions"])
def my_vouchers(
    actor: CurrentActor,
    vouchers: Annotated[MyVouchersHandler, Depends(resolve(MyVouchersHandler))],
) -> list[VoucherOut]:
    """Your vouchers with their codes, newest first."""
    found = vouchers(MyVouchers(signed_in(actor)), actor=actor)
    return [VoucherOut.of(v, with_code=True) for v in found]


@router.post("/orders/{order_id}/vouchers/refund", tags=["promotions"])
def refund_vouchers(
    actor: CurrentActor,
    order_id: str,
    refund: Annotated[RefundVouchersHandler, Depends(resolve(RefundVouchersHandler))],
    body: RefundIn | None = None,
) -> list[VoucherOut]:
    """Refund unused vouchers of your order (随时退); the answer lists them."""
    count = body.count if body else None
    back = refund(RefundVouchers(OrderId(order_id), count), actor=actor)
    return [VoucherOut.of(v, with_code=False) for v in back]


@router.post("/merchants/{provider_id}/vouchers/redeem", tags=["promotions"])
def redeem(
    actor: CurrentActor,
    provider_id: str,
    body: RedeemIn,
    redeem: Annotated[RedeemVoucherHandler, Depends(resolve(RedeemVoucherHandler))],
) -> VoucherOut:
    """Redeem the voucher a resident shows (核销; the merchant's staff)."""
    done = redeem(RedeemVoucher(ProviderId(provider_id), body.code), actor=actor)
    return VoucherOut.of(done, with_code=False)


@router.post("/vouchers/expire", tags=["promotions"])
def expire(
    actor: CurrentActor,
    expire: Annotated[ExpireVouchersHandler, Depends(resolve(ExpireVouchersHandler))],
) -> ExpiredOut:
    """For a scheduler: expire and refund vouchers past their use period (platform)."""
    return ExpiredOut(expired=expire(ExpireVouchers(), actor=actor))
