"""Coupons: create the offer, issue copies to residents, let residents claim by code."""

from __future__ import annotations

import datetime as dt

import attrs

from shequ.application.audit import audit
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.catalog import Seller
from shequ.domain.errors import CouponNotFound, Duplicate, InvalidInput
from shequ.domain.ids import AccountId, CouponId, GrantId, SellerId, new_id
from shequ.domain.ordering import Coupon, CouponGrant, CouponTerms

__all__ = [
    "ClaimCoupon",
    "ClaimCouponHandler",
    "CreateCoupon",
    "CreateCouponHandler",
    "HeldCoupon",
    "IssueCoupon",
    "IssueCouponHandler",
    "ListCoupons",
    "ListCouponsHandler",
    "MyCoupons",
    "MyCouponsHandler",
]


def _seller(uow: UnitOfWork, seller_id: str | None) -> Seller | None:
    return None if seller_id is None else uow.sellers.get(SellerId(seller_id))


@attrs.frozen
class CreateCoupon:
    name: str
    terms: CouponTerms
    valid_from: dt.datetime
    valid_until: dt.datetime
    per_resident_limit: int = 1
    total_limit: int | None = None
    claim_code: str | None = None
    coupon_id: CouponId | None = None


class CreateCouponHandler:
    """Platform coupons are created by admins; a seller's by those who manage its goods."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: CreateCoupon, *, actor: Actor) -> Coupon:
        now = self._clock.now()
        coupon = Coupon.create(
            id=cmd.coupon_id or CouponId(new_id()),
            name=cmd.name,
            terms=cmd.terms,
            valid_from=cmd.valid_from,
            valid_until=cmd.valid_until,
            now=now,
            per_resident_limit=cmd.per_resident_limit,
            total_limit=cmd.total_limit,
            claim_code=cmd.claim_code,
        )
        with self._uow as uow:
            self._policy.require(
                actor, Permission.MANAGE_COUPONS, seller=_seller(uow, coupon.seller_id)
            )
            if uow.coupons.find(coupon.id) is not None:
                raise Duplicate(f"coupon {coupon.id} exists already", id=coupon.id)
            if coupon.claim_code and uow.coupons.find_by_code(coupon.claim_code) is not None:
                raise Duplicate(f"claim code {coupon.claim_code} is taken", field="claim_code")
            uow.coupons.add(coupon)
            audit(uow, actor, "coupon.created", f"coupon:{coupon.id}", now, name=coupon.name)
            uow.commit()
        return coupon


@attrs.frozen
class IssueCoupon:
    coupon_id: CouponId
    resident_ids: tuple[AccountId, ...]


class IssueCouponHandler:
    """Give each resident one copy, all or none: a limit reached refuses the whole batch."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: IssueCoupon, *, actor: Actor) -> list[CouponGrant]:
        if not 1 <= len(cmd.resident_ids) <= 10_000:
            raise InvalidInput("issue to 1 to 10,000 residents at a time", field="resident_ids")

        def attempt() -> list[CouponGrant]:
            now = self._clock.now()
            with self._uow as uow:
                coupon = uow.coupons.get_for_update(cmd.coupon_id)
                self._policy.require(
                    actor, Permission.MANAGE_COUPONS, seller=_seller(uow, coupon.seller_id)
                )
                grants: list[CouponGrant] = []
                for resident_id in cmd.resident_ids:
                    uow.accounts.get(resident_id)
                    held = len(uow.grants.of_resident(resident_id, coupon.id))
                    grant = coupon.issue(GrantId(new_id()), resident_id, held, now=now)
                    uow.grants.add(grant)
                    grants.append(grant)
                audit(uow, actor, "coupon.issued", f"coupon:{coupon.id}", now, copies=len(grants))
                uow.commit()
            return grants

        return retry_on_conflict(attempt)


@attrs.frozen
class ClaimCoupon:
    resident_id: AccountId
    claim_code: str


class ClaimCouponHandler:
    """A resident claims a copy by the coupon's code (领券)."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: ClaimCoupon, *, actor: Actor) -> CouponGrant:
        if not self._policy.allows(actor, Permission.OWN_ORDER, owner=cmd.resident_id):
            self._policy.require(actor, Permission.CONSOLE)
        code = cmd.claim_code.strip().upper() if isinstance(cmd.claim_code, str) else ""

        def attempt() -> CouponGrant:
            now = self._clock.now()
            with self._uow as uow:
                coupon = uow.coupons.find_by_code(code) if code else None
                if coupon is None:
                    raise CouponNotFound(f"no coupon has the code {code!r}", field="claim_code")
                held = len(uow.grants.of_resident(cmd.resident_id, coupon.id))
                grant = coupon.issue(
                    GrantId(new_id()), cmd.resident_id, held, now=now, claimed=True
                )
                uow.grants.add(grant)
                uow.commit()
            return grant

        return retry_on_conflict(attempt)


@attrs.frozen
class ListCoupons:
    seller_id: SellerId | None = None
    platform: bool = False


class ListCouponsHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: ListCoupons, *, actor: Actor) -> list[Coupon]:
        with self._uow as uow:
            self._policy.require(
                actor, Permission.MANAGE_COUPONS, seller=_seller(uow, query.seller_id)
            )
            return uow.coupons.list(query.seller_id, platform=query.platform)


@attrs.frozen
class HeldCoupon:
    grant: CouponGrant
    coupon: Coupon


@attrs.frozen
class MyCoupons:
    resident_id: AccountId


class MyCouponsHandler:
    """A resident's copies, with their coupons: unused and valid first."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: MyCoupons, *, actor: Actor) -> list[HeldCoupon]:
        if not self._policy.allows(actor, Permission.OWN_ORDER, owner=query.resident_id):
            self._policy.require(actor, Permission.CONSOLE)
        now = self._clock.now()
        with self._uow as uow:
            held = [
                HeldCoupon(grant, uow.coupons.get(grant.coupon_id))
                for grant in uow.grants.of_resident(query.resident_id)
            ]
        return sorted(
            held,
            key=lambda h: (
                h.grant.used_by is not None,
                not h.coupon.valid_at(now),
                h.grant.granted_at,
            ),
        )
