"""Stock holds under real threads on real databases."""

from __future__ import annotations

import threading
from collections.abc import Callable

import injector
import pytest

from shequ import AdjustStock, AdjustStockHandler, StockReason, UnitOfWork
from shequ.application.policy import CONSOLE
from shequ.errors import InsufficientStock
from tests.support import Catalog


def race(workers: int, work: Callable[[int], None]) -> list[BaseException | None]:
    outcomes: list[BaseException | None] = [None] * workers
    start = threading.Barrier(workers)

    def run(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as e:
            outcomes[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.parametrize("backend", ["postgres", "sqlite", "memory"], indirect=True)
def test_the_last_units_are_removed_exactly_once(app: injector.Injector, catalog: Catalog) -> None:
    sku = catalog.sku(catalog.product(catalog.seller()), stock=10)
    handlers = [app.get(AdjustStockHandler) for _ in range(30)]
    outcomes = race(
        30, lambda i: handlers[i](AdjustStock(sku.id, -1, StockReason.DAMAGE), actor=CONSOLE)
    )
    assert sum(o is None for o in outcomes) == 10
    assert sum(isinstance(o, InsufficientStock) for o in outcomes) == 20, outcomes
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == 0
        assert [m.name for m in uow.outbox.pending(500)].count("StockAdjusted") == 10


@pytest.mark.parametrize("backend", ["postgres", "sqlite", "memory"], indirect=True)
def test_concurrent_restocks_all_count(app: injector.Injector, catalog: Catalog) -> None:
    sku = catalog.sku(catalog.product(catalog.seller()), stock=0)
    handlers = [app.get(AdjustStockHandler) for _ in range(8)]
    outcomes = race(
        8, lambda i: handlers[i](AdjustStock(sku.id, i + 1, StockReason.RESTOCK), actor=CONSOLE)
    )
    assert outcomes == [None] * 8
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(sku.id).stock == sum(range(1, 9))
