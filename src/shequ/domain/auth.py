"""Signing in: one-time codes, throttles against guessing, and refresh sessions.

Secrets (codes, refresh tokens) never appear here in clear: the application stores only
their keyed digests. Throttles are keyed by a digest too, so they say nothing of who tried.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs

from shequ.domain.errors import RateLimited, Unauthenticated
from shequ.domain.ids import AccountId

__all__ = [
    "CODE_LIFETIME",
    "CODE_TRIES",
    "LOCKOUT",
    "MAX_FAILURES",
    "REFRESH_LIFETIME",
    "WINDOW",
    "RefreshSession",
    "SignInCode",
    "Throttle",
]

MAX_FAILURES: Final = 5  # failed attempts within WINDOW before a lockout
WINDOW: Final = dt.timedelta(minutes=15)
LOCKOUT: Final = dt.timedelta(minutes=15)
CODE_LIFETIME: Final = dt.timedelta(minutes=5)
CODE_TRIES: Final = 3
REFRESH_LIFETIME: Final = dt.timedelta(days=30)


@attrs.define(slots=False, eq=False)
class Throttle:
    """Failed attempts against one key (a phone number or a client), and any lockout."""

    id: str  # a keyed digest of "phone:…" or "client:…"
    window_started_at: dt.datetime
    failures: int = 0
    locked_until: dt.datetime | None = None
    version: int = 1

    def check(self, now: dt.datetime) -> None:
        """Raise :class:`RateLimited` while locked out."""
        if self.locked_until is not None and now < self.locked_until:
            wait = int((self.locked_until - now).total_seconds()) + 1
            raise RateLimited(
                f"too many failed attempts; try again in {wait} seconds", retry_after=wait
            )

    def failed(self, now: dt.datetime) -> None:
        if now - self.window_started_at > WINDOW:
            self.window_started_at, self.failures = now, 0
        self.failures += 1
        if self.failures >= MAX_FAILURES:
            self.locked_until, self.failures = now + LOCKOUT, 0
            self.window_started_at = now
        self.version += 1

    def succeeded(self) -> None:
        if self.failures or self.locked_until:
            self.failures, self.locked_until = 0, None
            self.version += 1


@attrs.define(slots=False, eq=False)
class SignInCode:
    """The latest one-time code sent to a phone number, as a keyed digest."""

    id: str  # a keyed digest of the phone number
    code_digest: str = attrs.field(repr=False)
    expires_at: dt.datetime
    tries_left: int = CODE_TRIES
    version: int = 1

    def reissue(self, code_digest: str, now: dt.datetime) -> None:
        """A new code replaces the last one sent."""
        self.code_digest, self.expires_at = code_digest, now + CODE_LIFETIME
        self.tries_left = CODE_TRIES
        self.version += 1

    def redeem(self, code_digest: str, now: dt.datetime) -> None:
        """Accept the code once; a wrong, used or expired code raises :class:`Unauthenticated`."""
        if self.tries_left <= 0 or now >= self.expires_at:
            raise Unauthenticated("the code is wrong or has expired")
        self.version += 1
        if code_digest != self.code_digest:
            self.tries_left -= 1
            raise Unauthenticated("the code is wrong or has expired")
        self.tries_left = 0  # used


@attrs.define(slots=False, eq=False)
class RefreshSession:
    """A signed-in device: its refresh token (as a digest) rotates at every refresh."""

    id: str
    account_id: AccountId
    secret_digest: str = attrs.field(repr=False)
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None
    version: int = 1

    def active(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def rotate(self, secret_digest: str, now: dt.datetime) -> None:
        if not self.active(now):
            raise Unauthenticated("the session has ended; sign in again")
        self.secret_digest, self.expires_at = secret_digest, now + REFRESH_LIFETIME
        self.version += 1

    def revoke(self, now: dt.datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now
            self.version += 1
