"""The SQLAlchemy unit of work and its repositories."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, ParamSpec, Self, TypeVar

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from shequ.adapters.security.cipher import FieldCipher, Keyring
from shequ.adapters.storage.sqlalchemy.driver import DriverStatement
from shequ.adapters.storage.sqlalchemy.errors import translate
from shequ.adapters.storage.sqlalchemy.orm import (
    accounts,
    activities,
    activity_signups,
    addresses,
    announcements,
    audit_log,
    carts,
    communities,
    complaints,
    coupon_grants,
    coupons,
    delivery_slots,
    forum_boards,
    forum_comments,
    forum_likes,
    forum_posts,
    forum_reports,
    group_buy_campaigns,
    group_buy_participants,
    group_buys,
    leader_commissions,
    order_lines,
    orders,
    outbox,
    payment_entries,
    payment_refunds,
    payments,
    pickup_point_days,
    pickup_points,
    pickup_tickets,
    products,
    promotions,
    refresh_sessions,
    refunds,
    reviews,
    sellers,
    service_bookings,
    service_offerings,
    service_providers,
    service_staff,
    shipments,
    sku_listings,
    skus,
    vouchers,
)
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
from shequ.domain.complaints import Complaint, ComplaintStatus
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
from shequ.domain.fulfilment.pickup import PickupPoint, PickupTicket, TicketStatus
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
from shequ.domain.money import Money
from shequ.domain.ordering import (
    Cart,
    Coupon,
    CouponGrant,
    Delivery,
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
    Refund,
    RefundStatus,
)
from shequ.domain.payments import EntryKind, Payment, PaymentRefundStatus, PaymentStatus
from shequ.domain.promotions import Promotion, Voucher, VoucherStatus
from shequ.domain.reviews import Review, ReviewSubject
from shequ.domain.services import (
    LONGEST_BUSY,
    BookingStatus,
    ServiceBooking,
    ServiceOffering,
    ServiceProvider,
    StaffMember,
)

__all__ = ["SqlPersonalDataKeys", "SqlUnitOfWork"]

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


# what a write can raise below us: SQLAlchemy's errors, and a value the driver cannot encode
_STORAGE_ERRORS = (sa_exc.SQLAlchemyError, UnicodeEncodeError, OverflowError)


def _translating(method: Callable[P, R]) -> Callable[P, R]:
    """Raise shequ's errors, never SQLAlchemy's, from a repository method."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except _STORAGE_ERRORS as e:
            raise translate(e) from e

    return wrapper


def _insert_ignoring(connection: sa.Connection, table: sa.Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` in the connection's dialect."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def _connection_of(session: Session) -> sa.Connection:
    """The session's connection in its current transaction, kept at hand: asking the
    session for it each time costs more than most statements of a checkout."""
    connection: sa.Connection | None = session.info.get("connection")
    if connection is None or connection.closed or not connection.in_transaction():
        connection = session.info["connection"] = session.connection()
    return connection


class _Repository(Generic[T]):
    model: type[T]
    not_found: type[NotFound]
    label: str

    def __init__(self, session: Session) -> None:
        self._session = session
        self.seen: dict[Any, T] = {}
        # Added objects join the session at commit, in the order of the foreign keys
        # (the mapping has no relationships between aggregates to order them by).
        self.added: dict[Any, T] = {}

    def _track(self, obj: T) -> T:
        self.seen[obj.id] = obj  # type: ignore[attr-defined]
        return obj

    def add(self, obj: T) -> None:
        self.added[obj.id] = self._track(obj)  # type: ignore[attr-defined]

    def flush_added(self) -> None:
        if self.added:
            self._session.add_all(self.added.values())
            self._session.flush()
            self.added.clear()

    @_translating
    def find(self, key: Any) -> T | None:
        if key in self.added:
            return self.added[key]
        obj = self._session.get(self.model, key)
        return None if obj is None else self._track(obj)

    def get(self, key: Any) -> T:
        obj = self.find(key)
        if obj is None:
            raise self.not_found(f"no {self.label} with id {key!r}", id=key)
        return obj

    @_translating
    def get_for_update(self, key: Any) -> T:
        """Read afresh and locked until the transaction ends (``SELECT … FOR UPDATE``)."""
        if key in self.added:
            return self.added[key]
        # A locking SELECT rather than Session.get: get() refuses a row whose version moved
        # on since this session first read it, which is precisely what a fresh read is for.
        (pk,) = sa.inspect(self.model).primary_key
        stmt = (
            sa.select(self.model)
            .where(pk == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        obj = self._session.scalars(stmt).one_or_none()
        if obj is None:
            raise self.not_found(f"no {self.label} with id {key!r}", id=key)
        return self._track(obj)

    @_translating
    def _many(self, stmt: sa.Select[Any]) -> list[T]:
        return [self._track(obj) for obj in self._session.scalars(stmt)]


class _Communities(_Repository[Community]):
    model, not_found, label = Community, CommunityNotFound, "community"

    def list(self) -> list[Community]:
        return self._many(sa.select(Community).order_by(communities.c.name, communities.c.id))


class _Sellers(_Repository[Seller]):
    model, not_found, label = Seller, SellerNotFound, "seller"

    def list(self, community_id: CommunityId | None = None) -> list[Seller]:
        stmt = sa.select(Seller).order_by(sellers.c.name, sellers.c.id)
        if community_id is not None:
            column = sellers.c.community_id
            stmt = stmt.where(sa.or_(column.is_(None), column == community_id))
        return self._many(stmt)


class _Skus(_Repository[Sku]):
    model, not_found, label = Sku, SkuNotFound, "SKU"

    @_translating
    def offers(self, sku_ids: Iterable[SkuId]) -> dict[SkuId, SkuOffer]:
        wanted = list(dict.fromkeys(sku_ids))
        if not wanted:
            return {}
        rows: dict[SkuId, list[Any]] = {}
        connection = _connection_of(self._session)
        for start in range(0, len(wanted), _OFFERS_AT_ONCE):
            chunk = wanted[start : start + _OFFERS_AT_ONCE]
            found = _offers_of(len(chunk)).execute(
                connection, {f"s{i}": sku_id for i, sku_id in enumerate(chunk)}
            )
            for row in found.fetchall():
                if row[0] in rows:
                    rows[row[0]][-1].add(row[9])
                else:
                    rows[row[0]] = [row, {row[9]} - {None}]
        return {
            sku_id: SkuOffer(
                sku_id=sku_id,
                product_id=row[1],
                seller_id=row[2],
                name=row[3],
                spec=row[4],
                category=row[5],
                price=Money(row[6]),
                stock=row[7],
                on_sale=bool(row[8]),
                community_ids=frozenset(communities_of),
            )
            for sku_id, (row, communities_of) in rows.items()
        }

    @_translating
    def take_stock(self, units: Mapping[SkuId, int]) -> None:
        for sku_id in sorted(units):
            quantity = units[sku_id]
            done = _TAKE.execute(
                _connection_of(self._session), {"sku_id": sku_id, "units": quantity}
            )
            if done.rowcount != 1:
                on_hand = self._session.scalar(sa.select(skus.c.stock).where(skus.c.id == sku_id))
                if on_hand is None:
                    raise SkuNotFound(f"no SKU with id {sku_id!r}", id=sku_id)
                raise InsufficientStock(
                    f"only {on_hand} of SKU {sku_id} left", sku_id=sku_id, on_hand=on_hand
                )

    @_translating
    def return_stock(self, units: Mapping[SkuId, int]) -> None:
        for sku_id in sorted(units):
            _RETURN.execute(
                _connection_of(self._session), {"sku_id": sku_id, "units": units[sku_id]}
            )

    def for_products(self, product_ids: Iterable[ProductId]) -> Mapping[ProductId, list[Sku]]:
        wanted = list(dict.fromkeys(product_ids))
        found: dict[ProductId, list[Sku]] = {pid: [] for pid in wanted}
        if wanted:
            stmt = (
                sa.select(Sku)
                .where(skus.c.product_id.in_(wanted))
                .order_by(skus.c.created_at, skus.c.id)
            )
            for sku in self._many(stmt):
                found[sku.product_id].append(sku)
        return found


_OFFERS = (
    sa.select(
        skus.c.id,
        skus.c.product_id,
        products.c.seller_id,
        products.c.name,
        skus.c.spec,
        products.c.category,
        skus.c.price_fen,
        skus.c.stock,
        skus.c.on_sale,
        sku_listings.c.community_id,
    )
    .join(products, products.c.id == skus.c.product_id)
    .outerjoin(sku_listings, sku_listings.c.sku_id == skus.c.id)
)
_OFFERS_AT_ONCE = 100


@functools.cache
def _offers_of(count: int) -> DriverStatement:
    """The offers query for ``count`` SKU ids, bound as ``s0`` … (one statement per count,
    compiled once)."""
    return DriverStatement(
        _OFFERS.where(skus.c.id.in_([sa.bindparam(f"s{i}") for i in range(count)]))
    )


# Stock moved by orders: a guarded decrement, and its reverse. The version stays: catalog
# edits lock the row (FOR UPDATE) and never write the stock they did not change.
_TAKE = DriverStatement(
    skus.update()
    .where(skus.c.id == sa.bindparam("sku_id"), skus.c.stock >= sa.bindparam("units"))
    .values(stock=skus.c.stock - sa.bindparam("units"))
)
_RETURN = DriverStatement(
    skus.update()
    .where(skus.c.id == sa.bindparam("sku_id"))
    .values(stock=skus.c.stock + sa.bindparam("units"))
)


class _Carts(_Repository[Cart]):
    model, not_found, label = Cart, NotFound, "cart"

    def find_for(self, resident_id: AccountId, community_id: CommunityId) -> Cart | None:
        for cart in self.added.values():
            if (cart.resident_id, cart.community_id) == (resident_id, community_id):
                return cart
        found = self._many(
            sa.select(Cart).where(
                carts.c.resident_id == resident_id, carts.c.community_id == community_id
            )
        )
        return found[0] if found else None


class _Coupons(_Repository[Coupon]):
    model, not_found, label = Coupon, CouponNotFound, "coupon"

    def find_by_code(self, claim_code: str) -> Coupon | None:
        found = self._many(
            sa.select(Coupon)
            .where(coupons.c.claim_code == claim_code)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return found[0] if found else None

    def list(self, seller_id: str | None = None, *, platform: bool = False) -> list[Coupon]:
        stmt = sa.select(Coupon).order_by(coupons.c.created_at.desc(), coupons.c.id.desc())
        if seller_id is not None:
            stmt = stmt.where(coupons.c.seller_id == seller_id)
        if platform:
            stmt = stmt.where(coupons.c.seller_id.is_(None))
        return self._many(stmt)


class _Grants(_Repository[CouponGrant]):
    model, not_found, label = CouponGrant, CouponNotFound, "coupon"

    def of_resident(
        self, resident_id: AccountId, coupon_id: CouponId | None = None
    ) -> list[CouponGrant]:
        stmt = sa.select(CouponGrant).where(coupon_grants.c.resident_id == resident_id)
        if coupon_id is not None:
            stmt = stmt.where(coupon_grants.c.coupon_id == coupon_id)
        found = self._many(stmt) + [
            g
            for g in self.added.values()
            if g.resident_id == resident_id and coupon_id in (None, g.coupon_id)
        ]
        return sorted(found, key=lambda g: (g.granted_at, g.id))


_ORDER_COLUMNS = [c.name for c in orders.columns]
_LINE_COLUMNS = [c.name for c in order_lines.columns]
_ORDER_MONEY = {
    "subtotal": "subtotal_fen",
    "discount": "discount_fen",
    "delivery_fee": "delivery_fee_fen",
    "total": "total_fen",
    "refunded": "refunded_fen",
}
_LINE_MONEY = {
    "unit_price": "unit_price_fen",
    "subtotal": "subtotal_fen",
    "discount": "discount_fen",
    "payable": "payable_fen",
    "refunded_amount": "refunded_fen",
    "pending_amount": "pending_fen",
}
_LINE_MUTABLE = ("refunded_quantity", "refunded_fen", "pending_quantity", "pending_fen")
_INSERT_OUTBOX = DriverStatement(outbox.insert().inline(), ["name", "payload", "occurred_at"])
_BY_KEY = DriverStatement(
    sa.select(orders.c.id).where(
        orders.c.resident_id == sa.bindparam("resident_id"),
        orders.c.idempotency_key == sa.bindparam("key"),
    )
)
_INSERT_ORDER = DriverStatement(orders.insert().inline(), _ORDER_COLUMNS)
_INSERT_LINES = DriverStatement(order_lines.insert().inline(), _LINE_COLUMNS)
_UPDATE_ORDER = (
    orders.update()
    .where(orders.c.id == sa.bindparam("order_id"), orders.c.version == sa.bindparam("loaded"))
    .values({c: sa.bindparam(c) for c in _ORDER_COLUMNS if c != "id"})
)
_UPDATE_LINE = (
    order_lines.update()
    .where(
        order_lines.c.order_id == sa.bindparam("line_order"),
        order_lines.c.sku_id == sa.bindparam("line_sku"),
    )
    .values({c: sa.bindparam(c) for c in _LINE_MUTABLE})
)


def _order_row(order: Order) -> dict[str, Any]:
    row = {
        "id": order.id,
        "resident_id": order.resident_id,
        "community_id": order.community_id,
        "status": order.status,
        "fulfilment": order.delivery.kind,
        "pickup_point_id": order.delivery.pickup_point_id,
        "address_id": order.delivery.address_id,
        "express": order.delivery.express,
        "delivery_fee_refunded": order.delivery_fee_refunded,
        "placed_at": order.placed_at,
        "expires_at": order.expires_at,
        "paid_at": order.paid_at,
        "payment_ref": order.payment_ref,
        "idempotency_key": order.idempotency_key,
        "request_digest": order.request_digest,
        "grant_ids": order.grant_ids,
        "history": order.history,
        "pickup_date": order.pickup_date,
        "group_id": order.group_id,
        "awaiting_group": order.awaiting_group,
        "version": order.version,
        "delivery_slot_id": order.delivery.slot_id,
    }
    row.update({column: getattr(order, name).fen for name, column in _ORDER_MONEY.items()})
    return row


def _line_row(order_id: OrderId, line: OrderLine) -> dict[str, Any]:
    row: dict[str, Any] = {
        "order_id": order_id,
        "sku_id": line.sku_id,
        "product_id": line.product_id,
        "seller_id": line.seller_id,
        "name": line.name,
        "spec": line.spec,
        "quantity": line.quantity,
        "refunded_quantity": line.refunded_quantity,
        "pending_quantity": line.pending_quantity,
    }
    row.update({column: getattr(line, name).fen for name, column in _LINE_MONEY.items()})
    return row


class _Orders:
    """Orders, written and read with SQL expressions rather than the ORM's unit of work.

    An order is the busiest write of all (every checkout inserts one with its lines), so
    this repository maps it by hand: one multi-row insert per table on flush, and for a
    changed order an update guarded by the version it was loaded at, as the ORM's
    optimistic lock would be.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self.seen: dict[OrderId, Order] = {}
        self.added: dict[OrderId, Order] = {}
        self._loaded: dict[OrderId, int] = {}

    def _connection(self) -> sa.Connection:
        return _connection_of(self._session)

    def add(self, order: Order) -> None:
        self.added[order.id] = order
        self.seen[order.id] = order

    @_translating
    def _load(self, stmt: sa.Select[Any], *, locked: bool = False) -> list[Order]:
        """Orders for the rows of ``stmt``; a locking read replaces what was loaded before,
        since it returns the row as it is now."""
        connection = self._connection()
        rows = connection.execute(stmt).mappings().all()
        fresh = [row for row in rows if locked or row["id"] not in self.seen]
        lines: dict[str, list[OrderLine]] = {row["id"]: [] for row in fresh}
        if lines:
            found = connection.execute(
                sa.select(order_lines)
                .where(order_lines.c.order_id.in_(list(lines)))
                .order_by(order_lines.c.order_id, order_lines.c.sku_id)
            ).mappings()
            for line in found:
                lines[line["order_id"]].append(
                    OrderLine(
                        sku_id=line["sku_id"],
                        product_id=line["product_id"],
                        seller_id=line["seller_id"],
                        name=line["name"],
                        spec=line["spec"],
                        quantity=line["quantity"],
                        refunded_quantity=line["refunded_quantity"],
                        pending_quantity=line["pending_quantity"],
                        **{name: Money(line[column]) for name, column in _LINE_MONEY.items()},
                    )
                )
        for row in fresh:
            order = Order(
                id=row["id"],
                resident_id=row["resident_id"],
                community_id=row["community_id"],
                status=row["status"],
                delivery=Delivery(
                    row["fulfilment"],
                    row["pickup_point_id"],
                    row["address_id"],
                    row["express"],
                    row["delivery_slot_id"],
                ),
                lines=lines[row["id"]],
                placed_at=row["placed_at"],
                expires_at=row["expires_at"],
                paid_at=row["paid_at"],
                payment_ref=row["payment_ref"],
                delivery_fee_refunded=row["delivery_fee_refunded"],
                idempotency_key=row["idempotency_key"],
                request_digest=row["request_digest"],
                grant_ids=row["grant_ids"],
                history=row["history"],
                pickup_date=row["pickup_date"],
                group_id=row["group_id"],
                awaiting_group=row["awaiting_group"],
                version=row["version"],
                **{name: Money(row[column]) for name, column in _ORDER_MONEY.items()},
            )
            self.seen[order.id], self._loaded[order.id] = order, order.version
        return [self.seen[row["id"]] for row in rows]

    def find(self, order_id: OrderId) -> Order | None:
        if order_id in self.seen:
            return self.seen[order_id]
        found = self._load(sa.select(orders).where(orders.c.id == order_id))
        return found[0] if found else None

    def get(self, order_id: OrderId) -> Order:
        order = self.find(order_id)
        if order is None:
            raise OrderNotFound(f"no order with id {order_id!r}", id=order_id)
        return order

    def get_for_update(self, order_id: OrderId) -> Order:
        if order_id in self.added:
            return self.added[order_id]
        found = self._load(
            sa.select(orders).where(orders.c.id == order_id).with_for_update(), locked=True
        )
        if not found:
            raise OrderNotFound(f"no order with id {order_id!r}", id=order_id)
        return found[0]

    @_translating
    def find_by_key(self, resident_id: AccountId, idempotency_key: str) -> Order | None:
        found = _BY_KEY.execute(
            self._connection(), {"resident_id": resident_id, "key": idempotency_key}
        ).fetchone()
        return None if found is None else self.get(OrderId(found[0]))

    def search(self, query: OrderQuery) -> list[Order]:
        stmt = sa.select(orders)
        for column, value in (
            (orders.c.resident_id, query.resident_id),
            (orders.c.community_id, query.community_id),
            (orders.c.status, query.status),
            (orders.c.pickup_point_id, query.pickup_point_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if query.since is not None:
            stmt = stmt.where(orders.c.placed_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(orders.c.placed_at < query.until)
        if query.seller_id is not None:
            stmt = stmt.where(
                sa.exists().where(
                    order_lines.c.order_id == orders.c.id,
                    order_lines.c.seller_id == query.seller_id,
                )
            )
        if query.after is not None:
            at, order_id = query.after
            stmt = stmt.where(
                sa.or_(
                    orders.c.placed_at < at,
                    sa.and_(orders.c.placed_at == at, orders.c.id < order_id),
                )
            )
        order = (orders.c.placed_at.desc(), orders.c.id.desc())
        return self._load(stmt.order_by(*order).limit(query.limit))

    def to_deliver(
        self, pickup_date: dt.date, slot_ids: Iterable[DeliverySlotId] = ()
    ) -> list[Order]:
        c = orders.c
        on_its_way = sa.or_(
            sa.and_(c.fulfilment == Fulfilment.PICKUP, c.pickup_date == pickup_date),
            c.delivery_slot_id.in_(sorted(set(slot_ids))),
        )
        stmt = sa.select(orders).where(
            c.status.in_([OrderStatus.PAID, OrderStatus.PACKED]), on_its_way
        )
        return self._load(stmt.order_by(c.id))

    def due_to_expire(self, now: dt.datetime, limit: int, *, grouped: bool = False) -> list[Order]:
        in_group = orders.c.group_id.is_not(None) if grouped else orders.c.group_id.is_(None)
        return self._load(
            sa.select(orders)
            .where(
                orders.c.status == OrderStatus.PENDING_PAYMENT,
                orders.c.expires_at <= now,
                in_group,
            )
            .order_by(orders.c.expires_at, orders.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True),
            locked=True,
        )

    def flush_added(self) -> None:
        if not self.added:
            return
        connection = self._connection()
        _INSERT_ORDER.execute_many(connection, [_order_row(o) for o in self.added.values()])
        _INSERT_LINES.execute_many(
            connection, [_line_row(o.id, line) for o in self.added.values() for line in o.lines]
        )
        for order in self.added.values():
            self._loaded[order.id] = order.version
        self.added.clear()

    def flush_changed(self) -> None:
        connection = self._connection()
        for order in self.seen.values():
            loaded = self._loaded.get(order.id)
            if loaded is None or loaded == order.version:
                continue
            done = connection.execute(
                _UPDATE_ORDER, {**_order_row(order), "order_id": order.id, "loaded": loaded}
            )
            if done.rowcount != 1:
                raise ConcurrentUpdate(
                    f"order {order.id} was changed by someone else first; try again",
                    id=order.id,
                )
            connection.execute(
                _UPDATE_LINE,
                [
                    {
                        **{c: row[c] for c in _LINE_MUTABLE},
                        "line_order": order.id,
                        "line_sku": line.sku_id,
                    }
                    for line in order.lines
                    for row in (_line_row(order.id, line),)
                ],
            )
            self._loaded[order.id] = order.version


class _Refunds(_Repository[Refund]):
    model, not_found, label = Refund, RefundNotFound, "refund"

    def search(self, query: RefundQuery) -> list[Refund]:
        stmt = sa.select(Refund)
        if query.status is not None:
            stmt = stmt.where(refunds.c.status == query.status.value)
        if query.order_id is not None:
            stmt = stmt.where(refunds.c.order_id == query.order_id)
        if query.community_id is not None:
            stmt = stmt.join(orders, orders.c.id == refunds.c.order_id).where(
                orders.c.community_id == query.community_id
            )
        if query.awaiting_payout:
            stmt = stmt.where(
                refunds.c.status == RefundStatus.APPROVED.value,
                refunds.c.payment_refund_ref.is_(None),
            )
        order = (refunds.c.requested_at.desc(), refunds.c.id.desc())
        return self._many(stmt.order_by(*order).limit(query.limit))


class _Payments(_Repository[Payment]):
    model, not_found, label = Payment, PaymentNotFound, "payment"

    def search(self, query: PaymentQuery) -> list[Payment]:
        stmt = sa.select(Payment)
        if query.order_id is not None:
            stmt = stmt.where(payments.c.order_id == query.order_id)
        if query.status is not None:
            stmt = stmt.where(payments.c.status == query.status.value)
        if query.provider is not None:
            stmt = stmt.where(payments.c.provider == query.provider)
        if query.flagged:
            stmt = stmt.where(payments.c.flag != "")
        order = (payments.c.created_at.desc(), payments.c.id.desc())
        return self._many(stmt.order_by(*order).limit(query.limit))

    def still_open(self, created_before: dt.datetime, limit: int) -> list[Payment]:
        open_ = (PaymentStatus.CREATED.value, PaymentStatus.AUTHORISED.value)
        stmt = sa.select(Payment).where(
            payments.c.status.in_(open_), payments.c.created_at < created_before
        )
        return self._many(stmt.order_by(payments.c.created_at, payments.c.id).limit(limit))

    def with_open_refunds(self, limit: int) -> list[Payment]:
        open_ = (PaymentRefundStatus.TO_SEND.value, PaymentRefundStatus.SENT.value)
        waiting = sa.select(payment_refunds.c.payment_id).where(payment_refunds.c.status.in_(open_))
        stmt = sa.select(Payment).where(payments.c.id.in_(waiting))
        return self._many(stmt.order_by(payments.c.created_at, payments.c.id).limit(limit))

    def moved_between(self, start: dt.datetime, end: dt.datetime) -> list[Payment]:
        moving = (
            EntryKind.CHARGED.value,
            EntryKind.REFUND_SENT.value,
            EntryKind.REFUND_SUCCEEDED.value,
        )
        moved = sa.select(payment_entries.c.payment_id).where(
            payment_entries.c.kind.in_(moving),
            payment_entries.c.at >= start,
            payment_entries.c.at < end,
        )
        stmt = sa.select(Payment).where(payments.c.id.in_(moved))
        return self._many(stmt.order_by(payments.c.created_at, payments.c.id))


class _Campaigns(_Repository[GroupBuyCampaign]):
    model, not_found, label = GroupBuyCampaign, CampaignNotFound, "campaign"

    def running_in(self, community_id: CommunityId, now: dt.datetime) -> list[GroupBuyCampaign]:
        c = group_buy_campaigns.c
        stmt = sa.select(GroupBuyCampaign).where(c.starts_at <= now, c.ends_at > now)
        found = self._many(stmt.order_by(c.ends_at, c.id))
        return [campaign for campaign in found if community_id in campaign.community_ids]

    def for_pickup_on(self, day: dt.date) -> list[GroupBuyCampaign]:
        c = group_buy_campaigns.c
        return self._many(sa.select(GroupBuyCampaign).where(c.pickup_date == day).order_by(c.id))


class _Commissions(_Repository[CommissionEntry]):
    model, not_found, label = CommissionEntry, NotFound, "commission"

    def of_leader(self, leader_id: AccountId) -> list[CommissionEntry]:
        c = leader_commissions.c
        stmt = sa.select(CommissionEntry).where(c.leader_id == leader_id)
        return self._many(stmt.order_by(c.earned_at.desc(), c.group_id.desc()))


_SETTLING = (GroupStatus.OPEN.value, GroupStatus.SUCCEEDED.value)
_HOLDING = (*_SETTLING, GroupStatus.SETTLED.value)


class _GroupBuys(_Repository[GroupBuy]):
    model, not_found, label = GroupBuy, GroupBuyNotFound, "group"

    def find_by_invite_code(self, invite_code: str) -> GroupBuy | None:
        found = self._many(sa.select(GroupBuy).where(group_buys.c.invite_code == invite_code))
        return found[0] if found else None

    def _newest(self, stmt: sa.Select[Any]) -> list[GroupBuy]:
        return self._many(stmt.order_by(group_buys.c.started_at.desc(), group_buys.c.id.desc()))

    def of_resident(self, resident_id: AccountId) -> list[GroupBuy]:
        joined = sa.select(group_buy_participants.c.group_id).where(
            group_buy_participants.c.resident_id == resident_id
        )
        return self._newest(
            sa.select(GroupBuy).where(
                sa.or_(group_buys.c.leader_id == resident_id, group_buys.c.id.in_(joined))
            )
        )

    def of_campaign(self, campaign_id: CampaignId) -> list[GroupBuy]:
        return self._newest(sa.select(GroupBuy).where(group_buys.c.campaign_id == campaign_id))

    def quantity_in_campaign(self, campaign_id: CampaignId, resident_id: AccountId) -> int:
        p, g = group_buy_participants.c, group_buys.c
        stmt = (
            sa.select(sa.func.coalesce(sa.func.sum(p.quantity), 0))
            .join_from(group_buy_participants, group_buys, g.id == p.group_id)
            .where(
                g.campaign_id == campaign_id,
                g.status.in_(_HOLDING),
                p.resident_id == resident_id,
                p.left_at.is_(None),
            )
        )
        return int(self._session.scalar(stmt) or 0)

    def due_to_settle(
        self, now: dt.datetime, limit: int, campaign_id: CampaignId | None = None
    ) -> list[GroupBuy]:
        g = group_buys.c
        stmt = sa.select(GroupBuy).where(g.status.in_(_SETTLING), g.deadline <= now)
        if campaign_id is not None:
            stmt = stmt.where(g.campaign_id == campaign_id)
        stmt = (
            stmt.order_by(g.deadline, g.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=group_buys)
            .execution_options(populate_existing=True)
        )
        return self._many(stmt)

    def campaigns_to_settle(self, now: dt.datetime) -> list[CampaignId]:
        g = group_buys.c
        stmt = (
            sa.select(g.campaign_id)
            .where(g.status.in_(_SETTLING), g.deadline <= now)
            .group_by(g.campaign_id)
            .order_by(sa.func.min(g.deadline), g.campaign_id)
        )
        return [CampaignId(x) for x in self._session.scalars(stmt)]


class _PickupPoints(_Repository[PickupPoint]):
    model, not_found, label = PickupPoint, PickupPointNotFound, "pickup point"

    def in_community(self, community_id: CommunityId) -> list[PickupPoint]:
        p = pickup_points.c
        stmt = sa.select(PickupPoint).where(p.community_id == community_id)
        return self._many(stmt.order_by(p.name, p.id))

    @_translating
    def reserve(self, point_id: PickupPointId, day: dt.date, capacity: int) -> int:
        d = pickup_point_days.c
        connection = _connection_of(self._session)
        connection.execute(  # the day's row, once; then the guarded increment locks it
            _insert_ignoring(connection, pickup_point_days).values(
                pickup_point_id=point_id, day=day, booked=0
            )
        )
        booked = connection.execute(
            pickup_point_days.update()
            .where(d.pickup_point_id == point_id, d.day == day, d.booked < capacity)
            .values(booked=d.booked + 1)
            .returning(d.booked)
        ).scalar_one_or_none()
        if booked is None:
            raise PickupPointFull(
                f"pickup point {point_id} is full on {day.isoformat()} ({capacity} parcels)",
                pickup_point_id=point_id,
            )
        return int(booked)

    @_translating
    def release(self, point_id: PickupPointId, day: dt.date) -> None:
        d = pickup_point_days.c
        _connection_of(self._session).execute(
            pickup_point_days.update()
            .where(d.pickup_point_id == point_id, d.day == day, d.booked > 0)
            .values(booked=d.booked - 1)
        )

    @_translating
    def booked(self, point_id: PickupPointId, day: dt.date) -> int:
        d = pickup_point_days.c
        found = (
            _connection_of(self._session)
            .execute(sa.select(d.booked).where(d.pickup_point_id == point_id, d.day == day))
            .scalar_one_or_none()
        )
        return int(found or 0)


class _PickupTickets(_Repository[PickupTicket]):
    model, not_found, label = PickupTicket, NotFound, "pickup ticket"

    def waiting_with(self, point_id: PickupPointId, code: str) -> PickupTicket | None:
        t = pickup_tickets.c
        stmt = (
            sa.select(PickupTicket)
            .where(
                t.pickup_point_id == point_id,
                t.code == code,
                t.status == TicketStatus.WAITING.value,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found = self._many(stmt)
        return found[0] if found else None

    @_translating
    def codes_waiting(self, point_id: PickupPointId) -> set[str]:
        t = pickup_tickets.c
        stmt = sa.select(t.code).where(
            t.pickup_point_id == point_id, t.status == TicketStatus.WAITING.value
        )
        stored = set(self._session.scalars(stmt))
        return stored | {
            x.code for x in self.added.values() if x.pickup_point_id == point_id and x.waiting
        }

    def waiting_since(self, before: dt.datetime, limit: int) -> list[PickupTicket]:
        t = pickup_tickets.c
        stmt = (
            sa.select(PickupTicket)
            .where(t.status == TicketStatus.WAITING.value, t.arrived_at < before)
            .order_by(t.arrived_at, t.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return self._many(stmt)


class _Shipments(_Repository[Shipment]):
    model, not_found, label = Shipment, DeliveryNotFound, "delivery"

    def by_courier_ref(self, courier: str, courier_ref: str) -> Shipment | None:
        x = shipments.c
        stmt = (
            sa.select(Shipment)
            .where(x.courier == courier, x.courier_ref == courier_ref)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found = self._many(stmt)
        return found[0] if found else None

    def waiting(self, limit: int) -> list[Shipment]:
        x = shipments.c
        stmt = (
            sa.select(Shipment)
            .where(x.status == DeliveryStatus.CREATED.value)
            .order_by(x.created_at, x.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return self._many(stmt)

    def with_team(
        self, community_ids: Iterable[CommunityId] | None = None, *, open_only: bool = True
    ) -> list[Shipment]:
        x = shipments.c
        stmt = sa.select(Shipment).where(x.courier == TEAM)
        if community_ids is not None:
            stmt = stmt.where(x.community_id.in_(list(community_ids)))
        if open_only:
            stmt = stmt.where(x.status.in_([s.value for s in _RIDING]))
        return self._many(stmt.order_by(x.created_at, x.id))


_RIDING = (DeliveryStatus.ASSIGNED, DeliveryStatus.PICKED_UP, DeliveryStatus.OUT_FOR_DELIVERY)


class _DeliverySlots(_Repository[DeliverySlot]):
    model, not_found, label = DeliverySlot, DeliverySlotNotFound, "delivery slot"

    def starting_between(
        self, start: dt.datetime, end: dt.datetime, community_id: CommunityId | None = None
    ) -> list[DeliverySlot]:
        d = delivery_slots.c
        stmt = sa.select(DeliverySlot).where(d.starts_at >= start, d.starts_at < end)
        if community_id is not None:
            stmt = stmt.where(d.community_id == community_id)
        return self._many(stmt.order_by(d.starts_at, d.ends_at, d.id))

    @_translating
    def reserve(self, slot_id: DeliverySlotId) -> int:
        d = delivery_slots.c
        booked = (
            _connection_of(self._session)
            .execute(
                delivery_slots.update()
                .where(d.id == slot_id, d.booked < d.capacity)
                .values(booked=d.booked + 1)
                .returning(d.booked)
            )
            .scalar_one_or_none()
        )
        if booked is None:
            raise DeliverySlotFull(f"delivery slot {slot_id} is full", slot_id=slot_id)
        return int(booked)

    @_translating
    def release(self, slot_id: DeliverySlotId) -> None:
        d = delivery_slots.c
        _connection_of(self._session).execute(
            delivery_slots.update().where(d.id == slot_id, d.booked > 0).values(booked=d.booked - 1)
        )

    @_translating
    def booked(self, slot_ids: Iterable[DeliverySlotId]) -> dict[DeliverySlotId, int]:
        wanted = sorted(set(slot_ids))
        if not wanted:
            return {}
        d = delivery_slots.c
        rows = _connection_of(self._session).execute(
            sa.select(d.id, d.booked).where(d.id.in_(wanted))
        )
        found = {DeliverySlotId(row.id): int(row.booked) for row in rows}
        return {i: found.get(i, 0) for i in wanted}


class _Providers(_Repository[ServiceProvider]):
    model, not_found, label = ServiceProvider, ProviderNotFound, "merchant"

    def search(self, query: ProviderQuery) -> list[ServiceProvider]:
        x = service_providers.c
        stmt = sa.select(ServiceProvider)
        if query.kind is not None:
            stmt = stmt.where(x.kind == query.kind)
        if query.verified_only:
            stmt = stmt.where(x.verified.is_(True))
        if query.community_id is not None:  # a JSON array of ids: '["c1", "c2"]'
            member = '%"' + _like_escaped(query.community_id) + '"%'
            stmt = stmt.where(sa.cast(x.community_ids, sa.Text).like(member, escape="\\"))
        for word in query.words:
            pattern = "%" + _like_escaped(word.casefold()) + "%"
            stmt = stmt.where(
                sa.or_(
                    *(
                        sa.func.lower(c).like(pattern, escape="\\")
                        for c in (x.name, x.description, x.address)
                    )
                )
            )
        found = self._many(stmt.order_by(x.name, x.id).limit(query.limit))
        return [p for p in found if p.matches(query.words)]  # casefold beyond lower()


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Staff(_Repository[StaffMember]):
    model, not_found, label = StaffMember, StaffNotFound, "member of staff"

    def of_provider(self, provider_id: ProviderId) -> list[StaffMember]:
        x = service_staff.c
        return self._many(
            sa.select(StaffMember).where(x.provider_id == provider_id).order_by(x.name, x.id)
        )


class _Offerings(_Repository[ServiceOffering]):
    model, not_found, label = ServiceOffering, OfferingNotFound, "offering"

    def of_provider(self, provider_id: ProviderId) -> list[ServiceOffering]:
        x = service_offerings.c
        return self._many(
            sa.select(ServiceOffering).where(x.provider_id == provider_id).order_by(x.name, x.id)
        )


_HOLDING_STAFF = [s.value for s in BookingStatus if s.holds_staff]


class _Bookings(_Repository[ServiceBooking]):
    model, not_found, label = ServiceBooking, BookingNotFound, "booking"

    def find_by_key(self, resident_id: AccountId, idempotency_key: str) -> ServiceBooking | None:
        x = service_bookings.c
        found = self._many(
            sa.select(ServiceBooking).where(
                x.resident_id == resident_id, x.idempotency_key == idempotency_key
            )
        )
        return found[0] if found else None

    def busy(self, staff_id: StaffId, start: dt.datetime, end: dt.datetime) -> list[ServiceBooking]:
        x = service_bookings.c
        stmt = (
            sa.select(ServiceBooking)
            .where(
                x.staff_id == staff_id,
                x.status.in_(_HOLDING_STAFF),
                x.starts_at < end,
                x.starts_at >= start - LONGEST_BUSY,  # bounds the index's range from below
                x.busy_until > start,
            )
            .order_by(x.starts_at, x.id)
            .execution_options(populate_existing=True)
        )
        return self._many(stmt)

    def of_resident(self, resident_id: AccountId) -> list[ServiceBooking]:
        x = service_bookings.c
        stmt = sa.select(ServiceBooking).where(x.resident_id == resident_id)
        return self._many(stmt.order_by(x.starts_at.desc(), x.id))

    def of_provider(
        self, provider_id: ProviderId, start: dt.datetime, end: dt.datetime
    ) -> list[ServiceBooking]:
        x = service_bookings.c
        stmt = sa.select(ServiceBooking).where(
            x.provider_id == provider_id, x.starts_at >= start, x.starts_at < end
        )
        return self._many(stmt.order_by(x.starts_at, x.id))

    def to_remind(self, start: dt.datetime, end: dt.datetime, limit: int) -> list[ServiceBooking]:
        x = service_bookings.c
        stmt = (
            sa.select(ServiceBooking)
            .where(
                x.status.in_([BookingStatus.REQUESTED.value, BookingStatus.CONFIRMED.value]),
                x.starts_at >= start,
                x.starts_at < end,
                x.reminded_at.is_(None),
            )
            .order_by(x.starts_at, x.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return self._many(stmt)


class _Announcements(_Repository[Announcement]):
    model, not_found, label = Announcement, AnnouncementNotFound, "announcement"

    def shown_in(
        self, community_id: CommunityId, now: dt.datetime, limit: int
    ) -> list[Announcement]:
        x = announcements.c
        member = '%"' + _like_escaped(community_id) + '"%'
        stmt = (
            sa.select(Announcement)
            .where(
                sa.cast(x.community_ids, sa.Text).like(member, escape="\\"),
                x.withdrawn.is_(False),
                x.publish_at <= now,
                sa.or_(x.expires_at.is_(None), x.expires_at > now),
            )
            .order_by(x.pinned.desc(), x.publish_at.desc(), x.id)
            .limit(limit)
        )
        return [a for a in self._many(stmt) if a.shown(community_id, now)]


class _Activities(_Repository[Activity]):
    model, not_found, label = Activity, ActivityNotFound, "activity"

    def in_community(
        self, community_id: CommunityId, start: dt.datetime, end: dt.datetime
    ) -> list[Activity]:
        x = activities.c
        stmt = sa.select(Activity).where(
            x.community_id == community_id, x.starts_at >= start, x.starts_at < end
        )
        return self._many(stmt.order_by(x.starts_at, x.id))


class _SignUps(_Repository[ActivitySignUp]):
    model, not_found, label = ActivitySignUp, NotFound, "sign-up"

    def of_activity(self, activity_id: ActivityId) -> list[ActivitySignUp]:
        x = activity_signups.c
        stmt = (
            sa.select(ActivitySignUp)
            .where(x.activity_id == activity_id)
            .order_by(x.seq)
            .execution_options(populate_existing=True)
        )
        return self._many(stmt)

    def active(self, activity_id: ActivityId, resident_id: AccountId) -> ActivitySignUp | None:
        x = activity_signups.c
        found = self._many(
            sa.select(ActivitySignUp).where(
                x.activity_id == activity_id,
                x.resident_id == resident_id,
                x.status != SignUpStatus.CANCELLED.value,
            )
        )
        return found[0] if found else None


class _Complaints(_Repository[Complaint]):
    model, not_found, label = Complaint, ComplaintNotFound, "complaint"

    def search(self, query: ComplaintQuery) -> list[Complaint]:
        x = complaints.c
        stmt = sa.select(Complaint)
        for column, value in (
            (x.resident_id, query.resident_id),
            (x.community_id, query.community_id),
            (x.status, query.status),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if query.overdue_at is not None:
            stmt = stmt.where(
                x.first_response_at.is_(None),
                x.respond_by < query.overdue_at,
                x.status.not_in([ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED]),
            )
        return self._many(stmt.order_by(x.created_at, x.id).limit(query.limit))


class _Boards(_Repository[Board]):
    model, not_found, label = Board, BoardNotFound, "board"

    def of_community(self, community_id: CommunityId) -> list[Board]:
        x = forum_boards.c
        return self._many(
            sa.select(Board).where(x.community_id == community_id).order_by(x.created_at, x.id)
        )


def _to_review(x: Any, community_id: CommunityId) -> sa.ColumnElement[bool]:
    return sa.and_(
        x.community_id == community_id,
        sa.or_(
            x.status == ContentStatus.HELD,
            sa.and_(x.status == ContentStatus.PUBLISHED, x.open_reports > 0),
        ),
    )


class _Posts(_Repository[Post]):
    model, not_found, label = Post, PostNotFound, "post"

    def in_board(
        self,
        board_id: BoardId,
        *,
        reader_id: AccountId | None,
        after: tuple[dt.datetime, PostId] | None,
        limit: int,
    ) -> list[Post]:
        x = forum_posts.c
        shown = x.status == ContentStatus.PUBLISHED
        if reader_id is not None:
            mine = sa.and_(x.author_id == reader_id, x.status != ContentStatus.DELETED)
            shown = sa.or_(shown, mine)
        stmt = sa.select(Post).where(x.board_id == board_id, shown)
        if after is not None:
            at, post_id = after
            stmt = stmt.where(
                sa.or_(x.last_activity_at < at, sa.and_(x.last_activity_at == at, x.id < post_id))
            )
        return self._many(stmt.order_by(x.last_activity_at.desc(), x.id.desc()).limit(limit))

    def to_review(self, community_id: CommunityId, limit: int) -> list[Post]:
        x = forum_posts.c
        stmt = sa.select(Post).where(_to_review(x, community_id))
        return self._many(stmt.order_by(x.created_at, x.id).limit(limit))


class _Comments(_Repository[Comment]):
    model, not_found, label = Comment, CommentNotFound, "comment"

    def of_post(self, post_id: PostId) -> list[Comment]:
        x = forum_comments.c
        return self._many(
            sa.select(Comment).where(x.post_id == post_id).order_by(x.created_at, x.id)
        )

    def to_review(self, community_id: CommunityId, limit: int) -> list[Comment]:
        x = forum_comments.c
        stmt = sa.select(Comment).where(_to_review(x, community_id))
        return self._many(stmt.order_by(x.created_at, x.id).limit(limit))


class _Likes(_Repository[PostLike]):
    model, not_found, label = PostLike, NotFound, "like"

    def find_of(self, post_id: PostId, account_id: AccountId) -> PostLike | None:
        x = forum_likes.c
        found = self._many(
            sa.select(PostLike).where(x.post_id == post_id, x.account_id == account_id)
        )
        return found[0] if found else None

    def liked_by(self, account_id: AccountId, post_ids: Sequence[PostId]) -> set[PostId]:
        if not post_ids:
            return set()
        x = forum_likes.c
        stmt = sa.select(PostLike).where(
            x.account_id == account_id, x.liked.is_(True), x.post_id.in_(list(post_ids))
        )
        return {like.post_id for like in self._many(stmt)}


class _ForumReports(_Repository[ForumReport]):
    model, not_found, label = ForumReport, NotFound, "report"

    def find_by(
        self, reporter_id: AccountId, kind: ContentKind, content_id: str
    ) -> ForumReport | None:
        x = forum_reports.c
        found = self._many(
            sa.select(ForumReport).where(
                x.reporter_id == reporter_id, x.kind == kind, x.content_id == content_id
            )
        )
        return found[0] if found else None

    def open_on(self, kind: ContentKind, content_id: str) -> list[ForumReport]:
        x = forum_reports.c
        stmt = sa.select(ForumReport).where(
            x.kind == kind, x.content_id == content_id, x.status == ReportStatus.OPEN
        )
        return self._many(stmt.order_by(x.created_at, x.id))


class _Reviews(_Repository[Review]):
    model, not_found, label = Review, ReviewNotFound, "review"

    def find_for_line(self, order_id: OrderId, sku_id: SkuId) -> Review | None:
        x = reviews.c
        found = self._many(sa.select(Review).where(x.order_id == order_id, x.sku_id == sku_id))
        return found[0] if found else None

    def find_for_booking(self, booking_id: BookingId) -> Review | None:
        found = self._many(sa.select(Review).where(reviews.c.booking_id == booking_id))
        return found[0] if found else None

    def of_subject(
        self,
        subject: ReviewSubject,
        subject_id: str,
        *,
        after: tuple[dt.datetime, ReviewId] | None,
        limit: int,
    ) -> list[Review]:
        x = reviews.c
        key = x.product_id if subject is ReviewSubject.PRODUCT else x.provider_id
        stmt = sa.select(Review).where(x.subject == subject, key == subject_id)
        if after is not None:
            at, review_id = after
            stmt = stmt.where(
                sa.or_(x.created_at < at, sa.and_(x.created_at == at, x.id < review_id))
            )
        return self._many(stmt.order_by(x.created_at.desc(), x.id.desc()).limit(limit))


class _Promotions(_Repository[Promotion]):
    model, not_found, label = Promotion, PromotionNotFound, "promotion"

    def for_skus(self, sku_ids: Iterable[SkuId]) -> dict[SkuId, Promotion]:
        wanted = list(sku_ids)
        if not wanted:
            return {}
        found = self._many(sa.select(Promotion).where(promotions.c.sku_id.in_(wanted)))
        return {p.sku_id: p for p in found}

    def in_community(self, community_id: CommunityId, now: dt.datetime) -> list[Promotion]:
        x = promotions.c
        member = '%"' + _like_escaped(community_id) + '"%'
        stmt = sa.select(Promotion).where(
            sa.cast(x.community_ids, sa.Text).like(member, escape="\\"),
            x.withdrawn.is_(False),
            x.sale_starts_at <= now,
            x.sale_ends_at > now,
        )
        found = self._many(stmt.order_by(x.sale_ends_at, x.id))
        return [p for p in found if community_id in p.community_ids]

    def of_provider(self, provider_id: ProviderId) -> list[Promotion]:
        x = promotions.c
        stmt = sa.select(Promotion).where(x.provider_id == provider_id)
        return self._many(stmt.order_by(x.created_at.desc(), x.id))


class _Vouchers(_Repository[Voucher]):
    model, not_found, label = Voucher, NotFound, "voucher"

    def of_order(self, order_id: OrderId) -> list[Voucher]:
        x = vouchers.c
        return self._many(sa.select(Voucher).where(x.order_id == order_id).order_by(x.id))

    def of_resident(self, resident_id: AccountId) -> list[Voucher]:
        x = vouchers.c
        stmt = sa.select(Voucher).where(x.resident_id == resident_id)
        return self._many(stmt.order_by(x.issued_at.desc(), x.id))

    def find_code(self, provider_id: ProviderId, code: str) -> Voucher | None:
        x = vouchers.c
        found = self._many(sa.select(Voucher).where(x.provider_id == provider_id, x.code == code))
        return found[0] if found else None

    def to_expire(self, now: dt.datetime, limit: int) -> list[Voucher]:
        x = vouchers.c
        stmt = sa.select(Voucher).where(x.status == VoucherStatus.VALID, x.expires_at <= now)
        return self._many(stmt.order_by(x.expires_at, x.id).limit(limit))


class _Products(_Repository[Product]):
    model, not_found, label = Product, ProductNotFound, "product"

    @_translating
    def search(self, query: ProductQuery) -> list[ProductHit]:
        f, sort = query.filter, query.sort
        conditions: list[sa.ColumnElement[bool]] = []
        if f.community_id is not None:
            conditions.append(
                sa.exists().where(
                    sku_listings.c.sku_id == skus.c.id,
                    sku_listings.c.community_id == f.community_id,
                )
            )
        if f.min_price is not None:
            conditions.append(skus.c.price_fen >= f.min_price.fen)
        if f.max_price is not None:
            conditions.append(skus.c.price_fen <= f.max_price.fen)
        if f.in_stock:
            conditions.append(skus.c.stock > 0)
        if f.on_sale is not None:
            conditions.append(skus.c.on_sale.is_(f.on_sale))
        matching = (
            sa.select(skus.c.product_id, sa.func.min(skus.c.price_fen).label("price"))
            .where(*conditions)
            .group_by(skus.c.product_id)
            .subquery()
        )
        key = products.c.created_at if sort is ProductSort.NEWEST else matching.c.price
        stmt = sa.select(Product, key).join(matching, matching.c.product_id == products.c.id)
        if f.seller_id is not None:
            stmt = stmt.where(products.c.seller_id == f.seller_id)
        if f.category is not None:
            below = f.category + "/"  # compared exactly: LIKE ignores case on SQLite
            stmt = stmt.where(
                sa.or_(
                    products.c.category == f.category,
                    sa.func.substr(products.c.category, 1, len(below)) == below,
                )
            )
        if query.after is not None:
            edge, edge_id = query.after.key, query.after.product_id
            beyond = (
                sa.or_(key < edge, sa.and_(key == edge, products.c.id < edge_id))
                if sort.descending
                else sa.or_(key > edge, sa.and_(key == edge, products.c.id > edge_id))
            )
            stmt = stmt.where(beyond)
        order = (key.desc(), products.c.id.desc()) if sort.descending else (key, products.c.id)
        with self._session.no_autoflush:  # search reads what is committed, as in memory
            rows = self._session.execute(stmt.order_by(*order).limit(query.limit)).all()
        return [ProductHit(product=self._track(p), key=k) for p, k in rows]


class _Sealing(_Repository[T]):
    """A repository whose personal-data attributes are sealed at rest.

    Each attribute in ``sealed`` lives in the column ``<attribute>_sealed``, bound to its
    table, column and row; the mapping names those columns ``_<attribute>_sealed``.
    """

    table: sa.Table
    sealed: tuple[str, ...]

    def __init__(self, session: Session, cipher: FieldCipher) -> None:
        super().__init__(session)
        self._cipher = cipher

    def _track(self, obj: T) -> T:
        if obj.id not in self.seen and f"_{self.sealed[0]}_sealed" in vars(obj):  # type: ignore[attr-defined]
            self._open(obj)
        return super()._track(obj)

    def _plain(self, obj: T) -> tuple[str, ...]:
        return tuple(getattr(obj, field) for field in self.sealed)

    def _open(self, obj: T) -> None:
        cipher, stored, row = self._cipher, vars(obj), obj.id  # type: ignore[attr-defined]
        for field in self.sealed:
            context = cipher.context(self.table.name, field, row)
            setattr(obj, field, cipher.open(stored[f"_{field}_sealed"], context))
        obj._opened = self._plain(obj)  # type: ignore[attr-defined]

    def seal(self) -> None:
        """Seal the personal data of new records and of records whose data changed."""
        cipher = self._cipher
        for obj in self.seen.values():
            if getattr(obj, "_opened", None) == self._plain(obj):
                continue
            for field in self.sealed:
                context = cipher.context(self.table.name, field, obj.id)  # type: ignore[attr-defined]
                setattr(obj, f"_{field}_sealed", cipher.seal(getattr(obj, field), context))
            obj._pii_key_id = cipher.keyring.current  # type: ignore[attr-defined]
            self._sealed_more(obj)
            obj._opened = self._plain(obj)  # type: ignore[attr-defined]

    def _sealed_more(self, obj: T) -> None:
        """What else a subclass derives from the plain values when they are sealed."""

    def sealed_under_old_keys(self, limit: int) -> list[T]:
        """Records sealed under a key that is no longer current, locked, by id."""
        stmt = (
            sa.select(self.model)
            .where(self.table.c.pii_key_id != self._cipher.keyring.current)
            .order_by(self.table.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        found = self._many(stmt)
        for obj in found:
            obj._opened = None  # type: ignore[attr-defined]  # seal() seals it afresh
        return found


class _Accounts(_Sealing[Account]):
    """Accounts, whose phone and name are sealed at rest and found by a keyed hash."""

    model, not_found, label = Account, AccountNotFound, "account"
    table, sealed = accounts, ("phone", "name")

    def _sealed_more(self, obj: Account) -> None:
        # an erased account keeps a lookup of its own, so the number is free again
        lookup = self._cipher.lookup(obj.phone or f"erased:{obj.id}")
        obj._phone_lookup = lookup  # type: ignore[attr-defined]

    @_translating
    def find_by_phone(self, phone: str) -> Account | None:
        for account in self.added.values():
            if account.phone == phone:
                return account
        stmt = sa.select(Account).where(accounts.c.phone_lookup == self._cipher.lookup(phone))
        found = self._many(stmt)
        return found[0] if found else None

    def list(self, community_id: CommunityId | None = None) -> list[Account]:
        found = self._many(sa.select(Account).order_by(accounts.c.created_at, accounts.c.id))
        if community_id is None:
            return found
        return [a for a in found if any(m.community_id == community_id for m in a.memberships)]


class _Addresses(_Sealing[Address]):
    model, not_found, label = Address, NotFound, "address"
    table, sealed = addresses, ("recipient", "phone", "detail")

    def of_account(self, account_id: AccountId) -> list[Address]:
        return self._many(
            sa.select(Address)
            .where(addresses.c.account_id == account_id, addresses.c.removed.is_(False))
            .order_by(addresses.c.created_at, addresses.c.id)
        )


class _Throttles(_Repository[Throttle]):
    model, not_found, label = Throttle, NotFound, "throttle"


class _Codes(_Repository[SignInCode]):
    model, not_found, label = SignInCode, NotFound, "sign-in code"


class _Sessions(_Repository[RefreshSession]):
    model, not_found, label = RefreshSession, NotFound, "session"

    def of_account(self, account_id: AccountId) -> list[RefreshSession]:
        return self._many(
            sa.select(RefreshSession).where(
                refresh_sessions.c.account_id == account_id, refresh_sessions.c.revoked_at.is_(None)
            )
        )


class _Audit:
    def __init__(self, session: Session) -> None:
        self._session = session
        self.pending: list[AuditRecord] = []

    def append(self, record: AuditRecord) -> None:
        self.pending.append(record)

    def write(self) -> None:
        if self.pending:
            self._session.execute(
                audit_log.insert(),
                [
                    {
                        "at": r.at,
                        "actor_id": r.actor_id,
                        "action": r.action,
                        "subject": r.subject,
                        "client": r.client[:80],
                        "detail": dict(r.detail),
                    }
                    for r in self.pending
                ],
            )
            self.pending.clear()

    @_translating
    def search(self, query: AuditQuery) -> list[AuditRecord]:
        stmt = sa.select(audit_log)
        if query.actor_id is not None:
            stmt = stmt.where(audit_log.c.actor_id == query.actor_id)
        if query.subject is not None:
            stmt = stmt.where(audit_log.c.subject == query.subject)
        if query.since is not None:
            stmt = stmt.where(audit_log.c.at >= query.since)
        if query.until is not None:
            stmt = stmt.where(audit_log.c.at < query.until)
        stmt = stmt.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(query.limit)
        return [
            AuditRecord(
                id=r.id,
                at=r.at,
                actor_id=r.actor_id,
                action=r.action,
                subject=r.subject,
                client=r.client,
                detail=r.detail,
            )
            for r in self._session.execute(stmt)
        ]


class _Outbox:
    def __init__(self, session: Session) -> None:
        self._session = session

    @_translating
    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        rows = self._session.execute(
            sa.select(outbox)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [
            OutboxMessage(id=r.id, name=r.name, payload=r.payload, occurred_at=r.occurred_at)
            for r in rows
        ]

    @_translating
    def mark_published(self, message_ids: Sequence[int]) -> None:
        if message_ids:
            self._session.execute(
                outbox.update()
                .where(outbox.c.id.in_(list(message_ids)))
                .values(published_at=dt.datetime.now(dt.UTC))
            )


def _no_keys() -> Keyring:
    raise AdapterError("personal data needs keys: build SqlUnitOfWork with a FieldCipher")


class SqlUnitOfWork:
    """A database transaction through one SQLAlchemy session."""

    communities: _Communities
    sellers: _Sellers
    products: _Products
    skus: _Skus
    accounts: _Accounts
    addresses: _Addresses
    throttles: _Throttles
    codes: _Codes
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

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        publisher: EventPublisher | None = None,
        cipher: FieldCipher | None = None,
    ) -> None:
        self._session_factory, self._publisher = session_factory, publisher
        self._cipher = cipher or FieldCipher(_no_keys)
        self._session: Session | None = None
        self._flushed_events: list[DomainEvent] = []

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("this unit of work is in use already; use one per call")
        self._session = self._session_factory()
        self._begin(self._session)
        return self

    def _begin(self, session: Session) -> None:
        self.communities, self.sellers = _Communities(session), _Sellers(session)
        self.products, self.skus = _Products(session), _Skus(session)
        self.accounts = _Accounts(session, self._cipher)
        self.addresses = _Addresses(session, self._cipher)
        self.throttles, self.codes = _Throttles(session), _Codes(session)
        self.sessions = _Sessions(session)
        self.carts, self.coupons = _Carts(session), _Coupons(session)
        self.grants, self.orders = _Grants(session), _Orders(session)
        self.refunds = _Refunds(session)
        self.payments = _Payments(session)
        self.campaigns = _Campaigns(session)
        self.group_buys = _GroupBuys(session)
        self.commissions = _Commissions(session)
        self.pickup_points = _PickupPoints(session)
        self.pickup_tickets = _PickupTickets(session)
        self.shipments = _Shipments(session)
        self.delivery_slots = _DeliverySlots(session)
        self.providers, self.staff = _Providers(session), _Staff(session)
        self.offerings, self.bookings = _Offerings(session), _Bookings(session)
        self.announcements, self.activities = _Announcements(session), _Activities(session)
        self.sign_ups, self.complaints = _SignUps(session), _Complaints(session)
        self.boards, self.posts, self.comments = (
            _Boards(session),
            _Posts(session),
            _Comments(session),
        )
        self.likes, self.forum_reports = _Likes(session), _ForumReports(session)
        self.reviews = _Reviews(session)
        self.promotions, self.vouchers = _Promotions(session), _Vouchers(session)
        self.outbox = _Outbox(session)
        self.audit = _Audit(session)
        self._flushed_events = []

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        session.close()  # ends the transaction without expiring what was handed out
        if isinstance(exc, sa_exc.SQLAlchemyError):
            raise translate(exc) from exc

    def _repositories(self) -> tuple[_Repository[Any] | _Orders, ...]:
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

    def _touched(self) -> Iterator[Any]:
        for repo in self._repositories():
            yield from repo.seen.values()

    def flush(self) -> None:
        """Send the changes and their events so far, inside the still-open transaction."""
        session = self._require_session()
        events = [event for obj in self._touched() for event in getattr(obj, "events", ())]
        try:
            self.accounts.seal()
            self.addresses.seal()
            for repo in self._repositories():
                repo.flush_added()
            if session.new or session.dirty or session.deleted:
                session.flush()
            self.orders.flush_changed()
            self.audit.write()
            if events:
                _INSERT_OUTBOX.execute_many(
                    _connection_of(session),
                    [
                        {
                            "name": e.event_type,
                            "payload": event_payload(e),
                            "occurred_at": e.occurred_at,
                        }
                        for e in events
                    ],
                )
        except _STORAGE_ERRORS as e:
            session.rollback()
            self._flushed_events.clear()
            raise translate(e) from e
        for obj in self._touched():
            if hasattr(obj, "events"):
                obj.events.clear()
        self._flushed_events.extend(events)

    def commit(self) -> None:
        self.flush()
        session = self._require_session()
        try:
            session.commit()
        except _STORAGE_ERRORS as e:
            session.rollback()
            raise translate(e) from e
        finally:
            events, self._flushed_events = self._flushed_events, []
        if self._publisher is not None and events:
            self._publisher.publish(events)

    def rollback(self) -> None:
        """Throw away every change, every event and every added object of this unit."""
        session = self._require_session()
        for obj in self._touched():
            if hasattr(obj, "events"):
                obj.events.clear()
        session.rollback()
        self._begin(session)

    def _require_session(self) -> Session:
        if self._session is None:
            raise RuntimeError("enter the unit of work (`with uow:`) first")
        return self._session


class SqlPersonalDataKeys:
    """Key status and re-sealing for the SQL storage."""

    def __init__(self, session_factory: sessionmaker[Session], cipher: FieldCipher) -> None:
        self._sessions, self._cipher = session_factory, cipher

    def current(self) -> str:
        return self._cipher.keyring.current

    def count_by_key(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        try:
            with self._sessions() as session:
                for table in (accounts, addresses):
                    stmt = sa.select(table.c.pii_key_id, sa.func.count()).group_by(
                        table.c.pii_key_id
                    )
                    for key_id, count in session.execute(stmt):
                        counts[str(key_id)] = counts.get(str(key_id), 0) + int(count)
                return counts
        except sa_exc.SQLAlchemyError as e:
            raise translate(e) from e

    def add_key(self) -> str:
        return self._cipher.add_key()

    def reseal(self, batch: int) -> int:
        with SqlUnitOfWork(self._sessions, None, self._cipher) as uow:
            found = len(uow.accounts.sealed_under_old_keys(batch))
            if found < batch:
                found += len(uow.addresses.sealed_under_old_keys(batch - found))
            uow.commit()
        return found
