"""The shipped migrations build exactly the schema the mapping expects, and come down again."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shequ.adapters.storage.sqlalchemy import Database, SqlSchemaMigrations, metadata
from shequ.adapters.storage.sqlalchemy.health import alembic_config
from tests.integration.conftest import SQL_BACKENDS, database_url


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_upgrade_matches_the_models_and_downgrade_empties(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    engine = Database.from_url(database_url(backend, request, tmp_path)).engine
    migrations = SqlSchemaMigrations(engine)
    assert migrations.current() is None
    migrations.upgrade()
    migrations.upgrade()  # a second run changes nothing
    assert migrations.current() == migrations.head() is not None
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), metadata
        )
        assert diff == []
        # compare_metadata does not look at CHECK constraints: compare them by name
        inspector = sa.inspect(connection)
        for table in metadata.sorted_tables:
            wanted = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
            found = {c["name"] for c in inspector.get_check_constraints(table.name)}
            assert wanted <= found, (table.name, wanted - found)
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
