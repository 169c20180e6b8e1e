"""Large imports flush in chunks; they still commit whole or not at all, on every backend."""

from __future__ import annotations

import injector
import pytest

from shequ import ImportCatalog, ImportCatalogHandler, ImportRow, UnitOfWork
from shequ.application.catalog.search import ProductQuery
from shequ.application.policy import CONSOLE
from shequ.errors import InvalidImport
from tests.support import Catalog


def rows(count: int, bad_at: int | None = None) -> tuple[ImportRow, ...]:
    made = []
    for i in range(count):
        price = "12.345" if i == bad_at else f"{1 + i % 50}.90"
        made.append(
            ImportRow(
                line=i + 2,
                fields={
                    "name": f"商品{i // 2}",
                    "category": "日用品",
                    "spec": f"规格{i % 2}",
                    "price": price,
                    "stock": "3",
                },
            )
        )
    return tuple(made)


def counts(app: injector.Injector) -> tuple[int, int]:
    with app.get(UnitOfWork) as uow:
        products = uow.products.search(ProductQuery(limit=10**6))
        skus = uow.skus.for_products(h.product.id for h in products)
    return len(products), sum(len(v) for v in skus.values())


def test_a_large_import_writes_every_row_and_event(
    app: injector.Injector, catalog: Catalog
) -> None:
    seller = catalog.seller()
    report = app.get(ImportCatalogHandler)(
        ImportCatalog(seller_id=seller.id, rows=rows(1201)), actor=CONSOLE
    )
    assert (report.products, report.skus) == (601, 1201)
    assert counts(app) == (601, 1201)
    with app.get(UnitOfWork) as uow:
        names = [m.name for m in uow.outbox.pending(10**6)]
    assert (names.count("ProductCreated"), names.count("SkuAdded")) == (601, 1201)


def test_a_bad_row_late_in_a_large_file_writes_nothing(
    app: injector.Injector, catalog: Catalog
) -> None:
    seller = catalog.seller()
    with pytest.raises(InvalidImport) as caught:
        app.get(ImportCatalogHandler)(
            ImportCatalog(seller_id=seller.id, rows=rows(1100, bad_at=1050)), actor=CONSOLE
        )
    assert caught.value.details["rows"] == [(1052, caught.value.details["rows"][0][1])]
    assert counts(app) == (0, 0)
