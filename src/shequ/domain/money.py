"""Money in integer fen (分), CNY only. No float ever enters or leaves."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs

from shequ.domain.errors import InvalidAmount

__all__ = ["Money"]

_AMOUNT = re.compile(r"(?P<sign>-)?(?P<yuan>[0-9]{1,13})(?:\.(?P<fen>[0-9]{1,2}))?")


def _require_int(_: Any, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int:
        raise TypeError(f"Money.{attribute.name} must be an int number of fen, not {value!r}")


@attrs.frozen(order=True)
class Money:
    """An amount of Chinese yuan, held as an integer number of fen (1 yuan = 100 fen)."""

    fen: int = attrs.field(validator=_require_int)

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @classmethod
    def parse(cls, text: str, *, allow_negative: bool = False) -> Money:
        """Read ``"12.34"``, ``"12.3"`` or ``"12"`` (yuan) exactly.

        Three decimals, signs where a price is meant, blanks and anything that is not
        a plain decimal number raise :class:`InvalidAmount`.
        """
        match = _AMOUNT.fullmatch(text.strip().removeprefix("¥").strip())
        if match is None:
            raise InvalidAmount(
                f"{text!r} is not an amount of yuan with at most two decimals", value=text
            )
        if match["sign"] and not allow_negative:
            raise InvalidAmount(f"{text!r} is negative; an amount here cannot be", value=text)
        fen = int(match["yuan"]) * 100 + int((match["fen"] or "0").ljust(2, "0"))
        return cls(-fen if match["sign"] else fen)

    def format(self) -> str:
        """``¥12.34``; negative amounts read ``-¥12.34``."""
        sign = "-" if self.fen < 0 else ""
        yuan, fen = divmod(abs(self.fen), 100)
        return f"{sign}¥{yuan}.{fen:02d}"

    def plain(self) -> str:
        """``12.34``: the form :meth:`parse` reads back, as used in CSV files."""
        return self.format().replace("¥", "")

    def __str__(self) -> str:
        return self.format()

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen - other.fen)

    def __mul__(self, quantity: int) -> Money:
        if type(quantity) is not int:
            return NotImplemented
        return Money(self.fen * quantity)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.fen)

    def __bool__(self) -> bool:
        return self.fen != 0

    @property
    def is_negative(self) -> bool:
        return self.fen < 0

    def allocate(self, weights: Sequence[int]) -> list[Money]:
        """Split into parts proportional to ``weights`` that sum exactly to this amount.

        Largest remainder: every part gets the floor of its exact share, then the fen
        left over go one each to the parts with the largest remainders (ties to the
        earlier part). Each part is within one fen of its exact share.
        """
        if not weights:
            raise ValueError("allocate needs at least one weight")
        if any(type(w) is not int or w < 0 for w in weights):
            raise ValueError("weights must be non-negative ints")
        total = sum(weights)
        if total == 0:
            raise ValueError("weights must not all be zero")
        magnitude = abs(self.fen)
        shares = [divmod(magnitude * w, total) for w in weights]
        parts = [quotient for quotient, _ in shares]
        leftover = magnitude - sum(parts)
        by_remainder = sorted(range(len(weights)), key=lambda i: (-shares[i][1], i))
        for i in by_remainder[:leftover]:
            parts[i] += 1
        sign = -1 if self.fen < 0 else 1
        return [Money(sign * part) for part in parts]

    def __composite_values__(self) -> tuple[int]:
        return (self.fen,)
