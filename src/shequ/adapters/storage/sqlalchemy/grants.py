"""Least privilege on PostgreSQL: what the application's own database user may do.

Migrations run as the owner of the tables; the application connects as another user that
may read and write every table but may only read and append to ``audit_log`` and
``payment_entries``, and that owns nothing, so it cannot drop the triggers that keep those
logs append-only either.
"""

from __future__ import annotations

import re

__all__ = ["application_grants"]

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def application_grants(role: str, schema: str = "public") -> list[str]:
    """The SQL to run, as the tables' owner, for the application user ``role``."""
    for name in (role, schema):
        if not _ROLE.fullmatch(name):
            raise ValueError(f"{name!r} is not a plain lower-case SQL name")
    return [
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}".audit_log FROM "{role}"',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}".payment_entries FROM "{role}"',
        f'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON "{schema}".alembic_version FROM "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"',
    ]
