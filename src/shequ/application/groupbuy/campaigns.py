"""Campaigns (团购活动): created by operators, listed for residents."""

from __future__ import annotations

import datetime as dt

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.domain.errors import InvalidInput
from shequ.domain.groupbuy import GroupBuyCampaign, LeaderReward, PriceTier
from shequ.domain.ids import CampaignId, CommunityId, SkuId, new_id

__all__ = [
    "CreateCampaign",
    "CreateCampaignHandler",
    "GetCampaign",
    "GetCampaignHandler",
    "ListCampaigns",
    "ListCampaignsHandler",
]


@attrs.frozen
class CreateCampaign:
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
    virtual_success_percent: int | None = None
    many_groups_per_leader: bool = False


class CreateCampaignHandler:
    """An operator of every community the campaign runs in (or an admin) creates it."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: CreateCampaign, *, actor: Actor) -> GroupBuyCampaign:
        if not cmd.community_ids:
            raise InvalidInput("a campaign runs in at least one community", field="communities")
        for community_id in cmd.community_ids:
            self._policy.require(actor, Permission.MANAGE_GROUP_BUYS, community_id=community_id)
        with self._uow as uow:
            for community_id in cmd.community_ids:
                uow.communities.get(community_id)
            sku = uow.skus.get(cmd.sku_id)
            campaign = GroupBuyCampaign.create(
                id=CampaignId(new_id()),
                name=cmd.name,
                sku_id=sku.id,
                sku_price=sku.price,
                tiers=cmd.tiers,
                min_heads=cmd.min_heads,
                max_heads=cmd.max_heads,
                starts_at=cmd.starts_at,
                ends_at=cmd.ends_at,
                group_hours=cmd.group_hours,
                per_resident_limit=cmd.per_resident_limit,
                stock=cmd.stock,
                community_ids=cmd.community_ids,
                reward=cmd.reward,
                pickup_date=cmd.pickup_date,
                now=self._clock.now(),
                virtual_success_percent=cmd.virtual_success_percent,
                many_groups_per_leader=cmd.many_groups_per_leader,
            )
            uow.campaigns.add(campaign)
            uow.commit()
        return campaign


@attrs.frozen
class GetCampaign:
    campaign_id: CampaignId


class GetCampaignHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: GetCampaign, *, actor: Actor) -> GroupBuyCampaign:
        self._policy.require(actor, Permission.BROWSE)
        with self._uow as uow:
            return uow.campaigns.get(query.campaign_id)


@attrs.frozen
class ListCampaigns:
    """The campaigns running in a community now, ending soonest first."""

    community_id: CommunityId


class ListCampaignsHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: ListCampaigns, *, actor: Actor) -> list[GroupBuyCampaign]:
        self._policy.require(actor, Permission.BROWSE)
        with self._uow as uow:
            return uow.campaigns.running_in(query.community_id, self._clock.now())
