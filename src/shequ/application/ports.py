"""The ports the use cases talk through. Adapters implement them; nothing here does I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, Self

import attrs

from shequ.application.catalog.search import ProductHit, ProductQuery
from shequ.domain.audit import AuditRecord
from shequ.domain.auth import RefreshSession, SignInCode, Throttle
from shequ.domain.catalog import Community, Product, Seller, Sku
from shequ.domain.events import DomainEvent
from shequ.domain.identity import Account, Address
from shequ.domain.ids import AccountId, CommunityId, ProductId, SellerId, SkuId
from shequ.domain.media import PhotoFacts

__all__ = [
    "AccessClaims",
    "AccountRepository",
    "AddressRepository",
    "AuditLog",
    "AuditQuery",
    "BlobStore",
    "Clock",
    "CommunityRepository",
    "EventPublisher",
    "HealthCheck",
    "ImageInspector",
    "Notifier",
    "Outbox",
    "OutboxMessage",
    "PasswordHasher",
    "PersonalDataKeys",
    "ProductRepository",
    "RefreshSessionRepository",
    "SchemaMigrations",
    "SecretDigest",
    "SellerRepository",
    "SignInCodeRepository",
    "SkuRepository",
    "ThrottleRepository",
    "TokenIssuer",
    "UnitOfWork",
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

    def find(self, product_id: ProductId) -> Product | None: ...

    def search(self, query: ProductQuery) -> list[ProductHit]:
        """Products with at least one SKU matching every SKU criterion, in the query's order,
        strictly after its position, at most ``query.limit`` of them."""
        ...


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


class Notifier(Protocol):
    def send_sign_in_code(self, phone: str, code: str) -> None:
        """Deliver a one-time code (by SMS in production)."""
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
