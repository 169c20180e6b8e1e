"""The root ``shequ`` group: the container in ``ctx.obj``, errors as one line and an exit code."""

from __future__ import annotations

import json
import logging
import os
import sys
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from injector import Injector
from pydantic import BaseModel, TypeAdapter

from shequ.domain.errors import (
    AdapterError,
    Conflict,
    DomainError,
    Forbidden,
    InvalidImport,
    NotFound,
    ShequError,
    Unauthenticated,
)
from shequ.domain.routing import GeoPoint

__all__ = [
    "EXIT_CODES",
    "GEO_POINT",
    "GeoPointType",
    "ShequGroup",
    "cli",
    "counter",
    "emit_data",
    "emit_json",
    "exit_code_for",
    "get",
    "json_option",
    "printable",
    "progress",
    "report",
    "table",
]

log = logging.getLogger("shequ.cli")
H = TypeVar("H")

# the most specific family first; DESIGN's table, see docs/cli.md
EXIT_CODES: tuple[tuple[type[ShequError], int], ...] = (
    (DomainError, 65),  # InvalidInput included
    (NotFound, 66),
    (Unauthenticated, 77),
    (Forbidden, 77),
    (Conflict, 75),
    (AdapterError, 69),
)
INTERNAL_ERROR = 70
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


class GeoPointType(click.ParamType[GeoPoint]):
    """``LAT,LNG`` in WGS-84 degrees, such as ``30.27,120.15``."""

    name = "LAT,LNG"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, GeoPoint):
            return value
        lat, _, lng = str(value).partition(",")
        try:
            latitude, longitude = float(lat), float(lng)
        except ValueError:
            self.fail(f"LAT,LNG in degrees, such as 30.27,120.15; not {value!r}", param, ctx)
        return GeoPoint(latitude, longitude)  # off the globe: invalid input, as in the API


GEO_POINT = GeoPointType()
BROKEN_PIPE = 141


def exit_code_for(error: ShequError) -> int:
    for family, code in EXIT_CODES:
        if isinstance(error, family):
            return code
    return INTERNAL_ERROR


def _one_line(text: str) -> str:
    return " ".join(text.split())


def report(error: ShequError) -> None:
    click.echo(f"error[{error.code}]: {_one_line(error.message)}", err=True)
    if isinstance(error, InvalidImport):
        for line, reason in error.details.get("rows", []):
            click.echo(f"  line {line}: {_one_line(reason)}", err=True)


class ShequGroup(click.Group):
    """Turns a :class:`ShequError` into ``error[<code>]: …`` on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ShequError as e:
            report(e)
            ctx.exit(exit_code_for(e))
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # the reader went away (`shequ catalog list | head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(BROKEN_PIPE)
        except Exception as e:
            ref = uuid.uuid4().hex[:12]
            log.debug("unexpected failure %s", ref, exc_info=True)
            log.error("unexpected failure %s: %r", ref, e)
            click.echo(
                f"error[internal]: an unexpected failure (reference {ref}); "
                "run with SHEQU_LOG_LEVEL=DEBUG for details",
                err=True,
            )
            ctx.exit(INTERNAL_ERROR)


@click.group(cls=ShequGroup)
@click.version_option(package_name="shequ")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """shequ (社区): community e-commerce, from the command line.

    Configure with SHEQU_* environment variables (SHEQU_DATABASE_URL, default
    sqlite:///./shequ.db). Exit codes: 0 ok, 2 usage, 65 refused or invalid input,
    66 not found, 69 a provider or the database unavailable, 70 internal error,
    75 conflict (safe to retry), 77 forbidden, 78 invalid settings, 141 output closed.
    """
    if not isinstance(ctx.obj, Injector):
        raise click.UsageError("shequ's CLI needs its container: run it as `shequ`")


def get(ctx: click.Context, kind: type[H]) -> H:
    """A fresh handler (or port) from the container."""
    container: Injector = ctx.find_root().obj
    return container.get(kind)


def emit_json(value: BaseModel | Sequence[BaseModel], model: type[BaseModel] | None = None) -> None:
    if isinstance(value, BaseModel):
        click.echo(value.model_dump_json(indent=2))
    else:
        adapter: TypeAdapter[Any] = TypeAdapter(list[model] if model else list[Any])  # type: ignore[valid-type]
        click.echo(adapter.dump_json(list(value), indent=2).decode())


def emit_data(data: Any) -> None:
    """Plain data (dicts, lists, strings, numbers) as one JSON document on stdout."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def printable(text: str) -> str:
    """User text made safe for a terminal: control characters (escape sequences) as ``?``."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns aligned for the terminal, counting CJK characters as two cells."""
    cells = [[printable(str(c)) for c in row] for row in [headers, *rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo(
            "  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip()
        )


def progress(total: int, label: str) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    """A progress bar on a terminal's stderr; nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None, lambda: None
    bar = click.progressbar(length=total, label=label, file=sys.stderr)
    bar.__enter__()
    return bar.update, lambda: bar.__exit__(None, None, None)


def counter(label: str) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    """A running count on a terminal's stderr, for work whose size is not known up front;
    nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None, lambda: None
    seen = 0

    def advance(n: int) -> None:
        nonlocal seen
        seen += n
        click.echo(f"\r{label}: {seen}", err=True, nl=False)

    def done() -> None:
        if seen:
            click.echo(err=True)  # end the count's line

    return advance, done


def _register() -> None:
    from shequ.entrypoints.cli import (
        accounts,
        audit,
        cart,
        catalog,
        community,
        community_life,  # noqa: F401 (adds its commands to the community group)
        complaints,
        coupons,
        delivery,
        delivery_days,  # noqa: F401 (adds its commands to the delivery group)
        forum,
        groupbuy,
        keys,
        orders,
        payments,
        pickup,
        promotions,
        refunds,
        reviews,
        services,
        system,
    )

    groups = (
        accounts.accounts,
        audit.audit,
        cart.cart,
        catalog.catalog,
        community.community,
        community.seller,
        complaints.complaints,
        coupons.coupons,
        delivery.delivery,
        forum.forum,
        groupbuy.groupbuy,
        keys.keys,
        orders.orders,
        payments.payments,
        pickup.pickup,
        promotions.promotions,
        refunds.refunds,
        reviews.reviews,
        services.services,
        system.db,
    )
    for group in groups:
        cli.add_command(group)
    for command in (system.demo, system.serve):
        cli.add_command(command)


_register()
