"""What every route module shares: a fresh handler per request, resolved from the
application's container; the signed-in actor; the base models of bodies and answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from injector import Injector
from pydantic import BaseModel, ConfigDict

from shequ.application.identity.sign_in import Authenticate, AuthenticateHandler
from shequ.application.policy import Actor
from shequ.domain.errors import InvalidInput, Unauthenticated
from shequ.domain.ids import AccountId

__all__ = [
    "CurrentActor",
    "Input",
    "Output",
    "body_within",
    "client_of",
    "current_actor",
    "resolve",
    "signed_in",
]


class Input(BaseModel):
    """A request body: unknown fields are refused (422), and it does not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Output(BaseModel):
    """An answer's body."""

    model_config = ConfigDict(frozen=True)


def signed_in(actor: Actor) -> AccountId:
    """The account acting, for routes about one's own things (``/me``, joining, posting)."""
    if actor.account_id is None:
        raise Unauthenticated("sign in first")
    return actor.account_id


H = TypeVar("H")


def resolve(kind: type[H]) -> Callable[[Request], H]:
    """A FastAPI dependency that builds ``kind`` (hence a new unit of work) for each request."""

    def dependency(request: Request) -> H:
        container: Injector = request.app.state.container
        return container.get(kind)

    dependency.__name__ = f"resolve_{kind.__name__}"
    return dependency


_bearer = HTTPBearer(auto_error=False, description="An access token from /v1/auth/sign-in")


def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The signed-in account behind the request's bearer token; 401 without a valid one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("sign in first: send Authorization: Bearer <access token>")
    container: Injector = request.app.state.container
    account = container.get(AuthenticateHandler)(Authenticate(credentials.credentials))
    return Actor.of(account, client=client_of(request))


CurrentActor = Annotated[Actor, Depends(current_actor)]


def client_of(request: Request) -> str:
    """What identifies the caller for throttling: its address."""
    return request.client.host if request.client else "unknown"


async def body_within(
    request: Request, limit: int, refused: Callable[[str], InvalidInput], what: str
) -> bytes:
    """The raw body of a signed callback (``what``: "a notification", "a callback"),
    refused with ``refused`` as soon as it is longer than ``limit`` bytes: by its declared
    length before anything is read, else while it streams in."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise refused(f"{what} of {declared} bytes is refused unread")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise refused(f"{what} over {limit} bytes is refused")
    return bytes(body)
