"""Local services on every storage: the directory, free time, a booking from request to
review, cancellations with and without a fee, moving a booking, reminders, the refusals
that change nothing, and residents racing for one member of staff's time: exactly one
booking."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import UnitOfWork
from shequ.application.services.bookings import (
    CancelBooking,
    CancelBookingHandler,
    FindFreeTime,
    FindFreeTimeHandler,
    ListBookings,
    ListBookingsHandler,
    MoveBooking,
    MoveBookingHandler,
    RemindBookings,
    RemindBookingsHandler,
    RescheduleBooking,
    RescheduleBookingHandler,
    ReviewBooking,
    ReviewBookingHandler,
)
from shequ.application.services.directory import (
    EditProvider,
    EditProviderHandler,
    EditStaff,
    EditStaffHandler,
    GetProvider,
    GetProviderHandler,
    SearchProviders,
    SearchProvidersHandler,
)
from shequ.domain.errors import (
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    SlotTaken,
)
from shequ.domain.identity import Membership, Role
from shequ.domain.money import Money
from shequ.domain.services import BookingStatus, ProviderKind
from tests.integration.test_concurrency import race
from tests.services_support import WORKDAYS, Housekeeping, book, cst, housekeeping
from tests.support import Shop

BACKENDS = ["postgres", "sqlite", "memory"]
TOMORROW = dt.date(2026, 11, 26)  # the tests' clock: Wednesday 25 November, 10:00 in China


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def outbox_names(app: injector.Injector) -> list[str]:
    with app.get(UnitOfWork) as uow:
        return [m.name for m in uow.outbox.pending(100_000)]


def merchant_of(shop: Shop, hk: Housekeeping) -> Actor:
    """An account of the merchant's own staff."""
    made = shop.app.get(OpenAccountHandler)(
        OpenAccount(
            phone=str(next(shop.phones)),
            memberships=(Membership(Role.MERCHANT, hk.provider.community_ids[0], hk.provider.id),),
        ),
        actor=CONSOLE,
    )
    return Actor.of(made)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_booking_goes_from_free_time_to_a_review_that_moves_the_average(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    hk = housekeeping(app, here)
    _, resident = shop.resident(here)
    merchant = merchant_of(shop, hk)
    found = app.get(SearchProvidersHandler)(
        SearchProviders(here.id, kind=ProviderKind.HOUSEKEEPING, keyword="保洁"), actor=resident
    )
    assert [p.id for p in found.items] == [hk.provider.id]
    assert (
        app.get(SearchProvidersHandler)(
            SearchProviders(here.id, keyword="理发店"), actor=resident
        ).items
        == ()
    )
    free = app.get(FindFreeTimeHandler)(FindFreeTime(hk.cleaning.id, TOMORROW), actor=resident)
    # 08:00-12:00 and 13:00-18:00, two hours each, every half hour: 08:00 … 10:00, 13:00 … 16:00
    assert sorted({f.starts_at for f in free})[:2] == [cst(TOMORROW, 8), cst(TOMORROW, 8, 30)]
    assert {f.staff_id for f in free} == {s.id for s in hk.staff}
    booking = book(app, resident, here, hk.cleaning, cst(TOMORROW, 9), shop.address(resident))
    assert (booking.status, booking.price, booking.staff_id) == (
        BookingStatus.REQUESTED,
        Money(12000),
        hk.staff[0].id,
    )
    after = app.get(FindFreeTimeHandler)(
        FindFreeTime(hk.cleaning.id, TOMORROW, staff_id=hk.staff[0].id), actor=resident
    )
    starts = {f.starts_at for f in after}
    # busy 09:00-11:00 and 30 minutes after: 08:00 would end at 10:00, 11:00 too close
    assert cst(TOMORROW, 9) not in starts and cst(TOMORROW, 8) not in starts
    assert cst(TOMORROW, 13) in starts
    move = app.get(MoveBookingHandler)
    for status in (BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED):
        booking = move(MoveBooking(booking.id, status), actor=merchant)
    with pytest.raises(Forbidden):  # only the resident reviews
        app.get(ReviewBookingHandler)(ReviewBooking(booking.id, 5, "好"), actor=merchant)
    for bad in (0, 6):
        with pytest.raises(InvalidInput):
            app.get(ReviewBookingHandler)(ReviewBooking(booking.id, bad), actor=resident)
    done = app.get(ReviewBookingHandler)(
        ReviewBooking(booking.id, 4, "<script>alert(1)</script>很干净"), actor=resident
    )
    assert done.review_text == "<script>alert(1)</script>很干净"  # stored as written
    with pytest.raises(IllegalTransition):
        app.get(ReviewBookingHandler)(ReviewBooking(booking.id, 5), actor=resident)
    shown = app.get(GetProviderHandler)(GetProvider(hk.provider.id), actor=resident)
    assert (shown.provider.rating_count, shown.provider.rating_tenths) == (1, 40)
    names = outbox_names(app)
    assert names.count("ServiceBooked") == 1 and names.count("ServiceBookingChanged") == 4
    mine = app.get(ListBookingsHandler)(
        ListBookings(resident_id=resident.account_id), actor=resident
    )
    assert [b.id for b in mine] == [booking.id]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_twenty_residents_race_for_one_member_of_staff_s_hour_and_one_gets_it(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    hk = housekeeping(app, here)
    residents = [shop.resident(here)[1] for _ in range(20)]
    doors = [shop.address(r) for r in residents]
    only = hk.staff[1].id
    outcomes = race(
        20,
        lambda i: (
            book(app, residents[i], here, hk.cleaning, cst(TOMORROW, 14), doors[i], staff_id=only)
            and None
        ),
    )
    assert sum(o is None for o in outcomes) == 1, outcomes
    assert all(o is None or isinstance(o, SlotTaken) for o in outcomes), outcomes
    with app.get(UnitOfWork) as uow:
        held = uow.bookings.busy(only, cst(TOMORROW, 0), cst(TOMORROW, 23))
    assert len(held) == 1


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_twenty_residents_race_for_an_hour_any_of_two_can_give_and_two_get_it(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    hk = housekeeping(app, here)
    residents = [shop.resident(here)[1] for _ in range(20)]
    doors = [shop.address(r) for r in residents]
    outcomes = race(
        20,
        lambda i: book(app, residents[i], here, hk.cleaning, cst(TOMORROW, 14), doors[i]) and None,
    )
    assert sum(o is None for o in outcomes) == 2, outcomes
    assert all(o is None or isinstance(o, SlotTaken) for o in outcomes), outcomes
    with app.get(UnitOfWork) as uow:
        for member in hk.staff:
            assert len(uow.bookings.busy(member.id, cst(TOMORROW, 0), cst(TOMORROW, 23))) == 1


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_late_cancellation_costs_the_fee_and_a_merchant_s_costs_nothing(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    hk = housekeeping(app, here)
    _, resident = shop.resident(here)
    merchant = merchant_of(shop, hk)
    door = shop.address(resident)
    early = book(app, resident, here, hk.cleaning, cst(TOMORROW, 13), door)  # 27 hours ahead
    late = book(app, resident, here, hk.cleaning, cst(TOMORROW, 8), door)  # 22 hours ahead
    theirs = book(app, resident, here, hk.cleaning, cst(TOMORROW, 16), door)
    cancel = app.get(CancelBookingHandler)
    assert cancel(CancelBooking(early.id), actor=resident).fee == Money(0)
    fined = cancel(CancelBooking(late.id, "临时有事"), actor=resident)
    assert (fined.fee, fined.cancelled_by) == (Money(2000), "resident")
    with pytest.raises(InvalidInput):  # a merchant says why
        cancel(CancelBooking(theirs.id), actor=merchant)
    freed = cancel(CancelBooking(theirs.id, "阿姨生病"), actor=merchant)
    assert (freed.fee, freed.cancelled_by) == (Money(0), "merchant")
    with pytest.raises(IllegalTransition):
        cancel(CancelBooking(theirs.id, "again"), actor=merchant)
    assert outbox_names(app).count("ServiceBookingCancelled") == 3
    again = book(app, resident, here, hk.cleaning, cst(TOMORROW, 8), door)  # its time is free
    assert again.status is BookingStatus.REQUESTED


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_refusals_change_nothing(app: injector.Injector, shop: Shop, clock: FixedClock) -> None:
    here, elsewhere = shop.community(), shop.community("翠苑")
    hk = housekeeping(app, here)
    _, resident = shop.resident(here)
    _, stranger = shop.resident(elsewhere)
    _, neighbour = shop.resident(here)
    door = shop.address(resident)
    first = book(app, resident, here, hk.cleaning, cst(TOMORROW, 9), door, staff_id=hk.staff[0].id)
    cases = [
        (cst(dt.date(2026, 11, 25), 8), {}),  # in the past
        (cst(dt.date(2026, 11, 25), 10, 30), {}),  # within the hour ahead it needs
        (cst(TOMORROW, 19), {}),  # after hours
        (cst(TOMORROW, 11), {}),  # over the lunch break
        (cst(TOMORROW, 10), {"staff_id": hk.staff[0].id}),  # her booking, and its buffer
    ]
    for starts_at, more in cases:
        with pytest.raises(SlotTaken):
            book(app, resident, here, hk.cleaning, starts_at, door, **more)
    with pytest.raises(NotFound):  # another's address does not exist for you
        book(app, neighbour, here, hk.cleaning, cst(TOMORROW, 13), door)
    with pytest.raises(InvalidInput):
        book(app, resident, here, hk.cleaning, cst(TOMORROW, 13), None)  # at home: where?
    with pytest.raises(Forbidden):  # not a resident of a community it serves
        book(app, stranger, here, hk.cleaning, cst(TOMORROW, 13), None)
    with pytest.raises(InvalidInput):
        book(app, stranger, elsewhere, hk.cleaning, cst(TOMORROW, 13), None)
    with pytest.raises(Forbidden):  # someone else's booking
        app.get(CancelBookingHandler)(CancelBooking(first.id), actor=neighbour)
    with pytest.raises(Forbidden):
        app.get(ReviewBookingHandler)(ReviewBooking(first.id, 5), actor=neighbour)
    with pytest.raises(IllegalTransition):  # not completed
        app.get(ReviewBookingHandler)(ReviewBooking(first.id, 5), actor=resident)
    # a day off given later: that day has no free time left
    app.get(EditStaffHandler)(
        EditStaff(hk.staff[1].id, schedule=WORKDAYS.with_exception(TOMORROW, [])), actor=CONSOLE
    )
    with pytest.raises(SlotTaken):
        book(app, resident, here, hk.cleaning, cst(TOMORROW, 14), door, staff_id=hk.staff[1].id)
    with app.get(UnitOfWork) as uow:
        assert [b.id for b in uow.bookings.of_resident(resident.account_id or "")] == [first.id]  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_booking_moves_to_free_time_only_and_reminders_go_once(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    hk = housekeeping(app, here)
    _, resident = shop.resident(here)
    door = shop.address(resident)
    mine = book(app, resident, here, hk.cleaning, cst(TOMORROW, 9), door, staff_id=hk.staff[0].id)
    other = book(app, resident, here, hk.cleaning, cst(TOMORROW, 13), door, staff_id=hk.staff[0].id)
    move = app.get(RescheduleBookingHandler)
    with pytest.raises(SlotTaken):  # her 13:00 holds her until 15:30
        move(RescheduleBooking(mine.id, cst(TOMORROW, 14), hk.staff[0].id), actor=resident)
    moved = move(RescheduleBooking(mine.id, cst(TOMORROW, 9, 30)), actor=resident)  # its own time
    assert moved.starts_at == cst(TOMORROW, 9, 30)
    moved = move(RescheduleBooking(mine.id, cst(TOMORROW, 14)), actor=resident)  # 李阿姨 is free
    assert (moved.starts_at, moved.staff_id) == (cst(TOMORROW, 14), hk.staff[1].id)
    remind = app.get(RemindBookingsHandler)
    assert remind(RemindBookings(), actor=CONSOLE) == 0  # nothing within 24 hours yet
    clock.advance(dt.timedelta(hours=4))
    assert remind(RemindBookings(), actor=CONSOLE) == 1  # 14:00: tomorrow's 13:00 is
    assert remind(RemindBookings(), actor=CONSOLE) == 0
    clock.advance(dt.timedelta(hours=1))
    assert remind(RemindBookings(), actor=CONSOLE) == 1  # 15:00: tomorrow's 14:00 too
    assert outbox_names(app).count("ServiceBookingReminder") == 2
    with pytest.raises(Forbidden):
        remind(RemindBookings(), actor=resident)
    assert other.id != mine.id


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_the_directory_is_edited_by_its_merchant_and_verified_by_the_operator(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    hk = housekeeping(app, here)
    merchant = merchant_of(shop, hk)
    _, operator = shop.resident(here, Role.OPERATOR)
    edit = app.get(EditProviderHandler)
    edited = edit(EditProvider(hk.provider.id, description="新开业八折"), actor=merchant)
    assert edited.description == "新开业八折"
    with pytest.raises(Forbidden):  # a merchant does not vouch for itself
        edit(EditProvider(hk.provider.id, verified=True), actor=merchant)
    assert edit(EditProvider(hk.provider.id, verified=True), actor=operator).verified
    found = app.get(SearchProvidersHandler)(
        SearchProviders(here.id, verified_only=True, keyword="八折"), actor=merchant
    )
    assert [p.id for p in found.items] == [hk.provider.id]
    with pytest.raises(InvalidInput):
        edit(EditProvider(hk.provider.id, description="长" * 2001), actor=merchant)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_demo_has_merchants_and_a_confirmed_booking(app: injector.Injector) -> None:
    from shequ.application.catalog.demo import SeedDemoHandler
    from shequ.application.ordering.demo import SeedDemoOrdersHandler
    from shequ.application.services.demo import SeedDemoServicesHandler

    made = app.get(SeedDemoHandler)(actor=CONSOLE)
    app.get(SeedDemoOrdersHandler)(made, actor=CONSOLE)
    demo = app.get(SeedDemoServicesHandler)(made, actor=CONSOLE)
    assert demo.booking.status is BookingStatus.CONFIRMED
    found = app.get(SearchProvidersHandler)(
        SearchProviders(made.community.id, verified_only=True), actor=CONSOLE
    )
    assert [p.name for p in found.items] == ["好阿姨家政"]
    free = app.get(FindFreeTimeHandler)(
        FindFreeTime(demo.booking.offering_id, demo.booking.starts_at.date()), actor=CONSOLE
    )
    taken = (demo.booking.starts_at, demo.booking.staff_id)
    assert taken not in {(f.starts_at, f.staff_id) for f in free}
