"""Database health and schema migrations (Alembic, shipped in the package)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from shequ.adapters.storage.sqlalchemy.errors import translate
from shequ.adapters.storage.sqlalchemy.grants import application_grants
from shequ.domain.errors import SchemaOutOfDate

__all__ = ["SqlHealthCheck", "SqlSchemaMigrations", "alembic_config"]


def alembic_config(engine: sa.Engine) -> Config:
    """Alembic's configuration for the migrations that ship inside shequ."""
    config = Config()
    config.set_main_option("script_location", "shequ.adapters.storage.sqlalchemy:migrations")
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


class SqlSchemaMigrations:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def upgrade(self, revision: str = "head") -> None:
        config = alembic_config(self._engine)
        try:
            with self._engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except sa.exc.SQLAlchemyError as e:
            raise translate(e) from e

    def current(self) -> str | None:
        try:
            with self._engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except sa.exc.SQLAlchemyError as e:
            raise translate(e) from e

    def head(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config(self._engine)).get_current_head()

    def application_grants(self, role: str, schema: str = "public") -> list[str]:
        if self._engine.dialect.name != "postgresql":
            return []
        return application_grants(role, schema)


class SqlHealthCheck:
    """Healthy when the database answers and its schema is at this version's head."""

    def __init__(self, migrations: SqlSchemaMigrations) -> None:
        self._migrations = migrations

    def check(self) -> None:
        current, head = self._migrations.current(), self._migrations.head()
        if current != head:
            raise SchemaOutOfDate(
                f"the database schema is at {current or 'nothing'}, shequ needs {head}; "
                "run `shequ db upgrade`",
                current=current,
                head=head,
            )
