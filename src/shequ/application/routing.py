"""The route-planning port (配送路线规划), and turning times of day into the problem's minutes."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from shequ.domain.errors import InvalidInput
from shequ.domain.routing import MINUTES_PER_DAY, RoutePlan, RoutingProblem
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = ["RoutePlanner", "minutes_into_day"]


class RoutePlanner(Protocol):
    """Plans a day's delivery runs.

    ``plan`` returns a :class:`RoutePlan` that :func:`shequ.domain.routing.check_plan`
    accepts: every stop is either on exactly one route or listed in ``unplaced`` with a
    reason an operator can act on (cold goods without a cold-chain vehicle, more parcels
    than any vehicle carries, a window no vehicle can reach, no room left); a stop that
    cannot be served never fails the whole plan. Routes without visits are left out.

    ``time_limit`` is the most seconds the search may take (building the model and
    reading the answer come on top); a planner returns the best plan found by then. It
    raises :class:`~shequ.domain.errors.InvalidInput` for a limit that is not above zero,
    and :class:`~shequ.domain.errors.RoutingUnavailable` when its engine is not installed
    or found no plan at all.
    """

    def plan(self, problem: RoutingProblem, *, time_limit: float) -> RoutePlan: ...


def minutes_into_day(
    day: dt.date, moment: dt.datetime | dt.time, *, tz: dt.tzinfo = CHINA_STANDARD_TIME
) -> int:
    """Minutes from the start of ``day`` in ``tz`` (local midnight) to ``moment``.

    A ``datetime`` must carry a time zone (a slot stored in UTC is fine); a ``time`` is a
    wall-clock time on ``day`` (opening hours). Seconds are dropped. A moment outside the
    day raises :class:`InvalidInput`, except the day's end (24:00 → 1440).
    """
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            raise InvalidInput("a delivery time must carry a time zone", field="moment")
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        minutes = int((moment - midnight).total_seconds() // 60)
    else:
        minutes = moment.hour * 60 + moment.minute
    if not 0 <= minutes <= MINUTES_PER_DAY:
        raise InvalidInput(f"{moment.isoformat()} is not on {day.isoformat()}", field="moment")
    return minutes
