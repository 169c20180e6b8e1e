"""Merchants' promotions on every storage: published to a community, bought as an order
with the voucher fulfilment, vouchers issued with the payment, redeemed at the merchant
for their codes, refunded unused (随时退) or when they expire (过期退); the order
completes or is cancelled accordingly; residents racing for the last vouchers never get
more than there are; and the refusals that change nothing."""

from __future__ import annotations

import datetime as dt
import uuid

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.ordering.checkout import OrderItem, PlaceOrder, PlaceOrderHandler
from shequ.application.ordering.orders import (
    CancelOrder,
    CancelOrderHandler,
    GetOrder,
    GetOrderHandler,
)
from shequ.application.ordering.refunds import RequestRefund, RequestRefundHandler
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import RefundQuery, UnitOfWork
from shequ.application.services.promotions import (
    ExpireVouchers,
    ExpireVouchersHandler,
    ListPromotions,
    ListPromotionsHandler,
    MyVouchers,
    MyVouchersHandler,
    PublishPromotion,
    PublishPromotionHandler,
    RedeemVoucher,
    RedeemVoucherHandler,
    RefundVouchers,
    RefundVouchersHandler,
    WithdrawPromotion,
    WithdrawPromotionHandler,
)
from shequ.domain.catalog import Community
from shequ.domain.errors import (
    Forbidden,
    IllegalTransition,
    InsufficientStock,
    InvalidInput,
    RateLimited,
    SkuUnavailable,
    VoucherCodeInvalid,
)
from shequ.domain.identity import Membership, Role
from shequ.domain.money import Money
from shequ.domain.ordering import (
    Delivery,
    Fulfilment,
    Order,
    OrderStatus,
    RefundReason,
    RefundStatus,
)
from shequ.domain.promotions import Promotion, PromotionKind, VoucherStatus
from tests.integration.test_concurrency import race
from tests.services_support import Housekeeping, housekeeping
from tests.support import Shop

BACKENDS = ["postgres", "sqlite", "memory"]
VOUCHERS = Delivery(Fulfilment.VOUCHER)


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def staff_of(shop: Shop, hk: Housekeeping) -> Actor:
    made = shop.app.get(OpenAccountHandler)(
        OpenAccount(
            phone=str(next(shop.phones)),
            memberships=(Membership(Role.MERCHANT, hk.provider.community_ids[0], hk.provider.id),),
        ),
        actor=CONSOLE,
    )
    return Actor.of(made)


def publish(
    app: injector.Injector, hk: Housekeeping, who: Actor, now: dt.datetime, **more: object
) -> Promotion:
    values: dict[str, object] = {
        "provider_id": hk.provider.id,
        "kind": PromotionKind.SET_MEAL,
        "title": "双人深度保洁套餐",
        "terms": "周一至周五可用，需提前一天预约。<b>不与其他优惠同享</b>",
        "price": Money(9900),
        "value": Money(16800),
        "quantity": 10,
        "per_resident": 2,
        "sale_ends_at": now + dt.timedelta(days=7),
        "use_until": now + dt.timedelta(days=30),
    }
    return app.get(PublishPromotionHandler)(PublishPromotion(**(values | more)), actor=who)  # type: ignore[arg-type]


def buy(
    shop: Shop, who: Actor, here: Community, promotion: Promotion, units: int = 1, **more: object
) -> Order:
    return shop.app.get(PlaceOrderHandler)(
        PlaceOrder(
            resident_id=who.account_id or "",  # type: ignore[arg-type]
            community_id=here.id,
            delivery=more.pop("delivery", VOUCHERS),  # type: ignore[arg-type]
            idempotency_key=uuid.uuid4().hex,
            items=(OrderItem(promotion.sku_id, units), *more.pop("also", ())),  # type: ignore[arg-type]
        ),
        actor=who,
    )


def status_of(app: injector.Injector, order: Order) -> OrderStatus:
    return app.get(GetOrderHandler)(GetOrder(order.id), actor=CONSOLE).status


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_bought_redeemed_and_the_rest_refunded(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    hk = housekeeping(app, here)
    staff = staff_of(shop, hk)
    _, resident = shop.resident(here)
    offer = publish(app, hk, staff, clock.now())
    listed = app.get(ListPromotionsHandler)(ListPromotions(community_id=here.id), actor=resident)
    assert [(p.id, p.terms) for p in listed] == [(offer.id, offer.terms)]  # as written

    order = buy(shop, resident, here, offer, 2)
    assert (order.total, order.delivery_fee) == (Money(19800), Money(0))
    mine = app.get(MyVouchersHandler)(MyVouchers(resident.account_id or ""), actor=resident)  # type: ignore[arg-type]
    assert mine == []  # nothing before the payment
    paid = shop.pay(order)
    assert paid.status is OrderStatus.PAID
    mine = app.get(MyVouchersHandler)(MyVouchers(resident.account_id or ""), actor=resident)  # type: ignore[arg-type]
    assert [v.status for v in mine] == [VoucherStatus.VALID] * 2
    assert all(len(v.code) == 10 and v.code.isdigit() for v in mine)
    assert mine[0].code != mine[1].code

    redeem = app.get(RedeemVoucherHandler)
    used = redeem(RedeemVoucher(hk.provider.id, f" {mine[0].code} "), actor=staff)
    assert (used.status, used.redeemed_by) == (VoucherStatus.REDEEMED, staff.account_id)
    assert status_of(app, order) is OrderStatus.PAID  # one voucher still to use
    with pytest.raises(IllegalTransition):  # used once
        redeem(RedeemVoucher(hk.provider.id, mine[0].code), actor=staff)
    back = app.get(RefundVouchersHandler)(RefundVouchers(order.id), actor=resident)
    assert [v.id for v in back] == [mine[1].id]
    done = app.get(GetOrderHandler)(GetOrder(order.id), actor=resident)
    assert (done.status, done.refunded) == (OrderStatus.COMPLETED, Money(9900))
    with app.get(UnitOfWork) as uow:
        [refund] = uow.refunds.search(RefundQuery(order_id=order.id))
        stock = uow.skus.get(offer.sku_id).stock
        names = [m.name for m in uow.outbox.pending(100_000)]
    assert (refund.reason, refund.status, refund.amount) == (
        RefundReason.VOUCHER_UNUSED,
        RefundStatus.APPROVED,
        Money(9900),
    )
    assert stock == 10 - 2 + 1  # the refunded voucher is back on sale
    assert names.count("PromotionPublished") == 1 and names.count("VoucherChanged") == 4


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_unused_vouchers_expire_and_are_refunded(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    hk = housekeeping(app, here)
    _, resident = shop.resident(here)
    offer = publish(app, hk, CONSOLE, clock.now(), kind=PromotionKind.MEMBERSHIP, value=None)
    order = shop.pay(buy(shop, resident, here, offer, 2))
    expire = app.get(ExpireVouchersHandler)
    assert expire(ExpireVouchers(), actor=CONSOLE) == 0  # usable for 30 days
    clock.advance(dt.timedelta(days=30))
    me = MyVouchers(resident.account_id or "")  # type: ignore[arg-type]
    code = app.get(MyVouchersHandler)(me, actor=resident)[0].code
    with pytest.raises(IllegalTransition):  # too late to use
        app.get(RedeemVoucherHandler)(RedeemVoucher(hk.provider.id, code), actor=CONSOLE)
    assert expire(ExpireVouchers(), actor=CONSOLE) == 2
    assert expire(ExpireVouchers(), actor=CONSOLE) == 0  # once
    done = app.get(GetOrderHandler)(GetOrder(order.id), actor=resident)
    assert (done.status, done.refunded) == (OrderStatus.CANCELLED, order.total)
    mine = app.get(MyVouchersHandler)(MyVouchers(resident.account_id or ""), actor=resident)  # type: ignore[arg-type]
    assert [v.status for v in mine] == [VoucherStatus.EXPIRED] * 2


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_residents_racing_for_the_last_vouchers_get_no_more_than_there_are(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    hk = housekeeping(app, here)
    offer = publish(app, hk, CONSOLE, clock.now(), quantity=5, per_resident=1)
    residents = [shop.resident(here)[1] for _ in range(12)]
    handlers = [app.get(PlaceOrderHandler) for _ in residents]
    outcomes = race(
        12,
        lambda i: (
            handlers[i](
                PlaceOrder(
                    resident_id=residents[i].account_id or "",  # type: ignore[arg-type]
                    community_id=here.id,
                    delivery=VOUCHERS,
                    idempotency_key=uuid.uuid4().hex,
                    items=(OrderItem(offer.sku_id, 1),),
                ),
                actor=residents[i],
            )
            and None
        ),
    )
    assert sum(o is None for o in outcomes) == 5
    assert all(o is None or isinstance(o, InsufficientStock) for o in outcomes)
    with app.get(UnitOfWork) as uow:
        assert uow.skus.get(offer.sku_id).stock == 0


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_refusals_change_nothing(app: injector.Injector, shop: Shop, clock: FixedClock) -> None:
    here, elsewhere = shop.community(), shop.community("翠苑")
    hk = housekeeping(app, here)
    other_hk = housekeeping(app, elsewhere)
    staff, other_staff = staff_of(shop, hk), staff_of(shop, other_hk)
    _, resident = shop.resident(here)
    _, neighbour = shop.resident(here)
    _, stranger = shop.resident(elsewhere)
    now = clock.now()
    with pytest.raises(Forbidden):  # another merchant's staff
        publish(app, hk, other_staff, now)
    with pytest.raises(InvalidInput):  # worth less than it costs
        publish(app, hk, staff, now, value=Money(5000))
    with pytest.raises(InvalidInput):  # the vouchers would expire before the sale ends
        publish(app, hk, staff, now, use_until=now + dt.timedelta(days=1))
    with pytest.raises(InvalidInput):  # a community it does not serve
        publish(app, hk, staff, now, community_ids=(elsewhere.id,))
    offer = publish(app, hk, staff, now)
    grocery = shop.sku(shop.product(shop.seller(community=here)), communities=(here,))
    with pytest.raises(InvalidInput):  # vouchers are not picked up
        buy(shop, resident, here, offer, delivery=Delivery(Fulfilment.PICKUP, pickup_point_id="x"))
    with pytest.raises(InvalidInput):  # nor ordered with groceries
        buy(shop, resident, here, offer, also=(OrderItem(grocery.id, 1),))
    with pytest.raises(InvalidInput):  # two a resident
        buy(shop, resident, here, offer, 3)
    with pytest.raises(SkuUnavailable):  # not offered there
        buy(shop, stranger, elsewhere, offer)
    order = shop.pay(buy(shop, resident, here, offer, 2))
    with pytest.raises(InvalidInput):  # two bought already
        buy(shop, resident, here, offer)
    with pytest.raises(IllegalTransition):  # refund its vouchers instead
        app.get(CancelOrderHandler)(CancelOrder(order.id, "不要了"), actor=resident)
    with pytest.raises(IllegalTransition):
        app.get(RequestRefundHandler)(
            RequestRefund(order.id, RefundReason.NOT_WANTED), actor=resident
        )
    with pytest.raises(Forbidden):  # the codes are the resident's
        app.get(MyVouchersHandler)(MyVouchers(resident.account_id or ""), actor=neighbour)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        app.get(RefundVouchersHandler)(RefundVouchers(order.id), actor=neighbour)
    [first, second] = app.get(MyVouchersHandler)(
        MyVouchers(resident.account_id or ""),  # type: ignore[arg-type]
        actor=resident,
    )
    redeem = app.get(RedeemVoucherHandler)
    with pytest.raises(Forbidden):  # another merchant's staff
        redeem(RedeemVoucher(hk.provider.id, first.code), actor=other_staff)
    with pytest.raises(VoucherCodeInvalid):  # not theirs: the code is unknown there
        redeem(RedeemVoucher(other_hk.provider.id, first.code), actor=other_staff)
    for wrong in ("0000000000", "abc", "", "1" * 10, "2" * 10):
        with pytest.raises(VoucherCodeInvalid):
            redeem(RedeemVoucher(hk.provider.id, wrong), actor=staff)
    with pytest.raises(RateLimited):  # five wrong codes: locked for a while
        redeem(RedeemVoucher(hk.provider.id, first.code), actor=staff)
    clock.advance(dt.timedelta(minutes=16))
    assert redeem(RedeemVoucher(hk.provider.id, first.code), actor=staff).status is (
        VoucherStatus.REDEEMED
    )
    with pytest.raises(InvalidInput):
        app.get(RefundVouchersHandler)(RefundVouchers(order.id, count=2), actor=resident)
    app.get(WithdrawPromotionHandler)(WithdrawPromotion(offer.id), actor=staff)
    assert (
        app.get(ListPromotionsHandler)(ListPromotions(community_id=here.id), actor=resident) == []
    )
    with pytest.raises(SkuUnavailable):  # off sale
        buy(shop, neighbour, here, offer)
    mine = app.get(MyVouchersHandler)(MyVouchers(resident.account_id or ""), actor=resident)  # type: ignore[arg-type]
    assert {v.id: v.status for v in mine} == {
        first.id: VoucherStatus.REDEEMED,
        second.id: VoucherStatus.VALID,  # still usable after the sale ends
    }
    assert status_of(app, order) is OrderStatus.PAID
