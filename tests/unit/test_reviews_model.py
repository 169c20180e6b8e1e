"""Ratings as hypothesis properties: an average in tenths is the exact mean rounded half
up, whatever the order the ratings came in; a rating outside 1 to 5 changes nothing."""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import hypothesis.strategies as st
import pytest
from hypothesis import given

from shequ.domain.catalog import Product
from shequ.domain.errors import IllegalTransition, InvalidInput
from shequ.domain.ids import AccountId, CommunityId, ProductId, ReviewId, SellerId
from shequ.domain.reviews import Review, ReviewSubject, average_tenths

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


@given(st.lists(st.integers(1, 5), max_size=200), st.randoms())
def test_the_average_is_the_mean_rounded_half_up_in_any_order(
    ratings: list[int], shuffle: object
) -> None:
    product = Product.create(
        id=ProductId("p1"), seller_id=SellerId("s1"), name="橙子", category="生鲜", now=NOW
    )
    order = list(ratings)
    shuffle.shuffle(order)  # type: ignore[attr-defined]
    for r in order:
        product.rated(r)
    expected = half_up(Fraction(10 * sum(ratings), len(ratings))) if ratings else None
    assert product.rating_tenths == expected == average_tenths(sum(ratings), len(ratings))
    assert product.rating_count == len(ratings)


@given(st.one_of(st.integers(-10, 0), st.integers(6, 20), st.just(True), st.just(4.5)))
def test_a_rating_outside_one_to_five_changes_nothing(wrong: object) -> None:
    product = Product.create(
        id=ProductId("p1"), seller_id=SellerId("s1"), name="橙子", category="生鲜", now=NOW
    )
    with pytest.raises(InvalidInput):
        product.rated(wrong)  # type: ignore[arg-type]
    assert (product.rating_total, product.rating_count, product.version) == (0, 0, 1)


def test_an_answer_is_given_once() -> None:
    review = Review.write(
        id=ReviewId("r1"),
        subject=ReviewSubject.PRODUCT,
        author_id=AccountId("a1"),
        community_id=CommunityId("c1"),
        rating=4,
        text="<b>甜</b>",
        photo_urls=(),
        now=NOW,
        product_id="p1",
    )
    review.answer_with("谢谢", by=AccountId("m1"), now=NOW)
    with pytest.raises(IllegalTransition):
        review.answer_with("再谢", by=AccountId("m1"), now=NOW)
    assert (review.text, review.answer, review.version) == ("<b>甜</b>", "谢谢", 2)
