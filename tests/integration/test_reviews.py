"""Reviews on every storage: only what a resident bought and received, one an order line;
a service's review with photos listed under its merchant; answers from the seller or the
merchant only; averages exact with residents reviewing at once; and the refusals that
change nothing."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import UnitOfWork
from shequ.application.reviews import (
    AnswerReview,
    AnswerReviewHandler,
    ListReviews,
    ListReviewsHandler,
    ReviewProduct,
    ReviewProductHandler,
)
from shequ.application.services.bookings import (
    MoveBooking,
    MoveBookingHandler,
    ReviewBooking,
    ReviewBookingHandler,
)
from shequ.domain.catalog import Community, Seller, Sku
from shequ.domain.errors import Duplicate, Forbidden, IllegalTransition, InvalidInput
from shequ.domain.identity import Membership, Role
from shequ.domain.ordering import Order
from shequ.domain.services import BookingStatus
from tests.integration.test_concurrency import race
from tests.services_support import book, cst, housekeeping
from tests.support import Shop

BACKENDS = ["postgres", "sqlite", "memory"]
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
PHOTO = "/v1/uploads/photos/3f1c.png"


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def staff_of(shop: Shop, seller: Seller, here: Community) -> Actor:
    made = shop.app.get(OpenAccountHandler)(
        OpenAccount(
            phone=str(next(shop.phones)),
            memberships=(Membership(Role.MERCHANT, here.id, seller.id),),
        ),
        actor=CONSOLE,
    )
    return Actor.of(made)


def received(shop: Shop, who: Actor, here: Community, *skus: Sku) -> Order:
    """An order of one of each SKU, paid, packed and picked up at the point."""
    order = shop.order(who, here, *((sku, 1) for sku in skus))
    return shop.collect(shop.packed(order))


def review(
    app: injector.Injector, who: Actor, order: Order, sku: Sku, rating: int, **more: object
) -> object:
    return app.get(ReviewProductHandler)(ReviewProduct(order.id, sku.id, rating, **more), actor=who)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_bought_product_is_reviewed_once_and_its_seller_answers(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    grocer = shop.seller(community=here)
    oranges = shop.sku(shop.product(grocer), stock=50, communities=(here,))
    apples = shop.sku(shop.product(grocer, "烟台苹果"), stock=50, communities=(here,))
    _, resident = shop.resident(here)
    _, neighbour = shop.resident(here)
    order = received(shop, resident, here, oranges, apples)
    written = review(app, resident, order, oranges, 5, text=XSS, photos=(PHOTO,))
    clock.advance(dt.timedelta(minutes=1))
    review(app, resident, order, apples, 2, text="有点酸")
    clock.advance(dt.timedelta(minutes=1))
    review(app, neighbour, received(shop, neighbour, here, oranges), oranges, 4)

    page = app.get(ListReviewsHandler)(ListReviews(product_id=oranges.product_id), actor=neighbour)
    assert [(r.rating, r.text) for r in page.reviews] == [(4, ""), (5, XSS)]  # newest first
    assert (page.rating_count, page.rating_tenths) == (2, 45)
    assert page.reviews[1].photos == (PHOTO,)

    staff = staff_of(shop, grocer, here)
    other = staff_of(shop, shop.seller("别家铺子", community=here), here)
    answer = app.get(AnswerReviewHandler)
    with pytest.raises(Forbidden):  # another seller's staff
        answer(AnswerReview(written.id, "谢谢"), actor=other)  # type: ignore[attr-defined]
    with pytest.raises(Forbidden):  # a resident
        answer(AnswerReview(written.id, "谢谢"), actor=neighbour)  # type: ignore[attr-defined]
    answered = answer(AnswerReview(written.id, "感谢支持 <b>常来</b>"), actor=staff)  # type: ignore[attr-defined]
    assert answered.answer == "感谢支持 <b>常来</b>"
    with pytest.raises(IllegalTransition):  # answered once
        answer(AnswerReview(written.id, "再次感谢"), actor=staff)  # type: ignore[attr-defined]
    with app.get(UnitOfWork) as uow:
        names = [m.name for m in uow.outbox.pending(100_000)]
    assert names.count("ReviewWritten") == 3 and names.count("ReviewAnswered") == 1


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_refusals_change_nothing(app: injector.Injector, shop: Shop) -> None:
    here = shop.community()
    grocer = shop.seller(community=here)
    oranges = shop.sku(shop.product(grocer), stock=50, communities=(here,))
    apples = shop.sku(shop.product(grocer, "烟台苹果"), stock=50, communities=(here,))
    _, resident = shop.resident(here)
    _, neighbour = shop.resident(here)
    order = received(shop, resident, here, oranges)
    unpaid = shop.order(resident, here, (oranges, 1))
    with pytest.raises(Forbidden):  # someone else's purchase
        review(app, neighbour, order, oranges, 5)
    with pytest.raises(InvalidInput):  # not bought in this order
        review(app, resident, order, apples, 5)
    with pytest.raises(IllegalTransition):  # not received yet
        review(app, resident, unpaid, oranges, 5)
    for wrong in (0, 6):
        with pytest.raises(InvalidInput):
            review(app, resident, order, oranges, wrong)
    with pytest.raises(InvalidInput):
        review(app, resident, order, oranges, 5, text="长" * 2001)
    with pytest.raises(InvalidInput):
        review(app, resident, order, oranges, 5, photos=tuple(PHOTO for _ in range(10)))
    page = app.get(ListReviewsHandler)(ListReviews(product_id=oranges.product_id), actor=resident)
    assert (page.reviews, page.rating_count, page.rating_tenths) == ((), 0, None)
    review(app, resident, order, oranges, 3)
    with pytest.raises(Duplicate):  # one review an order line
        review(app, resident, order, oranges, 5)
    page = app.get(ListReviewsHandler)(ListReviews(product_id=oranges.product_id), actor=resident)
    assert (page.rating_count, page.rating_tenths) == (1, 30)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_residents_reviewing_at_once_all_count_in_the_average(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    oranges = shop.sku(shop.product(shop.seller(community=here)), stock=100, communities=(here,))
    buyers = [shop.resident(here)[1] for _ in range(12)]
    orders = [received(shop, who, here, oranges) for who in buyers]
    handlers = [app.get(ReviewProductHandler) for _ in buyers]
    ratings = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 5, 5]  # 40 in all
    outcomes = race(
        12,
        lambda i: (
            handlers[i](ReviewProduct(orders[i].id, oranges.id, ratings[i]), actor=buyers[i])
            and None
        ),
    )
    assert outcomes == [None] * 12
    page = app.get(ListReviewsHandler)(
        ListReviews(product_id=oranges.product_id, limit=5), actor=buyers[0]
    )
    assert (page.rating_count, page.rating_tenths) == (12, 33)  # 40 / 12 = 3.33
    seen, cursor = [r.id for r in page.reviews], page.next_cursor
    while cursor is not None:
        more = app.get(ListReviewsHandler)(
            ListReviews(product_id=oranges.product_id, cursor=cursor, limit=5), actor=buyers[0]
        )
        seen += [r.id for r in more.reviews]
        cursor = more.next_cursor
    assert len(seen) == len(set(seen)) == 12


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_service_review_with_photos_is_listed_under_its_merchant(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    hk = housekeeping(app, here)
    _, resident = shop.resident(here)
    booking = book(
        app, resident, here, hk.cleaning, cst(dt.date(2026, 11, 26), 9), shop.address(resident)
    )
    for status in (BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED):
        app.get(MoveBookingHandler)(MoveBooking(booking.id, status), actor=CONSOLE)
    app.get(ReviewBookingHandler)(
        ReviewBooking(booking.id, 5, "阿姨很细心 <b>推荐</b>", (PHOTO,)), actor=resident
    )
    page = app.get(ListReviewsHandler)(ListReviews(provider_id=hk.provider.id), actor=resident)
    assert [(r.rating, r.text, r.photos, r.booking_id) for r in page.reviews] == [
        (5, "阿姨很细心 <b>推荐</b>", (PHOTO,), booking.id)
    ]
    assert (page.rating_count, page.rating_tenths) == (1, 50)
    merchant = app.get(OpenAccountHandler)(
        OpenAccount(
            phone=str(next(shop.phones)),
            memberships=(Membership(Role.MERCHANT, here.id, hk.provider.id),),
        ),
        actor=CONSOLE,
    )
    answered = app.get(AnswerReviewHandler)(
        AnswerReview(page.reviews[0].id, "谢谢您的认可"), actor=Actor.of(merchant)
    )
    assert answered.answer == "谢谢您的认可" and answered.answered_by == merchant.id
    with pytest.raises(IllegalTransition):  # one review a booking
        app.get(ReviewBookingHandler)(ReviewBooking(booking.id, 1), actor=resident)
