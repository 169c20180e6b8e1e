"""``shequ db …``, ``shequ demo`` and ``shequ serve``."""

from __future__ import annotations

import json
import logging
from typing import Any

import click

from shequ.application.catalog.demo import SeedDemoHandler
from shequ.application.community.demo import SeedDemoCommunityLifeHandler
from shequ.application.groupbuy.demo import DemoGroup, DemoGroupBuys, SeedDemoGroupBuysHandler
from shequ.application.ordering.demo import SeedDemoOrdersHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import SchemaMigrations
from shequ.application.services.demo import SeedDemoServicesHandler
from shequ.domain.errors import AdapterError
from shequ.domain.values import CHINA_STANDARD_TIME
from shequ.entrypoints.cli.main import get
from shequ.entrypoints.schemas import CommunityOut, SellerOut

__all__ = ["db", "demo", "serve"]


@click.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_context
def upgrade(ctx: click.Context, revision: str) -> None:
    """Create or upgrade the schema (safe to run again)."""
    migrations = get(ctx, SchemaMigrations)
    migrations.upgrade(revision)
    click.echo(f"database schema at {migrations.current()}")


@db.command("current")
@click.pass_context
def current(ctx: click.Context) -> None:
    """Print the schema revision of the database and the one this shequ needs."""
    migrations = get(ctx, SchemaMigrations)
    click.echo(f"database at {migrations.current() or 'nothing'}; shequ needs {migrations.head()}")


@db.command("grants")
@click.argument("role")
@click.option("--schema", default="public", show_default=True)
@click.pass_context
def grants(ctx: click.Context, role: str, schema: str) -> None:
    """Print the PostgreSQL grants for the application's own user ROLE.

    Run them as the owner of the tables after `shequ db upgrade`; then let the application
    connect as ROLE: it may read and write every table but only append to the audit log.
    """
    try:
        statements = get(ctx, SchemaMigrations).application_grants(role, schema)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e
    if not statements:
        click.echo("this database has no users to grant to (SQLite or memory)", err=True)
    for statement in statements:
        click.echo(f"{statement};")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.pass_context
def demo(ctx: click.Context, as_json: bool) -> None:
    """Fill the database with a demo community, two sellers, about 30 products, a coupon,
    a pickup point, a week of delivery slots, five orders of the demo resident at
    different steps (one delivered by our rider), and a group-buying campaign with one
    settled and one failed group.

    Upgrades the schema first. Running it again finds the demo and writes nothing.
    """
    get(ctx, SchemaMigrations).upgrade()
    made = get(ctx, SeedDemoHandler)(actor=CONSOLE)
    # the demo's residents are told their pickup codes through whatever notifier is set;
    # with none (the default), each arrival would warn that nobody was told
    notices = logging.getLogger("shequ.application.fulfilment.pickup")
    level = notices.level
    notices.setLevel(logging.ERROR)
    try:
        orders = get(ctx, SeedDemoOrdersHandler)(made, actor=CONSOLE) if made.created else []
    finally:
        notices.setLevel(level)
    groups = get(ctx, SeedDemoGroupBuysHandler)(made, actor=CONSOLE) if made.created else None
    services = get(ctx, SeedDemoServicesHandler)(made, actor=CONSOLE) if made.created else None
    life = get(ctx, SeedDemoCommunityLifeHandler)(made, actor=CONSOLE) if made.created else None
    people = [
        {"role": a.role.value, "phone": a.phone, "password": a.password} for a in made.accounts
    ]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "created": made.created,
                    "community": CommunityOut.of(made.community).model_dump(mode="json"),
                    "sellers": [SellerOut.of(s).model_dump(mode="json") for s in made.sellers],
                    "products": made.products,
                    "skus": made.skus,
                    "accounts": people,
                    "orders": [
                        {"id": o.id, "status": o.status.value, "total_fen": o.total.fen}
                        for o in orders
                    ],
                    "group_buys": None if groups is None else _group_buys_data(groups),
                    "community_life": None
                    if life is None
                    else {
                        "notice_id": life.notice.id,
                        "activity_id": life.activity.id,
                        "complaint_id": None if life.complaint is None else life.complaint.id,
                        "post_id": life.post.id,
                        "review_id": None if life.review is None else life.review.id,
                    },
                    "services": None
                    if services is None
                    else {
                        "merchants": [{"id": m.id, "name": m.name} for m in services.merchants],
                        "promotion_id": services.promotion.id,
                        "booking": {
                            "id": services.booking.id,
                            "status": services.booking.status.value,
                            "starts_at": services.booking.starts_at.isoformat(),
                        },
                    },
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    verb = "made" if made.created else "already there, nothing written:"
    click.echo(f"demo {verb} community {made.community.name} ({made.community.id})")
    for s in made.sellers:
        click.echo(f"  seller {s.name} ({s.kind.value}): {s.id}")
    click.echo(f"  {made.products} products with {made.skus} SKUs in 生鲜, 粮油 and 日用品")
    if orders:
        click.echo("  coupon 满50减8 (claim code WELCOME), and orders of the demo resident:")
        for o in orders:
            click.echo(f"    {o.id}  {o.status.value:<16} {o.total}")
    if groups is not None:
        _echo_group_buys(groups)
    if services is not None:
        names = " and ".join(f"{m.name} ({m.id})" for m in services.merchants)
        b = services.booking
        click.echo(f"  local services (本地服务): {names}; the resident's booking:")
        when = b.starts_at.astimezone(CHINA_STANDARD_TIME)
        click.echo(
            f"    {b.id}  {b.status.value} {when:%Y-%m-%d %H:%M} with {b.staff_id}, {b.price}"
        )
        offer = services.promotion
        click.echo(
            f"  promotion {offer.title} ({offer.id}): {offer.price}, worth {offer.value}, "
            f"{offer.quantity} for sale"
        )
    if life is not None:
        a = life.activity
        starts = a.starts_at.astimezone(CHINA_STANDARD_TIME)
        click.echo(f"  notice board (pinned): {life.notice.title}")
        click.echo(
            f"  activity {a.title} {starts:%Y-%m-%d %H:%M} ({a.id}): "
            f"{a.confirmed} of {a.capacity} places taken, by the demo resident's household"
        )
        p = life.post
        click.echo(f"  forum post {p.title} ({p.id}): {p.comments} comment(s), {p.likes} like(s)")
        if (r := life.review) is not None:
            click.echo(f"  review {r.id} of product {r.product_id}: {'★' * r.rating} {r.text}")
        if (c := life.complaint) is not None:
            click.echo(f"  complaint {c.title} ({c.id}): {c.status.value}, answered by the office")
    if made.created:
        click.echo("  accounts (the passwords are shown this once):")
    else:
        click.echo(
            "  accounts (passwords were shown when the demo was made; for a sign-in "
            "code instead, run with SHEQU_NOTIFIER=console and read the log):"
        )
    for person in people:
        secret = f"  password {person['password']}" if person["password"] else ""
        click.echo(f"    {person['role']:<9} phone {person['phone']}{secret}")
    click.echo(
        "next: shequ catalog list   ·   shequ orders list   ·   shequ refunds list   ·   "
        "shequ groupbuy campaigns list   ·   shequ delivery track <order>   ·   "
        "shequ services merchants list --community <id>   ·   shequ complaints overdue   ·   "
        "shequ serve, then POST /v1/auth/sign-in"
    )


def _group_data(ended: DemoGroup) -> dict[str, Any]:
    g = ended.group
    return {
        "id": g.id,
        "status": g.status.value,
        "heads": g.heads,
        "leader_id": g.leader_id,
        "unit_price_fen": None if g.unit_price is None else g.unit_price.fen,
        "refunded_fen": ended.refunded.fen,
        "order_ids": [p.order_id for p in g.members],
    }


def _group_buys_data(made: DemoGroupBuys) -> dict[str, Any]:
    return {
        "campaign": {"id": made.campaign.id, "name": made.campaign.name},
        "settled": _group_data(made.settled),
        "failed": _group_data(made.failed),
        "commission_fen": made.commission.fen,
        "neighbours": list(made.neighbours),
    }


def _echo_group_buys(made: DemoGroupBuys) -> None:
    c = made.campaign
    tiers = " / ".join(f"{t.min_heads}+ {t.price}" for t in c.tiers)
    click.echo(f"  group buying (社区团购): campaign {c.name} ({c.id}), {tiers}:")
    ok, failed = made.settled.group, made.failed.group
    click.echo(
        f"    group {ok.id}  settled at {ok.unit_price} with {ok.heads} people, "
        f"{made.settled.refunded} refunded (price protection), "
        f"{made.commission} commission to its leader"
    )
    click.echo(
        f"    group {failed.id}  failed with {failed.heads} of {c.min_heads} people, "
        f"{made.failed.refunded} refunded in full"
    )
    click.echo(
        f"    neighbours of the demo resident in these groups (no password): phone "
        f"{', '.join(made.neighbours)}"
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the HTTP API (needs the http extra)."""
    try:
        import uvicorn

        from shequ.entrypoints.http import create_app
    except ImportError as e:
        raise AdapterError("the HTTP API needs the http extra: pip install 'shequ[http]'") from e
    uvicorn.run(create_app(ctx.find_root().obj), host=host, port=port, log_level="info")
