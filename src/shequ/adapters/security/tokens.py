"""Access tokens: short-lived JWTs (HS256, PyJWT) signed with a key derived from the keyring."""

from __future__ import annotations

import datetime as dt

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shequ.adapters.security.cipher import FieldCipher
from shequ.application.ports import AccessClaims
from shequ.domain.errors import Unauthenticated
from shequ.domain.ids import AccountId

__all__ = ["ACCESS_LIFETIME", "CLOCK_SKEW", "JwtTokenIssuer"]

ACCESS_LIFETIME = dt.timedelta(minutes=15)
_AUDIENCE = "shequ"


CLOCK_SKEW = dt.timedelta(minutes=1)  # servers' clocks may differ this much


class JwtTokenIssuer:
    """Signs access tokens with a key derived (HKDF) from the lookup key: no extra secret."""

    def __init__(self, cipher: FieldCipher, lifetime: dt.timedelta = ACCESS_LIFETIME) -> None:
        self._cipher, self._lifetime = cipher, lifetime

    def _key(self) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"shequ access tokens"
        ).derive(self._cipher.keyring.lookup_key)

    def issue(
        self, account_id: AccountId, generation: int, now: dt.datetime
    ) -> tuple[str, dt.datetime]:
        expires = (now + self._lifetime).replace(microsecond=0)  # what the token can say
        claims = {
            "sub": account_id,
            "gen": generation,
            "aud": _AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self._key(), algorithm="HS256"), expires

    def verify(self, token: str, now: dt.datetime) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._key(),
                algorithms=["HS256"],
                audience=_AUDIENCE,
                # times are checked against the Clock port below, not PyJWT's wall clock
                options={
                    "require": ["sub", "gen", "exp", "iat"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as e:
            raise Unauthenticated("the access token is not valid; sign in again") from e
        sub, gen, exp, iat = claims["sub"], claims["gen"], claims["exp"], claims["iat"]
        if not isinstance(sub, str) or not all(type(v) is int for v in (gen, exp, iat)):
            raise Unauthenticated("the access token is not valid; sign in again")
        if dt.datetime.fromtimestamp(iat, dt.UTC) > now + CLOCK_SKEW:
            raise Unauthenticated("the access token is not valid yet; check the clocks")
        expires_at = dt.datetime.fromtimestamp(exp, dt.UTC)
        if now >= expires_at:  # checked against the Clock port, not the wall clock
            raise Unauthenticated("the access token has expired; refresh it or sign in again")
        return AccessClaims(account_id=AccountId(sub), generation=gen, expires_at=expires_at)
