"""Signing in and out: one-time codes, passwords, access and refresh tokens.

A failed attempt answers the same whether or not the account exists, and counts against
both the phone number and the client (an IP address, say) it came from. Five failures in
fifteen minutes lock that number or client out for fifteen minutes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets

import attrs

from shequ.application.audit import audit
from shequ.application.identity.accounts import check_password
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import (
    Clock,
    Notifier,
    PasswordHasher,
    SecretDigest,
    TokenIssuer,
    UnitOfWork,
)
from shequ.domain.auth import CODE_LIFETIME, REFRESH_LIFETIME, RefreshSession, SignInCode, Throttle
from shequ.domain.errors import Duplicate, InvalidInput, Unauthenticated
from shequ.domain.identity import Account, Membership, Role, normalise_phone
from shequ.domain.ids import AccountId, CommunityId, new_id

__all__ = [
    "Authenticate",
    "AuthenticateHandler",
    "RefreshTokens",
    "RefreshTokensHandler",
    "RequestSignInCode",
    "RequestSignInCodeHandler",
    "SignIn",
    "SignInHandler",
    "SignOut",
    "SignOutEverywhereHandler",
    "SignOutHandler",
    "SignUp",
    "SignUpHandler",
    "Tokens",
]

WRONG = "the phone number, password or code is wrong"


@attrs.frozen
class Tokens:
    """What a sign-in gives: a short-lived access token and a refresh token."""

    account_id: AccountId
    access_token: str = attrs.field(repr=False)
    access_expires_at: dt.datetime
    refresh_token: str = attrs.field(repr=False)
    refresh_expires_at: dt.datetime


class _Auth:
    def __init__(
        self, uow: UnitOfWork, clock: Clock, digest: SecretDigest, tokens: TokenIssuer
    ) -> None:
        self._uow, self._clock, self._digest, self._tokens = uow, clock, digest, tokens

    def _throttles(self, uow: UnitOfWork, phone: str, client: str) -> list[Throttle]:
        now = self._clock.now()
        found = []
        for key in (f"phone:{phone}", f"client:{client}"):
            throttle_id = self._digest.digest(key)
            throttle = uow.throttles.find(throttle_id)
            if throttle is None:
                throttle = Throttle(id=throttle_id, window_started_at=now)
                uow.throttles.add(throttle)
            throttle.check(now)
            found.append(throttle)
        return found

    def _fail(
        self, uow: UnitOfWork, throttles: list[Throttle], account: Account | None, client: str
    ) -> Unauthenticated:
        now = self._clock.now()
        for throttle in throttles:
            throttle.failed(now)
        subject = f"account:{account.id}" if account is not None else "unknown number"
        audit(uow, Actor(account_id=None, client=client), "sign_in.failed", subject, now)
        uow.commit()  # the failure counts even though the call fails
        return Unauthenticated(WRONG)

    def _redeem(self, uow: UnitOfWork, phone: str, code: str) -> None:
        """Use up the code last sent to ``phone``; raises :class:`Unauthenticated`."""
        sent = uow.codes.find(self._digest.digest(f"code:{phone}"))
        if sent is None:
            raise Unauthenticated(WRONG)
        sent.redeem(self._digest.digest(code), self._clock.now())

    def _start_session(self, uow: UnitOfWork, account: Account, client: str) -> Tokens:
        now = self._clock.now()
        secret = secrets.token_urlsafe(32)
        session = RefreshSession(
            id=new_id(),
            account_id=account.id,
            secret_digest=self._digest.digest(secret),
            created_at=now,
            expires_at=now + REFRESH_LIFETIME,
        )
        uow.sessions.add(session)
        audit(uow, Actor.of(account, client), "account.signed_in", f"account:{account.id}", now)
        return self._tokens_for(account, session, secret)

    def _tokens_for(self, account: Account, session: RefreshSession, secret: str) -> Tokens:
        access, expires = self._tokens.issue(
            account.id, account.token_generation, self._clock.now()
        )
        return Tokens(
            account_id=account.id,
            access_token=access,
            access_expires_at=expires,
            refresh_token=f"{session.id}.{secret}",
            refresh_expires_at=session.expires_at,
        )


@attrs.frozen
class RequestSignInCode:
    phone: str
    client: str = "unknown"


class RequestSignInCodeHandler(_Auth):
    """Send a one-time code to a number, whether or not it has an account (sign-up uses it)."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        digest: SecretDigest,
        tokens: TokenIssuer,
        notifier: Notifier,
    ) -> None:
        super().__init__(uow, clock, digest, tokens)
        self._notifier = notifier

    def __call__(self, cmd: RequestSignInCode) -> dt.datetime:
        """Returns when the code expires."""
        phone, now = normalise_phone(cmd.phone), self._clock.now()
        code = f"{secrets.randbelow(10**6):06d}"
        with self._uow as uow:
            self._throttles(uow, phone, cmd.client)
            # every request counts: five codes a quarter-hour per number and per client
            for sending in self._throttles(uow, f"sms:{phone}", f"sms:{cmd.client}"):
                sending.failed(now)
            code_id = self._digest.digest(f"code:{phone}")
            existing = uow.codes.find(code_id)
            if existing is None:
                uow.codes.add(
                    SignInCode(
                        id=code_id,
                        code_digest=self._digest.digest(code),
                        expires_at=now + CODE_LIFETIME,
                    )
                )
            else:
                existing.reissue(self._digest.digest(code), now)
            uow.commit()
        self._notifier.send_sign_in_code(phone, code)
        return now + CODE_LIFETIME


@attrs.frozen
class SignIn:
    """With a password or a code, not both."""

    phone: str
    password: str | None = attrs.field(default=None, repr=False)
    code: str | None = attrs.field(default=None, repr=False)
    client: str = "unknown"


class _PasswordAuth(_Auth):
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        digest: SecretDigest,
        tokens: TokenIssuer,
        passwords: PasswordHasher,
    ) -> None:
        super().__init__(uow, clock, digest, tokens)
        self._passwords = passwords


class SignInHandler(_PasswordAuth):
    def __call__(self, cmd: SignIn) -> Tokens:
        if (cmd.password is None) == (cmd.code is None):
            raise InvalidInput("sign in with a password or a code", field="password")
        phone = normalise_phone(cmd.phone)
        with self._uow as uow:
            throttles = self._throttles(uow, phone, cmd.client)
            account = uow.accounts.find_by_phone(phone)
            fail = functools.partial(self._fail, uow, throttles, account, cmd.client)
            if cmd.password is not None:
                hashed = account.password_hash if account is not None else None
                if hashed is None:
                    self._passwords.spend_verification(cmd.password)  # as slow as a real one
                    raise fail()
                if not self._passwords.verify(hashed, cmd.password):
                    raise fail()
            else:
                try:
                    self._redeem(uow, phone, cmd.code or "")
                except Unauthenticated:
                    raise fail() from None
            if account is None or not account.may_sign_in:
                raise fail()
            throttles[0].succeeded()  # the number's; a client's failures stand
            if (
                cmd.password is not None
                and account.password_hash is not None
                and self._passwords.needs_rehash(account.password_hash)
            ):
                account.set_password_hash(self._passwords.hash(cmd.password), now=self._clock.now())
            tokens = self._start_session(uow, account, cmd.client)
            uow.commit()
        return tokens


@attrs.frozen
class SignUp:
    """A resident joins with a code sent to their number, in one community."""

    phone: str
    code: str = attrs.field(repr=False)
    community_id: CommunityId
    policy_version: str  # the privacy policy the resident agreed to
    name: str = ""
    password: str | None = attrs.field(default=None, repr=False)
    client: str = "unknown"


class SignUpHandler(_PasswordAuth):
    def __call__(self, cmd: SignUp) -> Tokens:
        phone, now = normalise_phone(cmd.phone), self._clock.now()
        hashed = (
            None if cmd.password is None else self._passwords.hash(check_password(cmd.password))
        )
        with self._uow as uow:
            throttles = self._throttles(uow, phone, cmd.client)
            try:
                self._redeem(uow, phone, cmd.code)
            except Unauthenticated:
                raise self._fail(uow, throttles, None, cmd.client) from None
            uow.communities.get(cmd.community_id)
            if uow.accounts.find_by_phone(phone) is not None:
                raise Duplicate("this number has an account already: sign in instead")
            account = Account.open(
                id=AccountId(new_id()),
                phone=phone,
                name=cmd.name,
                password_hash=hashed,
                now=now,
                memberships=(Membership(Role.RESIDENT, cmd.community_id),),
            )
            account.consent(cmd.policy_version, now=now)
            uow.accounts.add(account)
            audit(
                uow,
                Actor.of(account, cmd.client),
                "account.opened",
                f"account:{account.id}",
                now,
                roles=[str(m) for m in account.memberships],
            )
            tokens = self._start_session(uow, account, cmd.client)
            uow.commit()
        return tokens


def _split(refresh_token: str) -> tuple[str, str]:
    session_id, _, secret = refresh_token.partition(".")
    if not session_id or not secret or len(refresh_token) > 200:
        raise Unauthenticated("the refresh token is not valid; sign in again")
    return session_id, secret


@attrs.frozen
class RefreshTokens:
    refresh_token: str = attrs.field(repr=False)


class RefreshTokensHandler(_Auth):
    """New tokens for a refresh token, which is used up. A used-up token presented again
    means it was stolen: the whole session ends."""

    def __call__(self, cmd: RefreshTokens) -> Tokens:
        session_id, secret = _split(cmd.refresh_token)
        now = self._clock.now()
        with self._uow as uow:
            session = uow.sessions.find(session_id)
            if session is None or not session.active(now):
                raise Unauthenticated("the session has ended; sign in again")
            if not hmac.compare_digest(session.secret_digest, self._digest.digest(secret)):
                session.revoke(now)
                uow.commit()
                raise Unauthenticated("the refresh token was already used; sign in again")
            account = uow.accounts.get(session.account_id)
            if not account.may_sign_in:
                raise Unauthenticated("the account may not sign in")
            fresh = secrets.token_urlsafe(32)
            session.rotate(self._digest.digest(fresh), now)
            tokens = self._tokens_for(account, session, fresh)
            uow.commit()
        return tokens


@attrs.frozen
class SignOut:
    refresh_token: str = attrs.field(repr=False)


class SignOutHandler(_Auth):
    """End the session of a refresh token (its access tokens run out within minutes)."""

    def __call__(self, cmd: SignOut) -> None:
        session_id, secret = _split(cmd.refresh_token)
        with self._uow as uow:
            session = uow.sessions.find(session_id)
            if session is None or not hmac.compare_digest(
                session.secret_digest, self._digest.digest(secret)
            ):
                raise Unauthenticated("the refresh token is not valid")
            session.revoke(self._clock.now())
            uow.commit()


class SignOutEverywhereHandler(_Auth):
    """End every session of an account and void its access tokens at once: the account
    itself, or an admin, may ask."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        digest: SecretDigest,
        tokens: TokenIssuer,
        policy: Policy,
    ) -> None:
        super().__init__(uow, clock, digest, tokens)
        self._policy = policy

    def __call__(self, account_id: AccountId, *, actor: Actor) -> None:
        if actor.account_id != account_id:
            self._policy.require(actor, Permission.MANAGE_ACCOUNTS)
        with self._uow as uow:
            account = uow.accounts.get(account_id)
            for session in uow.sessions.of_account(account_id):
                session.revoke(self._clock.now())
            account.sign_out_everywhere()
            audit(
                uow,
                actor,
                "account.signed_out_everywhere",
                f"account:{account_id}",
                self._clock.now(),
            )
            uow.commit()


@attrs.frozen
class Authenticate:
    access_token: str = attrs.field(repr=False)


class AuthenticateHandler(_Auth):
    """The account behind an access token, if the token is valid and still current."""

    def __call__(self, cmd: Authenticate) -> Account:
        claims = self._tokens.verify(cmd.access_token, self._clock.now())
        with self._uow as uow:
            account = uow.accounts.find(claims.account_id)
        if (
            account is None
            or not account.may_sign_in
            or (account.token_generation != claims.generation)
        ):
            raise Unauthenticated("the access token is no longer valid; sign in again")
        return account
