"""Opening hours and working schedules: what a pickup point, a merchant or a member of its
staff keeps, by weekday, with dates of their own (a holiday, a day off), in China time."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence

import attrs

from shequ.domain.errors import InvalidInput
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = ["WEEKDAYS", "Hours", "OpeningHours"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@attrs.frozen
class Hours:
    """Open from ``start`` to ``end`` (local time, China Standard Time), the same day."""

    start: dt.time
    end: dt.time

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput(f"opening hours end after they start, not {self}", field="hours")

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @classmethod
    def parse(cls, text: str) -> Hours:
        """``"08:00-20:00"``."""
        try:
            start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError:
            raise InvalidInput(
                f"hours look like 08:00-20:00, not {text!r}", field="hours"
            ) from None
        return cls(start, end)


def _ordered(ranges: Sequence[Hours]) -> tuple[Hours, ...]:
    ordered = tuple(sorted(ranges, key=lambda h: h.start))
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise InvalidInput(f"opening hours {a} and {b} overlap", field="hours")
    return ordered


@attrs.frozen
class OpeningHours:
    """Hours for each weekday (Monday first; none: closed), and dates with hours of their
    own (none: closed that day, as on a holiday)."""

    weekly: tuple[tuple[Hours, ...], ...]
    exceptions: tuple[tuple[dt.date, tuple[Hours, ...]], ...] = ()

    def __attrs_post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise InvalidInput("opening hours name all seven weekdays", field="hours")
        for day in self.weekly:
            _ordered(day)
        dates = [d for d, _ in self.exceptions]
        if len(set(dates)) != len(dates):
            raise InvalidInput("a date has one set of exceptional hours", field="hours")
        for _, day in self.exceptions:
            _ordered(day)

    @classmethod
    def build(
        cls,
        weekly: Mapping[str, Sequence[Hours]],
        exceptions: Mapping[dt.date, Sequence[Hours]] | None = None,
    ) -> OpeningHours:
        """``weekly`` by weekday name (``"mon"`` … ``"sun"``); days left out are closed."""
        unknown = set(weekly) - set(WEEKDAYS)
        if unknown:
            raise InvalidInput(f"weekdays are mon … sun, not {sorted(unknown)}", field="hours")
        return cls(
            tuple(_ordered(weekly.get(day, ())) for day in WEEKDAYS),
            tuple(sorted((d, _ordered(h)) for d, h in (exceptions or {}).items())),
        )

    def on(self, day: dt.date) -> tuple[Hours, ...]:
        for date, hours in self.exceptions:
            if date == day:
                return hours
        return self.weekly[day.weekday()]

    def open_on(self, day: dt.date) -> bool:
        return bool(self.on(day))

    def open_at(self, at: dt.datetime) -> bool:
        local = at.astimezone(CHINA_STANDARD_TIME)
        return any(h.start <= local.time() < h.end for h in self.on(local.date()))

    def with_exception(self, day: dt.date, hours: Sequence[Hours]) -> OpeningHours:
        others = tuple((d, h) for d, h in self.exceptions if d != day)
        return attrs.evolve(self, exceptions=tuple(sorted((*others, (day, _ordered(hours))))))
