"""What residents, leaders and operators see of groups: progress, their own groups, a
campaign's groups, and a leader's earnings."""

from __future__ import annotations

import datetime as dt

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.domain.errors import GroupBuyNotFound, InvalidInput
from shequ.domain.groupbuy import (
    CommissionEntry,
    GroupBuy,
    GroupBuyCampaign,
    GroupStatus,
    PriceTier,
)
from shequ.domain.ids import AccountId, CampaignId, CommunityId, GroupBuyId
from shequ.domain.money import Money

__all__ = [
    "Earnings",
    "GetGroup",
    "GetGroupHandler",
    "GetLeaderEarnings",
    "GetLeaderEarningsHandler",
    "GroupView",
    "ListGroups",
    "ListGroupsHandler",
    "MyGroups",
    "MyGroupsHandler",
]


@attrs.frozen
class GroupView:
    """A group's progress as of ``now``."""

    group: GroupBuy
    campaign: GroupBuyCampaign
    now: dt.datetime

    @property
    def heads(self) -> int:
        return self.group.heads

    @property
    def joinable(self) -> bool:
        g = self.group
        return (
            g.status in (GroupStatus.OPEN, GroupStatus.SUCCEEDED)
            and self.now < g.deadline
            and g.heads < self.campaign.max_heads
        )

    @property
    def needed_to_succeed(self) -> int:
        """0 once it succeeded, or when it has ended."""
        if self.group.status is not GroupStatus.OPEN:
            return 0
        return max(0, self.campaign.min_heads - self.group.heads)

    @property
    def next_tier(self) -> PriceTier | None:
        """The next cheaper tier, while the group takes people; ``None`` after."""
        if self.group.status not in (GroupStatus.OPEN, GroupStatus.SUCCEEDED):
            return None
        return self.campaign.next_tier(self.group.heads)

    @property
    def needed_for_next_tier(self) -> int | None:
        tier = self.next_tier
        return None if tier is None else tier.min_heads - self.group.heads

    @property
    def current_price(self) -> Money:
        """The price the group would settle at now (the first tier's below the minimum)."""
        if self.group.unit_price is not None:
            return self.group.unit_price
        return self.campaign.price_for(max(self.group.heads, self.campaign.min_heads))

    @property
    def seconds_left(self) -> int:
        return max(0, int((self.group.deadline - self.now).total_seconds()))


@attrs.frozen
class GetGroup:
    """By id or by invite code (one of the two)."""

    group_id: GroupBuyId | None = None
    invite_code: str | None = None


class GetGroupHandler:
    """Any signed-in account may see a group's progress: it is what an invite shows."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: GetGroup, *, actor: Actor) -> GroupView:
        self._policy.require(actor, Permission.BROWSE)
        if (query.group_id is None) == (query.invite_code is None):
            raise InvalidInput("name a group by its id or by its invite code", field="group_id")
        with self._uow as uow:
            if query.group_id is not None:
                group = uow.group_buys.get(query.group_id)
            else:
                code = (query.invite_code or "").strip().upper()
                found = uow.group_buys.find_by_invite_code(code) if code.isalnum() else None
                if found is None:
                    raise GroupBuyNotFound(
                        f"no group has the invite code {code!r}", invite_code=code
                    )
                group = found
            return GroupView(group, uow.campaigns.get(group.campaign_id), self._clock.now())


@attrs.frozen
class ListGroups:
    """A campaign's groups, newest first; an operator sees those of their community."""

    campaign_id: CampaignId
    community_id: CommunityId | None = None
    status: GroupStatus | None = None


class ListGroupsHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: ListGroups, *, actor: Actor) -> list[GroupView]:
        self._policy.require(actor, Permission.MANAGE_GROUP_BUYS, community_id=query.community_id)
        now = self._clock.now()
        with self._uow as uow:
            campaign = uow.campaigns.get(query.campaign_id)
            return [
                GroupView(g, campaign, now)
                for g in uow.group_buys.of_campaign(campaign.id)
                if query.community_id in (None, g.community_id) and query.status in (None, g.status)
            ]


@attrs.frozen
class MyGroups:
    resident_id: AccountId


class MyGroupsHandler:
    """The groups a resident is in, left, or leads, newest first."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: MyGroups, *, actor: Actor) -> list[GroupView]:
        if not self._policy.allows(actor, Permission.OWN_ORDER, owner=query.resident_id):
            self._policy.require(actor, Permission.MANAGE_GROUP_BUYS)
        now = self._clock.now()
        with self._uow as uow:
            groups = uow.group_buys.of_resident(query.resident_id)
            campaigns = {g.campaign_id: uow.campaigns.get(g.campaign_id) for g in groups}
        return [GroupView(g, campaigns[g.campaign_id], now) for g in groups]


@attrs.frozen
class Earnings:
    leader_id: AccountId
    entries: tuple[CommissionEntry, ...]

    @property
    def total(self) -> Money:
        return sum((e.amount for e in self.entries), Money(0))


@attrs.frozen
class GetLeaderEarnings:
    leader_id: AccountId


class GetLeaderEarningsHandler:
    """A leader's commission ledger: theirs to read, and the platform's."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: GetLeaderEarnings, *, actor: Actor) -> Earnings:
        if not self._policy.allows(actor, Permission.OWN_ORDER, owner=query.leader_id):
            self._policy.require(actor, Permission.MANAGE_GROUP_BUYS)
        with self._uow as uow:
            return Earnings(query.leader_id, tuple(uow.commissions.of_leader(query.leader_id)))
