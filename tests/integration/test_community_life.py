"""Announcements and activities on every storage: what a notice board shows and when; an
activity's places filled exactly by residents racing for them, the rest waitlisted in the
order their sign-ups were taken, and the waitlist moving up when a place is given back;
and the refusals that change nothing."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.community.life import (
    CancelActivity,
    CancelActivityHandler,
    CreateActivity,
    CreateActivityHandler,
    GetActivity,
    GetActivityHandler,
    JoinActivity,
    JoinActivityHandler,
    LeaveActivity,
    LeaveActivityHandler,
    ListActivities,
    ListActivitiesHandler,
    ListAnnouncements,
    ListAnnouncementsHandler,
    PublishAnnouncement,
    PublishAnnouncementHandler,
    WithdrawAnnouncement,
    WithdrawAnnouncementHandler,
)
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import UnitOfWork
from shequ.domain.community import Activity, SignUpStatus
from shequ.domain.errors import Duplicate, Forbidden, IllegalTransition, InvalidInput
from shequ.domain.identity import Role
from tests.integration.test_concurrency import race
from tests.support import Shop

BACKENDS = ["postgres", "sqlite", "memory"]
SATURDAY = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def activity(app: injector.Injector, community_id: str, capacity: int, **more: object) -> Activity:
    return app.get(CreateActivityHandler)(
        CreateActivity(
            community_id=community_id,  # type: ignore[arg-type]
            title="周末亲子手工",
            place="会所二楼",
            starts_at=SATURDAY,
            ends_at=SATURDAY + dt.timedelta(hours=2),
            capacity=capacity,
            description="<b>自带剪刀</b>",
            **more,  # type: ignore[arg-type]
        ),
        actor=CONSOLE,
    )


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_thirty_residents_race_for_twelve_places_and_the_rest_wait_in_order(
    app: injector.Injector, shop: Shop
) -> None:
    here = shop.community()
    event = activity(app, here.id, capacity=12)
    residents = [shop.resident(here)[1] for _ in range(30)]
    join = [app.get(JoinActivityHandler) for _ in residents]
    outcomes = race(
        30,
        lambda i: (
            join[i](
                JoinActivity(event.id, residents[i].account_id or ""),
                actor=residents[i],  # type: ignore[arg-type]
            )
            and None
        ),
    )
    assert outcomes == [None] * 30
    view = app.get(GetActivityHandler)(GetActivity(event.id), actor=CONSOLE)
    confirmed = [s for s in view.sign_ups if s.status is SignUpStatus.CONFIRMED]
    assert (view.activity.confirmed, len(confirmed), len(view.waitlist)) == (12, 12, 18)
    assert [s.seq for s in view.sign_ups] == list(range(1, 31))  # every sign-up numbered once
    assert max(s.seq for s in confirmed) < min(s.seq for s in view.waitlist)  # first come
    # three give their places back: the three earliest waiting move up, in order
    moved = []
    for leaving in confirmed[:3]:
        moved += app.get(LeaveActivityHandler)(
            LeaveActivity(event.id, leaving.resident_id), actor=CONSOLE
        )
    assert [m.seq for m in moved] == [s.seq for s in view.waitlist[:3]]
    after = app.get(GetActivityHandler)(GetActivity(event.id), actor=CONSOLE)
    assert after.activity.confirmed == 12 and len(after.waitlist) == 15
    with app.get(UnitOfWork) as uow:
        names = [m.name for m in uow.outbox.pending(100_000)]
    assert names.count("SignUpChanged") == 30 + 3 + 3


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_household_waits_its_turn_and_refusals_change_nothing(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here, elsewhere = shop.community(), shop.community("翠苑")
    event = activity(app, here.id, capacity=3)
    a, b, c = (shop.resident(here)[1] for _ in range(3))
    _, stranger = shop.resident(elsewhere)
    join = app.get(JoinActivityHandler)

    def sign(who: Actor, people: int = 1) -> SignUpStatus:
        made = join(JoinActivity(event.id, who.account_id or "", people), actor=who)  # type: ignore[arg-type]
        return made.status

    assert sign(a, 2) is SignUpStatus.CONFIRMED
    assert sign(b, 2) is SignUpStatus.WAITLISTED  # one place left, not two
    assert sign(c, 1) is SignUpStatus.CONFIRMED  # fits, without passing b's place in line
    with pytest.raises(Duplicate):
        sign(a)
    with pytest.raises(Forbidden):
        sign(stranger)
    _, d = shop.resident(here)
    with pytest.raises(InvalidInput):  # a household of 11
        join(JoinActivity(event.id, d.account_id or "", 11), actor=d)  # type: ignore[arg-type]
    moved = app.get(LeaveActivityHandler)(LeaveActivity(event.id, a.account_id or ""), actor=a)  # type: ignore[arg-type]
    assert [m.resident_id for m in moved] == [b.account_id]
    with pytest.raises(Forbidden):  # someone else's sign-up
        app.get(LeaveActivityHandler)(LeaveActivity(event.id, c.account_id or ""), actor=b)  # type: ignore[arg-type]
    view = app.get(GetActivityHandler)(GetActivity(event.id), actor=b)
    assert view.mine is not None and view.mine.status is SignUpStatus.CONFIRMED
    assert view.sign_ups == ()  # the roster is the staff's
    cancelled = app.get(CancelActivityHandler)(CancelActivity(event.id, "下雨"), actor=CONSOLE)
    assert cancelled.cancelled
    with pytest.raises(IllegalTransition):
        sign(shop.resident(here)[1])
    with pytest.raises(InvalidInput):  # an activity in the past
        app.get(CreateActivityHandler)(
            CreateActivity(
                here.id, "过去的", "会所", clock.now() - dt.timedelta(hours=2), clock.now(), 10
            ),
            actor=CONSOLE,
        )
    listed = app.get(ListActivitiesHandler)(ListActivities(here.id), actor=c)
    assert [x.id for x in listed] == [event.id]
    assert listed[0].description == "<b>自带剪刀</b>"  # stored as written


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_the_notice_board_shows_pinned_first_from_publication_to_expiry(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here, elsewhere = shop.community(), shop.community("翠苑")
    _, operator = shop.resident(here, Role.OPERATOR)
    _, resident = shop.resident(here)
    publish = app.get(PublishAnnouncementHandler)
    now = clock.now()
    water = publish(
        PublishAnnouncement((here.id,), "停水通知", "周六8:00-12:00停水 <script>x</script>"),
        actor=operator,
    )
    clock.advance(dt.timedelta(minutes=1))
    pinned = publish(
        PublishAnnouncement((here.id,), "物业费缴纳", "本月底前", pinned=True), actor=operator
    )
    later = publish(
        PublishAnnouncement(
            (here.id,), "消防演习", "下周三", publish_at=now + dt.timedelta(days=1)
        ),
        actor=operator,
    )
    brief = publish(
        PublishAnnouncement((here.id,), "电梯维修", "今天", expires_at=now + dt.timedelta(hours=2)),
        actor=operator,
    )
    with pytest.raises(Forbidden):  # another community's board
        publish(PublishAnnouncement((elsewhere.id,), "x", "y"), actor=operator)
    with pytest.raises(InvalidInput):
        publish(PublishAnnouncement((here.id,), "长" * 101, "y"), actor=operator)
    board = ListAnnouncementsHandler
    shown = [a.id for a in app.get(board)(ListAnnouncements(here.id), actor=resident)]
    assert shown == [pinned.id, brief.id, water.id]
    assert later.id not in shown
    clock.advance(dt.timedelta(days=1))
    shown = [a.id for a in app.get(board)(ListAnnouncements(here.id), actor=resident)]
    assert shown == [pinned.id, later.id, water.id]  # the brief one expired
    app.get(WithdrawAnnouncementHandler)(WithdrawAnnouncement(water.id), actor=operator)
    shown = app.get(board)(ListAnnouncements(here.id), actor=resident)
    assert [a.id for a in shown] == [pinned.id, later.id]
    assert app.get(board)(ListAnnouncements(elsewhere.id), actor=resident) == []
