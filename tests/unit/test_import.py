from __future__ import annotations

import injector
import pytest

from shequ import (
    BrowseProducts,
    BrowseProductsHandler,
    ImportCatalog,
    ImportCatalogHandler,
    ImportRow,
    Money,
    UnitOfWork,
)
from shequ.application.policy import CONSOLE
from shequ.domain.catalog import StorageMethod
from shequ.errors import InvalidImport, SellerNotFound
from tests.support import Catalog

GOOD = [
    {
        "name": "赣南脐橙",
        "category": "生鲜/水果",
        "spec": "5斤/箱",
        "price": "29.90",
        "stock": "100",
        "storage": "冷藏",
        "shelf_life_days": "20",
        "origin": "江西赣州",
    },
    {
        "name": "赣南脐橙",
        "category": "生鲜/水果",
        "spec": "10斤/箱",
        "price": "55",
        "stock": "50",
        "storage": "冷藏",
        "shelf_life_days": "20",
        "origin": "江西赣州",
    },
    {
        "name": "五常大米",
        "brand": "五常",
        "category": "粮油/米面",
        "spec": "5kg/袋",
        "price": "69.90",
        "list_price": "79.90",
        "on_sale": "否",
    },
]


def rows(*dicts: dict[str, str]) -> tuple[ImportRow, ...]:
    return tuple(ImportRow(line=i + 2, fields=d) for i, d in enumerate(dicts))


def products_in(app: injector.Injector) -> list[str]:
    page = app.get(BrowseProductsHandler)(BrowseProducts(limit=100), actor=CONSOLE)
    return sorted(f"{d.product.name}:{len(d.skus)}" for d in page.items)


def test_rows_of_the_same_product_become_one_product_with_several_skus(
    app: injector.Injector, catalog: Catalog
) -> None:
    seller = catalog.seller()
    community = catalog.community()
    report = app.get(ImportCatalogHandler)(
        ImportCatalog(seller_id=seller.id, rows=rows(*GOOD), community_ids=(community.id,)),
        actor=CONSOLE,
    )
    assert (report.products, report.skus, report.problems) == (2, 3, ())
    assert products_in(app) == ["五常大米:1", "赣南脐橙:2"]
    page = app.get(BrowseProductsHandler)(BrowseProducts(limit=100), actor=CONSOLE)
    rice = next(d for d in page.items if d.product.name == "五常大米")
    assert (rice.skus[0].price, rice.skus[0].list_price, rice.skus[0].on_sale) == (
        Money(6990),
        Money(7990),
        False,
    )
    assert rice.skus[0].community_ids == {community.id}
    orange = next(d for d in page.items if d.product.name == "赣南脐橙")
    assert orange.product.fresh is not None
    assert orange.product.fresh.storage is StorageMethod.CHILLED


BAD_ROWS = [
    ({"price": "12.345"}, "12.345"),
    ({"price": "-1"}, "negative"),
    ({"price": "abc"}, "abc"),
    ({"stock": "-3"}, "stock"),
    ({"name": ""}, "name"),
    ({"storage": "warm"}, "storage"),
    ({"on_sale": "maybe"}, "on_sale"),
    ({"list_price": "1.00"}, "list price"),
    ({"harvested_at": "yesterday"}, "harvested_at"),
]


@pytest.mark.parametrize(("change", "says"), BAD_ROWS)
def test_a_bad_row_in_the_middle_writes_nothing_and_names_its_line(
    app: injector.Injector, catalog: Catalog, change: dict[str, str], says: str
) -> None:
    seller = catalog.seller()
    bad = {**GOOD[2], **change}
    with pytest.raises(InvalidImport) as caught:
        app.get(ImportCatalogHandler)(
            ImportCatalog(seller_id=seller.id, rows=rows(GOOD[0], bad, GOOD[1])), actor=CONSOLE
        )
    [(line, reason)] = caught.value.details["rows"]
    assert line == 3 and says in reason
    assert products_in(app) == []
    with app.get(UnitOfWork) as uow:
        assert uow.outbox.pending() == []


def test_skipping_bad_rows_loads_the_rest_and_reports_them(
    app: injector.Injector, catalog: Catalog
) -> None:
    seller = catalog.seller()
    bad = {**GOOD[2], "price": "12.345"}
    report = app.get(ImportCatalogHandler)(
        ImportCatalog(seller_id=seller.id, rows=rows(GOOD[0], bad, GOOD[1]), skip_bad_rows=True),
        actor=CONSOLE,
    )
    assert (report.products, report.skus) == (1, 2)
    assert [(p.line, "12.345" in p.reason) for p in report.problems] == [(3, True)]
    assert products_in(app) == ["赣南脐橙:2"]


def test_rows_that_disagree_about_their_product_are_bad(
    app: injector.Injector, catalog: Catalog
) -> None:
    seller = catalog.seller()
    other = {**GOOD[1], "origin": "广西"}
    twin = dict(GOOD[0])
    with pytest.raises(InvalidImport) as caught:
        app.get(ImportCatalogHandler)(
            ImportCatalog(seller_id=seller.id, rows=rows(GOOD[0], other, twin)), actor=CONSOLE
        )
    assert [line for line, _ in caught.value.details["rows"]] == [3, 4]
    assert "line 2" in caught.value.details["rows"][0][1]
    assert "twice" in caught.value.details["rows"][1][1]


def test_a_bad_header_is_refused_whole(app: injector.Injector, catalog: Catalog) -> None:
    seller = catalog.seller()
    with pytest.raises(InvalidImport, match=r"missing column.*price.*unknown column.*colour"):
        app.get(ImportCatalogHandler)(
            ImportCatalog(
                seller_id=seller.id,
                rows=rows({"name": "x", "category": "y", "spec": "z", "colour": "red"}),
            ),
            actor=CONSOLE,
        )


def test_an_empty_file_and_an_unknown_seller_are_refused(
    app: injector.Injector, catalog: Catalog
) -> None:
    from shequ import SellerId

    with pytest.raises(InvalidImport, match="no rows"):
        app.get(ImportCatalogHandler)(
            ImportCatalog(seller_id=catalog.seller().id, rows=()), actor=CONSOLE
        )
    with pytest.raises(SellerNotFound):
        app.get(ImportCatalogHandler)(
            ImportCatalog(seller_id=SellerId("s"), rows=rows(GOOD[0])), actor=CONSOLE
        )


def test_a_row_with_too_many_values_is_bad(app: injector.Injector, catalog: Catalog) -> None:
    seller = catalog.seller()
    with pytest.raises(InvalidImport) as caught:
        app.get(ImportCatalogHandler)(
            ImportCatalog(
                seller_id=seller.id, rows=(ImportRow(line=2, fields=GOOD[0], extra_values=1),)
            ),
            actor=CONSOLE,
        )
    assert "1 value(s) more" in caught.value.details["rows"][0][1]


def test_progress_is_reported_for_every_row_written(
    app: injector.Injector, catalog: Catalog
) -> None:
    ticks: list[int] = []
    app.get(ImportCatalogHandler)(
        ImportCatalog(seller_id=catalog.seller().id, rows=rows(*GOOD)),
        progress=ticks.append,
        actor=CONSOLE,
    )
    assert sum(ticks) == 2 * len(GOOD)


def test_progress_counts_skipped_rows_too(app: injector.Injector, catalog: Catalog) -> None:
    ticks: list[int] = []
    bad = {**GOOD[2], "price": "x"}
    app.get(ImportCatalogHandler)(
        ImportCatalog(
            seller_id=catalog.seller().id, rows=rows(GOOD[0], bad, GOOD[1]), skip_bad_rows=True
        ),
        progress=ticks.append,
        actor=CONSOLE,
    )
    assert sum(ticks) == 2 * 3
