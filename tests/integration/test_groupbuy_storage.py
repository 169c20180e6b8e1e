"""Group buying in every storage backend: campaigns and groups survive the round trip, the
queries find what they should, and a campaign's stock holds under real threads."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.ports import UnitOfWork
from shequ.domain.catalog import Community, Sku
from shequ.domain.errors import (
    CampaignNotFound,
    ConcurrentUpdate,
    Duplicate,
    GroupBuyLimitExceeded,
    GroupBuyNotFound,
)
from shequ.domain.groupbuy import (
    GroupBuy,
    GroupBuyCampaign,
    GroupStatus,
    LeaderReward,
    PriceTier,
)
from shequ.domain.ids import AccountId, CampaignId, GroupBuyId, OrderId
from shequ.domain.money import Money
from tests.integration.test_concurrency import race
from tests.support import Shop

LADDER = (PriceTier(2, Money(4500)), PriceTier(5, Money(4200)))


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


@pytest.fixture
def place(shop: Shop) -> tuple[Community, Sku, list[AccountId]]:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="59.90", communities=(here,))
    residents = [shop.resident(here)[0].id for _ in range(3)]
    return here, sku, residents


def new_campaign(
    app: injector.Injector, clock: FixedClock, here: Community, sku: Sku, **changes: object
) -> GroupBuyCampaign:
    now = clock.now()
    values: dict[str, object] = {
        "id": CampaignId("c1"),
        "name": "五常大米",
        "sku_id": sku.id,
        "sku_price": sku.price,
        "tiers": LADDER,
        "min_heads": 2,
        "max_heads": 10,
        "starts_at": now - dt.timedelta(hours=1),
        "ends_at": now + dt.timedelta(days=2),
        "group_hours": 24,
        "per_resident_limit": 3,
        "stock": 50,
        "community_ids": (here.id,),
        "reward": LeaderReward.price(Money(4000)),
        "pickup_date": (now + dt.timedelta(days=3)).date(),
        "now": now,
        "virtual_success_percent": 80,
    }
    campaign = GroupBuyCampaign.create(**{**values, **changes})  # type: ignore[arg-type]
    with app.get(UnitOfWork) as uow:
        uow.campaigns.add(campaign)
        uow.commit()
    return campaign


def test_a_campaign_and_its_groups_survive_the_round_trip(
    app: injector.Injector, clock: FixedClock, place: tuple[Community, Sku, list[AccountId]]
) -> None:
    here, sku, (leader, neighbour, other) = place
    campaign = new_campaign(app, clock, here, sku)
    now = clock.now()
    with app.get(UnitOfWork) as uow:
        c = uow.campaigns.get_for_update(campaign.id)
        group = GroupBuy.start(
            c,
            id=GroupBuyId("g1"),
            leader_id=leader,
            community_id=here.id,
            invite_code="ABC123",
            pickup_point_id="pp1",
            quantity=2,
            order_id=OrderId("o1"),
            now=now,
        )
        group.join(c, neighbour, 1, OrderId("o2"), now=now + dt.timedelta(minutes=1))
        c.take_stock(3)
        uow.group_buys.add(group)
        uow.commit()
    with app.get(UnitOfWork) as uow:
        c = uow.campaigns.get(campaign.id)
        g = uow.group_buys.get(GroupBuyId("g1"))
        assert (c.tiers, c.reward, c.stock_taken, c.community_ids) == (
            LADDER,
            LeaderReward.price(Money(4000)),
            3,
            (here.id,),
        )
        assert (c.virtual_success_percent, c.pickup_date, c.ends_at) == (
            80,
            campaign.pickup_date,
            campaign.ends_at,
        )
        assert (g.status, g.heads, g.leader_id, g.deadline, g.unit_price) == (
            GroupStatus.SUCCEEDED,
            2,
            leader,
            now + dt.timedelta(hours=24),
            None,
        )
        assert [(p.resident_id, p.quantity, p.unit_price) for p in g.participants] == [
            (leader, 2, Money(4500)),
            (neighbour, 1, Money(4500)),
        ]
        assert uow.group_buys.find_by_invite_code("ABC123") is not None
        assert uow.group_buys.find_by_invite_code("NOPE") is None
        assert [x.id for x in uow.group_buys.of_resident(neighbour)] == ["g1"]
        assert uow.group_buys.of_resident(other) == []
        assert [x.id for x in uow.group_buys.of_campaign(campaign.id)] == ["g1"]
        assert uow.group_buys.quantity_in_campaign(campaign.id, leader) == 2
        assert uow.group_buys.quantity_in_campaign(campaign.id, other) == 0
        assert [x.id for x in uow.campaigns.running_in(here.id, now)] == ["c1"]
        assert uow.campaigns.running_in(here.id, campaign.ends_at) == []
        with pytest.raises(CampaignNotFound):
            uow.campaigns.get(CampaignId("none"))
        with pytest.raises(GroupBuyNotFound):
            uow.group_buys.get(GroupBuyId("none"))


def test_groups_past_their_deadline_are_due_and_settle_once(
    app: injector.Injector, clock: FixedClock, place: tuple[Community, Sku, list[AccountId]]
) -> None:
    here, sku, (leader, _, _) = place
    campaign = new_campaign(app, clock, here, sku)
    now = clock.now()
    group = GroupBuy.start(
        campaign,
        id=GroupBuyId("g0"),
        leader_id=leader,
        community_id=here.id,
        invite_code="CODE0",
        pickup_point_id="pp1",
        quantity=1,
        order_id=OrderId("o0"),
        now=now - dt.timedelta(hours=1),
    )
    with app.get(UnitOfWork) as uow:
        uow.group_buys.add(group)
        uow.commit()
    later = now + dt.timedelta(hours=24)
    with app.get(UnitOfWork) as uow:
        assert uow.group_buys.due_to_settle(now, 10) == []
        [due] = uow.group_buys.due_to_settle(later, 10)
        done = due.settle(campaign, now=later)
        uow.commit()
    assert done.status is GroupStatus.FAILED and done.refunded == Money(4500)
    with app.get(UnitOfWork) as uow:
        assert uow.group_buys.due_to_settle(later, 10) == []
        assert uow.group_buys.quantity_in_campaign(campaign.id, leader) == 0  # failed: freed


def test_an_invite_code_is_one_group_s(
    app: injector.Injector, clock: FixedClock, place: tuple[Community, Sku, list[AccountId]]
) -> None:
    here, sku, (leader, neighbour, _) = place
    campaign = new_campaign(app, clock, here, sku)
    for n, who in enumerate((leader, neighbour)):
        group = GroupBuy.start(
            campaign,
            id=GroupBuyId(f"g{n}"),
            leader_id=who,
            community_id=here.id,
            invite_code="SAME01",
            pickup_point_id="pp1",
            quantity=1,
            order_id=OrderId(f"o{n}"),
            now=clock.now(),
        )
        with app.get(UnitOfWork) as uow:
            uow.group_buys.add(group)
            if n == 0:
                uow.commit()
            else:
                with pytest.raises(Duplicate):
                    uow.commit()


@pytest.mark.parametrize("backend", ["postgres", "sqlite", "memory"], indirect=True)
def test_a_campaign_s_last_units_go_once_under_threads(
    app: injector.Injector, clock: FixedClock, place: tuple[Community, Sku, list[AccountId]]
) -> None:
    here, sku, _ = place
    campaign = new_campaign(app, clock, here, sku, stock=10)

    def take(_: int) -> None:
        with app.get(UnitOfWork) as uow:
            uow.campaigns.get_for_update(campaign.id).take_stock(1)
            uow.commit()

    outcomes = race(24, take)
    assert outcomes.count(None) == 10, outcomes
    assert all(isinstance(o, (GroupBuyLimitExceeded, ConcurrentUpdate)) for o in outcomes if o)
    with app.get(UnitOfWork) as uow:
        assert uow.campaigns.get(campaign.id).stock_taken == 10
