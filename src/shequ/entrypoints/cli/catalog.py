"""``shequ catalog …``: products, SKUs, stock, listing and bulk import."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click

from shequ.application.catalog.browse import BrowseProducts, BrowseProductsHandler
from shequ.application.catalog.importing import (
    ImportCatalog,
    ImportCatalogHandler,
    ImportRow,
)
from shequ.application.catalog.products import (
    CreateProduct,
    CreateProductHandler,
    EditProduct,
    EditProductHandler,
    GetProductHandler,
)
from shequ.application.catalog.search import ProductFilter, ProductSort
from shequ.application.catalog.skus import (
    AddSku,
    AddSkuHandler,
    AdjustStock,
    AdjustStockHandler,
    ChangeSkuPrice,
    ChangeSkuPriceHandler,
    CountStock,
    CountStockHandler,
    SetSkuListing,
    SetSkuListingHandler,
    SetSkuOnSale,
    SetSkuOnSaleHandler,
)
from shequ.application.policy import CONSOLE
from shequ.domain.catalog import (
    KEEP,
    FreshFacts,
    Keep,
    Media,
    MediaKind,
    Product,
    Sku,
    StockReason,
    StorageMethod,
    read_time,
)
from shequ.domain.errors import InvalidImport, InvalidInput
from shequ.domain.ids import CommunityId, ProductId, SellerId, SkuId
from shequ.domain.money import Money
from shequ.entrypoints.cli.main import emit_json, get, json_option, progress, table
from shequ.entrypoints.schemas import ProductOut, ProductPageOut, SkuOut

__all__ = ["catalog"]


@click.group()
def catalog() -> None:
    """Products, SKUs, stock and bulk import."""


def _money(text: str | None) -> Money | None:
    return None if text is None else Money.parse(text)


def _fresh(storage: str | None, days: int | None, harvested: str | None) -> FreshFacts | None:
    if storage is None and days is None and harvested is None:
        return None
    return FreshFacts(
        storage=StorageMethod.parse(storage) if storage else StorageMethod.AMBIENT,
        shelf_life_days=days,
        harvested_at=read_time(harvested, "harvested_at") if harvested else None,
    )


def _media(images: tuple[str, ...], videos: tuple[str, ...], alt: str) -> tuple[Media, ...]:
    return tuple(Media(uri=u, kind=MediaKind.IMAGE, alt_text=alt) for u in images) + tuple(
        Media(uri=u, kind=MediaKind.VIDEO, alt_text=alt) for u in videos
    )


def _show_product(product: Product, skus: tuple[Sku, ...], as_json: bool) -> None:
    if as_json:
        emit_json(ProductOut.of(product, skus))
        return
    click.echo(f"{product.name}  [{product.category}]  id {product.id}")
    facts = [
        f"brand {product.brand}" if product.brand else "",
        f"origin {product.origin}" if product.origin else "",
        f"seller {product.seller_id}",
    ]
    if product.fresh is not None:
        facts.append(product.fresh.storage.label)
        if product.fresh.shelf_life_days:
            facts.append(f"shelf life {product.fresh.shelf_life_days} days")
    click.echo("  " + ", ".join(f for f in facts if f))
    if product.description:
        click.echo(f"  {product.description}")
    if skus:
        table(
            ["SKU", "SPEC", "PRICE", "LIST", "STOCK", "ON SALE"],
            [
                [
                    s.id,
                    s.spec,
                    s.price.format(),
                    _display(s.list_price),
                    str(s.stock),
                    "yes" if s.on_sale else "no",
                ]
                for s in skus
            ],
        )
    else:
        click.echo("  no SKUs yet: add one with `shequ catalog add-sku`")


def _display(amount: Money | None) -> str:
    return "" if amount is None else amount.format()


def _show_sku(sku: Sku, as_json: bool, message: str) -> None:
    if as_json:
        emit_json(SkuOut.of(sku))
    else:
        click.echo(
            f"{message}: SKU {sku.id} {sku.spec} {sku.price.format()}, stock {sku.stock}, "
            f"{'on sale' if sku.on_sale else 'off sale'}"
        )


product_options = [
    click.option("--brand"),
    click.option("--origin", help="产地, where it comes from."),
    click.option("--description"),
    click.option("--storage", help="ambient|chilled|frozen (常温|冷藏|冷冻)."),
    click.option("--shelf-life-days", type=int),
    click.option("--harvested-at", help="Harvested or caught at, ISO 8601 (UTC+8 if no zone)."),
    click.option("--image", "images", multiple=True, help="Image URI; repeat for more."),
    click.option("--video", "videos", multiple=True, help="Video URI; repeat for more."),
]


def _with_product_options(f: Any) -> Any:
    for option in reversed(product_options):
        f = option(f)
    return f


@catalog.command("add-product")
@click.option("--seller", "seller_id", required=True, help="Seller id.")
@click.option("--name", required=True)
@click.option("--category", required=True, help='A path such as "生鲜/水果".')
@_with_product_options
@json_option
@click.pass_context
def add_product(
    ctx: click.Context,
    seller_id: str,
    name: str,
    category: str,
    brand: str | None,
    origin: str | None,
    description: str | None,
    storage: str | None,
    shelf_life_days: int | None,
    harvested_at: str | None,
    images: tuple[str, ...],
    videos: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create a product (add its SKUs with add-sku)."""
    product = get(ctx, CreateProductHandler)(
        CreateProduct(
            seller_id=SellerId(seller_id),
            name=name,
            category=category,
            brand=brand or "",
            origin=origin or "",
            description=description or "",
            media=_media(images, videos, name),
            fresh=_fresh(storage, shelf_life_days, harvested_at),
        ),
        actor=CONSOLE,
    )
    _show_product(product, (), as_json)


@catalog.command("edit-product")
@click.argument("product_id")
@click.option("--name")
@click.option("--category")
@_with_product_options
@click.option("--no-fresh", is_flag=True, help="Remove the fresh-goods facts.")
@json_option
@click.pass_context
def edit_product(
    ctx: click.Context,
    product_id: str,
    name: str | None,
    category: str | None,
    brand: str | None,
    origin: str | None,
    description: str | None,
    storage: str | None,
    shelf_life_days: int | None,
    harvested_at: str | None,
    images: tuple[str, ...],
    videos: tuple[str, ...],
    no_fresh: bool,
    as_json: bool,
) -> None:
    """Change the given fields of a product; the others stay.

    --image/--video replace all media; --storage, --shelf-life-days and --harvested-at
    replace the fresh-goods facts as a group.
    """

    def keep(value: str | None) -> str | Keep:
        return KEEP if value is None else value

    fresh: FreshFacts | Keep | None = KEEP
    if no_fresh:
        fresh = None
    elif storage is not None or shelf_life_days is not None or harvested_at is not None:
        fresh = _fresh(storage, shelf_life_days, harvested_at)
    media: tuple[Media, ...] | Keep = KEEP
    if images or videos:
        alt = name or get(ctx, GetProductHandler)(ProductId(product_id), actor=CONSOLE).product.name
        media = _media(images, videos, alt)
    product = get(ctx, EditProductHandler)(
        EditProduct(
            product_id=ProductId(product_id),
            name=keep(name),
            category=keep(category),
            brand=keep(brand),
            origin=keep(origin),
            description=keep(description),
            media=media,
            fresh=fresh,
        ),
        actor=CONSOLE,
    )
    detail = get(ctx, GetProductHandler)(product.id, actor=CONSOLE)
    _show_product(detail.product, detail.skus, as_json)


@catalog.command("add-sku")
@click.argument("product_id")
@click.option("--spec", required=True, help='What one unit is, such as "5kg/袋".')
@click.option("--price", required=True, help="Price in yuan, such as 12.80.")
@click.option("--list-price", help="Crossed-out reference price in yuan.")
@click.option("--stock", type=int, default=0, show_default=True)
@click.option("--on-sale/--off-sale", default=False, show_default=True)
@click.option("--community", "communities", multiple=True, help="List it in a community id.")
@json_option
@click.pass_context
def add_sku(
    ctx: click.Context,
    product_id: str,
    spec: str,
    price: str,
    list_price: str | None,
    stock: int,
    on_sale: bool,
    communities: tuple[str, ...],
    as_json: bool,
) -> None:
    """Add a SKU (a buyable spec with its price and stock) to a product."""
    sku = get(ctx, AddSkuHandler)(
        AddSku(
            product_id=ProductId(product_id),
            spec=spec,
            price=Money.parse(price),
            list_price=_money(list_price),
            stock=stock,
            on_sale=on_sale,
            community_ids=tuple(CommunityId(c) for c in communities),
        ),
        actor=CONSOLE,
    )
    _show_sku(sku, as_json, "added")


@catalog.command("price")
@click.argument("sku_id")
@click.option("--price", required=True, help="New price in yuan.")
@click.option("--list-price", help="Crossed-out reference price in yuan (kept if not given).")
@click.option("--no-list-price", is_flag=True, help="Remove the list price.")
@json_option
@click.pass_context
def price(
    ctx: click.Context,
    sku_id: str,
    price: str,
    list_price: str | None,
    no_list_price: bool,
    as_json: bool,
) -> None:
    """Change a SKU's price."""
    if list_price is not None and no_list_price:
        raise click.UsageError("give --list-price or --no-list-price, not both")
    new_list_price: Money | Keep | None = None if no_list_price else KEEP
    if list_price is not None:
        new_list_price = Money.parse(list_price)
    sku = get(ctx, ChangeSkuPriceHandler)(
        ChangeSkuPrice(sku_id=SkuId(sku_id), price=Money.parse(price), list_price=new_list_price),
        actor=CONSOLE,
    )
    _show_sku(sku, as_json, "priced")


@catalog.command("on-sale")
@click.argument("sku_id")
@json_option
@click.pass_context
def on_sale(ctx: click.Context, sku_id: str, as_json: bool) -> None:
    """Put a SKU on sale."""
    _show_sku(
        get(ctx, SetSkuOnSaleHandler)(SetSkuOnSale(SkuId(sku_id), on_sale=True), actor=CONSOLE),
        as_json,
        "on sale",
    )


@catalog.command("off-sale")
@click.argument("sku_id")
@json_option
@click.pass_context
def off_sale(ctx: click.Context, sku_id: str, as_json: bool) -> None:
    """Take a SKU off sale."""
    _show_sku(
        get(ctx, SetSkuOnSaleHandler)(SetSkuOnSale(SkuId(sku_id), on_sale=False), actor=CONSOLE),
        as_json,
        "off sale",
    )


@catalog.command("list-in")
@click.argument("sku_id")
@click.argument("community_id")
@click.option("--remove", is_flag=True, help="Take the SKU out of the community instead.")
@json_option
@click.pass_context
def list_in(
    ctx: click.Context, sku_id: str, community_id: str, remove: bool, as_json: bool
) -> None:
    """List a SKU in a community (or, with --remove, unlist it)."""
    sku = get(ctx, SetSkuListingHandler)(
        SetSkuListing(
            sku_id=SkuId(sku_id), community_id=CommunityId(community_id), listed=not remove
        ),
        actor=CONSOLE,
    )
    _show_sku(sku, as_json, "unlisted" if remove else "listed")


@catalog.command("stock")
@click.argument("sku_id")
@click.option("--add", "add", type=int, help="Units received.")
@click.option("--remove", "remove", type=int, help="Units lost (damaged, expired…).")
@click.option("--set", "counted", type=int, help="What a stocktake counted.")
@click.option(
    "--reason",
    type=click.Choice([r.value for r in StockReason]),
    help="Why (default: restock for --add, damage for --remove).",
)
@click.option("--note", default="")
@json_option
@click.pass_context
def stock(
    ctx: click.Context,
    sku_id: str,
    add: int | None,
    remove: int | None,
    counted: int | None,
    reason: str | None,
    note: str,
    as_json: bool,
) -> None:
    """Adjust a SKU's stock by hand: exactly one of --add, --remove or --set."""
    given = [x for x in (add, remove, counted) if x is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --add, --remove or --set")
    if counted is not None and reason is not None:
        raise click.UsageError("--set records a stocktake; it takes no --reason")
    if counted is not None:
        sku = get(ctx, CountStockHandler)(
            CountStock(sku_id=SkuId(sku_id), counted=counted, note=note), actor=CONSOLE
        )
    else:
        for value, option in ((add, "--add"), (remove, "--remove")):
            if value is not None and value <= 0:
                raise InvalidInput(
                    f"{option} takes a positive number of units, not {value}", field="delta"
                )
        delta = add if add is not None else -(remove or 0)
        default = StockReason.RESTOCK if add is not None else StockReason.DAMAGE
        sku = get(ctx, AdjustStockHandler)(
            AdjustStock(
                sku_id=SkuId(sku_id),
                delta=delta,
                reason=StockReason(reason) if reason else default,
                note=note,
            ),
            actor=CONSOLE,
        )
    _show_sku(sku, as_json, "stock adjusted")


@catalog.command("list")
@click.option("--community", help="Only SKUs listed in this community id.")
@click.option("--category", help='A category and everything below it, such as "生鲜".')
@click.option("--seller", help="Only this seller's products.")
@click.option("--min-price", help="Lowest price in yuan.")
@click.option("--max-price", help="Highest price in yuan.")
@click.option("--in-stock", is_flag=True, help="Only SKUs with stock on hand.")
@click.option("--on-sale/--off-sale", "sale", default=None, help="Only SKUs on (or off) sale.")
@click.option(
    "--sort", type=click.Choice([s.value for s in ProductSort]), default="newest", show_default=True
)
@click.option(
    "--limit", type=click.IntRange(1, 100), help="One page of this many; without it, every match."
)
@click.option("--cursor", help="Where the previous page ended (printed with it).")
@json_option
@click.pass_context
def list_products(
    ctx: click.Context,
    community: str | None,
    category: str | None,
    seller: str | None,
    min_price: str | None,
    max_price: str | None,
    in_stock: bool,
    sale: bool | None,
    sort: str,
    limit: int | None,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List products with at least one SKU that meets every SKU filter."""
    query_filter = ProductFilter(
        community_id=CommunityId(community) if community else None,
        category=category,
        seller_id=SellerId(seller) if seller else None,
        min_price=_money(min_price),
        max_price=_money(max_price),
        in_stock=in_stock,
        on_sale=sale,
    )
    browse = get(ctx, BrowseProductsHandler)
    query = BrowseProducts(
        filter=query_filter, sort=ProductSort(sort), cursor=cursor, limit=limit or 100
    )
    page = browse(query, actor=CONSOLE)
    items = list(page.items)
    while limit is None and page.next_cursor is not None:
        page = browse(
            BrowseProducts(
                filter=query_filter, sort=query.sort, cursor=page.next_cursor, limit=100
            ),
            actor=CONSOLE,
        )
        items.extend(page.items)
    next_cursor = page.next_cursor if limit is not None else None
    if as_json:
        emit_json(
            ProductPageOut(items=[ProductOut.of_detail(d) for d in items], next_cursor=next_cursor)
        )
        return
    table(
        ["PRODUCT", "NAME", "CATEGORY", "FROM", "SKUS", "STOCK"],
        [
            [
                d.product.id,
                d.product.name,
                d.product.category,
                min(s.price for s in d.skus).format() if d.skus else "",
                str(len(d.skus)),
                str(sum(s.stock for s in d.skus)),
            ]
            for d in items
        ],
    )
    click.echo(f"{len(items)} product(s)", err=True)
    if next_cursor:
        click.echo(f"more: --cursor {next_cursor}", err=True)


@catalog.command("show")
@click.argument("product_id")
@json_option
@click.pass_context
def show(ctx: click.Context, product_id: str, as_json: bool) -> None:
    """Show one product with all its SKUs."""
    detail = get(ctx, GetProductHandler)(ProductId(product_id), actor=CONSOLE)
    _show_product(detail.product, detail.skus, as_json)


def _read_rows(path: Path) -> tuple[ImportRow, ...]:
    """Rows of a UTF-8 CSV file (a BOM is fine) with a header line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidImport(
            f"{path.name} is not UTF-8 text (save the CSV as UTF-8)", rows=[]
        ) from e
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\0extra")
    rows: list[ImportRow] = []
    line = 1
    try:
        header = [name.strip() for name in reader.fieldnames or ()]
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            reason = f"bad header: repeated column(s): {', '.join(repeated)}"
            raise InvalidImport(reason, rows=[(1, reason)])
        for raw in reader:
            line = reader.line_num
            extra = raw.pop("\0extra", [])
            rows.append(
                ImportRow(
                    line=line,
                    fields={k.strip(): v or "" for k, v in raw.items() if k is not None},
                    extra_values=len(extra),
                )
            )
    except csv.Error as e:
        raise InvalidImport(
            f"{path.name} is not valid CSV near line {line}: {e}", rows=[(line, str(e))]
        ) from e
    return tuple(rows)


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seller", "seller_id", required=True, help="The seller of every product.")
@click.option("--community", "communities", multiple=True, help="List every SKU here.")
@click.option(
    "--skip-bad-rows",
    is_flag=True,
    help="Load the good rows and report the bad ones (default: all or nothing).",
)
@json_option
@click.pass_context
def import_csv(
    ctx: click.Context,
    file: Path,
    seller_id: str,
    communities: tuple[str, ...],
    skip_bad_rows: bool,
    as_json: bool,
) -> None:
    """Load products and SKUs from a CSV file, one SKU a row (see docs/cli.md for columns)."""
    rows = _read_rows(file)
    advance, done = progress(2 * len(rows), "importing")
    try:
        result = get(ctx, ImportCatalogHandler)(
            ImportCatalog(
                seller_id=SellerId(seller_id),
                rows=rows,
                skip_bad_rows=skip_bad_rows,
                community_ids=tuple(CommunityId(c) for c in communities),
            ),
            progress=advance,
            actor=CONSOLE,
        )
    finally:
        done()
    if as_json:
        click.echo(
            _json(
                {
                    "products": result.products,
                    "skus": result.skus,
                    "problems": [{"line": p.line, "reason": p.reason} for p in result.problems],
                }
            )
        )
    else:
        click.echo(
            f"imported {result.products} product(s) with {result.skus} SKU(s) from {file.name}"
        )
    if result.problems:
        click.echo(f"warning[invalid-import]: skipped {len(result.problems)} bad row(s)", err=True)
        for problem in result.problems:
            click.echo(f"  line {problem.line}: {problem.reason}", err=True)


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
