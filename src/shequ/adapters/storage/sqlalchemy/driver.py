"""Statements for the busiest path, run straight on the driver's cursor.

SQLAlchemy's execution machinery costs tens of microseconds a statement; a checkout runs
half a dozen, so on SQLite that machinery weighs more than the database work itself. A
:class:`DriverStatement` is compiled by SQLAlchemy once per dialect, converts its
parameters with the column types' own bind processors, and then runs on the DBAPI cursor
of the session's connection, inside the same transaction. Driver errors come back as
SQLAlchemy's ``DBAPIError`` so the usual translation applies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["DriverStatement"]


@attrs.frozen
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # parameter names in order, for positional paramstyles
    processors: Mapping[str, Callable[[Any], Any]]


class DriverStatement:
    """``statement`` with parameters named ``keys`` (an insert's columns, say)."""

    def __init__(self, statement: sa.ClauseElement, keys: Sequence[str] | None = None) -> None:
        self._statement, self._keys = statement, list(keys) if keys is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = cast(
                SQLCompiler, self._statement.compile(dialect=dialect, column_keys=self._keys)
            )
            processors = {}
            for name, bind in compiled.binds.items():
                # the dialect's own form of the type: SQLite's DATETIME writes its text
                # form, PostgreSQL's JSON wraps the value for psycopg
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            found = _Compiled(
                sql=compiled.string,
                order=tuple(compiled.positiontup or ()) if compiled.positional else None,
                processors=processors,
            )
            self._compiled[dialect.name] = found
        return found

    @staticmethod
    def _params(compiled: _Compiled, values: Mapping[str, Any]) -> Any:
        converted = dict(values)
        for name, processor in compiled.processors.items():
            if name in converted:
                converted[name] = processor(converted[name])
        if compiled.order is not None:
            return tuple(converted[name] for name in compiled.order)
        return converted

    def execute(self, connection: sa.Connection, values: Mapping[str, Any]) -> Any:
        """Run once; returns the DBAPI cursor (``rowcount``, ``fetchone``)."""
        return self._run(connection, [values], many=False)

    def execute_many(self, connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> Any:
        return self._run(connection, rows, many=True)

    def _run(self, connection: sa.Connection, rows: Sequence[Mapping[str, Any]], many: bool) -> Any:
        dialect = connection.dialect
        compiled = self._for(dialect)
        params = [self._params(compiled, row) for row in rows]
        cursor = connection.connection.cursor()
        try:
            if many:
                cursor.executemany(compiled.sql, params)
            else:
                cursor.execute(compiled.sql, params[0])
        except dialect.loaded_dbapi.Error as e:
            raise sa.exc.DBAPIError.instance(
                compiled.sql, params, e, dialect.loaded_dbapi.Error, dialect=dialect
            ) from e
        return cursor
