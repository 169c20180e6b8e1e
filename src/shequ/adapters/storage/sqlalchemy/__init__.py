"""SQLAlchemy storage: SQLite (embedded default) and PostgreSQL."""

from shequ.adapters.storage.sqlalchemy.engine import Database, make_engine
from shequ.adapters.storage.sqlalchemy.health import SqlHealthCheck, SqlSchemaMigrations
from shequ.adapters.storage.sqlalchemy.orm import metadata, start_mappers
from shequ.adapters.storage.sqlalchemy.uow import SqlUnitOfWork

__all__ = [
    "Database",
    "SqlHealthCheck",
    "SqlSchemaMigrations",
    "SqlUnitOfWork",
    "make_engine",
    "metadata",
    "start_mappers",
]
