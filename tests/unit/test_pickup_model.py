"""Pickup points and codes, the rules: opening hours, which orders a point takes, codes
handed over once at their own point, reminders and giving up."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequ.domain.errors import (
    IllegalTransition,
    InvalidInput,
    PickupCodeInvalid,
    PickupPointUnavailable,
)
from shequ.domain.fulfilment import (
    Hours,
    OpeningHours,
    PickupPoint,
    PickupTicket,
    PointKind,
    TicketStatus,
)
from shequ.domain.ids import AccountId, CommunityId, OrderId, PickupPointId
from shequ.domain.routing import GeoPoint
from shequ.domain.values import CHINA_STANDARD_TIME

NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)  # a Wednesday, 10:00 in China
HERE = CommunityId("c1")
DAY = Hours(dt.time(8), dt.time(20))


def point(**change: object) -> PickupPoint:
    values: dict[str, object] = {
        "id": PickupPointId("pp-1"),
        "community_id": HERE,
        "name": "幸福便利店",
        "kind": PointKind.CONVENIENCE_STORE,
        "address": "3幢底商",
        "location": GeoPoint(30.27, 120.15),
        "hours": OpeningHours.build(
            {d: [DAY] for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
            {dt.date(2026, 11, 27): []},  # closed that Friday
        ),
        "daily_capacity": 50,
        "operator_id": AccountId("leader"),
        "now": NOW,
    }
    values.update(change)
    return PickupPoint.create(**values)  # type: ignore[arg-type]


def test_opening_hours_read_weekdays_exceptions_and_local_time() -> None:
    hours = point().hours
    assert hours.open_on(dt.date(2026, 11, 25)) and not hours.open_on(dt.date(2026, 11, 29))
    assert not hours.open_on(dt.date(2026, 11, 27))  # the exception
    assert hours.open_at(NOW)  # 10:00 China time
    assert not hours.open_at(dt.datetime(2026, 11, 25, 21, 0, tzinfo=CHINA_STANDARD_TIME))
    assert hours.open_at(dt.datetime(2026, 11, 25, 0, 30, tzinfo=dt.UTC))  # 08:30 China


def test_hours_that_make_no_sense_are_refused() -> None:
    with pytest.raises(InvalidInput):
        Hours(dt.time(20), dt.time(8))
    with pytest.raises(InvalidInput):
        Hours.parse("8 to 20")
    with pytest.raises(InvalidInput):
        OpeningHours.build({"mon": [DAY, Hours(dt.time(12), dt.time(22))]})  # overlapping
    with pytest.raises(InvalidInput):
        OpeningHours.build({"monday": [DAY]})


def test_a_point_takes_orders_of_its_community_while_active_and_open() -> None:
    p = point()
    p.check_takes(HERE, dt.date(2026, 11, 25))
    with pytest.raises(PickupPointUnavailable, match="another community"):
        p.check_takes(CommunityId("elsewhere"), dt.date(2026, 11, 25))
    with pytest.raises(PickupPointUnavailable, match="closed"):
        p.check_takes(HERE, dt.date(2026, 11, 27))
    p.pause()
    with pytest.raises(PickupPointUnavailable, match="paused"):
        p.check_takes(HERE, dt.date(2026, 11, 25))
    p.resume()
    p.check_takes(HERE, dt.date(2026, 11, 25))


@pytest.mark.parametrize("capacity", [0, -1, 100_001])
def test_a_capacity_outside_reason_is_refused(capacity: int) -> None:
    with pytest.raises(InvalidInput):
        point(daily_capacity=capacity)


def ticket(code: str = "123456") -> PickupTicket:
    return PickupTicket.issue(OrderId("o1"), PickupPointId("pp-1"), AccountId("r1"), code, now=NOW)


def test_a_code_is_handed_over_once_and_only_at_its_point() -> None:
    t = ticket()
    with pytest.raises(PickupCodeInvalid):
        t.hand_over(PickupPointId("pp-2"), "123456", by=AccountId("x"), now=NOW)
    with pytest.raises(PickupCodeInvalid):
        t.hand_over(PickupPointId("pp-1"), "654321", by=AccountId("x"), now=NOW)
    t.hand_over(PickupPointId("pp-1"), "123456", by=AccountId("leader"), now=NOW)
    assert (t.status, t.closed_by, t.closed_at) == (TicketStatus.COLLECTED, "leader", NOW)
    with pytest.raises(PickupCodeInvalid):
        t.hand_over(PickupPointId("pp-1"), "123456", by=AccountId("leader"), now=NOW)
    assert [type(e).__name__ for e in t.events] == [
        "OrderArrivedAtPickupPoint",
        "PickupCodeIssued",
        "OrderPickedUp",
    ]


@given(st.text(max_size=8))
def test_only_six_digits_make_a_code(code: str) -> None:
    if len(code) == 6 and code.isdigit():
        assert ticket(code).code == code
    else:
        with pytest.raises(InvalidInput):
            ticket(code)


def test_a_waiting_order_is_reminded_then_given_up_once() -> None:
    t = ticket()
    later = NOW + dt.timedelta(days=3)
    t.remind(later)
    assert (t.reminders, t.days_waiting(later)) == (1, 3)
    t.give_up(later + dt.timedelta(days=5))
    assert t.status is TicketStatus.RETURNED
    with pytest.raises(IllegalTransition):
        t.remind(later + dt.timedelta(days=6))
