"""The pricing engine's rules, held as properties over generated carts and coupons."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequ.domain.errors import (
    CouponBelowThreshold,
    CouponNotApplicable,
    CouponsNotStackable,
    InvalidInput,
    InvalidQuantity,
)
from shequ.domain.ids import CouponId, SellerId, SkuId
from shequ.domain.money import Money
from shequ.domain.ordering.pricing import (
    CouponKind,
    CouponScope,
    CouponTerms,
    DeliveryFees,
    Fulfilment,
    PriceBreakdown,
    PricedCoupon,
    PricingLine,
    ScopeKind,
    allowed_combinations,
    best_choice,
    price,
)

SKUS = tuple(SkuId(f"k{i}") for i in range(1, 7))
NOT_SOLD = SkuId("k9")
SELLERS = (SellerId("s1"), SellerId("s2"), SellerId("s3"))
CATEGORIES = ("生鲜/水果", "生鲜/蔬菜", "生鲜", "日用/纸品", "粮油")
SCOPE_CATEGORIES = (*CATEGORIES, "日用", "数码")

PROPERTY = settings(max_examples=100)


@attrs.frozen
class Case:
    """Some lines to price, how they reach the resident, and the coupons on offer."""

    lines: tuple[PricingLine, ...]
    fulfilment: Fulfilment
    express: bool
    fees: DeliveryFees
    candidates: tuple[PricedCoupon, ...]

    def price(self, coupons: Sequence[PricedCoupon] = ()) -> PriceBreakdown:
        return price(
            self.lines,
            fulfilment=self.fulfilment,
            express=self.express,
            fees=self.fees,
            coupons=coupons,
        )

    def combinations(self) -> list[tuple[PricedCoupon, ...]]:
        return allowed_combinations(self.lines, self.fulfilment, self.candidates)


fen = st.integers(min_value=1, max_value=50_000).map(Money)


@st.composite
def pricing_lines(draw: st.DrawFn) -> tuple[PricingLine, ...]:
    """1 to 8 lines over a few SKUs; a SKU drawn twice keeps its facts, so the lines merge."""
    facts = {
        sku: (draw(st.sampled_from(SELLERS)), draw(st.sampled_from(CATEGORIES)), draw(fen))
        for sku in SKUS
    }
    chosen = draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=8))
    lines = []
    for sku in chosen:
        seller, category, unit_price = facts[sku]
        quantity = draw(st.integers(min_value=1, max_value=20))
        lines.append(PricingLine(sku, seller, category, unit_price, quantity))
    return tuple(lines)


@st.composite
def scopes(draw: st.DrawFn, issuer: SellerId | None) -> CouponScope:
    kind = draw(st.just(ScopeKind.ORDER) | st.sampled_from(ScopeKind))  # most often the order
    match kind:
        case ScopeKind.ORDER:
            return CouponScope()
        case ScopeKind.CATEGORY:
            return CouponScope(kind, category=draw(st.sampled_from(SCOPE_CATEGORIES)))
        case ScopeKind.SKUS:
            chosen = draw(st.frozensets(st.sampled_from((*SKUS, NOT_SOLD)), min_size=1, max_size=3))
            return CouponScope(kind, sku_ids=chosen)
        case ScopeKind.SELLER:
            seller = issuer if issuer is not None else draw(st.sampled_from(SELLERS))
            return CouponScope(kind, seller_id=seller)


@st.composite
def coupon_terms(draw: st.DrawFn) -> CouponTerms:
    issuer = draw(st.none() | st.sampled_from(SELLERS))
    scope = draw(scopes(issuer))
    kind = draw(st.sampled_from(CouponKind))
    small = st.integers(min_value=1, max_value=20_000)
    minimum = st.just(0) | st.integers(min_value=1, max_value=100_000)
    match kind:
        case CouponKind.THRESHOLD:
            amount = draw(small)
            threshold = amount + draw(st.integers(min_value=1, max_value=50_000))
            return CouponTerms(
                kind,
                amount=Money(amount),
                threshold=Money(threshold),
                scope=scope,
                seller_id=issuer,
            )
        case CouponKind.PERCENT:
            cap = draw(st.none() | small.map(Money))
            return CouponTerms(
                kind,
                percent_off=draw(st.integers(min_value=1, max_value=99)),
                cap=cap,
                threshold=Money(draw(minimum)),
                scope=scope,
                seller_id=issuer,
            )
        case CouponKind.AMOUNT:
            return CouponTerms(kind, amount=Money(draw(small)), scope=scope, seller_id=issuer)
        case CouponKind.DELIVERY:
            return CouponTerms(kind, threshold=Money(draw(minimum)), scope=scope, seller_id=issuer)


delivery_fees = st.builds(
    DeliveryFees,
    base_fee=st.integers(min_value=0, max_value=1_000).map(Money),
    free_from=st.none() | st.integers(min_value=0, max_value=100_000).map(Money),
    express_surcharge=st.integers(min_value=0, max_value=1_500).map(Money),
)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    fulfilment = draw(st.sampled_from(Fulfilment))
    express = fulfilment is Fulfilment.DELIVERY and draw(st.booleans())
    terms = draw(st.lists(coupon_terms(), max_size=6))
    return Case(
        lines=draw(pricing_lines()),
        fulfilment=fulfilment,
        express=express,
        fees=draw(delivery_fees),
        candidates=tuple(PricedCoupon(CouponId(f"c{i}"), t) for i, t in enumerate(terms)),
    )


def covered_subtotal(terms: CouponTerms, lines: Sequence[PricingLine]) -> Money:
    return sum((line.subtotal for line in lines if terms.covers(line)), Money(0))


# ---------------------------------------------------------------- properties


@PROPERTY
@given(case=cases())
def test_the_total_is_what_the_lines_cost_plus_the_delivery_fee(case: Case) -> None:
    for combo in case.combinations():
        breakdown = case.price(combo)
        payable = sum((line.payable for line in breakdown.lines), Money(0))
        assert breakdown.total == payable + breakdown.delivery_fee
        assert breakdown.subtotal == sum((line.subtotal for line in case.lines), Money(0))


@PROPERTY
@given(case=cases())
def test_no_line_costs_less_than_nothing_nor_gets_more_off_than_it_costs(case: Case) -> None:
    for combo in case.combinations():
        for line in case.price(combo).lines:
            assert line.payable >= Money(0)
            assert Money(0) <= line.discount <= line.subtotal
            assert line.discount + line.payable == line.subtotal


@PROPERTY
@given(case=cases())
def test_the_order_discount_is_the_lines_discounts_and_the_coupons_savings(case: Case) -> None:
    for combo in case.combinations():
        breakdown = case.price(combo)
        assert sum((line.discount for line in breakdown.lines), Money(0)) == breakdown.discount
        goods_savings = [c.saving for c in breakdown.coupons if c.kind is not CouponKind.DELIVERY]
        assert sum(goods_savings, Money(0)) == breakdown.discount
        assert {c.coupon_id for c in breakdown.coupons} == {c.id for c in combo}


@PROPERTY
@given(case=cases())
def test_a_coupon_never_takes_off_more_than_the_goods_it_covers_cost(case: Case) -> None:
    for combo in case.combinations():
        savings = {c.coupon_id: c.saving for c in case.price(combo).coupons}
        for coupon in combo:
            if coupon.terms.kind is CouponKind.DELIVERY:
                continue
            assert Money(0) <= savings[coupon.id] <= covered_subtotal(coupon.terms, case.lines)


@PROPERTY
@given(case=cases())
def test_a_percent_coupon_alone_gives_at_most_its_percentage_and_its_cap(case: Case) -> None:
    for combo in case.combinations():
        if len(combo) != 1 or combo[0].terms.kind is not CouponKind.PERCENT:
            continue
        terms = combo[0].terms
        covered = covered_subtotal(terms, case.lines).fen
        expected = covered * terms.percent_off // 100
        if terms.cap is not None:
            expected = min(expected, terms.cap.fen)
        assert case.price(combo).discount == Money(expected)


@PROPERTY
@given(case=cases())
def test_the_delivery_fee_is_judged_on_the_goods_before_discounts(case: Case) -> None:
    fees = case.fees
    for combo in case.combinations():
        breakdown = case.price(combo)
        if case.fulfilment is not Fulfilment.DELIVERY:  # a pickup, vouchers: nothing brought
            assert (breakdown.delivery_fee, breakdown.delivery_waived) == (Money(0), Money(0))
            continue
        free = fees.free_from is not None and breakdown.subtotal >= fees.free_from
        base = Money(0) if free else fees.base_fee
        waived = base if any(c.terms.kind is CouponKind.DELIVERY for c in combo) else Money(0)
        surcharge = fees.express_surcharge if case.express else Money(0)
        assert breakdown.delivery_waived == waived
        assert breakdown.delivery_fee == base - waived + surcharge


@PROPERTY
@given(case=cases())
def test_the_same_inputs_give_the_same_result(case: Case) -> None:
    for combo in case.combinations():
        assert case.price(combo) == case.price(combo)
    first = best_choice(
        case.lines,
        fulfilment=case.fulfilment,
        express=case.express,
        fees=case.fees,
        candidates=case.candidates,
    )
    again = best_choice(
        case.lines,
        fulfilment=case.fulfilment,
        express=case.express,
        fees=case.fees,
        candidates=case.candidates,
    )
    assert first == again


@PROPERTY
@given(case=cases(), data=st.data())
def test_the_order_of_the_lines_changes_nothing(case: Case, data: st.DataObject) -> None:
    shuffled = attrs.evolve(case, lines=tuple(data.draw(st.permutations(case.lines))))
    candidates = tuple(data.draw(st.permutations(case.candidates)))
    assert shuffled.combinations() == case.combinations()
    for combo in case.combinations():
        assert shuffled.price(combo) == case.price(combo)
        assert shuffled.price(tuple(reversed(combo))) == case.price(combo)
    assert best_choice(
        shuffled.lines,
        fulfilment=case.fulfilment,
        express=case.express,
        fees=case.fees,
        candidates=candidates,
    ) == best_choice(
        case.lines,
        fulfilment=case.fulfilment,
        express=case.express,
        fees=case.fees,
        candidates=case.candidates,
    )


@PROPERTY
@given(case=cases())
def test_adding_an_allowed_coupon_never_raises_the_total(case: Case) -> None:
    for combo in case.combinations():
        total = case.price(combo).total
        for size in range(len(combo)):
            for fewer in itertools.combinations(combo, size):
                assert case.price(fewer).total >= total


@PROPERTY
@given(case=cases())
def test_the_automatic_choice_is_never_worse_than_any_allowed_combination(case: Case) -> None:
    quote = best_choice(
        case.lines,
        fulfilment=case.fulfilment,
        express=case.express,
        fees=case.fees,
        candidates=case.candidates,
    )
    combos = case.combinations()
    for combo in combos:
        assert quote.breakdown.total <= case.price(combo).total
    assert quote.savings == case.price(()).total - quote.breakdown.total
    assert quote.savings >= Money(0)
    chosen = next(c for c in combos if sorted(x.id for x in c) == list(quote.coupon_ids))
    assert case.price(chosen) == quote.breakdown


# ---------------------------------------------------------------- examples

ORANGE = PricingLine(SkuId("k1"), SellerId("s1"), "生鲜/水果", Money(999), 1)
RICE = PricingLine(SkuId("k2"), SellerId("s2"), "粮油", Money(3000), 1)


def coupon(id: str, kind: CouponKind, **terms: object) -> PricedCoupon:
    return PricedCoupon(CouponId(id), CouponTerms(kind, **terms))  # type: ignore[arg-type]


def test_a_threshold_coupon_below_its_threshold_is_refused() -> None:
    spend_50 = coupon("c1", CouponKind.THRESHOLD, amount=Money(500), threshold=Money(5000))
    with pytest.raises(CouponBelowThreshold):
        price([ORANGE, RICE], coupons=[spend_50])
    at_threshold = price([attrs.evolve(ORANGE, unit_price=Money(2000)), RICE], coupons=[spend_50])
    assert (at_threshold.subtotal, at_threshold.discount) == (Money(5000), Money(500))


def test_a_threshold_is_judged_on_the_covered_goods_only() -> None:
    fruit = CouponScope(ScopeKind.CATEGORY, category="生鲜")
    fruit_spend_20 = coupon(
        "c1", CouponKind.THRESHOLD, amount=Money(300), threshold=Money(2000), scope=fruit
    )
    with pytest.raises(CouponBelowThreshold):
        price([ORANGE, RICE], coupons=[fruit_spend_20])


def test_two_coupons_of_one_kind_do_not_stack() -> None:
    platform = coupon("c1", CouponKind.AMOUNT, amount=Money(100))
    seller = coupon("c2", CouponKind.AMOUNT, amount=Money(100), seller_id=SellerId("s1"))
    with pytest.raises(CouponsNotStackable):
        price([ORANGE, RICE], coupons=[platform, seller])


def test_two_platform_coupons_do_not_stack() -> None:
    amount = coupon("c1", CouponKind.AMOUNT, amount=Money(100))
    percent = coupon("c2", CouponKind.PERCENT, percent_off=10)
    with pytest.raises(CouponsNotStackable):
        price([ORANGE, RICE], coupons=[amount, percent])


def test_a_seller_coupon_and_a_platform_coupon_stack_seller_first() -> None:
    seller = coupon("c9", CouponKind.AMOUNT, amount=Money(999), seller_id=SellerId("s1"))
    platform = coupon("c1", CouponKind.PERCENT, percent_off=10)
    breakdown = price([ORANGE, RICE], coupons=[platform, seller])
    # the seller's ¥9.99 makes the orange free; the platform's 10% is of the rice alone
    assert breakdown.line(SkuId("k1")).payable == Money(0)
    assert breakdown.line(SkuId("k2")).payable == Money(2700)
    assert [(c.coupon_id, c.saving) for c in breakdown.coupons] == [
        ("c9", Money(999)),
        ("c1", Money(300)),
    ]


def test_percent_off_rounds_down_to_the_fen() -> None:
    ten_percent = coupon("c1", CouponKind.PERCENT, percent_off=10)
    breakdown = price([ORANGE], coupons=[ten_percent])
    assert (breakdown.discount, breakdown.total) == (Money(99), Money(900))


def test_percent_off_stops_at_its_cap() -> None:
    capped = coupon("c1", CouponKind.PERCENT, percent_off=50, cap=Money(1000))
    assert price([ORANGE, RICE], coupons=[capped]).discount == Money(1000)
    assert price([ORANGE], coupons=[capped]).discount == Money(499)


def test_an_amount_coupon_never_takes_more_than_the_goods_cost() -> None:
    big = coupon("c1", CouponKind.AMOUNT, amount=Money(5000))
    breakdown = price([ORANGE], coupons=[big])
    assert (breakdown.discount, breakdown.total, breakdown.coupons[0].saving) == (
        Money(999),
        Money(0),
        Money(999),
    )


def test_a_discount_is_split_over_the_covered_lines_in_proportion() -> None:
    lines = [
        PricingLine(SkuId("k1"), SellerId("s1"), "生鲜", Money(100), 1),
        PricingLine(SkuId("k2"), SellerId("s1"), "生鲜", Money(200), 1),
    ]
    breakdown = price(lines, coupons=[coupon("c1", CouponKind.AMOUNT, amount=Money(100))])
    assert [line.discount for line in breakdown.lines] == [Money(33), Money(67)]


FEES = DeliveryFees(base_fee=Money(500), free_from=Money(5900), express_surcharge=Money(800))


def test_pickup_costs_no_delivery_fee() -> None:
    breakdown = price([ORANGE], fulfilment=Fulfilment.PICKUP, fees=FEES)
    assert (breakdown.delivery_fee, breakdown.total) == (Money(0), Money(999))


def test_delivery_below_the_free_threshold_costs_the_base_fee() -> None:
    breakdown = price([ORANGE], fulfilment=Fulfilment.DELIVERY, fees=FEES)
    assert (breakdown.delivery_fee, breakdown.total) == (Money(500), Money(1499))


def test_delivery_is_free_from_the_threshold_judged_before_discounts() -> None:
    lines = [attrs.evolve(RICE, quantity=2)]  # ¥60.00 of goods, ¥1.00 above the threshold
    off = coupon("c1", CouponKind.AMOUNT, amount=Money(2000))
    breakdown = price(lines, fulfilment=Fulfilment.DELIVERY, fees=FEES, coupons=[off])
    assert (breakdown.delivery_fee, breakdown.total) == (Money(0), Money(4000))
    exactly = PricingLine(SkuId("k3"), SellerId("s1"), "粮油", Money(5900), 1)
    assert price([exactly], fulfilment=Fulfilment.DELIVERY, fees=FEES).delivery_fee == Money(0)
    below = attrs.evolve(exactly, unit_price=Money(5899))
    assert price([below], fulfilment=Fulfilment.DELIVERY, fees=FEES).delivery_fee == Money(500)


def test_express_adds_its_surcharge_even_when_delivery_is_free() -> None:
    cheap = price([ORANGE], fulfilment=Fulfilment.DELIVERY, express=True, fees=FEES)
    assert cheap.delivery_fee == Money(1300)
    free = price(
        [attrs.evolve(RICE, quantity=2)], fulfilment=Fulfilment.DELIVERY, express=True, fees=FEES
    )
    assert free.delivery_fee == Money(800)


def test_express_is_for_home_delivery_only() -> None:
    with pytest.raises(InvalidInput):
        price([ORANGE], fulfilment=Fulfilment.PICKUP, express=True)


def test_a_delivery_coupon_waives_the_base_fee_but_not_the_surcharge() -> None:
    free_delivery = coupon("c1", CouponKind.DELIVERY)
    breakdown = price(
        [ORANGE], fulfilment=Fulfilment.DELIVERY, express=True, fees=FEES, coupons=[free_delivery]
    )
    assert (breakdown.delivery_fee, breakdown.delivery_waived) == (Money(800), Money(500))
    assert (breakdown.discount, breakdown.total, breakdown.savings) == (
        Money(0),
        Money(1799),
        Money(500),
    )


def test_a_delivery_coupon_on_a_pickup_is_not_applicable() -> None:
    with pytest.raises(CouponNotApplicable):
        price([ORANGE], fulfilment=Fulfilment.PICKUP, coupons=[coupon("c1", CouponKind.DELIVERY)])
    assert allowed_combinations(
        [ORANGE], Fulfilment.PICKUP, [coupon("c1", CouponKind.DELIVERY)]
    ) == [()]


@pytest.mark.parametrize(
    "scope",
    [
        CouponScope(ScopeKind.CATEGORY, category="日用"),
        CouponScope(ScopeKind.CATEGORY, category="生鲜/水"),
        CouponScope(ScopeKind.SKUS, sku_ids=frozenset({NOT_SOLD})),
        CouponScope(ScopeKind.SELLER, seller_id=SellerId("s3")),
    ],
)
def test_a_coupon_that_covers_nothing_is_not_applicable(scope: CouponScope) -> None:
    with pytest.raises(CouponNotApplicable):
        price(
            [ORANGE, RICE], coupons=[coupon("c1", CouponKind.AMOUNT, amount=Money(1), scope=scope)]
        )


def test_a_seller_coupon_covers_that_sellers_goods_only() -> None:
    theirs = coupon("c1", CouponKind.AMOUNT, amount=Money(100), seller_id=SellerId("s3"))
    with pytest.raises(CouponNotApplicable):
        price([ORANGE, RICE], coupons=[theirs])
    ours = coupon("c2", CouponKind.PERCENT, percent_off=50, seller_id=SellerId("s2"))
    breakdown = price([ORANGE, RICE], coupons=[ours])
    assert [line.discount for line in breakdown.lines] == [Money(0), Money(1500)]


def test_a_category_coupon_covers_everything_below_it() -> None:
    fresh = coupon(
        "c1",
        CouponKind.AMOUNT,
        amount=Money(100),
        scope=CouponScope(ScopeKind.CATEGORY, category="生鲜"),
    )
    assert price([ORANGE, RICE], coupons=[fresh]).line(SkuId("k1")).discount == Money(100)


@pytest.mark.parametrize("quantity", [0, -1, 10_000])
def test_a_quantity_outside_1_to_9999_is_refused(quantity: int) -> None:
    with pytest.raises(InvalidQuantity):
        PricingLine(SkuId("k1"), SellerId("s1"), "生鲜", Money(100), quantity)


def test_merged_lines_may_not_reach_10000_units() -> None:
    line = attrs.evolve(ORANGE, quantity=5_000)
    with pytest.raises(InvalidQuantity):
        price([line, line])


def test_a_sku_given_twice_with_different_prices_is_refused() -> None:
    with pytest.raises(InvalidInput):
        price([ORANGE, attrs.evolve(ORANGE, unit_price=Money(1000))])


def test_an_order_has_at_least_one_line() -> None:
    with pytest.raises(InvalidInput):
        price([])


@pytest.mark.parametrize("first", [True, False])
def test_a_sku_given_twice_with_different_categories_is_refused_in_any_order(first: bool) -> None:
    other = attrs.evolve(ORANGE, category="日用/纸品")
    with pytest.raises(InvalidInput):
        price([ORANGE, other] if first else [other, ORANGE])


def test_the_automatic_choice_prefers_fewer_coupons_on_a_tie() -> None:
    free_delivery = coupon("c1", CouponKind.DELIVERY)
    off = coupon("c2", CouponKind.AMOUNT, amount=Money(100), seller_id=SellerId("s1"))
    lines = [attrs.evolve(RICE, quantity=2)]  # delivery is free already: the 运费券 saves nothing
    quote = best_choice(
        lines, fulfilment=Fulfilment.DELIVERY, fees=FEES, candidates=[free_delivery, off]
    )
    assert (quote.coupon_ids, quote.savings) == ((), Money(0))
    quote = best_choice(
        [ORANGE], fulfilment=Fulfilment.DELIVERY, fees=FEES, candidates=[free_delivery, off]
    )
    assert (quote.coupon_ids, quote.savings, quote.breakdown.total) == (
        ("c1", "c2"),
        Money(600),
        Money(899),
    )
