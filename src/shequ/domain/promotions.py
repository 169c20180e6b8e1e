"""Merchants' promotions (商家优惠): set meals and group packages (套餐, 团购套餐) of
restaurants, time-limited discounts of shops, membership offers of gyms and salons.

A promotion is sold as a SKU of its merchant through the ordering flow, with the
``voucher`` fulfilment; each unit paid for becomes a :class:`Voucher` with a code the
resident shows at the merchant, who redeems it (到店核销). A voucher is ``valid`` until it
is redeemed, refunded unused (随时退: whenever the resident asks), or expires at the end
of the promotion's use period, when it is refunded (过期退)::

    valid → redeemed
    valid → refunded
    valid → expired (and refunded)
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from shequ.domain.errors import IllegalTransition, InvalidInput
from shequ.domain.events import DomainEvent
from shequ.domain.ids import (
    AccountId,
    CommunityId,
    OrderId,
    PromotionId,
    ProviderId,
    SkuId,
    VoucherId,
)
from shequ.domain.media import photos
from shequ.domain.money import Money
from shequ.domain.values import clean_text, utc_time

__all__ = [
    "MAX_VOUCHERS",
    "Promotion",
    "PromotionKind",
    "PromotionPublished",
    "PromotionWithdrawn",
    "Voucher",
    "VoucherChanged",
    "VoucherStatus",
]

MAX_VOUCHERS: Final = 100_000


class PromotionKind(enum.StrEnum):
    SET_MEAL = "set_meal"  # 套餐, a restaurant's
    GROUP_PACKAGE = "group_package"  # 团购套餐, for several people
    DISCOUNT = "discount"  # 限时折扣, a shop's voucher worth more than it costs
    MEMBERSHIP = "membership"  # 会员卡, a gym's or a salon's

    @property
    def label(self) -> str:
        return {
            PromotionKind.SET_MEAL: "套餐",
            PromotionKind.GROUP_PACKAGE: "团购套餐",
            PromotionKind.DISCOUNT: "限时折扣",
            PromotionKind.MEMBERSHIP: "会员卡",
        }[self]


class VoucherStatus(enum.StrEnum):
    VALID = "valid"
    REDEEMED = "redeemed"
    REFUNDED = "refunded"
    EXPIRED = "expired"


@attrs.frozen(kw_only=True)
class PromotionPublished(DomainEvent):
    promotion_id: PromotionId
    provider_id: ProviderId
    community_ids: tuple[CommunityId, ...]
    kind: PromotionKind
    title: str


@attrs.frozen(kw_only=True)
class PromotionWithdrawn(DomainEvent):
    promotion_id: PromotionId


@attrs.frozen(kw_only=True)
class VoucherChanged(DomainEvent):
    """A voucher was issued (``valid``), redeemed, refunded or expired."""

    voucher_id: VoucherId
    order_id: OrderId
    resident_id: AccountId
    provider_id: ProviderId
    status: VoucherStatus


@attrs.define(slots=False, eq=False)
class Promotion:
    """What a merchant offers: sold from ``sale_starts_at`` to ``sale_ends_at``, at most
    ``quantity`` vouchers and ``per_resident`` to a resident, each usable until
    ``use_until``. ``price`` is what a resident pays; ``value`` what it is worth at the
    merchant (its 门市价), when the offer says."""

    id: PromotionId
    provider_id: ProviderId
    community_ids: tuple[CommunityId, ...]
    kind: PromotionKind
    title: str
    description: str
    terms: str  # 使用规则: when and how it may be used
    price: Money
    value: Money | None
    quantity: int
    per_resident: int
    sale_starts_at: dt.datetime
    sale_ends_at: dt.datetime
    use_until: dt.datetime
    sku_id: SkuId  # the SKU residents order
    created_at: dt.datetime
    photos: tuple[str, ...] = ()
    withdrawn: bool = False
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def publish(
        cls,
        *,
        id: PromotionId,
        provider_id: ProviderId,
        community_ids: Iterable[CommunityId],
        kind: PromotionKind,
        title: str,
        description: str,
        terms: str,
        price: Money,
        value: Money | None,
        quantity: int,
        per_resident: int,
        sale_starts_at: dt.datetime,
        sale_ends_at: dt.datetime,
        use_until: dt.datetime,
        sku_id: SkuId,
        photo_urls: Sequence[str] = (),
        now: dt.datetime,
    ) -> Promotion:
        communities = tuple(dict.fromkeys(community_ids))
        if not communities:
            raise InvalidInput("a promotion reaches at least one community", field="community_ids")
        if not price.fen > 0:
            raise InvalidInput("a promotion costs something", field="price")
        if value is not None and value <= price:
            raise InvalidInput("its value is more than its price, or leave it out", field="value")
        for number, name, most in (
            (quantity, "quantity", MAX_VOUCHERS),
            (per_resident, "per_resident", 99),
        ):
            if type(number) is not int or not 1 <= number <= most:
                raise InvalidInput(f"{name} is a whole number from 1 to {most}", field=name)
        starts = utc_time(sale_starts_at, "sale_starts_at")
        ends = utc_time(sale_ends_at, "sale_ends_at")
        use_by = utc_time(use_until, "use_until")
        if not starts < ends <= use_by:
            raise InvalidInput(
                "a sale starts before it ends, and vouchers are usable until it ends at least",
                field="sale_ends_at",
            )
        if ends <= now:
            raise InvalidInput("the sale would be over already", field="sale_ends_at")
        made = cls(
            id=id,
            provider_id=provider_id,
            community_ids=communities,
            kind=PromotionKind(kind),
            title=clean_text(title, "title", max_len=60),
            description=clean_text(description, "description", max_len=2000, required=False),
            terms=clean_text(terms, "terms", max_len=2000),
            price=price,
            value=value,
            quantity=quantity,
            per_resident=per_resident,
            sale_starts_at=starts,
            sale_ends_at=ends,
            use_until=use_by,
            sku_id=sku_id,
            created_at=now,
            photos=photos(photo_urls),
        )
        made.events.append(
            PromotionPublished(
                occurred_at=now,
                promotion_id=id,
                provider_id=provider_id,
                community_ids=communities,
                kind=made.kind,
                title=made.title,
            )
        )
        return made

    def on_sale(self, now: dt.datetime) -> bool:
        return not self.withdrawn and self.sale_starts_at <= now < self.sale_ends_at

    def check_sale(self, community_id: CommunityId, now: dt.datetime) -> None:
        if community_id not in self.community_ids:
            raise InvalidInput(f"{self.title} is not offered in this community", field="items")
        if not self.on_sale(now):
            raise IllegalTransition(
                f"{self.title} is not on sale now",
                status="withdrawn" if self.withdrawn else "off_sale",
                action="buy",
            )

    def withdraw(self, *, now: dt.datetime) -> None:
        """Off sale for good; vouchers sold stay valid until their use period ends."""
        if self.withdrawn:
            raise IllegalTransition(
                f"promotion {self.id} is withdrawn already", status="withdrawn", action="withdraw"
            )
        self.withdrawn = True
        self.version += 1
        self.events.append(PromotionWithdrawn(occurred_at=now, promotion_id=self.id))


@attrs.define(slots=False, eq=False)
class Voucher:
    """One unit of a promotion a resident paid for, redeemed at the merchant for its
    code."""

    id: VoucherId
    promotion_id: PromotionId
    provider_id: ProviderId
    order_id: OrderId
    sku_id: SkuId
    resident_id: AccountId
    code: str = attrs.field(repr=False)
    issued_at: dt.datetime
    expires_at: dt.datetime
    status: VoucherStatus = VoucherStatus.VALID
    changed_at: dt.datetime | None = None
    redeemed_by: AccountId | None = None
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def issue(
        cls,
        *,
        id: VoucherId,
        promotion: Promotion,
        order_id: OrderId,
        resident_id: AccountId,
        code: str,
        now: dt.datetime,
    ) -> Voucher:
        made = cls(
            id=id,
            promotion_id=promotion.id,
            provider_id=promotion.provider_id,
            order_id=order_id,
            sku_id=promotion.sku_id,
            resident_id=resident_id,
            code=code,
            issued_at=now,
            expires_at=promotion.use_until,
        )
        made._changed(now)
        return made

    def _changed(self, now: dt.datetime) -> None:
        self.events.append(
            VoucherChanged(
                occurred_at=now,
                voucher_id=self.id,
                order_id=self.order_id,
                resident_id=self.resident_id,
                provider_id=self.provider_id,
                status=self.status,
            )
        )

    def _move(self, status: VoucherStatus, now: dt.datetime) -> None:
        if self.status is not VoucherStatus.VALID:
            raise IllegalTransition(
                f"voucher {self.id} is {self.status.value}",
                status=self.status.value,
                action=status.value,
            )
        self.status, self.changed_at = status, now
        self.version += 1
        self._changed(now)

    def redeem(self, *, by: AccountId | None, now: dt.datetime) -> None:
        if now >= self.expires_at:
            raise IllegalTransition(
                f"voucher {self.id} expired at {self.expires_at.isoformat()}",
                status="expired",
                action="redeem",
            )
        self._move(VoucherStatus.REDEEMED, now)
        self.redeemed_by = by

    def refund(self, *, now: dt.datetime) -> None:
        self._move(VoucherStatus.REFUNDED, now)

    def expire(self, *, now: dt.datetime) -> None:
        if now < self.expires_at:
            raise IllegalTransition(
                f"voucher {self.id} is usable until {self.expires_at.isoformat()}",
                status=self.status.value,
                action="expire",
            )
        self._move(VoucherStatus.EXPIRED, now)
