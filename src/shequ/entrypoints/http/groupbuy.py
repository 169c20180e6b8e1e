"""``/v1`` group buying routes (社区团购): campaigns, groups and seats, settlement, the
purchase plan and leaders' earnings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Header

from shequ.application.groupbuy.campaigns import (
    CreateCampaign,
    CreateCampaignHandler,
    GetCampaign,
    GetCampaignHandler,
    ListCampaigns,
    ListCampaignsHandler,
)
from shequ.application.groupbuy.groups import (
    CancelGroup,
    CancelGroupHandler,
    JoinGroup,
    JoinGroupHandler,
    LeaveGroup,
    LeaveGroupHandler,
    Seat,
    StartGroup,
    StartGroupHandler,
)
from shequ.application.groupbuy.plan import GetPurchasePlan, GetPurchasePlanHandler
from shequ.application.groupbuy.queries import (
    GetGroup,
    GetGroupHandler,
    GetLeaderEarnings,
    GetLeaderEarningsHandler,
    GroupView,
    ListGroups,
    ListGroupsHandler,
    MyGroups,
    MyGroupsHandler,
)
from shequ.application.groupbuy.settle import SettleGroups, SettleGroupsHandler
from shequ.application.policy import Actor, Permission, Policy
from shequ.domain.groupbuy import GroupStatus
from shequ.domain.ids import AccountId, CampaignId, CommunityId, GroupBuyId, SkuId
from shequ.entrypoints.http.deps import CurrentActor, resolve, signed_in
from shequ.entrypoints.http.groupbuy_models import (
    CampaignIn,
    CampaignOut,
    EarningsOut,
    GroupCancelIn,
    GroupOut,
    JoinIn,
    LeaveIn,
    LeftGroupOut,
    PurchasePlanOut,
    SeatOut,
    SettledOut,
    SettleIn,
    SettlementOut,
    StartGroupIn,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1")

IdempotencyKey = Annotated[
    str,
    Header(description="1 to 64 printable characters, chosen by the client per seat."),
]
Policies = Annotated[Policy, Depends(resolve(Policy))]
GetGroups = Annotated[GetGroupHandler, Depends(resolve(GetGroupHandler))]


def _group_out(view: GroupView, actor: Actor, policy: Policy) -> GroupOut:
    """Members' accounts are for the group's operators and admins; everyone sees the
    quantities and when each joined."""
    return GroupOut.of(view, show_ids=_shows_ids(view, actor, policy), viewer=actor.account_id)


def _shows_ids(view: GroupView, actor: Actor, policy: Policy) -> bool:
    community_id = view.group.community_id
    return policy.allows(actor, Permission.MANAGE_GROUP_BUYS, community_id=community_id)


def _seat_out(seat: Seat, actor: Actor, policy: Policy, get: GetGroupHandler) -> SeatOut:
    """The seat with its group's progress as it is now (a seat carries no campaign)."""
    view = get(GetGroup(group_id=seat.group.id), actor=actor)
    return SeatOut.of(seat, view, show_ids=_shows_ids(view, actor, policy), viewer=signed_in(actor))


# ---------------------------------------------------------------- campaigns


@router.post("/campaigns", status_code=201, tags=["campaigns"])
def create_campaign(
    actor: CurrentActor,
    body: CampaignIn,
    create: Annotated[CreateCampaignHandler, Depends(resolve(CreateCampaignHandler))],
) -> CampaignOut:
    """An operator of every community the campaign runs in (or an admin) creates it."""
    return CampaignOut.of(
        create(
            CreateCampaign(
                name=body.name,
                sku_id=SkuId(body.sku_id),
                tiers=tuple(t.to_domain() for t in body.tiers),
                min_heads=body.min_heads,
                max_heads=body.max_heads,
                starts_at=body.starts_at,
                ends_at=body.ends_at,
                group_hours=body.group_hours,
                per_resident_limit=body.per_resident_limit,
                stock=body.stock,
                community_ids=tuple(CommunityId(c) for c in body.community_ids),
                reward=body.reward.to_domain(),
                pickup_date=body.pickup_date,
                virtual_success_percent=body.virtual_success_percent,
                many_groups_per_leader=body.many_groups_per_leader,
            ),
            actor=actor,
        )
    )


@router.get("/campaigns", tags=["campaigns"])
def list_campaigns(
    actor: CurrentActor,
    community_id: str,
    list_running: Annotated[ListCampaignsHandler, Depends(resolve(ListCampaignsHandler))],
) -> list[CampaignOut]:
    """The campaigns running in a community now, ending soonest first."""
    found = list_running(ListCampaigns(CommunityId(community_id)), actor=actor)
    return [CampaignOut.of(c) for c in found]


@router.get("/campaigns/{campaign_id}", tags=["campaigns"])
def get_campaign(
    actor: CurrentActor,
    campaign_id: str,
    get: Annotated[GetCampaignHandler, Depends(resolve(GetCampaignHandler))],
) -> CampaignOut:
    return CampaignOut.of(get(GetCampaign(CampaignId(campaign_id)), actor=actor))


@router.get("/campaigns/{campaign_id}/groups", tags=["campaigns"])
def list_groups(
    actor: CurrentActor,
    campaign_id: str,
    policy: Policies,
    list_groups: Annotated[ListGroupsHandler, Depends(resolve(ListGroupsHandler))],
    community_id: str | None = None,
    status: GroupStatus | None = None,
) -> list[GroupOut]:
    """A campaign's groups, newest first: a community's for its operators, all for admins."""
    views = list_groups(
        ListGroups(
            CampaignId(campaign_id),
            community_id=CommunityId(community_id) if community_id else None,
            status=status,
        ),
        actor=actor,
    )
    return [_group_out(v, actor, policy) for v in views]


@router.post("/campaigns/{campaign_id}/groups", status_code=201, tags=["groups"])
def start_group(
    actor: CurrentActor,
    campaign_id: str,
    body: StartGroupIn,
    idempotency_key: IdempotencyKey,
    policy: Policies,
    start: Annotated[StartGroupHandler, Depends(resolve(StartGroupHandler))],
    get: GetGroups,
) -> SeatOut:
    """A resident starts a group (开团), leads it, and takes its first seat at the
    campaign's up-front price. The same ``Idempotency-Key`` with the same body answers
    the seat taken the first time (201 again); with another body, 409
    ``idempotency-key-reused``."""
    seat = start(
        StartGroup(
            campaign_id=CampaignId(campaign_id),
            resident_id=signed_in(actor),
            community_id=CommunityId(body.community_id),
            pickup_point_id=body.pickup_point_id,
            quantity=body.quantity,
            idempotency_key=idempotency_key,
            channel=body.channel,
        ),
        actor=actor,
    )
    return _seat_out(seat, actor, policy, get)


# ---------------------------------------------------------------- groups


@router.get("/groups/{group_id}", tags=["groups"])
def get_group(actor: CurrentActor, group_id: str, policy: Policies, get: GetGroups) -> GroupOut:
    """A group's progress: heads, what it takes to succeed and to reach the next tier."""
    return _group_out(get(GetGroup(group_id=GroupBuyId(group_id)), actor=actor), actor, policy)


@router.get("/invites/{invite_code}", tags=["groups"])
def get_invited_group(
    actor: CurrentActor, invite_code: str, policy: Policies, get: GetGroups
) -> GroupOut:
    """The group an invite code names (in any case)."""
    return _group_out(get(GetGroup(invite_code=invite_code), actor=actor), actor, policy)


def _join(
    actor: Actor,
    body: JoinIn,
    key: str,
    join: JoinGroupHandler,
    policy: Policy,
    get: GetGroupHandler,
    *,
    group_id: str | None = None,
    invite_code: str | None = None,
) -> SeatOut:
    seat = join(
        JoinGroup(
            resident_id=signed_in(actor),
            quantity=body.quantity,
            idempotency_key=key,
            group_id=None if group_id is None else GroupBuyId(group_id),
            invite_code=invite_code,
            channel=body.channel,
        ),
        actor=actor,
    )
    return _seat_out(seat, actor, policy, get)


@router.post("/groups/{group_id}/join", status_code=201, tags=["groups"])
def join_group(
    actor: CurrentActor,
    group_id: str,
    body: JoinIn,
    idempotency_key: IdempotencyKey,
    policy: Policies,
    join: Annotated[JoinGroupHandler, Depends(resolve(JoinGroupHandler))],
    get: GetGroups,
) -> SeatOut:
    """Take a seat (参团) at the campaign's up-front price; the difference to the tier the
    group reaches comes back at settlement. Idempotent as starting a group is."""
    return _join(actor, body, idempotency_key, join, policy, get, group_id=group_id)


@router.post("/invites/{invite_code}/join", status_code=201, tags=["groups"])
def join_invited_group(
    actor: CurrentActor,
    invite_code: str,
    body: JoinIn,
    idempotency_key: IdempotencyKey,
    policy: Policies,
    join: Annotated[JoinGroupHandler, Depends(resolve(JoinGroupHandler))],
    get: GetGroups,
) -> SeatOut:
    """Join the group an invite code names."""
    return _join(actor, body, idempotency_key, join, policy, get, invite_code=invite_code)


@router.post("/groups/{group_id}/leave", tags=["groups"])
def leave_group(
    actor: CurrentActor,
    group_id: str,
    leave: Annotated[LeaveGroupHandler, Depends(resolve(LeaveGroupHandler))],
    body: LeaveIn | None = None,
) -> LeftGroupOut:
    """Leave a group before it succeeds: the seat's order is cancelled and, when paid,
    refunded in full. Operators of the group's community may take a member out."""
    resident_id = AccountId(body.resident_id) if body and body.resident_id else signed_in(actor)
    group = leave(LeaveGroup(GroupBuyId(group_id), resident_id), actor=actor)
    return LeftGroupOut.of(group, resident_id)


@router.post("/groups/{group_id}/cancel", tags=["groups"])
def cancel_group(
    actor: CurrentActor,
    group_id: str,
    body: GroupCancelIn,
    cancel: Annotated[CancelGroupHandler, Depends(resolve(CancelGroupHandler))],
) -> SettlementOut:
    """Call a group off: every member's order is cancelled and refunded what was paid."""
    return SettlementOut.of(cancel(CancelGroup(GroupBuyId(group_id), body.reason), actor=actor))


@router.get("/me/groups", tags=["groups"])
def my_groups(
    actor: CurrentActor,
    policy: Policies,
    mine: Annotated[MyGroupsHandler, Depends(resolve(MyGroupsHandler))],
) -> list[GroupOut]:
    """The groups the signed-in account is in, has left, or leads, newest first."""
    return [_group_out(v, actor, policy) for v in mine(MyGroups(signed_in(actor)), actor=actor)]


# ---------------------------------------------------------------- earnings


EarningsHandler = Annotated[GetLeaderEarningsHandler, Depends(resolve(GetLeaderEarningsHandler))]


@router.get("/me/earnings", tags=["earnings"])
def my_earnings(actor: CurrentActor, earnings: EarningsHandler) -> EarningsOut:
    """The signed-in leader's commission ledger, newest first, and its total."""
    return EarningsOut.of(earnings(GetLeaderEarnings(signed_in(actor)), actor=actor))


@router.get("/leaders/{account_id}/earnings", tags=["earnings"])
def leader_earnings(actor: CurrentActor, account_id: str, earnings: EarningsHandler) -> EarningsOut:
    """A leader's commission ledger: the leader's own, and the platform's to read."""
    return EarningsOut.of(earnings(GetLeaderEarnings(AccountId(account_id)), actor=actor))


# ---------------------------------------------------------------- the platform


@router.post("/groupbuy/settle", tags=["groupbuy"])
def settle_groups(
    actor: CurrentActor,
    settle: Annotated[SettleGroupsHandler, Depends(resolve(SettleGroupsHandler))],
    body: SettleIn | None = None,
) -> SettledOut:
    """Settle every group past its deadline, and give up seats nobody paid for in time:
    what a scheduler runs. Safe to run at any time."""
    batch = body.batch if body else SettleIn().batch
    return SettledOut.of(settle(SettleGroups(batch=batch), actor=actor))


@router.get("/groupbuy/purchase-plan", tags=["groupbuy"])
def purchase_plan(
    actor: CurrentActor,
    date: dt.date,
    plan: Annotated[GetPurchasePlanHandler, Depends(resolve(GetPurchasePlanHandler))],
) -> PurchasePlanOut:
    """The purchase plan and distribution list (分拣单) of a pickup date."""
    return PurchasePlanOut.of(plan(GetPurchasePlan(date), actor=actor))
