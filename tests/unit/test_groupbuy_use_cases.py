"""Group buying end to end on the in-memory adapters and the sandbox provider: starting,
joining and paying, leaving, settlement with price protection and commission, failure
with full refunds, unpaid seats, the fulfilment gate, and the purchase plan."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.groupbuy.groups import (
    CancelGroup,
    CancelGroupHandler,
    JoinGroup,
    JoinGroupHandler,
    LeaveGroup,
    LeaveGroupHandler,
    StartGroup,
    StartGroupHandler,
)
from shequ.application.groupbuy.plan import GetPurchasePlan, GetPurchasePlanHandler
from shequ.application.groupbuy.queries import (
    GetGroup,
    GetGroupHandler,
    GetLeaderEarnings,
    GetLeaderEarningsHandler,
    MyGroups,
    MyGroupsHandler,
)
from shequ.application.ordering.orders import (
    AdvanceOrder,
    AdvanceOrderHandler,
    CancelOrder,
    CancelOrderHandler,
)
from shequ.application.payments.refunds import RefundPayer
from shequ.application.policy import CONSOLE
from shequ.application.ports import RefundQuery, UnitOfWork
from shequ.domain.errors import (
    CampaignNotRunning,
    Forbidden,
    GroupBuyClosed,
    GroupBuyFull,
    GroupBuyLimitExceeded,
    GroupBuyNotFound,
    IdempotencyKeyReused,
    IllegalTransition,
    InvalidInput,
    InvalidQuantity,
    PaymentProviderNotFound,
)
from shequ.domain.groupbuy import GroupStatus, LeaderReward, PriceTier
from shequ.domain.money import Money
from shequ.domain.ordering import OrderAction, OrderStatus, RefundReason
from shequ.domain.payments import Channel
from tests.groupbuy_support import LADDER, GroupShop

DAY = dt.timedelta(days=1)


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> GroupShop:
    return GroupShop(app, clock)


def outbox_names(app: injector.Injector) -> list[str]:
    with app.get(UnitOfWork) as uow:
        return [m.name for m in uow.outbox.pending(10_000)]


def test_a_group_fills_settles_at_its_tier_and_refunds_the_difference(
    shop: GroupShop, clock: FixedClock
) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here)
    actors = [shop.resident(here)[1] for _ in range(5)]
    first = shop.start(actors[0], campaign, here, 2)
    seats = [first] + [shop.join(a, first.group) for a in actors[1:]]
    for seat in seats:
        assert seat.order.total == Money.parse("45.00") * seat.order.lines[0].quantity
        assert shop.pay_seat(seat).status is OrderStatus.PAID
    assert shop.group(first.group.id).status is GroupStatus.SUCCEEDED

    clock.advance(DAY + dt.timedelta(minutes=1))
    done = shop.settle()
    assert (done.settled, done.failed) == (1, 0)
    group = shop.group(first.group.id)
    assert group.status is GroupStatus.SETTLED and group.unit_price == Money.parse("42.00")
    for seat in seats:
        order = shop.stored_order(seat.order.id)
        quantity = order.lines[0].quantity
        assert order.refunded == Money.parse("3.00") * quantity  # 45 → 42
        assert order.status is OrderStatus.PAID and not order.awaiting_group
    # 6 units at ¥42: the leader's 5 % of ¥252.00
    assert done.commission == Money.parse("12.60")
    earnings = shop.app.get(GetLeaderEarningsHandler)(
        GetLeaderEarnings(group.leader_id), actor=actors[0]
    )
    assert earnings.total == Money.parse("12.60") and len(earnings.entries) == 1
    with shop.app.get(UnitOfWork) as uow:
        refunds = uow.refunds.search(RefundQuery(limit=100))
    assert {r.reason for r in refunds} == {RefundReason.GROUP_PRICE}
    assert all(r.payment_refund_ref for r in refunds)  # handed to the payments
    names = outbox_names(shop.app)
    for event in ("GroupStarted", "GroupJoined", "GroupSucceeded", "GroupSettled"):
        assert event in names
    assert "CommissionEarned" in names

    assert shop.settle().settled == 0  # nothing settles twice
    assert shop.stored_order(seats[0].order.id).refunded == Money.parse("6.00")


def test_a_group_short_of_its_minimum_fails_and_everyone_gets_everything_back(
    shop: GroupShop, clock: FixedClock
) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here, min_heads=3)
    leader = shop.resident(here)[1]
    seat = shop.start(leader, campaign, here, 3)
    shop.pay_seat(seat)
    clock.advance(2 * DAY)
    done = shop.settle()
    assert (done.settled, done.failed, done.refunded) == (0, 1, Money.parse("135.00"))
    assert shop.group(seat.group.id).status is GroupStatus.FAILED
    order = shop.stored_order(seat.order.id)
    assert order.status is OrderStatus.CANCELLED and order.refunded == Money.parse("135.00")
    assert shop.stored_campaign(campaign).stock_taken == 0
    assert "GroupFailed" in outbox_names(shop.app)


def test_virtual_success_lets_a_nearly_full_group_succeed(
    shop: GroupShop, clock: FixedClock
) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here, min_heads=5, virtual_success_percent=80)
    actors = [shop.resident(here)[1] for _ in range(4)]
    seat = shop.start(actors[0], campaign, here)
    for seat_ in [seat] + [shop.join(a, seat.group) for a in actors[1:]]:
        shop.pay_seat(seat_)
    clock.advance(2 * DAY)
    assert shop.settle().settled == 1
    assert shop.group(seat.group.id).unit_price == Money.parse("42.00")  # the minimum's tier


def test_joining_refuses_what_it_must_and_changes_nothing(
    shop: GroupShop, clock: FixedClock
) -> None:
    here, there = shop.community(), shop.community("翠苑")
    campaign = shop.campaign(
        shop.rice(here), here, max_heads=3, per_resident_limit=3, tiers=LADDER[:1]
    )
    leader, a, b, c = (shop.resident(here)[1] for _ in range(4))
    seat = shop.start(leader, campaign, here, 1)
    shop.join(a, seat.group, 3)
    with pytest.raises(GroupBuyLimitExceeded):
        shop.join(a, seat.group, 1)  # in already
    with pytest.raises(GroupBuyLimitExceeded):
        shop.join(b, seat.group, 4)  # beyond the limit
    with pytest.raises(InvalidQuantity):
        shop.join(b, seat.group, 0)
    with pytest.raises(CampaignNotRunning):
        shop.join(shop.resident(there)[1], seat.group)  # another community
    with pytest.raises(GroupBuyNotFound):
        shop.join(b, seat.group, invite_code="NOSUCH22")
    shop.join(b, seat.group, invite_code=seat.group.invite_code.lower())
    with pytest.raises(GroupBuyFull):
        shop.join(c, seat.group)
    group = shop.group(seat.group.id)
    assert group.heads == 3 and shop.stored_campaign(campaign).stock_taken == 5
    clock.advance(2 * DAY)
    with pytest.raises(GroupBuyClosed):
        shop.join(c, seat.group)  # past its deadline
    shop.settle()
    with pytest.raises((GroupBuyClosed, CampaignNotRunning)):
        shop.join(c, seat.group)  # settled


def test_a_resident_s_limit_holds_across_the_groups_of_a_campaign(shop: GroupShop) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here, per_resident_limit=3)
    one, two, me = (shop.resident(here)[1] for _ in range(3))
    first, second = shop.start(one, campaign, here), shop.start(two, campaign, here)
    shop.join(me, first.group, 2)
    with pytest.raises(GroupBuyLimitExceeded):
        shop.join(me, second.group, 2)
    shop.join(me, second.group, 1)


def test_a_leader_leads_one_open_group_of_a_campaign_unless_it_allows_more(
    shop: GroupShop,
) -> None:
    here = shop.community()
    rice = shop.rice(here)
    leader = shop.resident(here)[1]
    one = shop.campaign(rice, here)
    shop.start(leader, one, here)
    with pytest.raises(GroupBuyLimitExceeded):
        shop.start(leader, one, here)
    many = shop.campaign(rice, here, many_groups_per_leader=True)
    shop.start(leader, many, here)
    shop.start(leader, many, here)


def test_the_same_join_sent_twice_takes_one_seat(shop: GroupShop) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here)
    leader, me = shop.resident(here)[1], shop.resident(here)[1]
    seat = shop.start(leader, campaign, here)
    once = shop.join(me, seat.group, 2, key="k-1")
    again = shop.join(me, seat.group, 2, key="k-1")
    assert again.order.id == once.order.id
    assert shop.group(seat.group.id).heads == 2
    with pytest.raises(IdempotencyKeyReused):
        shop.join(me, seat.group, 3, key="k-1")


def test_leaving_refunds_the_seat_and_hands_leadership_on(
    shop: GroupShop, clock: FixedClock
) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here, min_heads=4)
    leader, a, b = (shop.resident(here)[1] for _ in range(3))
    seat = shop.start(leader, campaign, here, 2)
    shop.pay_seat(seat)
    clock.advance(dt.timedelta(minutes=1))
    shop.join(a, seat.group)
    clock.advance(dt.timedelta(minutes=1))
    shop.join(b, seat.group)
    assert leader.account_id is not None and a.account_id is not None
    group = shop.app.get(LeaveGroupHandler)(
        LeaveGroup(seat.group.id, leader.account_id), actor=leader
    )
    assert group.leader_id == a.account_id and group.heads == 2
    order = shop.stored_order(seat.order.id)
    assert order.status is OrderStatus.CANCELLED and order.refunded == Money.parse("90.00")
    assert shop.stored_campaign(campaign).stock_taken == 2


def test_a_group_order_waits_for_its_group_before_any_fulfilment(
    shop: GroupShop, clock: FixedClock
) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here)
    leader, a = shop.resident(here)[1], shop.resident(here)[1]
    seat = shop.start(leader, campaign, here)
    shop.pay_seat(seat)
    shop.pay_seat(shop.join(a, seat.group))
    assert shop.group(seat.group.id).status is GroupStatus.SUCCEEDED
    advance = shop.app.get(AdvanceOrderHandler)
    with pytest.raises(IllegalTransition, match="waits for group"):
        advance(AdvanceOrder(seat.order.id, OrderAction.PACK), actor=CONSOLE)
    with pytest.raises(IllegalTransition, match="leave the group"):
        shop.app.get(CancelOrderHandler)(CancelOrder(seat.order.id), actor=leader)
    clock.advance(2 * DAY)
    shop.settle()
    assert advance(AdvanceOrder(seat.order.id, OrderAction.PACK), actor=CONSOLE).status is (
        OrderStatus.PACKED
    )


def test_an_unpaid_seat_is_given_up_and_does_not_count(shop: GroupShop, clock: FixedClock) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here, min_heads=2)
    leader, lazy = shop.resident(here)[1], shop.resident(here)[1]
    seat = shop.start(leader, campaign, here)
    shop.pay_seat(seat)
    unpaid = shop.join(lazy, seat.group, 2)
    assert shop.group(seat.group.id).status is GroupStatus.SUCCEEDED
    clock.advance(dt.timedelta(minutes=20))  # past the 15 minutes to pay
    done = shop.settle()
    assert done.unpaid_seats == 1
    group = shop.group(seat.group.id)
    assert group.status is GroupStatus.OPEN and group.heads == 1
    assert shop.stored_order(unpaid.order.id).status is OrderStatus.EXPIRED
    assert shop.stored_campaign(campaign).stock_taken == 1
    clock.advance(2 * DAY)
    assert shop.settle().failed == 1


def test_an_operator_cancels_a_group_and_everyone_is_refunded(shop: GroupShop) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here)
    leader, a = shop.resident(here)[1], shop.resident(here)[1]
    seat = shop.start(leader, campaign, here, 2)
    shop.pay_seat(seat)
    other = shop.join(a, seat.group)  # not paid yet
    settlement = shop.app.get(CancelGroupHandler)(
        CancelGroup(seat.group.id, "supplier out of stock"), actor=CONSOLE
    )
    assert settlement.status is GroupStatus.CANCELLED
    assert shop.stored_order(seat.order.id).refunded == Money.parse("90.00")
    assert shop.stored_order(other.order.id).status is OrderStatus.CANCELLED
    assert shop.stored_campaign(campaign).stock_taken == 0
    with pytest.raises(IllegalTransition):
        shop.app.get(CancelGroupHandler)(CancelGroup(seat.group.id, "again"), actor=CONSOLE)


def test_progress_and_a_resident_s_groups(shop: GroupShop, clock: FixedClock) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here)
    leader, a = shop.resident(here)[1], shop.resident(here)[1]
    seat = shop.start(leader, campaign, here)
    view = shop.app.get(GetGroupHandler)(GetGroup(invite_code=seat.group.invite_code), actor=a)
    assert (view.heads, view.needed_to_succeed, view.needed_for_next_tier) == (1, 1, 1)
    assert view.current_price == Money.parse("45.00") and view.joinable
    assert view.seconds_left == 24 * 3600
    shop.join(a, seat.group)
    clock.advance(dt.timedelta(hours=1))
    view = shop.app.get(GetGroupHandler)(GetGroup(group_id=seat.group.id), actor=a)
    assert (view.heads, view.needed_to_succeed, view.needed_for_next_tier) == (2, 0, 3)
    assert view.seconds_left == 23 * 3600
    assert a.account_id is not None
    mine = shop.app.get(MyGroupsHandler)(MyGroups(a.account_id), actor=a)
    assert [v.group.id for v in mine] == [seat.group.id]


def test_the_purchase_plan_adds_up_settled_groups_by_sku_and_pickup_point(
    shop: GroupShop, clock: FixedClock
) -> None:
    here = shop.community()
    rice = shop.rice(here)
    campaign = shop.campaign(rice, here)
    residents = [shop.resident(here)[1] for _ in range(5)]
    for point in ("east", "west", "north"):
        shop.point(here, point)
    east = shop.start(residents[0], campaign, here, 2, point="east")
    west = shop.start(residents[1], campaign, here, 1, point="west")
    failing = shop.start(residents[4], campaign, here, 3, point="north")
    seats = [
        east,
        west,
        shop.join(residents[2], east.group, 3),
        shop.join(residents[3], west.group),
    ]
    for seat in [*seats, failing]:
        shop.pay_seat(seat)
    clock.advance(2 * DAY)
    shop.settle()
    plan = shop.app.get(GetPurchasePlanHandler)(
        GetPurchasePlan(campaign.pickup_date), actor=CONSOLE
    )
    [line] = plan.lines
    assert (line.sku_id, line.units, line.groups, line.orders) == (rice.id, 7, 2, 4)
    assert [(d.pickup_point_id, d.units) for d in plan.distribution] == [("east", 5), ("west", 2)]
    assert sorted(plan.distribution[0].order_ids) == sorted([east.order.id, seats[2].order.id])
    assert plan.unsettled == 0


def test_a_campaign_that_makes_no_sense_is_refused(shop: GroupShop) -> None:
    here = shop.community()
    rice = shop.rice(here)
    now = shop.clock.now()
    bad: list[dict[str, object]] = [
        {"tiers": (PriceTier(5, Money.parse("42.00")), PriceTier(2, Money.parse("45.00")))},
        {"tiers": (PriceTier(2, Money.parse("45.00")), PriceTier(5, Money.parse("46.00")))},
        {"tiers": (PriceTier(2, Money.parse("59.00")),)},  # above the SKU's ¥49.90
        {"ends_at": now - dt.timedelta(hours=1)},
        {"reward": LeaderReward.commission(9000)},
    ]
    for change in bad:
        with pytest.raises(InvalidInput):
            shop.campaign(rice, here, **change)
    with shop.app.get(UnitOfWork) as uow:
        assert uow.campaigns.running_in(here.id, now) == []


def test_refunds_the_provider_could_not_take_wait_for_retry(
    shop: GroupShop, clock: FixedClock
) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here, min_heads=3)
    seat = shop.start(shop.resident(here)[1], campaign, here)
    shop.pay_seat(seat)
    clock.advance(2 * DAY)
    shop.settle()
    assert shop.app.get(RefundPayer).retry().failed == 0


def test_staff_join_only_residents_of_the_group_s_community_and_others_may_not(
    shop: GroupShop,
) -> None:
    here, there = shop.community(), shop.community("翠苑")
    campaign = shop.campaign(shop.rice(here, there), here, there)
    seat = shop.start(shop.resident(here)[1], campaign, here)
    stranger, outsider = shop.resident(there)
    with pytest.raises(InvalidInput, match="not a resident"):
        shop.app.get(JoinGroupHandler)(
            JoinGroup(stranger.id, 1, "k", group_id=seat.group.id), actor=CONSOLE
        )
    with pytest.raises(Forbidden):  # a resident of elsewhere may not act for one of here
        shop.app.get(JoinGroupHandler)(
            JoinGroup(shop.resident(here)[0].id, 1, "k", group_id=seat.group.id),
            actor=outsider,
        )
    with pytest.raises(Forbidden):
        shop.app.get(CancelGroupHandler)(CancelGroup(seat.group.id, "no"), actor=outsider)
    assert shop.group(seat.group.id).heads == 1


def test_a_seat_no_configured_provider_could_take_is_refused_before_anything_is_kept(
    shop: GroupShop,
) -> None:
    here = shop.community()
    campaign = shop.campaign(shop.rice(here), here)
    leader = shop.resident(here)[1]
    assert leader.account_id is not None
    with pytest.raises(PaymentProviderNotFound):
        shop.app.get(StartGroupHandler)(
            StartGroup(
                campaign.id, leader.account_id, here.id, "pp-1", 1, "k", Channel.WECHAT_NATIVE
            ),
            actor=leader,
        )
    with shop.app.get(UnitOfWork) as uow:
        assert uow.group_buys.of_campaign(campaign.id) == []
    assert shop.stored_campaign(campaign).stock_taken == 0
