"""The pricing engine: coupons as data, delivery fees, and the price breakdown.

A coupon is a :class:`CouponTerms` record, not a branch of code: its kind says what it
gives, its scope says which goods it covers, its issuer (the platform or one seller) says
with what it may stack. :func:`price` applies a chosen set of coupons to some lines;
:func:`best_choice` tries every allowed set and keeps the cheapest.

The rules, each named so a test can hold it:

* **Thresholds** (满减's "spend at least X", an optional minimum spend on the other kinds)
  are judged on the covered goods' subtotal *before* any discount, so one coupon never
  disqualifies another.
* **Order of application**: the seller's coupon first, then the platform's; each takes
  its discount from what its covered lines still cost after the earlier one.
* **Percent off rounds down** to the fen: a resident never gets more than the stated
  percentage, and a cap limits it further.
* **A discount never exceeds what its covered lines still cost**, so no line goes below 0.
* **Allocation**: a coupon's discount is split over its covered lines by largest remainder,
  in proportion to what each still costs; lines are priced in SKU-id order, so the order
  they are given in changes nothing.
* **Delivery**: pickup is free; home delivery costs a base fee, free when the goods'
  subtotal (before discounts) reaches the free-delivery threshold; express adds a
  surcharge. A delivery coupon (运费券) waives the base fee; the surcharge stays.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from shequ.domain.catalog import normalise_category
from shequ.domain.errors import (
    CouponBelowThreshold,
    CouponNotApplicable,
    CouponsNotStackable,
    InvalidAmount,
    InvalidInput,
    InvalidQuantity,
)
from shequ.domain.ids import CouponId, SellerId, SkuId, check_id
from shequ.domain.money import Money

__all__ = [
    "MAX_QUANTITY",
    "AppliedCoupon",
    "CouponKind",
    "CouponScope",
    "CouponTerms",
    "DeliveryFees",
    "Fulfilment",
    "LinePrice",
    "PriceBreakdown",
    "PricedCoupon",
    "PricingLine",
    "Quote",
    "ScopeKind",
    "allowed_combinations",
    "best_choice",
    "check_quantity",
    "check_stackable",
    "price",
]

MAX_QUANTITY: Final = 9_999
_MOST: Final = 100_000_000  # ¥1,000,000.00 in fen: above it an amount is a typo


def check_quantity(quantity: int, field: str = "quantity") -> int:
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity(
            f"{field} must be a whole number from 1 to {MAX_QUANTITY}, not {quantity!r}",
            field=field,
        )
    return quantity


class CouponKind(enum.StrEnum):
    """What a coupon gives."""

    THRESHOLD = "threshold"  # 满减: spend at least X, get Y off
    PERCENT = "percent"  # 折扣: a percentage off, optionally capped
    AMOUNT = "amount"  # 无门槛: an amount off, no threshold
    DELIVERY = "delivery"  # 运费券: free delivery

    @property
    def label(self) -> str:
        return {"threshold": "满减", "percent": "折扣", "amount": "无门槛", "delivery": "运费券"}[
            self.value
        ]


class ScopeKind(enum.StrEnum):
    """Which goods a coupon covers."""

    ORDER = "order"
    CATEGORY = "category"
    SKUS = "skus"
    SELLER = "seller"


@attrs.frozen
class PricingLine:
    """One SKU in a cart or an order, with what pricing needs to know of it."""

    sku_id: SkuId
    seller_id: SellerId
    category: str
    unit_price: Money
    quantity: int

    def __attrs_post_init__(self) -> None:
        check_quantity(self.quantity)
        if self.unit_price.fen <= 0:
            raise InvalidAmount("a unit price is more than zero", field="unit_price")

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity


@attrs.frozen
class CouponScope:
    """The whole order, a category (and everything below it), some SKUs, or one seller."""

    kind: ScopeKind = ScopeKind.ORDER
    category: str | None = None
    sku_ids: frozenset[SkuId] = frozenset()
    seller_id: SellerId | None = None

    def __attrs_post_init__(self) -> None:
        if self.category is not None:
            object.__setattr__(self, "category", normalise_category(self.category))
        for sku_id in self.sku_ids:
            check_id(sku_id, "SKU")
        if self.seller_id is not None:
            check_id(self.seller_id, "seller")
        wanted = {
            ScopeKind.ORDER: (),
            ScopeKind.CATEGORY: ("category",),
            ScopeKind.SKUS: ("sku_ids",),
            ScopeKind.SELLER: ("seller_id",),
        }[self.kind]
        for name in ("category", "sku_ids", "seller_id"):
            if bool(getattr(self, name)) != (name in wanted):
                raise InvalidInput(
                    f"a {self.kind.value} scope "
                    + (f"needs {name}" if name in wanted else f"takes no {name}"),
                    field="scope",
                )

    def covers(self, line: PricingLine) -> bool:
        match self.kind:
            case ScopeKind.ORDER:
                return True
            case ScopeKind.CATEGORY:
                category = self.category or ""
                return line.category == category or line.category.startswith(category + "/")
            case ScopeKind.SKUS:
                return line.sku_id in self.sku_ids
            case ScopeKind.SELLER:
                return line.seller_id == self.seller_id

    def describe(self) -> str:
        match self.kind:
            case ScopeKind.ORDER:
                return "the whole order"
            case ScopeKind.CATEGORY:
                return f"category {self.category}"
            case ScopeKind.SKUS:
                return f"SKUs {', '.join(sorted(self.sku_ids))}"
            case ScopeKind.SELLER:
                return f"seller {self.seller_id}"


@attrs.frozen
class CouponTerms:
    """What a coupon gives and on what: the data the engine prices with.

    * ``THRESHOLD``: ``amount`` off when the covered goods cost at least ``threshold``.
    * ``PERCENT``: ``percent_off`` percent off the covered goods, at most ``cap``; an
      optional ``threshold`` is a minimum spend.
    * ``AMOUNT``: ``amount`` off, no threshold.
    * ``DELIVERY``: the delivery base fee waived; an optional ``threshold`` is a minimum spend.

    ``seller_id`` is the issuer: ``None`` for the platform, else the seller, whose goods
    alone the coupon then covers.
    """

    kind: CouponKind
    amount: Money = Money(0)
    threshold: Money = Money(0)
    percent_off: int = 0
    cap: Money | None = None
    scope: CouponScope = CouponScope()
    seller_id: SellerId | None = None

    def __attrs_post_init__(self) -> None:
        kind = self.kind
        if self.seller_id is not None:
            check_id(self.seller_id, "seller")
        if kind in (CouponKind.THRESHOLD, CouponKind.AMOUNT):
            if not 0 < self.amount.fen <= 100_000_00:
                raise InvalidAmount("the amount off is ¥0.01 to ¥100,000.00", field="amount")
        elif self.amount:
            raise InvalidInput(f"a {kind.value} coupon takes no amount", field="amount")
        if kind is CouponKind.THRESHOLD and self.threshold <= self.amount:
            raise InvalidAmount(
                "a 满减 coupon's threshold must be above its amount off", field="threshold"
            )
        if kind is CouponKind.AMOUNT and self.threshold:
            raise InvalidInput("a 无门槛 coupon has no threshold", field="threshold")
        if not 0 <= self.threshold.fen <= _MOST:
            raise InvalidAmount("a threshold is ¥0.00 to ¥1,000,000.00", field="threshold")
        if kind is CouponKind.PERCENT:
            if type(self.percent_off) is not int or not 1 <= self.percent_off <= 99:
                raise InvalidInput("percent off is a whole number from 1 to 99", field="percent")
            if self.cap is not None and not 0 < self.cap.fen <= _MOST:
                raise InvalidAmount("a cap is ¥0.01 to ¥1,000,000.00", field="cap")
        elif self.percent_off or self.cap is not None:
            raise InvalidInput(f"a {kind.value} coupon takes no percentage or cap", field="percent")
        if (
            self.seller_id is not None
            and self.scope.kind is ScopeKind.SELLER
            and self.scope.seller_id != self.seller_id
        ):
            raise InvalidInput("a seller's coupon covers only that seller's goods", field="scope")

    @property
    def platform(self) -> bool:
        return self.seller_id is None

    def covers(self, line: PricingLine) -> bool:
        return self.scope.covers(line) and (self.seller_id in (None, line.seller_id))

    def off(self, still_payable: int) -> int:
        """The discount in fen on covered goods that still cost ``still_payable`` fen."""
        match self.kind:
            case CouponKind.THRESHOLD | CouponKind.AMOUNT:
                nominal = self.amount.fen
            case CouponKind.PERCENT:
                nominal = still_payable * self.percent_off // 100  # rounds down
                if self.cap is not None:
                    nominal = min(nominal, self.cap.fen)
            case CouponKind.DELIVERY:
                nominal = 0
        return min(nominal, still_payable)

    def describe(self) -> str:
        spend = f"spend {self.threshold}, " if self.threshold else ""
        match self.kind:
            case CouponKind.THRESHOLD | CouponKind.AMOUNT:
                gives = f"{self.amount} off"
            case CouponKind.PERCENT:
                cap = f" (at most {self.cap})" if self.cap else ""
                gives = f"{self.percent_off}% off{cap}"
            case CouponKind.DELIVERY:
                gives = "free delivery"
        return f"{self.kind.label}: {spend}{gives} on {self.scope.describe()}"


@attrs.frozen
class PricedCoupon:
    """A coupon as the engine sees it: an id to report, and its terms."""

    id: CouponId
    terms: CouponTerms


class Fulfilment(enum.StrEnum):
    PICKUP = "pickup"  # 自提
    DELIVERY = "delivery"  # 配送 to the door
    VOUCHER = "voucher"  # 到店核销: vouchers redeemed at a local merchant, nothing to hand over


@attrs.frozen
class DeliveryFees:
    """Home delivery: ``base_fee``, waived from ``free_from`` (goods before discounts);
    ``express_surcharge`` on top for 加急. Pickup is free."""

    base_fee: Money = Money(500)
    free_from: Money | None = Money(5900)
    express_surcharge: Money = Money(800)

    def __attrs_post_init__(self) -> None:
        for name in ("base_fee", "express_surcharge"):
            if getattr(self, name).is_negative:
                raise InvalidAmount(f"{name} is not negative", field=name)

    def base(self, fulfilment: Fulfilment, subtotal: Money) -> Money:
        if fulfilment is not Fulfilment.DELIVERY:
            return Money(0)
        if self.free_from is not None and subtotal >= self.free_from:
            return Money(0)
        return self.base_fee

    def surcharge(self, fulfilment: Fulfilment, express: bool) -> Money:
        return self.express_surcharge if fulfilment is Fulfilment.DELIVERY and express else Money(0)


@attrs.frozen
class LinePrice:
    sku_id: SkuId
    unit_price: Money
    quantity: int
    subtotal: Money
    discount: Money
    payable: Money


@attrs.frozen
class AppliedCoupon:
    coupon_id: CouponId
    kind: CouponKind
    saving: Money


@attrs.frozen
class PriceBreakdown:
    """What a resident pays, line by line. ``total = Σ line payable + delivery_fee``."""

    lines: tuple[LinePrice, ...]
    subtotal: Money
    discount: Money
    delivery_fee: Money  # charged: the base fee after any waiver, plus any surcharge
    delivery_waived: Money
    total: Money
    coupons: tuple[AppliedCoupon, ...] = ()

    @property
    def savings(self) -> Money:
        """Everything the coupons took off: goods discount and waived delivery."""
        return self.discount + self.delivery_waived

    def line(self, sku_id: SkuId) -> LinePrice:
        return next(line for line in self.lines if line.sku_id == sku_id)


@attrs.frozen
class Quote:
    """A breakdown and the coupons it used; ``savings`` is against no coupon at all."""

    breakdown: PriceBreakdown
    coupon_ids: tuple[CouponId, ...]
    savings: Money


_ISSUER_ORDER: Final = {False: 0, True: 1}  # seller coupons first, then the platform's


def check_stackable(coupons: Sequence[PricedCoupon]) -> None:
    """At most one coupon of each kind; at most one platform and one seller coupon."""
    kinds = [c.terms.kind for c in coupons]
    if len(set(kinds)) != len(kinds):
        raise CouponsNotStackable("at most one coupon of each kind may be used on an order")
    platform = sum(1 for c in coupons if c.terms.platform)
    if platform > 1 or len(coupons) - platform > 1:
        raise CouponsNotStackable("at most one platform coupon and one seller coupon stack")
    if len({c.id for c in coupons}) != len(coupons):
        raise CouponsNotStackable("a coupon is used once per order")


def _merged(lines: Iterable[PricingLine]) -> list[PricingLine]:
    by_sku: dict[SkuId, PricingLine] = {}
    for line in lines:
        seen = by_sku.get(line.sku_id)
        if seen is not None:
            if (seen.unit_price, seen.seller_id, seen.category) != (
                line.unit_price,
                line.seller_id,
                line.category,
            ):
                raise InvalidInput(f"SKU {line.sku_id} appears twice with different facts")
            line = attrs.evolve(seen, quantity=check_quantity(seen.quantity + line.quantity))
        by_sku[line.sku_id] = line
    return sorted(by_sku.values(), key=lambda line: line.sku_id)


def _refusal(coupon: PricedCoupon, lines: Sequence[PricingLine], fulfilment: Fulfilment) -> str:
    """Why the coupon cannot apply to these lines, or ``""`` when it can."""
    terms = coupon.terms
    covered = [line for line in lines if terms.covers(line)]
    if not covered:
        return f"coupon {coupon.id} covers nothing in this order ({terms.scope.describe()})"
    if terms.kind is CouponKind.DELIVERY and fulfilment is not Fulfilment.DELIVERY:
        return f"coupon {coupon.id} is for home delivery"
    eligible = sum((line.subtotal for line in covered), Money(0))
    if eligible < terms.threshold:
        return f"coupon {coupon.id} needs {terms.threshold} of covered goods; they cost {eligible}"
    return ""


def price(
    lines: Iterable[PricingLine],
    *,
    fulfilment: Fulfilment = Fulfilment.PICKUP,
    express: bool = False,
    fees: DeliveryFees = DeliveryFees(),
    coupons: Sequence[PricedCoupon] = (),
) -> PriceBreakdown:
    """Price ``lines`` with exactly ``coupons``; raises when they do not stack or apply."""
    ordered = _merged(lines)
    if not ordered:
        raise InvalidInput("an order has at least one line", field="lines")
    if express and fulfilment is not Fulfilment.DELIVERY:
        raise InvalidInput("express is for home delivery", field="express")
    check_stackable(coupons)
    for coupon in coupons:
        reason = _refusal(coupon, ordered, fulfilment)
        if reason:
            wrong = CouponBelowThreshold if reason.startswith(f"coupon {coupon.id} needs") else None
            raise (wrong or CouponNotApplicable)(reason, coupon_id=coupon.id)
    payable = [line.subtotal.fen for line in ordered]
    subtotal = Money(sum(payable))
    base = fees.base(fulfilment, subtotal)
    applied: list[AppliedCoupon] = []
    waived = Money(0)
    for coupon in sorted(coupons, key=lambda c: (_ISSUER_ORDER[c.terms.platform], c.id)):
        terms = coupon.terms
        if terms.kind is CouponKind.DELIVERY:
            waived = base
            applied.append(AppliedCoupon(coupon.id, terms.kind, base))
            continue
        covered = [i for i, line in enumerate(ordered) if terms.covers(line)]
        still = sum(payable[i] for i in covered)
        off = terms.off(still)
        if off:
            parts = Money(off).allocate([payable[i] for i in covered])
            for i, part in zip(covered, parts, strict=True):
                payable[i] -= part.fen
        applied.append(AppliedCoupon(coupon.id, terms.kind, Money(off)))
    priced = tuple(
        LinePrice(
            sku_id=line.sku_id,
            unit_price=line.unit_price,
            quantity=line.quantity,
            subtotal=line.subtotal,
            discount=line.subtotal - Money(left),
            payable=Money(left),
        )
        for line, left in zip(ordered, payable, strict=True)
    )
    delivery_fee = base - waived + fees.surcharge(fulfilment, express)
    goods = Money(sum(payable))
    return PriceBreakdown(
        lines=priced,
        subtotal=subtotal,
        discount=subtotal - goods,
        delivery_fee=delivery_fee,
        delivery_waived=waived,
        total=goods + delivery_fee,
        coupons=tuple(applied),
    )


def allowed_combinations(
    lines: Sequence[PricingLine], fulfilment: Fulfilment, candidates: Iterable[PricedCoupon]
) -> list[tuple[PricedCoupon, ...]]:
    """Every set of ``candidates`` that may be used together on these lines, ``()`` first."""
    ordered = _merged(lines)
    usable = sorted(
        {c.id: c for c in candidates if not _refusal(c, ordered, fulfilment)}.values(),
        key=lambda c: c.id,
    )
    combos: list[tuple[PricedCoupon, ...]] = [()]
    combos.extend((c,) for c in usable)
    for pair in itertools.combinations(usable, 2):
        try:
            check_stackable(pair)
        except CouponsNotStackable:
            continue
        combos.append(pair)
    return combos


def best_choice(
    lines: Sequence[PricingLine],
    *,
    fulfilment: Fulfilment = Fulfilment.PICKUP,
    express: bool = False,
    fees: DeliveryFees = DeliveryFees(),
    candidates: Iterable[PricedCoupon] = (),
) -> Quote:
    """The cheapest allowed set of ``candidates``: lowest total, then fewest coupons, then
    lowest coupon ids. Tries every allowed set (at most two coupons stack)."""
    best: tuple[tuple[int, int, tuple[str, ...]], PriceBreakdown, tuple[CouponId, ...]] | None
    best = None
    plain: PriceBreakdown | None = None
    for combo in allowed_combinations(lines, fulfilment, candidates):
        breakdown = price(lines, fulfilment=fulfilment, express=express, fees=fees, coupons=combo)
        ids = tuple(sorted(c.id for c in combo))
        if not combo:
            plain = breakdown
        rank = (breakdown.total.fen, len(combo), ids)
        if best is None or rank < best[0]:
            best = (rank, breakdown, ids)
    if best is None or plain is None:  # pragma: no cover - () is always allowed
        raise AssertionError("no combination was priced")
    return Quote(breakdown=best[1], coupon_ids=best[2], savings=plain.total - best[1].total)
