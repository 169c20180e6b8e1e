"""Two fresh, empty databases for a benchmark run: one for the library, one for the raw twin."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa


@contextmanager
def sqlite_databases() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'lib.db'}", f"sqlite:///{Path(folder) / 'raw.db'}"


@contextmanager
def postgres_databases(base: str) -> Iterator[tuple[str, str]]:
    """Two schemas of the database at ``base``, dropped at the end."""
    schemas = [f"bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        lib, raw = (f"{base}{sep}options=-csearch_path%3D{s}" for s in schemas)
        yield lib, raw
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
