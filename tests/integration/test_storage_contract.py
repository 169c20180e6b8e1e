"""One contract for every storage backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ import (
    BrowseProducts,
    BrowseProductsHandler,
    Community,
    CommunityId,
    CreateProduct,
    CreateProductHandler,
    FreshFacts,
    Media,
    MediaKind,
    Money,
    ProductFilter,
    ProductSort,
    StockReason,
    StorageMethod,
    UnitOfWork,
)
from shequ.application.catalog.search import ProductQuery
from shequ.application.policy import CONSOLE
from shequ.errors import ConcurrentUpdate, Duplicate, ProductNotFound
from tests.support import Catalog


def test_every_field_survives_the_round_trip(app: injector.Injector, catalog: Catalog) -> None:
    community = catalog.community()
    seller = catalog.seller("老王", community)
    harvested = dt.datetime(2026, 11, 20, 6, 30, 15, 123456, tzinfo=dt.UTC)
    media = (Media("https://img/2.jpg", MediaKind.VIDEO, "视频"), Media("https://img/1.jpg"))
    product = app.get(CreateProductHandler)(
        CreateProduct(
            seller_id=seller.id,
            name="舟山带鱼",
            category="生鲜/水产",
            brand="海鲜汇",
            origin="浙江舟山",
            description="当季\n冷冻",
            media=media,
            fresh=FreshFacts(StorageMethod.FROZEN, 180, harvested),
        ),
        actor=CONSOLE,
    )
    plain = app.get(CreateProductHandler)(
        CreateProduct(seller_id=seller.id, name="卷纸", category="日用品"), actor=CONSOLE
    )
    sku = catalog.sku(product, price="59.00", stock=7, communities=(community,))
    with app.get(UnitOfWork) as uow:
        loaded = uow.products.get(product.id)
        assert (loaded.name, loaded.category, loaded.brand, loaded.origin, loaded.description) == (
            "舟山带鱼",
            "生鲜/水产",
            "海鲜汇",
            "浙江舟山",
            "当季\n冷冻",
        )
        assert loaded.media == media
        assert loaded.fresh == FreshFacts(StorageMethod.FROZEN, 180, harvested)
        assert loaded.created_at == product.created_at and loaded.created_at.tzinfo is not None
        assert loaded.events == [] and loaded.version == 1
        assert uow.products.get(plain.id).fresh is None
        got = uow.skus.get(sku.id)
        assert (got.price, got.list_price, got.stock, got.on_sale, got.spec) == (
            Money(5900),
            None,
            7,
            True,
            "5斤/箱",
        )
        assert got.community_ids == {community.id}
        assert uow.sellers.get(seller.id).community_id == community.id
        assert uow.communities.get(community.id).city == "杭州"
        assert [s.id for s in uow.sellers.list(community.id)] == [seller.id]
        assert uow.skus.for_products([product.id, plain.id]) == {product.id: [got], plain.id: []}


def test_missing_things_are_not_found(app: injector.Injector) -> None:
    from shequ import ProductId

    with app.get(UnitOfWork) as uow:
        assert uow.products.find(ProductId("nope")) is None
        with pytest.raises(ProductNotFound):
            uow.products.get(ProductId("nope"))


def test_leaving_without_commit_writes_nothing(app: injector.Injector, catalog: Catalog) -> None:
    seller = catalog.seller()
    sku = catalog.sku(catalog.product(seller), stock=5)
    with app.get(UnitOfWork) as uow:
        uow.skus.get(sku.id).adjust_stock(3, StockReason.RESTOCK, now=catalog.clock.now())
        uow.communities.add(
            Community(id=CommunityId("c-rolled-back"), name="x", created_at=catalog.clock.now())
        )
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == 5
        assert uow.communities.find(CommunityId("c-rolled-back")) is None
        assert [m.name for m in uow.outbox.pending()][-1] == "SkuAdded"


def test_events_are_written_with_the_change_and_can_be_marked_relayed(
    app: injector.Injector, catalog: Catalog
) -> None:
    sku = catalog.sku(catalog.product(catalog.seller()), stock=5)
    with app.get(UnitOfWork) as uow:
        uow.skus.get(sku.id).adjust_stock(
            -2, StockReason.DAMAGE, now=catalog.clock.now(), note="压坏"
        )
        uow.commit()
    with app.get(UnitOfWork) as uow:
        pending = uow.outbox.pending()
        assert [m.name for m in pending] == ["ProductCreated", "SkuAdded", "StockAdjusted"]
        assert pending[-1].payload == {
            "occurred_at": catalog.clock.now().isoformat(),
            "sku_id": sku.id,
            "delta": -2,
            "stock": 3,
            "reason": "damage",
            "note": "压坏",
        }
        assert pending[0].id < pending[1].id < pending[2].id
        uow.outbox.mark_published([pending[0].id, pending[1].id])
        uow.commit()
    with app.get(UnitOfWork) as uow:
        assert [m.name for m in uow.outbox.pending()] == ["StockAdjusted"]


@pytest.mark.parametrize("backend", ["memory", "postgres"], indirect=True)
def test_a_stale_copy_loses_to_a_newer_commit(app: injector.Injector, catalog: Catalog) -> None:
    """SQLite is left out: its transactions take the write lock when they begin, so a second
    one waits for the first and never holds a stale copy (test_concurrency covers it)."""
    sku = catalog.sku(catalog.product(catalog.seller()), stock=5)
    now = catalog.clock.now()
    with app.get(UnitOfWork) as first, app.get(UnitOfWork) as second:
        mine, theirs = first.skus.get(sku.id), second.skus.get(sku.id)
        theirs.adjust_stock(1, StockReason.RESTOCK, now=now)
        second.commit()
        mine.adjust_stock(-5, StockReason.DAMAGE, now=now)
        with pytest.raises(ConcurrentUpdate):
            first.commit()
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == 6
        assert [m.name for m in uow.outbox.pending()].count("StockAdjusted") == 1


def test_the_same_id_twice_is_a_duplicate(app: injector.Injector, catalog: Catalog) -> None:
    seller = catalog.seller()
    product = catalog.product(seller)
    with pytest.raises(Duplicate):
        app.get(CreateProductHandler)(
            CreateProduct(seller_id=seller.id, name="x", category="y", product_id=product.id),
            actor=CONSOLE,
        )


def test_the_same_spec_twice_in_one_product_is_a_duplicate(
    app: injector.Injector, catalog: Catalog
) -> None:
    product = catalog.product(catalog.seller())
    catalog.sku(product, spec="1kg")
    with pytest.raises(Duplicate):
        catalog.sku(product, spec="1kg")


# ------------------------------------------------------------------ search


@pytest.fixture
def shelf(catalog: Catalog) -> dict[str, object]:
    """Six products in two communities, with prices, stock and sale states to filter on."""
    east, west = catalog.community("东苑"), catalog.community("西苑")
    grocer, platform = catalog.seller("老王", east), catalog.seller("优选")
    made = {}
    for name, category, seller, skus in [
        (
            "苹果",
            "生鲜/水果",
            grocer,
            [("1斤", "5.00", 10, True, (east,)), ("5斤", "22.00", 0, True, (east, west))],
        ),
        ("香蕉", "生鲜/水果", grocer, [("1把", "9.90", 3, False, (east,))]),
        ("白菜", "生鲜/蔬菜", grocer, [("1颗", "3.50", 8, True, (west,))]),
        (
            "大米",
            "粮油/米面",
            platform,
            [("5kg", "69.90", 5, True, (east, west)), ("10kg", "129.00", 2, True, (east,))],
        ),
        ("水果刀", "生鲜水果工具", platform, [("1把", "19.90", 1, True, (east,))]),
        ("纸巾", "日用品/纸品", platform, []),
    ]:
        product = catalog.product(seller, name, category)
        for spec, price, stock, on_sale, communities in skus:
            catalog.sku(product, spec, price, stock, on_sale=on_sale, communities=communities)
        made[name] = product
    return {"east": east, "west": west, "grocer": grocer, "platform": platform, **made}


def names(
    app: injector.Injector,
    f: ProductFilter | None = None,
    sort: ProductSort = ProductSort.NEWEST,
) -> list[str]:
    page = app.get(BrowseProductsHandler)(
        BrowseProducts(filter=f or ProductFilter(), sort=sort, limit=100), actor=CONSOLE
    )
    return [d.product.name for d in page.items]


def test_products_without_a_matching_sku_are_not_listed(
    app: injector.Injector, shelf: dict[str, object]
) -> None:
    assert names(app) == ["水果刀", "大米", "白菜", "香蕉", "苹果"]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda s: ProductFilter(community_id=s["west"].id), ["大米", "白菜", "苹果"]),
        (lambda s: ProductFilter(category="生鲜"), ["白菜", "香蕉", "苹果"]),
        (lambda s: ProductFilter(category="生鲜/水果"), ["香蕉", "苹果"]),
        (lambda s: ProductFilter(seller_id=s["platform"].id), ["水果刀", "大米"]),
        (
            lambda s: ProductFilter(min_price=Money(900), max_price=Money(2200)),
            ["水果刀", "香蕉", "苹果"],
        ),
        (lambda s: ProductFilter(in_stock=True), ["水果刀", "大米", "白菜", "香蕉", "苹果"]),
        (lambda s: ProductFilter(on_sale=False), ["香蕉"]),
        # every SKU criterion must hold for one and the same SKU:
        # 苹果's west SKU has no stock, its stocked SKU is only in the east
        (lambda s: ProductFilter(community_id=s["west"].id, in_stock=True), ["大米", "白菜"]),
        (lambda s: ProductFilter(community_id=s["west"].id, max_price=Money(2000)), ["白菜"]),
    ],
)
def test_filters(
    app: injector.Injector, shelf: dict[str, object], build: object, expected: list[str]
) -> None:
    assert names(app, build(shelf)) == expected  # type: ignore[operator]


def test_sorting_by_price_uses_the_cheapest_matching_sku(
    app: injector.Injector, shelf: dict[str, object]
) -> None:
    assert names(app, sort=ProductSort.PRICE) == ["白菜", "苹果", "香蕉", "水果刀", "大米"]
    assert names(app, sort=ProductSort.PRICE_DESC) == ["大米", "水果刀", "香蕉", "苹果", "白菜"]
    assert names(app, ProductFilter(min_price=Money(1000)), ProductSort.PRICE) == [
        "水果刀",
        "苹果",
        "大米",
    ]


def test_the_matching_skus_come_with_each_product(
    app: injector.Injector, shelf: dict[str, object]
) -> None:
    page = app.get(BrowseProductsHandler)(
        BrowseProducts(filter=ProductFilter(in_stock=True), sort=ProductSort.PRICE, limit=100),
        actor=CONSOLE,
    )
    assert [[s.spec for s in d.skus] for d in page.items] == [
        ["1颗"],
        ["1斤"],
        ["1把"],
        ["1把"],
        ["5kg", "10kg"],
    ]


def test_like_wildcards_in_a_category_are_taken_literally(
    app: injector.Injector, catalog: Catalog
) -> None:
    seller = catalog.seller()
    catalog.sku(catalog.product(seller, "甲", "50%_off/x"))
    catalog.sku(catalog.product(seller, "乙", "50ab_off/x"))
    assert names(app, ProductFilter(category="50%_off")) == ["甲"]


@pytest.mark.parametrize("sort", list(ProductSort))
@pytest.mark.parametrize("size", [1, 2, 3])
def test_pages_cover_every_match_once_in_order(
    app: injector.Injector, catalog: Catalog, sort: ProductSort, size: int
) -> None:
    seller = catalog.seller()
    for i in range(7):  # equal prices and equal times force the id tie-breaker
        product = catalog.product(seller, f"商品{i}", later=dt.timedelta(seconds=1 if i % 3 else 0))
        catalog.sku(product, price=["5.00", "3.00", "5.00", "9.00"][i % 4])
    everything = names(app, sort=sort)
    browse = app.get(BrowseProductsHandler)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = browse(BrowseProducts(sort=sort, cursor=cursor, limit=size), actor=CONSOLE)
        seen += [d.product.name for d in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == everything and len(set(seen)) == 7


def test_an_id_no_database_can_hold_is_simply_not_there(
    app: injector.Injector, backend: str
) -> None:
    from shequ import ProductId
    from shequ.errors import InvalidInput

    with app.get(UnitOfWork) as uow:
        if backend == "postgres":  # PostgreSQL refuses NUL in text outright
            with pytest.raises(InvalidInput):
                uow.products.find(ProductId("a\x00b"))
        else:
            assert uow.products.find(ProductId("a\x00b")) is None


def test_flushed_changes_commit_together_or_not_at_all(
    app: injector.Injector, catalog: Catalog
) -> None:
    sku = catalog.sku(catalog.product(catalog.seller()), stock=5)
    now = catalog.clock.now()
    with app.get(UnitOfWork) as uow:
        uow.skus.get(sku.id).adjust_stock(1, StockReason.RESTOCK, now=now)
        uow.flush()
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == 5
        assert "StockAdjusted" not in [m.name for m in uow.outbox.pending()]
        changed = uow.skus.get(sku.id)
        changed.adjust_stock(1, StockReason.RESTOCK, now=now)
        uow.flush()
        changed.adjust_stock(2, StockReason.RESTOCK, now=now)
        uow.commit()
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == 8
        assert [m.payload["delta"] for m in uow.outbox.pending() if m.name == "StockAdjusted"] == [
            1,
            2,
        ]


def test_rollback_then_commit_writes_nothing(app: injector.Injector, catalog: Catalog) -> None:
    sku = catalog.sku(catalog.product(catalog.seller()), stock=5)
    with app.get(UnitOfWork) as uow:
        uow.skus.get(sku.id).adjust_stock(3, StockReason.RESTOCK, now=catalog.clock.now())
        uow.communities.add(
            Community(id=CommunityId("c-rb"), name="x", created_at=catalog.clock.now())
        )
        uow.rollback()
        assert uow.communities.find(CommunityId("c-rb")) is None
        uow.commit()
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == 5
        assert uow.communities.find(CommunityId("c-rb")) is None
        assert "StockAdjusted" not in [m.name for m in uow.outbox.pending()]


@pytest.mark.parametrize("backend", ["memory", "postgres"], indirect=True)
def test_two_units_adding_the_same_spec_cannot_both_win(
    app: injector.Injector, catalog: Catalog
) -> None:
    """SQLite is left out: its second writer waits for the first instead of racing."""
    from shequ import Sku, SkuId

    product = catalog.product(catalog.seller())
    now = catalog.clock.now()
    with app.get(UnitOfWork) as first, app.get(UnitOfWork) as second:
        first.skus.add(
            Sku.create(id=SkuId("k1"), product_id=product.id, spec="1kg", price=Money(100), now=now)
        )
        second.skus.add(
            Sku.create(id=SkuId("k2"), product_id=product.id, spec="1kg", price=Money(100), now=now)
        )
        first.commit()
        with pytest.raises(Duplicate):
            second.commit()
    with app.get(UnitOfWork) as uow:
        assert [s.spec for s in uow.skus.for_products([product.id])[product.id]] == ["1kg"]


def test_category_filters_are_case_sensitive_everywhere(
    app: injector.Injector, catalog: Catalog
) -> None:
    seller = catalog.seller()
    catalog.sku(catalog.product(seller, "Apple", "Fruit/Red"))
    assert names(app, ProductFilter(category="fruit")) == []
    assert names(app, ProductFilter(category="Fruit")) == ["Apple"]


def test_search_reads_what_was_committed(app: injector.Injector, catalog: Catalog) -> None:
    sku = catalog.sku(catalog.product(catalog.seller(), "梨"), on_sale=True)
    with app.get(UnitOfWork) as uow:
        uow.skus.get(sku.id).take_off_sale(now=catalog.clock.now())
        hits = uow.products.search(ProductQuery(filter=ProductFilter(on_sale=True)))
        assert [h.product.name for h in hits] == ["梨"]


def test_a_failure_after_a_flush_loses_the_flushed_changes_too(
    app: injector.Injector, catalog: Catalog
) -> None:
    existing = catalog.community()
    now = catalog.clock.now()
    with app.get(UnitOfWork) as uow:
        uow.communities.add(Community(id=CommunityId("c-new"), name="新", created_at=now))
        uow.flush()
        uow.communities.add(Community(id=existing.id, name="重复", created_at=now))
        with pytest.raises(Duplicate):
            uow.commit()
    with app.get(UnitOfWork) as uow:
        assert uow.communities.find(CommunityId("c-new")) is None
        assert uow.communities.get(existing.id).name == "阳光花园"
