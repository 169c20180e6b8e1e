"""Demo community life: a pinned notice of the property office, an activity this
Saturday that the demo resident signed up for, the resident's complaint about their
delivered order, answered by the office, the resident's review of their completed
order, and a forum board with the resident's post, which a neighbour answered and liked."""

from __future__ import annotations

import datetime as dt

import attrs

from shequ.application.catalog.demo import DEMO_RESIDENT_PHONE, DemoCatalog
from shequ.application.community.complaints import (
    FileComplaint,
    FileComplaintHandler,
    ReplyToComplaint,
    ReplyToComplaintHandler,
)
from shequ.application.community.forum import (
    CommentOnPost,
    CommentOnPostHandler,
    LikePost,
    LikePostHandler,
    OpenBoard,
    OpenBoardHandler,
    WritePost,
    WritePostHandler,
)
from shequ.application.community.life import (
    CreateActivity,
    CreateActivityHandler,
    JoinActivity,
    JoinActivityHandler,
    PublishAnnouncement,
    PublishAnnouncementHandler,
)
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, OrderQuery, UnitOfWork
from shequ.application.reviews import ReviewProduct, ReviewProductHandler
from shequ.domain.community import Activity, Announcement
from shequ.domain.complaints import Complaint, ComplaintCategory
from shequ.domain.errors import AccountNotFound
from shequ.domain.forum import Post
from shequ.domain.identity import Account
from shequ.domain.ordering import OrderStatus
from shequ.domain.reviews import Review
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = ["DemoCommunityLife", "SeedDemoCommunityLifeHandler"]

DEMO_NEIGHBOUR_PHONE = "13800000005"  # a neighbour of the demo's group buy


@attrs.frozen
class DemoCommunityLife:
    notice: Announcement
    activity: Activity
    complaint: Complaint | None  # about the resident's delivered order, when there is one
    post: Post
    review: Review | None  # of the resident's completed order, when there is one


class SeedDemoCommunityLifeHandler:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: Policy,
        publish: PublishAnnouncementHandler,
        create: CreateActivityHandler,
        join: JoinActivityHandler,
        complain: FileComplaintHandler,
        reply: ReplyToComplaintHandler,
        open_board: OpenBoardHandler,
        write: WritePostHandler,
        comment: CommentOnPostHandler,
        like: LikePostHandler,
        review: ReviewProductHandler,
    ) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy
        self._publish, self._create, self._join = publish, create, join
        self._complain, self._reply = complain, reply
        self._open_board, self._write, self._comment, self._like = open_board, write, comment, like
        self._review = review

    def __call__(self, demo: DemoCatalog, *, actor: Actor) -> DemoCommunityLife:
        self._policy.require(actor, Permission.CONSOLE)
        with self._uow as uow:
            account = uow.accounts.find_by_phone(DEMO_RESIDENT_PHONE)
        if account is None:
            raise AccountNotFound("the demo resident is missing: run the demo catalog first")
        here = demo.community.id
        notice = self._publish(
            PublishAnnouncement(
                (here,),
                "关于小区二次供水水箱清洗的通知",
                "本周六 8:00-12:00 清洗二次供水水箱，届时3、5幢停水，请提前储水。"
                "——阳光花园物业服务中心",
                pinned=True,
            ),
            actor=actor,
        )
        today = self._clock.now().astimezone(CHINA_STANDARD_TIME).date()
        saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
        starts = dt.datetime.combine(saturday, dt.time(9, 30), tzinfo=CHINA_STANDARD_TIME)
        activity = self._create(
            CreateActivity(
                here,
                "周末亲子手工：做一盏兔子灯",
                "会所二楼活动室",
                starts,
                starts + dt.timedelta(hours=2),
                capacity=12,
                description="材料由社区提供，每户限两人。",
            ),
            actor=actor,
        )
        resident = Actor.of(account, client="demo")
        self._join(JoinActivity(activity.id, account.id, people=2), actor=resident)
        with self._uow as uow:
            activity = uow.activities.get(activity.id)
            delivered = uow.orders.search(
                OrderQuery(resident_id=account.id, status=OrderStatus.DELIVERED, limit=1)
            )
            completed = uow.orders.search(
                OrderQuery(resident_id=account.id, status=OrderStatus.COMPLETED, limit=1)
            )
        complaint = None
        if delivered:
            filed = self._complain(
                FileComplaint(
                    account.id,
                    ComplaintCategory.PRODUCT_QUALITY,
                    "送到的大豆油桶漏油了",
                    "今天送到的大豆油桶盖没拧紧，油漏出来弄脏了同袋的卷纸。",
                    order_id=delivered[0].id,
                ),
                actor=resident,
            )
            complaint = self._reply(
                ReplyToComplaint(filed.id, "非常抱歉！已登记换货，明天随单送到，卷纸一并补发。"),
                actor=actor,
            )
        review = None
        if completed:
            review = self._review(
                ReviewProduct(
                    completed[0].id,
                    completed[0].lines[0].sku_id,
                    5,
                    "很新鲜，自提点取货也方便，下次还买。",
                ),
                actor=resident,
            )
        post = self._forum(demo, account, actor)
        return DemoCommunityLife(notice, activity, complaint, post, review)

    def _forum(self, demo: DemoCatalog, account: Account, actor: Actor) -> Post:
        board = self._open_board(
            OpenBoard(demo.community.id, "邻里互助", "借东西、问路、找搭子，邻居们互相帮一把。"),
            actor=actor,
        )
        post = self._write(
            WritePost(
                board.id,
                account.id,
                "谁家有电钻借用一下？",
                "想在客厅挂幅画，周六上午用一小时，用完马上还，谢谢邻居们！",
            ),
            actor=Actor.of(account, client="demo"),
        )
        with self._uow as uow:
            neighbour = uow.accounts.find_by_phone(DEMO_NEIGHBOUR_PHONE)
        if neighbour is not None:
            helper = Actor.of(neighbour, client="demo")
            self._comment(
                CommentOnPost(post.id, neighbour.id, "我家有，5幢2单元，周六上午在家，来拿就行。"),
                actor=helper,
            )
            self._like(LikePost(post.id, neighbour.id), actor=helper)
        with self._uow as uow:
            return uow.posts.get(post.id)
