"""Reviews (评价): residents rate what they bought and the services they had; sellers and
merchants answer; anyone reads a product's or a merchant's reviews with its average.

A product review is of an order line whose goods reached the resident (the order was
delivered, picked up or completed), one an order line; the product's row is locked while
its rating joins the average. Service reviews are written with the booking
(:class:`~shequ.application.services.bookings.ReviewBookingHandler`).
"""

from __future__ import annotations

import datetime as dt

import attrs

from shequ.application.cursors import open_cursor, seal_cursor
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import Duplicate, IllegalTransition, InvalidCursor, InvalidInput
from shequ.domain.ids import OrderId, ProductId, ProviderId, ReviewId, SkuId, new_id
from shequ.domain.ordering import OrderStatus
from shequ.domain.reviews import Review, ReviewSubject

__all__ = [
    "AnswerReview",
    "AnswerReviewHandler",
    "ListReviews",
    "ListReviewsHandler",
    "ReviewPage",
    "ReviewProduct",
    "ReviewProductHandler",
]

RECEIVED = frozenset({OrderStatus.DELIVERED, OrderStatus.PICKED_UP, OrderStatus.COMPLETED})


@attrs.frozen
class ReviewProduct:
    """The resident's rating (1 to 5), words and photos of a SKU of their order."""

    order_id: OrderId
    sku_id: SkuId
    rating: int
    text: str = ""
    photos: tuple[str, ...] = ()


class ReviewProductHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: ReviewProduct, *, actor: Actor) -> Review:
        def attempt() -> Review:
            with self._uow as uow:
                order = uow.orders.get(cmd.order_id)
                self._policy.require(actor, Permission.OWN_ORDER, owner=order.resident_id)
                line = next((x for x in order.lines if x.sku_id == cmd.sku_id), None)
                if line is None:
                    raise InvalidInput(
                        f"order {order.id} has no SKU {cmd.sku_id}: review what you bought",
                        field="sku_id",
                    )
                if order.status not in RECEIVED:
                    raise IllegalTransition(
                        f"order {order.id} is {order.status.value}: review it once you have it",
                        status=order.status.value,
                        action="review",
                    )
                if uow.reviews.find_for_line(order.id, line.sku_id) is not None:
                    raise Duplicate(f"you have reviewed {line.name} of this order already")
                review = Review.write(
                    id=ReviewId(new_id()),
                    subject=ReviewSubject.PRODUCT,
                    author_id=order.resident_id,
                    community_id=order.community_id,
                    rating=cmd.rating,
                    text=cmd.text,
                    photo_urls=cmd.photos,
                    now=self._clock.now(),
                    product_id=line.product_id,
                    sku_id=line.sku_id,
                    order_id=order.id,
                    seller_id=line.seller_id,
                )
                uow.products.get_for_update(line.product_id).rated(review.rating)
                uow.reviews.add(review)
                uow.commit()
            return review

        return retry_on_conflict(attempt)


@attrs.frozen
class AnswerReview:
    review_id: ReviewId
    text: str


class AnswerReviewHandler:
    """The seller (its merchant staff) answers a product's review, the local merchant a
    service's; once."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: AnswerReview, *, actor: Actor) -> Review:
        def attempt() -> Review:
            with self._uow as uow:
                review = uow.reviews.get_for_update(cmd.review_id)
                if review.seller_id is not None:
                    seller = uow.sellers.get(review.seller_id)
                    self._policy.require(actor, Permission.MANAGE_PRODUCTS, seller=seller)
                else:
                    provider = uow.providers.get(ProviderId(review.subject_id))
                    self._policy.require(actor, Permission.MANAGE_SERVICES, provider=provider)
                review.answer_with(cmd.text, by=actor.account_id, now=self._clock.now())
                uow.commit()
            return review

        return retry_on_conflict(attempt)


@attrs.frozen
class ReviewPage:
    """A page of reviews, newest first, with the average of all of them (in tenths) and
    how many there are; ``next_cursor`` is ``None`` on the last page."""

    reviews: tuple[Review, ...]
    rating_tenths: int | None
    rating_count: int
    next_cursor: str | None


@attrs.frozen
class ListReviews:
    """A product's reviews (``product_id``) or a local merchant's (``provider_id``)."""

    product_id: ProductId | None = None
    provider_id: ProviderId | None = None
    cursor: str | None = None
    limit: int = 20


class ListReviewsHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: ListReviews, *, actor: Actor) -> ReviewPage:
        self._policy.require(actor, Permission.BROWSE)
        if (query.product_id is None) == (query.provider_id is None):
            raise InvalidInput("ask for a product's reviews or a merchant's", field="product_id")
        if type(query.limit) is not int or not 1 <= query.limit <= 100:
            raise InvalidInput("page size must be 1 to 100", field="limit")
        subject, subject_id = (
            (ReviewSubject.PRODUCT, str(query.product_id))
            if query.product_id is not None
            else (ReviewSubject.SERVICE, str(query.provider_id))
        )
        fingerprint = f"{subject.value}:{subject_id}"
        after = None
        if query.cursor:
            position = open_cursor(query.cursor, fingerprint)
            try:
                after = (dt.datetime.fromisoformat(position[0]), ReviewId(str(position[1])))
            except (ValueError, TypeError, IndexError) as e:
                raise InvalidCursor("the page cursor is not valid for these reviews") from e
            if after[0].tzinfo is None:
                raise InvalidCursor("the page cursor is not valid for these reviews")
        with self._uow as uow:
            rated = (
                uow.products.get(ProductId(subject_id))
                if subject is ReviewSubject.PRODUCT
                else uow.providers.get(ProviderId(subject_id))
            )
            found = uow.reviews.of_subject(subject, subject_id, after=after, limit=query.limit + 1)
        page = tuple(found[: query.limit])
        next_cursor = None
        if len(found) > query.limit:
            last = page[-1]
            next_cursor = seal_cursor([last.created_at.isoformat(), last.id], fingerprint)
        return ReviewPage(page, rated.rating_tenths, rated.rating_count, next_cursor)
