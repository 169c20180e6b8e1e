"""Local services' rules: free time as hypothesis properties (no free start clashes with a
booking or leaves the schedule, and booking one always fits when nobody took it), the
booking lifecycle, cancellation fees, reviews and the average rating."""

from __future__ import annotations

import datetime as dt

import hypothesis.strategies as st
import pytest
from hypothesis import given

from shequ.domain.errors import IllegalTransition, InvalidInput
from shequ.domain.hours import Hours, OpeningHours
from shequ.domain.ids import AccountId, BookingId, CommunityId, OfferingId, ProviderId, StaffId
from shequ.domain.money import Money
from shequ.domain.services import (
    BookingStatus,
    PriceKind,
    ServiceBooking,
    ServiceOffering,
    ServiceProvider,
    Venue,
    fits,
    free_starts,
)
from shequ.domain.values import CHINA_STANDARD_TIME

MONDAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 6, 0, tzinfo=CHINA_STANDARD_TIME)
STEP = dt.timedelta(minutes=30)
CST = CHINA_STANDARD_TIME


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CST)


def offering(duration: int = 60, buffer: int = 0, **more: object) -> ServiceOffering:
    values: dict[str, object] = {
        "id": OfferingId("o1"),
        "provider_id": ProviderId("p1"),
        "name": "日常保洁",
        "duration_minutes": duration,
        "buffer_minutes": buffer,
        "price_kind": PriceKind.FIXED,
        "price": Money(12000),
        "venue": Venue.AT_HOME,
        "staff_ids": (StaffId("s1"),),
        "late_cancel_fee": Money(2000),
    }
    values.update(more)
    return ServiceOffering.create(**values)  # type: ignore[arg-type]


def booking(starts_at: dt.datetime, chosen: ServiceOffering | None = None) -> ServiceBooking:
    return ServiceBooking.book(
        id=BookingId("b1"),
        resident_id=AccountId("r1"),
        community_id=CommunityId("c1"),
        offering=chosen or offering(),
        staff_id=StaffId("s1"),
        starts_at=starts_at,
        address_id="a1",
        note="",
        idempotency_key="k1",
        now=NOW,
    )


# ---------------------------------------------------------------- free time as properties

minutes = st.integers(0, 23 * 4).map(lambda q: q * 15)


@st.composite
def schedules(draw: st.DrawFn) -> OpeningHours:
    weekly = {}
    for day in ("mon", "tue", "wed"):
        stretches = []
        begin = draw(st.integers(6 * 60, 12 * 60))
        for _ in range(draw(st.integers(0, 2))):
            length = draw(st.integers(60, 5 * 60))
            end = min(begin + length, 23 * 60 + 59)
            if end <= begin:
                break
            stretches.append(Hours(dt.time(*divmod(begin, 60)), dt.time(*divmod(end, 60))))
            begin = end + draw(st.integers(15, 120))
            if begin >= 23 * 60:
                break
        weekly[day] = stretches
    leave = {MONDAY + dt.timedelta(days=1): []} if draw(st.booleans()) else {}
    return OpeningHours.build(weekly, leave)


@st.composite
def busy_times(draw: st.DrawFn) -> list[tuple[dt.datetime, dt.datetime]]:
    found = []
    for _ in range(draw(st.integers(0, 6))):
        day = MONDAY + dt.timedelta(days=draw(st.integers(0, 2)))
        start = at(day, 0) + dt.timedelta(minutes=draw(minutes))
        found.append((start, start + dt.timedelta(minutes=draw(st.integers(15, 240)))))
    return found


@given(
    schedule=schedules(),
    busy=busy_times(),
    duration=st.integers(15, 180),
    buffer=st.integers(0, 60),
    lead=st.integers(0, 48 * 60),
)
def test_no_free_start_clashes_with_a_booking_or_leaves_the_schedule(
    schedule: OpeningHours,
    busy: list[tuple[dt.datetime, dt.datetime]],
    duration: int,
    buffer: int,
    lead: int,
) -> None:
    length, pause = dt.timedelta(minutes=duration), dt.timedelta(minutes=buffer)
    earliest = at(MONDAY, 0) + dt.timedelta(minutes=lead)
    starts = free_starts(
        schedule=schedule,
        busy=busy,
        duration=length,
        buffer=pause,
        start=at(MONDAY, 0),
        end=at(MONDAY + dt.timedelta(days=3), 0),
        step=STEP,
        earliest=earliest,
    )
    assert starts == sorted(starts)
    for start in starts:
        local = start.astimezone(CST)
        assert start >= earliest
        assert any(
            at(local.date(), h.start.hour, h.start.minute) <= start
            and start + length <= at(local.date(), h.end.hour, h.end.minute)
            for h in schedule.on(local.date())
        ), "outside the schedule"
        for b_start, b_end in busy:
            assert start + length + pause <= b_start or b_end <= start, "clashes"


@given(
    schedule=schedules(),
    busy=busy_times(),
    duration=st.integers(15, 180),
    buffer=st.integers(0, 60),
    data=st.data(),
)
def test_booking_a_free_start_fits_and_takes_it_from_those_it_overlaps(
    schedule: OpeningHours,
    busy: list[tuple[dt.datetime, dt.datetime]],
    duration: int,
    buffer: int,
    data: st.DataObject,
) -> None:
    length, pause = dt.timedelta(minutes=duration), dt.timedelta(minutes=buffer)
    window = {"start": at(MONDAY, 0), "end": at(MONDAY + dt.timedelta(days=3), 0)}
    ask = {"schedule": schedule, "duration": length, "buffer": pause, "earliest": window["start"]}
    starts = free_starts(busy=busy, step=STEP, **window, **ask)  # type: ignore[arg-type]
    if not starts:
        return
    chosen = data.draw(st.sampled_from(starts))
    assert fits(chosen, busy=busy, **ask)  # type: ignore[arg-type]
    after = free_starts(
        busy=[*busy, (chosen, chosen + length + pause)],
        step=STEP,
        **window,
        **ask,  # type: ignore[arg-type]
    )
    assert chosen not in after
    assert set(after) <= set(starts)
    for other in set(starts) - set(after):  # only those that would clash with it went
        assert other < chosen + length + pause and chosen < other + length + pause


def test_a_day_of_leave_has_no_free_time() -> None:
    schedule = OpeningHours.build({"mon": [Hours.parse("08:00-12:00")]}, {MONDAY: []})
    assert (
        free_starts(
            schedule=schedule,
            busy=[],
            duration=dt.timedelta(hours=1),
            buffer=dt.timedelta(0),
            start=at(MONDAY, 0),
            end=at(MONDAY, 23),
            step=STEP,
            earliest=at(MONDAY, 0),
        )
        == []
    )


# ---------------------------------------------------------------- the lifecycle


def test_a_booking_goes_from_requested_to_reviewed() -> None:
    b = booking(at(MONDAY, 9))
    assert (b.ends_at, b.busy_until) == (at(MONDAY, 10), at(MONDAY, 10))
    for status in (BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED):
        b.move(status, now=NOW)
    b.reviewed(5, "很干净", now=NOW)
    assert (b.status, b.rating, b.review_text) == (BookingStatus.REVIEWED, 5, "很干净")
    with pytest.raises(IllegalTransition):
        b.reviewed(4, "again", now=NOW)
    assert [e.event_type for e in b.events].count("ServiceBookingChanged") == 4


@pytest.mark.parametrize("rating", [0, 6, -1, True, 4.5])
def test_a_rating_is_one_to_five(rating: object) -> None:
    b = booking(at(MONDAY, 9))
    for status in (BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED):
        b.move(status, now=NOW)
    with pytest.raises(InvalidInput):
        b.reviewed(rating, "", now=NOW)  # type: ignore[arg-type]
    assert b.status is BookingStatus.COMPLETED


def test_the_resident_cancels_free_before_the_cut_off_and_pays_the_fee_after() -> None:
    cut_off = at(MONDAY, 9) - dt.timedelta(hours=24)
    early, late = booking(at(MONDAY, 9)), booking(at(MONDAY, 9))
    assert early.cancel(
        by="resident", now=cut_off, free_until=cut_off, late_fee=Money(2000)
    ) == Money(0)
    after = cut_off + dt.timedelta(seconds=1)
    assert late.cancel(by="resident", now=after, free_until=cut_off, late_fee=Money(2000)) == Money(
        2000
    )
    assert (late.status, late.fee, late.cancelled_by) == (
        BookingStatus.CANCELLED,
        Money(2000),
        "resident",
    )
    with pytest.raises(IllegalTransition):
        late.cancel(by="resident", now=after, free_until=cut_off, late_fee=Money(2000))


def test_the_merchant_cancels_free_and_says_why() -> None:
    b = booking(at(MONDAY, 9))
    with pytest.raises(InvalidInput):
        b.cancel(by="merchant", now=at(MONDAY, 8), free_until=at(MONDAY, 0), late_fee=Money(2000))
    fee = b.cancel(
        by="merchant",
        now=at(MONDAY, 8),
        free_until=at(MONDAY, 0),
        late_fee=Money(2000),
        reason="师傅生病",
    )
    assert fee == Money(0) and b.events[-1].event_type == "ServiceBookingCancelled"


def test_a_no_show_comes_after_the_start_and_costs_the_fee() -> None:
    b = booking(at(MONDAY, 9))
    b.move(BookingStatus.CONFIRMED, now=NOW)
    with pytest.raises(IllegalTransition):
        b.no_show(fee=Money(2000), now=at(MONDAY, 8))
    b.no_show(fee=Money(2000), now=at(MONDAY, 9, 15))
    assert (b.status, b.fee) == (BookingStatus.NO_SHOW, Money(2000))


def test_a_booking_moves_to_another_time_until_it_starts() -> None:
    b = booking(at(MONDAY, 9), offering(buffer=30))
    b.reschedule(at(MONDAY, 14), offering(buffer=30), staff_id=StaffId("s1"), now=NOW)
    assert (b.starts_at, b.busy_until) == (at(MONDAY, 14), at(MONDAY, 15, 30))
    b.move(BookingStatus.CONFIRMED, now=NOW)
    b.move(BookingStatus.IN_PROGRESS, now=NOW)
    with pytest.raises(IllegalTransition):
        b.reschedule(at(MONDAY, 16), offering(), staff_id=StaffId("s1"), now=NOW)


def test_an_offering_refuses_nonsense() -> None:
    for bad in (
        {"duration": 10},
        {"buffer": -5},
        {"price": Money(0)},
        {"late_cancel_fee": Money(99999)},
        {"staff_ids": ()},
    ):
        with pytest.raises(InvalidInput):
            offering(**bad)  # type: ignore[arg-type]
    quoted = offering(price_kind=PriceKind.QUOTE, price=Money(3000), late_cancel_fee=Money(0))
    assert quoted.price == Money(3000)  # the call-out fee


def test_an_at_home_service_needs_an_address_and_an_in_store_one_none() -> None:
    with pytest.raises(InvalidInput):
        ServiceBooking.book(
            id=BookingId("b2"),
            resident_id=AccountId("r1"),
            community_id=CommunityId("c1"),
            offering=offering(),
            staff_id=StaffId("s1"),
            starts_at=at(MONDAY, 9),
            address_id=None,
            note="",
            idempotency_key="k2",
            now=NOW,
        )


@given(st.lists(st.integers(1, 5), min_size=1, max_size=50))
def test_the_average_rating_is_rounded_half_up_to_a_tenth(ratings: list[int]) -> None:
    merchant = ServiceProvider.create(
        id=ProviderId("p1"),
        name="阿姨家政",
        kind="housekeeping",  # type: ignore[arg-type]
        community_ids=(CommunityId("c1"),),
        contact_phone="0571-8888 6666",
        address="阳光花园3幢底商",
        hours=OpeningHours.build({}),
        now=NOW,
    )
    for r in ratings:
        merchant.rated(r)
    exact = 10 * sum(ratings) / len(ratings)
    assert merchant.rating_tenths is not None
    assert merchant.rating_tenths - 0.5 <= exact < merchant.rating_tenths + 0.5
