"""After the demo, no phone number or name is stored in plain text, in SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import injector
import pytest
import sqlalchemy as sa

from shequ import SeedDemoHandler
from shequ.adapters.storage.sqlalchemy import Database
from shequ.application.policy import CONSOLE


def secrets_of(app: injector.Injector) -> list[bytes]:
    made = app.get(SeedDemoHandler)(actor=CONSOLE)
    assert len(made.accounts) == 5  # admin, operator, merchant, resident, rider
    found = []
    for person in made.accounts:
        found += [
            person.phone.encode(),
            f"演示{person.role.value}".encode(),
        ]
    return found


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_sqlite_file_holds_no_personal_data_in_clear(
    app: injector.Injector, tmp_path: Path
) -> None:
    secrets = secrets_of(app)
    app.get(Database).engine.dispose()  # checkpoint the WAL into the file
    raw = b"".join(f.read_bytes() for f in tmp_path.iterdir() if f.name.startswith("shequ.db"))
    assert raw, "the database file was not found"
    for secret in secrets:
        assert secret not in raw, secret


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_postgresql_tables_hold_no_personal_data_in_clear(app: injector.Injector) -> None:
    secrets = secrets_of(app)
    engine = app.get(Database).engine
    with engine.connect() as conn:
        dumped = []
        for table in sa.inspect(engine).get_table_names():
            rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()  # noqa: S608
            dumped.append(repr(rows).encode())
            dumped += [bytes(v) for row in rows for v in row if isinstance(v, bytes | memoryview)]
    everything = b"".join(dumped)
    assert len(everything) > 1000  # the dump is not empty
    for secret in secrets:
        assert secret not in everything, secret
        assert secret.decode().encode("unicode_escape") not in everything, secret
