"""Alembic environment for shequ's shipped migrations.

``shequ db upgrade`` passes an open connection in ``config.attributes["connection"]``;
the ``alembic`` command line builds one from ``sqlalchemy.url``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from shequ.adapters.storage.sqlalchemy.engine import make_engine
from shequ.adapters.storage.sqlalchemy.orm import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        with make_engine(config.get_main_option("sqlalchemy.url") or "").begin() as connection:
            _run(connection)
