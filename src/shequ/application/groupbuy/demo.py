"""Demo group buying: a campaign with one group that succeeded and was settled, and one
that failed, so a first look shows the whole flow of 社区团购.

The group handlers read the time from the :class:`Clock`, and a group settles only after
its deadline. So the demo starts its groups in the past, through handlers built with a
clock :class:`_Earlier` than the real one, then settles them with the real clock: their
deadlines have passed by then.
"""

from __future__ import annotations

import datetime as dt
import uuid

import attrs

from shequ.application.catalog.demo import DEMO_RESIDENT_PHONE, DemoCatalog, demo_sku_id
from shequ.application.groupbuy.campaigns import CreateCampaign, CreateCampaignHandler
from shequ.application.groupbuy.groups import (
    JoinGroup,
    JoinGroupHandler,
    StartGroup,
    StartGroupHandler,
)
from shequ.application.groupbuy.settle import SettleGroups, SettleGroupsHandler
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.ordering.demo import pay_as_recorded
from shequ.application.ordering.rules import OrderingRules
from shequ.application.payments.providers import PaymentProviders
from shequ.application.payments.start import StartPayment, StartPaymentHandler
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, PaymentIntent, UnitOfWork
from shequ.domain.errors import AccountNotFound
from shequ.domain.groupbuy import GroupBuy, GroupBuyCampaign, LeaderReward, PriceTier
from shequ.domain.identity import Membership, Role
from shequ.domain.ids import AccountId, GroupBuyId
from shequ.domain.money import Money

__all__ = ["DemoGroup", "DemoGroupBuys", "SeedDemoGroupBuysHandler"]

_NAMESPACE = uuid.UUID("0b4f3c52-8d0e-4f57-9a3e-6c1d2b7a9e15")
# the neighbours who join the demo resident's group, and the one whose group fails
_NEIGHBOURS = (
    ("13800000005", "演示邻居甲"),
    ("13800000006", "演示邻居乙"),
    ("13800000007", "演示邻居丙"),
)
_SKU = ("五常大米", "5kg/袋")  # ¥69.90 in the demo catalog
_TIERS = (
    PriceTier(2, Money.parse("59.90")),
    PriceTier(3, Money.parse("56.90")),
    PriceTier(5, Money.parse("52.90")),
)
_AGO = dt.timedelta(hours=2)  # the groups start this long ago …
_GROUP_HOURS = 1  # … and stay open this long


class _Earlier:
    """A clock running ``by`` behind another."""

    def __init__(self, clock: Clock, by: dt.timedelta) -> None:
        self._clock, self._by = clock, by

    def now(self) -> dt.datetime:
        return self._clock.now() - self._by


class _PaidAsRecorded(StartPaymentHandler):
    """Stands in for the payment a seat starts: the seat's order is paid through the
    sandbox as recorded, as the demo orders are, and no provider is asked."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    def __call__(self, cmd: StartPayment, *, actor: Actor) -> PaymentIntent:
        payment = pay_as_recorded(self._uow, self._clock.now(), cmd.order_id)
        return PaymentIntent(payment.id, payment.provider, payment.channel, payment.amount, {})


@attrs.frozen
class DemoGroup:
    """A demo group as it ended, and what its members got back."""

    group: GroupBuy
    refunded: Money


@attrs.frozen
class DemoGroupBuys:
    campaign: GroupBuyCampaign
    settled: DemoGroup  # reached a cheaper tier: the difference went back
    failed: DemoGroup  # short of its minimum: everything went back
    commission: Money  # the settled group's leader's
    neighbours: tuple[str, ...] = tuple(phone for phone, _ in _NEIGHBOURS)  # their phones


class SeedDemoGroupBuysHandler:
    """Run once after the demo catalog is made: three neighbours of the demo resident, a
    阶梯团 campaign for 五常大米 running in the demo community, the demo resident's group
    that two neighbours joined (settled at the 3-person tier, the difference refunded, 5 %
    commission to its leader), and the third neighbour's group that nobody joined (failed,
    refunded in full). Seats are paid through the sandbox as recorded; settlement and its
    refunds go through the use cases."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: Policy,
        rules: OrderingRules,
        open_account: OpenAccountHandler,
        settle: SettleGroupsHandler,
        providers: PaymentProviders,
    ) -> None:
        self._uow, self._clock, self._policy, self._rules = uow, clock, policy, rules
        self._open_account, self._settle, self._providers = open_account, settle, providers

    def __call__(self, demo: DemoCatalog, *, actor: Actor) -> DemoGroupBuys:
        self._policy.require(actor, Permission.CONSOLE)
        with self._uow as uow:
            resident = uow.accounts.find_by_phone(DEMO_RESIDENT_PHONE)
        if resident is None:
            raise AccountNotFound("the demo resident is missing: run the demo catalog first")
        here = demo.community.id
        neighbours = [
            self._open_account(
                OpenAccount(
                    phone=phone,
                    name=name,
                    memberships=(Membership(Role.RESIDENT, here),),
                    account_id=AccountId(uuid.uuid5(_NAMESPACE, f"account/{phone}").hex),
                ),
                actor=actor,
            ).id
            for phone, name in _NEIGHBOURS
        ]
        earlier = _Earlier(self._clock, _AGO)
        then = earlier.now()
        campaign = CreateCampaignHandler(self._uow, earlier, self._policy)(
            CreateCampaign(
                name="五常大米 阶梯团",
                sku_id=demo_sku_id(*_SKU),
                tiers=_TIERS,
                min_heads=2,
                max_heads=10,
                starts_at=then,
                ends_at=then + dt.timedelta(days=3),
                group_hours=_GROUP_HOURS,
                per_resident_limit=5,
                stock=200,
                community_ids=(here,),
                reward=LeaderReward.commission(500),
                pickup_date=(then + dt.timedelta(days=4)).date(),
            ),
            actor=actor,
        )
        pay = _PaidAsRecorded(self._uow, earlier)
        seating = (self._uow, earlier, self._policy, self._rules, pay, self._providers)
        start, join = StartGroupHandler(*seating), JoinGroupHandler(*seating)

        def started(leader: AccountId, quantity: int, key: str) -> GroupBuyId:
            seat = start(
                StartGroup(campaign.id, leader, here, "demo-pp-1", quantity, key), actor=actor
            )
            return seat.group.id

        settled = started(resident.id, 2, "demo-group-1")
        for n, neighbour in enumerate(neighbours[:2], 1):
            join(JoinGroup(neighbour, 1, f"demo-join-{n}", group_id=settled), actor=actor)
        failed = started(neighbours[2], 1, "demo-group-2")
        done = self._settle(SettleGroups(), actor=actor)
        with self._uow as uow:
            campaign = uow.campaigns.get(campaign.id)
            ended = [self._ended(uow, g) for g in (settled, failed)]
        return DemoGroupBuys(campaign, ended[0], ended[1], done.commission)

    @staticmethod
    def _ended(uow: UnitOfWork, group_id: GroupBuyId) -> DemoGroup:
        group = uow.group_buys.get(group_id)
        refunded = sum((uow.orders.get(p.order_id).refunded for p in group.members), Money(0))
        return DemoGroup(group, refunded)
