"""The purchase plan and distribution list (分拣单) of a pickup date.

The settled groups whose campaign delivers on that date, added up: one purchase line per
SKU per supplier (the seller of the SKU's product) for the buyer, and for the warehouse
how many units of each SKU go to each pickup point, with the orders behind them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import UnitOfWork
from shequ.domain.groupbuy import GroupStatus
from shequ.domain.ids import OrderId, SellerId, SkuId

__all__ = [
    "DistributionLine",
    "GetPurchasePlan",
    "GetPurchasePlanHandler",
    "PurchaseLine",
    "PurchasePlan",
]


@attrs.frozen
class PurchaseLine:
    seller_id: SellerId
    sku_id: SkuId
    name: str
    spec: str
    units: int
    groups: int
    orders: int


@attrs.frozen
class DistributionLine:
    pickup_point_id: str
    sku_id: SkuId
    name: str
    units: int
    order_ids: tuple[OrderId, ...]


@attrs.frozen
class PurchasePlan:
    """``unsettled``: groups for the date still open or not yet settled; their units are
    not in the plan until ``shequ groupbuy settle`` has run past their deadline."""

    pickup_date: dt.date
    lines: tuple[PurchaseLine, ...]
    distribution: tuple[DistributionLine, ...]
    unsettled: int

    @property
    def units(self) -> int:
        return sum(line.units for line in self.lines)


@attrs.frozen
class GetPurchasePlan:
    pickup_date: dt.date


class GetPurchasePlanHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: GetPurchasePlan, *, actor: Actor) -> PurchasePlan:
        self._policy.require(actor, Permission.MANAGE_GROUP_BUYS)
        units: defaultdict[SkuId, int] = defaultdict(int)
        groups: defaultdict[SkuId, int] = defaultdict(int)
        orders: defaultdict[SkuId, int] = defaultdict(int)
        at_point: defaultdict[tuple[str, SkuId], list[tuple[OrderId, int]]] = defaultdict(list)
        unsettled = 0
        with self._uow as uow:
            for campaign in uow.campaigns.for_pickup_on(query.pickup_date):
                sku = campaign.sku_id
                for group in uow.group_buys.of_campaign(campaign.id):
                    if group.status in (GroupStatus.OPEN, GroupStatus.SUCCEEDED):
                        unsettled += 1
                    if group.status is not GroupStatus.SETTLED:
                        continue
                    groups[sku] += 1
                    for seat in group.members:
                        units[sku] += seat.quantity
                        orders[sku] += 1
                        at_point[(group.pickup_point_id, sku)].append(
                            (seat.order_id, seat.quantity)
                        )
            offers = uow.skus.offers(list(units))
        lines = sorted(
            (
                PurchaseLine(
                    seller_id=offers[sku].seller_id,
                    sku_id=sku,
                    name=offers[sku].name,
                    spec=offers[sku].spec,
                    units=units[sku],
                    groups=groups[sku],
                    orders=orders[sku],
                )
                for sku in units
            ),
            key=lambda line: (line.seller_id, line.sku_id),
        )
        distribution = tuple(
            DistributionLine(
                pickup_point_id=point,
                sku_id=sku,
                name=offers[sku].name,
                units=sum(n for _, n in seats),
                order_ids=tuple(sorted(order_id for order_id, _ in seats)),
            )
            for (point, sku), seats in sorted(at_point.items())
        )
        return PurchasePlan(query.pickup_date, tuple(lines), distribution, unsettled)
