from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequ import Money
from shequ.errors import InvalidAmount

amounts = st.integers(min_value=-(10**12), max_value=10**12)
weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(
    lambda ws: sum(ws) > 0
)


@given(amount=amounts, weights=weights)
def test_allocation_always_sums_to_the_whole(amount: int, weights: list[int]) -> None:
    parts = Money(amount).allocate(weights)
    assert len(parts) == len(weights)
    assert sum(p.fen for p in parts) == amount


@given(amount=st.integers(min_value=0, max_value=10**12), weights=weights)
def test_no_part_of_a_positive_amount_is_negative(amount: int, weights: list[int]) -> None:
    assert all(p.fen >= 0 for p in Money(amount).allocate(weights))


@given(amount=amounts, weights=weights)
def test_each_part_is_within_one_fen_of_its_exact_share(amount: int, weights: list[int]) -> None:
    total = sum(weights)
    for part, weight in zip(Money(amount).allocate(weights), weights, strict=True):
        # |part - amount * weight / total| < 1, in integers
        assert abs(part.fen * total - amount * weight) < total


@given(amount=amounts, weights=weights)
def test_a_zero_weight_gets_nothing(amount: int, weights: list[int]) -> None:
    for part, weight in zip(Money(amount).allocate(weights), weights, strict=True):
        if weight == 0:
            assert part == Money(0)


def test_the_leftover_fen_go_to_the_largest_remainders_then_the_earliest() -> None:
    assert Money(100).allocate([1, 1, 1]) == [Money(34), Money(33), Money(33)]
    assert Money(5).allocate([3, 7]) == [Money(2), Money(3)]  # 1.5 and 3.5: the tie goes first
    assert Money(-100).allocate([1, 1, 1]) == [Money(-34), Money(-33), Money(-33)]


@given(fen=st.integers(min_value=0, max_value=10**15 - 1))
def test_format_and_parse_round_trip(fen: int) -> None:
    money = Money(fen)
    assert Money.parse(money.plain()) == money
    assert Money.parse(money.format()) == money


@given(fen=st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
def test_negative_amounts_round_trip_when_allowed(fen: int) -> None:
    assert Money.parse(Money(fen).plain(), allow_negative=True) == Money(fen)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12.34", 1234),
        ("12.3", 1230),
        ("12", 1200),
        ("0.05", 5),
        ("¥9.90", 990),
        (" 7 ", 700),
        ("0", 0),
    ],
)
def test_parse_reads_yuan_exactly(text: str, fen: int) -> None:
    assert Money.parse(text) == Money(fen)


@pytest.mark.parametrize(
    "text",
    [
        "12.345",
        "-1",
        "abc",
        "",
        " ",
        "1e3",
        "12,50",
        "1.2.3",
        ".5",
        "12.",
        "+3",
        "NaN",
        "inf",
        "１２",
        "12 .3",
        "99999999999999",
    ],
)
def test_parse_refuses_what_is_not_a_plain_price(text: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        Money.parse(text)
    assert caught.value.code == "invalid-amount"


@pytest.mark.parametrize("value", [1.5, 12.0, "12", True, None])
def test_money_is_never_built_from_anything_but_an_int(value: object) -> None:
    with pytest.raises(TypeError):
        Money(value)  # type: ignore[arg-type]


def test_arithmetic_and_comparison() -> None:
    assert Money(150) + Money(50) == Money(200)
    assert Money(150) - Money(200) == Money(-50)
    assert Money(199) * 3 == Money(597) == 3 * Money(199)
    assert Money(1) < Money(2)
    assert -Money(5) == Money(-5)
    assert Money(-1234).format() == "-¥12.34"
    assert str(Money(5)) == "¥0.05"
    with pytest.raises(TypeError):
        Money(100) * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(100) + 1  # type: ignore[operator]


@pytest.mark.parametrize("bad", [[], [0, 0], [-1, 2], [1.5]])
def test_allocate_refuses_meaningless_weights(bad: list[int]) -> None:
    with pytest.raises(ValueError, match="weight"):
        Money(100).allocate(bad)
