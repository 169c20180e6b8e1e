"""``/v1`` routes of reviews (评价): residents review what they bought; anyone reads a
product's or a merchant's reviews; sellers and merchants answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field, StrictInt, StrictStr

from shequ.application.reviews import (
    AnswerReview,
    AnswerReviewHandler,
    ListReviews,
    ListReviewsHandler,
    ReviewPage,
    ReviewProduct,
    ReviewProductHandler,
)
from shequ.domain.ids import OrderId, ProductId, ProviderId, ReviewId, SkuId
from shequ.domain.reviews import Review, ReviewSubject
from shequ.entrypoints.http.deps import CurrentActor, Input, Output, resolve

__all__ = ["ReviewOut", "ReviewPageOut", "router"]

router = APIRouter(prefix="/v1")


class ProductReviewIn(Input):
    sku_id: StrictStr
    rating: StrictInt = Field(description="1 to 5")
    text: StrictStr = ""
    photos: list[StrictStr] = Field(
        default_factory=list, max_length=9, description="addresses from POST /v1/uploads/photos"
    )


class AnswerIn(Input):
    text: StrictStr


class ReviewOut(Output):
    id: str
    subject: ReviewSubject
    author_id: str
    rating: int
    text: str
    photos: list[str]
    created_at: dt.datetime
    product_id: str | None
    sku_id: str | None
    order_id: str | None
    provider_id: str | None
    booking_id: str | None
    answer: str
    answered_at: dt.datetime | None

    @classmethod
    def of(cls, r: Review) -> ReviewOut:
        return cls(
            id=r.id,
            subject=r.subject,
            author_id=r.author_id,
            rating=r.rating,
            text=r.text,
            photos=list(r.photos),
            created_at=r.created_at,
            product_id=r.product_id,
            sku_id=r.sku_id,
            order_id=r.order_id,
            provider_id=r.provider_id,
            booking_id=r.booking_id,
            answer=r.answer,
            answered_at=r.answered_at,
        )


class ReviewPageOut(Output):
    """``rating`` is the average of every review to a tenth, as text (``"4.6"``; ``null``
    before the first); ``rating_tenths`` the same as a whole number."""

    rating: str | None
    rating_tenths: int | None
    rating_count: int
    reviews: list[ReviewOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: ReviewPage) -> ReviewPageOut:
        tenths = page.rating_tenths
        return cls(
            rating=None if tenths is None else f"{tenths // 10}.{tenths % 10}",
            rating_tenths=tenths,
            rating_count=page.rating_count,
            reviews=[ReviewOut.of(r) for r in page.reviews],
            next_cursor=page.next_cursor,
        )


@router.post("/orders/{order_id}/reviews", status_code=201, tags=["reviews"])
def review_product(
    actor: CurrentActor,
    order_id: str,
    body: ProductReviewIn,
    review: Annotated[ReviewProductHandler, Depends(resolve(ReviewProductHandler))],
) -> ReviewOut:
    """Review a SKU of your order once you have it (delivered, picked up or completed);
    one review an order line."""
    made = review(
        ReviewProduct(
            OrderId(order_id), SkuId(body.sku_id), body.rating, body.text, tuple(body.photos)
        ),
        actor=actor,
    )
    return ReviewOut.of(made)


def _page(query: ListReviews, actor: CurrentActor, reviews: ListReviewsHandler) -> ReviewPageOut:
    return ReviewPageOut.of(reviews(query, actor=actor))


@router.get("/products/{product_id}/reviews", tags=["reviews"])
def product_reviews(
    actor: CurrentActor,
    product_id: str,
    reviews: Annotated[ListReviewsHandler, Depends(resolve(ListReviewsHandler))],
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReviewPageOut:
    """A product's reviews, newest first, with its average."""
    return _page(ListReviews(ProductId(product_id), None, cursor, limit), actor, reviews)


@router.get("/merchants/{provider_id}/reviews", tags=["reviews"])
def merchant_reviews(
    actor: CurrentActor,
    provider_id: str,
    reviews: Annotated[ListReviewsHandler, Depends(resolve(ListReviewsHandler))],
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReviewPageOut:
    """A local merchant's reviews, newest first, with its average."""
    return _page(ListReviews(None, ProviderId(provider_id), cursor, limit), actor, reviews)


@router.post("/reviews/{review_id}/answer", tags=["reviews"])
def answer_review(
    actor: CurrentActor,
    review_id: str,
    body: AnswerIn,
    answer: Annotated[AnswerReviewHandler, Depends(resolve(AnswerReviewHandler))],
) -> ReviewOut:
    """Answer a review, once: the seller's staff for a product, the merchant for a service."""
    return ReviewOut.of(answer(AnswerReview(ReviewId(review_id), body.text), actor=actor))
