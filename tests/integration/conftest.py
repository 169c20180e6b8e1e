"""Backends for the contract suites: memory, SQLite and PostgreSQL.

PostgreSQL comes from SHEQU_TEST_POSTGRES_URL; each test gets a schema of its own.
Without the variable those tests skip, unless SHEQU_TEST_REQUIRE_POSTGRES=1 (as in CI),
where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import injector
import pytest
import sqlalchemy as sa

from shequ.adapters.clock import FixedClock
from shequ.application.ports import SchemaMigrations
from tests.support import Catalog, container, settings

BACKENDS = ["memory", "sqlite", "postgres"]
SQL_BACKENDS = ["sqlite", "postgres"]


def postgres_base_url() -> str:
    url = os.environ.get("SHEQU_TEST_POSTGRES_URL")
    if url:
        return url
    reason = "SHEQU_TEST_POSTGRES_URL is not set, so the PostgreSQL contract tests cannot run"
    if os.environ.get("SHEQU_TEST_REQUIRE_POSTGRES") == "1":
        pytest.fail(reason + " (SHEQU_TEST_REQUIRE_POSTGRES=1 demands them)")
    pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections see only a fresh, empty schema."""
    base = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'shequ.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def wired_app(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clock: FixedClock,
    **more: object,
) -> Iterator[injector.Injector]:
    """The wired application on a fresh, migrated database of the given backend, with
    ``more`` settings."""
    if backend == "memory":
        chosen = settings(storage="memory", **more)
    else:
        chosen = settings(
            storage="sql",
            database_url=database_url(backend, request, tmp_path),
            media_dir=str(tmp_path / "media"),
            **more,
        )
    wired = container(chosen, clock)
    wired.get(SchemaMigrations).upgrade()
    yield wired
    if backend != "memory":
        from shequ.adapters.storage.sqlalchemy import Database

        wired.get(Database).engine.dispose()


@pytest.fixture
def app(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> Iterator[injector.Injector]:
    """The wired application on a fresh, migrated database of the given backend."""
    yield from wired_app(backend, request, tmp_path, clock)


@pytest.fixture
def team_app(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> Iterator[injector.Injector]:
    """As ``app``, with our own riders first and the sandbox courier behind them, and a
    warehouse for route planning."""
    yield from wired_app(
        backend,
        request,
        tmp_path,
        clock,
        couriers="team,sandbox",
        depot_location="30.2741,120.1551",
    )


@pytest.fixture
def catalog(app: injector.Injector, clock: FixedClock) -> Catalog:
    return Catalog(app, clock)
