"""Every HTTP route against every role: the authorization matrix.

A route added without an entry here fails `test_every_route_is_in_the_matrix`, so no route
can skip the policy unnoticed.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import injector
import pytest
from fastapi.testclient import TestClient

from shequ import SeedDemoHandler, Settings
from shequ.adapters.clock import FixedClock
from shequ.adapters.payments import SandboxPaymentGateway
from shequ.application.catalog.communities import (
    CreateCommunity,
    CreateCommunityHandler,
    CreateSeller,
    CreateSellerHandler,
)
from shequ.application.community.complaints import (
    FileComplaint,
    FileComplaintHandler,
    MoveComplaint,
    MoveComplaintHandler,
)
from shequ.application.community.forum import (
    CommentOnPost,
    CommentOnPostHandler,
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
from shequ.application.fulfilment.delivery import DispatchDelivery, DispatchDeliveryHandler
from shequ.application.fulfilment.pickup import (
    ArriveAtPickupPoint,
    ArriveAtPickupPointHandler,
    CreatePickupPoint,
    CreatePickupPointHandler,
    VerifyPickupCode,
    VerifyPickupCodeHandler,
)
from shequ.application.fulfilment.riders import (
    AcceptDelivery,
    AcceptDeliveryHandler,
    AssignRider,
    AssignRiderHandler,
)
from shequ.application.fulfilment.slots import OpenDeliverySlots, OpenDeliverySlotsHandler
from shequ.application.groupbuy.campaigns import CreateCampaign, CreateCampaignHandler
from shequ.application.groupbuy.groups import (
    JoinGroup,
    JoinGroupHandler,
    StartGroup,
    StartGroupHandler,
)
from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.identity.addresses import AddAddress, AddAddressHandler
from shequ.application.ordering.checkout import OrderItem, PlaceOrder, PlaceOrderHandler
from shequ.application.ordering.coupons import CreateCoupon, CreateCouponHandler
from shequ.application.ordering.orders import AdvanceOrder, AdvanceOrderHandler
from shequ.application.ordering.refunds import RequestRefund, RequestRefundHandler
from shequ.application.payments.notifications import ConfirmPayment, ConfirmPaymentHandler
from shequ.application.payments.start import StartPayment, StartPaymentHandler
from shequ.application.policy import CONSOLE, Actor
from shequ.application.ports import Clock, PaymentGateway, SchemaMigrations, UnitOfWork
from shequ.application.services.bookings import (
    BookService,
    BookServiceHandler,
    MoveBooking,
    MoveBookingHandler,
    ReviewBooking,
    ReviewBookingHandler,
)
from shequ.application.services.directory import (
    AddOffering,
    AddOfferingHandler,
    AddStaff,
    AddStaffHandler,
    RegisterProvider,
    RegisterProviderHandler,
)
from shequ.application.services.promotions import PublishPromotion, PublishPromotionHandler
from shequ.domain.complaints import Complaint, ComplaintCategory, ComplaintStatus
from shequ.domain.forum import Post
from shequ.domain.fulfilment import PointKind
from shequ.domain.groupbuy import LeaderReward, PriceTier
from shequ.domain.identity import Account, Membership, Role
from shequ.domain.ids import (
    ActivityId,
    BookingId,
    CommunityId,
    PaymentId,
    PickupPointId,
    ProviderId,
    SellerId,
    SkuId,
)
from shequ.domain.money import Money
from shequ.domain.ordering import (
    CouponKind,
    CouponTerms,
    Delivery,
    Fulfilment,
    Order,
    OrderAction,
    RefundReason,
)
from shequ.domain.promotions import PromotionKind
from shequ.domain.reviews import ReviewSubject
from shequ.domain.routing import GeoPoint
from shequ.domain.services import BookingStatus, PriceKind, ProviderKind, Venue
from shequ.domain.values import CHINA_STANDARD_TIME
from shequ.entrypoints.http import create_app
from tests.support import EVERY_DAY, add_point, container

PASSWORD = "matrix password"
ROLES = [
    "anonymous",
    "resident",
    "leader",
    "rider",
    "merchant",
    "other merchant",
    "operator",
    "other operator",
    "admin",
]
EVERYONE = set(ROLES) - {"anonymous"}
MANAGERS = {"admin", "operator", "merchant"}  # of the demo grocer's goods, in its community


BUYERS = {"resident", "admin"}  # residents of the community, for themselves; admins
ORDER_STAFF = {"admin", "operator"}  # of the community the order was placed in
ORDER_READERS = ORDER_STAFF | {"resident"}  # the resident is the one who placed the order
CLAIM_CODE = "MATRIX1"
GROUP_STAFF = {"admin", "operator"}  # manage the group buys of the community
FULFILMENT_STAFF = {"admin", "operator"}  # manage the community's pickup points
PICKUP_STAFF = FULFILMENT_STAFF | {"leader"}  # and the leader, at the point they run


def coupon_in(seller_id: str | None) -> dict[str, Any]:
    return {
        "name": "立减1元",
        "kind": "amount",
        "amount_fen": 100,
        "seller_id": seller_id,
        "valid_from": "2026-11-01T00:00:00+08:00",
        "valid_until": "2026-12-31T00:00:00+08:00",
    }


def campaign_in(w: dict[str, str]) -> dict[str, Any]:
    """A campaign on the goods, whatever their price: a group price of ¥0.01."""
    return {
        "name": "矩阵团",
        "sku_id": w["goods"],
        "tiers": [{"min_heads": 1, "price_fen": 1}],
        "min_heads": 2,
        "max_heads": 20,
        "starts_at": "2026-11-25T00:00:00+08:00",
        "ends_at": "2026-11-28T00:00:00+08:00",
        "group_hours": 24,
        "per_resident_limit": 5,
        "stock": 100,
        "community_ids": [w["home"]],
        "reward": {"kind": "commission", "commission_bp": 500},
        "pickup_date": "2026-11-29",
    }


def slots_in(w: dict[str, str]) -> dict[str, Any]:
    return {"date": "2026-11-26", "first": "08:00", "last": "12:00", "capacity": 20}


BOOKING_SIDES = {"resident", "admin", "operator", "merchant"}
COMMUNITY_STAFF = {"admin", "operator"}  # its notice board and its activities
COMPLAINT_SIDES = COMMUNITY_STAFF | {"resident"}  # the resident who filed it, and the staff


def announcement_in(w: dict[str, str]) -> dict[str, Any]:
    return {"community_ids": [w["home"]], "title": "停水通知", "body": "周六上午停水"}


def activity_in(w: dict[str, str]) -> dict[str, Any]:
    return {
        "community_id": w["home"],
        "title": "亲子手工",
        "place": "会所",
        "starts_at": "2026-11-28T09:30:00+08:00",
        "ends_at": "2026-11-28T11:30:00+08:00",
        "capacity": 20,
    }


def complaint_in(w: dict[str, str]) -> dict[str, Any]:
    return {
        "category": "platform",
        "title": "App 卡顿",
        "body": "下单页很慢",
        "community_id": w["home"],
    }


def promotion_in(w: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "discount",
        "title": "50元代金券",
        "terms": "全场通用",
        "price_fen": 3900,
        "value_fen": 5000,
        "quantity": 20,
        "sale_ends_at": "2026-12-02T00:00:00+08:00",
        "use_until": "2026-12-31T00:00:00+08:00",
    }


def voucher_order_in(w: dict[str, str]) -> dict[str, Any]:
    return {
        "community_id": w["home"],
        "items": [{"sku_id": w["voucher_sku"], "quantity": 1}],
        "fulfilment": {"kind": "voucher"},
    }


def merchant_in(w: dict[str, str]) -> dict[str, Any]:
    return {
        "name": "矩阵家政",
        "kind": "housekeeping",
        "community_ids": [w["home"]],
        "contact_phone": "0571-8888 6666",
        "address": "1幢底商",
        "hours": {"mon": ["08:00-20:00"]},
    }


def offering_in(w: dict[str, str]) -> dict[str, Any]:
    return {
        "name": "深度保洁",
        "duration_minutes": 180,
        "price_kind": "fixed",
        "price_fen": 30000,
        "venue": "at_home",
        "staff_ids": [w["staff"]],
    }


def booking_in(w: dict[str, str]) -> dict[str, Any]:
    return {
        "community_id": w["home"],
        "offering_id": w["offering"],
        "starts_at": "2026-11-26T17:00:00+08:00",
    }


def pickup_point_in(w: dict[str, str]) -> dict[str, Any]:
    return {
        "community_id": w["home"],
        "name": "物业服务中心",
        "kind": "property_office",
        "address": "1幢大堂",
        "latitude": 30.27,
        "longitude": 120.15,
        "hours": {"mon": ["08:00-20:00"], "exceptions": {"2026-12-01": []}},
        "daily_capacity": 50,
    }


# (method, path template, body builder, roles allowed); ids come from the World below.
# A path may carry a query; routes may be listed more than once, with other arguments.
def _photo() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, format="PNG")
    return buffer.getvalue()


PHOTO = _photo()
Body = Callable[[dict[str, str]], Any] | str | None
MATRIX: list[tuple[str, str, Body, set[str]]] = [
    ("POST", "/v1/communities", lambda w: {"name": f"新区{uuid.uuid4().hex[:6]}"}, {"admin"}),
    ("GET", "/v1/communities", None, EVERYONE),
    (
        "POST",
        "/v1/sellers",
        lambda w: {"name": f"商户{uuid.uuid4().hex[:6]}", "community_id": w["home"]},
        {"admin", "operator"},
    ),
    ("GET", "/v1/sellers", None, EVERYONE),
    ("GET", "/v1/products", None, EVERYONE),
    (
        "POST",
        "/v1/products",
        lambda w: {"seller_id": w["grocer"], "name": "测试品", "category": "生鲜"},
        MANAGERS,
    ),
    ("GET", "/v1/products/{product}", None, EVERYONE),
    ("PATCH", "/v1/products/{product}", lambda w: {"origin": "测试产地"}, MANAGERS),
    (
        "POST",
        "/v1/products/{product}/skus",
        lambda w: {"spec": f"规格{uuid.uuid4().hex[:6]}", "price_fen": 990},
        MANAGERS,
    ),
    ("GET", "/v1/skus/{sku}", None, EVERYONE),
    ("PUT", "/v1/skus/{sku}/price", lambda w: {"price_fen": 2890}, MANAGERS),
    ("PUT", "/v1/skus/{sku}/on-sale", lambda w: {"on_sale": True}, MANAGERS),
    (
        "POST",
        "/v1/skus/{sku}/stock-adjustments",
        lambda w: {"delta": 1, "reason": "restock"},
        MANAGERS,
    ),
    ("PUT", "/v1/skus/{sku}/listings/{home}", None, MANAGERS),
    ("DELETE", "/v1/skus/{sku}/listings/{home}", None, MANAGERS),
    ("GET", "/v1/me", None, EVERYONE),
    ("POST", "/v1/me/consents", lambda w: {"policy_version": "2026-11"}, EVERYONE),
    ("GET", "/v1/me/export", None, EVERYONE),
    ("POST", "/v1/uploads/photos", "photo", EVERYONE),
    ("GET", "/v1/me/addresses", None, EVERYONE),
    (
        "POST",
        "/v1/me/addresses",
        lambda w: {"recipient": "张伟", "phone": "13912345678", "detail": "3幢2单元501"},
        EVERYONE,
    ),
    ("GET", "/v1/cart?community_id={home}", None, BUYERS),
    (
        "POST",
        "/v1/cart/items",
        lambda w: {"community_id": w["home"], "sku_id": w["goods"], "quantity": 2},
        BUYERS,
    ),
    (
        "PATCH",
        "/v1/cart/items/{goods}",
        lambda w: {"community_id": w["home"], "quantity": 1},
        BUYERS,
    ),
    ("DELETE", "/v1/cart/items/{goods}?community_id={home}", None, BUYERS),
    ("GET", "/v1/coupons/mine", None, EVERYONE),
    ("POST", "/v1/coupons/claim", lambda w: {"code": CLAIM_CODE}, EVERYONE),
    ("POST", "/v1/coupons", lambda w: coupon_in(w["grocer"]), MANAGERS),
    ("POST", "/v1/coupons", lambda w: coupon_in(None), {"admin"}),  # a platform coupon
    ("GET", "/v1/coupons?seller_id={grocer}", None, MANAGERS),
    ("GET", "/v1/coupons", None, {"admin"}),
    (
        "POST",
        "/v1/coupons/{coupon}/issue",
        lambda w: {"resident_ids": [w["resident"]]},
        MANAGERS,
    ),
    (
        "POST",
        "/v1/orders",
        lambda w: {
            "community_id": w["home"],
            "items": [{"sku_id": w["goods"], "quantity": 1}],
            "fulfilment": {"kind": "pickup", "pickup_point_id": "pp-1"},
        },
        BUYERS,
    ),
    ("POST", "/v1/orders", voucher_order_in, BUYERS),
    ("GET", "/v1/orders", None, BUYERS),  # a resident's own; all orders for admins
    ("GET", "/v1/orders?community_id={home}", None, ORDER_STAFF),
    ("GET", "/v1/orders/{unpaid}", None, ORDER_READERS),
    ("POST", "/v1/orders/{unpaid}/payment", None, ORDER_READERS),
    ("POST", "/v1/orders/{cancellable}/cancel", None, ORDER_READERS),
    ("POST", "/v1/orders/{paid}/advance", lambda w: {"action": "pack"}, ORDER_STAFF),
    ("POST", "/v1/orders/{refundable}/refunds", lambda w: {"reason": "quality"}, ORDER_READERS),
    ("GET", "/v1/payments", None, {"admin"}),
    ("GET", "/v1/payments/{payment}", None, ORDER_READERS),
    ("POST", "/v1/payments/{payment}/clear-flag", lambda w: {"note": "checked"}, {"admin"}),
    ("GET", "/v1/refunds", None, {"admin"}),
    ("GET", "/v1/refunds?community_id={home}", None, ORDER_STAFF),
    ("GET", "/v1/refunds?order_id={refundable}", None, ORDER_READERS),
    ("POST", "/v1/refunds/{refund}/approve", None, ORDER_STAFF),
    ("POST", "/v1/refunds/{other_refund}/reject", lambda w: {"note": "不符"}, ORDER_STAFF),
    ("POST", "/v1/campaigns", campaign_in, GROUP_STAFF),
    ("GET", "/v1/campaigns?community_id={home}", None, EVERYONE),
    ("GET", "/v1/campaigns/{campaign}", None, EVERYONE),
    ("GET", "/v1/campaigns/{campaign}/groups?community_id={home}", None, GROUP_STAFF),
    ("GET", "/v1/campaigns/{campaign}/groups", None, {"admin"}),  # every community's
    (
        "POST",
        "/v1/campaigns/{campaign}/groups",
        lambda w: {"community_id": w["home"], "pickup_point_id": "pp-1", "quantity": 1},
        BUYERS,
    ),
    ("GET", "/v1/groups/{group}", None, EVERYONE),
    ("GET", "/v1/invites/{invite}", None, EVERYONE),
    ("POST", "/v1/groups/{group}/join", lambda w: {"quantity": 1}, BUYERS),
    ("POST", "/v1/invites/{invite}/join", lambda w: {"quantity": 1}, BUYERS),
    # a member taken out by someone else: operators' business (leaving oneself is anyone's)
    ("POST", "/v1/groups/{group}/leave", lambda w: {"resident_id": w["member"]}, GROUP_STAFF),
    ("POST", "/v1/groups/{doomed}/cancel", lambda w: {"reason": "供货不足"}, GROUP_STAFF),
    ("GET", "/v1/me/groups", None, EVERYONE),
    ("GET", "/v1/me/earnings", None, EVERYONE),
    ("GET", "/v1/leaders/{resident}/earnings", None, {"resident", "admin"}),
    ("POST", "/v1/groupbuy/settle", None, {"admin"}),
    ("GET", "/v1/groupbuy/purchase-plan?date=2026-11-29", None, {"admin"}),
    ("POST", "/v1/pickup-points", pickup_point_in, FULFILMENT_STAFF),
    ("GET", "/v1/pickup-points?community_id={home}", None, EVERYONE),
    ("GET", "/v1/pickup-points?community_id={home}&include_paused=true", None, FULFILMENT_STAFF),
    ("PATCH", "/v1/pickup-points/{point}", lambda w: {"daily_capacity": 200}, FULFILMENT_STAFF),
    (
        "POST",
        "/v1/pickup-points/{point}/arrivals",
        lambda w: {"order_ids": [w["on_the_way"]]},
        PICKUP_STAFF,
    ),
    ("POST", "/v1/pickup-points/{point}/verify", lambda w: {"code": w["code"]}, PICKUP_STAFF),
    # the resident's code: not for those who hand the order over (admins may do anything)
    ("GET", "/v1/orders/{waiting}/pickup-code", None, {"resident", "admin"}),
    ("POST", "/v1/pickup/overdue", None, {"admin"}),
    ("POST", "/v1/orders/{packed_home}/delivery/dispatch", None, FULFILMENT_STAFF),
    ("GET", "/v1/orders/{shipped}/delivery", None, ORDER_READERS),
    ("POST", "/v1/deliveries/dispatch-waiting", None, {"admin"}),
    (
        "PATCH",
        "/v1/communities/{home}",
        lambda w: {"latitude": 30.28, "longitude": 120.16},
        {"admin"},
    ),
    ("GET", "/v1/communities/{home}/delivery-slots?date=2026-11-25", None, EVERYONE),
    ("POST", "/v1/communities/{home}/delivery-slots", slots_in, FULFILMENT_STAFF),
    ("PATCH", "/v1/delivery-slots/{slot}", lambda w: {"capacity": 30}, FULFILMENT_STAFF),
    (
        "POST",
        "/v1/orders/{shipped}/delivery/rider",
        lambda w: {"rider_id": w["rider"]},
        FULFILMENT_STAFF,
    ),
    # the resident's handover code: never for riders (admins may do anything)
    ("GET", "/v1/orders/{shipped}/delivery/code", None, {"resident", "admin"}),
    ("POST", "/v1/merchants", merchant_in, {"admin", "operator"}),
    ("GET", "/v1/merchants?community_id={home}", None, EVERYONE),
    ("GET", "/v1/merchants/{provider}", None, EVERYONE),
    ("PATCH", "/v1/merchants/{provider}", lambda w: {"description": "新开业"}, MANAGERS),
    (
        "POST",
        "/v1/merchants/{provider}/staff",
        lambda w: {"name": "赵师傅", "schedule": {"mon": ["09:00-17:00"]}},
        MANAGERS,
    ),
    ("PATCH", "/v1/staff/{staff}", lambda w: {"active": True}, MANAGERS),
    ("POST", "/v1/merchants/{provider}/offerings", offering_in, MANAGERS),
    ("PATCH", "/v1/offerings/{offering}", lambda w: {"active": True}, MANAGERS),
    ("GET", "/v1/offerings/{offering}/free-time?date=2026-11-26", None, EVERYONE),
    ("POST", "/v1/bookings", booking_in, BUYERS),
    ("GET", "/v1/me/bookings", None, EVERYONE),
    ("GET", "/v1/merchants/{provider}/bookings?date=2026-11-26", None, MANAGERS),
    ("POST", "/v1/bookings/{booking}/advance", lambda w: {"status": "confirmed"}, MANAGERS),
    # the resident cancels or moves their own; the merchant's managers theirs
    (
        "POST",
        "/v1/bookings/{booking_to_cancel}/cancel",
        lambda w: {"reason": "有事"},
        BOOKING_SIDES,
    ),
    (
        "POST",
        "/v1/bookings/{booking_to_move}/reschedule",
        lambda w: {"starts_at": "2026-11-26T15:00:00+08:00"},
        BOOKING_SIDES,
    ),
    ("POST", "/v1/bookings/{served}/review", lambda w: {"rating": 5}, {"resident", "admin"}),
    (
        "POST",
        "/v1/orders/{collected}/reviews",
        lambda w: {"sku_id": w["goods"], "rating": 4, "text": "新鲜"},
        {"resident", "admin"},  # the buyer's own (admins may do anything)
    ),
    ("GET", "/v1/products/{product}/reviews", None, EVERYONE),
    ("GET", "/v1/merchants/{provider}/reviews", None, EVERYONE),
    ("POST", "/v1/reviews/{service_review}/answer", lambda w: {"text": "谢谢"}, MANAGERS),
    ("POST", "/v1/merchants/{provider}/promotions", promotion_in, MANAGERS),
    ("GET", "/v1/merchants/{provider}/promotions", None, EVERYONE),
    ("GET", "/v1/communities/{home}/promotions", None, EVERYONE),
    ("GET", "/v1/me/vouchers", None, EVERYONE),
    (
        "POST",
        "/v1/merchants/{provider}/vouchers/redeem",
        lambda w: {"code": w["voucher_code"]},
        MANAGERS,
    ),
    ("POST", "/v1/orders/{voucher_order}/vouchers/refund", lambda w: {"count": 1}, BUYERS),
    ("POST", "/v1/vouchers/expire", None, {"admin"}),
    ("POST", "/v1/promotions/{promotion}/withdraw", None, MANAGERS),
    ("POST", "/v1/services/remind", None, {"admin"}),
    ("POST", "/v1/announcements", announcement_in, COMMUNITY_STAFF),
    ("GET", "/v1/communities/{home}/announcements", None, EVERYONE),
    ("POST", "/v1/announcements/{announcement}/withdraw", None, COMMUNITY_STAFF),
    ("POST", "/v1/activities", activity_in, COMMUNITY_STAFF),
    ("GET", "/v1/communities/{home}/activities", None, EVERYONE),
    ("GET", "/v1/activities/{activity}", None, EVERYONE),
    ("POST", "/v1/activities/{activity}/sign-ups", None, BUYERS),
    ("DELETE", "/v1/activities/{joined}/sign-ups/mine", None, {"resident"}),
    ("POST", "/v1/activities/{activity}/cancel", lambda w: {"reason": "下雨"}, COMMUNITY_STAFF),
    ("POST", "/v1/complaints", complaint_in, BUYERS),
    ("GET", "/v1/me/complaints", None, EVERYONE),
    ("GET", "/v1/communities/{home}/complaints?overdue=true", None, COMMUNITY_STAFF),
    ("GET", "/v1/complaints/{complaint}", None, COMPLAINT_SIDES),
    ("POST", "/v1/complaints/{complaint}/replies", lambda w: {"text": "在处理"}, COMPLAINT_SIDES),
    (
        "POST",
        "/v1/complaints/{complaint}/status",
        lambda w: {"status": "resolved", "note": "已处理"},
        COMMUNITY_STAFF,
    ),
    ("POST", "/v1/complaints/{resolved}/rating", lambda w: {"satisfaction": 4}, BUYERS),
    (
        "POST",
        "/v1/communities/{home}/boards",
        lambda w: {"name": f"版块{uuid.uuid4().hex[:6]}"},
        COMMUNITY_STAFF,
    ),
    ("GET", "/v1/communities/{home}/boards", None, EVERYONE),
    ("POST", "/v1/boards/{old_board}/archive", None, COMMUNITY_STAFF),
    ("GET", "/v1/boards/{board}/posts", None, EVERYONE),
    ("POST", "/v1/boards/{board}/posts", lambda w: {"title": "求助", "body": "谁有梯子"}, BUYERS),
    ("GET", "/v1/posts/{post}", None, EVERYONE),
    ("POST", "/v1/posts/{post}/comments", lambda w: {"body": "我有"}, BUYERS),
    ("PUT", "/v1/posts/{post}/like", None, BUYERS),
    ("DELETE", "/v1/posts/{post}/like", None, BUYERS),
    ("POST", "/v1/posts/{post}/reports", lambda w: {"reason": "spam"}, BUYERS),
    ("POST", "/v1/comments/{comment}/reports", lambda w: {"reason": "abuse"}, BUYERS),
    ("GET", "/v1/communities/{home}/moderation", None, COMMUNITY_STAFF),
    (
        "POST",
        "/v1/posts/{spam_post}/moderation",
        lambda w: {"hide": True, "reason": "广告"},
        COMMUNITY_STAFF,
    ),
    (
        "POST",
        "/v1/comments/{spam_comment}/moderation",
        lambda w: {"hide": True, "reason": "广告"},
        COMMUNITY_STAFF,
    ),
    # one's own: admins may do anything
    ("DELETE", "/v1/posts/{own_post}", None, {"resident", "admin"}),
    ("DELETE", "/v1/comments/{own_comment}", None, {"resident", "admin"}),
    # a rider's own work: riders of the community only, not even admins
    ("GET", "/v1/rider/deliveries", None, {"rider"}),
    ("POST", "/v1/rider/deliveries/{queued}/accept", None, {"rider"}),
    ("POST", "/v1/rider/deliveries/{ridden}/decline", lambda w: {"reason": "车坏了"}, {"rider"}),
    (
        "POST",
        "/v1/rider/deliveries/{accepted}/report",
        lambda w: {"status": "picked_up"},
        {"rider"},
    ),
    ("POST", "/v1/auth/sign-out-everywhere", None, EVERYONE),
    ("DELETE", "/v1/me", None, EVERYONE),
    # answers 404 to everyone: nobody may remove an address that is not theirs
    ("DELETE", "/v1/me/addresses/{home}", None, set()),
]


# What the roles not allowed get where it is not 403 forbidden.
REFUSED: dict[tuple[str, str], tuple[int, str]] = {
    # leaving is for oneself: whoever did not join has nothing to give back
    ("DELETE", "/v1/activities/{joined}/sign-ups/mine"): (404, "not-found"),
}


def last(method: str, path: str) -> int:
    return {"/v1/auth/sign-out-everywhere": 1, "/v1/me": 2 if method == "DELETE" else 0}.get(
        path, 0
    )


# open to anyone: they check a password, a code or a token themselves, or show nothing private
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", "/docs/oauth2-redirect"),
    ("POST", "/v1/auth/code"),
    ("POST", "/v1/auth/sign-in"),
    ("POST", "/v1/auth/sign-up"),
    ("POST", "/v1/auth/refresh"),
    ("POST", "/v1/auth/sign-out"),
    ("POST", "/v1/payments/{provider}/notify"),  # the provider's signature authenticates it
    ("POST", "/v1/couriers/{courier}/callback"),  # the courier's signature authenticates it
}


class World:
    """The demo, a second community, and one signed-in client per role."""

    def __init__(self, app: injector.Injector) -> None:
        made = app.get(SeedDemoHandler)(actor=CONSOLE)
        home = made.community.id
        grocer = next(s for s in made.sellers if s.community_id == home)
        away = app.get(CreateCommunityHandler)(CreateCommunity(name="远方小区"), actor=CONSOLE)
        rival = app.get(CreateSellerHandler)(
            CreateSeller(name="别家铺子", community_id=home), actor=CONSOLE
        )
        memberships = {
            "resident": Membership(Role.RESIDENT, home),
            "leader": Membership(Role.LEADER, home, "point-1"),
            "rider": Membership(Role.RIDER, home),
            "merchant": Membership(Role.MERCHANT, home, grocer.id),
            "other merchant": Membership(Role.MERCHANT, home, rival.id),
            "operator": Membership(Role.OPERATOR, home),
            "other operator": Membership(Role.OPERATOR, away.id),
            "admin": Membership(Role.ADMIN),
        }
        self.phones = {}
        accounts = {}
        for i, (role, membership) in enumerate(memberships.items()):
            phone = f"1370000{i:04d}"
            accounts[role] = app.get(OpenAccountHandler)(
                OpenAccount(phone=phone, password=PASSWORD, memberships=(membership,)),
                actor=CONSOLE,
            )
            self.phones[role] = phone
        from shequ import BrowseProducts, BrowseProductsHandler, ProductFilter

        page = app.get(BrowseProductsHandler)(
            BrowseProducts(filter=ProductFilter(seller_id=grocer.id), limit=1), actor=CONSOLE
        )
        product = page.items[0]
        # what residents order: goods of the platform seller, which no route here changes
        platform = next(s for s in made.sellers if s.community_id is None)
        goods = max(
            (
                sku
                for item in app.get(BrowseProductsHandler)(
                    BrowseProducts(filter=ProductFilter(seller_id=platform.id), limit=100),
                    actor=CONSOLE,
                ).items
                for sku in item.skus
            ),
            key=lambda sku: sku.stock,
        )
        self.ids = {
            "home": home,
            "grocer": grocer.id,
            "product": product.product.id,
            "sku": product.skus[0].id,
            "goods": goods.id,
            "resident": accounts["resident"].id,
        }
        add_point(app, home)  # pp-1
        self.ids |= self._orders(app, accounts["resident"], home, goods.id)
        self.ids |= self._pickups(app, accounts["leader"], accounts["resident"], home, goods.id)
        self.ids["coupon"] = self._coupons(app, grocer.id)
        self.ids |= self._deliveries(app, accounts["resident"], accounts["rider"], home, goods.id)
        self.ids |= self._group_buys(app, home, goods.id)
        self.ids |= self._services(app, accounts["resident"], home, grocer.id)
        self.ids |= self._community_life(app, accounts["resident"], home)

    @staticmethod
    def _orders(
        app: injector.Injector, account: Account, home: CommunityId, goods: SkuId
    ) -> dict[str, str]:
        """The resident's orders in each state the routes act on, and two refund requests."""
        resident = Actor.of(account)
        gateway = app.get(PaymentGateway)
        assert isinstance(gateway, SandboxPaymentGateway)

        def place() -> Order:
            return app.get(PlaceOrderHandler)(
                PlaceOrder(
                    resident_id=account.id,
                    community_id=home,
                    delivery=Delivery(Fulfilment.PICKUP, pickup_point_id="pp-1"),
                    idempotency_key=uuid.uuid4().hex,
                    items=(OrderItem(goods, 1),),
                ),
                actor=resident,
            )

        def paid() -> Order:
            order = place()
            intent = app.get(StartPaymentHandler)(StartPayment(order.id), actor=CONSOLE)
            body, headers = gateway.pay(intent.payment_id)
            done = app.get(ConfirmPaymentHandler)(ConfirmPayment("sandbox", body, headers))
            assert done.order is not None
            return done.order

        def refund() -> str:
            asked = app.get(RequestRefundHandler)(
                RequestRefund(paid().id, RefundReason.QUALITY), actor=resident
            )
            return asked.id

        first = paid()
        assert first.payment_ref is not None
        with app.get(UnitOfWork) as uow:  # flagged, for an operator to clear
            payment = uow.payments.get_for_update(PaymentId(first.payment_ref))
            payment.flag_for_operator("to be looked at", key="matrix", now=payment.created_at)
            uow.commit()
        return {
            "unpaid": place().id,
            "cancellable": place().id,
            "paid": first.id,
            "payment": first.payment_ref,
            "refundable": paid().id,
            "refund": refund(),
            "other_refund": refund(),
        }

    @staticmethod
    def _pickups(
        app: injector.Injector, leader: Account, resident: Account, home: CommunityId, goods: SkuId
    ) -> dict[str, str]:
        """The point the leader runs, with a packed order on its way there and one waiting
        there with its code."""
        point = app.get(CreatePickupPointHandler)(
            CreatePickupPoint(
                community_id=home,
                name="团长家",
                kind=PointKind.LEADER_HOME,
                address="5幢101",
                location=GeoPoint(30.27, 120.15),
                hours=EVERY_DAY,
                daily_capacity=100,
                operator_id=leader.id,
                point_id=PickupPointId("point-1"),
            ),
            actor=CONSOLE,
        )
        gateway = app.get(PaymentGateway)
        assert isinstance(gateway, SandboxPaymentGateway)

        def packed() -> Order:
            order = app.get(PlaceOrderHandler)(
                PlaceOrder(
                    resident_id=resident.id,
                    community_id=home,
                    delivery=Delivery(Fulfilment.PICKUP, pickup_point_id=point.id),
                    idempotency_key=uuid.uuid4().hex,
                    items=(OrderItem(goods, 1),),
                ),
                actor=Actor.of(resident),
            )
            intent = app.get(StartPaymentHandler)(StartPayment(order.id), actor=CONSOLE)
            body, headers = gateway.pay(intent.payment_id)
            app.get(ConfirmPaymentHandler)(ConfirmPayment("sandbox", body, headers))
            return app.get(AdvanceOrderHandler)(
                AdvanceOrder(order.id, OrderAction.PACK), actor=CONSOLE
            )

        on_the_way, waiting, collected = packed(), packed(), packed()
        tickets = app.get(ArriveAtPickupPointHandler)(
            ArriveAtPickupPoint(point.id, (waiting.id, collected.id)), actor=CONSOLE
        )
        codes = {t.id: t.code for t in tickets}
        app.get(VerifyPickupCodeHandler)(
            VerifyPickupCode(point.id, codes[collected.id]), actor=CONSOLE
        )
        return {
            "point": point.id,
            "on_the_way": on_the_way.id,
            "waiting": waiting.id,
            "collected": collected.id,
            "code": codes[waiting.id],
        }

    @staticmethod
    def _deliveries(
        app: injector.Injector,
        resident: Account,
        rider: Account,
        home: CommunityId,
        goods: SkuId,
    ) -> dict[str, str]:
        """Packed orders for the resident's door: one to dispatch, and four our own team
        took: one of the rider's, one in the team's queue, one assigned to the rider and
        one the rider accepted. And a delivery slot of the community."""
        actor = Actor.of(resident)
        address = app.get(AddAddressHandler)(
            AddAddress(recipient="张伟", phone="13912345678", detail="3幢2单元501"), actor=actor
        )
        gateway = app.get(PaymentGateway)
        assert isinstance(gateway, SandboxPaymentGateway)

        def packed() -> Order:
            order = app.get(PlaceOrderHandler)(
                PlaceOrder(
                    resident_id=resident.id,
                    community_id=home,
                    delivery=Delivery(Fulfilment.DELIVERY, address_id=address.id),
                    idempotency_key=uuid.uuid4().hex,
                    items=(OrderItem(goods, 1),),
                ),
                actor=actor,
            )
            intent = app.get(StartPaymentHandler)(StartPayment(order.id), actor=CONSOLE)
            body, headers = gateway.pay(intent.payment_id)
            app.get(ConfirmPaymentHandler)(ConfirmPayment("sandbox", body, headers))
            return app.get(AdvanceOrderHandler)(
                AdvanceOrder(order.id, OrderAction.PACK), actor=CONSOLE
            )

        packed_home = packed()
        taken = {}
        for name in ("shipped", "queued", "ridden", "accepted"):
            taken[name] = packed().id
            done = app.get(DispatchDeliveryHandler)(DispatchDelivery(taken[name]), actor=CONSOLE)
            assert done.courier == "team"  # the demo's rider or this one: this one, then
            to = None if name == "queued" else rider.id
            app.get(AssignRiderHandler)(AssignRider(taken[name], to), actor=CONSOLE)
        app.get(AcceptDeliveryHandler)(AcceptDelivery(taken["accepted"]), actor=Actor.of(rider))
        [slot] = app.get(OpenDeliverySlotsHandler)(
            OpenDeliverySlots(home, dt.date(2026, 11, 25), dt.time(18), dt.time(20), 120, 10),
            actor=CONSOLE,
        )
        return {"packed_home": packed_home.id, "slot": slot.id, "rider": rider.id} | taken

    @staticmethod
    def _group_buys(app: injector.Injector, home: CommunityId, goods: SkuId) -> dict[str, str]:
        """A campaign on the goods, with groups of neighbours: one to join and to take a
        member out of, one to join by its invite code, one to cancel. A group needs more
        people than the routes bring, so each stays open."""
        now = app.get(Clock).now()
        campaign = app.get(CreateCampaignHandler)(
            CreateCampaign(
                name="矩阵团购",
                sku_id=goods,
                tiers=(PriceTier(1, Money(1)),),
                min_heads=10,
                max_heads=20,
                starts_at=now - dt.timedelta(minutes=1),
                ends_at=now + dt.timedelta(days=3),
                group_hours=24,
                per_resident_limit=10,
                stock=1000,
                community_ids=(home,),
                reward=LeaderReward.commission(500),
                pickup_date=(now + dt.timedelta(days=4)).date(),
                many_groups_per_leader=True,
            ),
            actor=CONSOLE,
        )
        neighbours = [
            app.get(OpenAccountHandler)(
                OpenAccount(phone=phone, memberships=(Membership(Role.RESIDENT, home),)),
                actor=CONSOLE,
            )
            for phone in ("13600000001", "13600000002")
        ]
        leader, member = (Actor.of(n) for n in neighbours)

        def start() -> StartGroup:
            return StartGroup(
                campaign_id=campaign.id,
                resident_id=neighbours[0].id,
                community_id=home,
                pickup_point_id="pp-1",
                quantity=1,
                idempotency_key=uuid.uuid4().hex,
            )

        group, invited, doomed = (
            app.get(StartGroupHandler)(start(), actor=leader).group for _ in range(3)
        )
        app.get(JoinGroupHandler)(
            JoinGroup(neighbours[1].id, 1, uuid.uuid4().hex, group_id=group.id), actor=member
        )
        return {
            "campaign": campaign.id,
            "group": group.id,
            "member": neighbours[1].id,
            "invite": invited.invite_code,
            "doomed": doomed.id,
        }

    @staticmethod
    def _services(
        app: injector.Injector, resident: Account, home: CommunityId, grocer: SellerId
    ) -> dict[str, str]:
        """The grocer also cuts hair at its shop (the same id, so its staff manage both),
        and the resident's bookings: one requested, one to cancel, one to move, one
        completed."""
        provider = app.get(RegisterProviderHandler)(
            RegisterProvider(
                name="老王理发",
                kind=ProviderKind.BEAUTY,
                community_ids=(home,),
                contact_phone="0571-8888 6666",
                address="3幢底商",
                hours=EVERY_DAY,
                provider_id=ProviderId(grocer),
            ),
            actor=CONSOLE,
        )
        staff = app.get(AddStaffHandler)(AddStaff(provider.id, "王师傅", EVERY_DAY), actor=CONSOLE)
        haircut = app.get(AddOfferingHandler)(
            AddOffering(
                provider.id,
                "理发",
                duration_minutes=60,
                price_kind=PriceKind.FIXED,
                price=Money(3000),
                venue=Venue.AT_MERCHANT,
                staff_ids=(staff.id,),
            ),
            actor=CONSOLE,
        )
        me = Actor.of(resident)

        def booked(hour: int) -> str:
            return app.get(BookServiceHandler)(
                BookService(
                    resident_id=resident.id,
                    community_id=home,
                    offering_id=haircut.id,
                    starts_at=dt.datetime(2026, 11, 26, hour, tzinfo=CHINA_STANDARD_TIME),
                    idempotency_key=uuid.uuid4().hex,
                ),
                actor=me,
            ).id

        def done(hour: int) -> str:
            booking = booked(hour)
            for status in (
                BookingStatus.CONFIRMED,
                BookingStatus.IN_PROGRESS,
                BookingStatus.COMPLETED,
            ):
                app.get(MoveBookingHandler)(MoveBooking(BookingId(booking), status), actor=CONSOLE)
            return booking

        served = done(9)
        app.get(ReviewBookingHandler)(ReviewBooking(BookingId(done(14)), 5, "好"), actor=me)
        with app.get(UnitOfWork) as uow:
            page = uow.reviews.of_subject(ReviewSubject.SERVICE, provider.id, after=None, limit=1)
        return {
            **World._promotion(app, resident, home, provider.id),
            "service_review": page[0].id,
            "provider": provider.id,
            "staff": staff.id,
            "offering": haircut.id,
            "booking": booked(10),
            "booking_to_cancel": booked(11),
            "booking_to_move": booked(12),
            "served": served,
        }

    @staticmethod
    def _promotion(
        app: injector.Injector, resident: Account, home: CommunityId, provider_id: ProviderId
    ) -> dict[str, str]:
        """A set meal on sale, and the resident's paid order of two of its vouchers."""
        now = app.get(Clock).now()
        promotion = app.get(PublishPromotionHandler)(
            PublishPromotion(
                provider_id,
                PromotionKind.SET_MEAL,
                "洗剪吹套餐",
                "周末可用",
                Money(3900),
                quantity=20,
                sale_ends_at=now + dt.timedelta(days=7),
                use_until=now + dt.timedelta(days=30),
                per_resident=5,
            ),
            actor=CONSOLE,
        )
        order = app.get(PlaceOrderHandler)(
            PlaceOrder(
                resident_id=resident.id,
                community_id=home,
                delivery=Delivery(Fulfilment.VOUCHER),
                idempotency_key=uuid.uuid4().hex,
                items=(OrderItem(promotion.sku_id, 2),),
            ),
            actor=Actor.of(resident),
        )
        gateway = app.get(PaymentGateway)
        assert isinstance(gateway, SandboxPaymentGateway)
        intent = app.get(StartPaymentHandler)(StartPayment(order.id), actor=CONSOLE)
        body, headers = gateway.pay(intent.payment_id)
        app.get(ConfirmPaymentHandler)(ConfirmPayment("sandbox", body, headers))
        with app.get(UnitOfWork) as uow:
            vouchers = uow.vouchers.of_order(order.id)
        return {
            "promotion": promotion.id,
            "voucher_sku": promotion.sku_id,
            "voucher_order": order.id,
            "voucher_code": vouchers[-1].code,  # refunds take the first valid one
        }

    @staticmethod
    def _community_life(
        app: injector.Injector, resident: Account, home: CommunityId
    ) -> dict[str, str]:
        """An announcement, an activity to sign up for, one the resident joined, and the
        resident's complaints: one open, one resolved."""
        notice = app.get(PublishAnnouncementHandler)(
            PublishAnnouncement((home,), "物业通知", "电梯年检"), actor=CONSOLE
        )

        def organised(title: str) -> str:
            starts = dt.datetime(2026, 11, 28, 9, 30, tzinfo=CHINA_STANDARD_TIME)
            return app.get(CreateActivityHandler)(
                CreateActivity(home, title, "会所", starts, starts + dt.timedelta(hours=2), 30),
                actor=CONSOLE,
            ).id

        joined = organised("读书会")
        app.get(JoinActivityHandler)(
            JoinActivity(ActivityId(joined), resident.id), actor=Actor.of(resident)
        )
        file = app.get(FileComplaintHandler)

        def filed(title: str) -> Complaint:
            return file(
                FileComplaint(resident.id, ComplaintCategory.PICKUP_POINT, title, "x", home),
                actor=Actor.of(resident),
            )

        resolved = app.get(MoveComplaintHandler)(
            MoveComplaint(filed("柜子坏了").id, ComplaintStatus.RESOLVED, "已修好"), actor=CONSOLE
        )
        return {
            "announcement": notice.id,
            "activity": organised("亲子手工"),
            "joined": joined,
            "complaint": filed("自提点没人").id,
            "resolved": resolved.id,
        } | World._forum(app, resident, home)

    @staticmethod
    def _forum(app: injector.Injector, resident: Account, home: CommunityId) -> dict[str, str]:
        """Two boards (one to archive); a neighbour's post and comment, and another of each
        to hide; the resident's own post and comment."""
        neighbour = app.get(OpenAccountHandler)(
            OpenAccount(
                phone="13799990000",
                password=PASSWORD,
                memberships=(Membership(Role.RESIDENT, home),),
            ),
            actor=CONSOLE,
        )
        board = app.get(OpenBoardHandler)(OpenBoard(home, "邻里互助"), actor=CONSOLE)
        old = app.get(OpenBoardHandler)(OpenBoard(home, "旧版块"), actor=CONSOLE)

        def posted(who: Account, title: str) -> Post:
            return app.get(WritePostHandler)(
                WritePost(board.id, who.id, title, "正文"), actor=Actor.of(who)
            )

        def commented(who: Account, on: Post) -> str:
            return app.get(CommentOnPostHandler)(
                CommentOnPost(on.id, who.id, "评论"), actor=Actor.of(who)
            ).id

        theirs, spam, mine = (
            posted(neighbour, "借梯子"),
            posted(neighbour, "x"),
            posted(resident, "y"),
        )
        return {
            "board": board.id,
            "old_board": old.id,
            "post": theirs.id,
            "comment": commented(neighbour, theirs),
            "spam_post": spam.id,
            "spam_comment": commented(neighbour, theirs),
            "own_post": mine.id,
            "own_comment": commented(resident, theirs),
        }

    @staticmethod
    def _coupons(app: injector.Injector, grocer: SellerId) -> str:
        """A coupon of the grocer's to issue, and a platform coupon to claim by code."""
        now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
        make = app.get(CreateCouponHandler)
        make(
            CreateCoupon(
                "领券立减1元",
                CouponTerms(CouponKind.AMOUNT, amount=Money(100)),
                now,
                now + dt.timedelta(days=30),
                claim_code=CLAIM_CODE,
            ),
            actor=CONSOLE,
        )
        return make(
            CreateCoupon(
                "立减2元",
                CouponTerms(CouponKind.AMOUNT, amount=Money(200), seller_id=grocer),
                now,
                now + dt.timedelta(days=30),
            ),
            actor=CONSOLE,
        ).id


@pytest.fixture
def world(tmp_path: Path, clock: FixedClock) -> tuple[injector.Injector, World]:
    app = container(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'm.db'}",
            password_profile="cheap",
            couriers=("team", "sandbox"),
        ),
        clock,
    )
    app.get(SchemaMigrations).upgrade()
    return app, World(app)


def client_as(app: injector.Injector, world: World, role: str) -> TestClient:
    client = TestClient(create_app(app), raise_server_exceptions=False)
    if role != "anonymous":
        signed = client.post(
            "/v1/auth/sign-in", json={"phone": world.phones[role], "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
    return client


@pytest.mark.parametrize("role", ROLES)
def test_each_route_answers_each_role_as_the_policy_says(
    world: tuple[injector.Injector, World], role: str
) -> None:
    app, w = world
    client = client_as(app, w, role)
    # signing out everywhere and erasing the account void the client's token: run them last
    for method, template, body, allowed in sorted(MATRIX, key=lambda r: last(r[0], r[1])):
        if last(method, template):
            client = client_as(app, w, role)  # a fresh token for each of the last two
        path = template.format(**w.ids)
        if body == "photo":
            response = client.request(method, path, content=PHOTO)
        else:
            json = body(w.ids) if body else None
            # checkout needs an Idempotency-Key; the other routes ignore it
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            response = client.request(method, path, json=json, headers=headers)
        label = f"{role}: {method} {template} -> {response.status_code} {response.text[:200]}"
        assert response.status_code < 500, label
        if role == "anonymous":
            assert response.status_code == 401, label
            assert response.headers["www-authenticate"] == "Bearer", label
        elif template == "/v1/me/addresses/{home}":
            assert response.status_code == 404, label
        elif role in allowed:
            assert 200 <= response.status_code < 300, label
        else:
            status, code = REFUSED.get((method, template), (403, "forbidden"))
            assert response.status_code == status, label
            assert response.json()["code"] == code, label


def shape(path: str) -> str:
    """A path without its query and with its parameters unnamed: ``/v1/skus/{}``."""
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0])


def test_every_route_is_in_the_matrix(world: tuple[injector.Injector, World]) -> None:
    app, _ = world
    spec = create_app(app).openapi()
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    routes = {
        (method.upper(), shape(path))
        for path, operations in spec["paths"].items()
        for method in operations
        if method in methods
    }
    listed = {(method, shape(path)) for method, path, _, _ in MATRIX}
    known = listed | {(method, shape(path)) for method, path in PUBLIC}
    assert routes - known == set(), "route(s) with no entry in the authorization matrix"
    assert listed - routes == set(), "matrix entries for routes that do not exist"


def test_a_merchant_account_cannot_list_in_another_community(
    world: tuple[injector.Injector, World],
) -> None:
    app, w = world
    away = app.get(CreateCommunityHandler)(CreateCommunity(name="第三小区"), actor=CONSOLE)
    client = client_as(app, w, "merchant")
    response = client.put(f"/v1/skus/{w.ids['sku']}/listings/{away.id}")
    assert response.status_code == 403
    client = client_as(app, w, "operator")
    assert client.put(f"/v1/skus/{w.ids['sku']}/listings/{away.id}").status_code == 403
    client = client_as(app, w, "admin")
    assert client.put(f"/v1/skus/{w.ids['sku']}/listings/{away.id}").status_code == 200
