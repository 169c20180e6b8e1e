"""The settings of ordering that embedding teams choose, and the checks cart and checkout share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import attrs

from shequ.application.ports import SkuOffer, UnitOfWork
from shequ.domain.errors import CouponNotFound, InvalidInput, SkuNotFound, SkuUnavailable
from shequ.domain.identity import Role
from shequ.domain.ids import AccountId, CommunityId, GrantId, SkuId
from shequ.domain.ordering import Coupon, CouponGrant, DeliveryFees, PricedCoupon, PricingLine

__all__ = [
    "OrderingRules",
    "available_offer",
    "check_resident",
    "chosen_coupons",
    "held_coupons",
    "pricing_lines",
]


@attrs.frozen
class OrderingRules:
    """How long an unpaid order waits for its payment, and what delivery costs."""

    pay_within: dt.timedelta = dt.timedelta(minutes=15)
    fees: DeliveryFees = DeliveryFees()


def check_resident(uow: UnitOfWork, resident_id: AccountId, community_id: CommunityId) -> None:
    """Staff acting for a resident: the account exists and is a resident of the community.
    (A resident acting for themselves is vouched for by their signed-in account.)"""
    account = uow.accounts.get(resident_id)
    if Role.RESIDENT not in account.roles_in(community_id):
        raise InvalidInput(
            f"account {resident_id} is not a resident of community {community_id}",
            field="resident_id",
        )


def available_offer(
    offers: Mapping[SkuId, SkuOffer], sku_id: SkuId, community_id: CommunityId
) -> SkuOffer:
    """The offer of a SKU a resident of ``community_id`` may buy now; raises otherwise."""
    offer = offers.get(sku_id)
    if offer is None:
        raise SkuNotFound(f"no SKU with id {sku_id!r}", id=sku_id)
    if not offer.on_sale:
        raise SkuUnavailable(f"SKU {sku_id} ({offer.name} {offer.spec}) is off sale", sku_id=sku_id)
    if community_id not in offer.community_ids:
        raise SkuUnavailable(f"SKU {sku_id} is not sold in this community", sku_id=sku_id)
    return offer


def pricing_lines(
    units: Mapping[SkuId, int], offers: Mapping[SkuId, SkuOffer]
) -> list[PricingLine]:
    return [
        PricingLine(
            sku_id=sku_id,
            seller_id=offers[sku_id].seller_id,
            category=offers[sku_id].category,
            unit_price=offers[sku_id].price,
            quantity=quantity,
        )
        for sku_id, quantity in units.items()
    ]


def held_coupons(
    uow: UnitOfWork, resident_id: AccountId, now: dt.datetime
) -> dict[GrantId, tuple[CouponGrant, Coupon]]:
    """The resident's unused copies of coupons valid now, one per coupon (the oldest)."""
    found: dict[GrantId, tuple[CouponGrant, Coupon]] = {}
    seen: set[str] = set()
    for grant in uow.grants.of_resident(resident_id):
        if grant.used_by is not None or grant.coupon_id in seen:
            continue
        coupon = uow.coupons.find(grant.coupon_id)
        if coupon is not None and coupon.valid_at(now):
            seen.add(coupon.id)
            found[grant.id] = (grant, coupon)
    return found


def chosen_coupons(
    uow: UnitOfWork, resident_id: AccountId, grant_ids: Iterable[GrantId], now: dt.datetime
) -> list[tuple[CouponGrant, PricedCoupon]]:
    """The copies a resident picked, each checked: theirs, unused, valid now."""
    chosen = []
    for grant_id in dict.fromkeys(grant_ids):
        grant = uow.grants.find(grant_id)
        if grant is None:
            raise CouponNotFound(f"no coupon with id {grant_id!r}", id=grant_id)
        grant.check_usable_by(resident_id)
        coupon = uow.coupons.get(grant.coupon_id)
        coupon.check_valid(now)
        chosen.append((grant, coupon.priced()))
    return chosen
