"""Orders, coupons and expiry under real threads: nothing oversold, no limit exceeded."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.ordering.coupons import (
    ClaimCoupon,
    ClaimCouponHandler,
    CreateCoupon,
    CreateCouponHandler,
    IssueCoupon,
    IssueCouponHandler,
)
from shequ.application.ordering.orders import ExpireOrders, ExpireOrdersHandler
from shequ.application.policy import CONSOLE
from shequ.application.ports import UnitOfWork
from shequ.domain.errors import CouponUsedUp, InsufficientStock
from shequ.domain.money import Money
from shequ.domain.ordering import CouponKind, CouponTerms, OrderStatus
from tests.integration.test_concurrency import race
from tests.support import Shop

BACKENDS = ["postgres", "sqlite", "memory"]


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def outbox_names(app: injector.Injector) -> list[str]:
    with app.get(UnitOfWork) as uow:
        return [m.name for m in uow.outbox.pending(10_000)]


def stock_of(app: injector.Injector, sku_id: str) -> int:
    with app.get(UnitOfWork) as uow:
        return uow.skus.get(sku_id).stock  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_fifty_buyers_race_for_the_last_ten_units(app: injector.Injector, shop: Shop) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), stock=10, communities=(here,))
    buyers = [shop.resident(here)[1] for _ in range(5)]
    outcomes = race(50, lambda i: shop.order(buyers[i % 5], here, (sku, 1)) and None)
    assert sum(o is None for o in outcomes) == 10
    assert sum(isinstance(o, InsufficientStock) for o in outcomes) == 40, outcomes
    assert stock_of(app, sku.id) == 0
    assert outbox_names(app).count("OrderPlaced") == 10


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_orders_of_the_same_skus_in_opposite_orders_never_deadlock(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    product = shop.product(shop.seller())
    a = shop.sku(product, spec="a", stock=100, communities=(here,))
    b = shop.sku(product, spec="b", stock=100, communities=(here,))
    _, buyer = shop.resident(here)
    outcomes = race(
        20,
        lambda i: (
            shop.order(buyer, here, *(((a, 1), (b, 2)) if i % 2 else ((b, 2), (a, 1)))) and None
        ),
    )
    assert outcomes == [None] * 20
    assert (stock_of(app, a.id), stock_of(app, b.id)) == (80, 60)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_an_order_expiring_while_others_buy_returns_its_units_once(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), stock=10, communities=(here,))
    _, buyer = shop.resident(here)
    held = shop.order(buyer, here, (sku, 10))
    clock.advance(dt.timedelta(minutes=16))
    expire = app.get(ExpireOrdersHandler)
    expired: list[int] = []

    def work(i: int) -> None:
        if i == 0:
            expired.append(expire(ExpireOrders(), actor=CONSOLE))
        else:
            shop.order(buyer, here, (sku, 1))

    outcomes = race(21, work)
    sold = sum(o is None for o in outcomes[1:])
    assert all(o is None or isinstance(o, InsufficientStock) for o in outcomes), outcomes
    assert expired == [1]
    assert stock_of(app, sku.id) == 10 - sold
    with app.get(UnitOfWork) as uow:
        assert uow.orders.get(held.id).status is OrderStatus.EXPIRED


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_two_expiry_runs_at_once_expire_each_order_once(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), stock=30, communities=(here,))
    _, buyer = shop.resident(here)
    for _ in range(30):
        shop.order(buyer, here, (sku, 1))
    clock.advance(dt.timedelta(minutes=16))
    runs = [app.get(ExpireOrdersHandler) for _ in range(2)]
    counts = [0, 0]

    def work(i: int) -> None:
        counts[i] = runs[i](ExpireOrders(batch=5), actor=CONSOLE)

    assert race(2, work) == [None, None]
    assert sum(counts) == 30
    assert stock_of(app, sku.id) == 30
    assert outbox_names(app).count("OrderExpired") == 30


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_coupons_issue_limit_and_a_copy_hold_under_concurrency(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    sku = shop.sku(shop.product(shop.seller()), price="20.00", stock=100, communities=(here,))
    now = clock.now()
    app.get(CreateCouponHandler)(
        CreateCoupon(
            "立减3元",
            CouponTerms(CouponKind.AMOUNT, amount=Money(300)),
            now,
            now + dt.timedelta(days=1),
            total_limit=5,
            claim_code="SAVE3",
        ),
        actor=CONSOLE,
    )
    residents = [shop.resident(here) for _ in range(12)]
    claim = [app.get(ClaimCouponHandler) for _ in range(12)]
    outcomes = race(
        12,
        lambda i: (
            claim[i](ClaimCoupon(residents[i][0].id, "save3"), actor=residents[i][1]) and None
        ),
    )
    assert sum(o is None for o in outcomes) == 5
    assert sum(isinstance(o, CouponUsedUp) for o in outcomes) == 7, outcomes

    other = app.get(CreateCouponHandler)(
        CreateCoupon(
            "满10减2",
            CouponTerms(CouponKind.THRESHOLD, amount=Money(200), threshold=Money(1000)),
            now,
            now + dt.timedelta(days=1),
        ),
        actor=CONSOLE,
    )
    account, actor = residents[0]
    (grant,) = app.get(IssueCouponHandler)(IssueCoupon(other.id, (account.id,)), actor=CONSOLE)
    outcomes = race(8, lambda i: shop.order(actor, here, (sku, 1), grant_ids=(grant.id,)) and None)
    assert sum(o is None for o in outcomes) == 1
    assert sum(isinstance(o, CouponUsedUp) for o in outcomes) == 7, outcomes
    assert stock_of(app, sku.id) == 99
