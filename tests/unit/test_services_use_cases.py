"""Free time through the use cases, as a hypothesis property on the in-memory adapters:
whatever residents have booked, booking any free time returned succeeds, and the time is
then no longer returned."""

from __future__ import annotations

import contextlib
import datetime as dt

import hypothesis.strategies as st
from hypothesis import given, settings

from shequ.adapters.clock import FixedClock
from shequ.application.services.bookings import FindFreeTime, FindFreeTimeHandler
from shequ.domain.errors import SlotTaken
from tests.conftest import NOW
from tests.services_support import book, cst, housekeeping
from tests.support import Shop, container
from tests.support import settings as shequ_settings

TOMORROW = dt.date(2026, 11, 26)


@settings(max_examples=25)
@given(
    taken=st.lists(st.tuples(st.integers(8, 17), st.sampled_from([0, 30])), max_size=6),
    data=st.data(),
)
def test_booking_a_free_time_always_succeeds_when_nobody_took_it(
    taken: list[tuple[int, int]], data: st.DataObject
) -> None:
    clock = FixedClock(NOW)
    app = container(shequ_settings(storage="memory"), clock)
    shop = Shop(app, clock)
    here = shop.community()
    hk = housekeeping(app, here)
    _, resident = shop.resident(here)
    door = shop.address(resident)
    for hour, minute in taken:  # what neighbours booked, where they could
        with contextlib.suppress(SlotTaken):  # nobody free then: not what is checked below
            book(app, resident, here, hk.cleaning, cst(TOMORROW, hour, minute), door)
    find = app.get(FindFreeTimeHandler)
    free = find(FindFreeTime(hk.cleaning.id, TOMORROW), actor=resident)
    if not free:
        return
    chosen = data.draw(st.sampled_from(free))
    made = book(app, resident, here, hk.cleaning, chosen.starts_at, door, staff_id=chosen.staff_id)
    assert (made.starts_at, made.staff_id) == (chosen.starts_at, chosen.staff_id)
    after = find(FindFreeTime(hk.cleaning.id, TOMORROW), actor=resident)
    assert (chosen.starts_at, chosen.staff_id) not in {(f.starts_at, f.staff_id) for f in after}
