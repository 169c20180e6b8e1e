"""Group buying as rules: campaigns that refuse nonsense, groups that never overfill, and
settlements whose money adds up (hypothesis properties for tiers, price protection,
commission and failure)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequ.domain.errors import (
    CampaignNotRunning,
    GroupBuyClosed,
    GroupBuyFull,
    GroupBuyLimitExceeded,
    IllegalTransition,
    InvalidInput,
)
from shequ.domain.groupbuy import (
    MAX_COMMISSION_BP,
    GroupBuy,
    GroupBuyCampaign,
    GroupStatus,
    LeaderReward,
    PriceTier,
    commission_on,
)
from shequ.domain.ids import AccountId, CampaignId, CommunityId, GroupBuyId, OrderId, SkuId
from shequ.domain.money import Money

NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
HOME = CommunityId("home")
LADDER = (PriceTier(2, Money(4500)), PriceTier(5, Money(4200)), PriceTier(10, Money(3900)))


def campaign(**changes: object) -> GroupBuyCampaign:
    values: dict[str, object] = {
        "id": CampaignId("c1"),
        "name": "五常大米 5kg",
        "sku_id": SkuId("rice"),
        "sku_price": Money(5990),
        "tiers": LADDER,
        "min_heads": 2,
        "max_heads": 12,
        "starts_at": NOW - dt.timedelta(hours=1),
        "ends_at": NOW + dt.timedelta(days=3),
        "group_hours": 24,
        "per_resident_limit": 5,
        "stock": 100,
        "community_ids": (HOME,),
        "reward": LeaderReward.commission(500),
        "pickup_date": (NOW + dt.timedelta(days=4)).date(),
        "now": NOW,
    }
    return GroupBuyCampaign.create(**{**values, **changes})  # type: ignore[arg-type]


def resident(n: int) -> AccountId:
    return AccountId(f"r{n}")


def group(c: GroupBuyCampaign, quantity: int = 1) -> GroupBuy:
    return GroupBuy.start(
        c,
        id=GroupBuyId("g1"),
        leader_id=resident(0),
        community_id=HOME,
        invite_code="INV123",
        pickup_point_id="pp1",
        quantity=quantity,
        order_id=OrderId("o0"),
        now=NOW,
    )


def join(g: GroupBuy, c: GroupBuyCampaign, n: int, quantity: int = 1) -> None:
    g.join(c, resident(n), quantity, OrderId(f"o{n}"), now=NOW + dt.timedelta(minutes=n))


AFTER = NOW + dt.timedelta(hours=25)


# ---------------------------------------------------------------- the campaign refuses nonsense


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tiers": (PriceTier(5, Money(4200)), PriceTier(2, Money(4500)))}, "tiers"),
        ({"tiers": (PriceTier(2, Money(4500)), PriceTier(5, Money(4600)))}, "tiers"),
        ({"tiers": (PriceTier(2, Money(4500)), PriceTier(2, Money(4000)))}, "tiers"),
        ({"tiers": (PriceTier(2, Money(6000)),)}, "tiers"),  # above the SKU's own price
        ({"tiers": ()}, "tiers"),
        ({"tiers": (PriceTier(2, Money(0)),)}, "tiers"),
        ({"ends_at": NOW - dt.timedelta(hours=2)}, "ends_at"),
        ({"min_heads": 13}, "min_heads"),
        ({"max_heads": 8}, "tiers"),  # the 10+ tier could never be reached
        ({"per_resident_limit": 0}, "per_resident_limit"),
        ({"stock": 0}, "stock"),
        ({"community_ids": ()}, "communities"),
        ({"virtual_success_percent": 100}, "virtual_success_percent"),
        ({"reward": LeaderReward.commission(MAX_COMMISSION_BP + 1)}, "reward"),
        ({"reward": LeaderReward.price(Money(4000))}, "reward"),  # above the lowest tier
        ({"pickup_date": NOW.date()}, "pickup_date"),
        ({"group_hours": 0}, "group_hours"),
    ],
)
def test_a_campaign_that_makes_no_sense_is_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        campaign(**changes)
    assert refused.value.details["field"] == field


def test_the_price_is_the_highest_tier_reached() -> None:
    c = campaign()
    assert [c.price_for(n) for n in (1, 2, 4, 5, 9, 10, 12)] == [
        Money(f) for f in (4500, 4500, 4500, 4200, 4200, 3900, 3900)
    ]
    assert c.next_tier(5) == PriceTier(10, Money(3900)) and c.next_tier(10) is None


# ---------------------------------------------------------------- joining and leaving


def test_a_group_succeeds_once_its_minimum_joins_and_goes_on_taking_people() -> None:
    c = campaign()
    g = group(c)
    assert (g.status, g.heads, g.deadline) == (GroupStatus.OPEN, 1, NOW + dt.timedelta(hours=24))
    join(g, c, 1)
    assert g.status is GroupStatus.SUCCEEDED
    join(g, c, 2, quantity=3)
    assert (g.heads, g.quantity_of(resident(2))) == (3, 3)
    names = [type(e).__name__ for e in g.events]
    assert names == ["GroupStarted", "GroupJoined", "GroupJoined", "GroupSucceeded", "GroupJoined"]


def test_nobody_joins_a_full_closed_or_foreign_group_or_twice_or_beyond_the_limit() -> None:
    c = campaign(max_heads=10)
    g = group(c)
    with pytest.raises(GroupBuyLimitExceeded):
        join(g, c, 1, quantity=6)
    with pytest.raises(GroupBuyLimitExceeded):
        g.join(c, resident(0), 1, OrderId("again"), now=NOW)
    for n in range(1, 10):
        join(g, c, n)
    with pytest.raises(GroupBuyFull):
        join(g, c, 10)
    with pytest.raises(GroupBuyClosed):
        g.join(c, resident(11), 1, OrderId("late"), now=g.deadline)
    with pytest.raises(CampaignNotRunning):
        GroupBuy.start(
            c,
            id=GroupBuyId("g2"),
            leader_id=resident(0),
            community_id=CommunityId("elsewhere"),
            invite_code="X",
            pickup_point_id="pp1",
            quantity=1,
            order_id=OrderId("o"),
            now=NOW,
        )
    assert g.heads == 10


def test_a_leader_who_leaves_hands_the_group_to_the_earliest_member() -> None:
    c = campaign(min_heads=4)
    g = group(c)
    join(g, c, 1)
    join(g, c, 2)
    g.leave(resident(0), now=NOW + dt.timedelta(minutes=5))
    assert (g.leader_id, g.heads, g.status) == (resident(1), 2, GroupStatus.OPEN)
    join(g, c, 3)
    join(g, c, 4)
    assert g.status is GroupStatus.SUCCEEDED
    with pytest.raises(IllegalTransition):
        g.leave(resident(3), now=NOW + dt.timedelta(minutes=6))  # too late: it succeeded


def test_the_last_one_out_ends_the_group() -> None:
    c = campaign()
    g = group(c)
    g.leave(resident(0), now=NOW)
    assert (g.status, g.heads) == (GroupStatus.FAILED, 0)


# ---------------------------------------------------------------- settling


def test_a_succeeded_group_settles_at_its_tier_and_refunds_the_difference() -> None:
    c = campaign()
    g = group(c, quantity=2)
    for n in range(1, 5):
        join(g, c, n)
    with pytest.raises(IllegalTransition):
        g.settle(c, now=NOW)  # not before the deadline
    done = g.settle(c, now=AFTER)
    assert (done.status, done.unit_price) == (GroupStatus.SETTLED, Money(4200))
    assert [(line.paid, line.net, line.refund) for line in done.lines][:2] == [
        (Money(9000), Money(8400), Money(600)),
        (Money(4500), Money(4200), Money(300)),
    ]
    assert done.commission == Money((8400 + 4 * 4200) * 500 // 10_000)
    assert g.status is GroupStatus.SETTLED
    with pytest.raises(IllegalTransition):
        g.settle(c, now=AFTER)
    assert [type(e).__name__ for e in g.events][-2:] == ["GroupSettled", "CommissionEarned"]


def test_a_group_short_of_its_minimum_fails_and_refunds_everything() -> None:
    c = campaign(min_heads=3)
    g = group(c, quantity=2)
    join(g, c, 1)
    done = g.settle(c, now=AFTER)
    assert (done.status, done.unit_price, done.commission) == (GroupStatus.FAILED, None, Money(0))
    assert done.refunded == Money(3 * 4500) and done.revenue == Money(0)


def test_virtual_success_lets_a_nearly_full_group_succeed_at_the_first_tier() -> None:
    c = campaign(min_heads=5, virtual_success_percent=80)
    g = group(c)
    for n in range(1, 4):
        join(g, c, n)
    done = g.settle(c, now=AFTER)  # 4 of 5: 80 %
    assert (done.status, done.unit_price) == (GroupStatus.SETTLED, Money(4200))
    short = group(campaign(min_heads=5, virtual_success_percent=80))
    join(short, c, 1)
    assert short.settle(c, now=AFTER).status is GroupStatus.FAILED


def test_a_leader_price_is_what_the_leader_pays() -> None:
    c = campaign(reward=LeaderReward.price(Money(3500)))
    g = group(c)
    join(g, c, 1)
    done = g.settle(c, now=AFTER)
    assert [line.net for line in done.lines] == [Money(3500), Money(4500)]
    assert done.commission == Money(0)


def test_an_operator_cancels_a_group_and_everyone_gets_back_what_they_paid() -> None:
    c = campaign()
    g = group(c, quantity=3)
    join(g, c, 1)
    done = g.cancel("供应商缺货", now=NOW)
    assert (done.status, done.refunded) == (GroupStatus.CANCELLED, Money(4 * 4500))
    with pytest.raises(GroupBuyClosed):
        join(g, c, 2)


# ---------------------------------------------------------------- properties

LADDERS = st.lists(
    st.tuples(st.integers(1, 40), st.integers(1, 100_000)), min_size=1, max_size=6
).map(
    lambda raw: tuple(
        PriceTier(heads, Money(price))
        for heads, price in zip(
            sorted({h for h, _ in raw}),
            sorted({p for _, p in raw}, reverse=True),
            strict=False,
        )
    )
)


@given(LADDERS, st.integers(0, 60), st.integers(0, 60))
def test_the_tier_price_never_increases_with_the_head_count(
    ladder: tuple[PriceTier, ...], fewer: int, more: int
) -> None:
    c = campaign(
        tiers=ladder,
        sku_price=ladder[0].price,
        min_heads=1,
        max_heads=max(ladder[-1].min_heads, 1),
        reward=LeaderReward.commission(0),
    )
    low, high = sorted((fewer, more))
    assert c.price_for(high) <= c.price_for(low) <= c.upfront_price


@given(
    LADDERS,
    st.lists(st.integers(1, 5), min_size=1, max_size=40),
    st.integers(0, MAX_COMMISSION_BP),
    st.integers(1, 40),
    st.one_of(st.none(), st.integers(1, 99)),
)
def test_a_settlement_s_money_adds_up(
    ladder: tuple[PriceTier, ...],
    quantities: list[int],
    basis_points: int,
    minimum: int,
    virtual: int | None,
) -> None:
    c = campaign(
        tiers=ladder,
        sku_price=ladder[0].price,
        min_heads=min(minimum, 40),
        max_heads=40,
        reward=LeaderReward.commission(basis_points),
        virtual_success_percent=virtual,
    )
    g = group(c, quantity=quantities[0])
    for n, quantity in enumerate(quantities[1:], start=1):
        join(g, c, n, quantity=quantity)
    done = g.settle(c, now=AFTER)
    paid = sum(p.paid.fen for p in g.members)
    assert sum(line.refund.fen for line in done.lines) + done.revenue.fen == paid
    for line in done.lines:
        assert line.net <= line.paid  # nobody pays more than the price shown on joining
        assert line.refund.fen >= 0
    if done.status is GroupStatus.SETTLED:
        assert done.unit_price is not None
        for line in done.lines:
            assert line.net == Money(done.unit_price.fen * line.quantity)
        assert done.commission == commission_on(done.revenue, basis_points)
        assert done.commission <= done.revenue
    else:  # a failed group gives back exactly what was paid
        assert done.status is GroupStatus.FAILED and g.heads < c.min_heads
        assert [line.refund for line in done.lines] == [line.paid for line in done.lines]
        assert done.commission == Money(0)


@given(st.integers(0, 10**12), st.integers(0, 10_000))
def test_commission_is_rounded_down_and_never_above_the_revenue(
    revenue: int, basis_points: int
) -> None:
    earned = commission_on(Money(revenue), basis_points)
    assert earned.fen * 10_000 <= revenue * basis_points < (earned.fen + 1) * 10_000
    assert earned.fen <= revenue
