"""The error hierarchy. Every error carries a stable kebab-case ``code``.

::

    ShequError
    ├─ DomainError        a rule refused (out-of-stock, …)
    │   └─ InvalidInput   input-shaped rules (bad amount, bad quantity, bad cursor, …)
    ├─ NotFound
    ├─ Unauthenticated    no valid identity
    ├─ Forbidden
    ├─ Conflict           concurrent change, duplicate, too many attempts
    └─ AdapterError       storage, a provider or a courier failed

Entrypoints map the families to HTTP statuses and CLI exit codes; ``docs/errors.md``
lists every code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AccountNotFound",
    "AdapterError",
    "CommunityNotFound",
    "ConcurrentUpdate",
    "Conflict",
    "DomainError",
    "Duplicate",
    "Forbidden",
    "InsufficientStock",
    "InvalidAmount",
    "InvalidCursor",
    "InvalidImport",
    "InvalidInput",
    "InvalidPhoto",
    "NotFound",
    "PersonalDataUnreadable",
    "ProductNotFound",
    "RateLimited",
    "SchemaOutOfDate",
    "SellerNotFound",
    "ShequError",
    "SkuNotFound",
    "StorageUnavailable",
    "Unauthenticated",
]


class ShequError(Exception):
    """The root of every error shequ raises on purpose."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: Mapping[str, Any] = details

    def __str__(self) -> str:
        return self.message


class DomainError(ShequError):
    """A business rule refused the request."""

    code = "rule-refused"


class InvalidInput(DomainError):
    """The request is shaped wrongly for a rule: a bad amount, quantity or window."""

    code = "invalid-input"


class InvalidAmount(InvalidInput):
    code = "invalid-amount"


class InvalidCursor(InvalidInput):
    code = "invalid-cursor"


class InvalidImport(InvalidInput):
    """An import file has bad rows; ``details["rows"]`` lists ``(line, reason)`` pairs."""

    code = "invalid-import"


class InvalidPhoto(InvalidInput):
    """An upload that is not a photo we take: judged by its bytes, not its name."""

    code = "invalid-photo"


class InsufficientStock(DomainError):
    code = "out-of-stock"


class NotFound(ShequError):
    code = "not-found"


class CommunityNotFound(NotFound):
    code = "community-not-found"


class SellerNotFound(NotFound):
    code = "seller-not-found"


class ProductNotFound(NotFound):
    code = "product-not-found"


class SkuNotFound(NotFound):
    code = "sku-not-found"


class AccountNotFound(NotFound):
    code = "account-not-found"


class Unauthenticated(ShequError):
    """No valid identity: a missing, expired, tampered or revoked token, or a failed sign-in."""

    code = "unauthenticated"


class Forbidden(ShequError):
    code = "forbidden"


class Conflict(ShequError):
    """Safe to retry: somebody else changed the same thing first."""

    code = "conflict"


class ConcurrentUpdate(Conflict):
    code = "concurrent-update"


class RateLimited(Conflict):
    """Too many attempts; ``details["retry_after"]`` says how many seconds to wait."""

    code = "rate-limited"


class Duplicate(Conflict):
    code = "duplicate"


class AdapterError(ShequError):
    """Something outside the domain failed: storage, a payment provider, a courier."""

    code = "adapter-error"


class StorageUnavailable(AdapterError):
    code = "storage-unavailable"


class SchemaOutOfDate(AdapterError):
    code = "schema-out-of-date"


class PersonalDataUnreadable(AdapterError):
    """Sealed personal data did not open: a missing or wrong key, or a moved value."""

    code = "personal-data-unreadable"
