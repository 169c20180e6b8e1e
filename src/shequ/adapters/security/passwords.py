"""Passwords hashed with argon2id (argon2-cffi)."""

from __future__ import annotations

from typing import Literal

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Argon2PasswordHasher"]


class Argon2PasswordHasher:
    """argon2id with RFC 9106's low-memory profile; ``cheap`` only for tests."""

    def __init__(self, profile: Literal["production", "cheap"] = "production") -> None:
        chosen = profiles.RFC_9106_LOW_MEMORY if profile == "production" else profiles.CHEAPEST
        self._hasher = PasswordHasher.from_parameters(chosen)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
