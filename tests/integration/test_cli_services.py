"""Local services through the CLI on every backend: a merchant registered with its staff
and an offering, free time, a booking taken from request to completed, a late
cancellation with its fee, moving a booking, reminders, and refusals with their exit
codes."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.ports import UnitOfWork
from tests.integration.test_cli_ordering import data, refused, run
from tests.support import Shop

TOMORROW = "2026-11-26"  # the tests' clock: Wednesday 25 November, 10:00 in China


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> dict[str, str]:
    made = Shop(app, clock)
    here = made.community()
    account, actor = made.resident(here)
    merchant = data(
        app,
        "services", "merchants", "add", "好阿姨家政", "--kind", "housekeeping",
        "--community", here.id, "--phone", "0571-8888 6666", "--address", "3幢底商",
        "--hours", "mon-sun 08:00-12:00,13:00-18:00",
    )  # fmt: skip
    staff = data(
        app,
        "services", "staff", "add", merchant["id"], "王阿姨",
        "--hours", "mon-sun 08:00-12:00,13:00-18:00",
    )  # fmt: skip
    offering = data(
        app,
        "services", "offerings", "add", merchant["id"], "日常保洁", "--minutes", "120",
        "--price", "120", "--staff", staff["id"], "--buffer", "30", "--late-fee", "20",
    )  # fmt: skip
    return {
        "here": here.id,
        "resident": account.id,
        "address": made.address(actor),
        "merchant": merchant["id"],
        "staff": staff["id"],
        "offering": offering["id"],
    }


def book(app: injector.Injector, shop: dict[str, str], at: str, key: str) -> list[str]:
    return [
        "services", "book", "--resident", shop["resident"], "--community", shop["here"],
        "--offering", shop["offering"], "--at", at, "--address", shop["address"], "--key", key,
    ]  # fmt: skip


def test_a_booking_is_taken_from_free_time_to_completed(
    app: injector.Injector, shop: dict[str, str]
) -> None:
    listed = run(app, "services", "merchants", "list", "--community", shop["here"])
    assert listed.exit_code == 0 and "好阿姨家政" in listed.stdout
    free = data(app, "services", "free", shop["offering"], "--date", TOMORROW)
    assert free[0]["starts_at"] == f"{TOMORROW}T00:00:00+00:00"
    made = run(app, *book(app, shop, f"{TOMORROW}T09:00", "k1"))
    assert made.exit_code == 0, made.output + made.stderr
    assert "requested 2026-11-26 09:00–11:00" in made.stdout and "¥120.00" in made.stdout
    booking = data(app, *book(app, shop, f"{TOMORROW}T09:00", "k1"))  # the same key
    refused(run(app, *book(app, shop, f"{TOMORROW}T10:00", "k2")), 65, "slot-taken")
    for step in ("confirmed", "in_progress", "completed"):
        assert data(app, "services", "bookings", "advance", booking["id"], step)["status"] == step
    day = data(
        app, "services", "bookings", "list", "--merchant", shop["merchant"], "--date", TOMORROW
    )
    assert [b["id"] for b in day] == [booking["id"]]
    shown = run(app, "services", "merchants", "show", shop["merchant"])
    assert "日常保洁" in shown.stdout and "王阿姨" in shown.stdout


def test_a_late_cancellation_costs_the_fee_and_a_booking_moves(
    app: injector.Injector, shop: dict[str, str], clock: FixedClock
) -> None:
    late = data(app, *book(app, shop, f"{TOMORROW}T08:00", "late"))
    cancelled = data(app, "services", "bookings", "cancel", late["id"], "--reason", "有事")
    assert (cancelled["fee_fen"], cancelled["cancelled_by"]) == (2000, "resident")
    other = data(app, *book(app, shop, f"{TOMORROW}T13:00", "other"))
    refused(
        run(app, "services", "bookings", "cancel", other["id"], "--as-merchant"),
        65,
        "invalid-input",
    )  # a merchant says why
    moved = data(
        app, "services", "bookings", "reschedule", other["id"], "--at", f"{TOMORROW}T15:00"
    )
    assert moved["starts_at"] == f"{TOMORROW}T07:00:00+00:00"
    freed = data(
        app, "services", "bookings", "cancel", other["id"], "--as-merchant", "--reason", "阿姨请假"
    )
    assert (freed["fee_fen"], freed["cancelled_by"]) == (0, "merchant")
    refused(
        run(app, "services", "bookings", "advance", other["id"], "confirmed"),
        65,
        "illegal-transition",
    )
    refused(
        run(app, "services", "bookings", "advance", "nope", "confirmed"), 66, "booking-not-found"
    )
    refused(run(app, "services", "free", "nope"), 66, "offering-not-found")
    usage = run(app, "services", "bookings", "list")
    assert usage.exit_code == 2
    data(app, *book(app, shop, f"{TOMORROW}T09:00", "soon"))
    clock.advance(dt.timedelta(hours=1))
    reminded = run(app, "services", "remind")
    assert reminded.exit_code == 0 and "1 booking(s) reminded" in reminded.stdout
    with app.get(UnitOfWork) as uow:
        names = [m.name for m in uow.outbox.pending(10_000)]
    assert names.count("ServiceBookingReminder") == 1
