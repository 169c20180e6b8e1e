"""Builders shared by unit and integration tests."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import injector

from shequ import (
    AddSku,
    AddSkuHandler,
    CreateCommunity,
    CreateCommunityHandler,
    CreateProduct,
    CreateProductHandler,
    CreateSeller,
    CreateSellerHandler,
    Money,
    Settings,
    bootstrap,
)
from shequ.adapters.clock import FixedClock
from shequ.adapters.payments import SandboxPaymentGateway
from shequ.application.fulfilment.pickup import (
    ArriveAtPickupPoint,
    ArriveAtPickupPointHandler,
    CreatePickupPoint,
    CreatePickupPointHandler,
    VerifyPickupCode,
    VerifyPickupCodeHandler,
)
from shequ.application.fulfilment.slots import OpenDeliverySlots, OpenDeliverySlotsHandler
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.identity.addresses import AddAddress, AddAddressHandler
from shequ.application.ordering.checkout import OrderItem, PlaceOrder, PlaceOrderHandler
from shequ.application.ordering.orders import AdvanceOrder, AdvanceOrderHandler
from shequ.application.payments.notifications import ConfirmPayment, ConfirmPaymentHandler
from shequ.application.payments.start import StartPayment, StartPaymentHandler
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import Clock, PaymentGateway, UnitOfWork
from shequ.domain.catalog import Community, Product, Seller, SellerKind, Sku
from shequ.domain.fulfilment import Hours, OpeningHours, PickupPoint, PointKind
from shequ.domain.fulfilment.delivery import DeliverySlot
from shequ.domain.identity import Account, Membership, Role
from shequ.domain.ids import CommunityId, GrantId, PickupPointId
from shequ.domain.ordering import Delivery, Fulfilment, Order, OrderAction
from shequ.domain.routing import GeoPoint
from shequ.domain.values import CHINA_STANDARD_TIME


class ClockModule(injector.Module):
    def __init__(self, clock: FixedClock) -> None:
        self._clock = clock

    @injector.provider
    def clock(self) -> Clock:
        return self._clock


# fixed keys for tests: 32 bytes each, base64
TEST_KEYS = {
    "data_keys": "k1:" + base64.urlsafe_b64encode(b"d" * 32).decode(),
    "lookup_key": base64.urlsafe_b64encode(b"l" * 32).decode(),
    "password_profile": "cheap",
}


def settings(**values: object) -> Settings:
    """Settings for tests: test keys and cheap password hashing unless told otherwise."""
    return Settings(**{**TEST_KEYS, **values})  # type: ignore[arg-type]


def container(settings: Settings, clock: FixedClock) -> injector.Injector:
    return bootstrap(settings, ClockModule(clock))


class Catalog:
    """Shortcuts to build a catalog through the real use cases."""

    def __init__(self, app: injector.Injector, clock: FixedClock) -> None:
        self.app, self.clock = app, clock

    def community(self, name: str = "阳光花园", location: GeoPoint | None = None) -> Community:
        return self.app.get(CreateCommunityHandler)(
            CreateCommunity(name=name, city="杭州", location=location), actor=CONSOLE
        )

    def seller(self, name: str = "老王生鲜铺", community: Community | None = None) -> Seller:
        if community is None:
            return self.app.get(CreateSellerHandler)(
                CreateSeller(name=name, kind=SellerKind.PLATFORM), actor=CONSOLE
            )
        return self.app.get(CreateSellerHandler)(
            CreateSeller(name=name, community_id=community.id), actor=CONSOLE
        )

    def product(
        self,
        seller: Seller,
        name: str = "赣南脐橙",
        category: str = "生鲜/水果",
        *,
        later: dt.timedelta = dt.timedelta(seconds=1),
    ) -> Product:
        self.clock.advance(later)
        return self.app.get(CreateProductHandler)(
            CreateProduct(seller_id=seller.id, name=name, category=category), actor=CONSOLE
        )

    def sku(
        self,
        product: Product,
        spec: str = "5斤/箱",
        price: str = "29.90",
        stock: int = 10,
        *,
        on_sale: bool = True,
        communities: tuple[Community, ...] = (),
    ) -> Sku:
        self.clock.advance(dt.timedelta(milliseconds=1))  # SKUs list oldest first
        return self.app.get(AddSkuHandler)(
            AddSku(
                product_id=product.id,
                spec=spec,
                price=Money.parse(price),
                stock=stock,
                on_sale=on_sale,
                community_ids=tuple(c.id for c in communities),
            ),
            actor=CONSOLE,
        )


EVERY_DAY = OpeningHours.build(
    {
        day: [Hours(dt.time(0), dt.time(23, 59))]
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
)


def add_point(
    app: injector.Injector, community_id: str, point_id: str = "pp-1", *, capacity: int = 1000
) -> PickupPoint:
    """A pickup point open every day, for tests that make their community another way."""
    return app.get(CreatePickupPointHandler)(
        CreatePickupPoint(
            community_id=CommunityId(community_id),
            name="幸福便利店",
            kind=PointKind.CONVENIENCE_STORE,
            address="3幢底商",
            location=GeoPoint(30.27, 120.15),
            hours=EVERY_DAY,
            daily_capacity=capacity,
            point_id=PickupPointId(point_id),
        ),
        actor=CONSOLE,
    )


class Shop(Catalog):
    """Catalog shortcuts plus residents, orders and payments, through the real use cases.
    Each community it makes has a pickup point open every day: the first ``pp-1``, the
    next ``pp-2`` …; orders are collected at their community's point unless told."""

    phones = iter(range(13800000000, 13900000000))

    def __init__(self, app: injector.Injector, clock: FixedClock) -> None:
        super().__init__(app, clock)
        self.points: dict[str, str] = {}

    def community(self, name: str = "阳光花园", location: GeoPoint | None = None) -> Community:
        community = super().community(name, location)
        self.point(community)
        return community

    def point(
        self, community: Community, point_id: str | None = None, *, capacity: int = 1000
    ) -> PickupPoint:
        if point_id is None:  # the first free of pp-1, pp-2 … in this database
            with self.app.get(UnitOfWork) as uow:
                n = 1
                while uow.pickup_points.find(PickupPointId(f"pp-{n}")) is not None:
                    n += 1
            point_id = f"pp-{n}"
        point = add_point(self.app, community.id, point_id, capacity=capacity)
        self.points.setdefault(community.id, point.id)
        return point

    def resident(self, community: Community, role: Role = Role.RESIDENT) -> tuple[Account, Actor]:
        account = self.app.get(OpenAccountHandler)(
            OpenAccount(
                phone=str(next(self.phones)),
                name="张伟",
                memberships=(Membership(role, community.id),),
            ),
            actor=CONSOLE,
        )
        return account, Actor.of(account)

    def rider(self, community: Community) -> tuple[Account, Actor]:
        return self.resident(community, Role.RIDER)

    def slots(
        self,
        community: Community,
        *,
        capacity: int = 10,
        day: dt.date | None = None,
        first: dt.time = dt.time(14),
        last: dt.time = dt.time(20),
        minutes: int = 120,
    ) -> list[DeliverySlot]:
        """Delivery slots of the community, by default this afternoon and evening (the
        tests' clock says 10:00 in China)."""
        return self.app.get(OpenDeliverySlotsHandler)(
            OpenDeliverySlots(
                community.id,
                day or self.clock.now().astimezone(CHINA_STANDARD_TIME).date(),
                first,
                last,
                minutes,
                capacity,
            ),
            actor=CONSOLE,
        )

    def collect(self, order: Order) -> Order:
        """A packed pickup order arrives at its point and is handed over for its code."""
        point = PickupPointId(order.delivery.pickup_point_id or "")
        [ticket] = self.app.get(ArriveAtPickupPointHandler)(
            ArriveAtPickupPoint(point, (order.id,)), actor=CONSOLE
        )
        return self.app.get(VerifyPickupCodeHandler)(
            VerifyPickupCode(point, ticket.code), actor=CONSOLE
        )

    def packed(self, order: Order) -> Order:
        """Paid and packed."""
        self.pay(order)
        return self.app.get(AdvanceOrderHandler)(
            AdvanceOrder(order.id, OrderAction.PACK), actor=CONSOLE
        )

    def address(self, actor: Actor) -> str:
        address = self.app.get(AddAddressHandler)(
            AddAddress(recipient="张伟", phone="13912345678", detail="3幢2单元501"), actor=actor
        )
        return address.id

    def order(
        self,
        actor: Actor,
        community: Community,
        *items: tuple[Sku, int],
        delivery: Delivery | None = None,
        key: str | None = None,
        grant_ids: tuple[GrantId, ...] | None = (),
    ) -> Order:
        assert actor.account_id is not None
        return self.app.get(PlaceOrderHandler)(
            PlaceOrder(
                resident_id=actor.account_id,
                community_id=community.id,
                delivery=delivery
                or Delivery(Fulfilment.PICKUP, pickup_point_id=self.points[community.id]),
                idempotency_key=key or uuid.uuid4().hex,
                items=tuple(OrderItem(sku.id, quantity) for sku, quantity in items),
                grant_ids=grant_ids,
            ),
            actor=actor,
        )

    def pay(self, order: Order) -> Order:
        """Pay through the sandbox, as the resident would; the order as it then is."""
        gateway = self.app.get(PaymentGateway)
        assert isinstance(gateway, SandboxPaymentGateway)
        intent = self.app.get(StartPaymentHandler)(StartPayment(order.id), actor=CONSOLE)
        body, headers = gateway.pay(intent.payment_id)
        done = self.app.get(ConfirmPaymentHandler)(ConfirmPayment("sandbox", body, headers))
        assert done.order is not None
        return done.order
