"""Passwords hashed with argon2id (argon2-cffi)."""

from __future__ import annotations

import secrets
from typing import Literal

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Argon2PasswordHasher"]


class Argon2PasswordHasher:
    """argon2id with RFC 9106's low-memory profile; ``cheap`` only for tests."""

    def __init__(self, profile: Literal["production", "cheap"] = "production") -> None:
        chosen = profiles.RFC_9106_LOW_MEMORY if profile == "production" else profiles.CHEAPEST
        self._hasher = PasswordHasher.from_parameters(chosen)
        self._production = profile == "production"
        self._decoy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Only a production hasher upgrades: a cheap one never weakens a stored hash."""
        return self._production and self._hasher.check_needs_rehash(password_hash)

    def spend_verification(self, password: str) -> None:
        if self._decoy is None:
            self._decoy = self._hasher.hash(secrets.token_urlsafe(16))
        self.verify(self._decoy, password)
