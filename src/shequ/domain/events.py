"""Domain events: frozen records, named in the past tense, kept until committed."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import attrs

from shequ.domain.money import Money

__all__ = ["DomainEvent", "event_payload"]


@attrs.frozen(kw_only=True)
class DomainEvent:
    """Something that happened. ``occurred_at`` is timezone-aware UTC."""

    occurred_at: dt.datetime

    @property
    def event_type(self) -> str:
        """The event's class name, as stored in the outbox."""
        return type(self).__name__


def _jsonable(_: object, __: object, value: Any) -> Any:
    if isinstance(value, Money):
        return value.fen
    if isinstance(value, dt.date):  # datetimes too: ISO 8601
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def event_payload(event: DomainEvent) -> dict[str, Any]:
    """The event as JSON-ready data: money in fen, times and dates in ISO 8601, enums by
    value."""
    payload: dict[str, Any] = attrs.asdict(event, value_serializer=_jsonable)
    return payload
