"""Engines for SQLite (the embedded default, in WAL mode) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from shequ.adapters.storage.sqlalchemy.orm import start_mappers
from shequ.domain.errors import StorageUnavailable

__all__ = ["Database", "make_engine"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # shequ begins its own transactions (below), so pysqlite must not begin any
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, *, echo: bool = False, pre_ping: bool = False) -> sa.Engine:
    """An engine for ``url``; ``postgresql://`` means psycopg 3. Opens no connection.

    ``pre_ping`` tests each pooled PostgreSQL connection before use: one round trip more
    per transaction, so that no request meets a connection the server dropped. Without it
    the first request after a database restart fails (503) and the pool starts afresh.
    """
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as e:
        raise StorageUnavailable(f"the database URL {url!r} is not valid: {e}") from e
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    options: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "postgresql":
        options.update(pool_pre_ping=pre_ping, pool_size=10, max_overflow=10, pool_recycle=1800)
    try:
        engine = sa.create_engine(parsed, **options)
    except ImportError as e:
        raise StorageUnavailable(
            f"the driver for {parsed.drivername} is not installed; for PostgreSQL install "
            "the postgres extra: pip install 'shequ[postgres]'"
        ) from e
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_begin_immediate(connection: sa.Connection) -> None:
    """Take SQLite's write lock when a transaction begins, not when it first writes.

    A deferred transaction that read a row and then wants to write fails at once with
    "database is locked" if another wrote meanwhile; an immediate one waits its turn
    (busy_timeout) and then reads fresh data. SQLite runs one writer at a time anyway.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@attrs.frozen
class Database:
    """An engine and the session factory bound to it, with the domain mapped."""

    engine: sa.Engine
    sessions: sessionmaker[Session]

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False, pre_ping: bool = False) -> Database:
        """Build without connecting: the first unit of work connects."""
        start_mappers()
        engine = make_engine(url, echo=echo, pre_ping=pre_ping)
        return cls(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
