"""A fresh handler per request, resolved from the application's container."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from injector import Injector

__all__ = ["resolve"]

H = TypeVar("H")


def resolve(kind: type[H]) -> Callable[[Request], H]:
    """A FastAPI dependency that builds ``kind`` (hence a new unit of work) for each request."""

    def dependency(request: Request) -> H:
        container: Injector = request.app.state.container
        return container.get(kind)

    dependency.__name__ = f"resolve_{kind.__name__}"
    return dependency
