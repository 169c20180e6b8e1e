"""Starting, joining and leaving groups (团), and calling one off.

Every change to a group takes its campaign's row lock first, then the group's, then its
orders': one order everywhere, so joins, leaves, settlement and cancellation never
deadlock, and the campaign's stock, the group's seats and each resident's limit are
checked and taken inside the transaction that holds them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from collections.abc import Callable

import attrs

from shequ.application.ordering.rules import OrderingRules, check_resident
from shequ.application.payments.providers import PaymentProviders
from shequ.application.payments.refunds import RefundPayer
from shequ.application.payments.start import StartPayment, StartPaymentHandler
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, PaymentIntent, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import (
    CampaignNotRunning,
    Duplicate,
    GroupBuyLimitExceeded,
    GroupBuyNotFound,
    IdempotencyKeyReused,
    InvalidInput,
    ShequError,
)
from shequ.domain.groupbuy import GroupBuy, GroupBuyCampaign, GroupStatus, Settlement
from shequ.domain.identity import Role
from shequ.domain.ids import (
    AccountId,
    CampaignId,
    CommunityId,
    GroupBuyId,
    OrderId,
    PickupPointId,
    RefundId,
    new_id,
)
from shequ.domain.money import Money
from shequ.domain.ordering import (
    Delivery,
    Fulfilment,
    LinePrice,
    Order,
    OrderLine,
    OrderStatus,
    PriceBreakdown,
)
from shequ.domain.payments import Channel

__all__ = [
    "INVITE_ALPHABET",
    "CancelGroup",
    "CancelGroupHandler",
    "JoinGroup",
    "JoinGroupHandler",
    "LeaveGroup",
    "LeaveGroupHandler",
    "Seat",
    "StartGroup",
    "StartGroupHandler",
    "end_seats",
    "send_refunds",
]

log = logging.getLogger(__name__)

INVITE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud, typed by hand
_JOINABLE = (GroupStatus.OPEN, GroupStatus.SUCCEEDED)


def _invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(8))


@attrs.frozen
class Seat:
    """A place in a group: the order that holds it, and the payment to pay it with
    (``None`` when the provider could not be asked: pay the order again later)."""

    group: GroupBuy
    order: Order
    payment: PaymentIntent | None


@attrs.frozen
class StartGroup:
    """A resident starts a group, leads it and joins it first with ``quantity`` units;
    everyone's goods go to ``pickup_point_id``."""

    campaign_id: CampaignId
    resident_id: AccountId
    community_id: CommunityId
    pickup_point_id: str
    quantity: int
    idempotency_key: str
    channel: Channel = Channel.SANDBOX


@attrs.frozen
class JoinGroup:
    """Join by the group's id or by its invite code (one of the two)."""

    resident_id: AccountId
    quantity: int
    idempotency_key: str
    group_id: GroupBuyId | None = None
    invite_code: str | None = None
    channel: Channel = Channel.SANDBOX


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= 64 or not key.isprintable():
        raise InvalidInput("an idempotency key is 1 to 64 printable characters", field="key")


def _digest(**body: object) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class _Seating:
    """What starting and joining share: who may buy, the limits, the order, the payment."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: Policy,
        rules: OrderingRules,
        pay: StartPaymentHandler,
        providers: PaymentProviders,
    ) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy
        self._rules, self._pay, self._providers = rules, pay, providers

    def _check_buyer(
        self, uow: UnitOfWork, actor: Actor, resident_id: AccountId, community_id: CommunityId
    ) -> None:
        """A resident of the group's community, for themselves; or its operators (and the
        platform) for a resident of that community."""
        if actor.account_id is not None and actor.account_id == resident_id:
            if self._policy.allows(
                actor, Permission.BUY, community_id=community_id, owner=resident_id
            ):
                return
            if any(m.role is Role.RESIDENT for m in actor.memberships):
                raise CampaignNotRunning(
                    f"you are not a resident of community {community_id}, where this group runs",
                    community_id=community_id,
                )
            self._policy.require(  # raises: only residents buy
                actor, Permission.BUY, community_id=community_id, owner=resident_id
            )
        self._policy.require(actor, Permission.MANAGE_GROUP_BUYS, community_id=community_id)
        check_resident(uow, resident_id, community_id)

    def _placed(
        self, uow: UnitOfWork, resident_id: AccountId, key: str, digest: str
    ) -> Order | None:
        placed = uow.orders.find_by_key(resident_id, key)
        if placed is not None and (placed.request_digest != digest or placed.group_id is None):
            raise IdempotencyKeyReused(
                "this idempotency key was used for another request", order_id=placed.id
            )
        return placed

    def _order(
        self,
        uow: UnitOfWork,
        campaign: GroupBuyCampaign,
        held: int,
        order_id: OrderId,
        group_id: GroupBuyId,
        resident_id: AccountId,
        community_id: CommunityId,
        pickup_point_id: str,
        quantity: int,
        deadline: dt.datetime,
        key: str,
        digest: str,
    ) -> Order:
        """Check the resident's limit (``held``: the units they hold in the campaign's
        other seats), take the campaign's stock and place the order."""
        if held + quantity > campaign.per_resident_limit:
            raise GroupBuyLimitExceeded(
                f"a resident buys at most {campaign.per_resident_limit} units in campaign "
                f"{campaign.id}; you hold {held}",
                campaign_id=campaign.id,
                field="quantity",
            )
        point = uow.pickup_points.get(PickupPointId(pickup_point_id))
        point.check_takes(community_id, campaign.pickup_date)
        campaign.take_stock(quantity)
        offer = uow.skus.offers([campaign.sku_id]).get(campaign.sku_id)
        if offer is None:
            raise CampaignNotRunning(
                f"the SKU of campaign {campaign.id} is gone", campaign_id=campaign.id
            )
        now = self._clock.now()
        unit = campaign.upfront_price
        amount = Money(unit.fen * quantity)
        line = LinePrice(campaign.sku_id, unit, quantity, amount, Money(0), amount)
        order = Order.place(
            id=order_id,
            resident_id=resident_id,
            community_id=community_id,
            delivery=Delivery(Fulfilment.PICKUP, pickup_point_id=pickup_point_id),
            lines=[
                OrderLine(
                    sku_id=offer.sku_id,
                    product_id=offer.product_id,
                    seller_id=offer.seller_id,
                    name=offer.name,
                    spec=offer.spec,
                    unit_price=unit,
                    quantity=quantity,
                    subtotal=amount,
                    discount=Money(0),
                    payable=amount,
                )
            ],
            breakdown=PriceBreakdown((line,), amount, Money(0), Money(0), Money(0), amount),
            grant_ids=(),
            now=now,
            pay_within=min(self._rules.pay_within, deadline - now),
            idempotency_key=key,
            request_digest=digest,
            group_id=group_id,
            pickup_date=campaign.pickup_date,
        )
        uow.orders.add(order)
        return order

    def _pay_for(self, seat: Seat, channel: Channel, key: str, actor: Actor) -> Seat:
        if seat.order.status is not OrderStatus.PENDING_PAYMENT:
            return seat
        try:
            intent = self._pay(StartPayment(seat.order.id, channel, key), actor=actor)
        except ShequError as e:  # the seat is taken and holds; its order can be paid again
            log.warning(
                "order %s of group %s waits for payment: %s", seat.order.id, seat.group.id, e
            )
            return seat
        return attrs.evolve(seat, payment=intent)


class StartGroupHandler(_Seating):
    def __call__(self, cmd: StartGroup, *, actor: Actor) -> Seat:
        _check_key(cmd.idempotency_key)
        self._providers.for_channel(cmd.channel)  # a seat nobody could pay is no seat
        digest = _digest(
            start=cmd.campaign_id,
            community=cmd.community_id,
            point=cmd.pickup_point_id,
            quantity=cmd.quantity,
        )

        def attempt() -> Seat:
            with self._uow as uow:
                self._check_buyer(uow, actor, cmd.resident_id, cmd.community_id)
                placed = self._placed(uow, cmd.resident_id, cmd.idempotency_key, digest)
                if placed is not None and placed.group_id is not None:
                    return Seat(uow.group_buys.get(placed.group_id), placed, None)
                campaign = uow.campaigns.get_for_update(cmd.campaign_id)
                now = self._clock.now()
                campaign.check_open(cmd.community_id, now)
                if not campaign.many_groups_per_leader and any(
                    g.leader_id == cmd.resident_id and g.status in _JOINABLE and now < g.deadline
                    for g in uow.group_buys.of_campaign(campaign.id)
                ):
                    raise GroupBuyLimitExceeded(
                        f"you lead an open group of campaign {campaign.id} already",
                        campaign_id=campaign.id,
                        field="resident_id",
                    )
                held = uow.group_buys.quantity_in_campaign(campaign.id, cmd.resident_id)
                group_id, order_id = GroupBuyId(new_id()), OrderId(new_id())
                deadline = min(now + dt.timedelta(hours=campaign.group_hours), campaign.ends_at)
                group = GroupBuy.start(
                    campaign,
                    id=group_id,
                    leader_id=cmd.resident_id,
                    community_id=cmd.community_id,
                    invite_code=_invite_code(),
                    pickup_point_id=cmd.pickup_point_id,
                    quantity=cmd.quantity,
                    order_id=order_id,
                    now=now,
                )
                order = self._order(
                    uow,
                    campaign,
                    held,
                    order_id,
                    group_id,
                    cmd.resident_id,
                    cmd.community_id,
                    cmd.pickup_point_id,
                    cmd.quantity,
                    deadline,
                    cmd.idempotency_key,
                    digest,
                )
                uow.group_buys.add(group)
                uow.commit()
            return Seat(group, order, None)

        seat = _with_retries(attempt)
        return self._pay_for(seat, cmd.channel, cmd.idempotency_key, actor)


class JoinGroupHandler(_Seating):
    """A resident joins an open group and pays the campaign's up-front price."""

    def __call__(self, cmd: JoinGroup, *, actor: Actor) -> Seat:
        _check_key(cmd.idempotency_key)
        self._providers.for_channel(cmd.channel)  # a seat nobody could pay is no seat
        if (cmd.group_id is None) == (cmd.invite_code is None):
            raise InvalidInput("join by a group's id or by its invite code", field="group_id")

        def attempt() -> Seat:
            with self._uow as uow:
                found = self._find(uow, cmd)
                digest = _digest(join=found.id, quantity=cmd.quantity)
                self._check_buyer(uow, actor, cmd.resident_id, found.community_id)
                placed = self._placed(uow, cmd.resident_id, cmd.idempotency_key, digest)
                if placed is not None:
                    return Seat(found, placed, None)
                campaign = uow.campaigns.get_for_update(found.campaign_id)
                group = uow.group_buys.get_for_update(found.id)
                now = self._clock.now()
                campaign.check_open(group.community_id, now)
                held = uow.group_buys.quantity_in_campaign(campaign.id, cmd.resident_id)
                order_id = OrderId(new_id())
                group.join(campaign, cmd.resident_id, cmd.quantity, order_id, now=now)
                order = self._order(
                    uow,
                    campaign,
                    held,
                    order_id,
                    group.id,
                    cmd.resident_id,
                    group.community_id,
                    group.pickup_point_id,
                    cmd.quantity,
                    group.deadline,
                    cmd.idempotency_key,
                    digest,
                )
                uow.commit()
            return Seat(group, order, None)

        seat = _with_retries(attempt)
        return self._pay_for(seat, cmd.channel, cmd.idempotency_key, actor)

    @staticmethod
    def _find(uow: UnitOfWork, cmd: JoinGroup) -> GroupBuy:
        if cmd.group_id is not None:
            return uow.group_buys.get(cmd.group_id)
        code = (cmd.invite_code or "").strip().upper()
        group = uow.group_buys.find_by_invite_code(code) if code.isalnum() else None
        if group is None:
            raise GroupBuyNotFound(f"no group has the invite code {code!r}", invite_code=code)
        return group


def _with_retries(attempt: Callable[[], Seat]) -> Seat:
    try:
        return retry_on_conflict(attempt)
    except Duplicate:  # the same key raced itself (or an invite code clash): once more
        return retry_on_conflict(attempt)


def end_seats(
    uow: UnitOfWork,
    campaign: GroupBuyCampaign,
    settlement: Settlement,
    *,
    now: dt.datetime,
    reason: str,
) -> tuple[Settlement, list[RefundId]]:
    """A group failed or was cancelled: each order is cancelled (a paid one refunded in
    full) and its units go back to the campaign. Returns the settlement as it happened
    (a seat never paid was paid nothing and gets nothing back) and the refunds to hand to
    the payments."""
    refunds: list[RefundId] = []
    lines = []
    for line in settlement.lines:
        order = uow.orders.get_for_update(line.order_id)
        back = Money(0)
        if not order.status.final:
            refund = order.cancel(RefundId(new_id()), now=now, reason=reason)
            order.release_from_group()
            campaign.return_stock(line.quantity)
            if refund is not None:
                uow.refunds.add(refund)
                refunds.append(refund.id)
                back = refund.amount
        lines.append(attrs.evolve(line, paid=back, net=Money(0), refund=back))
    return attrs.evolve(settlement, lines=tuple(lines)), refunds


def send_refunds(payer: RefundPayer, refund_ids: list[RefundId]) -> None:
    """Send refunds recorded in a committed transaction; one that fails waits for
    ``shequ payments retry-refunds``."""
    for refund_id in refund_ids:
        try:
            payer.pay_out(refund_id)
        except ShequError:  # recorded already: retry-refunds sends it
            log.exception("refund %s waits for retry-refunds", refund_id)


@attrs.frozen
class LeaveGroup:
    group_id: GroupBuyId
    resident_id: AccountId


class LeaveGroupHandler:
    """A member leaves an open group before it succeeds; a paid seat is refunded in full."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, payer: RefundPayer) -> None:
        self._uow, self._clock, self._policy, self._payer = uow, clock, policy, payer

    def __call__(self, cmd: LeaveGroup, *, actor: Actor) -> GroupBuy:
        def attempt() -> tuple[GroupBuy, list[RefundId]]:
            with self._uow as uow:
                found = uow.group_buys.get(cmd.group_id)
                if not self._policy.allows(actor, Permission.OWN_ORDER, owner=cmd.resident_id):
                    self._policy.require(
                        actor, Permission.MANAGE_GROUP_BUYS, community_id=found.community_id
                    )
                campaign = uow.campaigns.get_for_update(found.campaign_id)
                group = uow.group_buys.get_for_update(found.id)
                now = self._clock.now()
                seat = group.leave(cmd.resident_id, now=now)
                order = uow.orders.get_for_update(seat.order_id)
                campaign.return_stock(seat.quantity)
                refunds: list[RefundId] = []
                if not order.status.final:
                    refund = order.cancel(
                        RefundId(new_id()), now=now, reason=f"left group {group.id}"
                    )
                    order.release_from_group()
                    if refund is not None:
                        uow.refunds.add(refund)
                        refunds.append(refund.id)
                uow.commit()
            return group, refunds

        group, refunds = retry_on_conflict(attempt)
        send_refunds(self._payer, refunds)
        return group


@attrs.frozen
class CancelGroup:
    group_id: GroupBuyId
    reason: str


class CancelGroupHandler:
    """An operator calls a group off: every member is refunded what they paid."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, payer: RefundPayer) -> None:
        self._uow, self._clock, self._policy, self._payer = uow, clock, policy, payer

    def __call__(self, cmd: CancelGroup, *, actor: Actor) -> Settlement:
        def attempt() -> tuple[Settlement, list[RefundId]]:
            with self._uow as uow:
                found = uow.group_buys.get(cmd.group_id)
                self._policy.require(
                    actor, Permission.MANAGE_GROUP_BUYS, community_id=found.community_id
                )
                campaign = uow.campaigns.get_for_update(found.campaign_id)
                group = uow.group_buys.get_for_update(found.id)
                now = self._clock.now()
                settlement = group.cancel(cmd.reason, now=now)
                settlement, refunds = end_seats(
                    uow, campaign, settlement, now=now, reason=f"group {group.id} cancelled"
                )
                uow.commit()
            return settlement, refunds

        settlement, refunds = retry_on_conflict(attempt)
        send_refunds(self._payer, refunds)
        return settlement
