"""Coupons (优惠券): the offer, its limits, and the copies residents hold.

A :class:`Coupon` is the offer: its terms (see :mod:`.pricing`), a validity window, how
many may be issued in all, how many one resident may hold, and an optional code residents
claim it by. Issuing or claiming gives a resident a :class:`CouponGrant`: one copy, used
by one order. A cancelled or expired order gives its copy back.
"""

from __future__ import annotations

import datetime as dt
import re

import attrs

from shequ.domain.errors import (
    CouponExpired,
    CouponNotHeld,
    CouponUsedUp,
    InvalidInput,
)
from shequ.domain.events import DomainEvent
from shequ.domain.ids import AccountId, CouponId, GrantId, OrderId, SellerId, SkuId, check_id
from shequ.domain.money import Money
from shequ.domain.ordering.pricing import (
    CouponKind,
    CouponScope,
    CouponTerms,
    PricedCoupon,
    ScopeKind,
)
from shequ.domain.values import clean_text, utc_time

__all__ = ["Coupon", "CouponCreated", "CouponGrant", "CouponIssued"]

_CODE = re.compile(r"[A-Z0-9]{4,20}")


@attrs.frozen(kw_only=True)
class CouponCreated(DomainEvent):
    coupon_id: CouponId
    name: str
    kind: CouponKind


@attrs.frozen(kw_only=True)
class CouponIssued(DomainEvent):
    coupon_id: CouponId
    grant_id: GrantId
    resident_id: AccountId
    claimed: bool


@attrs.define(slots=False, eq=False)
class Coupon:
    """An offer residents hold copies of. Its terms are flat fields so storage keeps
    them as plain columns; :attr:`terms` assembles them for the pricing engine."""

    id: CouponId
    name: str
    kind: CouponKind
    valid_from: dt.datetime
    valid_until: dt.datetime
    created_at: dt.datetime
    amount: Money = Money(0)
    threshold: Money = Money(0)
    percent_off: int = 0
    cap: Money | None = None
    scope_kind: ScopeKind = ScopeKind.ORDER
    scope_category: str | None = None
    scope_sku_ids: tuple[str, ...] = ()
    scope_seller_id: str | None = None
    seller_id: str | None = None  # the issuer; None for the platform
    per_resident_limit: int = 1
    total_limit: int | None = None
    claim_code: str | None = None
    issued: int = 0
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        id: CouponId,
        name: str,
        terms: CouponTerms,
        valid_from: dt.datetime,
        valid_until: dt.datetime,
        now: dt.datetime,
        per_resident_limit: int = 1,
        total_limit: int | None = None,
        claim_code: str | None = None,
    ) -> Coupon:
        check_id(id, "coupon")
        name = clean_text(name, "name", max_len=60)
        valid_from = utc_time(valid_from, "valid_from")
        valid_until = utc_time(valid_until, "valid_until")
        if valid_until <= valid_from:
            raise InvalidInput("a coupon's window ends after it starts", field="valid_until")
        if type(per_resident_limit) is not int or not 1 <= per_resident_limit <= 100:
            raise InvalidInput("a per-resident limit is 1 to 100", field="per_resident_limit")
        if total_limit is not None and (
            type(total_limit) is not int or not 1 <= total_limit <= 10_000_000
        ):
            raise InvalidInput("a total limit is 1 to 10,000,000", field="total_limit")
        if claim_code is not None:
            claim_code = claim_code.strip().upper()
            if not _CODE.fullmatch(claim_code):
                raise InvalidInput("a claim code is 4 to 20 letters or digits", field="claim_code")
        scope = terms.scope
        coupon = cls(
            id=id,
            name=name,
            kind=terms.kind,
            amount=terms.amount,
            threshold=terms.threshold,
            percent_off=terms.percent_off,
            cap=terms.cap,
            scope_kind=scope.kind,
            scope_category=scope.category,
            scope_sku_ids=tuple(sorted(scope.sku_ids)),
            scope_seller_id=scope.seller_id,
            seller_id=terms.seller_id,
            valid_from=valid_from,
            valid_until=valid_until,
            per_resident_limit=per_resident_limit,
            total_limit=total_limit,
            claim_code=claim_code,
            created_at=now,
        )
        coupon.events.append(
            CouponCreated(occurred_at=now, coupon_id=id, name=name, kind=terms.kind)
        )
        return coupon

    @property
    def terms(self) -> CouponTerms:
        return CouponTerms(
            kind=self.kind,
            amount=self.amount,
            threshold=self.threshold,
            percent_off=self.percent_off,
            cap=self.cap,
            scope=CouponScope(
                kind=self.scope_kind,
                category=self.scope_category,
                sku_ids=frozenset(SkuId(s) for s in self.scope_sku_ids),
                seller_id=None if self.scope_seller_id is None else SellerId(self.scope_seller_id),
            ),
            seller_id=None if self.seller_id is None else SellerId(self.seller_id),
        )

    def priced(self) -> PricedCoupon:
        return PricedCoupon(id=self.id, terms=self.terms)

    def valid_at(self, now: dt.datetime) -> bool:
        return self.valid_from <= now < self.valid_until

    def check_valid(self, now: dt.datetime) -> None:
        if now < self.valid_from:
            raise CouponExpired(
                f"coupon {self.id} is valid from {self.valid_from.isoformat()}", coupon_id=self.id
            )
        if now >= self.valid_until:
            raise CouponExpired(
                f"coupon {self.id} expired at {self.valid_until.isoformat()}", coupon_id=self.id
            )

    @property
    def remaining(self) -> int | None:
        return None if self.total_limit is None else self.total_limit - self.issued

    def issue(
        self,
        grant_id: GrantId,
        resident_id: AccountId,
        held: int,
        *,
        now: dt.datetime,
        claimed: bool = False,
    ) -> CouponGrant:
        """A copy for ``resident_id``, who holds ``held`` copies already (used or not)."""
        if now >= self.valid_until:
            raise CouponExpired(f"coupon {self.id} has expired", coupon_id=self.id)
        if self.total_limit is not None and self.issued >= self.total_limit:
            raise CouponUsedUp(
                f"all {self.total_limit} copies of coupon {self.id} are issued", coupon_id=self.id
            )
        if held >= self.per_resident_limit:
            raise CouponUsedUp(
                f"a resident holds at most {self.per_resident_limit} of coupon {self.id}",
                coupon_id=self.id,
            )
        self.issued += 1
        self.version += 1
        grant = CouponGrant(id=grant_id, coupon_id=self.id, resident_id=resident_id, granted_at=now)
        self.events.append(
            CouponIssued(
                occurred_at=now,
                coupon_id=self.id,
                grant_id=grant_id,
                resident_id=resident_id,
                claimed=claimed,
            )
        )
        return grant


@attrs.define(slots=False, eq=False)
class CouponGrant:
    """One copy of a coupon held by one resident; one order uses it."""

    id: GrantId
    coupon_id: CouponId
    resident_id: AccountId
    granted_at: dt.datetime
    used_by: OrderId | None = None
    used_at: dt.datetime | None = None
    version: int = 1

    def check_usable_by(self, resident_id: AccountId) -> None:
        if self.resident_id != resident_id:
            raise CouponNotHeld(f"coupon {self.id} is not yours", grant_id=self.id)
        if self.used_by is not None:
            raise CouponUsedUp(f"coupon {self.id} is used already", grant_id=self.id)

    def use(self, order_id: OrderId, resident_id: AccountId, *, now: dt.datetime) -> None:
        self.check_usable_by(resident_id)
        self.used_by, self.used_at = order_id, now
        self.version += 1

    def give_back(self, order_id: OrderId) -> None:
        """The order that used this copy was cancelled or expired: it may be used again."""
        if self.used_by == order_id:
            self.used_by, self.used_at = None, None
            self.version += 1
