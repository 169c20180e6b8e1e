"""Group buying (社区团购): campaigns with price tiers, and the groups neighbours join.

A :class:`GroupBuyCampaign` is the offer: one SKU, a ladder of prices by head count
(阶梯团), how many make a group succeed (成团) and how many it may hold, the window, the
limits, the leader's reward. A :class:`GroupBuy` is one group a resident starts and leads.
Everyone pays the highest tier's price up front; when the group settles, the price is the
tier its final head count reached, and each participant gets the difference back (price
protection). A group short of its minimum at its deadline fails and everyone gets back
what they paid.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
from collections.abc import Sequence
from typing import ClassVar

import attrs

from shequ.domain.errors import (
    CampaignNotRunning,
    GroupBuyClosed,
    GroupBuyFull,
    GroupBuyLimitExceeded,
    IllegalTransition,
    InvalidInput,
)
from shequ.domain.events import DomainEvent
from shequ.domain.ids import (
    AccountId,
    CampaignId,
    CommunityId,
    GroupBuyId,
    OrderId,
    SkuId,
    check_id,
)
from shequ.domain.money import Money
from shequ.domain.ordering.pricing import check_quantity
from shequ.domain.values import clean_text

__all__ = [
    "MAX_COMMISSION_BP",
    "CommissionEarned",
    "CommissionEntry",
    "GroupBuy",
    "GroupBuyCampaign",
    "GroupFailed",
    "GroupJoined",
    "GroupLeft",
    "GroupSettled",
    "GroupStarted",
    "GroupStatus",
    "GroupSucceeded",
    "LeaderReward",
    "Participation",
    "PriceTier",
    "RewardKind",
    "Settlement",
    "SettlementLine",
    "commission_on",
]

MAX_COMMISSION_BP = 3000  # 30 %: a leader's commission beyond this is a typo


@attrs.frozen
class PriceTier:
    """From ``min_heads`` people on, each pays ``price`` a unit."""

    min_heads: int
    price: Money


class RewardKind(enum.StrEnum):
    LEADER_PRICE = "leader_price"  # the leader pays less
    COMMISSION = "commission"  # the leader earns a share of the group's net revenue


@attrs.frozen
class LeaderReward:
    kind: RewardKind
    leader_price: Money | None = None
    commission_bp: int = 0  # basis points of the net revenue: 500 = 5 %

    @classmethod
    def price(cls, leader_price: Money) -> LeaderReward:
        return cls(RewardKind.LEADER_PRICE, leader_price=leader_price)

    @classmethod
    def commission(cls, basis_points: int) -> LeaderReward:
        return cls(RewardKind.COMMISSION, commission_bp=basis_points)


def commission_on(revenue: Money, basis_points: int) -> Money:
    """``basis_points`` of ``revenue``, rounded down to the fen."""
    return Money(revenue.fen * basis_points // 10_000)


# ---------------------------------------------------------------- events


@attrs.frozen(kw_only=True)
class GroupStarted(DomainEvent):
    group_id: GroupBuyId
    campaign_id: CampaignId
    leader_id: AccountId
    community_id: CommunityId
    deadline: dt.datetime


@attrs.frozen(kw_only=True)
class GroupJoined(DomainEvent):
    group_id: GroupBuyId
    resident_id: AccountId
    quantity: int
    order_id: OrderId
    heads: int


@attrs.frozen(kw_only=True)
class GroupLeft(DomainEvent):
    group_id: GroupBuyId
    resident_id: AccountId
    order_id: OrderId
    leader_id: AccountId | None  # the leader afterwards; None when nobody is left
    reason: str = "left"  # or "unpaid": the order was not paid in time


@attrs.frozen(kw_only=True)
class GroupSucceeded(DomainEvent):
    group_id: GroupBuyId
    heads: int


@attrs.frozen(kw_only=True)
class GroupFailed(DomainEvent):
    group_id: GroupBuyId
    heads: int
    reason: str


@attrs.frozen(kw_only=True)
class GroupSettled(DomainEvent):
    group_id: GroupBuyId
    heads: int
    unit_price: Money
    refunded: Money


@attrs.frozen(kw_only=True)
class CommissionEarned(DomainEvent):
    group_id: GroupBuyId
    leader_id: AccountId
    amount: Money
    revenue: Money


@attrs.define(slots=False, eq=False)
class CommissionEntry:
    """One line of the leaders' commission ledger: what a settled group earned its leader.
    One per group, so a settlement that runs twice cannot pay twice."""

    group_id: GroupBuyId
    campaign_id: CampaignId
    leader_id: AccountId
    amount: Money
    revenue: Money
    earned_at: dt.datetime
    version: ClassVar[int] = 1  # written once, never changed

    @property
    def id(self) -> GroupBuyId:
        return self.group_id


# ---------------------------------------------------------------- the campaign


@attrs.define(slots=False, eq=False)
class GroupBuyCampaign:
    """团购活动, created by an operator. ``stock_taken`` counts the units groups hold."""

    id: CampaignId
    name: str
    sku_id: SkuId
    tiers: tuple[PriceTier, ...]
    min_heads: int
    max_heads: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    group_hours: int
    per_resident_limit: int
    stock: int
    community_ids: tuple[CommunityId, ...]
    reward: LeaderReward
    pickup_date: dt.date
    created_at: dt.datetime
    virtual_success_percent: int | None = None  # 虚拟成团: off unless set
    many_groups_per_leader: bool = False
    stock_taken: int = 0
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        id: CampaignId,
        name: str,
        sku_id: SkuId,
        sku_price: Money,
        tiers: Sequence[PriceTier],
        min_heads: int,
        max_heads: int,
        starts_at: dt.datetime,
        ends_at: dt.datetime,
        group_hours: int,
        per_resident_limit: int,
        stock: int,
        community_ids: Sequence[CommunityId],
        reward: LeaderReward,
        pickup_date: dt.date,
        now: dt.datetime,
        virtual_success_percent: int | None = None,
        many_groups_per_leader: bool = False,
    ) -> GroupBuyCampaign:
        ladder = _checked_tiers(tiers, sku_price)
        if not 1 <= min_heads <= max_heads <= 1000:
            raise InvalidInput(
                "a group needs 1 ≤ its minimum ≤ its maximum ≤ 1000 people", field="min_heads"
            )
        if ladder[-1].min_heads > max_heads:
            raise InvalidInput("a tier asks for more people than a group may hold", field="tiers")
        if starts_at.tzinfo is None or ends_at.tzinfo is None:
            raise InvalidInput("a campaign's window needs time zones", field="starts_at")
        if ends_at <= starts_at:
            raise InvalidInput("a campaign's window ends before it starts", field="ends_at")
        if not 1 <= group_hours <= 720:
            raise InvalidInput("a group stays open 1 to 720 hours", field="group_hours")
        if not 1 <= per_resident_limit <= 9999:
            raise InvalidInput("a resident may buy 1 to 9999 units", field="per_resident_limit")
        if not 1 <= stock <= 10_000_000:
            raise InvalidInput("a campaign's stock is 1 to 10,000,000 units", field="stock")
        if not community_ids:
            raise InvalidInput("a campaign runs in at least one community", field="communities")
        if virtual_success_percent is not None and not 1 <= virtual_success_percent <= 99:
            raise InvalidInput(
                "virtual success needs a share of the minimum from 1 to 99 %",
                field="virtual_success_percent",
            )
        _check_reward(reward, ladder)
        if pickup_date < ends_at.date():
            raise InvalidInput(
                "the goods cannot reach the pickup points before the campaign ends",
                field="pickup_date",
            )
        return cls(
            id=id,
            name=clean_text(name, "name", max_len=60),
            sku_id=sku_id,
            tiers=ladder,
            min_heads=min_heads,
            max_heads=max_heads,
            starts_at=starts_at.astimezone(dt.UTC),
            ends_at=ends_at.astimezone(dt.UTC),
            group_hours=group_hours,
            per_resident_limit=per_resident_limit,
            stock=stock,
            community_ids=tuple(dict.fromkeys(community_ids)),
            reward=reward,
            pickup_date=pickup_date,
            created_at=now,
            virtual_success_percent=virtual_success_percent,
            many_groups_per_leader=many_groups_per_leader,
        )

    @property
    def upfront_price(self) -> Money:
        """What everyone pays on joining: the highest tier's price."""
        return self.tiers[0].price

    def price_for(self, heads: int) -> Money:
        """The price of the highest tier ``heads`` people reach (the first tier's below it)."""
        reached = [t.price for t in self.tiers if t.min_heads <= heads]
        return reached[-1] if reached else self.upfront_price

    def next_tier(self, heads: int) -> PriceTier | None:
        return next((t for t in self.tiers if t.min_heads > heads), None)

    def may_succeed_with(self, heads: int) -> bool:
        """At the deadline: the minimum reached, or (虚拟成团) enough of it."""
        if heads >= self.min_heads:
            return True
        share = self.virtual_success_percent
        return share is not None and heads >= 1 and heads * 100 >= self.min_heads * share

    def check_open(self, community_id: CommunityId, now: dt.datetime) -> None:
        if community_id not in self.community_ids:
            raise CampaignNotRunning(
                f"campaign {self.id} does not run in community {community_id}",
                campaign_id=self.id,
            )
        if not self.starts_at <= now < self.ends_at:
            raise CampaignNotRunning(
                f"campaign {self.id} runs from {self.starts_at.isoformat()} "
                f"to {self.ends_at.isoformat()}",
                campaign_id=self.id,
            )

    def take_stock(self, quantity: int) -> None:
        if self.stock_taken + quantity > self.stock:
            raise GroupBuyLimitExceeded(
                f"campaign {self.id} has {self.stock - self.stock_taken} units left",
                campaign_id=self.id,
            )
        self.stock_taken += quantity
        self.version += 1

    def return_stock(self, quantity: int) -> None:
        self.stock_taken = max(0, self.stock_taken - quantity)
        self.version += 1


def _checked_tiers(tiers: Sequence[PriceTier], sku_price: Money) -> tuple[PriceTier, ...]:
    ladder = tuple(tiers)
    if not 1 <= len(ladder) <= 10:
        raise InvalidInput("a campaign has 1 to 10 price tiers", field="tiers")
    for lower, higher in itertools.pairwise(ladder):
        if higher.min_heads <= lower.min_heads or higher.price >= lower.price:
            raise InvalidInput(
                "tiers go up in people and down in price: "
                f"{lower.min_heads}+ at {lower.price}, then {higher.min_heads}+ at {higher.price}",
                field="tiers",
            )
    if ladder[0].min_heads < 1:
        raise InvalidInput("a tier starts from 1 person or more", field="tiers")
    if ladder[-1].price.fen <= 0:
        raise InvalidInput("a tier's price is above ¥0.00", field="tiers")
    if ladder[0].price > sku_price:
        raise InvalidInput(
            f"a group price ({ladder[0].price}) above the SKU's own ({sku_price})", field="tiers"
        )
    return ladder


def _check_reward(reward: LeaderReward, ladder: tuple[PriceTier, ...]) -> None:
    if reward.kind is RewardKind.LEADER_PRICE:
        price = reward.leader_price
        if price is None or price.fen <= 0 or price > ladder[-1].price:
            raise InvalidInput(
                "a leader price is above ¥0.00 and at most the lowest tier's", field="reward"
            )
    elif not 0 <= reward.commission_bp <= MAX_COMMISSION_BP:
        raise InvalidInput(
            f"a commission is 0 to {MAX_COMMISSION_BP // 100} % of the net revenue",
            field="reward",
        )


# ---------------------------------------------------------------- the group


class GroupStatus(enum.StrEnum):
    OPEN = "open"  # short of its minimum
    SUCCEEDED = "succeeded"  # minimum reached; joins go on until full or the deadline
    SETTLED = "settled"  # final price set, differences refunded, orders released
    FAILED = "failed"  # short of its minimum at the deadline: everything refunded
    CANCELLED = "cancelled"  # by an operator: everything refunded


@attrs.define(slots=False, eq=False)
class Participation:
    """One resident in a group, with the order that holds their units and money."""

    resident_id: AccountId
    quantity: int
    order_id: OrderId
    unit_price: Money  # paid up front: the price shown on joining
    joined_at: dt.datetime
    left_at: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.left_at is None

    @property
    def paid(self) -> Money:
        return Money(self.unit_price.fen * self.quantity)


@attrs.frozen
class SettlementLine:
    """What one participant's order ends at: ``net`` kept, ``refund`` given back."""

    resident_id: AccountId
    order_id: OrderId
    quantity: int
    paid: Money
    net: Money
    refund: Money


@attrs.frozen
class Settlement:
    group_id: GroupBuyId
    status: GroupStatus  # settled, failed or cancelled
    unit_price: Money | None  # the final tier's price; None when nothing was sold
    lines: tuple[SettlementLine, ...]
    commission: Money

    @property
    def refunded(self) -> Money:
        return Money(sum(line.refund.fen for line in self.lines))

    @property
    def revenue(self) -> Money:
        return Money(sum(line.net.fen for line in self.lines))


_JOINABLE = (GroupStatus.OPEN, GroupStatus.SUCCEEDED)


@attrs.define(slots=False, eq=False)
class GroupBuy:
    """团: started by a resident, who leads it and joins first."""

    id: GroupBuyId
    campaign_id: CampaignId
    community_id: CommunityId
    leader_id: AccountId
    invite_code: str
    pickup_point_id: str  # where the goods of every member are handed over
    started_at: dt.datetime
    deadline: dt.datetime
    status: GroupStatus = GroupStatus.OPEN
    participants: list[Participation] = attrs.field(factory=list)
    settled_at: dt.datetime | None = None
    unit_price: Money | None = None
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def start(
        cls,
        campaign: GroupBuyCampaign,
        *,
        id: GroupBuyId,
        leader_id: AccountId,
        community_id: CommunityId,
        invite_code: str,
        pickup_point_id: str,
        quantity: int,
        order_id: OrderId,
        now: dt.datetime,
    ) -> GroupBuy:
        campaign.check_open(community_id, now)
        check_id(pickup_point_id, "pickup point")
        deadline = min(now + dt.timedelta(hours=campaign.group_hours), campaign.ends_at)
        group = cls(
            id=id,
            campaign_id=campaign.id,
            community_id=community_id,
            leader_id=leader_id,
            invite_code=invite_code,
            pickup_point_id=pickup_point_id,
            started_at=now,
            deadline=deadline,
        )
        group.events.append(
            GroupStarted(
                occurred_at=now,
                group_id=id,
                campaign_id=campaign.id,
                leader_id=leader_id,
                community_id=community_id,
                deadline=deadline,
            )
        )
        group.join(campaign, leader_id, quantity, order_id, now=now)
        return group

    # ---------------------------------------------------------------- reading

    @property
    def members(self) -> list[Participation]:
        return [p for p in self.participants if p.active]

    @property
    def heads(self) -> int:
        return len(self.members)

    def quantity_of(self, resident_id: AccountId) -> int:
        return sum(p.quantity for p in self.members if p.resident_id == resident_id)

    def participation(self, resident_id: AccountId) -> Participation | None:
        return next((p for p in self.members if p.resident_id == resident_id), None)

    # ---------------------------------------------------------------- joining and leaving

    def join(
        self,
        campaign: GroupBuyCampaign,
        resident_id: AccountId,
        quantity: int,
        order_id: OrderId,
        *,
        now: dt.datetime,
    ) -> Participation:
        """Take a seat with ``quantity`` units at the campaign's up-front price. The
        campaign's own stock is taken by the caller, in the same transaction."""
        if self.status not in _JOINABLE or now >= self.deadline:
            raise GroupBuyClosed(
                f"group {self.id} is {self._state(now)}", group_id=self.id, status=self.status
            )
        if self.participation(resident_id) is not None:
            raise GroupBuyLimitExceeded(
                f"you are in group {self.id} already", group_id=self.id, field="resident_id"
            )
        if self.heads >= campaign.max_heads:
            raise GroupBuyFull(
                f"group {self.id} is full ({campaign.max_heads} people)", group_id=self.id
            )
        check_quantity(quantity)
        if quantity > campaign.per_resident_limit:
            raise GroupBuyLimitExceeded(
                f"a resident buys 1 to {campaign.per_resident_limit} units in this campaign",
                group_id=self.id,
                field="quantity",
            )
        seat = Participation(resident_id, quantity, order_id, campaign.upfront_price, now)
        self.participants.append(seat)
        self.version += 1
        self.events.append(
            GroupJoined(
                occurred_at=now,
                group_id=self.id,
                resident_id=resident_id,
                quantity=quantity,
                order_id=order_id,
                heads=self.heads,
            )
        )
        if self.status is GroupStatus.OPEN and self.heads >= campaign.min_heads:
            self.status = GroupStatus.SUCCEEDED
            self.events.append(GroupSucceeded(occurred_at=now, group_id=self.id, heads=self.heads))
        return seat

    def leave(self, resident_id: AccountId, *, now: dt.datetime) -> Participation:
        """Only before the group has succeeded; the caller refunds the order and returns
        the stock. A leader who leaves hands the group to the earliest who joined."""
        if self.status is not GroupStatus.OPEN or now >= self.deadline:
            raise IllegalTransition(
                f"group {self.id} is {self._state(now)}: nobody may leave it now",
                status=self.status.value,
                action="leave",
            )
        seat = self.participation(resident_id)
        if seat is None:
            raise InvalidInput(f"you are not in group {self.id}", field="resident_id")
        self._vacate(seat, "left", now)
        return seat

    def drop_unpaid(
        self, campaign: GroupBuyCampaign, order_id: OrderId, *, now: dt.datetime
    ) -> Participation | None:
        """Give up the seat of an order that was not paid in time, whatever the group's
        state short of its end. A group that falls below its minimum this way is open
        again. ``None`` when no member holds that order."""
        seat = next((p for p in self.members if p.order_id == order_id), None)
        if seat is None or self.status not in _JOINABLE:
            return None
        self._vacate(seat, "unpaid", now)
        if self.status is GroupStatus.SUCCEEDED and self.heads < campaign.min_heads:
            self.status = GroupStatus.OPEN
        return seat

    def _vacate(self, seat: Participation, reason: str, now: dt.datetime) -> None:
        seat.left_at = now
        remaining = self.members
        if seat.resident_id == self.leader_id and remaining:
            self.leader_id = min(remaining, key=lambda p: p.joined_at).resident_id
        if not remaining:
            self.status = GroupStatus.FAILED
            self.settled_at = now
        self.version += 1
        self.events.append(
            GroupLeft(
                occurred_at=now,
                group_id=self.id,
                resident_id=seat.resident_id,
                order_id=seat.order_id,
                leader_id=self.leader_id if remaining else None,
                reason=reason,
            )
        )
        if not remaining:
            self.events.append(
                GroupFailed(occurred_at=now, group_id=self.id, heads=0, reason="nobody is left")
            )

    # ---------------------------------------------------------------- the end

    def commission_entry(
        self, campaign: GroupBuyCampaign, settlement: Settlement
    ) -> CommissionEntry | None:
        """The ledger line of a settlement that earned its leader a commission."""
        if not settlement.commission.fen or self.settled_at is None:
            return None
        return CommissionEntry(
            group_id=self.id,
            campaign_id=campaign.id,
            leader_id=self.leader_id,
            amount=settlement.commission,
            revenue=settlement.revenue,
            earned_at=self.settled_at,
        )

    def settle(self, campaign: GroupBuyCampaign, *, now: dt.datetime) -> Settlement:
        """At or after the deadline: a group that reached its minimum (or enough of it,
        with 虚拟成团) settles at the tier its head count reached; any other fails."""
        if self.status not in _JOINABLE:
            raise IllegalTransition(
                f"group {self.id} is {self.status.value} already",
                status=self.status.value,
                action="settle",
            )
        if now < self.deadline:
            raise IllegalTransition(
                f"group {self.id} stays open until {self.deadline.isoformat()}",
                status=self.status.value,
                action="settle",
            )
        if not campaign.may_succeed_with(self.heads):
            return self._end(GroupStatus.FAILED, "short of its minimum", now)
        price = campaign.price_for(max(self.heads, campaign.min_heads))
        lines = tuple(self._line(p, self._price_of(p, campaign, price)) for p in self.members)
        revenue = Money(sum(line.net.fen for line in lines))
        commission = Money(0)
        if campaign.reward.kind is RewardKind.COMMISSION:
            commission = commission_on(revenue, campaign.reward.commission_bp)
        self.status, self.settled_at, self.unit_price = GroupStatus.SETTLED, now, price
        self.version += 1
        settlement = Settlement(self.id, self.status, price, lines, commission)
        self.events.append(
            GroupSettled(
                occurred_at=now,
                group_id=self.id,
                heads=self.heads,
                unit_price=price,
                refunded=settlement.refunded,
            )
        )
        if commission.fen:
            self.events.append(
                CommissionEarned(
                    occurred_at=now,
                    group_id=self.id,
                    leader_id=self.leader_id,
                    amount=commission,
                    revenue=revenue,
                )
            )
        return settlement

    def cancel(self, reason: str, *, now: dt.datetime) -> Settlement:
        """An operator calls the group off: everyone gets back what they paid."""
        if self.status not in _JOINABLE:
            raise IllegalTransition(
                f"group {self.id} is {self.status.value} already",
                status=self.status.value,
                action="cancel",
            )
        return self._end(GroupStatus.CANCELLED, clean_text(reason, "reason", max_len=200), now)

    def _end(self, status: GroupStatus, reason: str, now: dt.datetime) -> Settlement:
        lines = tuple(self._line(p, Money(0)) for p in self.members)
        self.status, self.settled_at = status, now
        self.version += 1
        self.events.append(
            GroupFailed(occurred_at=now, group_id=self.id, heads=self.heads, reason=reason)
        )
        return Settlement(self.id, status, None, lines, Money(0))

    def _price_of(self, seat: Participation, campaign: GroupBuyCampaign, price: Money) -> Money:
        reward = campaign.reward
        leader_price = reward.leader_price
        if seat.resident_id == self.leader_id and leader_price is not None:
            return min(price, leader_price)
        return price

    @staticmethod
    def _line(seat: Participation, unit: Money) -> SettlementLine:
        kept = min(unit, seat.unit_price)  # never more than the price shown on joining
        net = Money(kept.fen * seat.quantity)
        return SettlementLine(
            seat.resident_id, seat.order_id, seat.quantity, seat.paid, net, seat.paid - net
        )

    def _state(self, now: dt.datetime) -> str:
        if self.status in _JOINABLE and now >= self.deadline:
            return "past its deadline"
        return self.status.value
