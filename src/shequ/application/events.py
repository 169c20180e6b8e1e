"""In-process dispatch of committed domain events."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TypeVar

from shequ.domain.events import DomainEvent

__all__ = ["EventDispatcher"]

log = logging.getLogger(__name__)

E = TypeVar("E", bound=DomainEvent)


class EventDispatcher:
    """Calls the subscribers of each event type, in subscription order.

    A subscriber that raises is logged and does not stop its siblings: the event stays in
    the outbox, so a relay can deliver it again. Subscribers that write run their own use
    case, with their own unit of work.
    """

    def __init__(self) -> None:
        self._subscribers: defaultdict[type[DomainEvent], list[Callable[[DomainEvent], None]]]
        self._subscribers = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._subscribers[event_type].append(handler)  # type: ignore[arg-type]

    def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            for event_type in type(event).__mro__:
                for handler in self._subscribers.get(event_type, ()):
                    try:
                        handler(event)
                    except Exception:
                        log.exception("event handler %r failed on %s", handler, event.event_type)
