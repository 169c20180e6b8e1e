"""Settlement: groups past their deadline are finalised, and seats nobody paid for are
given up.

``shequ groupbuy settle`` runs :class:`SettleGroupsHandler` from a scheduler. It works
campaign by campaign: the campaign's row is locked, then a batch of its due groups, and
each group's end (final price, refunds of differences or of everything, orders released
to fulfilment, the leader's commission) is written in that one transaction with its
events. Two processes at once take turns on the campaign and the second finds nothing
left to do; a crash loses only the batch in flight, which the next run settles. Refunds
are recorded in the transaction and sent after it; one that cannot be sent waits for
``shequ payments retry-refunds``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import attrs

from shequ.application.groupbuy.groups import end_seats, send_refunds
from shequ.application.payments.refunds import RefundPayer
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import InvalidInput
from shequ.domain.groupbuy import GroupBuy, GroupBuyCampaign, GroupStatus
from shequ.domain.ids import CampaignId, GroupBuyId, OrderId, RefundId, new_id
from shequ.domain.money import Money
from shequ.domain.ordering import OrderStatus

__all__ = ["SettleGroups", "SettleGroupsHandler", "Settled"]

log = logging.getLogger(__name__)


@attrs.frozen
class SettleGroups:
    batch: int = 100  # groups per transaction


@attrs.frozen
class Settled:
    """What one run did."""

    settled: int = 0  # succeeded groups finalised at their tier
    failed: int = 0  # groups short of their minimum: everyone refunded
    unpaid_seats: int = 0  # seats given up because their order was not paid in time
    refunded: Money = Money(0)  # recorded for the payments to send back
    commission: Money = Money(0)  # entered in the leaders' ledger

    def __add__(self, other: Settled) -> Settled:
        return Settled(
            self.settled + other.settled,
            self.failed + other.failed,
            self.unpaid_seats + other.unpaid_seats,
            self.refunded + other.refunded,
            self.commission + other.commission,
        )


class SettleGroupsHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, payer: RefundPayer) -> None:
        self._uow, self._clock, self._policy, self._payer = uow, clock, policy, payer

    def __call__(
        self,
        cmd: SettleGroups,
        *,
        actor: Actor,
        progress: Callable[[Settled], None] | None = None,
    ) -> Settled:
        self._policy.require(actor, Permission.MANAGE_GROUP_BUYS)
        if type(cmd.batch) is not int or not 1 <= cmd.batch <= 10_000:
            raise InvalidInput("batch is 1 to 10000", field="batch")
        done = self._unpaid_seats()
        with self._uow as uow:
            campaigns = uow.group_buys.campaigns_to_settle(self._clock.now())
        for campaign_id in campaigns:
            while True:
                step, refunds = retry_on_conflict(
                    functools.partial(self._batch, campaign_id, cmd.batch)
                )
                send_refunds(self._payer, refunds)
                if not (step.settled or step.failed):
                    break
                done += step
                if progress is not None:
                    progress(step)
        return done

    def _unpaid_seats(self) -> Settled:
        """Orders of open groups past their payment deadline: the order expires and the
        seat and its units go back, so that a neighbour can have them."""
        with self._uow as uow:  # read the candidates; left without commit, nothing is held
            due = [
                (o.id, o.group_id)
                for o in uow.orders.due_to_expire(self._clock.now(), 10_000, grouped=True)
            ]
        given_up = 0
        for order_id, group_id in due:
            if group_id is not None and retry_on_conflict(
                functools.partial(self._give_up, order_id, group_id)
            ):
                given_up += 1
        return Settled(unpaid_seats=given_up)

    def _give_up(self, order_id: OrderId, group_id: GroupBuyId) -> bool:
        with self._uow as uow:
            found = uow.group_buys.get(group_id)
            campaign = uow.campaigns.get_for_update(found.campaign_id)
            group = uow.group_buys.get_for_update(group_id)
            order = uow.orders.get_for_update(order_id)
            now = self._clock.now()
            if order.status is not OrderStatus.PENDING_PAYMENT or now < order.expires_at:
                return False  # paid, or dealt with, since it was read
            order.expire(now=now)
            order.release_from_group()
            seat = group.drop_unpaid(campaign, order_id, now=now)
            if seat is not None:
                campaign.return_stock(seat.quantity)
            uow.commit()
        return seat is not None

    def _batch(self, campaign_id: CampaignId, size: int) -> tuple[Settled, list[RefundId]]:
        now = self._clock.now()
        done, refunds = Settled(), list[RefundId]()
        with self._uow as uow:
            campaign = uow.campaigns.get_for_update(campaign_id)
            for group in uow.group_buys.due_to_settle(now, size, campaign_id):
                step, back = self._settle(uow, campaign, group)
                done, refunds = done + step, refunds + back
            uow.commit()
        return done, refunds

    def _settle(
        self, uow: UnitOfWork, campaign: GroupBuyCampaign, group: GroupBuy
    ) -> tuple[Settled, list[RefundId]]:
        now = self._clock.now()
        unpaid = 0
        for seat in list(group.members):  # nobody may pay for a seat once its group ends
            order = uow.orders.get_for_update(seat.order_id)
            if order.status is OrderStatus.PENDING_PAYMENT:
                order.cancel(RefundId(new_id()), now=now, reason="not paid by the deadline")
                order.release_from_group()
                group.drop_unpaid(campaign, order.id, now=now)
                campaign.return_stock(seat.quantity)
                unpaid += 1
        if group.status not in (GroupStatus.OPEN, GroupStatus.SUCCEEDED):
            return Settled(failed=1, unpaid_seats=unpaid), []  # nobody was left
        settlement = group.settle(campaign, now=now)
        if settlement.status is not GroupStatus.SETTLED:
            ended, back = end_seats(uow, campaign, settlement, now=now, reason="the group failed")
            return Settled(failed=1, unpaid_seats=unpaid, refunded=ended.refunded), back
        refunds: list[RefundId] = []
        for line in settlement.lines:
            order = uow.orders.get(line.order_id)  # locked by the loop above
            order.release_from_group()
            if line.refund.fen:
                refund = order.give_back_difference(
                    RefundId(new_id()),
                    line.refund,
                    now=now,
                    note=f"group {group.id} settled at {settlement.unit_price} a unit",
                )
                uow.refunds.add(refund)
                refunds.append(refund.id)
        entry = group.commission_entry(campaign, settlement)
        if entry is not None:
            uow.commissions.add(entry)
        return (
            Settled(
                settled=1,
                unpaid_seats=unpaid,
                refunded=settlement.refunded,
                commission=settlement.commission,
            ),
            refunds,
        )
