"""Accounts on every backend; personal data never at rest in plain text."""

from __future__ import annotations

from pathlib import Path

import injector
import pytest
import sqlalchemy as sa

from shequ.adapters.storage.sqlalchemy import Database
from shequ.application.identity.accounts import (
    ChangeRole,
    ChangeRoleHandler,
    GetAccountHandler,
    ListAccountsHandler,
    OpenAccount,
    OpenAccountHandler,
)
from shequ.application.policy import CONSOLE
from shequ.application.ports import PasswordHasher, UnitOfWork
from shequ.domain.errors import AccountNotFound, CommunityNotFound, Duplicate
from shequ.domain.identity import Membership, Role
from shequ.domain.ids import AccountId, CommunityId
from tests.support import Catalog

PHONE, NAME = "13812345678", "张伟"


def test_an_account_round_trips_with_its_roles(app: injector.Injector, catalog: Catalog) -> None:
    home = catalog.community()
    account = app.get(OpenAccountHandler)(
        OpenAccount(
            phone="+86 138 1234 5678",
            name=NAME,
            password="correct horse",
            memberships=(Membership(Role.RESIDENT, home.id),),
        ),
        actor=CONSOLE,
    )
    app.get(ChangeRoleHandler)(
        ChangeRole(account.id, Membership(Role.LEADER, home.id, "p1")), actor=CONSOLE
    )
    loaded = app.get(GetAccountHandler)(phone=PHONE, actor=CONSOLE)
    assert (loaded.id, loaded.phone, loaded.name) == (account.id, PHONE, NAME)
    assert loaded.memberships == [
        Membership(Role.RESIDENT, home.id),
        Membership(Role.LEADER, home.id, "p1"),
    ]
    assert loaded.password_hash is not None
    assert app.get(PasswordHasher).verify(loaded.password_hash, "correct horse")
    assert [a.id for a in app.get(ListAccountsHandler)(home.id, actor=CONSOLE)] == [account.id]
    assert app.get(ListAccountsHandler)(catalog.community("别处").id, actor=CONSOLE) == []
    with app.get(UnitOfWork) as uow:
        events = [m.name for m in uow.outbox.pending() if m.name.startswith(("Account", "Role"))]
    assert events == ["AccountCreated", "RoleGranted", "RoleGranted"]


def test_one_account_per_phone_number(app: injector.Injector) -> None:
    app.get(OpenAccountHandler)(OpenAccount(phone=PHONE), actor=CONSOLE)
    with pytest.raises(Duplicate):
        app.get(OpenAccountHandler)(OpenAccount(phone="+8613812345678"), actor=CONSOLE)


@pytest.mark.parametrize("backend", ["memory", "postgres"], indirect=True)
def test_two_units_opening_the_same_number_cannot_both_win(
    app: injector.Injector, catalog: Catalog
) -> None:
    from shequ.domain.identity import Account

    now = catalog.clock.now()
    with app.get(UnitOfWork) as first, app.get(UnitOfWork) as second:
        first.accounts.add(Account.open(id=AccountId("a1"), phone=PHONE, now=now))
        second.accounts.add(Account.open(id=AccountId("a2"), phone=PHONE, now=now))
        first.commit()
        with pytest.raises(Duplicate):
            second.commit()


def test_unknown_accounts_and_places(app: injector.Injector) -> None:
    with pytest.raises(AccountNotFound):
        app.get(GetAccountHandler)(phone="13900000000", actor=CONSOLE)
    with pytest.raises(AccountNotFound):
        app.get(ChangeRoleHandler)(
            ChangeRole(AccountId("nobody"), Membership(Role.ADMIN)), actor=CONSOLE
        )
    with pytest.raises(CommunityNotFound):
        app.get(OpenAccountHandler)(
            OpenAccount(
                phone=PHONE, memberships=(Membership(Role.RESIDENT, CommunityId("nowhere")),)
            ),
            actor=CONSOLE,
        )


def raw_rows(app: injector.Injector) -> bytes:
    engine = app.get(Database).engine
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT * FROM accounts")).all()
    return repr(rows).encode() + b"".join(
        v for row in rows for v in row if isinstance(v, bytes | memoryview)
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_no_phone_number_or_name_is_stored_in_plain_text(
    app: injector.Injector, backend: str, tmp_path: Path
) -> None:
    app.get(OpenAccountHandler)(OpenAccount(phone=PHONE, name=NAME), actor=CONSOLE)
    stored = raw_rows(app)
    for secret in (PHONE, NAME, PHONE[-4:] + PHONE[:3]):
        assert secret.encode() not in stored
        assert secret.encode("utf-16-le") not in stored
    if backend == "sqlite":
        for file in tmp_path.glob("shequ.db*"):
            assert PHONE.encode() not in file.read_bytes()
            assert NAME.encode() not in file.read_bytes()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_a_sealed_value_moved_to_another_row_does_not_open(app: injector.Injector) -> None:
    from shequ.domain.errors import PersonalDataUnreadable

    first = app.get(OpenAccountHandler)(OpenAccount(phone=PHONE, name=NAME), actor=CONSOLE)
    second = app.get(OpenAccountHandler)(
        OpenAccount(phone="13900000000", name="李娜"), actor=CONSOLE
    )
    engine = app.get(Database).engine
    with engine.begin() as connection:
        sealed = connection.execute(
            sa.text("SELECT phone_sealed FROM accounts WHERE id = :i"), {"i": first.id}
        ).scalar_one()
        connection.execute(
            sa.text("UPDATE accounts SET phone_sealed = :s WHERE id = :i"),
            {"s": sealed, "i": second.id},
        )
    with pytest.raises(PersonalDataUnreadable):
        app.get(GetAccountHandler)(second.id, actor=CONSOLE)


def test_an_admin_locks_an_account_out_and_lets_it_back(
    app: injector.Injector, catalog: Catalog
) -> None:
    from shequ.application.identity.accounts import SetAccountEnabled, SetAccountEnabledHandler
    from shequ.application.identity.sign_in import (
        Authenticate,
        AuthenticateHandler,
        SignIn,
        SignInHandler,
    )
    from shequ.application.policy import Actor
    from shequ.domain.errors import Forbidden, Unauthenticated

    home = catalog.community()
    account = app.get(OpenAccountHandler)(
        OpenAccount(
            phone=PHONE, password="correct horse", memberships=(Membership(Role.RESIDENT, home.id),)
        ),
        actor=CONSOLE,
    )
    operator = app.get(OpenAccountHandler)(
        OpenAccount(phone="13900000001", memberships=(Membership(Role.OPERATOR, home.id),)),
        actor=CONSOLE,
    )
    tokens = app.get(SignInHandler)(SignIn(phone=PHONE, password="correct horse"))
    with pytest.raises(Forbidden):
        app.get(SetAccountEnabledHandler)(
            SetAccountEnabled(account.id, enabled=False), actor=Actor.of(operator)
        )
    app.get(SetAccountEnabledHandler)(SetAccountEnabled(account.id, enabled=False), actor=CONSOLE)
    with pytest.raises(Unauthenticated):
        app.get(AuthenticateHandler)(Authenticate(tokens.access_token))
    with pytest.raises(Unauthenticated):
        app.get(SignInHandler)(SignIn(phone=PHONE, password="correct horse", client="c2"))
    app.get(SetAccountEnabledHandler)(SetAccountEnabled(account.id, enabled=True), actor=CONSOLE)
    again = app.get(SignInHandler)(SignIn(phone=PHONE, password="correct horse", client="c3"))
    assert app.get(AuthenticateHandler)(Authenticate(again.access_token)).id == account.id
