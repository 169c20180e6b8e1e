"""The audit log: what is recorded, who may search it, and that it is append-only."""

from __future__ import annotations

import uuid

import injector
import pytest
import sqlalchemy as sa

from shequ.adapters.storage.sqlalchemy import Database
from shequ.application.audit import SearchAuditHandler
from shequ.application.identity.accounts import (
    ChangeRole,
    ChangeRoleHandler,
    GetAccountHandler,
    ListAccountsHandler,
    OpenAccount,
    OpenAccountHandler,
)
from shequ.application.identity.sign_in import SignIn, SignInHandler
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import AuditQuery, SchemaMigrations
from shequ.domain.errors import Forbidden, Unauthenticated
from shequ.domain.identity import Membership, Role
from tests.support import Catalog

PHONE, PASSWORD = "13812345678", "correct horse"


def test_reads_and_changes_of_accounts_are_recorded(
    app: injector.Injector, catalog: Catalog
) -> None:
    home = catalog.community()
    operator = app.get(OpenAccountHandler)(
        OpenAccount(phone="13900000001", memberships=(Membership(Role.OPERATOR, home.id),)),
        actor=CONSOLE,
    )
    as_operator = Actor.of(operator, client="10.1.2.3")
    resident = app.get(OpenAccountHandler)(
        OpenAccount(
            phone=PHONE, password=PASSWORD, memberships=(Membership(Role.RESIDENT, home.id),)
        ),
        actor=as_operator,
    )
    app.get(GetAccountHandler)(resident.id, actor=as_operator)
    app.get(ListAccountsHandler)(home.id, actor=as_operator)
    app.get(ChangeRoleHandler)(
        ChangeRole(resident.id, Membership(Role.LEADER, home.id, "p")), actor=as_operator
    )
    app.get(SignInHandler)(SignIn(phone=PHONE, password=PASSWORD, client="10.9.9.9"))
    with pytest.raises(Unauthenticated):
        app.get(SignInHandler)(SignIn(phone=PHONE, password="wrong horse!", client="10.6.6.6"))

    search = app.get(SearchAuditHandler)
    by_operator = search(AuditQuery(actor_id=operator.id), actor=CONSOLE)
    assert [(r.action, r.subject, r.client) for r in reversed(by_operator)] == [
        ("account.opened", f"account:{resident.id}", "10.1.2.3"),
        ("account.read", f"account:{resident.id}", "10.1.2.3"),
        ("accounts.listed", f"community:{home.id}", "10.1.2.3"),
        ("role.granted", f"account:{resident.id}", "10.1.2.3"),
    ]
    about_resident = search(AuditQuery(subject=f"account:{resident.id}"), actor=CONSOLE)
    assert [r.action for r in about_resident][:2] == ["sign_in.failed", "account.signed_in"]
    assert about_resident[0].actor_id is None and about_resident[0].client == "10.6.6.6"
    everything = repr(search(AuditQuery(limit=1000), actor=CONSOLE))
    assert PHONE not in everything and PASSWORD not in everything


def test_time_ranges_and_who_may_search(app: injector.Injector, catalog: Catalog) -> None:
    import datetime as dt

    home = catalog.community()
    opened = app.get(OpenAccountHandler)(OpenAccount(phone=PHONE), actor=CONSOLE)
    now, subject = catalog.clock.now(), f"account:{opened.id}"
    search = app.get(SearchAuditHandler)
    later = now + dt.timedelta(seconds=1)
    assert search(AuditQuery(subject=subject, since=later), actor=CONSOLE) == []
    assert len(search(AuditQuery(subject=subject, until=later), actor=CONSOLE)) == 1
    searches = search(AuditQuery(subject=subject), actor=CONSOLE)
    assert [r.action for r in searches] == ["account.opened"]
    assert [r.action for r in search(AuditQuery(subject="audit"), actor=CONSOLE)][:1] == [
        "audit.searched"
    ]  # searching is itself recorded
    operator = app.get(OpenAccountHandler)(
        OpenAccount(phone="13900000001", memberships=(Membership(Role.OPERATOR, home.id),)),
        actor=CONSOLE,
    )
    with pytest.raises(Forbidden):
        search(AuditQuery(), actor=Actor.of(operator))
    admin = app.get(OpenAccountHandler)(
        OpenAccount(phone="13900000002", memberships=(Membership(Role.ADMIN),)), actor=CONSOLE
    )
    assert search(AuditQuery(), actor=Actor.of(admin))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_the_database_refuses_to_change_or_delete_audit_records(app: injector.Injector) -> None:
    app.get(OpenAccountHandler)(OpenAccount(phone=PHONE), actor=CONSOLE)
    engine = app.get(Database).engine
    for statement in ("UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_application_user_may_only_append_to_the_audit_log(app: injector.Injector) -> None:
    app.get(OpenAccountHandler)(OpenAccount(phone=PHONE), actor=CONSOLE)
    engine = app.get(Database).engine
    role = f"shequ_app_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
        conn.execute(sa.text(f'CREATE ROLE "{role}"'))
        for statement in app.get(SchemaMigrations).application_grants(role, schema):
            conn.execute(sa.text(statement))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'SET ROLE "{role}"'))
            assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() == 1
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (at, action, subject, client, detail) "
                    "VALUES (now(), 'test', 'x', 'y', '{}')"
                )
            )
            assert conn.execute(sa.text("SELECT count(*) FROM accounts")).scalar_one() == 1
            for statement in (
                "UPDATE audit_log SET action = 'x'",
                "DELETE FROM audit_log",
                "TRUNCATE audit_log",
                "DROP TRIGGER audit_log_append_only ON audit_log",
            ):
                with (
                    pytest.raises(sa.exc.ProgrammingError, match=r"denied|must be owner"),
                    conn.begin_nested(),
                ):
                    conn.execute(sa.text(statement))
            conn.rollback()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))


def test_grants_are_only_for_plain_names(app: injector.Injector, backend: str) -> None:
    migrations = app.get(SchemaMigrations)
    if backend != "postgres":
        assert migrations.application_grants("shequ_app") == []
        return
    with pytest.raises(ValueError, match="plain"):
        migrations.application_grants('app"; DROP TABLE accounts; --')
