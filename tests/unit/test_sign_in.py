from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.adapters.notify import RecordingNotifier
from shequ.adapters.security import Argon2PasswordHasher, FieldCipher, Keyring
from shequ.adapters.security.tokens import JwtTokenIssuer
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.identity.sign_in import (
    Authenticate,
    AuthenticateHandler,
    RefreshTokens,
    RefreshTokensHandler,
    RequestSignInCode,
    RequestSignInCodeHandler,
    SignIn,
    SignInHandler,
    SignOut,
    SignOutEverywhereHandler,
    SignOutHandler,
    SignUp,
    SignUpHandler,
    Tokens,
)
from shequ.application.policy import CONSOLE
from shequ.application.ports import Notifier, PasswordHasher
from shequ.domain.errors import Duplicate, RateLimited, Unauthenticated
from shequ.domain.ids import AccountId
from tests.support import Catalog, ClockModule, settings

PHONE, PASSWORD = "13812345678", "correct horse"


class Notify(injector.Module):
    def __init__(self, notifier: RecordingNotifier) -> None:
        self._notifier = notifier

    @injector.provider
    def notifier(self) -> Notifier:
        return self._notifier


@pytest.fixture
def sent() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def app(clock: FixedClock, sent: RecordingNotifier) -> injector.Injector:
    from shequ import bootstrap

    return bootstrap(settings(storage="memory"), ClockModule(clock), Notify(sent))


@pytest.fixture
def account(app: injector.Injector) -> None:
    app.get(OpenAccountHandler)(OpenAccount(phone=PHONE, password=PASSWORD), actor=CONSOLE)


def sign_in(app: injector.Injector, **kwargs: str) -> Tokens:
    return app.get(SignInHandler)(SignIn(**{"phone": PHONE, **kwargs}))  # type: ignore[arg-type]


def who(app: injector.Injector, tokens: Tokens) -> str:
    return app.get(AuthenticateHandler)(Authenticate(tokens.access_token)).phone


@pytest.mark.usefixtures("account")
def test_a_password_signs_in_and_the_token_names_the_account(app: injector.Injector) -> None:
    tokens = sign_in(app, password=PASSWORD)
    assert who(app, tokens) == PHONE
    assert tokens.access_expires_at - tokens.refresh_expires_at < dt.timedelta(0)


@pytest.mark.usefixtures("account")
def test_a_code_signs_in_once(app: injector.Injector, sent: RecordingNotifier) -> None:
    app.get(RequestSignInCodeHandler)(RequestSignInCode(phone="+86 13812345678"))
    code = sent.sent[PHONE]
    assert len(code) == 6 and code.isdigit()
    assert who(app, sign_in(app, code=code)) == PHONE
    with pytest.raises(Unauthenticated):
        sign_in(app, code=code)


@pytest.mark.usefixtures("account")
def test_a_code_dies_after_three_wrong_tries_or_five_minutes(
    app: injector.Injector, sent: RecordingNotifier, clock: FixedClock
) -> None:
    app.get(RequestSignInCodeHandler)(RequestSignInCode(phone=PHONE))
    code = sent.sent[PHONE]
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            sign_in(app, code=wrong, client=f"c{_}")
    with pytest.raises(Unauthenticated):
        sign_in(app, code=code, client="c9")
    app.get(RequestSignInCodeHandler)(RequestSignInCode(phone=PHONE, client="c8"))
    clock.advance(dt.timedelta(minutes=5))
    with pytest.raises(Unauthenticated):
        sign_in(app, code=sent.sent[PHONE], client="c7")


@pytest.mark.usefixtures("account")
def test_wrong_password_and_unknown_number_get_the_same_answer(app: injector.Injector) -> None:
    with pytest.raises(Unauthenticated) as wrong:
        sign_in(app, password="wrong horse!")
    with pytest.raises(Unauthenticated) as unknown:
        sign_in(app, phone="13900000000", password=PASSWORD)
    assert wrong.value.message == unknown.value.message
    assert wrong.value.code == unknown.value.code == "unauthenticated"


@pytest.mark.usefixtures("account")
def test_five_failures_lock_the_number_out_for_a_while(
    app: injector.Injector, clock: FixedClock
) -> None:
    for i in range(5):
        with pytest.raises(Unauthenticated):
            sign_in(app, password="wrong horse!", client=f"client-{i}")
    with pytest.raises(RateLimited) as locked:
        sign_in(app, password=PASSWORD, client="another")
    assert locked.value.details["retry_after"] > 0
    clock.advance(dt.timedelta(minutes=15, seconds=1))
    assert who(app, sign_in(app, password=PASSWORD, client="another")) == PHONE


def test_one_client_guessing_many_numbers_is_locked_out(app: injector.Injector) -> None:
    for i in range(5):
        with pytest.raises(Unauthenticated):
            sign_in(app, phone=f"1390000000{i}", password="wrong horse!", client="bot")
    with pytest.raises(RateLimited):
        sign_in(app, phone="13900000009", password="wrong horse!", client="bot")


@pytest.mark.usefixtures("account")
def test_a_refresh_token_is_used_up_and_a_replay_ends_the_session(app: injector.Injector) -> None:
    first = sign_in(app, password=PASSWORD)
    second = app.get(RefreshTokensHandler)(RefreshTokens(first.refresh_token))
    assert who(app, second) == PHONE and second.refresh_token != first.refresh_token
    with pytest.raises(Unauthenticated):
        app.get(RefreshTokensHandler)(RefreshTokens(first.refresh_token))  # stolen?
    with pytest.raises(Unauthenticated):
        app.get(RefreshTokensHandler)(RefreshTokens(second.refresh_token))  # session ended


@pytest.mark.usefixtures("account")
def test_signing_out_ends_the_session(app: injector.Injector) -> None:
    tokens = sign_in(app, password=PASSWORD)
    app.get(SignOutHandler)(SignOut(tokens.refresh_token))
    with pytest.raises(Unauthenticated):
        app.get(RefreshTokensHandler)(RefreshTokens(tokens.refresh_token))


@pytest.mark.usefixtures("account")
def test_signing_out_everywhere_voids_every_token(app: injector.Injector) -> None:
    phone_tokens, laptop_tokens = sign_in(app, password=PASSWORD), sign_in(app, password=PASSWORD)
    app.get(SignOutEverywhereHandler)(phone_tokens.account_id, actor=CONSOLE)
    for tokens in (phone_tokens, laptop_tokens):
        with pytest.raises(Unauthenticated):
            who(app, tokens)
        with pytest.raises(Unauthenticated):
            app.get(RefreshTokensHandler)(RefreshTokens(tokens.refresh_token))
    assert who(app, sign_in(app, password=PASSWORD)) == PHONE


@pytest.mark.usefixtures("account")
def test_expired_or_tampered_access_tokens_are_refused(
    app: injector.Injector, clock: FixedClock
) -> None:
    tokens = sign_in(app, password=PASSWORD)
    head, body, signature = tokens.access_token.split(".")
    for bad in [
        f"{head}.{body}.{signature[:-2]}AA",
        f"{head}.{body[:-2]}AA.{signature}",
        "garbage",
        "",
    ]:
        with pytest.raises(Unauthenticated):
            app.get(AuthenticateHandler)(Authenticate(bad))
    clock.advance(dt.timedelta(minutes=15))
    with pytest.raises(Unauthenticated, match="expired"):
        who(app, tokens)


@pytest.mark.parametrize("token", ["", "no-dot", ".", "x" * 300, "id.secret"])
def test_malformed_refresh_tokens_are_refused(app: injector.Injector, token: str) -> None:
    with pytest.raises(Unauthenticated):
        app.get(RefreshTokensHandler)(RefreshTokens(token))


def test_a_resident_signs_up_with_a_code(
    app: injector.Injector, catalog: Catalog, sent: RecordingNotifier
) -> None:
    home = catalog.community()
    app.get(RequestSignInCodeHandler)(RequestSignInCode(phone=PHONE))
    tokens = app.get(SignUpHandler)(
        SignUp(
            phone=PHONE,
            code=sent.sent[PHONE],
            community_id=home.id,
            name="张伟",
            policy_version="2026-11",
        )
    )
    account = app.get(AuthenticateHandler)(Authenticate(tokens.access_token))
    assert [m.role for m in account.memberships] == ["resident"]
    app.get(RequestSignInCodeHandler)(RequestSignInCode(phone=PHONE))
    with pytest.raises(Duplicate):
        app.get(SignUpHandler)(
            SignUp(
                phone=PHONE, code=sent.sent[PHONE], community_id=home.id, policy_version="2026-11"
            )
        )


def test_without_a_notifier_no_code_is_sent(clock: FixedClock) -> None:
    from shequ import bootstrap
    from shequ.domain.errors import AdapterError

    plain = bootstrap(settings(storage="memory"), ClockModule(clock))
    with pytest.raises(AdapterError, match="SHEQU_NOTIFIER=console"):
        plain.get(RequestSignInCodeHandler)(RequestSignInCode(phone=PHONE))


def test_codes_are_rationed_per_number(app: injector.Injector, sent: RecordingNotifier) -> None:
    for i in range(5):
        app.get(RequestSignInCodeHandler)(RequestSignInCode(phone=PHONE, client=f"c{i}"))
    with pytest.raises(RateLimited):
        app.get(RequestSignInCodeHandler)(RequestSignInCode(phone=PHONE, client="c9"))
    app.get(RequestSignInCodeHandler)(RequestSignInCode(phone="13900000000", client="c8"))


@pytest.mark.usefixtures("account")
def test_a_success_does_not_clear_the_clients_failures(app: injector.Injector) -> None:
    for i in range(4):
        with pytest.raises(Unauthenticated):
            sign_in(app, phone=f"1390000000{i}", password="wrong horse!", client="bot")
    sign_in(app, password=PASSWORD, client="bot")  # the bot's own, valid account
    with pytest.raises(Unauthenticated):
        sign_in(app, phone="13900000008", password="wrong horse!", client="bot")
    with pytest.raises(RateLimited):
        sign_in(app, phone="13900000009", password="wrong horse!", client="bot")


class Production(injector.Module):
    @injector.provider
    def passwords(self) -> PasswordHasher:
        return Argon2PasswordHasher("production")


def test_an_outdated_password_hash_is_upgraded_at_sign_in(clock: FixedClock) -> None:
    from shequ import bootstrap
    from shequ.application.ports import UnitOfWork

    cheap_app = bootstrap(settings(storage="memory"), ClockModule(clock))
    app = bootstrap(settings(storage="memory"), ClockModule(clock), Production())
    cheap_hash = cheap_app.get(PasswordHasher).hash(PASSWORD)
    app.get(OpenAccountHandler)(OpenAccount(phone=PHONE), actor=CONSOLE)
    with app.get(UnitOfWork) as uow:
        uow.accounts.find_by_phone(PHONE).set_password_hash(cheap_hash, now=clock.now())  # type: ignore[union-attr]
        uow.commit()
    sign_in(app, password=PASSWORD)
    with app.get(UnitOfWork) as uow:
        upgraded = uow.accounts.find_by_phone(PHONE).password_hash  # type: ignore[union-attr]
    assert upgraded != cheap_hash and not app.get(PasswordHasher).needs_rehash(upgraded or "")


def test_keys_come_in_pairs() -> None:
    from pydantic import ValidationError

    from shequ import Settings

    with pytest.raises(ValidationError, match="both"):
        Settings(data_keys="k1:" + "A" * 43)


def test_an_access_token_is_judged_by_the_clock_port_not_the_wall_clock() -> None:
    keyring = Keyring.generate()
    issuer = JwtTokenIssuer(FieldCipher(lambda: keyring))
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)  # a clock well off the wall's
    token, _ = issuer.issue(AccountId("a" * 32), 0, ahead)
    assert issuer.verify(token, ahead).account_id == "a" * 32
    assert issuer.verify(token, ahead - dt.timedelta(seconds=30)).generation == 0
    with pytest.raises(Unauthenticated, match="not valid yet"):
        issuer.verify(token, ahead - dt.timedelta(minutes=5))
