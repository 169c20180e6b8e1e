"""Request bodies and views of group buying (社区团购): campaigns, groups, seats,
settlement, purchase plans and leaders' earnings.

Money is integer fen in fields named ``*_fen``, each with a display string beside it
(``price_fen`` and ``price``), as in ordering. Request bodies refuse unknown fields and
floats.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, StrictBool, StrictInt, StrictStr

from shequ.application.groupbuy.groups import Seat
from shequ.application.groupbuy.plan import PurchasePlan
from shequ.application.groupbuy.queries import Earnings, GroupView
from shequ.application.groupbuy.settle import Settled
from shequ.domain.groupbuy import (
    GroupBuy,
    GroupBuyCampaign,
    LeaderReward,
    PriceTier,
    RewardKind,
    Settlement,
)
from shequ.domain.ids import AccountId
from shequ.domain.money import Money
from shequ.domain.payments import Channel
from shequ.entrypoints.http.deps import Input, Output
from shequ.entrypoints.http.ordering_models import amount
from shequ.entrypoints.http.payments import PaymentIntentOut

__all__ = [
    "CampaignIn",
    "CampaignOut",
    "EarningsOut",
    "GroupCancelIn",
    "GroupOut",
    "JoinIn",
    "LeaveIn",
    "LeftGroupOut",
    "PurchasePlanOut",
    "SeatOut",
    "SettleIn",
    "SettledOut",
    "SettlementOut",
    "StartGroupIn",
]


# ---------------------------------------------------------------- request bodies


class TierIn(Input):
    """From ``min_heads`` people on, each pays ``price_fen`` a unit."""

    min_heads: StrictInt
    price_fen: StrictInt

    def to_domain(self) -> PriceTier:
        return PriceTier(self.min_heads, Money(self.price_fen))


class RewardIn(Input):
    """``leader_price``: the leader pays ``leader_price_fen`` a unit; ``commission``: the
    leader earns ``commission_bp`` basis points (500 = 5 %) of the group's net revenue."""

    kind: RewardKind
    leader_price_fen: StrictInt | None = None
    commission_bp: StrictInt = 0

    def to_domain(self) -> LeaderReward:
        price = None if self.leader_price_fen is None else Money(self.leader_price_fen)
        return LeaderReward(self.kind, leader_price=price, commission_bp=self.commission_bp)


class CampaignIn(Input):
    name: StrictStr
    sku_id: StrictStr
    tiers: list[TierIn] = Field(
        max_length=10, description="Up in people and down in price; the first is paid up front."
    )
    min_heads: StrictInt
    max_heads: StrictInt
    starts_at: dt.datetime = Field(description="With a time zone.")
    ends_at: dt.datetime = Field(description="With a time zone.")
    group_hours: StrictInt
    per_resident_limit: StrictInt
    stock: StrictInt
    community_ids: list[StrictStr] = Field(max_length=1000)
    reward: RewardIn
    pickup_date: dt.date
    virtual_success_percent: StrictInt | None = None
    many_groups_per_leader: StrictBool = False


class StartGroupIn(Input):
    community_id: StrictStr
    pickup_point_id: StrictStr
    quantity: StrictInt = 1
    channel: Channel = Channel.SANDBOX


class JoinIn(Input):
    quantity: StrictInt = 1
    channel: Channel = Channel.SANDBOX


class LeaveIn(Input):
    resident_id: StrictStr | None = Field(
        default=None, description="Operators: the member to take out. Absent: yourself."
    )


class GroupCancelIn(Input):
    reason: StrictStr


class SettleIn(Input):
    batch: StrictInt = 100


# ---------------------------------------------------------------- views


def _utc(moment: dt.datetime) -> dt.datetime:
    """A campaign keeps its window in the zone it was given: the API answers in UTC."""
    return moment.astimezone(dt.UTC)


class TierOut(Output):
    min_heads: int
    price_fen: int
    price: str

    @classmethod
    def of(cls, tier: PriceTier) -> TierOut:
        return cls(min_heads=tier.min_heads, **amount("price", tier.price))


class RewardOut(Output):
    kind: str
    leader_price_fen: int | None
    leader_price: str | None
    commission_bp: int


class CampaignOut(Output):
    id: str
    name: str
    sku_id: str
    tiers: list[TierOut]
    upfront_price_fen: int = Field(description="What everyone pays on joining.")
    upfront_price: str
    min_heads: int
    max_heads: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    group_hours: int
    per_resident_limit: int
    stock: int
    stock_taken: int = Field(description="Units the campaign's groups hold.")
    community_ids: list[str]
    reward: RewardOut
    pickup_date: dt.date
    virtual_success_percent: int | None
    many_groups_per_leader: bool
    created_at: dt.datetime
    version: int

    @classmethod
    def of(cls, c: GroupBuyCampaign) -> CampaignOut:
        return cls(
            id=c.id,
            name=c.name,
            sku_id=c.sku_id,
            tiers=[TierOut.of(t) for t in c.tiers],
            **amount("upfront_price", c.upfront_price),
            min_heads=c.min_heads,
            max_heads=c.max_heads,
            starts_at=_utc(c.starts_at),
            ends_at=_utc(c.ends_at),
            group_hours=c.group_hours,
            per_resident_limit=c.per_resident_limit,
            stock=c.stock,
            stock_taken=c.stock_taken,
            community_ids=list(c.community_ids),
            reward=RewardOut(
                kind=c.reward.kind.value,
                **amount("leader_price", c.reward.leader_price),
                commission_bp=c.reward.commission_bp,
            ),
            pickup_date=c.pickup_date,
            virtual_success_percent=c.virtual_success_percent,
            many_groups_per_leader=c.many_groups_per_leader,
            created_at=c.created_at,
            version=c.version,
        )


class MemberOut(Output):
    resident_id: str | None = Field(
        description="Shown to operators of the group's community and admins only."
    )
    mine: bool = Field(description="The signed-in account's own seat.")
    quantity: int
    unit_price_fen: int = Field(description="Paid up front, a unit.")
    unit_price: str
    joined_at: dt.datetime


class GroupOut(Output):
    """A group's progress as of the request."""

    id: str
    campaign_id: str
    community_id: str
    leader_id: str
    invite_code: str
    pickup_point_id: str
    status: str
    started_at: dt.datetime
    deadline: dt.datetime
    settled_at: dt.datetime | None
    heads: int
    min_heads: int
    max_heads: int
    needed_to_succeed: int
    next_tier: TierOut | None
    needed_for_next_tier: int | None
    current_price_fen: int = Field(
        description="The price the group settles (or settled) at: the tier its heads reach."
    )
    current_price: str
    seconds_left: int
    joinable: bool
    members: list[MemberOut]
    version: int

    @classmethod
    def of(cls, view: GroupView, *, show_ids: bool, viewer: AccountId | None) -> GroupOut:
        g, c = view.group, view.campaign
        tier = view.next_tier
        return cls(
            id=g.id,
            campaign_id=g.campaign_id,
            community_id=g.community_id,
            leader_id=g.leader_id,
            invite_code=g.invite_code,
            pickup_point_id=g.pickup_point_id,
            status=g.status.value,
            started_at=g.started_at,
            deadline=_utc(g.deadline),
            settled_at=g.settled_at,
            heads=view.heads,
            min_heads=c.min_heads,
            max_heads=c.max_heads,
            needed_to_succeed=view.needed_to_succeed,
            next_tier=None if tier is None else TierOut.of(tier),
            needed_for_next_tier=view.needed_for_next_tier,
            **amount("current_price", view.current_price),
            seconds_left=view.seconds_left,
            joinable=view.joinable,
            members=[
                MemberOut(
                    resident_id=p.resident_id if show_ids else None,
                    mine=viewer is not None and p.resident_id == viewer,
                    quantity=p.quantity,
                    **amount("unit_price", p.unit_price),
                    joined_at=p.joined_at,
                )
                for p in g.members
            ],
            version=g.version,
        )


class SeatOrderOut(Output):
    id: str
    status: str
    total_fen: int
    total: str
    expires_at: dt.datetime = Field(description="Unpaid by then, the seat is given up.")


class SeatOut(Output):
    """A seat taken: the group, the order that holds the seat, and the payment to pay it
    with (``null`` when the provider could not be asked, or the order is paid already:
    pay it with ``POST /v1/orders/{order_id}/payment``)."""

    group: GroupOut
    order: SeatOrderOut
    payment: PaymentIntentOut | None

    @classmethod
    def of(cls, seat: Seat, view: GroupView, *, show_ids: bool, viewer: AccountId) -> SeatOut:
        o = seat.order
        return cls(
            group=GroupOut.of(view, show_ids=show_ids, viewer=viewer),
            order=SeatOrderOut(
                id=o.id, status=o.status.value, **amount("total", o.total), expires_at=o.expires_at
            ),
            payment=None if seat.payment is None else PaymentIntentOut.of(seat.payment),
        )


class LeftGroupOut(Output):
    """The group after a member left, and the seat given up: its order is cancelled, and
    refunded in full when it was paid (see ``GET /v1/orders/{order_id}``)."""

    group_id: str
    status: str
    heads: int
    leader_id: str
    resident_id: str
    order_id: str
    quantity: int
    left_at: dt.datetime

    @classmethod
    def of(cls, group: GroupBuy, resident_id: AccountId) -> LeftGroupOut:
        left_at, seat = max(
            (
                (p.left_at, p)
                for p in group.participants
                if p.resident_id == resident_id and p.left_at is not None
            ),
            key=lambda pair: pair[0],
        )
        return cls(
            group_id=group.id,
            status=group.status.value,
            heads=group.heads,
            leader_id=group.leader_id,
            resident_id=resident_id,
            order_id=seat.order_id,
            quantity=seat.quantity,
            left_at=left_at,
        )


class SettlementLineOut(Output):
    resident_id: str
    order_id: str
    quantity: int
    paid_fen: int
    paid: str
    net_fen: int = Field(description="Kept.")
    net: str
    refund_fen: int = Field(description="Given back.")
    refund: str


class SettlementOut(Output):
    group_id: str
    status: str
    unit_price_fen: int | None
    unit_price: str | None
    lines: list[SettlementLineOut]
    refunded_fen: int
    refunded: str
    commission_fen: int
    commission: str

    @classmethod
    def of(cls, s: Settlement) -> SettlementOut:
        return cls(
            group_id=s.group_id,
            status=s.status.value,
            **amount("unit_price", s.unit_price),
            lines=[
                SettlementLineOut(
                    resident_id=x.resident_id,
                    order_id=x.order_id,
                    quantity=x.quantity,
                    **amount("paid", x.paid),
                    **amount("net", x.net),
                    **amount("refund", x.refund),
                )
                for x in s.lines
            ],
            **amount("refunded", s.refunded),
            **amount("commission", s.commission),
        )


class SettledOut(Output):
    """What one settlement run did."""

    settled: int = Field(description="Succeeded groups finalised at their tier.")
    failed: int = Field(description="Groups short of their minimum: everyone refunded.")
    unpaid_seats: int = Field(description="Seats given up: their order was not paid in time.")
    refunded_fen: int
    refunded: str
    commission_fen: int = Field(description="Entered in the leaders' ledger.")
    commission: str

    @classmethod
    def of(cls, done: Settled) -> SettledOut:
        return cls(
            settled=done.settled,
            failed=done.failed,
            unpaid_seats=done.unpaid_seats,
            **amount("refunded", done.refunded),
            **amount("commission", done.commission),
        )


class PurchaseLineOut(Output):
    seller_id: str
    sku_id: str
    name: str
    spec: str
    units: int
    groups: int
    orders: int


class DistributionLineOut(Output):
    pickup_point_id: str
    sku_id: str
    name: str
    units: int
    order_ids: list[str]


class PurchasePlanOut(Output):
    """分拣单: the settled groups whose goods reach the pickup points on ``pickup_date``."""

    pickup_date: dt.date
    units: int
    lines: list[PurchaseLineOut]
    distribution: list[DistributionLineOut]
    unsettled: int = Field(
        description="Groups for the date not settled yet; their units are not in the plan."
    )

    @classmethod
    def of(cls, plan: PurchasePlan) -> PurchasePlanOut:
        return cls(
            pickup_date=plan.pickup_date,
            units=plan.units,
            lines=[
                PurchaseLineOut(
                    seller_id=x.seller_id,
                    sku_id=x.sku_id,
                    name=x.name,
                    spec=x.spec,
                    units=x.units,
                    groups=x.groups,
                    orders=x.orders,
                )
                for x in plan.lines
            ],
            distribution=[
                DistributionLineOut(
                    pickup_point_id=d.pickup_point_id,
                    sku_id=d.sku_id,
                    name=d.name,
                    units=d.units,
                    order_ids=list(d.order_ids),
                )
                for d in plan.distribution
            ],
            unsettled=plan.unsettled,
        )


class CommissionOut(Output):
    group_id: str
    campaign_id: str
    amount_fen: int
    amount: str
    revenue_fen: int = Field(description="The group's net revenue the commission is a share of.")
    revenue: str
    earned_at: dt.datetime


class EarningsOut(Output):
    leader_id: str
    entries: list[CommissionOut]
    total_fen: int
    total: str

    @classmethod
    def of(cls, earnings: Earnings) -> EarningsOut:
        return cls(
            leader_id=earnings.leader_id,
            entries=[
                CommissionOut(
                    group_id=e.group_id,
                    campaign_id=e.campaign_id,
                    **amount("amount", e.amount),
                    **amount("revenue", e.revenue),
                    earned_at=e.earned_at,
                )
                for e in earnings.entries
            ],
            **amount("total", earnings.total),
        )
