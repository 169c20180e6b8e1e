"""``shequ groupbuy …``: group buying (社区团购) at the console: campaigns, groups, seats
for residents, settlement, the purchase plan and distribution list, leaders' earnings."""

from __future__ import annotations

import csv
import datetime as dt
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import click

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
from shequ.application.groupbuy.plan import GetPurchasePlan, GetPurchasePlanHandler, PurchasePlan
from shequ.application.groupbuy.queries import (
    GetGroup,
    GetGroupHandler,
    GetLeaderEarnings,
    GetLeaderEarningsHandler,
    GroupView,
    ListGroups,
    ListGroupsHandler,
)
from shequ.application.groupbuy.settle import Settled, SettleGroups, SettleGroupsHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import Clock
from shequ.domain.catalog import read_time
from shequ.domain.errors import InvalidInput
from shequ.domain.groupbuy import (
    GroupBuy,
    GroupBuyCampaign,
    GroupStatus,
    LeaderReward,
    PriceTier,
    RewardKind,
    Settlement,
)
from shequ.domain.ids import AccountId, CampaignId, CommunityId, GroupBuyId, SkuId
from shequ.domain.money import Money
from shequ.domain.ordering import OrderStatus
from shequ.entrypoints.cli.main import counter, emit_data, get, json_option, table
from shequ.entrypoints.cli.ordering import at, fen, moment, order_data

__all__ = ["DISTRIBUTION_COLUMNS", "PURCHASE_COLUMNS", "campaign_data", "groupbuy", "view_data"]

PURCHASE_COLUMNS = ("seller_id", "sku_id", "name", "spec", "units", "groups", "orders")
DISTRIBUTION_COLUMNS = ("pickup_point_id", "sku_id", "name", "units", "orders", "order_ids")


@click.group()
def groupbuy() -> None:
    """Group buying (社区团购): campaigns, groups, settlement and the purchase plan."""


# ---------------------------------------------------------------- shapes


def _tiers_text(tiers: Sequence[PriceTier]) -> str:
    return " / ".join(f"{t.min_heads}+ {t.price}" for t in tiers)


def _reward_text(campaign: GroupBuyCampaign) -> str:
    reward = campaign.reward
    if reward.kind is RewardKind.LEADER_PRICE:
        return f"the leader pays {reward.leader_price}"
    if not reward.commission_bp:
        return "no leader reward"
    return f"the leader earns {_percent(reward.commission_bp)} of the net revenue"


def _percent(basis_points: int) -> str:
    whole, part = divmod(basis_points, 100)
    return f"{whole}%" if not part else f"{whole}.{part:02d}".rstrip("0") + "%"


def campaign_data(c: GroupBuyCampaign) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "sku_id": c.sku_id,
        "tiers": [{"min_heads": t.min_heads, "price_fen": t.price.fen} for t in c.tiers],
        "upfront_price_fen": c.upfront_price.fen,
        "min_heads": c.min_heads,
        "max_heads": c.max_heads,
        "starts_at": moment(c.starts_at),
        "ends_at": moment(c.ends_at),
        "group_hours": c.group_hours,
        "per_resident_limit": c.per_resident_limit,
        "stock": c.stock,
        "stock_taken": c.stock_taken,
        "community_ids": list(c.community_ids),
        "reward": {
            "kind": c.reward.kind.value,
            "leader_price_fen": fen(c.reward.leader_price),
            "commission_bp": c.reward.commission_bp,
        },
        "pickup_date": c.pickup_date.isoformat(),
        "virtual_success_percent": c.virtual_success_percent,
        "many_groups_per_leader": c.many_groups_per_leader,
        "created_at": moment(c.created_at),
    }


def _group_data(g: GroupBuy) -> dict[str, Any]:
    return {
        "id": g.id,
        "campaign_id": g.campaign_id,
        "community_id": g.community_id,
        "leader_id": g.leader_id,
        "invite_code": g.invite_code,
        "pickup_point_id": g.pickup_point_id,
        "status": g.status.value,
        "heads": g.heads,
        "started_at": moment(g.started_at),
        "deadline": moment(g.deadline),
        "settled_at": moment(g.settled_at),
        "unit_price_fen": fen(g.unit_price),
        "participants": [
            {
                "resident_id": p.resident_id,
                "quantity": p.quantity,
                "order_id": p.order_id,
                "unit_price_fen": p.unit_price.fen,
                "joined_at": moment(p.joined_at),
                "left_at": moment(p.left_at),
            }
            for p in g.participants
        ],
    }


def view_data(view: GroupView) -> dict[str, Any]:
    """A group with its progress: what ``groupbuy show --json`` prints."""
    tier = view.next_tier
    return {
        **_group_data(view.group),
        "min_heads": view.campaign.min_heads,
        "max_heads": view.campaign.max_heads,
        "joinable": view.joinable,
        "seconds_left": view.seconds_left,
        "needed_to_succeed": view.needed_to_succeed,
        "upfront_price_fen": view.campaign.upfront_price.fen,
        "current_price_fen": view.current_price.fen,
        "next_tier": None
        if tier is None
        else {"min_heads": tier.min_heads, "price_fen": tier.price.fen},
        "needed_for_next_tier": view.needed_for_next_tier,
    }


def _seat_data(seat: Seat) -> dict[str, Any]:
    payment = seat.payment
    return {
        "group": _group_data(seat.group),
        "order": order_data(seat.order),
        "payment": None
        if payment is None
        else {
            "payment_id": payment.payment_id,
            "provider": payment.provider,
            "channel": payment.channel.value,
            "amount_fen": payment.amount.fen,
        },
    }


def _settlement_data(s: Settlement) -> dict[str, Any]:
    return {
        "group_id": s.group_id,
        "status": s.status.value,
        "unit_price_fen": fen(s.unit_price),
        "refunded_fen": s.refunded.fen,
        "lines": [
            {
                "resident_id": line.resident_id,
                "order_id": line.order_id,
                "quantity": line.quantity,
                "paid_fen": line.paid.fen,
                "net_fen": line.net.fen,
                "refund_fen": line.refund.fen,
            }
            for line in s.lines
        ],
    }


def _settled_data(done: Settled) -> dict[str, Any]:
    return {
        "settled": done.settled,
        "failed": done.failed,
        "unpaid_seats": done.unpaid_seats,
        "refunded_fen": done.refunded.fen,
        "commission_fen": done.commission.fen,
    }


def _plan_data(plan: PurchasePlan) -> dict[str, Any]:
    return {
        "pickup_date": plan.pickup_date.isoformat(),
        "units": plan.units,
        "unsettled": plan.unsettled,
        "lines": [
            {
                "seller_id": line.seller_id,
                "sku_id": line.sku_id,
                "name": line.name,
                "spec": line.spec,
                "units": line.units,
                "groups": line.groups,
                "orders": line.orders,
            }
            for line in plan.lines
        ],
        "distribution": [
            {
                "pickup_point_id": line.pickup_point_id,
                "sku_id": line.sku_id,
                "name": line.name,
                "units": line.units,
                "order_ids": list(line.order_ids),
            }
            for line in plan.distribution
        ],
    }


def _price(view: GroupView) -> str:
    """The price it settled at, or would settle at now; nothing for a group that ended
    without a sale."""
    if view.group.status in (GroupStatus.FAILED, GroupStatus.CANCELLED):
        return ""
    return view.current_price.format()


def _left(view: GroupView) -> str:
    if view.group.status not in (GroupStatus.OPEN, GroupStatus.SUCCEEDED):
        return ""
    if not view.seconds_left:
        return "past its deadline"
    hours, rest = divmod(view.seconds_left, 3600)
    return f"{hours}h {rest // 60:02d}m left"


# ---------------------------------------------------------------- campaigns


@groupbuy.group("campaigns")
def campaigns() -> None:
    """Campaigns (团购活动): the offers groups are started from."""


def _tier(text: str) -> PriceTier:
    heads, colon, price = text.strip().partition(":")
    if not colon or not heads.strip().isdigit():
        raise InvalidInput(
            f"--tier takes MIN_HEADS:PRICE, such as 5:42.00, not {text!r}", field="tiers"
        )
    return PriceTier(int(heads), Money.parse(price))


def _reward(
    leader_price: str | None, percent: int | None, basis_points: int | None
) -> LeaderReward:
    if sum(v is not None for v in (leader_price, percent, basis_points)) > 1:
        raise click.UsageError(
            "give one of --leader-price, --commission-percent and --commission-bp"
        )
    if leader_price is not None:
        return LeaderReward.price(Money.parse(leader_price))
    if percent is not None:
        return LeaderReward.commission(percent * 100)
    return LeaderReward.commission(basis_points or 0)


@campaigns.command("create")
@click.option("--name", required=True, help="Up to 60 characters.")
@click.option("--sku", "sku_id", required=True, help="The SKU sold, by id.")
@click.option(
    "--tier",
    "tiers",
    multiple=True,
    required=True,
    help="MIN_HEADS:PRICE, such as 5:42.00: from that many people, that price a unit. "
    "Repeat for more, fewest people (dearest) first.",
)
@click.option("--min-heads", type=int, required=True, help="People a group needs (成团).")
@click.option("--max-heads", type=int, required=True, help="People a group may hold.")
@click.option("--starts", help="When groups may start (ISO 8601; UTC+8 if no zone). Default: now.")
@click.option("--ends", required=True, help="When the campaign ends (not included).")
@click.option(
    "--group-hours", type=int, default=24, show_default=True, help="How long a group stays open."
)
@click.option(
    "--per-resident-limit",
    type=int,
    default=5,
    show_default=True,
    help="Units one resident may buy in the campaign.",
)
@click.option("--stock", type=int, required=True, help="Units the campaign may sell.")
@click.option(
    "--community", "communities", multiple=True, required=True, help="Runs here. Repeatable."
)
@click.option("--leader-price", help="Reward: the leader pays this price (yuan) a unit.")
@click.option(
    "--commission-percent", type=int, help="Reward: the leader earns this % of the net revenue."
)
@click.option("--commission-bp", type=int, help="The same in basis points (550 = 5.5%).")
@click.option(
    "--pickup-date",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="When the goods reach the pickup points.",
)
@click.option(
    "--virtual-success-percent",
    type=int,
    help="虚拟成团: a group with this % of its minimum succeeds too (1 to 99).",
)
@click.option(
    "--many-groups-per-leader", is_flag=True, help="A resident may lead several open groups."
)
@json_option
@click.pass_context
def create_campaign(
    ctx: click.Context,
    name: str,
    sku_id: str,
    tiers: tuple[str, ...],
    min_heads: int,
    max_heads: int,
    starts: str | None,
    ends: str,
    group_hours: int,
    per_resident_limit: int,
    stock: int,
    communities: tuple[str, ...],
    leader_price: str | None,
    commission_percent: int | None,
    commission_bp: int | None,
    pickup_date: dt.datetime,
    virtual_success_percent: int | None,
    many_groups_per_leader: bool,
    as_json: bool,
) -> None:
    """Create a campaign: one SKU, its price tiers by head count, its window and limits."""
    reward = _reward(leader_price, commission_percent, commission_bp)
    starts_at = read_time(starts, "starts") if starts else get(ctx, Clock).now()
    campaign = get(ctx, CreateCampaignHandler)(
        CreateCampaign(
            name=name,
            sku_id=SkuId(sku_id),
            tiers=tuple(_tier(t) for t in tiers),
            min_heads=min_heads,
            max_heads=max_heads,
            starts_at=starts_at,
            ends_at=read_time(ends, "ends"),
            group_hours=group_hours,
            per_resident_limit=per_resident_limit,
            stock=stock,
            community_ids=tuple(CommunityId(c) for c in communities),
            reward=reward,
            pickup_date=pickup_date.date(),
            virtual_success_percent=virtual_success_percent,
            many_groups_per_leader=many_groups_per_leader,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(campaign_data(campaign))
    else:
        click.echo(f"created campaign {campaign.id}: {campaign.name}")
        _describe_campaign(campaign)


def _describe_campaign(c: GroupBuyCampaign) -> None:
    click.echo(f"  SKU {c.sku_id}: {_tiers_text(c.tiers)}; everyone pays {c.upfront_price} first")
    click.echo(
        f"  groups of {c.min_heads} to {c.max_heads} people, open {c.group_hours}h; "
        f"at most {c.per_resident_limit} unit(s) a resident; {c.stock_taken}/{c.stock} units held"
    )
    if c.virtual_success_percent is not None:
        click.echo(f"  虚拟成团 from {c.virtual_success_percent}% of the minimum")
    leaders = "several open groups" if c.many_groups_per_leader else "one open group"
    click.echo(f"  {_reward_text(c)}; a resident leads {leaders} at a time")
    click.echo(f"  runs {at(c.starts_at)} to {at(c.ends_at)}; pickup on {c.pickup_date}")
    click.echo(f"  in {', '.join(c.community_ids)}")


@campaigns.command("list")
@click.option("--community", required=True, help="The community id.")
@json_option
@click.pass_context
def list_campaigns(ctx: click.Context, community: str, as_json: bool) -> None:
    """The campaigns running in a community now, ending soonest first."""
    found = get(ctx, ListCampaignsHandler)(ListCampaigns(CommunityId(community)), actor=CONSOLE)
    if as_json:
        emit_data([campaign_data(c) for c in found])
        return
    table(
        ["CAMPAIGN", "NAME", "SKU", "TIERS", "HEADS", "ENDS", "PICKUP", "STOCK"],
        [
            [
                c.id,
                c.name,
                c.sku_id,
                _tiers_text(c.tiers),
                f"{c.min_heads}-{c.max_heads}",
                at(c.ends_at),
                c.pickup_date.isoformat(),
                f"{c.stock_taken}/{c.stock}",
            ]
            for c in found
        ],
    )
    click.echo(f"{len(found)} campaign(s)", err=True)


@campaigns.command("show")
@click.argument("campaign_id")
@json_option
@click.pass_context
def show_campaign(ctx: click.Context, campaign_id: str, as_json: bool) -> None:
    """One campaign, with its tiers, limits and reward."""
    campaign = get(ctx, GetCampaignHandler)(GetCampaign(CampaignId(campaign_id)), actor=CONSOLE)
    if as_json:
        emit_data(campaign_data(campaign))
    else:
        click.echo(f"campaign {campaign.id}: {campaign.name}")
        _describe_campaign(campaign)


# ---------------------------------------------------------------- groups


@groupbuy.command("groups")
@click.argument("campaign_id")
@click.option("--community", help="Only the groups of this community id.")
@click.option("--status", type=click.Choice([s.value for s in GroupStatus]))
@json_option
@click.pass_context
def list_groups(
    ctx: click.Context, campaign_id: str, community: str | None, status: str | None, as_json: bool
) -> None:
    """A campaign's groups, newest first."""
    views = get(ctx, ListGroupsHandler)(
        ListGroups(
            CampaignId(campaign_id),
            community_id=CommunityId(community) if community else None,
            status=GroupStatus(status) if status else None,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_data([view_data(v) for v in views])
        return
    table(
        [
            "GROUP",
            "STATUS",
            "HEADS",
            "MIN",
            "MAX",
            "PRICE",
            "DEADLINE",
            "INVITE",
            "LEADER",
            "POINT",
        ],
        [
            [
                v.group.id,
                v.group.status.value,
                str(v.heads),
                str(v.campaign.min_heads),
                str(v.campaign.max_heads),
                _price(v),
                at(v.group.deadline),
                v.group.invite_code,
                v.group.leader_id,
                v.group.pickup_point_id,
            ]
            for v in views
        ],
    )
    click.echo(f"{len(views)} group(s)", err=True)


def _one_group(group_id: str | None, invite: str | None) -> None:
    if (group_id is None) == (invite is None):
        raise click.UsageError("give a GROUP_ID or --invite CODE")


@groupbuy.command("show")
@click.argument("group_id", required=False)
@click.option("--invite", help="Find the group by its invite code instead.")
@json_option
@click.pass_context
def show_group(ctx: click.Context, group_id: str | None, invite: str | None, as_json: bool) -> None:
    """One group's progress: heads, price now and at the next tier, time left, members."""
    _one_group(group_id, invite)
    view = get(ctx, GetGroupHandler)(
        GetGroup(group_id=GroupBuyId(group_id) if group_id else None, invite_code=invite),
        actor=CONSOLE,
    )
    if as_json:
        emit_data(view_data(view))
        return
    g, c = view.group, view.campaign
    click.echo(f"group {g.id} of campaign {c.id} ({c.name}): {g.status.value}")
    click.echo(
        f"  leader {g.leader_id}, community {g.community_id}, pickup at {g.pickup_point_id}, "
        f"invite code {g.invite_code}"
    )
    click.echo(f"  {g.heads} member(s); a group takes {c.min_heads} to {c.max_heads}")
    price = _price(view)
    if g.unit_price is not None:
        click.echo(f"  settled at {price} a unit; paid {c.upfront_price} up front")
    elif price:
        click.echo(f"  {price} a unit if it ended now; paid {c.upfront_price} up front")
    else:
        click.echo("  ended without a sale: every paid seat is refunded in full")
    tier = view.next_tier
    if view.needed_to_succeed and view.joinable:
        click.echo(f"  {view.needed_to_succeed} more to succeed")
    if tier is not None and view.joinable:
        click.echo(f"  {view.needed_for_next_tier} more for {tier.price} ({tier.min_heads}+)")
    left = _left(view)
    click.echo(f"  deadline {at(g.deadline)}" + (f" ({left})" if left else ""))
    table(
        ["RESIDENT", "QTY", "ORDER", "JOINED", "LEFT"],
        [
            [p.resident_id, str(p.quantity), p.order_id, at(p.joined_at), at(p.left_at)]
            for p in g.participants
        ],
    )


def _key(key: str | None) -> str:
    return key if key is not None else uuid.uuid4().hex


def _seat_done(seat: Seat, verb: str, as_json: bool) -> None:
    if as_json:
        emit_data(_seat_data(seat))
        return
    g, order = seat.group, seat.order
    click.echo(
        f"{verb} group {g.id} (invite code {g.invite_code}): {g.heads} member(s), "
        f"{g.status.value}, deadline {at(g.deadline)}"
    )
    line = order.lines[0]
    click.echo(
        f"  order {order.id}: {order.total} ({line.quantity} × {line.unit_price}), "
        f"{order.status.value}"
    )
    if seat.payment is not None:
        click.echo(f"  payment {seat.payment.payment_id} ({seat.payment.provider})")
    if order.status is OrderStatus.PENDING_PAYMENT:
        click.echo(f"  to be paid by {at(order.expires_at)}: shequ payments simulate {order.id}")


key_option = click.option(
    "--key", help="Idempotency key: the same key gives the same seat. Default: a new one."
)


@groupbuy.command("start")
@click.option("--campaign", "campaign_id", required=True, help="The campaign id.")
@click.option("--resident", required=True, help="The leader: a resident's account id.")
@click.option("--community", required=True, help="The resident's community id.")
@click.option("--point", required=True, help="The pickup point every member collects from.")
@click.option("--quantity", type=int, default=1, show_default=True, help="The leader's units.")
@key_option
@json_option
@click.pass_context
def start(
    ctx: click.Context,
    campaign_id: str,
    resident: str,
    community: str,
    point: str,
    quantity: int,
    key: str | None,
    as_json: bool,
) -> None:
    """Start a group for a resident, who leads it and takes the first seat."""
    seat = get(ctx, StartGroupHandler)(
        StartGroup(
            campaign_id=CampaignId(campaign_id),
            resident_id=AccountId(resident),
            community_id=CommunityId(community),
            pickup_point_id=point,
            quantity=quantity,
            idempotency_key=_key(key),
        ),
        actor=CONSOLE,
    )
    _seat_done(seat, "started", as_json)


@groupbuy.command("join")
@click.argument("group_id", required=False)
@click.option("--invite", help="Join by the group's invite code instead.")
@click.option("--resident", required=True, help="The resident's account id.")
@click.option("--quantity", type=int, default=1, show_default=True, help="Units.")
@key_option
@json_option
@click.pass_context
def join(
    ctx: click.Context,
    group_id: str | None,
    invite: str | None,
    resident: str,
    quantity: int,
    key: str | None,
    as_json: bool,
) -> None:
    """Take a seat in a group for a resident, at the campaign's up-front price."""
    _one_group(group_id, invite)
    seat = get(ctx, JoinGroupHandler)(
        JoinGroup(
            resident_id=AccountId(resident),
            quantity=quantity,
            idempotency_key=_key(key),
            group_id=GroupBuyId(group_id) if group_id else None,
            invite_code=invite,
        ),
        actor=CONSOLE,
    )
    _seat_done(seat, "joined", as_json)


@groupbuy.command("leave")
@click.argument("group_id")
@click.option("--resident", required=True, help="The member's account id.")
@json_option
@click.pass_context
def leave(ctx: click.Context, group_id: str, resident: str, as_json: bool) -> None:
    """Take a resident out of a group that has not succeeded yet; a paid seat is refunded."""
    group = get(ctx, LeaveGroupHandler)(
        LeaveGroup(GroupBuyId(group_id), AccountId(resident)), actor=CONSOLE
    )
    if as_json:
        emit_data(_group_data(group))
        return
    seat = next(p for p in reversed(group.participants) if p.resident_id == resident)
    click.echo(
        f"resident {resident} left group {group.id}; order {seat.order_id} cancelled "
        f"(refunded if it was paid); {group.heads} member(s) remain, "
        f"the group is {group.status.value}"
    )


@groupbuy.command("cancel")
@click.argument("group_id")
@click.option("--reason", required=True, help="Why (up to 200 characters).")
@json_option
@click.pass_context
def cancel(ctx: click.Context, group_id: str, reason: str, as_json: bool) -> None:
    """Call a group off: every member's order is cancelled and refunded in full."""
    done = get(ctx, CancelGroupHandler)(CancelGroup(GroupBuyId(group_id), reason), actor=CONSOLE)
    if as_json:
        emit_data(_settlement_data(done))
    else:
        click.echo(
            f"cancelled group {done.group_id}: {len(done.lines)} order(s), {done.refunded} refunded"
        )


# ---------------------------------------------------------------- for the scheduler


@groupbuy.command("settle")
@click.option(
    "--batch",
    default=100,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Groups per transaction.",
)
@json_option
@click.pass_context
def settle(ctx: click.Context, batch: int, as_json: bool) -> None:
    """Settle every group past its deadline, and give up seats nobody paid for in time.

    For a scheduler, every few minutes: safe to run in several processes at once, and to
    stop and run again.
    """
    advance, done_counting = counter("settled groups")

    def step(done: Settled) -> None:
        if advance is not None:
            advance(done.settled + done.failed)

    try:  # every batch commits on its own, and one that loses a race is retried
        done = get(ctx, SettleGroupsHandler)(
            SettleGroups(batch=batch), actor=CONSOLE, progress=step
        )
    finally:
        done_counting()
    if as_json:
        emit_data(_settled_data(done))
        return
    click.echo(
        f"{done.settled} group(s) settled, {done.failed} failed, {done.unpaid_seats} unpaid "
        f"seat(s) given up; {done.refunded} refunded, {done.commission} commission"
    )


def _plan_rows(plan: PurchasePlan) -> tuple[list[list[str]], list[list[str]]]:
    purchase = [
        [
            line.seller_id,
            line.sku_id,
            line.name,
            line.spec,
            str(line.units),
            str(line.groups),
            str(line.orders),
        ]
        for line in plan.lines
    ]
    distribution = [
        [
            line.pickup_point_id,
            line.sku_id,
            line.name,
            str(line.units),
            str(len(line.order_ids)),
            " ".join(line.order_ids),
        ]
        for line in plan.distribution
    ]
    return purchase, distribution


def _write_csv(out: IO[str], columns: Sequence[str], rows: list[list[str]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)


def _write_files(directory: Path, plan: PurchasePlan) -> list[Path]:
    purchase, distribution = _plan_rows(plan)
    day = plan.pickup_date.isoformat()
    written = []
    for name, columns, rows in (
        (f"purchase-{day}.csv", PURCHASE_COLUMNS, purchase),
        (f"distribution-{day}.csv", DISTRIBUTION_COLUMNS, distribution),
    ):
        target = directory / name
        partial = directory / f".{name}.partial"
        try:
            # UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese right
            with partial.open("w", encoding="utf-8-sig", newline="") as out:
                _write_csv(out, columns, rows)
            os.replace(partial, target)
        except OSError as e:
            raise click.BadParameter(
                f"cannot write {target}: {e.strerror}", param_hint="--out-dir"
            ) from e
        finally:
            partial.unlink(missing_ok=True)
        written.append(target)
    return written


@groupbuy.command("purchase-plan")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="The pickup date.",
)
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV on stdout: two sections.")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, exists=True, writable=True, path_type=Path),
    help="Write the two tables as CSV files in this folder instead.",
)
@click.pass_context
def purchase_plan(
    ctx: click.Context, day: dt.datetime, as_json: bool, as_csv: bool, out_dir: Path | None
) -> None:
    """What to buy from each supplier, and the distribution list (分拣单) per pickup point,
    for the settled groups of a pickup date."""
    if sum((as_json, as_csv, out_dir is not None)) > 1:
        raise click.UsageError("choose one of --json, --csv and --out-dir")
    plan = get(ctx, GetPurchasePlanHandler)(GetPurchasePlan(day.date()), actor=CONSOLE)
    if plan.unsettled:
        click.echo(
            f"{plan.unsettled} group(s) for {plan.pickup_date} are not settled yet and not "
            "counted: run `shequ groupbuy settle` after their deadline",
            err=True,
        )
    if as_json:
        emit_data(_plan_data(plan))
        return
    purchase, distribution = _plan_rows(plan)
    if out_dir is not None:
        for path in _write_files(out_dir, plan):
            click.echo(f"wrote {path}")
        return
    if as_csv:
        _write_csv(sys.stdout, PURCHASE_COLUMNS, purchase)
        click.echo()  # one empty line between the two sections
        _write_csv(sys.stdout, DISTRIBUTION_COLUMNS, distribution)
        return
    click.echo(
        f"purchase plan for pickup on {plan.pickup_date}: {plan.units} unit(s) of "
        f"{len(plan.lines)} SKU(s)"
    )
    table(["SELLER", "SKU", "NAME", "SPEC", "UNITS", "GROUPS", "ORDERS"], purchase)
    click.echo("distribution (分拣单):")
    table(["PICKUP POINT", "SKU", "NAME", "UNITS", "ORDERS", "ORDER IDS"], distribution)


@groupbuy.command("earnings")
@click.argument("leader_id")
@json_option
@click.pass_context
def earnings(ctx: click.Context, leader_id: str, as_json: bool) -> None:
    """A leader's commission ledger: one line per settled group."""
    found = get(ctx, GetLeaderEarningsHandler)(
        GetLeaderEarnings(AccountId(leader_id)), actor=CONSOLE
    )
    if as_json:
        emit_data(
            {
                "leader_id": found.leader_id,
                "total_fen": found.total.fen,
                "entries": [
                    {
                        "group_id": e.group_id,
                        "campaign_id": e.campaign_id,
                        "amount_fen": e.amount.fen,
                        "revenue_fen": e.revenue.fen,
                        "earned_at": moment(e.earned_at),
                    }
                    for e in found.entries
                ],
            }
        )
        return
    table(
        ["GROUP", "CAMPAIGN", "EARNED", "REVENUE", "COMMISSION"],
        [
            [e.group_id, e.campaign_id, at(e.earned_at), e.revenue.format(), e.amount.format()]
            for e in found.entries
        ],
    )
    click.echo(f"leader {found.leader_id}: {found.total} from {len(found.entries)} group(s)")
