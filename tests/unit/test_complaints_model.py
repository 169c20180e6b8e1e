"""A complaint's rules as hypothesis properties: whatever is tried in whatever order, a
ticket only ever moves along its transitions, a refused step changes nothing, a staff
reply stops it being overdue, and it is rated at most once, 1 to 5."""

from __future__ import annotations

import copy
import datetime as dt

import hypothesis.strategies as st
from hypothesis import given

from shequ.domain.complaints import (
    COMPLAINT_TRANSITIONS,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
)
from shequ.domain.errors import IllegalTransition, InvalidInput
from shequ.domain.ids import AccountId, CommunityId, ComplaintId
from shequ.domain.values import CHINA_STANDARD_TIME

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=CHINA_STANDARD_TIME)
WITHIN = dt.timedelta(hours=4)

steps = st.one_of(
    st.tuples(st.just("move"), st.sampled_from(ComplaintStatus)),
    st.tuples(st.just("reply"), st.booleans()),  # staff or not
    st.tuples(st.just("rate"), st.integers(-1, 7)),
)


def ticket() -> Complaint:
    return Complaint.file(
        id=ComplaintId("c1"),
        resident_id=AccountId("r1"),
        community_id=CommunityId("k1"),
        category=ComplaintCategory.DELIVERY,
        title="<b>晚了</b>",
        body="送货晚了",
        respond_within=WITHIN,
        now=NOW,
    )


def state(c: Complaint) -> tuple[object, ...]:
    return (c.status, c.first_response_at, c.satisfaction, len(c.replies), c.version)


@given(st.lists(st.tuples(steps, st.integers(0, 600)), max_size=25))
def test_a_ticket_moves_only_along_its_transitions(
    tried: list[tuple[tuple[str, object], int]],
) -> None:
    c = ticket()
    now = NOW
    for (action, arg), minutes in tried:
        now += dt.timedelta(minutes=minutes)
        before, status, rated = state(c), c.status, c.satisfaction
        try:
            if action == "move":
                assert isinstance(arg, ComplaintStatus)
                c.move(arg, now=now, note="说明")
                assert arg in COMPLAINT_TRANSITIONS[status]
                assert c.status is arg
            elif action == "reply":
                c.reply("回复", author_id=None, staff=bool(arg), now=now)
                assert status is not ComplaintStatus.CLOSED
                if arg and status in (ComplaintStatus.OPEN, ComplaintStatus.REOPENED):
                    assert c.status is ComplaintStatus.IN_PROGRESS
            else:
                assert isinstance(arg, int)
                c.rate(arg, now=now)
                assert 1 <= arg <= 5 and rated is None
                assert status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)
        except (IllegalTransition, InvalidInput):
            assert state(c) == before  # a refused step changes nothing
        else:
            assert c.version == before[-1] + 1
        if c.first_response_at is not None:
            assert not c.overdue(now + dt.timedelta(days=365))
    late = NOW + WITHIN + dt.timedelta(seconds=1)
    answered = c.first_response_at is not None
    finished = c.status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)
    assert c.overdue(late) == (not answered and not finished)
    assert len(c.events) == c.version  # one event for the filing, one for every step


def test_overdue_only_after_the_deadline() -> None:
    c = ticket()
    assert not c.overdue(NOW + WITHIN)
    assert c.overdue(NOW + WITHIN + dt.timedelta(microseconds=1))
    again = copy.deepcopy(c)
    again.reply("在处理", author_id=None, staff=True, now=NOW + WITHIN + dt.timedelta(hours=1))
    assert not again.overdue(NOW + dt.timedelta(days=3))  # answered, even if late
    c.reply("有人吗", author_id=None, staff=False, now=NOW)
    assert c.overdue(NOW + dt.timedelta(days=3))  # the resident's own reply answers nothing
