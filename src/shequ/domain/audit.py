"""The audit log: who read or changed personal data and roles, from where, and when.

Records are only ever appended; storage refuses to change or delete them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from shequ.domain.ids import AccountId

__all__ = ["AuditRecord"]


@attrs.frozen
class AuditRecord:
    """One audited act. ``actor_id`` is ``None`` for the operations console; ``subject``
    names what was touched (``account:<id>``, ``community:<id>``); ``detail`` holds ids and
    names of things, never personal data."""

    at: dt.datetime
    actor_id: AccountId | None
    action: str
    subject: str
    client: str
    detail: Mapping[str, Any] = attrs.field(factory=dict)
    id: int | None = None  # given by storage
