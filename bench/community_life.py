"""Community life: activity sign-ups (活动报名) and service bookings (服务预约),
JoinActivityHandler and BookServiceHandler against hand-written SQL, in the same run.

For each database it builds two identical databases with the library (``World``: schema,
a community, --signups residents through ``OpenAccountHandler``; an activity with
--capacity places, starting in 7 days, and a warm-up activity, through
``CreateActivityHandler``; a merchant through ``RegisterProviderHandler`` with one member
of staff through ``AddStaffHandler``, working 07:00-22:00 every day, and one offering
through ``AddOfferingHandler``: a haircut of 1 hour at the merchant's (so no address), no
buffer, ¥50, confirmed by the merchant later; all made as the console). Then two runs,
the two sides alternating call by call, each call timed:

- **sign-ups**: --signups residents, one after another, each sign up for the one activity
  (1 person), so the first --capacity get a place and the others go to the waitlist:
  - on one database through ``JoinActivityHandler``, resolved from the container for every
    call as a request gets it (the timing includes that), acting as the resident
    (``Actor.of(account)``): in one transaction (on SQLite every unit of work begins with
    ``BEGIN IMMEDIATE``) the activity read afresh and locked (``FOR UPDATE`` on
    PostgreSQL), the resident's live sign-up looked for, the sign-up inserted with the
    activity's next seq as confirmed or waitlisted, the activity's confirmed, next_seq and
    version updated guarded by its version, and ``SignUpChanged`` in the outbox;
  - on the other with the same transaction written by hand against the bare driver
    (sqlite3 / psycopg), on the library's schema: ``BEGIN IMMEDIATE`` on SQLite; the
    activity's title, capacity, confirmed, next_seq, cancelled, sign-up close and
    version (``SELECT … FOR UPDATE`` on PostgreSQL); the resident's sign-up with
    ``status != 'cancelled'``; ``INSERT`` of the sign-up; ``UPDATE activities SET
    confirmed = ?, next_seq = ?, version = ? WHERE id = ? AND version = ?``; the outbox row
    with the library's payload; ``COMMIT``.
- **bookings**: --bookings bookings of the haircut with the one member of staff, each at
  another whole hour of their schedule from two hours ahead on (after the 1-hour minimum
  lead, within the 30-day horizon: the library's default rules), in a random order, each
  by a resident in turn with a new idempotency key:
  - on one database through ``BookServiceHandler``, resolved from the container for every
    call, acting as the resident, naming the member of staff: in one transaction the
    idempotency-key lookup, the offering, its merchant (does it serve the community), the
    member of staff read afresh and locked, the bookings that keep them busy around the
    start, the start checked against their schedule, the lead and the horizon, the booking
    inserted, the member's version moved on (guarded by it), and ``ServiceBooked`` in the
    outbox;
  - on the other the same by hand: ``BEGIN IMMEDIATE`` on SQLite; the idempotency-key
    lookup; the offering with its merchant's communities (one join); the member's schedule,
    active flag and version (``SELECT … FOR UPDATE`` on PostgreSQL); the schedule, lead and
    horizon checked in Python; one ``SELECT … LIMIT 1`` for a booking of that member in a
    status that keeps them busy with ``starts_at < end AND starts_at >= start - 16 h AND
    busy_until > start`` (16 hours: the longest service and buffer an offering may have);
    ``INSERT`` of the booking (its history, as the library writes it); ``UPDATE
    service_staff SET version = ? WHERE id = ? AND version = ?``; the outbox row;
    ``COMMIT``.

The library's use cases also ask the authorization policy, which reads only the actor it
is given (no SQL); the raw side does not. Before the timed calls, --warm-up sign-ups a
side for the warm-up activity (half its places, so both outcomes run) and --warm-up
bookings a side (the first hours of the shuffled list) are made and not counted.

A gate checks each side afterwards, reading the database through the bare driver: for the
activity, exactly --capacity sign-ups confirmed and the rest waitlisted, in seq order,
the seqs 1 to --signups each once, every resident once, each call answered as its turn
says, the activity's confirmed, next_seq and version as the sign-ups leave them, and one
``SignUpChanged`` per sign-up naming its resident and status; for the bookings, every
hour booked exactly once, no two bookings of the member overlapping, the member's
version moved on once a booking, and one ``ServiceBooked`` per booking. It prints pass
or FAIL and exits 1 on a FAIL.

    python bench/community_life.py                                  # SQLite only
    python bench/community_life.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import group_joins
import place_orders
from databases import postgres_databases, sqlite_databases
from group_joins import BenchClock, ClockModule, say, unjson, when
from pickup_codes import figures, machine, show_machine

from shequ import (
    Actor,
    CreateCommunity,
    CreateCommunityHandler,
    Membership,
    Money,
    OpenAccount,
    OpenAccountHandler,
    Role,
    bootstrap,
)
from shequ.application.community.life import (
    CreateActivity,
    CreateActivityHandler,
    JoinActivity,
    JoinActivityHandler,
)
from shequ.application.policy import CONSOLE
from shequ.application.ports import SchemaMigrations
from shequ.application.services.bookings import BookService, BookServiceHandler, ServiceRules
from shequ.application.services.directory import (
    AddOffering,
    AddOfferingHandler,
    AddStaff,
    AddStaffHandler,
    RegisterProvider,
    RegisterProviderHandler,
)
from shequ.domain.community import SignUpStatus
from shequ.domain.errors import (
    ConcurrentUpdate,
    Duplicate,
    IdempotencyKeyReused,
    IllegalTransition,
    InvalidInput,
    NotFound,
    SlotTaken,
)
from shequ.domain.hours import Hours, OpeningHours
from shequ.domain.ids import ActivityId, OfferingId, ProviderId, StaffId
from shequ.domain.services import LONGEST_BUSY, BookingStatus, PriceKind, ProviderKind, Venue
from shequ.domain.values import CHINA_STANDARD_TIME

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OPENS, CLOSES = 7, 22  # the member of staff's day, local hours
SCHEDULE = OpeningHours.build({day: [Hours(dt.time(OPENS), dt.time(CLOSES))] for day in WEEKDAYS})
RULES = ServiceRules()  # the library's defaults: 1 hour's lead, 30 days ahead at most
HOUR = dt.timedelta(hours=1)
PROVIDER, STAFF, OFFERING = "sp-bench", "sp-bench-1", "sp-bench-cut"
HOLDING = tuple(s.value for s in BookingStatus if s.holds_staff)


# ------------------------------------------------------------------ the library's side


class World:
    """A database built with the library: a community, ``residents`` residents, two
    activities (the one measured and a warm-up one) and a merchant with one member of
    staff and a 1-hour offering."""

    def __init__(
        self, url: str, keys: Path, residents: int, capacity: int, warm_up: int, clock: BenchClock
    ) -> None:
        self.url, self.clock = url, clock
        self.app = bootstrap(place_orders.settings(url, keys), ClockModule(clock))
        self.app.get(SchemaMigrations).upgrade()
        community = self.app.get(CreateCommunityHandler)(
            CreateCommunity(name="基准小区"), actor=CONSOLE
        )
        self.community = community.id
        self.residents: list[Actor] = []
        for n in range(residents):
            account = self.app.get(OpenAccountHandler)(
                OpenAccount(
                    phone=f"138{n:08d}", memberships=(Membership(Role.RESIDENT, community.id),)
                ),
                actor=CONSOLE,
            )
            self.residents.append(Actor.of(account))
        self.activity = self._activity("元旦联欢会", capacity)
        self.warm_up_activity = self._activity("预热活动", max(1, warm_up // 2))
        provider = self.app.get(RegisterProviderHandler)(
            RegisterProvider(
                name="基准理发店",
                kind=ProviderKind.BEAUTY,
                community_ids=(community.id,),
                contact_phone="0571-8888 6666",
                address="1幢底商",
                hours=SCHEDULE,
                provider_id=ProviderId(PROVIDER),
            ),
            actor=CONSOLE,
        )
        self.app.get(AddStaffHandler)(
            AddStaff(provider.id, "张师傅", SCHEDULE, staff_id=StaffId(STAFF)), actor=CONSOLE
        )
        self.app.get(AddOfferingHandler)(
            AddOffering(
                provider.id,
                "剪发",
                duration_minutes=60,
                price_kind=PriceKind.FIXED,
                price=Money.parse("50.00"),
                venue=Venue.AT_MERCHANT,
                staff_ids=(StaffId(STAFF),),
                offering_id=OfferingId(OFFERING),
            ),
            actor=CONSOLE,
        )

    def _activity(self, title: str, capacity: int) -> ActivityId:
        starts = self.clock.now() + dt.timedelta(days=7)
        made = self.app.get(CreateActivityHandler)(
            CreateActivity(
                community_id=self.community,  # type: ignore[arg-type]
                title=title,
                place="小区活动中心",
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=2),
                capacity=capacity,
            ),
            actor=CONSOLE,
        )
        return made.id

    def sign_up(self, activity_id: str, resident: Actor) -> str:
        assert resident.account_id is not None
        handler = self.app.get(JoinActivityHandler)
        made = handler(JoinActivity(ActivityId(activity_id), resident.account_id), actor=resident)
        return made.status.value

    def book(self, resident: Actor, starts_at: dt.datetime) -> str:
        assert resident.account_id is not None
        handler = self.app.get(BookServiceHandler)
        made = handler(
            BookService(
                resident_id=resident.account_id,
                community_id=self.community,  # type: ignore[arg-type]
                offering_id=OfferingId(OFFERING),
                starts_at=starts_at,
                idempotency_key=uuid.uuid4().hex,
                staff_id=StaffId(STAFF),
                address_id=None,
            ),
            actor=resident,
        )
        return made.id


# ------------------------------------------------------------------ the raw twin


def fits_schedule(schedule: Any, start: dt.datetime, end: dt.datetime) -> bool:
    """Whether ``start`` to ``end`` lies in one stretch of a stored schedule (the JSON of
    the library's ``WeeklyHours``: seven lists of ``"07:00-22:00"`` and the exceptions by
    date), in China's local time."""
    local = start.astimezone(CHINA_STANDARD_TIME)
    day = local.date()
    hours = schedule["exceptions"].get(day.isoformat(), schedule["weekly"][day.weekday()])
    for stretch in hours:
        opens, closes = (dt.time.fromisoformat(part) for part in stretch.split("-"))
        begins = dt.datetime.combine(day, opens, tzinfo=CHINA_STANDARD_TIME)
        if begins <= start and end <= dt.datetime.combine(day, closes, tzinfo=CHINA_STANDARD_TIME):
            return True
    return False


class Raw(group_joins.Raw):
    """Sign-ups and bookings, by hand, on the library's schema, reading ``clock``."""

    def __init__(self, url: str, clock: BenchClock) -> None:
        super().__init__(url)
        self.clock = clock

    def _transaction(self, work: Callable[[Any], Any]) -> Any:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        try:
            done = work(cur)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return done

    def _guarded(self, cur: Any, text: str, params: tuple[Any, ...]) -> None:
        cur.execute(self.sql(text), params)
        if cur.rowcount != 1:
            raise ConcurrentUpdate("changed by someone else first; try again")

    def _event(self, cur: Any, name: str, payload: dict[str, Any], now: dt.datetime) -> None:
        cur.execute(
            self.sql("INSERT INTO outbox (name, payload, occurred_at) VALUES (?, ?, ?)"),
            (name, json.dumps(payload), self.stamp(now)),
        )

    def sign_up(self, activity_id: str, resident: str, people: int = 1) -> str:
        """The sign-up's status: a place while places are left, else the waitlist."""
        return str(self._transaction(lambda cur: self._sign_up(cur, activity_id, resident, people)))

    def _sign_up(self, cur: Any, activity_id: str, resident: str, people: int) -> str:
        now = self.clock.now()
        cur.execute(
            self.sql(
                "SELECT title, capacity, confirmed, next_seq, cancelled, signups_close_at, "
                f"version FROM activities WHERE id = ?{self.lock()}"
            ),
            (activity_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"no activity with id {activity_id!r}", id=activity_id)
        title, capacity, confirmed, seq, cancelled, closes, version = row
        if cancelled or now >= when(closes):
            raise IllegalTransition(f"activity {activity_id} takes no sign-ups now")
        cur.execute(
            self.sql(
                "SELECT id FROM activity_signups WHERE activity_id = ? AND resident_id = ? "
                "AND status != 'cancelled'"
            ),
            (activity_id, resident),
        )
        if cur.fetchone() is not None:
            raise Duplicate(f"you have signed up for {title} already")
        if not 1 <= people <= 10:
            raise InvalidInput("sign up 1 to 10 people", field="people")
        fits = people <= capacity - confirmed
        status = SignUpStatus.CONFIRMED.value if fits else SignUpStatus.WAITLISTED.value
        cur.execute(
            self.sql(
                "INSERT INTO activity_signups (id, activity_id, resident_id, seq, status, "
                "signed_up_at, people, changed_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 1)"
            ),
            (uuid.uuid4().hex, activity_id, resident, seq, status, self.stamp(now), people),
        )
        self._guarded(
            cur,
            "UPDATE activities SET confirmed = ?, next_seq = ?, version = ? "
            "WHERE id = ? AND version = ?",
            (confirmed + people if fits else confirmed, seq + 1, version + 1, activity_id, version),
        )
        payload = {
            "occurred_at": now.isoformat(),
            "activity_id": activity_id,
            "resident_id": resident,
            "status": status,
            "promoted": False,
        }
        self._event(cur, "SignUpChanged", payload, now)
        return status

    def book(
        self, resident: str, community: str, offering_id: str, staff_id: str, starts: dt.datetime
    ) -> str:
        """The booking's id; a time the member is not free at raises ``SlotTaken``."""
        key = uuid.uuid4().hex
        return str(
            self._transaction(
                lambda cur: self._book(cur, resident, community, offering_id, staff_id, starts, key)
            )
        )

    def _book(
        self,
        cur: Any,
        resident: str,
        community: str,
        offering_id: str,
        staff_id: str,
        starts: dt.datetime,
        key: str,
    ) -> str:
        now, starts = self.clock.now(), starts.astimezone(dt.UTC)
        cur.execute(
            self.sql(
                "SELECT id, offering_id, starts_at FROM service_bookings "
                "WHERE resident_id = ? AND idempotency_key = ?"
            ),
            (resident, key),
        )
        made = cur.fetchone()
        if made is not None:  # the same request again: its booking stands
            if (made[1], when(made[2])) != (offering_id, starts):
                raise IdempotencyKeyReused("this idempotency key was used for another booking")
            return str(made[0])
        cur.execute(
            self.sql(
                "SELECT o.provider_id, o.duration_minutes, o.buffer_minutes, o.price_fen, "
                "o.venue, o.staff_ids, o.auto_confirm, o.active, p.community_ids "
                "FROM service_offerings o JOIN service_providers p ON p.id = o.provider_id "
                "WHERE o.id = ?"
            ),
            (offering_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"no offering with id {offering_id!r}", id=offering_id)
        provider, minutes, buffer, price, venue, staff_ids, auto_confirm, active, where = row
        if not active:
            raise SlotTaken("the offering takes no bookings now")
        if community not in unjson(where):
            raise InvalidInput("the merchant does not serve that community", field="community_id")
        if venue != Venue.AT_MERCHANT.value or auto_confirm:
            raise NotImplementedError("the bench's offering is at the merchant's, confirmed later")
        if starts > now + RULES.horizon:
            raise InvalidInput("that is too far ahead to book", field="starts_at")
        if staff_id not in unjson(staff_ids):
            raise InvalidInput(f"{staff_id} does not deliver {offering_id}", field="staff_id")
        cur.execute(
            self.sql(
                f"SELECT schedule, active, version FROM service_staff WHERE id = ?{self.lock()}"
            ),
            (staff_id,),
        )
        schedule, on_duty, version = cur.fetchone()
        ends = starts + dt.timedelta(minutes=minutes)
        until = ends + dt.timedelta(minutes=buffer)
        free = (
            on_duty
            and starts >= now + RULES.min_lead
            and fits_schedule(unjson(schedule), starts, ends)
        )
        if free:
            cur.execute(
                self.sql(
                    "SELECT id FROM service_bookings WHERE staff_id = ? AND status IN "
                    f"({', '.join('?' for _ in HOLDING)}) AND starts_at < ? AND starts_at >= ? "
                    "AND busy_until > ? LIMIT 1"
                ),
                (
                    staff_id,
                    *HOLDING,
                    self.stamp(until),
                    self.stamp(starts - LONGEST_BUSY),
                    self.stamp(starts),
                ),
            )
            free = cur.fetchone() is None
        if not free:
            raise SlotTaken("nobody is free then: it is taken, outside the schedule, or too soon")
        booking_id, stamp = uuid.uuid4().hex, self.stamp(now)
        history = [{"at": now.isoformat(), "status": BookingStatus.REQUESTED.value, "note": ""}]
        cur.execute(
            self.sql(
                "INSERT INTO service_bookings (id, resident_id, community_id, provider_id, "
                "offering_id, staff_id, starts_at, ends_at, busy_until, price_fen, created_at, "
                "idempotency_key, status, address_id, note, fee_fen, cancelled_by, rating, "
                "review_text, reminded_at, history, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?, ?, 'requested', NULL, '', 0, NULL, NULL, '', NULL, ?, 1)"
            ),
            (
                booking_id,
                resident,
                community,
                provider,
                offering_id,
                staff_id,
                self.stamp(starts),
                self.stamp(ends),
                self.stamp(until),
                price,
                stamp,
                key,
                json.dumps(history),
            ),
        )
        self._guarded(
            cur,
            "UPDATE service_staff SET version = ? WHERE id = ? AND version = ?",
            (version + 1, staff_id, version),
        )
        payload = {
            "occurred_at": now.isoformat(),
            "booking_id": booking_id,
            "provider_id": provider,
            "offering_id": offering_id,
            "staff_id": staff_id,
            "resident_id": resident,
            "starts_at": starts.isoformat(),
        }
        self._event(cur, "ServiceBooked", payload, now)
        return booking_id


# ------------------------------------------------------------------ the hours


def free_hours(now: dt.datetime, count: int) -> list[dt.datetime]:
    """``count`` whole hours of the member's schedule, the first at least two hours after
    ``now`` (the minimum lead and a margin for the run), the last within the horizon less
    a day: ``RuntimeError`` when there are fewer."""
    local = now.astimezone(CHINA_STANDARD_TIME) + 2 * HOUR
    moment = local.replace(minute=0, second=0, microsecond=0) + HOUR
    last = now + RULES.horizon - dt.timedelta(days=1)
    hours: list[dt.datetime] = []
    while len(hours) < count:
        if moment > last:
            raise RuntimeError(
                f"only {len(hours)} free hours within {RULES.horizon.days - 1} days: "
                "lower --bookings or --warm-up"
            )
        if OPENS <= moment.hour < CLOSES:  # a 1-hour service ends by closing time
            hours.append(moment.astimezone(dt.UTC))
        moment += HOUR
    return hours


# ------------------------------------------------------------------ the gate


def signed_up(url: str, activity_id: str, capacity: int, answers: list[str]) -> dict[str, Any]:
    """The gate's reading of one database's activity, through the bare driver: ``answers``
    are the statuses the calls returned, in order."""
    raw = Raw(url, BenchClock())
    rows = raw.rows(
        "SELECT seq, status, resident_id, people FROM activity_signups WHERE activity_id = ? "
        "ORDER BY seq",
        (activity_id,),
    )
    (activity,) = raw.rows(
        "SELECT confirmed, next_seq, version FROM activities WHERE id = ?", (activity_id,)
    )
    events = [
        unjson(r["payload"])
        for r in raw.rows("SELECT payload FROM outbox WHERE name = 'SignUpChanged'")
    ]
    raw.close()
    count = len(answers)
    events = [e for e in events if e["activity_id"] == activity_id]
    by_resident = {r["resident_id"]: r["status"] for r in rows}
    expected = ["confirmed"] * min(capacity, count) + ["waitlisted"] * max(0, count - capacity)
    state = {
        "sign_ups": len(rows),
        "confirmed": sum(1 for r in rows if r["status"] == "confirmed"),
        "waitlisted": sum(1 for r in rows if r["status"] == "waitlisted"),
        "seqs_1_to_n": [r["seq"] for r in rows] == list(range(1, count + 1)),
        "in_seq_order": [r["status"] for r in rows] == expected,
        "answers_in_turn": answers == expected,
        "residents_once": len(by_resident) == len(rows),
        "activity": {k: activity[k] for k in ("confirmed", "next_seq", "version")},
        "events": len(events),
        "events_match": Counter((e["resident_id"], e["status"]) for e in events)
        == Counter(by_resident.items()),
    }
    ok = (
        len(rows) == count
        and state["confirmed"] == min(capacity, count)
        and state["waitlisted"] == max(0, count - capacity)
        and state["seqs_1_to_n"]
        and state["in_seq_order"]
        and state["answers_in_turn"]
        and state["residents_once"]
        and state["activity"]
        == {"confirmed": min(capacity, count), "next_seq": count + 1, "version": count + 1}
        and len(events) == count
        and state["events_match"]
    )
    state["gate"] = "pass" if ok else "FAIL"
    return state


def booked(url: str, hours: list[dt.datetime], ids: list[str]) -> dict[str, Any]:
    """The gate's reading of one database's bookings: ``hours`` asked for, ``ids`` the
    bookings the calls returned."""
    raw = Raw(url, BenchClock())
    rows = raw.rows(
        "SELECT id, staff_id, status, starts_at, busy_until FROM service_bookings "
        "ORDER BY starts_at"
    )
    (staff,) = raw.rows("SELECT version FROM service_staff WHERE id = ?", (STAFF,))
    events = Counter(
        unjson(r["payload"])["booking_id"]
        for r in raw.rows("SELECT payload FROM outbox WHERE name = 'ServiceBooked'")
    )
    raw.close()
    starts = [when(r["starts_at"]) for r in rows]
    spans = [(when(r["starts_at"]), when(r["busy_until"])) for r in rows]
    overlaps = sum(1 for a, b in itertools.pairwise(spans) if b[0] < a[1])
    state = {
        "bookings": len(rows),
        "hours_once": Counter(starts) == Counter(hours) and len(set(starts)) == len(hours),
        "overlaps": overlaps,
        "staff_version": staff["version"],
        "events": sum(events.values()),
        "events_once": sum(1 for r in rows if events[r["id"]] == 1),
    }
    ok = (
        len(rows) == len(hours) == len(ids)
        and {r["id"] for r in rows} == set(ids)
        and all(r["staff_id"] == STAFF and r["status"] == "requested" for r in rows)
        and state["hours_once"]
        and overlaps == 0
        and staff["version"] == len(hours) + 1
        and sum(events.values()) == len(rows) == state["events_once"]
    )
    state["gate"] = "pass" if ok else "FAIL"
    return state


# ------------------------------------------------------------------ runs


def timed(call: Callable[[], str], times: list[float]) -> str:
    began = time.perf_counter()
    answer = call()
    times.append((time.perf_counter() - began) * 1000)
    return answer


def bench(name: str, lib_url: str, raw_url: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    clock = BenchClock()
    with tempfile.TemporaryDirectory() as keys:
        say(f"[{name}] seeding two databases ({args.signups} residents each)…")
        worlds = {
            side: World(
                url, Path(keys) / f"{side}.keys", args.signups, args.capacity, args.warm_up, clock
            )
            for side, url in (("lib", lib_url), ("raw", raw_url))
        }
        lib, raw = worlds["lib"], Raw(raw_url, clock)
        # resident n is the library's actor n and, on the raw side, that world's account n
        residents = lib.residents
        ids = [str(r.account_id) for r in worlds["raw"].residents]
        community = str(worlds["raw"].community)

        def sign_up(side: str, activity: str, n: int) -> Callable[[], str]:
            if side == "lib":
                return lambda: lib.sign_up(activity, residents[n])
            return lambda: raw.sign_up(activity, ids[n])

        def book(side: str, n: int, at: dt.datetime) -> Callable[[], str]:
            k = n % len(residents)
            if side == "lib":
                return lambda: lib.book(residents[k], at)
            return lambda: raw.book(ids[k], community, OFFERING, STAFF, at)

        hours = free_hours(clock.now(), args.bookings + args.warm_up)
        order = hours[:]
        rng.shuffle(order)
        activities = {side: str(w.activity) for side, w in worlds.items()}
        warm = {side: str(w.warm_up_activity) for side, w in worlds.items()}
        times: dict[str, dict[str, list[float]]] = {
            run: {side: [] for side in worlds} for run in ("sign_ups", "bookings")
        }
        answers: dict[str, list[str]] = {side: [] for side in worlds}
        made: dict[str, list[str]] = {side: [] for side in worlds}
        say(f"[{name}] warming up…")
        for n in range(args.warm_up):
            for side in worlds:
                sign_up(side, warm[side], n)()
                made[side].append(book(side, n, order[n])())
        say(f"[{name}] sign-ups…")
        for n in range(args.signups):
            for side in worlds:
                call = sign_up(side, activities[side], n)
                answers[side].append(timed(call, times["sign_ups"][side]))
        say(f"[{name}] bookings…")
        for n in range(args.warm_up, len(order)):
            for side in worlds:
                made[side].append(timed(book(side, n, order[n]), times["bookings"][side]))
        raw.close()
        result: dict[str, Any] = {
            "database": name,
            "signups": args.signups,
            "capacity": args.capacity,
            "bookings": args.bookings,
            "warm_up": args.warm_up,
            "first_hour": hours[0].isoformat(),
            "last_hour": hours[-1].isoformat(),
        }
        result["runs"] = {
            run: {side: figures(t) for side, t in sides.items()} for run, sides in times.items()
        }
        result["gate"] = {
            side: {
                "sign_ups": signed_up(url, activities[side], args.capacity, answers[side]),
                "bookings": booked(url, hours, made[side]),
            }
            for side, url in (("lib", lib_url), ("raw", raw_url))
        }
    return result


# ------------------------------------------------------------------ report


def gates(r: dict[str, Any]) -> list[str]:
    return [r["gate"][side][run]["gate"] for side in ("lib", "raw") for run in r["gate"][side]]


def show(r: dict[str, Any]) -> None:
    print(
        f"\n== {r['database']}: {r['signups']} sign-ups for {r['capacity']} places, "
        f"{r['bookings']} bookings (after {r['warm_up']} warm-up of each), hours "
        f"{r['first_hour'][:13]} to {r['last_hour'][:13]} UTC =="
    )
    for run, label in (("sign_ups", "sign-ups"), ("bookings", "bookings")):
        lib, raw = r["runs"][run]["lib"], r["runs"][run]["raw"]
        print(
            f"{label:8}  library {lib['per_s']:7.1f}/s  p50 {lib['p50']:6.2f}  "
            f"p95 {lib['p95']:6.2f}  p99 {lib['p99']:6.2f} ms   |   raw {raw['per_s']:7.1f}/s  "
            f"p50 {raw['p50']:6.2f}  p95 {raw['p95']:6.2f}  p99 {raw['p99']:6.2f} ms   |   "
            f"library/raw {lib['per_s'] / raw['per_s']:.2f}, +{lib['mean'] - raw['mean']:.2f} ms"
        )
    for side in ("lib", "raw"):
        s, b = r["gate"][side]["sign_ups"], r["gate"][side]["bookings"]
        print(
            f"gate {side} sign-ups: {s['sign_ups']} sign-ups, {s['confirmed']} confirmed, "
            f"{s['waitlisted']} waitlisted, seqs 1..n {s['seqs_1_to_n']}, in seq order "
            f"{s['in_seq_order']}, answers in turn {s['answers_in_turn']}, residents once "
            f"{s['residents_once']}, activity {s['activity']}, SignUpChanged {s['events']} "
            f"(matching {s['events_match']})   {s['gate']}"
        )
        print(
            f"gate {side} bookings: {b['bookings']} bookings, every hour once {b['hours_once']}, "
            f"overlaps {b['overlaps']}, staff version {b['staff_version']}, ServiceBooked "
            f"{b['events']} ({b['events_once']} bookings named once)   {b['gate']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL; without it only SQLite runs")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--signups", type=int, default=300, help="residents signing up, timed")
    parser.add_argument("--capacity", type=int, default=200, help="the activity's places")
    parser.add_argument("--bookings", type=int, default=300, help="bookings, timed")
    parser.add_argument("--warm-up", type=int, default=10, help="of each, first, untimed")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.signups < 2 or args.bookings < 2:
        parser.error("--signups and --bookings need 2 or more, for percentiles")
    if not 1 <= args.capacity <= 10_000 or not 0 <= args.warm_up <= args.signups:
        parser.error("--capacity is 1 to 10,000, --warm-up 0 to --signups")
    facts = machine(args.postgres)
    results = []
    if not args.skip_sqlite:
        with sqlite_databases() as (lib, raw):
            results.append(bench("SQLite", lib, raw, args))
    if args.postgres:
        with postgres_databases(args.postgres) as (lib, raw):
            results.append(bench("PostgreSQL", lib, raw, args))
    if args.json:
        print(json.dumps({"machine": facts, "results": results}, indent=2))
    show_machine(facts)
    for r in results:
        show(r)
    if any(gate != "pass" for r in results for gate in gates(r)):
        sys.exit(1)


if __name__ == "__main__":
    main()
