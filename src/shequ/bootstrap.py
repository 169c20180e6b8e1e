"""The composition root: one injector module per adapter family.

``bootstrap(settings, *overrides)`` returns the wired application. Embedding teams pass
their own modules as ``overrides``; a later binding wins::

    class MyClock(injector.Module):
        @injector.provider
        def clock(self) -> Clock:
            return FixedClock(at)

    container = shequ.bootstrap(Settings(storage="memory"), MyClock())
    product = container.get(CreateProductHandler)(CreateProduct(...))
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from injector import Binder, Injector, Module, Provider, ProviderOf, provider, singleton
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from shequ.adapters.clock import SystemClock
from shequ.adapters.couriers import (
    CityCourier,
    CityCourierConfig,
    RetryingCourier,
    SandboxCourier,
    TeamCourier,
)
from shequ.adapters.images import DirectoryBlobStore, InMemoryBlobStore, PillowImageInspector
from shequ.adapters.notify import ConsoleNotifier, UnconfiguredNotifier, WebhookNotifier
from shequ.adapters.payments import SandboxPaymentGateway
from shequ.adapters.routing import default_route_planner
from shequ.adapters.security import Argon2PasswordHasher, FieldCipher, Keyring
from shequ.adapters.security.cipher import KeyFile
from shequ.adapters.security.tokens import JwtTokenIssuer
from shequ.adapters.sensitive_words import load_sensitive_words
from shequ.adapters.storage.memory import (
    InMemoryHealthCheck,
    InMemoryPersonalDataKeys,
    InMemorySchemaMigrations,
    InMemoryStore,
    InMemoryUnitOfWork,
)
from shequ.adapters.storage.sqlalchemy import (
    Database,
    SqlHealthCheck,
    SqlSchemaMigrations,
    SqlUnitOfWork,
)
from shequ.adapters.storage.sqlalchemy.uow import SqlPersonalDataKeys
from shequ.application.audit import SearchAuditHandler
from shequ.application.catalog.browse import BrowseProductsHandler
from shequ.application.catalog.communities import (
    CreateCommunityHandler,
    CreateSellerHandler,
    EditCommunityHandler,
    ListCommunitiesHandler,
    ListSellersHandler,
)
from shequ.application.catalog.demo import SeedDemoHandler
from shequ.application.catalog.importing import ImportCatalogHandler
from shequ.application.catalog.products import (
    CreateProductHandler,
    EditProductHandler,
    GetProductHandler,
)
from shequ.application.catalog.skus import (
    AddSkuHandler,
    AdjustStockHandler,
    ChangeSkuPriceHandler,
    CountStockHandler,
    GetSkuHandler,
    SetSkuListingHandler,
    SetSkuOnSaleHandler,
)
from shequ.application.community.complaints import (
    ComplaintRules,
    FileComplaintHandler,
    GetComplaintHandler,
    ListComplaintsHandler,
    MoveComplaintHandler,
    RateComplaintHandler,
    ReplyToComplaintHandler,
)
from shequ.application.community.demo import SeedDemoCommunityLifeHandler
from shequ.application.community.forum import (
    ArchiveBoardHandler,
    CommentOnPostHandler,
    DeleteContentHandler,
    ForumRules,
    GetPostHandler,
    LikePostHandler,
    ListBoardsHandler,
    ListPostsHandler,
    ModerateContentHandler,
    ModerationQueueHandler,
    OpenBoardHandler,
    ReportContentHandler,
    WritePostHandler,
)
from shequ.application.community.life import (
    CancelActivityHandler,
    CreateActivityHandler,
    GetActivityHandler,
    JoinActivityHandler,
    LeaveActivityHandler,
    ListActivitiesHandler,
    ListAnnouncementsHandler,
    PublishAnnouncementHandler,
    WithdrawAnnouncementHandler,
)
from shequ.application.events import EventDispatcher
from shequ.application.fulfilment.delivery import (
    ApplyCourierCallbackHandler,
    Couriers,
    DeliveryRules,
    DispatchDeliveryHandler,
    DispatchWaitingHandler,
    TrackDeliveryHandler,
    riders_of,
)
from shequ.application.fulfilment.pickup import (
    ArriveAtPickupPointHandler,
    CreatePickupPointHandler,
    EditPickupPointHandler,
    ListPickupPointsHandler,
    PickupRules,
    ProcessOverduePickupsHandler,
    VerifyPickupCodeHandler,
)
from shequ.application.fulfilment.queries import GetHandoverCodeHandler, GetPickupCodeHandler
from shequ.application.fulfilment.riders import (
    AcceptDeliveryHandler,
    AssignRiderHandler,
    DeclineDeliveryHandler,
    MyDeliveriesHandler,
    ReportDeliveryHandler,
)
from shequ.application.fulfilment.routes import PlanDeliveryRoutesHandler, RoutePlanRules
from shequ.application.fulfilment.slots import (
    EditDeliverySlotHandler,
    ListDeliverySlotsHandler,
    OpenDeliverySlotsHandler,
)
from shequ.application.groupbuy.campaigns import (
    CreateCampaignHandler,
    GetCampaignHandler,
    ListCampaignsHandler,
)
from shequ.application.groupbuy.demo import SeedDemoGroupBuysHandler
from shequ.application.groupbuy.groups import (
    CancelGroupHandler,
    JoinGroupHandler,
    LeaveGroupHandler,
    StartGroupHandler,
)
from shequ.application.groupbuy.plan import GetPurchasePlanHandler
from shequ.application.groupbuy.queries import (
    GetGroupHandler,
    GetLeaderEarningsHandler,
    ListGroupsHandler,
    MyGroupsHandler,
)
from shequ.application.groupbuy.settle import SettleGroupsHandler
from shequ.application.identity.accounts import (
    ChangeRoleHandler,
    GetAccountHandler,
    ListAccountsHandler,
    OpenAccountHandler,
    SetAccountEnabledHandler,
)
from shequ.application.identity.addresses import (
    AddAddressHandler,
    ListMyAddressesHandler,
    RemoveAddressHandler,
)
from shequ.application.identity.privacy import (
    EraseMyAccountHandler,
    ExportMyDataHandler,
    GiveConsentHandler,
)
from shequ.application.identity.sign_in import (
    AuthenticateHandler,
    RefreshTokensHandler,
    RequestSignInCodeHandler,
    SignInHandler,
    SignOutEverywhereHandler,
    SignOutHandler,
    SignUpHandler,
)
from shequ.application.media import UploadPhotoHandler
from shequ.application.ordering.cart import AddToCartHandler, ChangeCartHandler, ViewCartHandler
from shequ.application.ordering.checkout import PlaceOrderHandler
from shequ.application.ordering.coupons import (
    ClaimCouponHandler,
    CreateCouponHandler,
    IssueCouponHandler,
    ListCouponsHandler,
    MyCouponsHandler,
)
from shequ.application.ordering.demo import DemoFulfilment, SeedDemoOrdersHandler
from shequ.application.ordering.orders import (
    AdvanceOrderHandler,
    CancelOrderHandler,
    ExpireOrdersHandler,
    GetOrderHandler,
    ListOrdersHandler,
)
from shequ.application.ordering.refunds import (
    DecideRefundHandler,
    ListRefundsHandler,
    RequestRefundHandler,
)
from shequ.application.ordering.rules import OrderingRules
from shequ.application.payments.notifications import ConfirmPaymentHandler
from shequ.application.payments.providers import PaymentProviders
from shequ.application.payments.queries import (
    ClearPaymentFlagHandler,
    GetPaymentHandler,
    ListPaymentsHandler,
)
from shequ.application.payments.reconcile import ReconcilePaymentsHandler
from shequ.application.payments.refunds import RefundPayer
from shequ.application.payments.start import StartPaymentHandler
from shequ.application.payments.sweep import SweepPaymentsHandler
from shequ.application.policy import Policy
from shequ.application.ports import (
    BlobStore,
    Clock,
    Courier,
    EventPublisher,
    HealthCheck,
    ImageInspector,
    Notifier,
    PasswordHasher,
    PaymentGateway,
    PersonalDataKeys,
    SchemaMigrations,
    SecretDigest,
    TokenIssuer,
    UnitOfWork,
)
from shequ.application.reviews import (
    AnswerReviewHandler,
    ListReviewsHandler,
    ReviewProductHandler,
)
from shequ.application.routing import RoutePlanner
from shequ.application.services.bookings import (
    BookServiceHandler,
    CancelBookingHandler,
    FindFreeTimeHandler,
    ListBookingsHandler,
    MoveBookingHandler,
    RemindBookingsHandler,
    RescheduleBookingHandler,
    ReviewBookingHandler,
    ServiceRules,
)
from shequ.application.services.demo import SeedDemoServicesHandler
from shequ.application.services.directory import (
    AddOfferingHandler,
    AddStaffHandler,
    EditOfferingHandler,
    EditProviderHandler,
    EditStaffHandler,
    GetProviderHandler,
    RegisterProviderHandler,
    SearchProvidersHandler,
)
from shequ.application.services.promotions import (
    ExpireVouchersHandler,
    ListPromotionsHandler,
    MyVouchersHandler,
    PublishPromotionHandler,
    RedeemVoucherHandler,
    RefundVouchersHandler,
    WithdrawPromotionHandler,
)
from shequ.domain.complaints import ComplaintCategory
from shequ.domain.errors import PaymentUnavailable, StorageUnavailable
from shequ.domain.ids import CommunityId
from shequ.domain.money import Money
from shequ.domain.ordering import DeliveryFees
from shequ.domain.routing import GeoPoint, Vehicle
from shequ.settings import PaymentProvider, Settings

__all__ = [
    "HANDLERS",
    "Built",
    "ClockModule",
    "EventsModule",
    "HandlersModule",
    "MemoryStorageModule",
    "OrderingModule",
    "PaymentsModule",
    "PolicyModule",
    "SecurityModule",
    "SqlStorageModule",
    "bootstrap",
    "courier",
    "field_cipher",
    "media_dir",
    "payment_gateway",
    "route_plan_rules",
    "storage_module",
]

HANDLERS: tuple[type, ...] = (
    SeedDemoCommunityLifeHandler,
    PublishAnnouncementHandler,
    WithdrawAnnouncementHandler,
    ListAnnouncementsHandler,
    CreateActivityHandler,
    GetActivityHandler,
    ListActivitiesHandler,
    JoinActivityHandler,
    LeaveActivityHandler,
    CancelActivityHandler,
    FileComplaintHandler,
    GetComplaintHandler,
    ListComplaintsHandler,
    ReplyToComplaintHandler,
    MoveComplaintHandler,
    RateComplaintHandler,
    OpenBoardHandler,
    ArchiveBoardHandler,
    ListBoardsHandler,
    WritePostHandler,
    ListPostsHandler,
    GetPostHandler,
    CommentOnPostHandler,
    LikePostHandler,
    ReportContentHandler,
    ModerateContentHandler,
    DeleteContentHandler,
    ModerationQueueHandler,
    ReviewProductHandler,
    AnswerReviewHandler,
    ListReviewsHandler,
    PublishPromotionHandler,
    WithdrawPromotionHandler,
    ListPromotionsHandler,
    RedeemVoucherHandler,
    MyVouchersHandler,
    RefundVouchersHandler,
    ExpireVouchersHandler,
    SeedDemoServicesHandler,
    RegisterProviderHandler,
    EditProviderHandler,
    SearchProvidersHandler,
    GetProviderHandler,
    AddStaffHandler,
    EditStaffHandler,
    AddOfferingHandler,
    EditOfferingHandler,
    FindFreeTimeHandler,
    BookServiceHandler,
    MoveBookingHandler,
    CancelBookingHandler,
    RescheduleBookingHandler,
    ReviewBookingHandler,
    ListBookingsHandler,
    RemindBookingsHandler,
    DispatchDeliveryHandler,
    DispatchWaitingHandler,
    ApplyCourierCallbackHandler,
    TrackDeliveryHandler,
    OpenDeliverySlotsHandler,
    EditDeliverySlotHandler,
    ListDeliverySlotsHandler,
    AssignRiderHandler,
    AcceptDeliveryHandler,
    DeclineDeliveryHandler,
    ReportDeliveryHandler,
    MyDeliveriesHandler,
    GetHandoverCodeHandler,
    PlanDeliveryRoutesHandler,
    EditCommunityHandler,
    CreatePickupPointHandler,
    EditPickupPointHandler,
    ListPickupPointsHandler,
    ArriveAtPickupPointHandler,
    VerifyPickupCodeHandler,
    ProcessOverduePickupsHandler,
    GetPickupCodeHandler,
    CreateCampaignHandler,
    GetCampaignHandler,
    ListCampaignsHandler,
    StartGroupHandler,
    JoinGroupHandler,
    LeaveGroupHandler,
    CancelGroupHandler,
    SettleGroupsHandler,
    GetPurchasePlanHandler,
    GetGroupHandler,
    ListGroupsHandler,
    MyGroupsHandler,
    GetLeaderEarningsHandler,
    SeedDemoGroupBuysHandler,
    AddToCartHandler,
    ChangeCartHandler,
    ViewCartHandler,
    PlaceOrderHandler,
    SeedDemoOrdersHandler,
    DemoFulfilment,
    ClaimCouponHandler,
    CreateCouponHandler,
    IssueCouponHandler,
    ListCouponsHandler,
    MyCouponsHandler,
    AdvanceOrderHandler,
    CancelOrderHandler,
    ExpireOrdersHandler,
    GetOrderHandler,
    ListOrdersHandler,
    ConfirmPaymentHandler,
    SweepPaymentsHandler,
    StartPaymentHandler,
    GetPaymentHandler,
    ListPaymentsHandler,
    ClearPaymentFlagHandler,
    ReconcilePaymentsHandler,
    DecideRefundHandler,
    ListRefundsHandler,
    RequestRefundHandler,
    RefundPayer,
    SearchAuditHandler,
    SetAccountEnabledHandler,
    AddAddressHandler,
    ListMyAddressesHandler,
    RemoveAddressHandler,
    UploadPhotoHandler,
    EraseMyAccountHandler,
    ExportMyDataHandler,
    GiveConsentHandler,
    AddSkuHandler,
    AdjustStockHandler,
    AuthenticateHandler,
    BrowseProductsHandler,
    ChangeRoleHandler,
    ChangeSkuPriceHandler,
    CountStockHandler,
    CreateCommunityHandler,
    CreateProductHandler,
    CreateSellerHandler,
    EditProductHandler,
    GetAccountHandler,
    GetProductHandler,
    GetSkuHandler,
    ImportCatalogHandler,
    ListAccountsHandler,
    ListCommunitiesHandler,
    ListSellersHandler,
    OpenAccountHandler,
    RefreshTokensHandler,
    RequestSignInCodeHandler,
    SeedDemoHandler,
    SetSkuListingHandler,
    SetSkuOnSaleHandler,
    SignInHandler,
    SignOutEverywhereHandler,
    SignOutHandler,
    SignUpHandler,
)


T = TypeVar("T")


class Built(Provider[T], Generic[T]):
    """Builds ``factory`` (a class or a function) with each annotated parameter taken from
    the injector. The annotations are read once; ``injector.inject`` reads the signature on
    every call, which is most of the cost of resolving a use case per request."""

    def __init__(self, factory: Callable[..., T]) -> None:
        self._factory = factory
        self._needs: dict[str, Any] | None = None

    def get(self, injector: Injector) -> T:
        if self._needs is None:
            parameters = inspect.signature(self._factory, eval_str=True).parameters
            self._needs = {name: p.annotation for name, p in parameters.items()}
        return self._factory(**{name: injector.get(kind) for name, kind in self._needs.items()})


def _memory_unit_of_work(store: InMemoryStore, publisher: EventPublisher) -> UnitOfWork:
    return InMemoryUnitOfWork(store, publisher)


def _sql_unit_of_work(
    database: Database, publisher: EventPublisher, cipher: FieldCipher
) -> UnitOfWork:
    return SqlUnitOfWork(database.sessions, publisher, cipher)


class ClockModule(Module):
    @singleton
    @provider
    def clock(self) -> Clock:
        return SystemClock()


class PolicyModule(Module):
    """The one authorization policy; bind a subclass of :class:`Policy` for other rules."""

    @singleton
    @provider
    def policy(self) -> Policy:
        return Policy()


class EventsModule(Module):
    @singleton
    @provider
    def dispatcher(self) -> EventDispatcher:
        return EventDispatcher()

    @singleton
    @provider
    def publisher(self, dispatcher: EventDispatcher) -> EventPublisher:
        return dispatcher


class SecurityModule(Module):
    """Password hashing, and the keys that seal personal data at rest."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @singleton
    @provider
    def passwords(self) -> PasswordHasher:
        return Argon2PasswordHasher(self._settings.password_profile)

    @singleton
    @provider
    def cipher(self) -> FieldCipher:
        return field_cipher(self._settings)

    @provider
    def digest(self, cipher: FieldCipher) -> SecretDigest:
        return cipher

    @singleton
    @provider
    def tokens(self, cipher: FieldCipher) -> TokenIssuer:
        return JwtTokenIssuer(cipher)

    @singleton
    @provider
    def notifier(self) -> Notifier:
        s = self._settings
        if s.notifier == "console":
            return ConsoleNotifier()
        if s.notifier == "webhook":
            secret = s.notifier_webhook_secret
            return WebhookNotifier(
                s.notifier_webhook_url, "" if secret is None else secret.get_secret_value()
            )
        return UnconfiguredNotifier()

    @singleton
    @provider
    def images(self) -> ImageInspector:
        return PillowImageInspector()

    @singleton
    @provider
    def blobs(self) -> BlobStore:
        if self._settings.storage == "memory":
            return InMemoryBlobStore()
        return DirectoryBlobStore(media_dir(self._settings), self._settings.media_base_url)


class OrderingModule(Module):
    """Ordering rules: the payment deadline and the delivery fees."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @singleton
    @provider
    def rules(self) -> OrderingRules:
        s = self._settings
        free_from = s.free_delivery_from
        return OrderingRules(
            pay_within=dt.timedelta(minutes=s.order_pay_minutes),
            fees=DeliveryFees(
                base_fee=Money.parse(s.delivery_fee),
                free_from=None if free_from is None else Money.parse(free_from),
                express_surcharge=Money.parse(s.express_surcharge),
            ),
        )

    @singleton
    @provider
    def delivery_rules(self) -> DeliveryRules:
        s = self._settings
        return DeliveryRules(
            s.delivery_depot,
            s.delivery_standard_hours,
            s.delivery_express_minutes,
            dt.timedelta(minutes=s.delivery_slot_cutoff_minutes),
        )

    @singleton
    @provider
    def couriers(self, clock: Clock, units: ProviderOf[UnitOfWork]) -> Couriers:
        """The couriers named in ``SHEQU_COURIERS``, each retried with backoff when it
        times out or fails, in the order given."""
        return Couriers(
            [
                RetryingCourier(courier(self._settings, n, clock, _rider_count(units)))
                for n in self._settings.couriers
            ]
        )

    @singleton
    @provider
    def route_plan_rules(self) -> RoutePlanRules:
        return route_plan_rules(self._settings)

    @singleton
    @provider
    def route_planner(self) -> RoutePlanner:
        return default_route_planner()

    @singleton
    @provider
    def service_rules(self) -> ServiceRules:
        s = self._settings
        return ServiceRules(
            min_lead=dt.timedelta(minutes=s.service_min_lead_minutes),
            horizon=dt.timedelta(days=s.service_horizon_days),
            step=dt.timedelta(minutes=s.service_slot_step_minutes),
            free_cancel=dt.timedelta(hours=s.service_free_cancel_hours),
            remind_before=dt.timedelta(hours=s.service_remind_before_hours),
        )

    @singleton
    @provider
    def complaint_rules(self) -> ComplaintRules:
        return complaint_rules(self._settings)

    @singleton
    @provider
    def forum_rules(self) -> ForumRules:
        s = self._settings
        return ForumRules(load_sensitive_words(s.forum_sensitive_words), s.forum_report_threshold)

    @singleton
    @provider
    def pickup_rules(self) -> PickupRules:
        s = self._settings
        return PickupRules(s.pickup_remind_after_days, s.pickup_return_after_days)


class PaymentsModule(Module):
    """The payment providers named in ``SHEQU_PAYMENTS``. Each provider's SDK is imported
    only when that provider is configured (they are optional extras)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @singleton
    @provider
    def providers(self, clock: Clock) -> PaymentProviders:
        return PaymentProviders(
            payment_gateway(self._settings, name, clock) for name in self._settings.payments
        )

    @provider
    def gateway(self, providers: PaymentProviders) -> PaymentGateway:
        """The first configured provider, for code that works with one."""
        return next(iter(providers))


def payment_gateway(settings: Settings, name: PaymentProvider, clock: Clock) -> PaymentGateway:
    """Build the named provider's adapter from the settings. Key files are read here, once;
    a missing setting or file is a clear error, and no key is ever part of one."""
    try:
        return _payment_gateway(settings, name, clock)
    except ValueError as e:  # an adapter's config refused a value; its message names no key
        raise PaymentUnavailable(f"the {name} payment settings are wrong: {e}") from None
    except ImportError as e:
        extra = {"wechat": "wechatpay"}.get(name, name)
        raise PaymentUnavailable(
            f"the {name} payment provider needs its SDK: pip install 'shequ[{extra}]' ({e})"
        ) from None


def _payment_gateway(settings: Settings, name: PaymentProvider, clock: Clock) -> PaymentGateway:
    notify_url = f"{settings.payment_notify_base_url.rstrip('/')}/v1/payments/{name}/notify"
    timeout = settings.payment_timeout_seconds
    if name == "sandbox":
        secret = settings.sandbox_secret
        key = None if secret is None else secret.get_secret_value().encode()
        return SandboxPaymentGateway(key, clock)
    if name == "wechat":
        from shequ.adapters.payments.wechat import WechatPayConfig, WechatPayGateway

        return WechatPayGateway(
            WechatPayConfig(
                mchid=_required(settings.wechat_mchid, "SHEQU_WECHAT_MCHID"),
                appid=_required(settings.wechat_appid, "SHEQU_WECHAT_APPID"),
                private_key=_key_file(
                    settings.wechat_private_key_file, "SHEQU_WECHAT_PRIVATE_KEY_FILE"
                ),
                cert_serial_no=_required(
                    settings.wechat_cert_serial_no, "SHEQU_WECHAT_CERT_SERIAL_NO"
                ),
                apiv3_key=_secret(settings.wechat_apiv3_key, "SHEQU_WECHAT_APIV3_KEY"),
                public_key=_key_file(
                    settings.wechat_public_key_file, "SHEQU_WECHAT_PUBLIC_KEY_FILE"
                ),
                public_key_id=_required(
                    settings.wechat_public_key_id, "SHEQU_WECHAT_PUBLIC_KEY_ID"
                ),
                notify_url=notify_url,
                base_url=settings.wechat_base_url,
                timeout=timeout,
            )
        )
    if name == "alipay":
        from shequ.adapters.payments.alipay import AlipayConfig, AlipayGateway

        return AlipayGateway(
            AlipayConfig(
                app_id=_required(settings.alipay_app_id, "SHEQU_ALIPAY_APP_ID"),
                private_key=_key_file(
                    settings.alipay_private_key_file, "SHEQU_ALIPAY_PRIVATE_KEY_FILE"
                ),
                alipay_public_key=_key_file(
                    settings.alipay_public_key_file, "SHEQU_ALIPAY_PUBLIC_KEY_FILE"
                ),
                notify_url=notify_url,
                return_url=settings.alipay_return_url,
                base_url=settings.alipay_base_url,
                timeout=timeout,
            )
        )
    import stripe

    from shequ.adapters.payments.stripe import StripeConfig, StripeGateway

    # The SDK reports request timings to Stripe and writes an id under ~/.config by
    # default; a server embedding shequ should not, unless its operators choose to.
    stripe.enable_telemetry = False

    return StripeGateway(
        StripeConfig(
            api_key=_secret(settings.stripe_api_key, "SHEQU_STRIPE_API_KEY"),
            webhook_secret=_secret(settings.stripe_webhook_secret, "SHEQU_STRIPE_WEBHOOK_SECRET"),
            base_url=settings.stripe_base_url,
            timeout=timeout,
        )
    )


def _required(value: str, name: str) -> str:
    if not value:
        raise PaymentUnavailable(f"{name} is not set", setting=name)
    return value


def _secret(value: SecretStr | None, name: str) -> str:
    return _required("" if value is None else value.get_secret_value(), name)


def _key_file(path: str, name: str) -> str:
    try:
        return Path(_required(path, name)).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as e:
        raise PaymentUnavailable(f"{name}: cannot read {path!r} ({type(e).__name__})") from None


def media_dir(settings: Settings) -> Path:
    if settings.media_dir is not None:
        return Path(settings.media_dir)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        database = Path(url.database)
        return database.with_name(f"{database.stem}-media")
    return Path("shequ-media")


def field_cipher(settings: Settings) -> FieldCipher:
    """The cipher for the configured keys; they are read on first use, not here."""
    if settings.data_keys is not None or settings.lookup_key is not None:
        if settings.data_keys is None or settings.lookup_key is None:
            raise StorageUnavailable("set both SHEQU_DATA_KEYS and SHEQU_LOOKUP_KEY, or neither")
        data, lookup = settings.data_keys, settings.lookup_key
        return FieldCipher(
            lambda: Keyring.from_spec(data.get_secret_value(), lookup.get_secret_value())
        )
    path = settings.key_file
    if path is None:
        if settings.storage == "memory":
            return FieldCipher(Keyring.generate)  # nothing at rest: keys for this process
        url = make_url(settings.database_url)
        if url.get_backend_name() != "sqlite" or not url.database:
            return FieldCipher(_keys_required)
        path = str(Path(url.database).with_suffix(".keys"))
    key_file = KeyFile(Path(path))
    return FieldCipher(key_file.load, key_file)


def _keys_required() -> Keyring:
    raise StorageUnavailable(
        "personal data needs keys: set SHEQU_DATA_KEYS and SHEQU_LOOKUP_KEY (print a set with "
        "`shequ keys generate`), or SHEQU_KEY_FILE"
    )


class MemoryStorageModule(Module):
    """Everything in one process's memory: for tests, demos and embedding teams' own tests."""

    @singleton
    @provider
    def store(self) -> InMemoryStore:
        return InMemoryStore()

    def configure(self, binder: Binder) -> None:
        binder.bind(UnitOfWork, to=Built(_memory_unit_of_work))

    @singleton
    @provider
    def migrations(self) -> SchemaMigrations:
        return InMemorySchemaMigrations()

    @singleton
    @provider
    def health(self) -> HealthCheck:
        return InMemoryHealthCheck()

    @provider
    def keys(self) -> PersonalDataKeys:
        return InMemoryPersonalDataKeys()


class SqlStorageModule(Module):
    """SQLite or PostgreSQL through SQLAlchemy. Builds the engine lazily; connects on use."""

    def __init__(self, url: str, *, echo: bool = False, pre_ping: bool = False) -> None:
        self._url, self._echo, self._pre_ping = url, echo, pre_ping

    @singleton
    @provider
    def database(self) -> Database:
        return Database.from_url(self._url, echo=self._echo, pre_ping=self._pre_ping)

    def configure(self, binder: Binder) -> None:
        binder.bind(UnitOfWork, to=Built(_sql_unit_of_work))

    @singleton
    @provider
    def migrations(self, database: Database) -> SchemaMigrations:
        return SqlSchemaMigrations(database.engine)

    @singleton
    @provider
    def health(self, database: Database) -> HealthCheck:
        return SqlHealthCheck(SqlSchemaMigrations(database.engine))

    @provider
    def keys(self, database: Database, cipher: FieldCipher) -> PersonalDataKeys:
        return SqlPersonalDataKeys(database.sessions, cipher)


class HandlersModule(Module):
    """Every use case, built with its ports injected; unscoped, so each is fresh."""

    def configure(self, binder: Binder) -> None:
        for handler in HANDLERS:
            binder.bind(handler, to=Built(handler))


def _rider_count(units: ProviderOf[UnitOfWork]) -> Callable[[CommunityId], int]:
    def count(community_id: CommunityId) -> int:
        with units.get() as uow:
            return len(riders_of(uow, community_id))

    return count


def complaint_rules(settings: Settings) -> ComplaintRules:
    """How soon each category of complaint must be answered, as configured."""
    hours = dict(spec.split(":") for spec in settings.complaint_respond_hours.split(","))
    return ComplaintRules(
        MappingProxyType(
            {ComplaintCategory(name): dt.timedelta(hours=int(h)) for name, h in hours.items()}
        )
    )


def route_plan_rules(settings: Settings) -> RoutePlanRules:
    """The warehouse, the vans and their shift, as configured."""
    depot = None
    if settings.depot_location is not None:
        latitude, longitude = settings.depot_location.split(",")
        depot = GeoPoint(float(latitude), float(longitude))
    vehicles = []
    for spec in settings.delivery_vehicles.split(","):
        vehicle_id, capacity, *cold = spec.split(":")
        vehicles.append(Vehicle(vehicle_id, int(capacity), bool(cold)))
    first, last = (
        int(hours) * 60 + int(minutes)
        for hours, minutes in (part.split(":") for part in settings.delivery_shift.split("-"))
    )
    return RoutePlanRules(
        depot=depot,
        vehicles=tuple(vehicles),
        shift=(first, last),
        speed_kmh=settings.route_speed_kmh,
        time_limit=settings.route_time_limit,
    )


def courier(
    settings: Settings,
    name: str,
    clock: Clock,
    riders: Callable[[CommunityId], int] = lambda _: 0,
) -> Courier:
    """One courier adapter, built from settings; no I/O. ``riders`` counts a community's
    riders, for our own team."""
    if name == "team":
        return TeamCourier(
            riders, fee=Money.parse(settings.team_fee), cold_chain=settings.team_cold_chain
        )
    if name == "city":
        secret = settings.city_courier_app_secret
        return CityCourier(
            CityCourierConfig(
                base_url=settings.city_courier_base_url,
                app_id=settings.city_courier_app_id,
                app_secret="" if secret is None else secret.get_secret_value(),
                timeout=settings.city_courier_timeout,
            ),
            clock,
        )
    return SandboxCourier(clock=clock)


def storage_module(settings: Settings) -> Module:
    if settings.storage == "memory":
        return MemoryStorageModule()
    return SqlStorageModule(
        settings.database_url,
        echo=settings.database_echo,
        pre_ping=settings.database_pre_ping,
    )


def bootstrap(settings: Settings | None = None, *overrides: Module) -> Injector:
    """The wired application. Reads the environment only when ``settings`` is not given."""
    settings = settings if settings is not None else Settings()
    modules: list[Module] = [
        ClockModule(),
        EventsModule(),
        PolicyModule(),
        SecurityModule(settings),
        OrderingModule(settings),
        PaymentsModule(settings),
        storage_module(settings),
        HandlersModule(),
        *overrides,
    ]
    return Injector(modules, auto_bind=False)
