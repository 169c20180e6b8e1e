"""In-memory storage: a faithful stand-in for the database in tests and embedding.

:class:`InMemoryStore` plays the database (one per application, shared by threads);
:class:`InMemoryUnitOfWork` plays a transaction. Repositories hand out copies, so a unit
of work left without commit changes nothing, and commit refuses a stale copy with
:class:`ConcurrentUpdate` as the SQL adapter does.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

import attrs

from shequ.application.catalog.search import ProductHit, ProductQuery, ProductSort
from shequ.application.ports import (
    AuditQuery,
    ComplaintQuery,
    EventPublisher,
    OrderQuery,
    OutboxMessage,
    PaymentQuery,
    ProviderQuery,
    RefundQuery,
    SkuOffer,
)
from shequ.domain.audit import AuditRecord
from shequ.domain.auth import RefreshSession, SignInCode, Throttle
from shequ.domain.catalog import Community, Product, Seller, Sku
from shequ.domain.community import Activity, ActivitySignUp, Announcement, SignUpStatus
from shequ.domain.complaints import Complaint
from shequ.domain.errors import (
    AccountNotFound,
    ActivityNotFound,
    AdapterError,
    AnnouncementNotFound,
    BoardNotFound,
    BookingNotFound,
    CampaignNotFound,
    CommentNotFound,
    CommunityNotFound,
    ComplaintNotFound,
    ConcurrentUpdate,
    CouponNotFound,
    DeliveryNotFound,
    DeliverySlotFull,
    DeliverySlotNotFound,
    Duplicate,
    GroupBuyNotFound,
    InsufficientStock,
    NotFound,
    OfferingNotFound,
    OrderNotFound,
    PaymentNotFound,
    PickupPointFull,
    PickupPointNotFound,
    PostNotFound,
    ProductNotFound,
    PromotionNotFound,
    ProviderNotFound,
    RefundNotFound,
    ReviewNotFound,
    SellerNotFound,
    SkuNotFound,
    StaffNotFound,
)
from shequ.domain.events import DomainEvent, event_payload
from shequ.domain.forum import (
    Board,
    Comment,
    ContentKind,
    ContentStatus,
    ForumReport,
    Post,
    PostLike,
    ReportStatus,
)
from shequ.domain.fulfilment.delivery import TEAM, DeliverySlot, DeliveryStatus, Shipment
from shequ.domain.fulfilment.pickup import PickupPoint, PickupTicket
from shequ.domain.groupbuy import CommissionEntry, GroupBuy, GroupBuyCampaign, GroupStatus
from shequ.domain.identity import Account, Address
from shequ.domain.ids import (
    AccountId,
    ActivityId,
    BoardId,
    BookingId,
    CampaignId,
    CommunityId,
    CouponId,
    DeliverySlotId,
    OrderId,
    PickupPointId,
    PostId,
    ProductId,
    ProviderId,
    ReviewId,
    SkuId,
    StaffId,
)
from shequ.domain.ordering import (
    Cart,
    Coupon,
    CouponGrant,
    Fulfilment,
    Order,
    OrderStatus,
    Refund,
)
from shequ.domain.payments import EntryKind, Payment, PaymentStatus
from shequ.domain.promotions import Promotion, Voucher, VoucherStatus
from shequ.domain.reviews import Review, ReviewSubject
from shequ.domain.services import (
    BookingStatus,
    ServiceBooking,
    ServiceOffering,
    ServiceProvider,
    StaffMember,
)

__all__ = [
    "InMemoryHealthCheck",
    "InMemoryPersonalDataKeys",
    "InMemorySchemaMigrations",
    "InMemoryStore",
    "InMemoryUnitOfWork",
]


class _Aggregate(Protocol):
    @property
    def id(self) -> Any: ...

    @property
    def version(self) -> int: ...


A = TypeVar("A", bound=_Aggregate)


@attrs.define
class _Published:
    message: OutboxMessage
    published: bool = False


@attrs.define
class InMemoryStore:
    """The committed state. Thread-safe; share one per application."""

    lock: threading.RLock = attrs.Factory(threading.RLock)
    tables: defaultdict[str, dict[Any, Any]] = attrs.Factory(lambda: defaultdict(dict))
    outbox: list[_Published] = attrs.Factory(list)
    audit: list[AuditRecord] = attrs.Factory(list)
    _ids: itertools.count[int] = attrs.Factory(lambda: itertools.count(1))

    def next_outbox_id(self) -> int:
        return next(self._ids)


def _fresh_copy(obj: A) -> A:
    duplicate = copy.deepcopy(obj)
    if hasattr(duplicate, "events"):
        duplicate.events = []
    return duplicate


class _Repository(Generic[A]):
    def __init__(
        self,
        store: InMemoryStore,
        table: str,
        not_found: type[NotFound],
        label: str,
        hold_lock: Callable[[], None],
    ) -> None:
        self._store, self._table, self.hold_lock = store, table, hold_lock
        self._not_found, self._label = not_found, label
        self.seen: dict[Any, A] = {}
        self.loaded_versions: dict[Any, int] = {}
        self.added: dict[Any, A] = {}

    def _rows(self) -> dict[Any, A]:
        return self._store.tables[self._table]

    def _load(self, stored: A) -> A:
        if stored.id not in self.seen:
            self.seen[stored.id] = _fresh_copy(stored)
            self.loaded_versions[stored.id] = stored.version
        return self.seen[stored.id]

    def add(self, obj: A) -> None:
        self.added[obj.id] = obj

    def find(self, key: Any) -> A | None:
        if key in self.added:
            return self.added[key]
        with self._store.lock:
            stored = self._rows().get(key)
            return None if stored is None else self._load(stored)

    def get(self, key: Any) -> A:
        found = self.find(key)
        if found is None:
            raise self._not_found(f"no {self._label} with id {key!r}", id=key)
        return found

    def get_for_update(self, key: Any) -> A:
        """Keep the store to this unit of work until it ends, as a row lock would."""
        self.hold_lock()
        return self.get(key)

    def _all(self, keep: Callable[[A], bool] = lambda _: True) -> list[A]:
        with self._store.lock:
            return [self._load(obj) for obj in self._rows().values() if keep(obj)]

    def touched(self) -> Iterable[A]:
        return itertools.chain(self.added.values(), self.seen.values())


class _Communities(_Repository[Community]):
    def list(self) -> list[Community]:
        return sorted(self._all(), key=lambda c: (c.name, c.id))


class _Sellers(_Repository[Seller]):
    def list(self, community_id: CommunityId | None = None) -> list[Seller]:
        found = self._all(lambda s: community_id is None or s.community_id in (None, community_id))
        return sorted(found, key=lambda s: (s.name, s.id))


class _Accounts(_Repository[Account]):
    def find_by_phone(self, phone: str) -> Account | None:
        if not phone:
            return None
        for account in self.added.values():
            if account.phone == phone:
                return account
        found = self._all(lambda a: a.phone == phone)
        return found[0] if found else None

    def list(self, community_id: CommunityId | None = None) -> list[Account]:
        found = self._all(
            lambda a: (
                community_id is None or any(m.community_id == community_id for m in a.memberships)
            )
        )
        return sorted(found, key=lambda a: (a.created_at, a.id))


class _Addresses(_Repository[Address]):
    def of_account(self, account_id: AccountId) -> list[Address]:
        found = self._all(lambda a: a.account_id == account_id and not a.removed)
        return sorted(found, key=lambda a: (a.created_at, a.id))


class _Sessions(_Repository[RefreshSession]):
    def of_account(self, account_id: AccountId) -> list[RefreshSession]:
        return self._all(lambda s: s.account_id == account_id and s.revoked_at is None)


class _Skus(_Repository[Sku]):
    def offers(self, sku_ids: Iterable[SkuId]) -> dict[SkuId, SkuOffer]:
        found: dict[SkuId, SkuOffer] = {}
        with self._store.lock:
            products = self._store.tables["products"]
            for sku_id in sku_ids:
                sku = self.added.get(sku_id) or self._rows().get(sku_id)
                if sku is None:
                    continue
                product = products[sku.product_id]
                found[sku_id] = SkuOffer(
                    sku_id=sku.id,
                    product_id=sku.product_id,
                    seller_id=product.seller_id,
                    name=product.name,
                    spec=sku.spec,
                    category=product.category,
                    price=sku.price,
                    stock=sku.stock,
                    on_sale=sku.on_sale,
                    community_ids=sku.community_ids,
                )
        return found

    def take_stock(self, units: Mapping[SkuId, int]) -> None:
        self.hold_lock()
        for sku_id in sorted(units):
            sku = self.get(sku_id)
            if sku.stock < units[sku_id]:
                raise InsufficientStock(
                    f"only {sku.stock} of SKU {sku_id} left", sku_id=sku_id, on_hand=sku.stock
                )
            sku.stock -= units[sku_id]
            sku.version += 1

    def return_stock(self, units: Mapping[SkuId, int]) -> None:
        self.hold_lock()
        for sku_id in sorted(units):
            sku = self.get(sku_id)
            sku.stock += units[sku_id]
            sku.version += 1

    def for_products(self, product_ids: Iterable[ProductId]) -> Mapping[ProductId, list[Sku]]:
        wanted = set(product_ids)
        found: dict[ProductId, list[Sku]] = {pid: [] for pid in wanted}
        for sku in sorted(
            self._all(lambda s: s.product_id in wanted), key=lambda s: (s.created_at, s.id)
        ):
            found[sku.product_id].append(sku)
        return found


class _Carts(_Repository[Cart]):
    def find_for(self, resident_id: AccountId, community_id: CommunityId) -> Cart | None:
        for cart in self.added.values():
            if (cart.resident_id, cart.community_id) == (resident_id, community_id):
                return cart
        found = self._all(lambda c: (c.resident_id, c.community_id) == (resident_id, community_id))
        return found[0] if found else None


class _Coupons(_Repository[Coupon]):
    def find_by_code(self, claim_code: str) -> Coupon | None:
        self.hold_lock()
        found = self._all(lambda c: c.claim_code is not None and c.claim_code == claim_code)
        return found[0] if found else None

    def list(self, seller_id: str | None = None, *, platform: bool = False) -> list[Coupon]:
        found = self._all(
            lambda c: (
                (seller_id is None or c.seller_id == seller_id)
                and (not platform or c.seller_id is None)
            )
        )
        return sorted(found, key=lambda c: (c.created_at, c.id), reverse=True)


class _Grants(_Repository[CouponGrant]):
    def of_resident(
        self, resident_id: AccountId, coupon_id: CouponId | None = None
    ) -> list[CouponGrant]:
        def wanted(g: CouponGrant) -> bool:
            return g.resident_id == resident_id and coupon_id in (None, g.coupon_id)

        found = self._all(wanted) + [g for g in self.added.values() if wanted(g)]
        return sorted(found, key=lambda g: (g.granted_at, g.id))


def _order_matches(order: Order, q: OrderQuery) -> bool:
    return (
        (q.resident_id is None or order.resident_id == q.resident_id)
        and (q.community_id is None or order.community_id == q.community_id)
        and (q.status is None or order.status is q.status)
        and (q.since is None or order.placed_at >= q.since)
        and (q.until is None or order.placed_at < q.until)
        and (q.pickup_point_id is None or order.delivery.pickup_point_id == q.pickup_point_id)
        and (q.seller_id is None or q.seller_id in order.sellers)
        and (q.after is None or (order.placed_at, order.id) < q.after)
    )


class _Orders(_Repository[Order]):
    def find_by_key(self, resident_id: AccountId, idempotency_key: str) -> Order | None:
        found = self._all(
            lambda o: (o.resident_id, o.idempotency_key) == (resident_id, idempotency_key)
        )
        return found[0] if found else None

    def search(self, query: OrderQuery) -> list[Order]:
        with self._store.lock:
            found = sorted(
                (o for o in self._rows().values() if _order_matches(o, query)),
                key=lambda o: (o.placed_at, o.id),
                reverse=True,
            )[: query.limit]
            return [self._load(o) for o in found]

    def to_deliver(
        self, pickup_date: dt.date, slot_ids: Iterable[DeliverySlotId] = ()
    ) -> list[Order]:
        slots = set(slot_ids)
        found = self._all(
            lambda o: (
                o.status in (OrderStatus.PAID, OrderStatus.PACKED)
                and (
                    (o.delivery.kind is Fulfilment.PICKUP and o.pickup_date == pickup_date)
                    or (o.delivery.kind is Fulfilment.DELIVERY and o.delivery.slot_id in slots)
                )
            )
        )
        return sorted(found, key=lambda o: o.id)

    def due_to_expire(self, now: Any, limit: int, *, grouped: bool = False) -> list[Order]:
        self.hold_lock()
        found = self._all(
            lambda o: (
                o.status is OrderStatus.PENDING_PAYMENT
                and o.expires_at <= now
                and (o.group_id is not None) == grouped
            )
        )
        return sorted(found, key=lambda o: (o.expires_at, o.id))[:limit]


class _Refunds(_Repository[Refund]):
    def search(self, query: RefundQuery) -> list[Refund]:
        with self._store.lock:
            orders = self._store.tables["orders"]
            found = self._all(
                lambda r: (
                    (query.status is None or r.status is query.status)
                    and (query.order_id is None or r.order_id == query.order_id)
                    and (
                        query.community_id is None
                        or orders[r.order_id].community_id == query.community_id
                    )
                    and (
                        not query.awaiting_payout
                        or (r.status.value == "approved" and r.payment_refund_ref is None)
                    )
                )
            )
        return sorted(found, key=lambda r: (r.requested_at, r.id), reverse=True)[: query.limit]


_OPEN = (PaymentStatus.CREATED, PaymentStatus.AUTHORISED)


class _Payments(_Repository[Payment]):
    def search(self, query: PaymentQuery) -> list[Payment]:
        found = self._all(
            lambda p: (
                (query.order_id is None or p.order_id == query.order_id)
                and (query.status is None or p.status is query.status)
                and (query.provider is None or p.provider == query.provider)
                and (not query.flagged or bool(p.flag))
            )
        )
        return sorted(found, key=lambda p: (p.created_at, p.id), reverse=True)[: query.limit]

    def still_open(self, created_before: dt.datetime, limit: int) -> list[Payment]:
        found = self._all(lambda p: p.status in _OPEN and p.created_at < created_before)
        return sorted(found, key=lambda p: (p.created_at, p.id))[:limit]

    def with_open_refunds(self, limit: int) -> list[Payment]:
        found = self._all(lambda p: any(r.open for r in p.refunds))
        return sorted(found, key=lambda p: (p.created_at, p.id))[:limit]

    def moved_between(self, start: dt.datetime, end: dt.datetime) -> list[Payment]:
        moving = (EntryKind.CHARGED, EntryKind.REFUND_SENT, EntryKind.REFUND_SUCCEEDED)
        found = self._all(
            lambda p: any(e.kind in moving and start <= e.at < end for e in p.entries)
        )
        return sorted(found, key=lambda p: (p.created_at, p.id))


class _Campaigns(_Repository[GroupBuyCampaign]):
    def running_in(self, community_id: CommunityId, now: dt.datetime) -> list[GroupBuyCampaign]:
        found = self._all(
            lambda c: community_id in c.community_ids and c.starts_at <= now < c.ends_at
        )
        return sorted(found, key=lambda c: (c.ends_at, c.id))

    def for_pickup_on(self, day: dt.date) -> list[GroupBuyCampaign]:
        return sorted(self._all(lambda c: c.pickup_date == day), key=lambda c: c.id)


class _Commissions(_Repository[CommissionEntry]):
    def of_leader(self, leader_id: AccountId) -> list[CommissionEntry]:
        found = self._all(lambda e: e.leader_id == leader_id)
        return sorted(found, key=lambda e: (e.earned_at, e.group_id), reverse=True)


_SETTLING = (GroupStatus.OPEN, GroupStatus.SUCCEEDED)
_HOLDING = (GroupStatus.OPEN, GroupStatus.SUCCEEDED, GroupStatus.SETTLED)


class _GroupBuys(_Repository[GroupBuy]):
    def find_by_invite_code(self, invite_code: str) -> GroupBuy | None:
        found = self._all(lambda g: g.invite_code == invite_code)
        return found[0] if found else None

    def of_resident(self, resident_id: AccountId) -> list[GroupBuy]:
        found = self._all(
            lambda g: (
                g.leader_id == resident_id
                or any(p.resident_id == resident_id for p in g.participants)
            )
        )
        return sorted(found, key=lambda g: (g.started_at, g.id), reverse=True)

    def of_campaign(self, campaign_id: CampaignId) -> list[GroupBuy]:
        found = self._all(lambda g: g.campaign_id == campaign_id)
        return sorted(found, key=lambda g: (g.started_at, g.id), reverse=True)

    def quantity_in_campaign(self, campaign_id: CampaignId, resident_id: AccountId) -> int:
        groups = self._all(lambda g: g.campaign_id == campaign_id and g.status in _HOLDING)
        return sum(
            p.quantity
            for g in groups
            for p in g.participants
            if p.active and p.resident_id == resident_id
        )

    def due_to_settle(
        self, now: dt.datetime, limit: int, campaign_id: CampaignId | None = None
    ) -> list[GroupBuy]:
        self.hold_lock()
        found = self._all(
            lambda g: (
                g.status in _SETTLING and g.deadline <= now and campaign_id in (None, g.campaign_id)
            )
        )
        return sorted(found, key=lambda g: (g.deadline, g.id))[:limit]

    def campaigns_to_settle(self, now: dt.datetime) -> list[CampaignId]:
        due = self._all(lambda g: g.status in _SETTLING and g.deadline <= now)
        first: dict[CampaignId, tuple[dt.datetime, CampaignId]] = {}
        for g in due:
            first[g.campaign_id] = min(
                first.get(g.campaign_id, (g.deadline, g.campaign_id)), (g.deadline, g.campaign_id)
            )
        return [c for _, c in sorted(first.values())]


class _PickupPoints(_Repository[PickupPoint]):
    def in_community(self, community_id: CommunityId) -> list[PickupPoint]:
        found = self._all(lambda p: p.community_id == community_id)
        return sorted(found, key=lambda p: (p.name, p.id))

    def _days(self) -> dict[tuple[PickupPointId, dt.date], int]:
        return self._store.tables["pickup_point_days"]

    def reserve(self, point_id: PickupPointId, day: dt.date, capacity: int) -> int:
        self.hold_lock()  # as the guarded UPDATE's row lock would, until the unit of work ends
        booked = self._days().get((point_id, day), 0) + self._pending.get((point_id, day), 0)
        if booked >= capacity:
            raise PickupPointFull(
                f"pickup point {point_id} is full on {day.isoformat()} ({capacity} parcels)",
                pickup_point_id=point_id,
            )
        self._pending[(point_id, day)] = self._pending.get((point_id, day), 0) + 1
        return booked + 1

    def release(self, point_id: PickupPointId, day: dt.date) -> None:
        self.hold_lock()
        self._pending[(point_id, day)] = self._pending.get((point_id, day), 0) - 1

    def booked(self, point_id: PickupPointId, day: dt.date) -> int:
        with self._store.lock:
            return self._days().get((point_id, day), 0) + self._pending.get((point_id, day), 0)

    @property
    def _pending(self) -> dict[tuple[PickupPointId, dt.date], int]:
        if not hasattr(self, "_changes"):
            self._changes: dict[tuple[PickupPointId, dt.date], int] = {}
        return self._changes

    def write_days(self) -> None:
        """At commit, with the store's lock held."""
        days = self._days()
        for key, change in self._pending.items():
            days[key] = max(0, days.get(key, 0) + change)
        self._pending.clear()


class _PickupTickets(_Repository[PickupTicket]):
    def waiting_with(self, point_id: PickupPointId, code: str) -> PickupTicket | None:
        self.hold_lock()
        found = self._all(lambda t: t.pickup_point_id == point_id and t.code == code and t.waiting)
        return found[0] if found else None

    def codes_waiting(self, point_id: PickupPointId) -> set[str]:
        tickets = self._all(lambda t: t.pickup_point_id == point_id and t.waiting)
        added = [t for t in self.added.values() if t.pickup_point_id == point_id]
        return {t.code for t in [*tickets, *added] if t.waiting}

    def waiting_since(self, before: dt.datetime, limit: int) -> list[PickupTicket]:
        self.hold_lock()
        found = self._all(lambda t: t.waiting and t.arrived_at < before)
        return sorted(found, key=lambda t: (t.arrived_at, t.id))[:limit]


class _Shipments(_Repository[Shipment]):
    def by_courier_ref(self, courier: str, courier_ref: str) -> Shipment | None:
        self.hold_lock()
        found = self._all(lambda x: (x.courier, x.courier_ref) == (courier, courier_ref))
        return found[0] if found else None

    def waiting(self, limit: int) -> list[Shipment]:
        self.hold_lock()
        found = self._all(lambda x: x.status is DeliveryStatus.CREATED)
        return sorted(found, key=lambda x: (x.created_at, x.id))[:limit]

    def with_team(
        self, community_ids: Iterable[CommunityId] | None = None, *, open_only: bool = True
    ) -> list[Shipment]:
        wanted = None if community_ids is None else set(community_ids)
        found = self._all(
            lambda x: (
                x.courier == TEAM
                and (wanted is None or x.community_id in wanted)
                and (not open_only or x.status in _RIDING)
            )
        )
        return sorted(found, key=lambda x: (x.created_at, x.id))


_RIDING = (DeliveryStatus.ASSIGNED, DeliveryStatus.PICKED_UP, DeliveryStatus.OUT_FOR_DELIVERY)


class _DeliverySlots(_Repository[DeliverySlot]):
    """Booked places live beside the slots (as in SQL), changed at commit."""

    def starting_between(
        self, start: dt.datetime, end: dt.datetime, community_id: CommunityId | None = None
    ) -> list[DeliverySlot]:
        found = self._all(
            lambda s: start <= s.starts_at < end and community_id in (None, s.community_id)
        )
        return sorted(found, key=lambda s: (s.starts_at, s.ends_at, s.id))

    def _booked(self) -> dict[DeliverySlotId, int]:
        return self._store.tables["delivery_slot_booked"]

    @property
    def _pending(self) -> dict[DeliverySlotId, int]:
        if not hasattr(self, "_changes"):
            self._changes: dict[DeliverySlotId, int] = {}
        return self._changes

    def reserve(self, slot_id: DeliverySlotId) -> int:
        self.hold_lock()  # as the guarded UPDATE's row lock would, until the unit of work ends
        slot = self._rows().get(slot_id) or self.get(slot_id)  # the capacity as committed
        booked = self._booked().get(slot_id, 0) + self._pending.get(slot_id, 0)
        if booked >= slot.capacity:
            raise DeliverySlotFull(
                f"delivery slot {slot_id} is full ({slot.capacity} orders)", slot_id=slot_id
            )
        self._pending[slot_id] = self._pending.get(slot_id, 0) + 1
        return booked + 1

    def release(self, slot_id: DeliverySlotId) -> None:
        self.hold_lock()
        self._pending[slot_id] = self._pending.get(slot_id, 0) - 1

    def booked(self, slot_ids: Iterable[DeliverySlotId]) -> dict[DeliverySlotId, int]:
        with self._store.lock:
            return {i: self._booked().get(i, 0) + self._pending.get(i, 0) for i in set(slot_ids)}

    def write_booked(self) -> None:
        """At commit, with the store's lock held."""
        booked = self._booked()
        for key, change in self._pending.items():
            booked[key] = max(0, booked.get(key, 0) + change)
        self._pending.clear()


class _Providers(_Repository[ServiceProvider]):
    def search(self, query: ProviderQuery) -> list[ServiceProvider]:
        found = self._all(
            lambda p: (
                (query.community_id is None or p.serves(query.community_id))
                and query.kind in (None, p.kind)
                and (p.verified or not query.verified_only)
                and p.matches(query.words)
            )
        )
        return sorted(found, key=lambda p: (p.name, p.id))[: query.limit]


class _Staff(_Repository[StaffMember]):
    def of_provider(self, provider_id: ProviderId) -> list[StaffMember]:
        found = self._all(lambda x: x.provider_id == provider_id)
        return sorted(found, key=lambda x: (x.name, x.id))


class _Offerings(_Repository[ServiceOffering]):
    def of_provider(self, provider_id: ProviderId) -> list[ServiceOffering]:
        found = self._all(lambda x: x.provider_id == provider_id)
        return sorted(found, key=lambda x: (x.name, x.id))


class _Bookings(_Repository[ServiceBooking]):
    def find_by_key(self, resident_id: AccountId, idempotency_key: str) -> ServiceBooking | None:
        found = self._all(
            lambda b: (b.resident_id, b.idempotency_key) == (resident_id, idempotency_key)
        )
        return found[0] if found else None

    def busy(self, staff_id: StaffId, start: dt.datetime, end: dt.datetime) -> list[ServiceBooking]:
        found = self._all(
            lambda b: (
                b.staff_id == staff_id
                and b.status.holds_staff
                and b.starts_at < end
                and b.busy_until > start
            )
        )
        return sorted(found, key=lambda b: (b.starts_at, b.id))

    def of_resident(self, resident_id: AccountId) -> list[ServiceBooking]:
        found = self._all(lambda b: b.resident_id == resident_id)
        return sorted(found, key=lambda b: (b.starts_at, b.id), reverse=True)

    def of_provider(
        self, provider_id: ProviderId, start: dt.datetime, end: dt.datetime
    ) -> list[ServiceBooking]:
        found = self._all(lambda b: b.provider_id == provider_id and start <= b.starts_at < end)
        return sorted(found, key=lambda b: (b.starts_at, b.id))

    def to_remind(self, start: dt.datetime, end: dt.datetime, limit: int) -> list[ServiceBooking]:
        self.hold_lock()
        found = self._all(
            lambda b: (
                b.status in (BookingStatus.REQUESTED, BookingStatus.CONFIRMED)
                and start <= b.starts_at < end
                and b.reminded_at is None
            )
        )
        return sorted(found, key=lambda b: (b.starts_at, b.id))[:limit]


class _Announcements(_Repository[Announcement]):
    def shown_in(
        self, community_id: CommunityId, now: dt.datetime, limit: int
    ) -> list[Announcement]:
        found = self._all(lambda a: a.shown(community_id, now))
        found.sort(key=lambda a: a.id)
        found.sort(key=lambda a: (a.pinned, a.publish_at), reverse=True)
        return found[:limit]


class _Activities(_Repository[Activity]):
    def in_community(
        self, community_id: CommunityId, start: dt.datetime, end: dt.datetime
    ) -> list[Activity]:
        found = self._all(lambda a: a.community_id == community_id and start <= a.starts_at < end)
        return sorted(found, key=lambda a: (a.starts_at, a.id))


class _SignUps(_Repository[ActivitySignUp]):
    def of_activity(self, activity_id: ActivityId) -> list[ActivitySignUp]:
        found = self._all(lambda x: x.activity_id == activity_id)
        added = [x for x in self.added.values() if x.activity_id == activity_id]
        return sorted({x.id: x for x in [*found, *added]}.values(), key=lambda x: x.seq)

    def active(self, activity_id: ActivityId, resident_id: AccountId) -> ActivitySignUp | None:
        found = [
            x
            for x in self.of_activity(activity_id)
            if x.resident_id == resident_id and x.status is not SignUpStatus.CANCELLED
        ]
        return found[0] if found else None


class _Complaints(_Repository[Complaint]):
    def search(self, query: ComplaintQuery) -> list[Complaint]:
        found = self._all(
            lambda c: (
                query.resident_id in (None, c.resident_id)
                and query.community_id in (None, c.community_id)
                and query.status in (None, c.status)
                and (query.overdue_at is None or c.overdue(query.overdue_at))
            )
        )
        return sorted(found, key=lambda c: (c.created_at, c.id))[: query.limit]


class _Boards(_Repository[Board]):
    def of_community(self, community_id: CommunityId) -> list[Board]:
        found = self._all(lambda b: b.community_id == community_id)
        return sorted(found, key=lambda b: (b.created_at, b.id))


def _to_review(x: Post | Comment) -> bool:
    return x.status is ContentStatus.HELD or (
        x.status is ContentStatus.PUBLISHED and x.open_reports > 0
    )


class _Posts(_Repository[Post]):
    def in_board(
        self,
        board_id: BoardId,
        *,
        reader_id: AccountId | None,
        after: tuple[dt.datetime, PostId] | None,
        limit: int,
    ) -> list[Post]:
        def shown(p: Post) -> bool:
            return (
                p.board_id == board_id
                and p.status is not ContentStatus.DELETED
                and (p.status is ContentStatus.PUBLISHED or p.author_id == reader_id)
                and (after is None or (p.last_activity_at, p.id) < after)
            )

        found = self._all(shown)
        found.sort(key=lambda p: (p.last_activity_at, p.id), reverse=True)
        return found[:limit]

    def to_review(self, community_id: CommunityId, limit: int) -> list[Post]:
        found = self._all(lambda p: p.community_id == community_id and _to_review(p))
        return sorted(found, key=lambda p: (p.created_at, p.id))[:limit]


class _Comments(_Repository[Comment]):
    def of_post(self, post_id: PostId) -> list[Comment]:
        found = self._all(lambda c: c.post_id == post_id)
        added = [c for c in self.added.values() if c.post_id == post_id]
        return sorted(
            {c.id: c for c in [*found, *added]}.values(), key=lambda c: (c.created_at, c.id)
        )

    def to_review(self, community_id: CommunityId, limit: int) -> list[Comment]:
        found = self._all(lambda c: c.community_id == community_id and _to_review(c))
        return sorted(found, key=lambda c: (c.created_at, c.id))[:limit]


class _Likes(_Repository[PostLike]):
    def find_of(self, post_id: PostId, account_id: AccountId) -> PostLike | None:
        found = self._all(lambda x: x.post_id == post_id and x.account_id == account_id)
        return found[0] if found else None

    def liked_by(self, account_id: AccountId, post_ids: Sequence[PostId]) -> set[PostId]:
        wanted = set(post_ids)
        found = self._all(lambda x: x.account_id == account_id and x.liked and x.post_id in wanted)
        return {x.post_id for x in found}


class _ForumReports(_Repository[ForumReport]):
    def find_by(
        self, reporter_id: AccountId, kind: ContentKind, content_id: str
    ) -> ForumReport | None:
        found = self._all(
            lambda r: (r.reporter_id, r.kind, r.content_id) == (reporter_id, kind, content_id)
        )
        return found[0] if found else None

    def open_on(self, kind: ContentKind, content_id: str) -> list[ForumReport]:
        found = self._all(
            lambda r: (r.kind, r.content_id, r.status) == (kind, content_id, ReportStatus.OPEN)
        )
        return sorted(found, key=lambda r: (r.created_at, r.id))


class _Reviews(_Repository[Review]):
    def find_for_line(self, order_id: OrderId, sku_id: SkuId) -> Review | None:
        found = self._all(lambda r: (r.order_id, r.sku_id) == (order_id, sku_id))
        return found[0] if found else None

    def find_for_booking(self, booking_id: BookingId) -> Review | None:
        found = self._all(lambda r: r.booking_id == booking_id)
        return found[0] if found else None

    def of_subject(
        self,
        subject: ReviewSubject,
        subject_id: str,
        *,
        after: tuple[dt.datetime, ReviewId] | None,
        limit: int,
    ) -> list[Review]:
        found = self._all(
            lambda r: (
                (r.subject, r.subject_id) == (subject, subject_id)
                and (after is None or (r.created_at, r.id) < after)
            )
        )
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return found[:limit]


class _Promotions(_Repository[Promotion]):
    def for_skus(self, sku_ids: Iterable[SkuId]) -> dict[SkuId, Promotion]:
        wanted = set(sku_ids)
        return {p.sku_id: p for p in self._all(lambda p: p.sku_id in wanted)}

    def in_community(self, community_id: CommunityId, now: dt.datetime) -> list[Promotion]:
        found = self._all(lambda p: community_id in p.community_ids and p.on_sale(now))
        return sorted(found, key=lambda p: (p.sale_ends_at, p.id))

    def of_provider(self, provider_id: ProviderId) -> list[Promotion]:
        found = self._all(lambda p: p.provider_id == provider_id)
        found.sort(key=lambda p: p.id)
        found.sort(key=lambda p: p.created_at, reverse=True)
        return found


class _Vouchers(_Repository[Voucher]):
    def of_order(self, order_id: OrderId) -> list[Voucher]:
        found = self._all(lambda v: v.order_id == order_id)
        added = [v for v in self.added.values() if v.order_id == order_id]
        return sorted({v.id: v for v in [*found, *added]}.values(), key=lambda v: v.id)

    def of_resident(self, resident_id: AccountId) -> list[Voucher]:
        found = self._all(lambda v: v.resident_id == resident_id)
        found.sort(key=lambda v: v.id)
        found.sort(key=lambda v: v.issued_at, reverse=True)
        return found

    def find_code(self, provider_id: ProviderId, code: str) -> Voucher | None:
        candidates = [
            *self._all(lambda v: (v.provider_id, v.code) == (provider_id, code)),
            *(v for v in self.added.values() if (v.provider_id, v.code) == (provider_id, code)),
        ]
        return candidates[0] if candidates else None

    def to_expire(self, now: dt.datetime, limit: int) -> list[Voucher]:
        found = self._all(lambda v: v.status is VoucherStatus.VALID and v.expires_at <= now)
        return sorted(found, key=lambda v: (v.expires_at, v.id))[:limit]


class _Products(_Repository[Product]):
    def search(self, query: ProductQuery) -> list[ProductHit]:
        f, sort, after = query.filter, query.sort, query.after
        with self._store.lock:
            skus: defaultdict[ProductId, list[Sku]] = defaultdict(list)
            for sku in self._store.tables["skus"].values():
                if f.matches_sku(sku):
                    skus[sku.product_id].append(sku)
            hits = [
                ProductHit(
                    product=p,
                    key=p.created_at
                    if sort is ProductSort.NEWEST
                    else min(s.price.fen for s in skus[p.id]),
                )
                for p in self._rows().values()
                if skus[p.id] and f.matches_product(p)
            ]
        hits.sort(key=lambda h: (h.key, h.product.id), reverse=sort.descending)
        if after is not None:
            edge = (after.key, after.product_id)
            hits = [
                h
                for h in hits
                if (
                    (h.key, h.product.id) < edge
                    if sort.descending
                    else (h.key, h.product.id) > edge
                )
            ]
        return [ProductHit(product=self._load(h.product), key=h.key) for h in hits[: query.limit]]


class _Audit:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.pending: list[AuditRecord] = []

    def append(self, record: AuditRecord) -> None:
        self.pending.append(record)

    def search(self, query: AuditQuery) -> list[AuditRecord]:
        with self._store.lock:
            found = [r for r in self._store.audit if _matches(r, query)]
        return sorted(found, key=lambda r: (r.at, r.id or 0), reverse=True)[: query.limit]

    def apply(self) -> None:
        for record in self.pending:
            self._store.audit.append(attrs.evolve(record, id=len(self._store.audit) + 1))
        self.pending.clear()


def _matches(record: AuditRecord, query: AuditQuery) -> bool:
    return (
        (query.actor_id is None or record.actor_id == query.actor_id)
        and (query.subject is None or record.subject == query.subject)
        and (query.since is None or record.at >= query.since)
        and (query.until is None or record.at < query.until)
    )


class _Outbox:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.marked: set[int] = set()  # applied at commit, as the database would

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        with self._store.lock:
            return [row.message for row in self._store.outbox if not row.published][:limit]

    def mark_published(self, message_ids: Sequence[int]) -> None:
        self.marked.update(message_ids)

    def apply(self) -> None:
        for row in self._store.outbox:
            if row.message.id in self.marked:
                row.published = True
        self.marked.clear()


class InMemoryUnitOfWork:
    """A transaction on an :class:`InMemoryStore`."""

    communities: _Communities
    sellers: _Sellers
    products: _Products
    skus: _Skus
    accounts: _Accounts
    addresses: _Addresses
    throttles: _Repository[Throttle]
    codes: _Repository[SignInCode]
    sessions: _Sessions
    carts: _Carts
    coupons: _Coupons
    grants: _Grants
    orders: _Orders
    refunds: _Refunds
    payments: _Payments
    campaigns: _Campaigns
    group_buys: _GroupBuys
    commissions: _Commissions
    pickup_points: _PickupPoints
    pickup_tickets: _PickupTickets
    shipments: _Shipments
    delivery_slots: _DeliverySlots
    providers: _Providers
    staff: _Staff
    offerings: _Offerings
    bookings: _Bookings
    announcements: _Announcements
    activities: _Activities
    sign_ups: _SignUps
    complaints: _Complaints
    boards: _Boards
    posts: _Posts
    comments: _Comments
    likes: _Likes
    forum_reports: _ForumReports
    reviews: _Reviews
    promotions: _Promotions
    vouchers: _Vouchers
    outbox: _Outbox
    audit: _Audit

    def __init__(self, store: InMemoryStore, publisher: EventPublisher | None = None) -> None:
        self._store, self._publisher = store, publisher
        self._holding = False
        self._begin()

    def _begin(self) -> None:
        self._release()
        self.outbox = _Outbox(self._store)
        self.audit = _Audit(self._store)
        hold = self._hold
        self.communities = _Communities(
            self._store, "communities", CommunityNotFound, "community", hold
        )
        self.sellers = _Sellers(self._store, "sellers", SellerNotFound, "seller", hold)
        self.products = _Products(self._store, "products", ProductNotFound, "product", hold)
        self.skus = _Skus(self._store, "skus", SkuNotFound, "SKU", hold)
        self.accounts = _Accounts(self._store, "accounts", AccountNotFound, "account", hold)
        self.addresses = _Addresses(self._store, "addresses", NotFound, "address", hold)
        self.throttles = _Repository[Throttle](self._store, "throttles", NotFound, "throttle", hold)
        self.codes = _Repository[SignInCode](self._store, "codes", NotFound, "code", hold)
        self.sessions = _Sessions(self._store, "sessions", NotFound, "session", hold)
        self.carts = _Carts(self._store, "carts", NotFound, "cart", hold)
        self.coupons = _Coupons(self._store, "coupons", CouponNotFound, "coupon", hold)
        self.grants = _Grants(self._store, "grants", CouponNotFound, "coupon", hold)
        self.orders = _Orders(self._store, "orders", OrderNotFound, "order", hold)
        self.refunds = _Refunds(self._store, "refunds", RefundNotFound, "refund", hold)
        self.payments = _Payments(self._store, "payments", PaymentNotFound, "payment", hold)
        self.campaigns = _Campaigns(self._store, "campaigns", CampaignNotFound, "campaign", hold)
        self.group_buys = _GroupBuys(self._store, "group_buys", GroupBuyNotFound, "group", hold)
        self.commissions = _Commissions(self._store, "commissions", NotFound, "commission", hold)
        self.pickup_points = _PickupPoints(
            self._store, "pickup_points", PickupPointNotFound, "pickup point", hold
        )
        self.pickup_tickets = _PickupTickets(
            self._store, "pickup_tickets", NotFound, "pickup ticket", hold
        )
        self.shipments = _Shipments(self._store, "shipments", DeliveryNotFound, "delivery", hold)
        self.delivery_slots = _DeliverySlots(
            self._store, "delivery_slots", DeliverySlotNotFound, "delivery slot", hold
        )
        self.providers = _Providers(
            self._store, "service_providers", ProviderNotFound, "merchant", hold
        )
        self.staff = _Staff(self._store, "service_staff", StaffNotFound, "member of staff", hold)
        self.offerings = _Offerings(
            self._store, "service_offerings", OfferingNotFound, "offering", hold
        )
        self.bookings = _Bookings(self._store, "service_bookings", BookingNotFound, "booking", hold)
        self.announcements = _Announcements(
            self._store, "announcements", AnnouncementNotFound, "announcement", hold
        )
        self.activities = _Activities(self._store, "activities", ActivityNotFound, "activity", hold)
        self.sign_ups = _SignUps(self._store, "activity_signups", NotFound, "sign-up", hold)
        self.complaints = _Complaints(
            self._store, "complaints", ComplaintNotFound, "complaint", hold
        )
        self.boards = _Boards(self._store, "forum_boards", BoardNotFound, "board", hold)
        self.posts = _Posts(self._store, "forum_posts", PostNotFound, "post", hold)
        self.comments = _Comments(self._store, "forum_comments", CommentNotFound, "comment", hold)
        self.likes = _Likes(self._store, "forum_likes", NotFound, "like", hold)
        self.forum_reports = _ForumReports(self._store, "forum_reports", NotFound, "report", hold)
        self.reviews = _Reviews(self._store, "reviews", ReviewNotFound, "review", hold)
        self.promotions = _Promotions(
            self._store, "promotions", PromotionNotFound, "promotion", hold
        )
        self.vouchers = _Vouchers(self._store, "vouchers", NotFound, "voucher", hold)

    def _hold(self) -> None:
        """Keep the store to this unit of work until it ends, as a row lock would."""
        if not self._holding:
            self._store.lock.acquire()
            self._holding = True

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            self._store.lock.release()

    def _repositories(self) -> tuple[_Repository[Any], ...]:
        return (
            self.communities,
            self.sellers,
            self.products,
            self.skus,
            self.accounts,
            self.addresses,
            self.throttles,
            self.codes,
            self.sessions,
            self.carts,
            self.coupons,
            self.grants,
            self.orders,
            self.refunds,
            self.payments,
            self.campaigns,
            self.group_buys,
            self.commissions,
            self.pickup_points,
            self.pickup_tickets,
            self.shipments,
            self.delivery_slots,
            self.providers,
            self.staff,
            self.offerings,
            self.bookings,
            self.announcements,
            self.activities,
            self.sign_ups,
            self.complaints,
            self.boards,
            self.posts,
            self.comments,
            self.likes,
            self.forum_reports,
            self.reviews,
            self.promotions,
            self.vouchers,
        )

    def __enter__(self) -> Self:
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def flush(self) -> None:
        """Nothing to send: memory writes everything at commit."""

    def commit(self) -> None:
        events: list[DomainEvent] = []
        with self._store.lock:
            for repo in self._repositories():
                self._check(repo)
            self._check_specs()
            self._check_phones()
            self._check_unique(
                self.orders,
                "the idempotency key was used",
                lambda o: (o.resident_id, o.idempotency_key),
            )
            self._check_unique(
                self.carts, "a cart exists", lambda c: (c.resident_id, c.community_id)
            )
            self._check_unique(
                self.group_buys, "the invite code is in use", lambda g: g.invite_code
            )
            self._check_unique(
                self.pickup_tickets,
                "the pickup code is in use at this point",
                lambda t: (t.pickup_point_id, t.code) if t.waiting else t.id,
            )
            self._check_unique(
                self.delivery_slots,
                "the community has a slot for that window",
                lambda x: (x.community_id, x.starts_at, x.ends_at),
            )
            self._check_unique(
                self.bookings,
                "the idempotency key was used",
                lambda b: (b.resident_id, b.idempotency_key),
            )
            self._check_unique(
                self.sign_ups,
                "the resident has signed up",
                lambda x: (
                    (x.activity_id, x.resident_id)
                    if x.status is not SignUpStatus.CANCELLED
                    else x.id
                ),
            )
            self._check_unique(
                self.likes, "the resident likes the post", lambda x: (x.post_id, x.account_id)
            )
            self._check_unique(
                self.forum_reports,
                "the resident has reported it",
                lambda r: (r.kind, r.content_id, r.reporter_id),
            )
            self._check_unique(
                self.reviews,
                "the order line or booking is reviewed",
                lambda r: (r.order_id, r.sku_id) if r.order_id else r.booking_id,
            )
            self._check_unique(
                self.vouchers, "the voucher code is in use", lambda v: (v.provider_id, v.code)
            )
            self.pickup_points.write_days()
            self.delivery_slots.write_booked()
            self._check_unique(
                self.coupons, "the claim code is taken", lambda c: c.claim_code or c.id
            )
            for repo in self._repositories():
                rows = repo._rows()
                for obj in repo.touched():
                    if obj.id in repo.added or obj.version != repo.loaded_versions[obj.id]:
                        rows[obj.id] = _fresh_copy(obj)
                    events.extend(getattr(obj, "events", ()))
            for event in events:
                message = OutboxMessage(
                    id=self._store.next_outbox_id(),
                    name=event.event_type,
                    payload=event_payload(event),
                    occurred_at=event.occurred_at,
                )
                self._store.outbox.append(_Published(message))
            self.outbox.apply()
            self.audit.apply()
        for repo in self._repositories():
            for obj in repo.touched():
                if hasattr(obj, "events"):
                    obj.events.clear()
                repo.loaded_versions[obj.id] = obj.version
            repo.seen.update(repo.added)
            repo.added.clear()
        self._release()
        if self._publisher is not None and events:
            self._publisher.publish(events)

    @staticmethod
    def _check(repo: _Repository[Any]) -> None:
        rows = repo._rows()
        for key in repo.added:
            if key in rows:
                raise Duplicate(f"{repo._label} {key!r} exists already", id=key)
        for key, obj in repo.seen.items():
            stored = rows.get(key)
            if obj.version != repo.loaded_versions[key] and (
                stored is None or stored.version != repo.loaded_versions[key]
            ):
                raise ConcurrentUpdate(
                    f"{repo._label} {key!r} was changed by someone else; try again", id=key
                )

    def _check_specs(self) -> None:
        """A product's SKUs have distinct specs (a unique constraint in SQL)."""
        owner = {(s.product_id, s.spec): s.id for s in self._store.tables["skus"].values()}
        for sku in self.skus.added.values():
            key = (sku.product_id, sku.spec)
            if owner.setdefault(key, sku.id) != sku.id:
                raise Duplicate("the product has a SKU with this spec already", spec=sku.spec)

    def _check_phones(self) -> None:
        """One account per phone number (a unique constraint in SQL)."""
        owner = {a.phone: a.id for a in self._store.tables["accounts"].values() if a.phone}
        for account in self.accounts.added.values():
            if owner.setdefault(account.phone, account.id) != account.id:
                raise Duplicate("an account with this phone number exists already")

    @staticmethod
    def _check_unique(repo: _Repository[Any], message: str, key: Callable[[Any], Any]) -> None:
        """A unique constraint, as the database has on these columns."""
        owner = {key(obj): obj.id for obj in repo._rows().values()}
        for obj in repo.added.values():
            if owner.setdefault(key(obj), obj.id) != obj.id:
                raise Duplicate(f"{message} already")

    def rollback(self) -> None:
        self._begin()


class InMemoryPersonalDataKeys:
    """Memory keeps nothing at rest, so nothing is sealed and nothing needs re-sealing."""

    def current(self) -> str:
        return "memory"

    def count_by_key(self) -> dict[str, int]:
        return {}

    def add_key(self) -> str:
        raise AdapterError("memory storage seals nothing; it has no keys")

    def reseal(self, batch: int) -> int:
        return 0


class InMemoryHealthCheck:
    def check(self) -> None:
        return None


class InMemorySchemaMigrations:
    """Memory needs no schema; upgrading is a no-op."""

    def upgrade(self, revision: str = "head") -> None:
        return None

    def current(self) -> str | None:
        return "memory"

    def head(self) -> str | None:
        return "memory"

    def application_grants(self, role: str, schema: str = "public") -> list[str]:
        return []
