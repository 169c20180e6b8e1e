"""Bounded retries of a use case that lost an optimistic-lock race."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from shequ.domain.errors import ConcurrentUpdate

__all__ = ["retry_on_conflict"]

T = TypeVar("T")


def retry_on_conflict(action: Callable[[], T], *, attempts: int = 5) -> T:
    """Run ``action`` again (a fresh transaction each time) while it hits a concurrent update.

    The last :class:`ConcurrentUpdate` is raised when every attempt lost.
    """
    for _ in range(attempts - 1):
        try:
            return action()
        except ConcurrentUpdate:
            continue
    return action()
