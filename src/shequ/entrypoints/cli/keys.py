"""``shequ keys …``: the keys that seal personal data at rest."""

from __future__ import annotations

import base64
import os

import click

from shequ.application.ports import PersonalDataKeys
from shequ.entrypoints.cli.main import get, progress

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """Keys that seal personal data at rest: phone numbers, names and addresses."""


@keys.command("generate")
@click.option("--id", "key_id", default="k1", show_default=True, help="The new key's id.")
def generate(key_id: str) -> None:
    """Print a fresh data key and lookup key, as settings lines.

    To rotate keys kept in settings, put the new data key first in SHEQU_DATA_KEYS
    (keep the old ones after it), then run `shequ keys rotate`. Keep SHEQU_LOOKUP_KEY.
    """
    data = base64.urlsafe_b64encode(os.urandom(32)).decode()
    lookup = base64.urlsafe_b64encode(os.urandom(32)).decode()
    click.echo(f"SHEQU_DATA_KEYS={key_id}:{data}")
    click.echo(f"SHEQU_LOOKUP_KEY={lookup}")


@keys.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show the current key and how many records each key seals."""
    store = get(ctx, PersonalDataKeys)
    current, counts = store.current(), store.count_by_key()
    click.echo(f"current key: {current}")
    for key_id, count in sorted(counts.items()):
        marker = "" if key_id == current else "   (run `shequ keys rotate`)"
        click.echo(f"  {key_id}: {count} record(s){marker}")


@keys.command("new")
@click.pass_context
def new(ctx: click.Context) -> None:
    """Add a key to the key file and seal with it from now on (key-file installs)."""
    click.echo(
        f"new current key: {get(ctx, PersonalDataKeys).add_key()}; now run `shequ keys rotate`"
    )


@keys.command("rotate")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_context
def rotate(ctx: click.Context, batch: int) -> None:
    """Re-seal every record under the current key, a batch per transaction.

    Safe to stop and run again: it carries on with what is left.
    """
    store = get(ctx, PersonalDataKeys)
    current = store.current()
    left = sum(n for key_id, n in store.count_by_key().items() if key_id != current)
    advance, done = progress(left, "re-sealing")
    total = 0
    try:
        while True:
            moved = store.reseal(batch)
            if moved == 0:
                break
            total += moved
            if advance is not None:
                advance(moved)
    finally:
        done()
    click.echo(f"re-sealed {total} record(s) under key {current}")
