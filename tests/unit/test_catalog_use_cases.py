from __future__ import annotations

import threading

import injector
import pytest

from shequ import (
    AdjustStock,
    AdjustStockHandler,
    BrowseProducts,
    BrowseProductsHandler,
    ChangeSkuPrice,
    ChangeSkuPriceHandler,
    CountStock,
    CountStockHandler,
    CreateProduct,
    CreateProductHandler,
    DomainEvent,
    EditProduct,
    EditProductHandler,
    EventDispatcher,
    GetProductHandler,
    Money,
    ProductFilter,
    ProductId,
    SeedDemoHandler,
    SellerId,
    SetSkuListing,
    SetSkuListingHandler,
    SetSkuOnSale,
    SetSkuOnSaleHandler,
    SkuAdded,
    SkuId,
    StockReason,
    UnitOfWork,
)
from shequ.application.policy import CONSOLE
from shequ.domain.ids import CommunityId
from shequ.errors import (
    CommunityNotFound,
    InsufficientStock,
    ProductNotFound,
    SellerNotFound,
    SkuNotFound,
)
from tests.support import Catalog


def published(app: injector.Injector) -> list[DomainEvent]:
    seen: list[DomainEvent] = []
    app.get(EventDispatcher).subscribe(DomainEvent, seen.append)
    return seen


def test_adding_a_sku_publishes_its_event_after_commit_and_keeps_it_in_the_outbox(
    app: injector.Injector, catalog: Catalog
) -> None:
    seen = published(app)
    product = catalog.product(catalog.seller())
    sku = catalog.sku(product, stock=12)
    assert [e.event_type for e in seen] == ["ProductCreated", "SkuAdded"]
    assert isinstance(seen[-1], SkuAdded) and seen[-1].sku_id == sku.id
    with app.get(UnitOfWork) as uow:
        assert [m.name for m in uow.outbox.pending()] == ["ProductCreated", "SkuAdded"]
        assert uow.outbox.pending()[-1].payload["price"] == 2990


def test_a_product_needs_an_existing_seller(app: injector.Injector) -> None:
    with pytest.raises(SellerNotFound):
        app.get(CreateProductHandler)(
            CreateProduct(seller_id=SellerId("nobody"), name="x", category="y"), actor=CONSOLE
        )
    with app.get(UnitOfWork) as uow:
        assert uow.outbox.pending() == []


def test_a_sku_needs_an_existing_product_and_communities(catalog: Catalog) -> None:
    product = catalog.product(catalog.seller())
    with pytest.raises(ProductNotFound):
        catalog.sku(
            product.__class__.create(
                id=ProductId("ghost"),
                seller_id=product.seller_id,
                name="x",
                category="y",
                now=catalog.clock.now(),
            )
        )
    with pytest.raises(CommunityNotFound):
        catalog.app.get(SetSkuListingHandler)(
            SetSkuListing(sku_id=catalog.sku(product).id, community_id=CommunityId("nowhere")),
            actor=CONSOLE,
        )


def test_editing_a_product_shows_in_its_detail(app: injector.Injector, catalog: Catalog) -> None:
    product = catalog.product(catalog.seller())
    app.get(EditProductHandler)(
        EditProduct(product_id=product.id, origin="江西赣州"), actor=CONSOLE
    )
    detail = app.get(GetProductHandler)(product.id, actor=CONSOLE)
    assert (detail.product.origin, detail.product.version, detail.skus) == ("江西赣州", 2, ())


def test_sku_changes_round_trip(app: injector.Injector, catalog: Catalog) -> None:
    community = catalog.community()
    sku = catalog.sku(catalog.product(catalog.seller()), on_sale=False)
    app.get(ChangeSkuPriceHandler)(ChangeSkuPrice(sku.id, Money(2500), Money(2990)), actor=CONSOLE)
    app.get(SetSkuOnSaleHandler)(SetSkuOnSale(sku.id, on_sale=True), actor=CONSOLE)
    app.get(SetSkuListingHandler)(SetSkuListing(sku.id, community.id), actor=CONSOLE)
    app.get(AdjustStockHandler)(AdjustStock(sku.id, 5, StockReason.RESTOCK), actor=CONSOLE)
    after = app.get(CountStockHandler)(CountStock(sku.id, 12), actor=CONSOLE)
    assert (after.price, after.list_price, after.on_sale, after.stock, after.version) == (
        Money(2500),
        Money(2990),
        True,
        12,
        6,
    )
    assert after.community_ids == {community.id}


def test_unknown_skus_are_not_found(app: injector.Injector) -> None:
    with pytest.raises(SkuNotFound) as caught:
        app.get(AdjustStockHandler)(
            AdjustStock(SkuId("nope"), 1, StockReason.RESTOCK), actor=CONSOLE
        )
    assert caught.value.code == "sku-not-found"


def test_a_refused_stock_change_writes_nothing(app: injector.Injector, catalog: Catalog) -> None:
    sku = catalog.sku(catalog.product(catalog.seller()), stock=2)
    with pytest.raises(InsufficientStock):
        app.get(AdjustStockHandler)(AdjustStock(sku.id, -3, StockReason.DAMAGE), actor=CONSOLE)
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == 2
        assert not any(m.name == "StockAdjusted" for m in uow.outbox.pending())


def test_concurrent_stock_changes_are_all_kept(app: injector.Injector, catalog: Catalog) -> None:
    sku = catalog.sku(catalog.product(catalog.seller()), stock=0)
    adjust = [app.get(AdjustStockHandler) for _ in range(20)]
    threads = [
        threading.Thread(
            target=a,
            args=(AdjustStock(sku.id, 1, StockReason.RESTOCK),),
            kwargs={"actor": CONSOLE},
        )
        for a in adjust
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == 20
        assert sum(m.name == "StockAdjusted" for m in uow.outbox.pending()) == 20


def test_a_stale_copy_cannot_overwrite_a_newer_one(
    app: injector.Injector, catalog: Catalog
) -> None:
    from shequ.errors import ConcurrentUpdate

    sku = catalog.sku(catalog.product(catalog.seller()), stock=5)
    with app.get(UnitOfWork) as first, app.get(UnitOfWork) as second:
        mine, theirs = first.skus.get(sku.id), second.skus.get(sku.id)
        theirs.adjust_stock(1, StockReason.RESTOCK, now=catalog.clock.now())
        second.commit()
        mine.adjust_stock(-5, StockReason.DAMAGE, now=catalog.clock.now())
        with pytest.raises(ConcurrentUpdate):
            first.commit()
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == 6


def test_leaving_without_commit_writes_nothing(app: injector.Injector, catalog: Catalog) -> None:
    sku = catalog.sku(catalog.product(catalog.seller()), stock=5)
    with app.get(UnitOfWork) as uow:
        uow.skus.get(sku.id).adjust_stock(3, StockReason.RESTOCK, now=catalog.clock.now())
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == 5


def test_the_demo_is_seeded_once(app: injector.Injector) -> None:
    first, second = app.get(SeedDemoHandler)(actor=CONSOLE), app.get(SeedDemoHandler)(actor=CONSOLE)
    assert (first.created, second.created) == (True, False)
    assert first.products >= 30 and first.community.id == second.community.id
    page = app.get(BrowseProductsHandler)(
        BrowseProducts(filter=ProductFilter(community_id=first.community.id), limit=100),
        actor=CONSOLE,
    )
    assert len(page.items) == first.products
    assert sum(len(d.skus) for d in page.items) == first.skus
    names = {d.product.name for d in page.items}
    assert {"五常大米", "赣南脐橙", "洗衣液"} <= names
