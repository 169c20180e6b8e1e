"""Tables and the imperative mapping of the domain classes onto them.

The domain never imports SQLAlchemy: this module maps its plain attrs classes.
Call :func:`start_mappers` (idempotent) before using a session; ``bootstrap`` does.
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import composite, registry, relationship

from shequ.domain.auth import RefreshSession, SignInCode, Throttle
from shequ.domain.catalog import (
    Community,
    FreshFacts,
    Listing,
    Media,
    MediaKind,
    Product,
    Seller,
    SellerKind,
    Sku,
    StorageMethod,
)
from shequ.domain.community import Activity, ActivitySignUp, Announcement, SignUpStatus
from shequ.domain.complaints import Complaint, ComplaintCategory, ComplaintStatus, Reply
from shequ.domain.forum import (
    Board,
    Comment,
    ContentKind,
    ContentStatus,
    ForumReport,
    Moderation,
    Post,
    PostLike,
    ReportReason,
    ReportStatus,
)
from shequ.domain.fulfilment.delivery import (
    DeliverySlot,
    DeliveryStatus,
    Shipment,
    SlotStatus,
    TrackingEvent,
)
from shequ.domain.fulfilment.pickup import (
    Hours,
    OpeningHours,
    PickupPoint,
    PickupTicket,
    PointKind,
    PointStatus,
    TicketStatus,
)
from shequ.domain.groupbuy import (
    CommissionEntry,
    GroupBuy,
    GroupBuyCampaign,
    GroupStatus,
    LeaderReward,
    Participation,
    PriceTier,
    RewardKind,
)
from shequ.domain.identity import (
    Account,
    AccountStatus,
    Address,
    Consent,
    Membership,
    Role,
)
from shequ.domain.money import Money
from shequ.domain.ordering import (
    Cart,
    CartLine,
    Coupon,
    CouponGrant,
    CouponKind,
    Fulfilment,
    OrderStatus,
    Refund,
    RefundItem,
    RefundReason,
    RefundStatus,
    ScopeKind,
    StatusChange,
)
from shequ.domain.payments import (
    Channel,
    EntryKind,
    Payment,
    PaymentEntry,
    PaymentRefund,
    PaymentRefundStatus,
    PaymentStatus,
)
from shequ.domain.promotions import Promotion, PromotionKind, Voucher, VoucherStatus
from shequ.domain.reviews import Review, ReviewSubject
from shequ.domain.routing import GeoPoint
from shequ.domain.services import (
    BookingChange,
    BookingStatus,
    PriceKind,
    ProviderKind,
    ServiceBooking,
    ServiceOffering,
    ServiceProvider,
    StaffMember,
    Venue,
)

__all__ = [
    "ConsentList",
    "MediaList",
    "MembershipList",
    "RefundItemList",
    "StatusHistory",
    "TextTuple",
    "UTCDateTime",
    "metadata",
    "start_mappers",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)
mapper_registry = registry(metadata=metadata)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (naive UTC text) and PostgreSQL
    (timestamptz) alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class MediaList(sa.TypeDecorator[tuple[Media, ...]]):
    """A product's media, in order, as a JSON array."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: tuple[Media, ...] | None, dialect: Dialect) -> Any:
        return [{"uri": m.uri, "kind": m.kind.value, "alt_text": m.alt_text} for m in value or ()]

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return tuple(
            Media(uri=m["uri"], kind=MediaKind(m["kind"]), alt_text=m["alt_text"])
            for m in value or ()
        )


class MembershipList(sa.TypeDecorator[list[Membership]]):
    """An account's roles, as a JSON array."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: list[Membership] | None, dialect: Dialect) -> Any:
        return [
            {"role": m.role.value, "community_id": m.community_id, "scope_id": m.scope_id}
            for m in value or ()
        ]

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return [
            Membership(role=Role(m["role"]), community_id=m["community_id"], scope_id=m["scope_id"])
            for m in value or ()
        ]


class ConsentList(sa.TypeDecorator[list[Consent]]):
    """The privacy-policy versions an account agreed to, as a JSON array."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: list[Consent] | None, dialect: Dialect) -> Any:
        return [
            {"policy_version": c.policy_version, "given_at": c.given_at.isoformat()}
            for c in value or ()
        ]

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return [
            Consent(c["policy_version"], dt.datetime.fromisoformat(c["given_at"]))
            for c in value or ()
        ]


class TextTuple(sa.TypeDecorator[tuple[str, ...]]):
    """A tuple of strings (ids, URIs), as a JSON array."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> Any:
        return list(value or ())

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return tuple(value or ())


class PriceLadder(sa.TypeDecorator[tuple[PriceTier, ...]]):
    """A campaign's price tiers, as a JSON array (prices in fen)."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: tuple[PriceTier, ...] | None, dialect: Dialect) -> Any:
        return [{"min_heads": t.min_heads, "price_fen": t.price.fen} for t in value or ()]

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return tuple(PriceTier(t["min_heads"], Money(t["price_fen"])) for t in value or ())


class Location(sa.TypeDecorator[GeoPoint]):
    """A point on Earth, as a JSON object of degrees."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: GeoPoint | None, dialect: Dialect) -> Any:
        return None if value is None else {"lat": value.latitude, "lng": value.longitude}

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else GeoPoint(value["lat"], value["lng"])


class WeeklyHours(sa.TypeDecorator[OpeningHours]):
    """Opening hours, as JSON: seven lists of ``"08:00-20:00"`` and the exceptions by date."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: OpeningHours | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return {
            "weekly": [[str(h) for h in day] for day in value.weekly],
            "exceptions": {d.isoformat(): [str(h) for h in hs] for d, hs in value.exceptions},
        }

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return OpeningHours(
            tuple(tuple(Hours.parse(h) for h in day) for day in value["weekly"]),
            tuple(
                (dt.date.fromisoformat(d), tuple(Hours.parse(h) for h in hs))
                for d, hs in sorted(value["exceptions"].items())
            ),
        )


class Reward(sa.TypeDecorator[LeaderReward]):
    """A campaign's leader reward, as a JSON object (a leader price in fen)."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: LeaderReward | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        price = None if value.leader_price is None else value.leader_price.fen
        return {"kind": value.kind.value, "leader_price_fen": price, "bp": value.commission_bp}

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        price = value["leader_price_fen"]
        return LeaderReward(
            RewardKind(value["kind"]), None if price is None else Money(price), value["bp"]
        )


class StatusHistory(sa.TypeDecorator[list[StatusChange]]):
    """An order's timeline, as a JSON array."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: list[StatusChange] | None, dialect: Dialect) -> Any:
        return [
            {"at": c.at.isoformat(), "status": c.status.value, "note": c.note} for c in value or ()
        ]

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return [
            StatusChange(dt.datetime.fromisoformat(c["at"]), OrderStatus(c["status"]), c["note"])
            for c in value or ()
        ]


class Timeline(sa.TypeDecorator[list[TrackingEvent]]):
    """A delivery's tracking timeline, as a JSON array."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: list[TrackingEvent] | None, dialect: Dialect) -> Any:
        return [
            {"at": e.at.isoformat(), "status": e.status.value, "note": e.note, "source": e.source}
            for e in value or ()
        ]

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return [
            TrackingEvent(
                dt.datetime.fromisoformat(e["at"]),
                DeliveryStatus(e["status"]),
                e["note"],
                e["source"],
            )
            for e in value or ()
        ]


class BookingHistory(sa.TypeDecorator[list[BookingChange]]):
    """A service booking's timeline, as a JSON array."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: list[BookingChange] | None, dialect: Dialect) -> Any:
        return [
            {"at": c.at.isoformat(), "status": c.status.value, "note": c.note} for c in value or ()
        ]

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return [
            BookingChange(dt.datetime.fromisoformat(c["at"]), BookingStatus(c["status"]), c["note"])
            for c in value or ()
        ]


class ReplyList(sa.TypeDecorator[list[Reply]]):
    """A ticket's replies, as a JSON array."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: list[Reply] | None, dialect: Dialect) -> Any:
        return [
            {"at": r.at.isoformat(), "author_id": r.author_id, "staff": r.staff, "text": r.text}
            for r in value or ()
        ]

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return [
            Reply(dt.datetime.fromisoformat(r["at"]), r["author_id"], r["staff"], r["text"])
            for r in value or ()
        ]


class ModerationLog(sa.TypeDecorator[list[Moderation]]):
    """A post's or comment's moderation steps, as a JSON array."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: list[Moderation] | None, dialect: Dialect) -> Any:
        return [
            {
                "at": m.at.isoformat(),
                "status": m.status.value,
                "reason": m.reason,
                "moderator_id": m.moderator_id,
            }
            for m in value or ()
        ]

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return [
            Moderation(
                dt.datetime.fromisoformat(m["at"]),
                ContentStatus(m["status"]),
                m["reason"],
                m["moderator_id"],
            )
            for m in value or ()
        ]


class RefundItemList(sa.TypeDecorator[tuple[RefundItem, ...]]):
    """A refund's SKUs, units and amounts, as a JSON array (amounts in fen)."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: tuple[RefundItem, ...] | None, dialect: Dialect) -> Any:
        return [
            {"sku_id": i.sku_id, "quantity": i.quantity, "amount_fen": i.amount.fen}
            for i in value or ()
        ]

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return tuple(
            RefundItem(i["sku_id"], i["quantity"], Money(i["amount_fen"])) for i in value or ()
        )


def _enum(kind: type[enum.Enum], name: str, length: int = 16) -> sa.Enum:
    return sa.Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


def _id(name: str = "id", *args: Any, **kw: Any) -> sa.Column[str]:
    return sa.Column(name, sa.String(32), *args, **kw)


def _serial_id() -> sa.Column[int]:
    """A numbered log's key: BIGINT, but SQLite numbers only an INTEGER primary key."""
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    )


def _timestamps() -> list[sa.Column[dt.datetime]]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


communities = sa.Table(
    "communities",
    metadata,
    _id(primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("city", sa.String(40), nullable=False, server_default=""),
    sa.Column("district", sa.String(40), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("location", Location(), nullable=True),
)

sellers = sa.Table(
    "sellers",
    metadata,
    _id(primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("kind", _enum(SellerKind, "seller_kind"), nullable=False),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=True, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

products = sa.Table(
    "products",
    metadata,
    _id(primary_key=True),
    _id("seller_id", sa.ForeignKey("sellers.id"), nullable=False, index=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("category", sa.String(64), nullable=False, index=True),
    sa.Column("brand", sa.String(60), nullable=False, server_default=""),
    sa.Column("origin", sa.String(60), nullable=False, server_default=""),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("media", MediaList(), nullable=False),
    sa.Column("storage", _enum(StorageMethod, "storage_method"), nullable=True),
    sa.Column("shelf_life_days", sa.Integer, nullable=True),
    sa.Column("harvested_at", UTCDateTime(), nullable=True),
    sa.Column("rating_total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rating_count", sa.Integer, nullable=False, server_default="0"),
    *_timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_products_created_at_id", "created_at", "id"),
)

skus = sa.Table(
    "skus",
    metadata,
    _id(primary_key=True),
    _id("product_id", sa.ForeignKey("products.id"), nullable=False),
    sa.Column("spec", sa.String(64), nullable=False),
    sa.Column("price_fen", sa.BigInteger, nullable=False),
    sa.Column("list_price_fen", sa.BigInteger, nullable=True),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("on_sale", sa.Boolean, nullable=False),
    *_timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("product_id", "spec", name="uq_skus_product_spec"),
    sa.CheckConstraint("price_fen > 0", name="price_positive"),
    sa.CheckConstraint(
        "list_price_fen IS NULL OR list_price_fen >= price_fen", name="list_price_not_below_price"
    ),
    sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
    sa.Index("ix_skus_product_id_price_fen", "product_id", "price_fen"),
)

sku_listings = sa.Table(
    "sku_listings",
    metadata,
    _id("sku_id", sa.ForeignKey("skus.id", ondelete="CASCADE"), primary_key=True),
    _id("community_id", sa.ForeignKey("communities.id"), primary_key=True, index=True),
    sa.Column("listed_at", UTCDateTime(), nullable=False),
)

accounts = sa.Table(
    "accounts",
    metadata,
    _id(primary_key=True),
    # personal data, sealed by FieldCipher; found through a keyed hash, never by value
    sa.Column("phone_sealed", sa.LargeBinary, nullable=False),
    sa.Column("phone_lookup", sa.String(64), nullable=False),
    sa.Column("name_sealed", sa.LargeBinary, nullable=False),
    sa.Column("pii_key_id", sa.String(16), nullable=False, index=True),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("status", _enum(AccountStatus, "account_status"), nullable=False),
    sa.Column("memberships", MembershipList(), nullable=False),
    sa.Column("token_generation", sa.Integer, nullable=False, server_default="0"),
    sa.Column("consents", ConsentList(), nullable=False, server_default="[]"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("phone_lookup", name="uq_accounts_phone_lookup"),
)

addresses = sa.Table(
    "addresses",
    metadata,
    _id(primary_key=True),
    _id("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("label", sa.String(20), nullable=False),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=True),
    sa.Column("recipient_sealed", sa.LargeBinary, nullable=False),
    sa.Column("phone_sealed", sa.LargeBinary, nullable=False),
    sa.Column("detail_sealed", sa.LargeBinary, nullable=False),
    sa.Column("pii_key_id", sa.String(16), nullable=False, index=True),
    sa.Column("removed", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

throttles = sa.Table(
    "throttles",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("window_started_at", UTCDateTime(), nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

sign_in_codes = sa.Table(
    "sign_in_codes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("code_digest", sa.String(64), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("tries_left", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

refresh_sessions = sa.Table(
    "refresh_sessions",
    metadata,
    _id(primary_key=True),
    _id("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("secret_digest", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    _serial_id(),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor_id", sa.String(32), nullable=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("subject", sa.String(80), nullable=False),
    sa.Column("client", sa.String(80), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_audit_log_actor_id_at", "actor_id", "at"),
    sa.Index("ix_audit_log_subject_at", "subject", "at"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    _serial_id(),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("published_at", UTCDateTime(), nullable=True),
    sa.Index("ix_outbox_unpublished", "published_at", "id"),
)

carts = sa.Table(
    "carts",
    metadata,
    _id(primary_key=True),
    _id("resident_id", sa.ForeignKey("accounts.id"), nullable=False),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("resident_id", "community_id", name="uq_carts_resident_community"),
)

cart_lines = sa.Table(
    "cart_lines",
    metadata,
    _id("cart_id", sa.ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True),
    _id("sku_id", primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("added_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("quantity BETWEEN 1 AND 9999", name="quantity_in_range"),
)

coupons = sa.Table(
    "coupons",
    metadata,
    _id(primary_key=True),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("kind", _enum(CouponKind, "coupon_kind"), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("threshold_fen", sa.BigInteger, nullable=False),
    sa.Column("percent_off", sa.Integer, nullable=False),
    sa.Column("cap_fen", sa.BigInteger, nullable=True),
    sa.Column("scope_kind", _enum(ScopeKind, "coupon_scope"), nullable=False),
    sa.Column("scope_category", sa.String(64), nullable=True),
    sa.Column("scope_sku_ids", TextTuple(), nullable=False),
    _id("scope_seller_id", nullable=True),
    _id("seller_id", sa.ForeignKey("sellers.id"), nullable=True, index=True),
    sa.Column("valid_from", UTCDateTime(), nullable=False),
    sa.Column("valid_until", UTCDateTime(), nullable=False),
    sa.Column("per_resident_limit", sa.Integer, nullable=False),
    sa.Column("total_limit", sa.Integer, nullable=True),
    sa.Column("claim_code", sa.String(20), nullable=True),
    sa.Column("issued", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("claim_code", name="uq_coupons_claim_code"),
    sa.CheckConstraint("total_limit IS NULL OR issued <= total_limit", name="issued_within_limit"),
)

coupon_grants = sa.Table(
    "coupon_grants",
    metadata,
    _id(primary_key=True),
    _id("coupon_id", sa.ForeignKey("coupons.id"), nullable=False),
    _id("resident_id", sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("granted_at", UTCDateTime(), nullable=False),
    _id("used_by", nullable=True),
    sa.Column("used_at", UTCDateTime(), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_coupon_grants_resident_id_coupon_id", "resident_id", "coupon_id"),
)

orders = sa.Table(
    "orders",
    metadata,
    _id(primary_key=True),
    _id("resident_id", sa.ForeignKey("accounts.id"), nullable=False),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False),
    sa.Column("status", _enum(OrderStatus, "order_status"), nullable=False),
    sa.Column("fulfilment", _enum(Fulfilment, "fulfilment"), nullable=False),
    sa.Column("pickup_point_id", sa.String(32), nullable=True, index=True),
    _id("address_id", nullable=True),
    sa.Column("express", sa.Boolean, nullable=False),
    sa.Column("subtotal_fen", sa.BigInteger, nullable=False),
    sa.Column("discount_fen", sa.BigInteger, nullable=False),
    sa.Column("delivery_fee_fen", sa.BigInteger, nullable=False),
    sa.Column("total_fen", sa.BigInteger, nullable=False),
    sa.Column("refunded_fen", sa.BigInteger, nullable=False),
    sa.Column("delivery_fee_refunded", sa.Boolean, nullable=False),
    sa.Column("placed_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("paid_at", UTCDateTime(), nullable=True),
    sa.Column("payment_ref", sa.String(64), nullable=True),
    sa.Column("idempotency_key", sa.String(64), nullable=False),
    sa.Column("request_digest", sa.String(64), nullable=False),
    sa.Column("grant_ids", TextTuple(), nullable=False),
    sa.Column("history", StatusHistory(), nullable=False),
    sa.Column("pickup_date", sa.Date, nullable=True),
    _id("group_id", nullable=True, index=True),
    sa.Column("awaiting_group", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    _id("delivery_slot_id", nullable=True, index=True),
    sa.UniqueConstraint("resident_id", "idempotency_key", name="uq_orders_resident_key"),
    sa.CheckConstraint("refunded_fen <= total_fen", name="refunds_within_total"),
    sa.CheckConstraint("total_fen >= 0", name="total_not_negative"),
    sa.Index("ix_orders_status_expires_at", "status", "expires_at"),
    sa.Index("ix_orders_placed_at_id", "placed_at", "id"),
    sa.Index("ix_orders_community_id_placed_at", "community_id", "placed_at"),
    sa.Index("ix_orders_resident_id_placed_at", "resident_id", "placed_at"),
)

order_lines = sa.Table(
    "order_lines",
    metadata,
    _id("order_id", sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    _id("sku_id", sa.ForeignKey("skus.id"), primary_key=True),
    _id("product_id", nullable=False),
    _id("seller_id", nullable=False, index=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("spec", sa.String(64), nullable=False),
    sa.Column("unit_price_fen", sa.BigInteger, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("subtotal_fen", sa.BigInteger, nullable=False),
    sa.Column("discount_fen", sa.BigInteger, nullable=False),
    sa.Column("payable_fen", sa.BigInteger, nullable=False),
    sa.Column("refunded_quantity", sa.Integer, nullable=False),
    sa.Column("refunded_fen", sa.BigInteger, nullable=False),
    sa.Column("pending_quantity", sa.Integer, nullable=False),
    sa.Column("pending_fen", sa.BigInteger, nullable=False),
    sa.CheckConstraint("payable_fen >= 0", name="payable_not_negative"),
    sa.CheckConstraint(
        "refunded_quantity + pending_quantity <= quantity", name="refunds_within_quantity"
    ),
    sa.CheckConstraint("refunded_fen + pending_fen <= payable_fen", name="refunds_within_payable"),
)

refunds = sa.Table(
    "refunds",
    metadata,
    _id(primary_key=True),
    _id("order_id", sa.ForeignKey("orders.id"), nullable=False, index=True),
    _id("resident_id", nullable=False),
    sa.Column("items", RefundItemList(), nullable=False),
    sa.Column("delivery_fee_fen", sa.BigInteger, nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("reason", _enum(RefundReason, "refund_reason"), nullable=False),
    sa.Column("status", _enum(RefundStatus, "refund_status"), nullable=False),
    sa.Column("photos", TextTuple(), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("restocked", sa.Boolean, nullable=False),
    sa.Column("requested_at", UTCDateTime(), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    _id("decided_by", nullable=True),
    sa.Column("payment_refund_ref", sa.String(64), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_refunds_status_requested_at", "status", "requested_at"),
)

payments = sa.Table(
    "payments",
    metadata,
    _id(primary_key=True),
    _id("order_id", sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("channel", _enum(Channel, "payment_channel"), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("status", _enum(PaymentStatus, "payment_status"), nullable=False),
    sa.Column("provider_ref", sa.String(64), nullable=True),
    sa.Column("authorised_fen", sa.BigInteger, nullable=False),
    sa.Column("charged_fen", sa.BigInteger, nullable=False),
    sa.Column("refunded_fen", sa.BigInteger, nullable=False),
    sa.Column("refund_pending_fen", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("paid_at", UTCDateTime(), nullable=True),
    sa.Column("flag", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint("amount_fen > 0", name="payment_amount_positive"),
    sa.CheckConstraint("charged_fen IN (0, amount_fen)", name="charged_in_full"),
    sa.CheckConstraint("refund_pending_fen >= 0", name="refund_pending_not_negative"),
    sa.Index("ix_payments_created_at", "created_at"),
)

payment_entries = sa.Table(
    "payment_entries",
    metadata,
    _serial_id(),
    _id("payment_id", sa.ForeignKey("payments.id"), nullable=False),
    sa.Column("kind", _enum(EntryKind, "payment_entry_kind"), nullable=False),
    sa.Column("key", sa.String(128), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("note", sa.String(200), nullable=False),
    # the same report from the provider is one line, however often it comes
    sa.UniqueConstraint("payment_id", "kind", "key", name="uq_payment_entries_report"),
    sa.Index("ix_payment_entries_kind_at", "kind", "at"),
)

payment_refunds = sa.Table(
    "payment_refunds",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    _id("payment_id", sa.ForeignKey("payments.id"), nullable=False, index=True),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    _id("order_refund_id", nullable=True),
    sa.Column("status", _enum(PaymentRefundStatus, "payment_refund_status"), nullable=False),
    sa.Column("provider_ref", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.String(200), nullable=False),
    sa.Column("requested_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint("amount_fen > 0", name="payment_refund_amount_positive"),
    sa.Index("ix_payment_refunds_status", "status"),
)

group_buy_campaigns = sa.Table(
    "group_buy_campaigns",
    metadata,
    _id(primary_key=True),
    sa.Column("name", sa.String(60), nullable=False),
    _id("sku_id", sa.ForeignKey("skus.id"), nullable=False, index=True),
    sa.Column("tiers", PriceLadder(), nullable=False),
    sa.Column("min_heads", sa.Integer, nullable=False),
    sa.Column("max_heads", sa.Integer, nullable=False),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("ends_at", UTCDateTime(), nullable=False),
    sa.Column("group_hours", sa.Integer, nullable=False),
    sa.Column("per_resident_limit", sa.Integer, nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("stock_taken", sa.Integer, nullable=False),
    sa.Column("community_ids", TextTuple(), nullable=False),
    sa.Column("reward", Reward(), nullable=False),
    sa.Column("pickup_date", sa.Date, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("virtual_success_percent", sa.Integer, nullable=True),
    sa.Column("many_groups_per_leader", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint("stock_taken BETWEEN 0 AND stock", name="stock_taken_within_stock"),
    sa.CheckConstraint("min_heads BETWEEN 1 AND max_heads", name="heads_in_order"),
    sa.Index("ix_group_buy_campaigns_ends_at", "ends_at"),
)

group_buys = sa.Table(
    "group_buys",
    metadata,
    _id(primary_key=True),
    _id("campaign_id", sa.ForeignKey("group_buy_campaigns.id"), nullable=False, index=True),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False),
    _id("leader_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("invite_code", sa.String(16), nullable=False),
    sa.Column("pickup_point_id", sa.String(32), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("deadline", UTCDateTime(), nullable=False),
    sa.Column("status", _enum(GroupStatus, "group_status"), nullable=False),
    sa.Column("settled_at", UTCDateTime(), nullable=True),
    sa.Column("unit_price_fen", sa.BigInteger, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("invite_code", name="uq_group_buys_invite_code"),
    sa.Index("ix_group_buys_status_deadline", "status", "deadline"),
)

group_buy_participants = sa.Table(
    "group_buy_participants",
    metadata,
    _serial_id(),
    _id("group_id", sa.ForeignKey("group_buys.id"), nullable=False, index=True),
    _id("resident_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    _id("order_id", nullable=False),
    sa.Column("unit_price_fen", sa.BigInteger, nullable=False),
    sa.Column("joined_at", UTCDateTime(), nullable=False),
    sa.Column("left_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("group_id", "order_id", name="uq_group_buy_participants_order"),
    sa.CheckConstraint("quantity >= 1", name="participant_quantity_positive"),
)

leader_commissions = sa.Table(
    "leader_commissions",
    metadata,
    _id("group_id", sa.ForeignKey("group_buys.id"), primary_key=True),
    _id("campaign_id", sa.ForeignKey("group_buy_campaigns.id"), nullable=False),
    _id("leader_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("revenue_fen", sa.BigInteger, nullable=False),
    sa.Column("earned_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(
        "amount_fen > 0 AND amount_fen <= revenue_fen", name="commission_in_revenue"
    ),
)

pickup_points = sa.Table(
    "pickup_points",
    metadata,
    _id(primary_key=True),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False, index=True),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("kind", _enum(PointKind, "pickup_point_kind", length=20), nullable=False),
    sa.Column("address", sa.String(200), nullable=False),
    sa.Column("location", Location(), nullable=False),
    sa.Column("hours", WeeklyHours(), nullable=False),
    sa.Column("daily_capacity", sa.Integer, nullable=False),
    _id("operator_id", sa.ForeignKey("accounts.id"), nullable=True),
    sa.Column("status", _enum(PointStatus, "pickup_point_status"), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint("daily_capacity >= 1", name="capacity_positive"),
)

pickup_point_days = sa.Table(
    "pickup_point_days",
    metadata,
    _id("pickup_point_id", sa.ForeignKey("pickup_points.id"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("booked", sa.Integer, nullable=False),
    sa.CheckConstraint("booked >= 0", name="booked_not_negative"),
)

pickup_tickets = sa.Table(
    "pickup_tickets",
    metadata,
    _id("id", sa.ForeignKey("orders.id"), primary_key=True),
    _id("pickup_point_id", sa.ForeignKey("pickup_points.id"), nullable=False),
    _id("resident_id", sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("code", sa.String(6), nullable=False),
    sa.Column("arrived_at", UTCDateTime(), nullable=False),
    sa.Column("status", _enum(TicketStatus, "pickup_ticket_status"), nullable=False),
    sa.Column("reminders", sa.Integer, nullable=False),
    sa.Column("reminded_at", UTCDateTime(), nullable=True),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
    _id("closed_by", nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    # a code names one uncollected order of its point
    sa.Index(
        "uq_pickup_tickets_waiting_code",
        "pickup_point_id",
        "code",
        unique=True,
        sqlite_where=sa.text("status = 'waiting'"),
        postgresql_where=sa.text("status = 'waiting'"),
    ),
    sa.Index("ix_pickup_tickets_status_arrived_at", "status", "arrived_at"),
)

shipments = sa.Table(
    "shipments",
    metadata,
    _id("id", sa.ForeignKey("orders.id"), primary_key=True),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False),
    _id("address_id", nullable=False),
    sa.Column("window_start", UTCDateTime(), nullable=False),
    sa.Column("window_end", UTCDateTime(), nullable=False),
    sa.Column("express", sa.Boolean, nullable=False),
    sa.Column("cold_chain", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("status", _enum(DeliveryStatus, "delivery_status"), nullable=False),
    sa.Column("courier", sa.String(32), nullable=True),
    sa.Column("courier_ref", sa.String(64), nullable=True),
    sa.Column("fee_fen", sa.BigInteger, nullable=False),
    sa.Column("pending_reason", sa.String(300), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("proof", sa.String(500), nullable=False),
    sa.Column("timeline", Timeline(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    _id("slot_id", nullable=True),
    _id("rider_id", sa.ForeignKey("accounts.id"), nullable=True),
    sa.Column("rider_accepted_at", UTCDateTime(), nullable=True),
    sa.Column("handover_code", sa.String(6), nullable=False, server_default=""),
    sa.UniqueConstraint("courier", "courier_ref", name="uq_shipments_courier_ref"),
    sa.Index("ix_shipments_status_created_at", "status", "created_at"),
    sa.Index("ix_shipments_courier_status", "courier", "status"),
)

delivery_slots = sa.Table(
    "delivery_slots",
    metadata,
    _id(primary_key=True),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("ends_at", UTCDateTime(), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    # kept by the guarded increment of checkout, never by the mapping
    sa.Column("booked", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", _enum(SlotStatus, "delivery_slot_status"), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("community_id", "starts_at", "ends_at", name="uq_delivery_slots_window"),
    sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
    sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
    sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    sa.Index("ix_delivery_slots_starts_at", "starts_at"),
)

service_providers = sa.Table(
    "service_providers",
    metadata,
    _id(primary_key=True),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("kind", _enum(ProviderKind, "provider_kind", length=20), nullable=False),
    sa.Column("community_ids", TextTuple(), nullable=False),
    sa.Column("contact_phone", sa.String(20), nullable=False),
    sa.Column("address", sa.String(200), nullable=False),
    sa.Column("hours", WeeklyHours(), nullable=False),
    sa.Column("description", sa.String(2000), nullable=False),
    sa.Column("photos", TextTuple(), nullable=False),
    sa.Column("verified", sa.Boolean, nullable=False),
    sa.Column("rating_total", sa.Integer, nullable=False),
    sa.Column("rating_count", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_service_providers_kind_name", "kind", "name"),
)

service_staff = sa.Table(
    "service_staff",
    metadata,
    _id(primary_key=True),
    _id("provider_id", sa.ForeignKey("service_providers.id"), nullable=False, index=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("schedule", WeeklyHours(), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

service_offerings = sa.Table(
    "service_offerings",
    metadata,
    _id(primary_key=True),
    _id("provider_id", sa.ForeignKey("service_providers.id"), nullable=False, index=True),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("description", sa.String(2000), nullable=False),
    sa.Column("duration_minutes", sa.Integer, nullable=False),
    sa.Column("buffer_minutes", sa.Integer, nullable=False),
    sa.Column("price_kind", _enum(PriceKind, "offering_price_kind"), nullable=False),
    sa.Column("price_fen", sa.BigInteger, nullable=False),
    sa.Column("venue", _enum(Venue, "offering_venue"), nullable=False),
    sa.Column("staff_ids", TextTuple(), nullable=False),
    sa.Column("late_cancel_fee_fen", sa.BigInteger, nullable=False),
    sa.Column("auto_confirm", sa.Boolean, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint("price_fen >= 0", name="price_not_negative"),
    sa.CheckConstraint(
        "late_cancel_fee_fen >= 0 AND late_cancel_fee_fen <= price_fen", name="fee_within_price"
    ),
)

service_bookings = sa.Table(
    "service_bookings",
    metadata,
    _id(primary_key=True),
    _id("resident_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False),
    _id("provider_id", sa.ForeignKey("service_providers.id"), nullable=False),
    _id("offering_id", sa.ForeignKey("service_offerings.id"), nullable=False),
    _id("staff_id", sa.ForeignKey("service_staff.id"), nullable=False),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("ends_at", UTCDateTime(), nullable=False),
    sa.Column("busy_until", UTCDateTime(), nullable=False),
    sa.Column("price_fen", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("idempotency_key", sa.String(64), nullable=False),
    sa.Column("status", _enum(BookingStatus, "booking_status"), nullable=False),
    _id("address_id", nullable=True),
    sa.Column("note", sa.String(500), nullable=False),
    sa.Column("fee_fen", sa.BigInteger, nullable=False),
    sa.Column("cancelled_by", sa.String(16), nullable=True),
    sa.Column("rating", sa.Integer, nullable=True),
    sa.Column("review_text", sa.String(2000), nullable=False),
    sa.Column("reminded_at", UTCDateTime(), nullable=True),
    sa.Column("history", BookingHistory(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("resident_id", "idempotency_key", name="uq_service_bookings_key"),
    sa.CheckConstraint("ends_at > starts_at AND busy_until >= ends_at", name="times_in_order"),
    sa.CheckConstraint(
        "rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_one_to_five"
    ),
    sa.CheckConstraint("fee_fen >= 0 AND fee_fen <= price_fen", name="fee_within_price"),
    sa.Index("ix_service_bookings_staff_id_starts_at", "staff_id", "starts_at"),
    sa.Index("ix_service_bookings_provider_id_starts_at", "provider_id", "starts_at"),
    sa.Index("ix_service_bookings_status_starts_at", "status", "starts_at"),
)

announcements = sa.Table(
    "announcements",
    metadata,
    _id(primary_key=True),
    _id("author_id", nullable=True),
    sa.Column("community_ids", TextTuple(), nullable=False),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("body", sa.String(5000), nullable=False),
    sa.Column("pinned", sa.Boolean, nullable=False),
    sa.Column("publish_at", UTCDateTime(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
    sa.Column("withdrawn", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_announcements_publish_at", "publish_at"),
)

activities = sa.Table(
    "activities",
    metadata,
    _id(primary_key=True),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("description", sa.String(5000), nullable=False),
    sa.Column("place", sa.String(200), nullable=False),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("ends_at", UTCDateTime(), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("signups_close_at", UTCDateTime(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    _id("organiser_id", nullable=True),
    sa.Column("confirmed", sa.Integer, nullable=False),
    sa.Column("next_seq", sa.Integer, nullable=False),
    sa.Column("cancelled", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint(
        "confirmed >= 0 AND confirmed <= capacity", name="confirmed_within_capacity"
    ),
    sa.Index("ix_activities_community_id_starts_at", "community_id", "starts_at"),
)

activity_signups = sa.Table(
    "activity_signups",
    metadata,
    _id(primary_key=True),
    _id("activity_id", sa.ForeignKey("activities.id"), nullable=False),
    _id("resident_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("status", _enum(SignUpStatus, "signup_status"), nullable=False),
    sa.Column("signed_up_at", UTCDateTime(), nullable=False),
    sa.Column("people", sa.Integer, nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("activity_id", "seq", name="uq_activity_signups_seq"),
    # one live sign-up a resident and activity
    sa.Index(
        "uq_activity_signups_live",
        "activity_id",
        "resident_id",
        unique=True,
        sqlite_where=sa.text("status != 'cancelled'"),
        postgresql_where=sa.text("status != 'cancelled'"),
    ),
)

complaints = sa.Table(
    "complaints",
    metadata,
    _id(primary_key=True),
    _id("resident_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False),
    sa.Column("category", _enum(ComplaintCategory, "complaint_category"), nullable=False),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("body", sa.String(5000), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("respond_by", UTCDateTime(), nullable=False),
    _id("order_id", sa.ForeignKey("orders.id"), nullable=True),
    _id("booking_id", sa.ForeignKey("service_bookings.id"), nullable=True),
    sa.Column("status", _enum(ComplaintStatus, "complaint_status"), nullable=False),
    sa.Column("first_response_at", UTCDateTime(), nullable=True),
    sa.Column("resolution", sa.String(2000), nullable=False),
    sa.Column("satisfaction", sa.Integer, nullable=True),
    sa.Column("replies", ReplyList(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint(
        "satisfaction IS NULL OR (satisfaction >= 1 AND satisfaction <= 5)",
        name="satisfaction_one_to_five",
    ),
    sa.Index("ix_complaints_community_id_status", "community_id", "status"),
    sa.Index("ix_complaints_respond_by", "respond_by"),
)

forum_boards = sa.Table(
    "forum_boards",
    metadata,
    _id(primary_key=True),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False, index=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("description", sa.String(500), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)


def _moderated() -> list[sa.Column[Any]]:
    """The columns posts and comments share."""
    return [
        _id("community_id", sa.ForeignKey("communities.id"), nullable=False),
        _id("author_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", _enum(ContentStatus, "content_status"), nullable=False),
        sa.Column("held_for", sa.String(400), nullable=False),
        sa.Column("open_reports", sa.Integer, nullable=False),
        sa.Column("history", ModerationLog(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ]


forum_posts = sa.Table(
    "forum_posts",
    metadata,
    _id(primary_key=True),
    _id("board_id", sa.ForeignKey("forum_boards.id"), nullable=False),
    *_moderated(),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("photos", TextTuple(), nullable=False),
    sa.Column("comments", sa.Integer, nullable=False),
    sa.Column("likes", sa.Integer, nullable=False),
    sa.Column("last_activity_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("comments >= 0 AND likes >= 0", name="counts_not_negative"),
    sa.Index("ix_forum_posts_board_id_last_activity_at", "board_id", "last_activity_at"),
    sa.Index("ix_forum_posts_review", "community_id", "status", "open_reports"),
)

forum_comments = sa.Table(
    "forum_comments",
    metadata,
    _id(primary_key=True),
    _id("post_id", sa.ForeignKey("forum_posts.id"), nullable=False),
    *_moderated(),
    sa.Column("body", sa.String(2000), nullable=False),
    sa.Index("ix_forum_comments_post_id_created_at", "post_id", "created_at"),
    sa.Index("ix_forum_comments_review", "community_id", "status", "open_reports"),
)

forum_likes = sa.Table(
    "forum_likes",
    metadata,
    _id(primary_key=True),
    _id("post_id", sa.ForeignKey("forum_posts.id"), nullable=False),
    _id("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("liked", sa.Boolean, nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("post_id", "account_id", name="uq_forum_likes_post_account"),
)

forum_reports = sa.Table(
    "forum_reports",
    metadata,
    _id(primary_key=True),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False),
    sa.Column("kind", _enum(ContentKind, "content_kind"), nullable=False),
    _id("content_id", nullable=False),
    _id("post_id", sa.ForeignKey("forum_posts.id"), nullable=False),
    _id("reporter_id", sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("reason", _enum(ReportReason, "report_reason"), nullable=False),
    sa.Column("note", sa.String(500), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("status", _enum(ReportStatus, "report_status"), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint(
        "kind", "content_id", "reporter_id", name="uq_forum_reports_one_per_reporter"
    ),
    sa.Index("ix_forum_reports_content", "kind", "content_id", "status"),
)

reviews = sa.Table(
    "reviews",
    metadata,
    _id(primary_key=True),
    sa.Column("subject", _enum(ReviewSubject, "review_subject"), nullable=False),
    _id("author_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    _id("community_id", sa.ForeignKey("communities.id"), nullable=False),
    sa.Column("rating", sa.Integer, nullable=False),
    sa.Column("text", sa.String(2000), nullable=False),
    sa.Column("photos", TextTuple(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    _id("product_id", sa.ForeignKey("products.id"), nullable=True),
    _id("sku_id", sa.ForeignKey("skus.id"), nullable=True),
    _id("order_id", sa.ForeignKey("orders.id"), nullable=True),
    _id("seller_id", sa.ForeignKey("sellers.id"), nullable=True),
    _id("provider_id", sa.ForeignKey("service_providers.id"), nullable=True),
    _id("booking_id", sa.ForeignKey("service_bookings.id"), nullable=True),
    sa.Column("answer", sa.String(1000), nullable=False),
    sa.Column("answered_at", UTCDateTime(), nullable=True),
    _id("answered_by", nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint("rating >= 1 AND rating <= 5", name="rating_one_to_five"),
    sa.UniqueConstraint("order_id", "sku_id", name="uq_reviews_order_line"),
    sa.UniqueConstraint("booking_id", name="uq_reviews_booking"),
    sa.Index("ix_reviews_product_id_created_at", "product_id", "created_at"),
    sa.Index("ix_reviews_provider_id_created_at", "provider_id", "created_at"),
)

promotions = sa.Table(
    "promotions",
    metadata,
    _id(primary_key=True),
    _id("provider_id", sa.ForeignKey("service_providers.id"), nullable=False, index=True),
    sa.Column("community_ids", TextTuple(), nullable=False),
    sa.Column("kind", _enum(PromotionKind, "promotion_kind"), nullable=False),
    sa.Column("title", sa.String(60), nullable=False),
    sa.Column("description", sa.String(2000), nullable=False),
    sa.Column("terms", sa.String(2000), nullable=False),
    sa.Column("price_fen", sa.BigInteger, nullable=False),
    sa.Column("value_fen", sa.BigInteger, nullable=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("per_resident", sa.Integer, nullable=False),
    sa.Column("sale_starts_at", UTCDateTime(), nullable=False),
    sa.Column("sale_ends_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("use_until", UTCDateTime(), nullable=False),
    _id("sku_id", sa.ForeignKey("skus.id"), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("photos", TextTuple(), nullable=False),
    sa.Column("withdrawn", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint("price_fen > 0", name="price_positive"),
    sa.CheckConstraint("value_fen IS NULL OR value_fen > price_fen", name="value_above_price"),
)

vouchers = sa.Table(
    "vouchers",
    metadata,
    _id(primary_key=True),
    _id("promotion_id", sa.ForeignKey("promotions.id"), nullable=False),
    _id("provider_id", sa.ForeignKey("service_providers.id"), nullable=False),
    _id("order_id", sa.ForeignKey("orders.id"), nullable=False, index=True),
    _id("sku_id", sa.ForeignKey("skus.id"), nullable=False),
    _id("resident_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("code", sa.String(16), nullable=False),
    sa.Column("issued_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("status", _enum(VoucherStatus, "voucher_status"), nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=True),
    _id("redeemed_by", nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("provider_id", "code", name="uq_vouchers_provider_code"),
    sa.Index("ix_vouchers_status_expires_at", "status", "expires_at"),
)

_started = False
_lock = threading.Lock()


def _none_if_all_null(*values: Any) -> bool:
    return all(v is None for v in values)


def _restore_events(target: Any, _context: Any) -> None:
    target.events = []


def start_mappers() -> None:
    """Map the domain classes. Safe to call more than once, from any thread."""
    global _started
    with _lock:
        if _started:
            return
        mapper_registry.map_imperatively(
            Community, communities, version_id_col=communities.c.version, version_id_generator=False
        )
        mapper_registry.map_imperatively(
            Seller, sellers, version_id_col=sellers.c.version, version_id_generator=False
        )
        mapper_registry.map_imperatively(
            Product,
            products,
            version_id_col=products.c.version,
            version_id_generator=False,
            properties={
                "fresh": composite(
                    FreshFacts,
                    products.c.storage,
                    products.c.shelf_life_days,
                    products.c.harvested_at,
                    return_none_on=_none_if_all_null,
                ),
            },
        )
        mapper_registry.map_imperatively(Listing, sku_listings)
        mapper_registry.map_imperatively(
            Sku,
            skus,
            version_id_col=skus.c.version,
            version_id_generator=False,
            properties={
                "price": composite(Money, skus.c.price_fen),
                "list_price": composite(
                    Money, skus.c.list_price_fen, return_none_on=_none_if_all_null
                ),
                "listings": relationship(
                    Listing,
                    lazy="selectin",
                    cascade="all, delete-orphan",
                    order_by=sku_listings.c.listed_at,
                ),
            },
        )
        mapper_registry.map_imperatively(
            Account,
            accounts,
            version_id_col=accounts.c.version,
            version_id_generator=False,
            # phone and name stay plain attributes: the accounts repository seals them into
            # these columns on flush and opens them on load
            properties={
                "_phone_sealed": accounts.c.phone_sealed,
                "_phone_lookup": accounts.c.phone_lookup,
                "_name_sealed": accounts.c.name_sealed,
                "_pii_key_id": accounts.c.pii_key_id,
            },
        )
        mapper_registry.map_imperatively(
            Address,
            addresses,
            version_id_col=addresses.c.version,
            version_id_generator=False,
            properties={
                "_recipient_sealed": addresses.c.recipient_sealed,
                "_phone_sealed": addresses.c.phone_sealed,
                "_detail_sealed": addresses.c.detail_sealed,
                "_pii_key_id": addresses.c.pii_key_id,
            },
        )
        plain: tuple[tuple[type, sa.Table], ...] = (
            (Throttle, throttles),
            (SignInCode, sign_in_codes),
            (RefreshSession, refresh_sessions),
        )
        for record, table in plain:
            mapper_registry.map_imperatively(
                record, table, version_id_col=table.c.version, version_id_generator=False
            )
        _map_ordering()
        _map_payments()
        _map_groupbuy()
        _map_fulfilment()
        _map_services()
        _map_community()
        _map_promotions()
        aggregates = (
            Product,
            Sku,
            Account,
            Coupon,
            Refund,
            Payment,
            GroupBuyCampaign,
            GroupBuy,
            PickupPoint,
            PickupTicket,
            Shipment,
            DeliverySlot,
            ServiceProvider,
            ServiceBooking,
            Announcement,
            Activity,
            Complaint,
            Board,
            Post,
            Comment,
            PostLike,
            ForumReport,
            Review,
            Promotion,
            Voucher,
        )
        for aggregate in aggregates:
            event.listen(aggregate, "load", _restore_events)
        _started = True


def _money(column: sa.Column[Any]) -> Any:
    return composite(Money, column)


def _map_ordering() -> None:
    mapper_registry.map_imperatively(CartLine, cart_lines)
    mapper_registry.map_imperatively(
        Cart,
        carts,
        version_id_col=carts.c.version,
        version_id_generator=False,
        properties={
            "lines": relationship(
                CartLine,
                lazy="selectin",
                cascade="all, delete-orphan",
                order_by=[cart_lines.c.added_at, cart_lines.c.sku_id],
            )
        },
    )
    mapper_registry.map_imperatively(
        Coupon,
        coupons,
        version_id_col=coupons.c.version,
        version_id_generator=False,
        properties={
            "amount": _money(coupons.c.amount_fen),
            "threshold": _money(coupons.c.threshold_fen),
            "cap": composite(Money, coupons.c.cap_fen, return_none_on=_none_if_all_null),
        },
    )
    mapper_registry.map_imperatively(
        CouponGrant,
        coupon_grants,
        version_id_col=coupon_grants.c.version,
        version_id_generator=False,
    )
    mapper_registry.map_imperatively(
        Refund,
        refunds,
        version_id_col=refunds.c.version,
        version_id_generator=False,
        properties={
            "delivery_fee": _money(refunds.c.delivery_fee_fen),
            "amount": _money(refunds.c.amount_fen),
        },
    )


def _map_payments() -> None:
    mapper_registry.map_imperatively(
        PaymentEntry,
        payment_entries,
        properties={"amount": _money(payment_entries.c.amount_fen)},
    )
    mapper_registry.map_imperatively(
        PaymentRefund,
        payment_refunds,
        properties={"amount": _money(payment_refunds.c.amount_fen)},
    )
    mapper_registry.map_imperatively(
        Payment,
        payments,
        version_id_col=payments.c.version,
        version_id_generator=False,
        properties={
            "amount": _money(payments.c.amount_fen),
            "authorised": _money(payments.c.authorised_fen),
            "charged": _money(payments.c.charged_fen),
            "refunded": _money(payments.c.refunded_fen),
            "refund_pending": _money(payments.c.refund_pending_fen),
            "entries": relationship(
                PaymentEntry,
                lazy="selectin",
                cascade="all",
                order_by=payment_entries.c.id,
            ),
            "refunds": relationship(
                PaymentRefund,
                lazy="selectin",
                cascade="all",
                order_by=[payment_refunds.c.requested_at, payment_refunds.c.id],
            ),
        },
    )


def _map_fulfilment() -> None:
    mapper_registry.map_imperatively(
        Shipment, shipments, version_id_col=shipments.c.version, version_id_generator=False
    )
    mapper_registry.map_imperatively(
        DeliverySlot,
        delivery_slots,
        version_id_col=delivery_slots.c.version,
        version_id_generator=False,
        exclude_properties=["booked"],
    )
    mapper_registry.map_imperatively(
        PickupPoint,
        pickup_points,
        version_id_col=pickup_points.c.version,
        version_id_generator=False,
    )
    mapper_registry.map_imperatively(
        PickupTicket,
        pickup_tickets,
        version_id_col=pickup_tickets.c.version,
        version_id_generator=False,
    )


def _map_promotions() -> None:
    mapper_registry.map_imperatively(
        Promotion,
        promotions,
        version_id_col=promotions.c.version,
        version_id_generator=False,
        properties={
            "price": _money(promotions.c.price_fen),
            "value": composite(Money, promotions.c.value_fen, return_none_on=_none_if_all_null),
        },
    )


def _map_community() -> None:
    for record, table in (
        (Announcement, announcements),
        (Activity, activities),
        (ActivitySignUp, activity_signups),
        (Complaint, complaints),
        (Board, forum_boards),
        (Post, forum_posts),
        (Comment, forum_comments),
        (PostLike, forum_likes),
        (ForumReport, forum_reports),
        (Review, reviews),
        (Voucher, vouchers),
    ):
        mapper_registry.map_imperatively(
            record, table, version_id_col=table.c.version, version_id_generator=False
        )


def _map_services() -> None:
    mapper_registry.map_imperatively(
        ServiceProvider,
        service_providers,
        version_id_col=service_providers.c.version,
        version_id_generator=False,
    )
    mapper_registry.map_imperatively(
        StaffMember,
        service_staff,
        version_id_col=service_staff.c.version,
        version_id_generator=False,
    )
    mapper_registry.map_imperatively(
        ServiceOffering,
        service_offerings,
        version_id_col=service_offerings.c.version,
        version_id_generator=False,
        properties={
            "price": _money(service_offerings.c.price_fen),
            "late_cancel_fee": _money(service_offerings.c.late_cancel_fee_fen),
        },
    )
    mapper_registry.map_imperatively(
        ServiceBooking,
        service_bookings,
        version_id_col=service_bookings.c.version,
        version_id_generator=False,
        properties={
            "price": _money(service_bookings.c.price_fen),
            "fee": _money(service_bookings.c.fee_fen),
        },
    )


def _map_groupbuy() -> None:
    mapper_registry.map_imperatively(
        CommissionEntry,
        leader_commissions,
        properties={
            "amount": _money(leader_commissions.c.amount_fen),
            "revenue": _money(leader_commissions.c.revenue_fen),
        },
    )
    mapper_registry.map_imperatively(
        GroupBuyCampaign,
        group_buy_campaigns,
        version_id_col=group_buy_campaigns.c.version,
        version_id_generator=False,
    )
    mapper_registry.map_imperatively(
        Participation,
        group_buy_participants,
        properties={"unit_price": _money(group_buy_participants.c.unit_price_fen)},
    )
    mapper_registry.map_imperatively(
        GroupBuy,
        group_buys,
        version_id_col=group_buys.c.version,
        version_id_generator=False,
        properties={
            "unit_price": composite(
                Money, group_buys.c.unit_price_fen, return_none_on=_none_if_all_null
            ),
            "participants": relationship(
                Participation,
                lazy="selectin",
                cascade="all",
                order_by=group_buy_participants.c.id,
            ),
        },
    )
