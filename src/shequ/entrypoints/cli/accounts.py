"""``shequ accounts …``: open accounts and grant or revoke their roles."""

from __future__ import annotations

import sys

import click

from shequ.application.identity.accounts import (
    ChangeRole,
    ChangeRoleHandler,
    ListAccountsHandler,
    OpenAccount,
    OpenAccountHandler,
    SetAccountEnabled,
    SetAccountEnabledHandler,
)
from shequ.application.policy import CONSOLE
from shequ.domain.identity import Account, Membership, Role
from shequ.domain.ids import AccountId, CommunityId
from shequ.entrypoints.cli.main import emit_json, get, json_option, table
from shequ.entrypoints.schemas import AccountOut

__all__ = ["accounts"]

role_options = [
    click.option("--role", type=click.Choice([r.value for r in Role]), help="The role."),
    click.option("--community", "community_id", help="Where (every role but admin, supplier)."),
    click.option("--scope", "scope_id", help="The seller a merchant works for."),
]


def _with_role_options(f: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(role_options):
        f = option(f)
    return f


def _membership(role: str, community_id: str | None, scope_id: str | None) -> Membership:
    return Membership(
        role=Role(role),
        community_id=CommunityId(community_id) if community_id else None,
        scope_id=scope_id,
    )


def _show(account: Account, as_json: bool, verb: str) -> None:
    if as_json:
        emit_json(AccountOut.of(account))
        return
    roles = ", ".join(map(str, account.memberships))
    click.echo(f"{verb} account {account.id} ({account.masked_phone}): {roles or 'no roles'}")


@click.group()
def accounts() -> None:
    """Accounts and the roles they hold."""


@accounts.command("create")
@click.option("--phone", required=True, help="Mainland mobile number.")
@click.option("--name", default="")
@_with_role_options
@click.option(
    "--password-stdin", is_flag=True, help="Read a password from the first line of standard input."
)
@json_option
@click.pass_context
def create(
    ctx: click.Context,
    phone: str,
    name: str,
    role: str | None,
    community_id: str | None,
    scope_id: str | None,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Open an account, with one role if --role is given."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    memberships = (_membership(role, community_id, scope_id),) if role else ()
    account = get(ctx, OpenAccountHandler)(
        OpenAccount(phone=phone, name=name, password=password, memberships=memberships),
        actor=CONSOLE,
    )
    _show(account, as_json, "opened")


@accounts.command("grant")
@click.argument("account_id")
@_with_role_options
@json_option
@click.pass_context
def grant(
    ctx: click.Context,
    account_id: str,
    role: str | None,
    community_id: str | None,
    scope_id: str | None,
    as_json: bool,
) -> None:
    """Give an account a role."""
    _change_role(ctx, account_id, role, community_id, scope_id, as_json, granted=True)


@accounts.command("revoke")
@click.argument("account_id")
@_with_role_options
@json_option
@click.pass_context
def revoke(
    ctx: click.Context,
    account_id: str,
    role: str | None,
    community_id: str | None,
    scope_id: str | None,
    as_json: bool,
) -> None:
    """Take a role away from an account."""
    _change_role(ctx, account_id, role, community_id, scope_id, as_json, granted=False)


def _change_role(
    ctx: click.Context,
    account_id: str,
    role: str | None,
    community_id: str | None,
    scope_id: str | None,
    as_json: bool,
    *,
    granted: bool,
) -> None:
    if role is None:
        raise click.UsageError("--role is required")
    account = get(ctx, ChangeRoleHandler)(
        ChangeRole(AccountId(account_id), _membership(role, community_id, scope_id), granted),
        actor=CONSOLE,
    )
    _show(account, as_json, "granted" if granted else "revoked")


@accounts.command("disable")
@click.argument("account_id")
@json_option
@click.pass_context
def disable(ctx: click.Context, account_id: str, as_json: bool) -> None:
    """Lock an account out: no sign-in, and every token it holds stops working at once."""
    account = get(ctx, SetAccountEnabledHandler)(
        SetAccountEnabled(AccountId(account_id), enabled=False), actor=CONSOLE
    )
    _show(account, as_json, "disabled")


@accounts.command("enable")
@click.argument("account_id")
@json_option
@click.pass_context
def enable(ctx: click.Context, account_id: str, as_json: bool) -> None:
    """Let a disabled account sign in again."""
    account = get(ctx, SetAccountEnabledHandler)(
        SetAccountEnabled(AccountId(account_id), enabled=True), actor=CONSOLE
    )
    _show(account, as_json, "enabled")


@accounts.command("list")
@click.option("--community", "community_id", help="Accounts holding a role there.")
@json_option
@click.pass_context
def list_accounts(ctx: click.Context, community_id: str | None, as_json: bool) -> None:
    """List accounts, phone numbers masked."""
    found = get(ctx, ListAccountsHandler)(
        CommunityId(community_id) if community_id else None, actor=CONSOLE
    )
    if as_json:
        emit_json([AccountOut.of(a) for a in found], AccountOut)
        return
    table(
        ["ACCOUNT", "PHONE", "NAME", "ROLES"],
        [
            [
                a.id,
                a.masked_phone,
                AccountOut.of(a).name,
                ", ".join(map(str, a.memberships)),
            ]
            for a in found
        ],
    )
