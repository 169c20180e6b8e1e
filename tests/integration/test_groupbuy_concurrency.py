"""Group buying under real threads and on every storage: no group overfilled, no
campaign oversold, no resident beyond their limit, and settlement that runs in two
processes at once, or dies half-way, ends every group exactly once."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.groupbuy.settle import SettleGroups, SettleGroupsHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import RefundQuery, UnitOfWork
from shequ.domain.errors import GroupBuyFull, GroupBuyLimitExceeded
from shequ.domain.groupbuy import GroupStatus, PriceTier
from shequ.domain.money import Money
from shequ.domain.ordering import Order, OrderStatus, RefundReason
from tests.groupbuy_support import GroupShop
from tests.integration.test_concurrency import race

BACKENDS = ["postgres", "sqlite", "memory"]
DAY = dt.timedelta(days=1)


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> GroupShop:
    return GroupShop(app, clock)


def outbox_names(app: injector.Injector) -> list[str]:
    with app.get(UnitOfWork) as uow:
        return [m.name for m in uow.outbox.pending(100_000)]


def held_units(app: injector.Injector, campaign_id: str) -> int:
    with app.get(UnitOfWork) as uow:
        groups = uow.group_buys.of_campaign(campaign_id)  # type: ignore[arg-type]
    return sum(p.quantity for g in groups for p in g.members)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_thirty_neighbours_race_for_the_last_nine_seats_of_a_group(
    app: injector.Injector, shop: GroupShop
) -> None:
    here = shop.community()
    campaign = shop.campaign(
        shop.rice(here), here, max_heads=10, tiers=(PriceTier(2, Money.parse("45.00")),)
    )
    seat = shop.start(shop.resident(here)[1], campaign, here)
    neighbours = [shop.resident(here)[1] for _ in range(30)]
    outcomes = race(30, lambda i: shop.join(neighbours[i], seat.group) and None)
    assert sum(o is None for o in outcomes) == 9, outcomes
    assert all(o is None or isinstance(o, GroupBuyFull) for o in outcomes), outcomes
    assert shop.group(seat.group.id).heads == 10
    assert shop.stored_campaign(campaign).stock_taken == 10 == held_units(app, campaign.id)
    assert outbox_names(app).count("GroupJoined") == 10


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_joins_across_groups_never_take_more_than_the_campaign_s_stock(
    app: injector.Injector, shop: GroupShop
) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here, stock=24)
    groups = [shop.start(shop.resident(here)[1], campaign, here, 2).group for _ in range(6)]
    neighbours = [shop.resident(here)[1] for _ in range(24)]
    outcomes = race(24, lambda i: shop.join(neighbours[i], groups[i % 6], 1) and None)
    assert sum(o is None for o in outcomes) == 12, outcomes
    assert all(o is None or isinstance(o, GroupBuyLimitExceeded) for o in outcomes), outcomes
    assert shop.stored_campaign(campaign).stock_taken == 24 == held_units(app, campaign.id)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_resident_joining_many_groups_at_once_stays_within_the_limit(
    app: injector.Injector, shop: GroupShop
) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here, per_resident_limit=3)
    groups = [shop.start(shop.resident(here)[1], campaign, here).group for _ in range(8)]
    me = shop.resident(here)[1]
    outcomes = race(8, lambda i: shop.join(me, groups[i], 1) and None)
    assert sum(o is None for o in outcomes) == 3, outcomes
    assert me.account_id is not None
    with app.get(UnitOfWork) as uow:
        assert uow.group_buys.quantity_in_campaign(campaign.id, me.account_id) == 3


def _paid_groups(shop: GroupShop, count: int, heads: int) -> list[list[Order]]:
    """``count`` groups of ``heads`` paid members (2 units each), the leader commissioned."""
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here, many_groups_per_leader=True)
    groups: list[list[Order]] = []
    for _ in range(count):
        seat = shop.start(shop.resident(here)[1], campaign, here, 2)
        seats = [seat] + [
            shop.join(shop.resident(here)[1], seat.group, 2) for _ in range(heads - 1)
        ]
        groups.append([shop.pay_seat(s) for s in seats])
    return groups


def _check_settled_once(app: injector.Injector, groups: list[list[Order]]) -> None:
    with app.get(UnitOfWork) as uow:
        refunds = uow.refunds.search(RefundQuery(limit=10_000))
        for orders in groups:
            group = uow.group_buys.get(orders[0].group_id)  # type: ignore[arg-type]
            assert group.status is GroupStatus.SETTLED
            assert group.unit_price == Money.parse("42.00")
            for order in orders:
                stored = uow.orders.get(order.id)
                assert stored.refunded == Money.parse("6.00")  # 2 units, 45 → 42
                assert stored.status is OrderStatus.PAID and not stored.awaiting_group
            entry = uow.commissions.find(group.id)
            assert entry is not None and entry.amount == Money.parse(
                "21.00"
            )  # 5 % of 10 units at ¥42
    members = sum(len(orders) for orders in groups)
    assert sum(r.reason is RefundReason.GROUP_PRICE for r in refunds) == members
    names = outbox_names(app)
    assert names.count("GroupSettled") == len(groups)
    assert names.count("CommissionEarned") == len(groups)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_two_settlements_at_once_end_every_group_exactly_once(
    app: injector.Injector, shop: GroupShop, clock: FixedClock
) -> None:
    groups = _paid_groups(shop, count=8, heads=5)
    clock.advance(2 * DAY)
    settle = [app.get(SettleGroupsHandler) for _ in range(3)]
    outcomes = race(3, lambda i: settle[i](SettleGroups(batch=2), actor=CONSOLE) and None)
    assert outcomes == [None] * 3
    _check_settled_once(app, groups)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_settlement_that_dies_half_way_is_finished_by_the_next_run(
    app: injector.Injector,
    shop: GroupShop,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    groups = _paid_groups(shop, count=5, heads=5)
    clock.advance(2 * DAY)
    calls = 0
    real = Order.give_back_difference

    def dying(self: Order, *args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 13:  # the third group's third member: the second batch dies
            raise RuntimeError("the process was killed")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Order, "give_back_difference", dying)
    with pytest.raises(RuntimeError):
        app.get(SettleGroupsHandler)(SettleGroups(batch=2), actor=CONSOLE)
    with app.get(UnitOfWork) as uow:
        states = [uow.group_buys.get(o[0].group_id).status for o in groups]  # type: ignore[arg-type]
    assert states.count(GroupStatus.SETTLED) == 2  # the first batch, and nothing of the second
    monkeypatch.setattr(Order, "give_back_difference", real)
    done = app.get(SettleGroupsHandler)(SettleGroups(batch=2), actor=CONSOLE)
    assert done.settled == 3
    _check_settled_once(app, groups)
