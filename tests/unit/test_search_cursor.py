from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequ import Money, ProductFilter, ProductId, ProductSort
from shequ.application.catalog.search import Position, decode_cursor, encode_cursor
from shequ.domain.ids import CommunityId
from shequ.errors import InvalidAmount, InvalidCursor, InvalidInput

FILTER = ProductFilter(community_id=CommunityId("c1"), category="生鲜", min_price=Money(100))


@given(key=st.integers(0, 100_000_000), product_id=st.text(min_size=1, max_size=40))
def test_a_price_cursor_round_trips(key: int, product_id: str) -> None:
    position = Position(key=key, product_id=ProductId(product_id))
    token = encode_cursor(position, FILTER, ProductSort.PRICE)
    assert decode_cursor(token, FILTER, ProductSort.PRICE) == position


def test_a_newest_cursor_round_trips_with_its_time() -> None:
    position = Position(
        key=dt.datetime(2026, 11, 25, 1, 2, 3, 456789, tzinfo=dt.UTC), product_id=ProductId("p")
    )
    token = encode_cursor(position, FILTER, ProductSort.NEWEST)
    assert decode_cursor(token, FILTER, ProductSort.NEWEST) == position


@given(data=st.data())
def test_any_altered_character_is_refused(data: st.DataObject) -> None:
    token = encode_cursor(
        Position(key=1990, product_id=ProductId("abc123")), FILTER, ProductSort.PRICE
    )
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.characters().filter(lambda c: c != token[index]))
    altered = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(InvalidCursor):
        decode_cursor(altered, FILTER, ProductSort.PRICE)


@pytest.mark.parametrize(
    "token", ["", ".", "garbage", "e30.", "!!!.abc", "a" * 500, "é.é", "\ud800.\udfff"]
)
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(InvalidCursor) as caught:
        decode_cursor(token, FILTER, ProductSort.PRICE)
    assert caught.value.code == "invalid-cursor"


def test_a_cursor_is_only_valid_for_its_own_search() -> None:
    token = encode_cursor(Position(key=1990, product_id=ProductId("p")), FILTER, ProductSort.PRICE)
    with pytest.raises(InvalidCursor):
        decode_cursor(token, FILTER, ProductSort.PRICE_DESC)
    with pytest.raises(InvalidCursor):
        decode_cursor(token, ProductFilter(category="生鲜"), ProductSort.PRICE)


def test_a_filter_with_min_above_max_is_refused() -> None:
    with pytest.raises(InvalidInput):
        ProductFilter(min_price=Money(200), max_price=Money(100))


@pytest.mark.parametrize("fen", [-1, 10**20])
def test_a_price_bound_outside_any_price_is_refused(fen: int) -> None:
    with pytest.raises(InvalidAmount):
        ProductFilter(min_price=Money(fen))
    with pytest.raises(InvalidAmount):
        ProductFilter(max_price=Money(fen))


def test_category_filter_matches_the_category_and_below_but_not_lookalikes() -> None:
    from shequ import Product, SellerId

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def product(category: str) -> Product:
        return Product.create(
            id=ProductId("p"), seller_id=SellerId("s"), name="n", category=category, now=now
        )

    f = ProductFilter(category="生鲜")
    assert f.matches_product(product("生鲜"))
    assert f.matches_product(product("生鲜/水果"))
    assert not f.matches_product(product("生鲜水果"))


def forged(key: object, product_id: object = "p", sort: ProductSort = ProductSort.PRICE) -> str:
    """A cursor built by hand, with a seal that matches (the seal is no secret)."""
    import json

    from shequ.application.catalog.search import _b64, _seal

    body = _b64(json.dumps({"k": key, "i": product_id}).encode())
    return f"{body}.{_seal(FILTER.fingerprint(sort), body)}"


@pytest.mark.parametrize(
    ("key", "sort"),
    [
        (10**30, ProductSort.PRICE),
        (-1, ProductSort.PRICE),
        ("12", ProductSort.PRICE),
        (1.5, ProductSort.PRICE),
        ("2026-11-25T01:02:03", ProductSort.NEWEST),
        (12, ProductSort.NEWEST),
        ("not a time", ProductSort.NEWEST),
    ],
)
def test_a_forged_cursor_with_a_bad_key_is_refused(key: object, sort: ProductSort) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(forged(key, sort=sort), FILTER, sort)


def test_a_filter_fingerprint_tells_none_from_the_word_none() -> None:
    assert ProductFilter().fingerprint(ProductSort.PRICE) != ProductFilter(
        community_id=CommunityId("None")
    ).fingerprint(ProductSort.PRICE)
