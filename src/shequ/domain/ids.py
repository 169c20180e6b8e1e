"""Typed identifiers: opaque strings, by default 32 hex digits of a random UUID."""

from __future__ import annotations

import re
import uuid
from typing import NewType

from shequ.domain.errors import InvalidInput

__all__ = [
    "AccountId",
    "ActivityId",
    "AnnouncementId",
    "BoardId",
    "BookingId",
    "CampaignId",
    "CartId",
    "CommentId",
    "CommunityId",
    "ComplaintId",
    "CouponId",
    "DeliverySlotId",
    "GrantId",
    "GroupBuyId",
    "OfferingId",
    "OrderId",
    "PaymentId",
    "PickupPointId",
    "PostId",
    "ProductId",
    "PromotionId",
    "ProviderId",
    "RefundId",
    "ReportId",
    "ReviewId",
    "SellerId",
    "SkuId",
    "StaffId",
    "VoucherId",
    "check_id",
    "new_id",
]

_ID = re.compile(r"[0-9A-Za-z_-]{1,32}")

AccountId = NewType("AccountId", str)
CommunityId = NewType("CommunityId", str)
SellerId = NewType("SellerId", str)
ProductId = NewType("ProductId", str)
SkuId = NewType("SkuId", str)
CartId = NewType("CartId", str)
CouponId = NewType("CouponId", str)
GrantId = NewType("GrantId", str)
OrderId = NewType("OrderId", str)
RefundId = NewType("RefundId", str)
PaymentId = NewType("PaymentId", str)
CampaignId = NewType("CampaignId", str)
GroupBuyId = NewType("GroupBuyId", str)
PickupPointId = NewType("PickupPointId", str)
DeliverySlotId = NewType("DeliverySlotId", str)
ProviderId = NewType("ProviderId", str)
StaffId = NewType("StaffId", str)
OfferingId = NewType("OfferingId", str)
BookingId = NewType("BookingId", str)
AnnouncementId = NewType("AnnouncementId", str)
ActivityId = NewType("ActivityId", str)
ComplaintId = NewType("ComplaintId", str)
BoardId = NewType("BoardId", str)
PostId = NewType("PostId", str)
CommentId = NewType("CommentId", str)
ReportId = NewType("ReportId", str)
ReviewId = NewType("ReviewId", str)
PromotionId = NewType("PromotionId", str)
VoucherId = NewType("VoucherId", str)


def new_id() -> str:
    return uuid.uuid4().hex


def check_id(value: str, what: str) -> None:
    """Ids chosen by a caller are 1 to 32 letters, digits, ``_`` or ``-``."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidInput(
            f"{what} id {value!r} must be 1 to 32 letters, digits, '_' or '-'", field="id"
        )
