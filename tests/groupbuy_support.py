"""Shortcuts for group buying through the real use cases, on any container."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from shequ.adapters.payments import SandboxPaymentGateway
from shequ.application.groupbuy.campaigns import CreateCampaign, CreateCampaignHandler
from shequ.application.groupbuy.groups import (
    JoinGroup,
    JoinGroupHandler,
    Seat,
    StartGroup,
    StartGroupHandler,
)
from shequ.application.groupbuy.settle import Settled, SettleGroups, SettleGroupsHandler
from shequ.application.payments.notifications import ConfirmPayment, ConfirmPaymentHandler
from shequ.application.payments.providers import PaymentProviders
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import UnitOfWork
from shequ.domain.catalog import Community, Sku
from shequ.domain.groupbuy import GroupBuy, GroupBuyCampaign, LeaderReward, PriceTier
from shequ.domain.ids import GroupBuyId, OrderId
from shequ.domain.money import Money
from shequ.domain.ordering import Order
from tests.support import Shop

LADDER = (
    PriceTier(2, Money.parse("45.00")),
    PriceTier(5, Money.parse("42.00")),
    PriceTier(10, Money.parse("39.00")),
)


class GroupShop(Shop):
    """A shop with a rice SKU at ¥49.90 and campaigns for it."""

    def rice(self, *communities: Community) -> Sku:
        return self.sku(
            self.product(self.seller(), name="五常大米", category="粮油/大米"),
            spec="5kg/袋",
            price="49.90",
            communities=communities,
        )

    def campaign(self, sku: Sku, *communities: Community, **change: Any) -> GroupBuyCampaign:
        now = self.clock.now()
        values: dict[str, Any] = {
            "name": "五常大米 阶梯团",
            "sku_id": sku.id,
            "tiers": LADDER,
            "min_heads": 2,
            "max_heads": 20,
            "starts_at": now - dt.timedelta(minutes=1),
            "ends_at": now + dt.timedelta(days=3),
            "group_hours": 24,
            "per_resident_limit": 5,
            "stock": 1000,
            "community_ids": tuple(c.id for c in communities),
            "reward": LeaderReward.commission(500),
            "pickup_date": (now + dt.timedelta(days=4)).date(),
        }
        values.update(change)
        return self.app.get(CreateCampaignHandler)(CreateCampaign(**values), actor=CONSOLE)

    def start(
        self,
        actor: Actor,
        campaign: GroupBuyCampaign,
        community: Community,
        quantity: int = 1,
        *,
        point: str | None = None,
        key: str | None = None,
    ) -> Seat:
        assert actor.account_id is not None
        return self.app.get(StartGroupHandler)(
            StartGroup(
                campaign_id=campaign.id,
                resident_id=actor.account_id,
                community_id=community.id,
                pickup_point_id=point or self.points[community.id],
                quantity=quantity,
                idempotency_key=key or uuid.uuid4().hex,
            ),
            actor=actor,
        )

    def join(
        self,
        actor: Actor,
        group: GroupBuy | GroupBuyId,
        quantity: int = 1,
        *,
        key: str | None = None,
        invite_code: str | None = None,
    ) -> Seat:
        assert actor.account_id is not None
        group_id = group if isinstance(group, str) else group.id
        return self.app.get(JoinGroupHandler)(
            JoinGroup(
                resident_id=actor.account_id,
                quantity=quantity,
                idempotency_key=key or uuid.uuid4().hex,
                group_id=None if invite_code else group_id,
                invite_code=invite_code,
            ),
            actor=actor,
        )

    def pay_seat(self, seat: Seat) -> Order:
        """Pay the seat's payment through the sandbox, as the resident would."""
        assert seat.payment is not None
        gateway = self.app.get(PaymentProviders).get("sandbox")
        assert isinstance(gateway, SandboxPaymentGateway)
        body, headers = gateway.pay(seat.payment.payment_id)
        done = self.app.get(ConfirmPaymentHandler)(ConfirmPayment("sandbox", body, headers))
        assert done.order is not None
        return done.order

    def settle(self) -> Settled:
        return self.app.get(SettleGroupsHandler)(SettleGroups(), actor=CONSOLE)

    def group(self, group_id: GroupBuyId) -> GroupBuy:
        with self.app.get(UnitOfWork) as uow:
            return uow.group_buys.get(group_id)

    def stored_campaign(self, campaign: GroupBuyCampaign) -> GroupBuyCampaign:
        with self.app.get(UnitOfWork) as uow:
            return uow.campaigns.get(campaign.id)

    def stored_order(self, order_id: OrderId) -> Order:
        with self.app.get(UnitOfWork) as uow:
            return uow.orders.get(order_id)
