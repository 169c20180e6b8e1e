"""The ports the use cases talk through. Adapters implement them; nothing here does I/O."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, Self

import attrs

from shequ.application.catalog.search import ProductHit, ProductQuery
from shequ.domain.audit import AuditRecord
from shequ.domain.auth import RefreshSession, SignInCode, Throttle
from shequ.domain.catalog import Community, Product, Seller, Sku
from shequ.domain.community import Activity, ActivitySignUp, Announcement
from shequ.domain.complaints import Complaint, ComplaintStatus
from shequ.domain.events import DomainEvent
from shequ.domain.forum import Board, Comment, ContentKind, ForumReport, Post, PostLike
from shequ.domain.fulfilment.delivery import DeliverySlot, DeliveryStatus, Shipment
from shequ.domain.fulfilment.pickup import PickupPoint, PickupTicket
from shequ.domain.groupbuy import CommissionEntry, GroupBuy, GroupBuyCampaign
from shequ.domain.identity import Account, Address
from shequ.domain.ids import (
    AccountId,
    ActivityId,
    AnnouncementId,
    BoardId,
    BookingId,
    CampaignId,
    CommentId,
    CommunityId,
    ComplaintId,
    CouponId,
    DeliverySlotId,
    GrantId,
    GroupBuyId,
    OfferingId,
    OrderId,
    PaymentId,
    PickupPointId,
    PostId,
    ProductId,
    PromotionId,
    ProviderId,
    RefundId,
    ReviewId,
    SellerId,
    SkuId,
    StaffId,
    VoucherId,
)
from shequ.domain.media import PhotoFacts
from shequ.domain.money import Money
from shequ.domain.ordering import (
    Cart,
    Coupon,
    CouponGrant,
    Order,
    OrderStatus,
    Refund,
    RefundStatus,
)
from shequ.domain.payments import Channel, Payment, PaymentState, PaymentStatus, RefundState
from shequ.domain.promotions import Promotion, Voucher
from shequ.domain.reviews import Review, ReviewSubject
from shequ.domain.routing import GeoPoint
from shequ.domain.services import (
    ProviderKind,
    ServiceBooking,
    ServiceOffering,
    ServiceProvider,
    StaffMember,
)

__all__ = [
    "AccessClaims",
    "AccountRepository",
    "ActivityRepository",
    "AddressRepository",
    "AnnouncementRepository",
    "AuditLog",
    "AuditQuery",
    "BillEntry",
    "BillEntryKind",
    "BlobStore",
    "BoardRepository",
    "BookingRepository",
    "CampaignRepository",
    "CartRepository",
    "Clock",
    "CommentRepository",
    "CommissionRepository",
    "CommunityRepository",
    "ComplaintQuery",
    "ComplaintRepository",
    "CouponGrantRepository",
    "CouponRepository",
    "Courier",
    "CourierQuote",
    "CourierRequest",
    "CourierUpdate",
    "DeliverySlotRepository",
    "EventPublisher",
    "ForumReportRepository",
    "GroupBuyRepository",
    "HealthCheck",
    "ImageInspector",
    "LikeRepository",
    "Notifier",
    "OfferingRepository",
    "OrderQuery",
    "OrderRepository",
    "Outbox",
    "OutboxMessage",
    "PasswordHasher",
    "PaymentGateway",
    "PaymentIntent",
    "PaymentNotification",
    "PaymentQuery",
    "PaymentRepository",
    "PaymentRequest",
    "PersonalDataKeys",
    "PickupNotice",
    "PickupPointRepository",
    "PickupTicketRepository",
    "PostRepository",
    "ProductRepository",
    "PromotionRepository",
    "ProviderPayment",
    "ProviderQuery",
    "ProviderRefund",
    "ProviderRepository",
    "RefreshSessionRepository",
    "RefundQuery",
    "RefundRepository",
    "ReviewRepository",
    "SchemaMigrations",
    "SecretDigest",
    "SellerRepository",
    "ShipmentRepository",
    "SignInCodeRepository",
    "SignUpRepository",
    "SkuOffer",
    "SkuRepository",
    "StaffRepository",
    "ThrottleRepository",
    "TokenIssuer",
    "UnitOfWork",
    "VoucherRepository",
]


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Hand committed events to their subscribers. Never raises for a handler's failure."""
        ...


class CommunityRepository(Protocol):
    def add(self, community: Community) -> None: ...

    def get(self, community_id: CommunityId) -> Community:
        """Raises :class:`CommunityNotFound`."""
        ...

    def get_for_update(self, community_id: CommunityId) -> Community:
        """Like :meth:`get`, read afresh and locked until the unit of work ends."""
        ...

    def find(self, community_id: CommunityId) -> Community | None: ...

    def list(self) -> list[Community]:
        """All communities by name."""
        ...


class SellerRepository(Protocol):
    def add(self, seller: Seller) -> None: ...

    def get(self, seller_id: SellerId) -> Seller:
        """Raises :class:`SellerNotFound`."""
        ...

    def find(self, seller_id: SellerId) -> Seller | None: ...

    def list(self, community_id: CommunityId | None = None) -> list[Seller]:
        """Sellers by name; with a community, its merchants and the platform sellers."""
        ...


class ProductRepository(Protocol):
    def add(self, product: Product) -> None: ...

    def get(self, product_id: ProductId) -> Product:
        """Raises :class:`ProductNotFound`."""
        ...

    def get_for_update(self, product_id: ProductId) -> Product: ...

    def find(self, product_id: ProductId) -> Product | None: ...

    def search(self, query: ProductQuery) -> list[ProductHit]:
        """Products with at least one SKU matching every SKU criterion, in the query's order,
        strictly after its position, at most ``query.limit`` of them."""
        ...


@attrs.frozen
class SkuOffer:
    """What a buyer's cart and checkout need to know of a SKU, read in one go."""

    sku_id: SkuId
    product_id: ProductId
    seller_id: SellerId
    name: str
    spec: str
    category: str
    price: Money
    stock: int
    on_sale: bool
    community_ids: frozenset[CommunityId]


class SkuRepository(Protocol):
    def add(self, sku: Sku) -> None: ...

    def get(self, sku_id: SkuId) -> Sku:
        """Raises :class:`SkuNotFound`."""
        ...

    def find(self, sku_id: SkuId) -> Sku | None: ...

    def get_for_update(self, sku_id: SkuId) -> Sku:
        """Like :meth:`get`, and no other unit of work changes the SKU until this one ends
        (``SELECT … FOR UPDATE`` on PostgreSQL). Raises :class:`SkuNotFound`."""
        ...

    def for_products(self, product_ids: Iterable[ProductId]) -> Mapping[ProductId, list[Sku]]:
        """The SKUs of each product, oldest first; a product without SKUs maps to ``[]``."""
        ...

    def offers(self, sku_ids: Iterable[SkuId]) -> dict[SkuId, SkuOffer]:
        """The offers of those SKUs that exist, as committed (no lock is taken)."""
        ...

    def take_stock(self, units: Mapping[SkuId, int]) -> None:
        """Remove ``units`` from stock, SKU by SKU in id order, each only if enough is on
        hand (a guarded decrement, so concurrent orders never oversell or deadlock).
        Raises :class:`InsufficientStock` (the unit of work must then be rolled back) or
        :class:`SkuNotFound`."""
        ...

    def return_stock(self, units: Mapping[SkuId, int]) -> None:
        """Put ``units`` back in stock, in id order."""
        ...


class AccountRepository(Protocol):
    def add(self, account: Account) -> None: ...

    def get(self, account_id: AccountId) -> Account:
        """Raises :class:`AccountNotFound`."""
        ...

    def find(self, account_id: AccountId) -> Account | None: ...

    def find_by_phone(self, phone: str) -> Account | None:
        """The account of a normalised phone number (found by a keyed hash in SQL)."""
        ...

    def list(self, community_id: CommunityId | None = None) -> list[Account]:
        """Accounts by creation; with a community, those holding a role there."""
        ...


@attrs.frozen
class AuditQuery:
    """Records matching every given criterion, newest first."""

    actor_id: AccountId | None = None
    subject: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 100


class AuditLog(Protocol):
    def append(self, record: AuditRecord) -> None:
        """Written with the unit of work's other changes, at commit."""
        ...

    def search(self, query: AuditQuery) -> list[AuditRecord]: ...


class AddressRepository(Protocol):
    def add(self, address: Address) -> None: ...

    def get(self, address_id: str) -> Address:
        """Raises :class:`NotFound`."""
        ...

    def find(self, address_id: str) -> Address | None: ...

    def of_account(self, account_id: AccountId) -> list[Address]:
        """The account's addresses that were not removed, oldest first."""
        ...


class ThrottleRepository(Protocol):
    def find(self, throttle_id: str) -> Throttle | None: ...

    def add(self, throttle: Throttle) -> None: ...


class SignInCodeRepository(Protocol):
    def find(self, code_id: str) -> SignInCode | None: ...

    def add(self, code: SignInCode) -> None: ...


class RefreshSessionRepository(Protocol):
    def find(self, session_id: str) -> RefreshSession | None: ...

    def add(self, session: RefreshSession) -> None: ...

    def of_account(self, account_id: AccountId) -> list[RefreshSession]:
        """The account's sessions that are not revoked."""
        ...


class CartRepository(Protocol):
    def add(self, cart: Cart) -> None: ...

    def find_for(self, resident_id: AccountId, community_id: CommunityId) -> Cart | None: ...


class CouponRepository(Protocol):
    def add(self, coupon: Coupon) -> None: ...

    def get(self, coupon_id: CouponId) -> Coupon:
        """Raises :class:`CouponNotFound`."""
        ...

    def find(self, coupon_id: CouponId) -> Coupon | None: ...

    def get_for_update(self, coupon_id: CouponId) -> Coupon:
        """Like :meth:`get`, locked until the unit of work ends: issuing copies counts
        against the coupon's limits one at a time."""
        ...

    def find_by_code(self, claim_code: str) -> Coupon | None:
        """The coupon with this claim code, locked like :meth:`get_for_update`."""
        ...

    def list(self, seller_id: SellerId | None = None, *, platform: bool = False) -> list[Coupon]:
        """Coupons, newest first: of one seller, of the platform only, or all."""
        ...


class CouponGrantRepository(Protocol):
    def add(self, grant: CouponGrant) -> None: ...

    def get(self, grant_id: GrantId) -> CouponGrant:
        """Raises :class:`CouponNotFound`."""
        ...

    def find(self, grant_id: GrantId) -> CouponGrant | None: ...

    def of_resident(
        self, resident_id: AccountId, coupon_id: CouponId | None = None
    ) -> list[CouponGrant]:
        """A resident's copies (used or not, added in this unit of work too), oldest
        first; of one coupon if given."""
        ...


@attrs.frozen
class OrderQuery:
    """Orders matching every given criterion, newest first, strictly after ``after``
    (the ``(placed_at, id)`` of the previous page's last order)."""

    resident_id: AccountId | None = None
    community_id: CommunityId | None = None
    status: OrderStatus | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    pickup_point_id: str | None = None
    seller_id: SellerId | None = None
    after: tuple[dt.datetime, OrderId] | None = None
    limit: int = 20


class OrderRepository(Protocol):
    def add(self, order: Order) -> None: ...

    def get(self, order_id: OrderId) -> Order:
        """Raises :class:`OrderNotFound`."""
        ...

    def find(self, order_id: OrderId) -> Order | None: ...

    def get_for_update(self, order_id: OrderId) -> Order:
        """Like :meth:`get`, locked until the unit of work ends."""
        ...

    def find_by_key(self, resident_id: AccountId, idempotency_key: str) -> Order | None:
        """The order a resident placed with this idempotency key, if any."""
        ...

    def search(self, query: OrderQuery) -> list[Order]: ...

    def to_deliver(
        self, pickup_date: dt.date, slot_ids: Iterable[DeliverySlotId] = ()
    ) -> list[Order]:
        """Paid or packed orders on their way: collected at a pickup point on
        ``pickup_date``, or delivered in one of ``slot_ids``; by id."""
        ...

    def due_to_expire(self, now: dt.datetime, limit: int, *, grouped: bool = False) -> list[Order]:
        """Unpaid orders past their payment deadline, oldest deadline first, locked; orders
        another unit of work holds are skipped (``FOR UPDATE SKIP LOCKED``), so two
        processes expiring at once never take the same order. Orders that hold a seat in
        a group are left to group buying, which gives the seat up with them; ``grouped``
        asks for those alone."""
        ...


@attrs.frozen
class RefundQuery:
    """Refunds matching every given criterion; ``awaiting_payout``: approved, and not yet
    handed to the payment that took the money (``shequ payments retry-refunds`` does)."""

    status: RefundStatus | None = None
    order_id: OrderId | None = None
    community_id: CommunityId | None = None
    awaiting_payout: bool = False
    limit: int = 50


class RefundRepository(Protocol):
    def add(self, refund: Refund) -> None: ...

    def get_for_update(self, refund_id: RefundId) -> Refund:
        """Like :meth:`get`, read afresh and locked until the unit of work ends."""
        ...

    def get(self, refund_id: RefundId) -> Refund:
        """Raises :class:`RefundNotFound`."""
        ...

    def find(self, refund_id: RefundId) -> Refund | None: ...

    def search(self, query: RefundQuery) -> list[Refund]:
        """Newest request first."""
        ...


@attrs.frozen
class PaymentRequest:
    """What the shop asks a provider to take. ``payment_id`` is our reference for the
    payment (WeChat's ``out_trade_no``, Alipay's ``out_trade_no``, Stripe's metadata):
    at most 32 letters and digits, and creating twice with one id is one payment."""

    payment_id: PaymentId
    order_id: OrderId
    amount: Money
    channel: Channel
    description: str
    expires_at: dt.datetime
    payer_id: str | None = None  # WeChat JSAPI: the payer's openid
    client_ip: str | None = None  # WeChat H5: the payer's IP address


@attrs.frozen
class PaymentIntent:
    """A payment the provider is ready to take; ``params`` go to the payer's app: a
    ``code_url`` (Native), signed ``prepay_id`` parameters (JSAPI), an ``h5_url``, a
    signed ``url`` (Alipay page/wap), an ``order_string`` (Alipay app) or a
    ``client_secret`` (card)."""

    payment_id: PaymentId
    provider: str
    channel: Channel
    amount: Money
    params: Mapping[str, str]
    provider_ref: str | None = None  # where the provider names the payment at once (pi_…)


@attrs.frozen
class ProviderPayment:
    """A payment as the provider reports it, in a query's answer or a notification."""

    payment_id: PaymentId
    state: PaymentState
    amount: Money
    provider_ref: str | None = None  # WeChat transaction_id, Alipay trade_no, Stripe pi_…
    merchant_id: str | None = None  # the merchant the provider says was paid
    at: dt.datetime | None = None  # when it succeeded (or failed, or closed)


@attrs.frozen
class ProviderRefund:
    """A refund as the provider reports it. ``refund_id`` is our refund number."""

    refund_id: str
    payment_id: PaymentId
    state: RefundState
    amount: Money
    provider_ref: str | None = None
    merchant_id: str | None = None
    at: dt.datetime | None = None


@attrs.frozen
class PaymentNotification:
    """A notification whose signature verified. ``sent_at`` is when the provider signed
    it, where its protocol says (WeChat's and Stripe's signature timestamps); ``None``
    where it does not."""

    subject: ProviderPayment | ProviderRefund
    sent_at: dt.datetime | None = None


class BillEntryKind(enum.StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


@attrs.frozen
class BillEntry:
    """One line of the provider's bill for a day: money that moved."""

    kind: BillEntryKind
    payment_id: str  # our reference, as the provider knows it
    provider_ref: str
    amount: Money
    at: dt.datetime
    refund_id: str | None = None  # our refund number, for refunds


class PaymentGateway(Protocol):
    """A payment provider. Every amount crosses as integer fen.

    Calls that reach the provider raise :class:`PaymentUnavailable` when it times out,
    cannot be reached or answers 5xx, and :class:`PaymentRefused` when it answers with a
    refusal; neither echoes a key or a secret.
    """

    @property
    def provider(self) -> str:
        """``wechat``, ``alipay``, ``stripe`` or ``sandbox``: the name in notify URLs."""
        ...

    @property
    def channels(self) -> frozenset[Channel]: ...

    @property
    def merchant_id(self) -> str | None:
        """The merchant a notification must name (WeChat ``mchid``, Alipay ``app_id``);
        ``None`` where the provider's notifications name none."""
        ...

    def create(self, request: PaymentRequest) -> PaymentIntent:
        """Ask the provider to take the amount. Idempotent per ``payment_id``."""
        ...

    # ``provider_ref`` is the provider's reference where the shop knows it: Stripe can
    # only find a payment or a refund by its own id; WeChat and Alipay take ours.

    def query(self, payment_id: PaymentId, provider_ref: str | None = None) -> ProviderPayment: ...

    def close(self, payment_id: PaymentId, provider_ref: str | None = None) -> None:
        """Make an unpaid payment unpayable; closing a closed one is fine."""
        ...

    def refund(
        self,
        payment_id: PaymentId,
        refund_id: str,
        amount: Money,
        total: Money,
        provider_ref: str | None = None,
    ) -> ProviderRefund:
        """Give ``amount`` of the payment (of ``total``) back; idempotent per
        ``refund_id``. The answer is usually still ``pending``."""
        ...

    def query_refund(
        self, payment_id: PaymentId, refund_id: str, provider_ref: str | None = None
    ) -> ProviderRefund:
        """``provider_ref`` here is the refund's own reference at the provider."""
        ...

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        """Verify a notification's signature before reading anything, then read it.
        Raises :class:`PaymentNotificationInvalid` for a bad signature, a key that is
        not the provider's, a body that cannot be read or decrypted."""
        ...

    def download_bill(self, day: dt.date) -> list[BillEntry]:
        """The provider's bill for a day (China Standard Time for WeChat and Alipay)."""
        ...


@attrs.frozen
class PickupNotice:
    """What a resident is told about an order at a pickup point: its ``code`` on arrival
    (``kind="code"``), a reminder after ``days`` (``"reminder"``), or that it was returned
    and refunded (``"returned"``)."""

    kind: str
    order_id: OrderId
    point_name: str
    point_address: str
    code: str | None = attrs.field(default=None, repr=False)
    days: int = 0


class Notifier(Protocol):
    def send_sign_in_code(self, phone: str, code: str) -> None:
        """Deliver a one-time code (by SMS in production)."""
        ...

    def send_pickup_notice(self, phone: str, notice: PickupNotice) -> None:
        """Tell a resident about their order at a pickup point (SMS, app push …).
        Raises :class:`AdapterError` when it cannot be sent; the caller carries on."""
        ...


class SecretDigest(Protocol):
    def digest(self, value: str) -> str:
        """A keyed hash: equal for equal values, useless without the key."""
        ...


@attrs.frozen
class AccessClaims:
    account_id: AccountId
    generation: int
    expires_at: dt.datetime


class TokenIssuer(Protocol):
    def issue(
        self, account_id: AccountId, generation: int, now: dt.datetime
    ) -> tuple[str, dt.datetime]:
        """A signed, short-lived access token and when it expires."""
        ...

    def verify(self, token: str, now: dt.datetime) -> AccessClaims:
        """Raises :class:`Unauthenticated` for a tampered, expired or foreign token."""
        ...


class ImageInspector(Protocol):
    def inspect(self, data: bytes) -> PhotoFacts:
        """Decode enough of ``data`` to know its real format and size; raises
        :class:`InvalidPhoto` for bytes that are no image it can read."""
        ...

    def without_metadata(self, data: bytes, facts: PhotoFacts) -> bytes:
        """The same picture written afresh, with no EXIF, text or other metadata (a phone's
        photo may carry where it was taken)."""
        ...


class BlobStore(Protocol):
    def put(self, name: str, data: bytes, content_type: str) -> str:
        """Store ``data`` under ``name`` (idempotent); returns the URI it is served at."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool:
        """False for a wrong password or a malformed hash; never raises for them."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...

    def spend_verification(self, password: str) -> None:
        """Take as long as :meth:`verify` does, for an account that has no password, so
        timing does not tell which numbers have accounts."""
        ...


@attrs.frozen
class OutboxMessage:
    """A committed domain event waiting to be relayed to a broker."""

    id: int
    name: str
    payload: Mapping[str, Any]
    occurred_at: dt.datetime


class Outbox(Protocol):
    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Events not yet relayed, oldest first."""
        ...

    def mark_published(self, message_ids: Sequence[int]) -> None: ...


@attrs.frozen
class PaymentQuery:
    """Payments matching every given criterion, newest first."""

    order_id: OrderId | None = None
    status: PaymentStatus | None = None
    provider: str | None = None
    flagged: bool = False
    limit: int = 100


class PaymentRepository(Protocol):
    def add(self, payment: Payment) -> None: ...

    def get(self, payment_id: PaymentId) -> Payment:
        """Raises :class:`PaymentNotFound`."""
        ...

    def get_for_update(self, payment_id: PaymentId) -> Payment:
        """Like :meth:`get`, read afresh and locked until the unit of work ends."""
        ...

    def find(self, payment_id: PaymentId) -> Payment | None: ...

    def search(self, query: PaymentQuery) -> list[Payment]: ...

    def still_open(self, created_before: dt.datetime, limit: int) -> list[Payment]:
        """Payments created or authorised, not yet paid, failed or closed, created before
        ``created_before``; oldest first."""
        ...

    def with_open_refunds(self, limit: int) -> list[Payment]:
        """Payments with a refund the provider has not yet confirmed, oldest first."""
        ...

    def moved_between(self, start: dt.datetime, end: dt.datetime) -> list[Payment]:
        """Payments charged, or with a refund sent or confirmed, in ``[start, end)``."""
        ...


class CampaignRepository(Protocol):
    def add(self, campaign: GroupBuyCampaign) -> None: ...

    def get(self, campaign_id: CampaignId) -> GroupBuyCampaign:
        """Raises :class:`CampaignNotFound`."""
        ...

    def get_for_update(self, campaign_id: CampaignId) -> GroupBuyCampaign:
        """Like :meth:`get`, read afresh and locked until the unit of work ends."""
        ...

    def find(self, campaign_id: CampaignId) -> GroupBuyCampaign | None: ...

    def running_in(self, community_id: CommunityId, now: dt.datetime) -> list[GroupBuyCampaign]:
        """The campaigns of a community whose window holds ``now``, ending soonest first."""
        ...

    def for_pickup_on(self, day: dt.date) -> list[GroupBuyCampaign]:
        """The campaigns whose goods reach the pickup points on ``day``."""
        ...


class CommissionRepository(Protocol):
    """The leaders' commission ledger: one entry per settled group, never changed."""

    def add(self, entry: CommissionEntry) -> None: ...

    def find(self, group_id: GroupBuyId) -> CommissionEntry | None: ...

    def of_leader(self, leader_id: AccountId) -> list[CommissionEntry]:
        """Newest first."""
        ...


class GroupBuyRepository(Protocol):
    def add(self, group: GroupBuy) -> None: ...

    def get(self, group_id: GroupBuyId) -> GroupBuy:
        """Raises :class:`GroupBuyNotFound`."""
        ...

    def get_for_update(self, group_id: GroupBuyId) -> GroupBuy:
        """Like :meth:`get`, read afresh and locked until the unit of work ends."""
        ...

    def find(self, group_id: GroupBuyId) -> GroupBuy | None: ...

    def find_by_invite_code(self, invite_code: str) -> GroupBuy | None: ...

    def of_resident(self, resident_id: AccountId) -> list[GroupBuy]:
        """Groups the resident is in, or led, newest first."""
        ...

    def of_campaign(self, campaign_id: CampaignId) -> list[GroupBuy]:
        """Newest first."""
        ...

    def quantity_in_campaign(self, campaign_id: CampaignId, resident_id: AccountId) -> int:
        """The units the resident holds in the campaign's groups that have not failed."""
        ...

    def due_to_settle(
        self, now: dt.datetime, limit: int, campaign_id: CampaignId | None = None
    ) -> list[GroupBuy]:
        """Open or succeeded groups whose deadline has passed (of one campaign, when
        given), read afresh and locked, skipping those another unit of work holds; oldest
        deadline first."""
        ...

    def campaigns_to_settle(self, now: dt.datetime) -> list[CampaignId]:
        """The campaigns with groups :meth:`due_to_settle` would return."""
        ...


class PickupPointRepository(Protocol):
    def add(self, point: PickupPoint) -> None: ...

    def get(self, point_id: PickupPointId) -> PickupPoint:
        """Raises :class:`PickupPointNotFound`."""
        ...

    def get_for_update(self, point_id: PickupPointId) -> PickupPoint:
        """Like :meth:`get`, read afresh and locked until the unit of work ends."""
        ...

    def find(self, point_id: PickupPointId) -> PickupPoint | None: ...

    def in_community(self, community_id: CommunityId) -> list[PickupPoint]:
        """Every point of the community, active or paused, by name."""
        ...

    def reserve(self, point_id: PickupPointId, day: dt.date, capacity: int) -> int:
        """Book one parcel at the point for ``day`` if fewer than ``capacity`` are booked
        (a guarded increment: concurrent checkouts never pass the capacity); the parcels
        booked then. Raises :class:`PickupPointFull` when the day is full."""
        ...

    def release(self, point_id: PickupPointId, day: dt.date) -> None:
        """Give one booked parcel of ``day`` back (an order cancelled or expired)."""
        ...

    def booked(self, point_id: PickupPointId, day: dt.date) -> int: ...


class PickupTicketRepository(Protocol):
    """Orders waiting at their pickup point, with their codes; a ticket's id is its order's."""

    def add(self, ticket: PickupTicket) -> None: ...

    def find(self, order_id: OrderId) -> PickupTicket | None: ...

    def get_for_update(self, order_id: OrderId) -> PickupTicket:
        """Raises :class:`NotFound` when the order has no ticket."""
        ...

    def waiting_with(self, point_id: PickupPointId, code: str) -> PickupTicket | None:
        """The uncollected ticket of the point with that code, locked."""
        ...

    def codes_waiting(self, point_id: PickupPointId) -> set[str]:
        """The codes of the point's uncollected tickets."""
        ...

    def waiting_since(self, before: dt.datetime, limit: int) -> list[PickupTicket]:
        """Uncollected tickets that arrived before ``before``, oldest first, locked,
        skipping those another unit of work holds."""
        ...


class DeliverySlotRepository(Protocol):
    """Delivery slots, and how many orders each holds (kept here, not on the slot)."""

    def add(self, slot: DeliverySlot) -> None: ...

    def get(self, slot_id: DeliverySlotId) -> DeliverySlot:
        """Raises :class:`DeliverySlotNotFound`."""
        ...

    def get_for_update(self, slot_id: DeliverySlotId) -> DeliverySlot:
        """Like :meth:`get`, read afresh and locked until the unit of work ends."""
        ...

    def find(self, slot_id: DeliverySlotId) -> DeliverySlot | None: ...

    def starting_between(
        self, start: dt.datetime, end: dt.datetime, community_id: CommunityId | None = None
    ) -> list[DeliverySlot]:
        """Slots that start in ``[start, end)`` (of one community, when given), by start."""
        ...

    def reserve(self, slot_id: DeliverySlotId) -> int:
        """Book one order in the slot if it has room (a guarded increment: concurrent
        checkouts never pass its capacity); the orders booked then. Raises
        :class:`DeliverySlotFull` when it has no room."""
        ...

    def release(self, slot_id: DeliverySlotId) -> None:
        """Give one booked place back (an order cancelled or expired)."""
        ...

    def booked(self, slot_ids: Iterable[DeliverySlotId]) -> dict[DeliverySlotId, int]:
        """How many orders each slot holds (0 for one that holds none)."""
        ...


class ShipmentRepository(Protocol):
    """Home deliveries; a shipment's id is its order's."""

    def add(self, shipment: Shipment) -> None: ...

    def get(self, order_id: OrderId) -> Shipment:
        """Raises :class:`DeliveryNotFound`."""
        ...

    def get_for_update(self, order_id: OrderId) -> Shipment: ...

    def find(self, order_id: OrderId) -> Shipment | None: ...

    def by_courier_ref(self, courier: str, courier_ref: str) -> Shipment | None:
        """The shipment a courier knows by that reference, locked."""
        ...

    def waiting(self, limit: int) -> list[Shipment]:
        """Shipments no courier has yet, oldest first, locked, skipping those another unit
        of work holds."""
        ...

    def with_team(
        self, community_ids: Iterable[CommunityId] | None = None, *, open_only: bool = True
    ) -> list[Shipment]:
        """Our own team's deliveries (of those communities, when given), oldest first;
        ``open_only``: those not yet delivered, failed or returned."""
        ...


@attrs.frozen
class ProviderQuery:
    """Merchants of a community, of a ``kind`` when given, whose name, description or
    address holds every word of ``words``; by name."""

    community_id: CommunityId | None = None
    kind: ProviderKind | None = None
    words: tuple[str, ...] = ()
    verified_only: bool = False
    limit: int = 50


class ProviderRepository(Protocol):
    def add(self, provider: ServiceProvider) -> None: ...

    def get(self, provider_id: ProviderId) -> ServiceProvider:
        """Raises :class:`ProviderNotFound`."""
        ...

    def get_for_update(self, provider_id: ProviderId) -> ServiceProvider: ...

    def find(self, provider_id: ProviderId) -> ServiceProvider | None: ...

    def search(self, query: ProviderQuery) -> list[ServiceProvider]: ...


class StaffRepository(Protocol):
    def add(self, staff: StaffMember) -> None: ...

    def get(self, staff_id: StaffId) -> StaffMember:
        """Raises :class:`StaffNotFound`."""
        ...

    def get_for_update(self, staff_id: StaffId) -> StaffMember:
        """Read afresh and locked until the unit of work ends: one booking of a member of
        staff at a time."""
        ...

    def find(self, staff_id: StaffId) -> StaffMember | None: ...

    def of_provider(self, provider_id: ProviderId) -> list[StaffMember]: ...


class OfferingRepository(Protocol):
    def add(self, offering: ServiceOffering) -> None: ...

    def get(self, offering_id: OfferingId) -> ServiceOffering:
        """Raises :class:`OfferingNotFound`."""
        ...

    def get_for_update(self, offering_id: OfferingId) -> ServiceOffering: ...

    def find(self, offering_id: OfferingId) -> ServiceOffering | None: ...

    def of_provider(self, provider_id: ProviderId) -> list[ServiceOffering]: ...


class BookingRepository(Protocol):
    def add(self, booking: ServiceBooking) -> None: ...

    def get(self, booking_id: BookingId) -> ServiceBooking:
        """Raises :class:`BookingNotFound`."""
        ...

    def get_for_update(self, booking_id: BookingId) -> ServiceBooking: ...

    def find(self, booking_id: BookingId) -> ServiceBooking | None: ...

    def find_by_key(
        self, resident_id: AccountId, idempotency_key: str
    ) -> ServiceBooking | None: ...

    def busy(self, staff_id: StaffId, start: dt.datetime, end: dt.datetime) -> list[ServiceBooking]:
        """The bookings that keep the member of staff busy and touch ``[start, end)``."""
        ...

    def of_resident(self, resident_id: AccountId) -> list[ServiceBooking]:
        """Newest start first."""
        ...

    def of_provider(
        self, provider_id: ProviderId, start: dt.datetime, end: dt.datetime
    ) -> list[ServiceBooking]:
        """Bookings starting in ``[start, end)``, by start."""
        ...

    def to_remind(self, start: dt.datetime, end: dt.datetime, limit: int) -> list[ServiceBooking]:
        """Requested or confirmed bookings starting in ``[start, end)`` not reminded yet,
        locked, skipping those another unit of work holds; by start."""
        ...


class AnnouncementRepository(Protocol):
    def add(self, announcement: Announcement) -> None: ...

    def get(self, announcement_id: AnnouncementId) -> Announcement:
        """Raises :class:`AnnouncementNotFound`."""
        ...

    def get_for_update(self, announcement_id: AnnouncementId) -> Announcement: ...

    def find(self, announcement_id: AnnouncementId) -> Announcement | None: ...

    def shown_in(
        self, community_id: CommunityId, now: dt.datetime, limit: int
    ) -> list[Announcement]:
        """What the community sees now: pinned first, then the newest published."""
        ...


class ActivityRepository(Protocol):
    def add(self, activity: Activity) -> None: ...

    def get(self, activity_id: ActivityId) -> Activity:
        """Raises :class:`ActivityNotFound`."""
        ...

    def get_for_update(self, activity_id: ActivityId) -> Activity:
        """Read afresh and locked: sign-ups of one activity are taken one at a time."""
        ...

    def find(self, activity_id: ActivityId) -> Activity | None: ...

    def in_community(
        self, community_id: CommunityId, start: dt.datetime, end: dt.datetime
    ) -> list[Activity]:
        """Activities starting in ``[start, end)``, by start."""
        ...


class SignUpRepository(Protocol):
    def add(self, sign_up: ActivitySignUp) -> None: ...

    def of_activity(self, activity_id: ActivityId) -> list[ActivitySignUp]:
        """Every sign-up of the activity, in the order they came (``seq``)."""
        ...

    def active(self, activity_id: ActivityId, resident_id: AccountId) -> ActivitySignUp | None:
        """The resident's confirmed or waitlisted sign-up."""
        ...


@attrs.frozen
class ComplaintQuery:
    """Tickets of a resident or of a community, of a status, or only the ``overdue`` ones
    at ``now``; oldest first."""

    resident_id: AccountId | None = None
    community_id: CommunityId | None = None
    status: ComplaintStatus | None = None
    overdue_at: dt.datetime | None = None
    limit: int = 100


class ComplaintRepository(Protocol):
    def add(self, complaint: Complaint) -> None: ...

    def get(self, complaint_id: ComplaintId) -> Complaint:
        """Raises :class:`ComplaintNotFound`."""
        ...

    def get_for_update(self, complaint_id: ComplaintId) -> Complaint: ...

    def find(self, complaint_id: ComplaintId) -> Complaint | None: ...

    def search(self, query: ComplaintQuery) -> list[Complaint]: ...


class BoardRepository(Protocol):
    def add(self, board: Board) -> None: ...

    def get(self, board_id: BoardId) -> Board:
        """Raises :class:`BoardNotFound`."""
        ...

    def get_for_update(self, board_id: BoardId) -> Board: ...

    def of_community(self, community_id: CommunityId) -> list[Board]:
        """Oldest first."""
        ...


class PostRepository(Protocol):
    def add(self, post: Post) -> None: ...

    def get(self, post_id: PostId) -> Post:
        """Raises :class:`PostNotFound`."""
        ...

    def get_for_update(self, post_id: PostId) -> Post: ...

    def in_board(
        self,
        board_id: BoardId,
        *,
        reader_id: AccountId | None,
        after: tuple[dt.datetime, PostId] | None,
        limit: int,
    ) -> list[Post]:
        """The board's published posts, and the reader's own held or hidden ones, the most
        recently active first, strictly after ``after`` (the previous page's last
        ``(last_activity_at, id)``)."""
        ...

    def to_review(self, community_id: CommunityId, limit: int) -> list[Post]:
        """Held posts and published ones with open reports, oldest first."""
        ...


class CommentRepository(Protocol):
    def add(self, comment: Comment) -> None: ...

    def get(self, comment_id: CommentId) -> Comment:
        """Raises :class:`CommentNotFound`."""
        ...

    def get_for_update(self, comment_id: CommentId) -> Comment: ...

    def of_post(self, post_id: PostId) -> list[Comment]:
        """Every comment of the post, oldest first."""
        ...

    def to_review(self, community_id: CommunityId, limit: int) -> list[Comment]:
        """Held comments and published ones with open reports, oldest first."""
        ...


class LikeRepository(Protocol):
    def add(self, like: PostLike) -> None: ...

    def find_of(self, post_id: PostId, account_id: AccountId) -> PostLike | None: ...

    def liked_by(self, account_id: AccountId, post_ids: Sequence[PostId]) -> set[PostId]:
        """Which of the posts the account likes now."""
        ...


class ForumReportRepository(Protocol):
    def add(self, report: ForumReport) -> None: ...

    def find_by(
        self, reporter_id: AccountId, kind: ContentKind, content_id: str
    ) -> ForumReport | None: ...

    def open_on(self, kind: ContentKind, content_id: str) -> list[ForumReport]:
        """The open reports of a post or comment, oldest first."""
        ...


class PromotionRepository(Protocol):
    def add(self, promotion: Promotion) -> None: ...

    def get(self, promotion_id: PromotionId) -> Promotion:
        """Raises :class:`PromotionNotFound`."""
        ...

    def get_for_update(self, promotion_id: PromotionId) -> Promotion: ...

    def for_skus(self, sku_ids: Iterable[SkuId]) -> dict[SkuId, Promotion]:
        """The promotions sold as these SKUs (the others are not vouchers)."""
        ...

    def in_community(self, community_id: CommunityId, now: dt.datetime) -> list[Promotion]:
        """The promotions on sale in the community now, ending soonest first."""
        ...

    def of_provider(self, provider_id: ProviderId) -> list[Promotion]:
        """Newest first."""
        ...


class VoucherRepository(Protocol):
    def add(self, voucher: Voucher) -> None: ...

    def get(self, voucher_id: VoucherId) -> Voucher: ...

    def get_for_update(self, voucher_id: VoucherId) -> Voucher: ...

    def of_order(self, order_id: OrderId) -> list[Voucher]: ...

    def of_resident(self, resident_id: AccountId) -> list[Voucher]:
        """Newest first."""
        ...

    def find_code(self, provider_id: ProviderId, code: str) -> Voucher | None:
        """The merchant's voucher of that code, whatever its status."""
        ...

    def to_expire(self, now: dt.datetime, limit: int) -> list[Voucher]:
        """Valid vouchers whose use period has ended, the oldest first."""
        ...


class ReviewRepository(Protocol):
    def add(self, review: Review) -> None: ...

    def get(self, review_id: ReviewId) -> Review:
        """Raises :class:`ReviewNotFound`."""
        ...

    def get_for_update(self, review_id: ReviewId) -> Review: ...

    def find_for_line(self, order_id: OrderId, sku_id: SkuId) -> Review | None: ...

    def find_for_booking(self, booking_id: BookingId) -> Review | None: ...

    def of_subject(
        self,
        subject: ReviewSubject,
        subject_id: str,
        *,
        after: tuple[dt.datetime, ReviewId] | None,
        limit: int,
    ) -> list[Review]:
        """A product's or a merchant's reviews, newest first, strictly after ``after``
        (the previous page's last ``(created_at, id)``)."""
        ...


@attrs.frozen
class CourierRequest:
    """A delivery as a courier partner needs it: where from, where to, for whom, when.
    ``order_id`` is the partner's idempotency key: dispatching it again names the same
    delivery."""

    order_id: OrderId
    depot: str  # the address goods are collected from
    address: str  # the door
    recipient: str
    phone: str
    window_start: dt.datetime
    window_end: dt.datetime
    express: bool
    cold_chain: bool
    parcels: int = 1
    location: GeoPoint | None = None
    community_id: CommunityId | None = None


@attrs.frozen
class CourierQuote:
    courier: str
    fee: Money
    eta: dt.datetime


@attrs.frozen
class CourierUpdate:
    """A courier's report on a delivery: a status callback, or an answer to ``track``."""

    courier_ref: str
    status: DeliveryStatus
    at: dt.datetime
    note: str = ""
    proof: str = ""
    order_id: OrderId | None = None


class Courier(Protocol):
    """A courier partner (or our own delivery team). ``name`` is how shequ knows it.

    Every call that reaches the partner raises :class:`CourierUnavailable` when it times
    out, answers 5xx or answers something unreadable (safe to try again, or another
    courier), and :class:`CourierRefused` when the partner declines.
    """

    @property
    def name(self) -> str: ...

    def quote(self, request: CourierRequest) -> CourierQuote: ...

    def dispatch(self, request: CourierRequest) -> str:
        """Hand the delivery over; the partner's reference. Idempotent per order."""
        ...

    def cancel(self, courier_ref: str) -> None: ...

    def track(self, courier_ref: str) -> list[CourierUpdate]:
        """Everything the partner reports of the delivery so far, oldest first."""
        ...

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> CourierUpdate:
        """Verify the signature of a status callback over its raw body, then read it.
        Raises :class:`CourierCallbackInvalid`; reads nothing before the signature holds."""
        ...


class UnitOfWork(Protocol):
    """One transaction. ``with uow:`` opens it; leaving without :meth:`commit` rolls back.

    :meth:`commit` writes every aggregate the repositories handed out and the events they
    recorded (to the outbox) atomically, then publishes those events. A unit of work may be
    entered again after it is left, but is never shared between threads.
    """

    @property
    def communities(self) -> CommunityRepository: ...

    @property
    def sellers(self) -> SellerRepository: ...

    @property
    def products(self) -> ProductRepository: ...

    @property
    def skus(self) -> SkuRepository: ...

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def addresses(self) -> AddressRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def throttles(self) -> ThrottleRepository: ...

    @property
    def codes(self) -> SignInCodeRepository: ...

    @property
    def sessions(self) -> RefreshSessionRepository: ...

    @property
    def carts(self) -> CartRepository: ...

    @property
    def coupons(self) -> CouponRepository: ...

    @property
    def grants(self) -> CouponGrantRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def campaigns(self) -> CampaignRepository: ...

    @property
    def group_buys(self) -> GroupBuyRepository: ...

    @property
    def commissions(self) -> CommissionRepository: ...

    @property
    def pickup_points(self) -> PickupPointRepository: ...

    @property
    def pickup_tickets(self) -> PickupTicketRepository: ...

    @property
    def shipments(self) -> ShipmentRepository: ...

    @property
    def delivery_slots(self) -> DeliverySlotRepository: ...

    @property
    def providers(self) -> ProviderRepository: ...

    @property
    def staff(self) -> StaffRepository: ...

    @property
    def offerings(self) -> OfferingRepository: ...

    @property
    def bookings(self) -> BookingRepository: ...

    @property
    def announcements(self) -> AnnouncementRepository: ...

    @property
    def activities(self) -> ActivityRepository: ...

    @property
    def sign_ups(self) -> SignUpRepository: ...

    @property
    def complaints(self) -> ComplaintRepository: ...

    @property
    def boards(self) -> BoardRepository: ...

    @property
    def posts(self) -> PostRepository: ...

    @property
    def comments(self) -> CommentRepository: ...

    @property
    def likes(self) -> LikeRepository: ...

    @property
    def forum_reports(self) -> ForumReportRepository: ...

    @property
    def reviews(self) -> ReviewRepository: ...

    @property
    def promotions(self) -> PromotionRepository: ...

    @property
    def vouchers(self) -> VoucherRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def refunds(self) -> RefundRepository: ...

    @property
    def outbox(self) -> Outbox: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def flush(self) -> None:
        """Send what changed so far (and its events) into the open transaction, without
        committing: long writes such as an import flush in chunks to show real progress.
        May raise what :meth:`commit` raises."""
        ...

    def commit(self) -> None:
        """Raises :class:`ConcurrentUpdate` or :class:`Duplicate` on a lost race."""
        ...

    def rollback(self) -> None: ...


class PersonalDataKeys(Protocol):
    """The keys that seal personal data at rest, and re-sealing under the current one."""

    def current(self) -> str:
        """The id of the key that seals new data."""
        ...

    def count_by_key(self) -> dict[str, int]:
        """How many records are sealed under each key id."""
        ...

    def add_key(self) -> str:
        """Make a new current key where keys live in a key file; returns its id. Raises
        :class:`AdapterError` where keys come from settings."""
        ...

    def reseal(self, batch: int) -> int:
        """Re-seal up to ``batch`` records not under the current key, in one transaction;
        returns how many. Run until it returns 0; safe to stop and run again."""
        ...


class HealthCheck(Protocol):
    def check(self) -> None:
        """Raise :class:`StorageUnavailable` or :class:`SchemaOutOfDate` when unhealthy."""
        ...


class SchemaMigrations(Protocol):
    def upgrade(self, revision: str = "head") -> None: ...

    def current(self) -> str | None:
        """The revision the database is at, ``None`` for an empty database."""
        ...

    def head(self) -> str | None:
        """The newest revision this version of shequ ships."""
        ...

    def application_grants(self, role: str, schema: str = "public") -> list[str]:
        """SQL that gives the application's own database user what it needs and no more
        (PostgreSQL; empty where the database has no users)."""
        ...
