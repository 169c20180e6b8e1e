"""`shequ accounts` and `shequ keys` through the CLI, on SQLite with a key file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import injector
import pytest
from click.testing import CliRunner, Result

from shequ import Settings
from shequ.adapters.clock import FixedClock
from shequ.application.identity.accounts import GetAccountHandler
from shequ.application.policy import CONSOLE
from shequ.entrypoints.cli import cli
from tests.support import container

PHONE = "13812345678"


@pytest.fixture
def app(tmp_path: Path, clock: FixedClock) -> injector.Injector:
    made = container(
        Settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}", password_profile="cheap"), clock
    )
    assert run(made, "demo").exit_code == 0
    return made


def run(app: injector.Injector, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=app, input=stdin, catch_exceptions=False)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def community_id(app: injector.Injector) -> str:
    found: list[dict[str, Any]] = as_json(run(app, "community", "list", "--json"))
    return str(found[0]["id"])


def test_accounts_are_opened_granted_and_listed_masked(app: injector.Injector) -> None:
    home = community_id(app)
    made = as_json(
        run(
            app,
            "accounts",
            "create",
            "--phone",
            PHONE,
            "--name",
            "张伟",
            "--role",
            "resident",
            "--community",
            home,
            "--password-stdin",
            "--json",
            stdin="correct horse\n",
        )
    )
    assert (made["phone"], made["name"]) == ("138****5678", "张*")
    granted = as_json(
        run(
            app,
            "accounts",
            "grant",
            made["id"],
            "--role",
            "operator",
            "--community",
            home,
            "--json",
        )
    )
    assert [m["role"] for m in granted["memberships"]] == ["resident", "operator"]
    listed = run(app, "accounts", "list", "--community", home)
    assert "138****5678" in listed.stdout and PHONE not in listed.stdout
    revoked = as_json(
        run(
            app,
            "accounts",
            "revoke",
            made["id"],
            "--role",
            "resident",
            "--community",
            home,
            "--json",
        )
    )
    assert [m["role"] for m in revoked["memberships"]] == ["operator"]
    twice = run(app, "accounts", "revoke", made["id"], "--role", "resident", "--community", home)
    assert twice.exit_code == 75 and twice.stderr.startswith("error[conflict]")


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (["--phone", "12345"], "invalid-input", 65),
        (["--phone", PHONE, "--role", "resident"], "invalid-input", 65),
        (
            ["--phone", PHONE, "--role", "resident", "--community", "nowhere"],
            "community-not-found",
            66,
        ),
        (["--phone", PHONE, "--password-stdin"], "invalid-input", 65),
    ],
)
def test_bad_accounts_are_refused(
    app: injector.Injector, args: list[str], code: str, exit_code: int
) -> None:
    result = run(app, "accounts", "create", *args, stdin="short\n")
    assert result.exit_code == exit_code
    assert result.stderr.startswith(f"error[{code}]: ")


def test_keys_rotate_reseals_everything_and_it_still_opens(
    app: injector.Injector, tmp_path: Path
) -> None:
    for i in range(5):
        assert run(app, "accounts", "create", "--phone", f"1391234567{i}").exit_code == 0
    # the demo's 8 accounts (3 are its group buyers) and its resident's address, and these 5
    assert "k1: 14 record(s)" in run(app, "keys", "status").stdout
    assert run(app, "keys", "new").stdout.startswith("new current key: k2")
    status = run(app, "keys", "status").stdout
    assert "current key: k2" in status and "k1: 14 record(s)" in status
    rotated = run(app, "keys", "rotate", "--batch", "2")
    assert rotated.exit_code == 0 and "re-sealed 14 record(s) under key k2" in rotated.stdout
    assert "k2: 14 record(s)" in run(app, "keys", "status").stdout
    assert "re-sealed 0 record(s)" in run(app, "keys", "rotate").stdout
    assert app.get(GetAccountHandler)(phone="13912345673", actor=CONSOLE).phone == "13912345673"
    keyfile = json.loads((tmp_path / "cli.keys").read_text())
    assert keyfile["current"] == "k2" and set(keyfile["keys"]) == {"k1", "k2"}
    assert (tmp_path / "cli.keys").stat().st_mode & 0o077 == 0


def test_generated_keys_are_usable_settings(app: injector.Injector) -> None:
    from shequ.adapters.security import Keyring

    lines = run(app, "keys", "generate", "--id", "k7").stdout.splitlines()
    values = dict(line.split("=", 1) for line in lines)
    ring = Keyring.from_spec(values["SHEQU_DATA_KEYS"], values["SHEQU_LOOKUP_KEY"])
    assert ring.current == "k7"


def test_accounts_are_disabled_and_enabled(app: injector.Injector) -> None:
    made = as_json(run(app, "accounts", "create", "--phone", PHONE, "--json"))
    assert run(app, "accounts", "disable", made["id"]).stdout.startswith("disabled account")
    assert as_json(run(app, "accounts", "enable", made["id"], "--json"))["status"] == "active"
    assert run(app, "accounts", "disable", "nobody").exit_code == 66
