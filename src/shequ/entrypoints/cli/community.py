"""``shequ community …`` and ``shequ seller …``."""

from __future__ import annotations

import click

from shequ.application.catalog.communities import (
    CreateCommunity,
    CreateCommunityHandler,
    CreateSeller,
    CreateSellerHandler,
    EditCommunity,
    EditCommunityHandler,
    ListCommunitiesHandler,
    ListSellersHandler,
)
from shequ.application.policy import CONSOLE
from shequ.domain.catalog import SellerKind
from shequ.domain.ids import CommunityId
from shequ.domain.routing import GeoPoint
from shequ.entrypoints.cli.main import GEO_POINT, emit_json, get, json_option, table
from shequ.entrypoints.schemas import CommunityOut, SellerOut

__all__ = ["community", "seller"]


@click.group()
def community() -> None:
    """Communities (小区)."""


_LOCATION_HELP = "Its gate, where home deliveries are driven to (WGS-84 degrees)."


@community.command("add")
@click.argument("name")
@click.option("--city", default="")
@click.option("--district", default="")
@click.option("--location", type=GEO_POINT, help=_LOCATION_HELP)
@json_option
@click.pass_context
def add_community(
    ctx: click.Context,
    name: str,
    city: str,
    district: str,
    location: GeoPoint | None,
    as_json: bool,
) -> None:
    """Create a community."""
    created = get(ctx, CreateCommunityHandler)(
        CreateCommunity(name=name, city=city, district=district, location=location),
        actor=CONSOLE,
    )
    if as_json:
        emit_json(CommunityOut.of(created))
    else:
        click.echo(f"created community {created.name}: {created.id}")


@community.command("edit")
@click.argument("community_id")
@click.option("--name")
@click.option("--city")
@click.option("--district")
@click.option("--location", type=GEO_POINT, help=_LOCATION_HELP)
@json_option
@click.pass_context
def edit_community(
    ctx: click.Context,
    community_id: str,
    name: str | None,
    city: str | None,
    district: str | None,
    location: GeoPoint | None,
    as_json: bool,
) -> None:
    """Change a community: what is given changes."""
    edited = get(ctx, EditCommunityHandler)(
        EditCommunity(
            CommunityId(community_id), name=name, city=city, district=district, location=location
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_json(CommunityOut.of(edited))
    else:
        where = edited.location
        at = "" if where is None else f" at {where.latitude},{where.longitude}"
        click.echo(f"community {edited.name} ({edited.id}){at}")


@community.command("list")
@json_option
@click.pass_context
def list_communities(ctx: click.Context, as_json: bool) -> None:
    """List communities by name."""
    found = get(ctx, ListCommunitiesHandler)(actor=CONSOLE)
    if as_json:
        emit_json([CommunityOut.of(c) for c in found], CommunityOut)
    else:
        table(
            ["COMMUNITY", "NAME", "CITY", "DISTRICT"],
            [[c.id, c.name, c.city, c.district] for c in found],
        )


@click.group()
def seller() -> None:
    """Sellers: the platform itself or local merchants."""


@seller.command("add")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in SellerKind]),
    default="merchant",
    show_default=True,
)
@click.option("--community", "community_id", help="The community a local merchant serves.")
@json_option
@click.pass_context
def add_seller(
    ctx: click.Context, name: str, kind: str, community_id: str | None, as_json: bool
) -> None:
    """Create a seller."""
    created = get(ctx, CreateSellerHandler)(
        CreateSeller(
            name=name,
            kind=SellerKind(kind),
            community_id=CommunityId(community_id) if community_id else None,
        ),
        actor=CONSOLE,
    )
    if as_json:
        emit_json(SellerOut.of(created))
    else:
        click.echo(f"created seller {created.name}: {created.id}")


@seller.command("list")
@click.option("--community", "community_id", help="Sellers serving this community.")
@json_option
@click.pass_context
def list_sellers(ctx: click.Context, community_id: str | None, as_json: bool) -> None:
    """List sellers by name."""
    found = get(ctx, ListSellersHandler)(
        CommunityId(community_id) if community_id else None, actor=CONSOLE
    )
    if as_json:
        emit_json([SellerOut.of(s) for s in found], SellerOut)
    else:
        table(
            ["SELLER", "NAME", "KIND", "COMMUNITY"],
            [[s.id, s.name, s.kind.value, s.community_id or ""] for s in found],
        )
