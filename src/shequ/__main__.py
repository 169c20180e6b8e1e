"""``shequ`` and ``python -m shequ``: read the settings, wire the application, run the CLI."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import click
from pydantic import ValidationError

from shequ.bootstrap import bootstrap
from shequ.domain.errors import ShequError
from shequ.entrypoints.cli import cli
from shequ.settings import Settings

__all__ = ["main"]

EX_CONFIG = 78


def main(argv: Sequence[str] | None = None) -> None:
    try:
        settings = Settings()
    except ValidationError as e:
        first = e.errors()[0]
        where = "SHEQU_" + "_".join(str(p) for p in first["loc"]).upper()
        click.echo(f"error[invalid-settings]: {where}: {first['msg']}", err=True)
        sys.exit(EX_CONFIG)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    try:
        container = bootstrap(settings)
    except ShequError as e:
        click.echo(f"error[invalid-settings]: {e.message}", err=True)
        sys.exit(EX_CONFIG)
    cli.main(args=list(argv) if argv is not None else None, obj=container, prog_name="shequ")


if __name__ == "__main__":
    main()
