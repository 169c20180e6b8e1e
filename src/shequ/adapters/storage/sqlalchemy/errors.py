"""Translate SQLAlchemy's exceptions into shequ's, so none crosses a port."""

from __future__ import annotations

import sqlalchemy.exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError

from shequ.domain.errors import (
    ConcurrentUpdate,
    Duplicate,
    InvalidInput,
    NotFound,
    SchemaOutOfDate,
    ShequError,
    StorageUnavailable,
)

__all__ = ["translate"]

# constraint name (as the naming convention in orm.py spells it), what else the database may
# say instead of the name (SQLite names a unique constraint by its columns), and its meaning
_CONSTRAINTS: tuple[tuple[str, tuple[str, ...], ShequError], ...] = (
    (
        "uq_skus_product_spec",
        ("skus.product_id, skus.spec",),
        Duplicate("the product has a SKU with this spec already"),
    ),
    (
        "uq_accounts_phone_lookup",
        ("accounts.phone_lookup",),
        Duplicate("an account with this phone number exists already"),
    ),
    ("ck_skus_price_positive", (), InvalidInput("price must be more than zero")),
    ("ck_skus_list_price_not_below_price", (), InvalidInput("list price is below the price")),
    ("ck_skus_stock_not_negative", (), InvalidInput("stock cannot go below zero")),
)
_MISSING_TABLE = ("no such table", "undefinedtable")
_RETRYABLE = (
    "database is locked",
    "serializationfailure",
    "deadlockdetected",
    "could not serialize",
    "deadlock detected",
)


def translate(error: Exception) -> ShequError:
    """The shequ error that ``error`` means; the caller raises it ``from error``."""
    text = f"{type(getattr(error, 'orig', None)).__name__} {error}".lower()
    if isinstance(error, StaleDataError):
        return ConcurrentUpdate("the record was changed by someone else first; try again")
    if isinstance(error, sa_exc.IntegrityError):
        for name, aliases, meaning in _CONSTRAINTS:
            if any(marker in text for marker in (name, *aliases)):
                return type(meaning)(meaning.message, constraint=name)
        if "unique" in text or "duplicate" in text:
            return Duplicate("a record with the same key exists already")
        if "foreign key" in text:
            return NotFound("the record refers to something that does not exist")
        return InvalidInput("the change breaks a rule of the database")
    if isinstance(error, sa_exc.DataError | UnicodeEncodeError | OverflowError) or (
        isinstance(error, sa_exc.StatementError) and not isinstance(error, sa_exc.DBAPIError)
    ):
        # a NUL byte, a lone surrogate, a number out of range, a value a column type refused
        return InvalidInput("a value in the request cannot be stored or searched for")
    if any(marker in text for marker in _RETRYABLE):
        return ConcurrentUpdate("the database was busy with a conflicting change; try again")
    if isinstance(error, sa_exc.DBAPIError) and any(m in text for m in _MISSING_TABLE):
        return SchemaOutOfDate(
            "the database has no shequ schema or an old one; run `shequ db upgrade`"
        )
    return StorageUnavailable(f"the database failed: {type(error).__name__}")
