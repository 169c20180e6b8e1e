"""Complaints and suggestions on every storage: a ticket from its filing to the resident's
rating, through a reopening; deadlines by category and the overdue list; who may do
what; and the refusals that change nothing."""

from __future__ import annotations

import datetime as dt

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.community.complaints import (
    FileComplaint,
    FileComplaintHandler,
    GetComplaint,
    GetComplaintHandler,
    ListComplaints,
    ListComplaintsHandler,
    MoveComplaint,
    MoveComplaintHandler,
    RateComplaint,
    RateComplaintHandler,
    ReplyToComplaint,
    ReplyToComplaintHandler,
)
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import Clock, ComplaintQuery, UnitOfWork
from shequ.domain.catalog import Community, Sku
from shequ.domain.complaints import Complaint, ComplaintCategory, ComplaintStatus
from shequ.domain.errors import (
    ComplaintNotFound,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    OrderNotFound,
)
from shequ.domain.identity import Role
from tests.support import Shop

BACKENDS = ["postgres", "sqlite", "memory"]
Status = ComplaintStatus
XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def file(
    app: injector.Injector,
    actor: Actor,
    category: ComplaintCategory = ComplaintCategory.DELIVERY,
    **about: object,
) -> Complaint:
    clock = app.get(Clock)
    assert isinstance(clock, FixedClock)
    clock.advance(dt.timedelta(seconds=1))  # tickets list oldest first
    return app.get(FileComplaintHandler)(
        FileComplaint(
            resident_id=actor.account_id or "",  # type: ignore[arg-type]
            category=category,
            title=about.pop("title", "送货晚了两小时"),  # type: ignore[arg-type]
            body=about.pop("body", "说好十点前到，十二点才到。"),  # type: ignore[arg-type]
            **about,  # type: ignore[arg-type]
        ),
        actor=actor,
    )


def _sku(shop: Shop, here: Community) -> Sku:
    return shop.sku(shop.product(shop.seller(community=here)), communities=(here,))


def move(
    app: injector.Injector, complaint: Complaint, status: Status, actor: Actor, note: str = ""
) -> Complaint:
    return app.get(MoveComplaintHandler)(MoveComplaint(complaint.id, status, note), actor=actor)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_ticket_from_filing_through_a_reopening_to_the_residents_rating(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    _, resident = shop.resident(here)
    _, operator = shop.resident(here, Role.OPERATOR)
    order = shop.order(resident, here, (_sku(shop, here), 2))
    filed = file(app, resident, order_id=order.id, title=XSS, body=XSS)
    assert (filed.community_id, filed.status) == (here.id, Status.OPEN)
    assert filed.respond_by == clock.now() + dt.timedelta(hours=4)  # delivery: four hours

    reply = app.get(ReplyToComplaintHandler)
    answered = reply(ReplyToComplaint(filed.id, "抱歉，已联系骑手核实。"), actor=operator)
    assert answered.status is Status.IN_PROGRESS and answered.first_response_at == clock.now()
    reply(ReplyToComplaint(filed.id, "好的，等你们消息 <b>谢谢</b>"), actor=resident)
    resolved = move(app, filed, Status.RESOLVED, operator, "补偿5元优惠券")
    assert resolved.resolution == "补偿5元优惠券"
    reopened = move(app, filed, Status.REOPENED, resident, "优惠券没收到")
    assert reopened.status is Status.REOPENED
    move(app, filed, Status.RESOLVED, operator, "已重新发放")
    with pytest.raises(Forbidden):  # reopening is the resident's
        move(app, filed, Status.REOPENED, operator)
    rated = app.get(RateComplaintHandler)(RateComplaint(filed.id, 4), actor=resident)
    closed = move(app, rated, Status.CLOSED, resident)

    again = app.get(GetComplaintHandler)(GetComplaint(filed.id), actor=resident)
    assert (again.status, again.satisfaction, again.order_id) == (Status.CLOSED, 4, order.id)
    assert (again.title, again.body) == (XSS, XSS)  # stored as written
    assert [(r.staff, r.text) for r in again.replies] == [
        (True, "抱歉，已联系骑手核实。"),
        (False, "好的，等你们消息 <b>谢谢</b>"),
        (False, "优惠券没收到"),
    ]
    assert closed.version == again.version
    with pytest.raises(IllegalTransition):
        reply(ReplyToComplaint(filed.id, "还有问题"), actor=resident)
    with app.get(UnitOfWork) as uow:
        names = [m.name for m in uow.outbox.pending(100_000)]
    assert names.count("ComplaintFiled") == 1
    assert names.count("ComplaintChanged") == 8  # 3 replies, 4 moves, 1 rating


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_overdue_tickets_are_those_unanswered_by_their_categorys_deadline(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here, elsewhere = shop.community(), shop.community("翠苑")
    _, resident = shop.resident(here)
    _, neighbour = shop.resident(elsewhere)
    _, operator = shop.resident(here, Role.OPERATOR)
    late_delivery = file(app, resident, community_id=here.id)  # four hours
    broken_eggs = file(app, resident, ComplaintCategory.PRODUCT_QUALITY, community_id=here.id)
    idea = file(app, resident, ComplaintCategory.SUGGESTION, community_id=here.id)  # 72 hours
    answered = file(app, resident, community_id=here.id)
    app.get(ReplyToComplaintHandler)(ReplyToComplaint(answered.id, "在处理"), actor=operator)
    theirs = file(app, neighbour, community_id=elsewhere.id)
    listing = app.get(ListComplaintsHandler)

    def overdue(community_id: str) -> list[str]:
        found = listing(
            ListComplaints(community_id=community_id, overdue=True),  # type: ignore[arg-type]
            actor=CONSOLE,
        )
        return [c.id for c in found]

    assert overdue(here.id) == []
    clock.advance(dt.timedelta(hours=4, minutes=1))
    assert overdue(here.id) == [late_delivery.id]
    clock.advance(dt.timedelta(hours=20))
    assert overdue(here.id) == [late_delivery.id, broken_eggs.id]
    assert overdue(elsewhere.id) == [theirs.id]
    clock.advance(dt.timedelta(days=2))
    assert overdue(here.id) == [late_delivery.id, broken_eggs.id, idea.id]
    move(app, broken_eggs, Status.RESOLVED, operator, "已退款")
    assert overdue(here.id) == [late_delivery.id, idea.id]
    staff_view = listing(ListComplaints(community_id=here.id), actor=operator)
    assert len(staff_view) == 4
    mine = listing(ListComplaints(resident_id=resident.account_id), actor=resident)
    assert [c.id for c in mine] == [late_delivery.id, broken_eggs.id, idea.id, answered.id]
    resolved = listing(ListComplaints(community_id=here.id, status=Status.RESOLVED), actor=operator)
    assert [c.id for c in resolved] == [broken_eggs.id]
    with pytest.raises(Forbidden):  # another community's tickets
        listing(ListComplaints(community_id=elsewhere.id), actor=operator)
    with pytest.raises(Forbidden):  # another resident's tickets
        listing(ListComplaints(resident_id=neighbour.account_id), actor=resident)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_refusals_change_nothing(app: injector.Injector, shop: Shop) -> None:
    here = shop.community()
    _, resident = shop.resident(here)
    _, other = shop.resident(here)
    _, operator = shop.resident(here, Role.OPERATOR)
    theirs = shop.order(other, here, (_sku(shop, here), 1))

    def count() -> int:
        with app.get(UnitOfWork) as uow:
            return len(uow.complaints.search(ComplaintQuery()))

    with pytest.raises(Forbidden, match="not yours"):  # a complaint on someone else's order
        file(app, resident, order_id=theirs.id)
    with pytest.raises(OrderNotFound):
        file(app, resident, order_id="no-such-order")
    with pytest.raises(InvalidInput):  # about nothing and nowhere
        file(app, resident)
    with pytest.raises(InvalidInput):
        file(app, resident, community_id=here.id, body="长" * 5001)
    with pytest.raises(InvalidInput):
        file(app, resident, community_id=here.id, title="  ")
    with pytest.raises(InvalidInput):
        file(app, resident, "grumble", community_id=here.id)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):  # filing in another resident's name
        app.get(FileComplaintHandler)(
            FileComplaint(other.account_id or "", ComplaintCategory.PLATFORM, "x", "y", here.id),  # type: ignore[arg-type]
            actor=resident,
        )
    assert count() == 0

    mine = file(app, resident, community_id=here.id)
    with pytest.raises(Forbidden):  # a neighbour reads it
        app.get(GetComplaintHandler)(GetComplaint(mine.id), actor=other)
    with pytest.raises(Forbidden):  # … or replies
        app.get(ReplyToComplaintHandler)(ReplyToComplaint(mine.id, "+1"), actor=other)
    with pytest.raises(Forbidden):  # resolving is the staff's
        move(app, mine, Status.RESOLVED, resident, "自己解决了")
    rate = app.get(RateComplaintHandler)
    with pytest.raises(IllegalTransition):  # rated once resolved
        rate(RateComplaint(mine.id, 5), actor=resident)
    move(app, mine, Status.RESOLVED, operator, "已处理")
    for wrong in (0, 6, True):
        with pytest.raises(InvalidInput):
            rate(RateComplaint(mine.id, wrong), actor=resident)
    with pytest.raises(Forbidden):  # the staff do not rate themselves
        rate(RateComplaint(mine.id, 5), actor=operator)
    rate(RateComplaint(mine.id, 1), actor=resident)
    with pytest.raises(IllegalTransition):
        rate(RateComplaint(mine.id, 5), actor=resident)
    with pytest.raises(IllegalTransition):  # resolved goes to closed or reopened
        move(app, mine, Status.IN_PROGRESS, operator)
    with pytest.raises(ComplaintNotFound):
        app.get(GetComplaintHandler)(GetComplaint("nope"), actor=operator)  # type: ignore[arg-type]
    kept = app.get(GetComplaintHandler)(GetComplaint(mine.id), actor=operator)
    assert (kept.status, kept.satisfaction, kept.resolution) == (Status.RESOLVED, 1, "已处理")
