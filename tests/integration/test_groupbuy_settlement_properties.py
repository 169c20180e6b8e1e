"""Settlement's money, as a property, through the use cases and the stored orders on every
storage: for any ladder and any members, every order keeps exactly the final tier's price
× its units, what was refunded plus what was kept is what was paid, nobody pays more than
the price shown on joining, and the commission is the rate of the revenue rounded down."""

from __future__ import annotations

import datetime as dt

import injector
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shequ.adapters.clock import FixedClock
from shequ.application.ports import UnitOfWork
from shequ.domain.groupbuy import GroupStatus, LeaderReward, PriceTier, commission_on
from shequ.domain.money import Money
from shequ.domain.ordering import OrderStatus
from tests.groupbuy_support import GroupShop

BACKENDS = ["postgres", "sqlite", "memory"]


@st.composite
def ladders(draw: st.DrawFn) -> tuple[PriceTier, ...]:
    heads = sorted(draw(st.sets(st.integers(1, 6), min_size=1, max_size=3)))
    prices = sorted(draw(st.sets(st.integers(100, 4990), min_size=len(heads), max_size=len(heads))))
    return tuple(PriceTier(h, Money(p)) for h, p in zip(heads, reversed(prices), strict=True))


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ladder=ladders(),
    quantities=st.lists(st.integers(1, 4), min_size=1, max_size=6),
    basis_points=st.integers(0, 3000),
)
def test_settlement_money_adds_up_in_the_stored_orders(
    app: injector.Injector,
    clock: FixedClock,
    ladder: tuple[PriceTier, ...],
    quantities: list[int],
    basis_points: int,
) -> None:
    shop = GroupShop(app, clock)
    here = shop.community()
    campaign = shop.campaign(
        shop.rice(here),
        here,
        tiers=ladder,
        min_heads=ladder[0].min_heads,
        max_heads=10,
        reward=LeaderReward.commission(basis_points),
    )
    seat = shop.start(shop.resident(here)[1], campaign, here, quantities[0])
    seats = [seat] + [shop.join(shop.resident(here)[1], seat.group, q) for q in quantities[1:]]
    for s in seats:
        shop.pay_seat(s)
    clock.advance(dt.timedelta(days=2))
    done = shop.settle()

    heads = len(quantities)
    group = shop.group(seat.group.id)
    paid = sum(campaign.upfront_price.fen * q for q in quantities)
    with app.get(UnitOfWork) as uow:
        orders = [uow.orders.get(s.order.id) for s in seats]
        entry = uow.commissions.find(group.id)
    refunded = sum(o.refunded.fen for o in orders)
    if heads < campaign.min_heads:
        assert group.status is GroupStatus.FAILED
        assert all(o.status is OrderStatus.CANCELLED and o.refunded == o.total for o in orders)
        assert refunded == paid and entry is None
        return
    final = campaign.price_for(heads)
    assert group.status is GroupStatus.SETTLED and group.unit_price == final
    assert final <= campaign.upfront_price  # never more than the price shown on joining
    kept = [o.total.fen - o.refunded.fen for o in orders]
    assert kept == [final.fen * q for q in quantities]
    assert refunded + sum(kept) == paid
    commission = commission_on(Money(sum(kept)), basis_points)
    assert done.commission == commission <= Money(sum(kept))
    assert (entry.amount if entry else Money(0)) == commission
