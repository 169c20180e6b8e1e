"""``shequ reviews …``: a product's or a local merchant's reviews, and answering them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from shequ.application.policy import CONSOLE
from shequ.application.reviews import (
    AnswerReview,
    AnswerReviewHandler,
    ListReviews,
    ListReviewsHandler,
)
from shequ.domain.errors import InvalidInput
from shequ.domain.ids import ProductId, ProviderId, ReviewId
from shequ.domain.reviews import Review
from shequ.domain.values import CHINA_STANDARD_TIME
from shequ.entrypoints.cli.main import emit_data, get, json_option, printable, table

__all__ = ["review_data", "reviews"]


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


def review_data(r: Review) -> dict[str, Any]:
    return {
        "id": r.id,
        "subject": r.subject.value,
        "author_id": r.author_id,
        "rating": r.rating,
        "text": r.text,
        "photos": list(r.photos),
        "created_at": r.created_at.isoformat(),
        "product_id": r.product_id,
        "sku_id": r.sku_id,
        "order_id": r.order_id,
        "provider_id": r.provider_id,
        "booking_id": r.booking_id,
        "answer": r.answer,
        "answered_at": None if r.answered_at is None else r.answered_at.isoformat(),
    }


@click.group("reviews")
def reviews() -> None:
    """Reviews (评价) of products and local services."""


@reviews.command("list")
@click.option("--product", "product_id", help="A product's reviews.")
@click.option("--merchant", "provider_id", help="A local merchant's reviews.")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@json_option
@click.pass_context
def list_reviews(
    ctx: click.Context,
    product_id: str | None,
    provider_id: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The newest reviews of a product or a merchant, with its average."""
    if (product_id is None) == (provider_id is None):
        raise InvalidInput("give --product or --merchant", field="product")
    page = get(ctx, ListReviewsHandler)(
        ListReviews(
            None if product_id is None else ProductId(product_id),
            None if provider_id is None else ProviderId(provider_id),
            limit=limit,
        ),
        actor=CONSOLE,
    )
    tenths = page.rating_tenths
    average = "unrated" if tenths is None else f"{tenths // 10}.{tenths % 10}"
    if as_json:
        emit_data(
            {
                "rating": None if tenths is None else f"{tenths // 10}.{tenths % 10}",
                "rating_count": page.rating_count,
                "reviews": [review_data(r) for r in page.reviews],
            }
        )
        return
    click.echo(f"rating {average} from {page.rating_count} review(s)")
    table(
        ["REVIEW", "AT (UTC+8)", "STARS", "ANSWERED", "TEXT"],
        [
            [
                r.id,
                _local(r.created_at),
                "★" * r.rating,
                "yes" if r.answered_at else "",
                printable(" ".join(r.text.split()))[:40],
            ]
            for r in page.reviews
        ],
    )


@reviews.command("answer")
@click.argument("review_id")
@click.option("--text", required=True, help="Up to 1,000 characters; once a review.")
@click.pass_context
def answer(ctx: click.Context, review_id: str, text: str) -> None:
    """Answer a review for its seller or merchant."""
    done = get(ctx, AnswerReviewHandler)(AnswerReview(ReviewId(review_id), text), actor=CONSOLE)
    click.echo(f"answered review {done.id}")
