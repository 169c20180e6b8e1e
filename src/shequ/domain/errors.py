"""The error hierarchy. Every error carries a stable kebab-case ``code``.

::

    ShequError
    ├─ DomainError        a rule refused (out-of-stock, …)
    │   └─ InvalidInput   input-shaped rules (bad amount, bad quantity, bad cursor, …)
    ├─ NotFound
    ├─ Unauthenticated    no valid identity
    ├─ Forbidden
    ├─ Conflict           concurrent change, duplicate, too many attempts
    └─ AdapterError       storage, a provider or a courier failed

Entrypoints map the families to HTTP statuses and CLI exit codes; ``docs/errors.md``
lists every code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AccountNotFound",
    "ActivityNotFound",
    "AdapterError",
    "AnnouncementNotFound",
    "BoardNotFound",
    "BookingNotFound",
    "CampaignNotFound",
    "CampaignNotRunning",
    "CommentNotFound",
    "CommunityNotFound",
    "ComplaintNotFound",
    "ConcurrentUpdate",
    "Conflict",
    "CouponBelowThreshold",
    "CouponExpired",
    "CouponNotApplicable",
    "CouponNotFound",
    "CouponNotHeld",
    "CouponUsedUp",
    "CouponsNotStackable",
    "CourierCallbackInvalid",
    "CourierRefused",
    "CourierUnavailable",
    "DeliveryCodeInvalid",
    "DeliveryNotFound",
    "DeliverySlotFull",
    "DeliverySlotNotFound",
    "DeliverySlotUnavailable",
    "DomainError",
    "Duplicate",
    "Forbidden",
    "GroupBuyClosed",
    "GroupBuyFull",
    "GroupBuyLimitExceeded",
    "GroupBuyNotFound",
    "IdempotencyKeyReused",
    "IllegalTransition",
    "InsufficientStock",
    "InvalidAmount",
    "InvalidCursor",
    "InvalidImport",
    "InvalidInput",
    "InvalidPhoto",
    "InvalidQuantity",
    "NotFound",
    "OfferingNotFound",
    "OrderNotFound",
    "PaymentMismatch",
    "PaymentNotFound",
    "PaymentNotificationInvalid",
    "PaymentProviderNotFound",
    "PaymentRefused",
    "PaymentUnavailable",
    "PersonalDataUnreadable",
    "PickupCodeInvalid",
    "PickupPointFull",
    "PickupPointNotFound",
    "PickupPointUnavailable",
    "PostNotFound",
    "ProductNotFound",
    "PromotionNotFound",
    "ProviderNotFound",
    "RateLimited",
    "RefundExceedsPaid",
    "RefundNotFound",
    "ReviewNotFound",
    "RoutingUnavailable",
    "SchemaOutOfDate",
    "SellerNotFound",
    "ShequError",
    "SkuNotFound",
    "SkuUnavailable",
    "SlotTaken",
    "StaffNotFound",
    "StorageUnavailable",
    "Unauthenticated",
    "VoucherCodeInvalid",
]


class ShequError(Exception):
    """The root of every error shequ raises on purpose."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: Mapping[str, Any] = details

    def __str__(self) -> str:
        return self.message


class DomainError(ShequError):
    """A business rule refused the request."""

    code = "rule-refused"


class InvalidInput(DomainError):
    """The request is shaped wrongly for a rule: a bad amount, quantity or window."""

    code = "invalid-input"


class InvalidAmount(InvalidInput):
    code = "invalid-amount"


class InvalidCursor(InvalidInput):
    code = "invalid-cursor"


class InvalidImport(InvalidInput):
    """An import file has bad rows; ``details["rows"]`` lists ``(line, reason)`` pairs."""

    code = "invalid-import"


class InvalidPhoto(InvalidInput):
    """An upload that is not a photo we take: judged by its bytes, not its name."""

    code = "invalid-photo"


class InvalidQuantity(InvalidInput):
    """A quantity that is not a whole number from 1 to 9,999."""

    code = "invalid-quantity"


class InsufficientStock(DomainError):
    code = "out-of-stock"


class SkuUnavailable(DomainError):
    """The SKU is off sale, or not sold in the buyer's community."""

    code = "sku-unavailable"


class CouponExpired(DomainError):
    """Outside the coupon's validity window."""

    code = "coupon-expired"


class CampaignNotRunning(DomainError):
    """A group-buy campaign outside its window, or in another community."""

    code = "campaign-not-running"


class PickupPointUnavailable(DomainError):
    """A pickup point of another community, paused, or closed on the day asked for."""

    code = "pickup-point-unavailable"


class PickupPointFull(DomainError):
    """The point has as many parcels booked for that day as it can hold."""

    code = "pickup-point-full"


class DeliverySlotUnavailable(DomainError):
    """A delivery slot of another community, closed, or too close to its start (or past
    it) to be chosen."""

    code = "slot-unavailable"


class DeliverySlotFull(DomainError):
    """The delivery slot has as many orders booked as it holds."""

    code = "slot-full"


class SlotTaken(DomainError):
    """A service time a member of staff is no longer free at: booked meanwhile, outside
    their schedule, on leave, or too soon."""

    code = "slot-taken"


class DeliveryCodeInvalid(DomainError):
    """A handover code at the door that is not the resident's."""

    code = "delivery-code-invalid"


class CourierRefused(DomainError):
    """A courier partner declined the delivery (outside its area, too heavy …)."""

    code = "courier-refused"


class PickupCodeInvalid(DomainError):
    """A pickup code that is wrong, used already, or of another point."""

    code = "pickup-code-invalid"


class VoucherCodeInvalid(DomainError):
    """A voucher code that is wrong, or not of this merchant."""

    code = "voucher-code-invalid"


class GroupBuyClosed(DomainError):
    """A group that no longer takes anyone: succeeded and past its deadline, failed,
    settled or cancelled."""

    code = "group-closed"


class GroupBuyFull(DomainError):
    code = "group-full"


class GroupBuyLimitExceeded(DomainError):
    """More units than a resident may buy in a campaign, more than the campaign has left,
    or a resident joining a group they are in already."""

    code = "group-limit-exceeded"


class CouponUsedUp(DomainError):
    """Used already, or no more may be issued (in total or to this resident)."""

    code = "coupon-used-up"


class CouponNotHeld(DomainError):
    """The coupon was issued to somebody else."""

    code = "coupon-not-yours"


class CouponBelowThreshold(DomainError):
    """The goods the coupon covers cost less than its threshold."""

    code = "coupon-below-threshold"


class CouponNotApplicable(DomainError):
    """Nothing in the order is covered by the coupon (or a delivery coupon on a pickup)."""

    code = "coupon-not-applicable"


class CouponsNotStackable(DomainError):
    """Two coupons of one kind, or two platform (or two seller) coupons, on one order."""

    code = "coupons-not-stackable"


class IllegalTransition(DomainError):
    """The order's status does not allow that step (``details``: status, action)."""

    code = "illegal-transition"


class RefundExceedsPaid(DomainError):
    """More units or money than are left to refund on the order."""

    code = "refund-exceeds-paid"


class PaymentMismatch(DomainError):
    """A payment notice whose amount or order does not match the order."""

    code = "payment-mismatch"


class CourierCallbackInvalid(InvalidInput):
    """A courier's status callback whose signature does not verify, or that cannot be
    read."""

    code = "courier-callback-invalid"


class PaymentNotificationInvalid(InvalidInput):
    """A payment notification whose signature does not verify, or that cannot be read."""

    code = "payment-notification-invalid"


class NotFound(ShequError):
    code = "not-found"


class CommunityNotFound(NotFound):
    code = "community-not-found"


class SellerNotFound(NotFound):
    code = "seller-not-found"


class ProductNotFound(NotFound):
    code = "product-not-found"


class SkuNotFound(NotFound):
    code = "sku-not-found"


class AccountNotFound(NotFound):
    code = "account-not-found"


class CouponNotFound(NotFound):
    code = "coupon-not-found"


class OrderNotFound(NotFound):
    code = "order-not-found"


class RefundNotFound(NotFound):
    code = "refund-not-found"


class PaymentNotFound(NotFound):
    code = "payment-not-found"


class PickupPointNotFound(NotFound):
    code = "pickup-point-not-found"


class DeliveryNotFound(NotFound):
    """No delivery of that order, or none a courier's callback names."""

    code = "delivery-not-found"


class DeliverySlotNotFound(NotFound):
    code = "slot-not-found"


class ProviderNotFound(NotFound):
    code = "merchant-not-found"


class StaffNotFound(NotFound):
    code = "staff-not-found"


class OfferingNotFound(NotFound):
    code = "offering-not-found"


class BookingNotFound(NotFound):
    code = "booking-not-found"


class AnnouncementNotFound(NotFound):
    code = "announcement-not-found"


class ActivityNotFound(NotFound):
    code = "activity-not-found"


class ComplaintNotFound(NotFound):
    code = "complaint-not-found"


class BoardNotFound(NotFound):
    code = "board-not-found"


class PostNotFound(NotFound):
    code = "post-not-found"


class CommentNotFound(NotFound):
    code = "comment-not-found"


class ReviewNotFound(NotFound):
    code = "review-not-found"


class PromotionNotFound(NotFound):
    code = "promotion-not-found"


class CampaignNotFound(NotFound):
    code = "campaign-not-found"


class GroupBuyNotFound(NotFound):
    """No group with that id, or no open group with that invite code."""

    code = "group-not-found"


class PaymentProviderNotFound(NotFound):
    """No payment provider of that name is configured."""

    code = "payment-provider-not-found"


class Unauthenticated(ShequError):
    """No valid identity: a missing, expired, tampered or revoked token, or a failed sign-in."""

    code = "unauthenticated"


class Forbidden(ShequError):
    code = "forbidden"


class Conflict(ShequError):
    """Safe to retry: somebody else changed the same thing first."""

    code = "conflict"


class ConcurrentUpdate(Conflict):
    code = "concurrent-update"


class RateLimited(Conflict):
    """Too many attempts; ``details["retry_after"]`` says how many seconds to wait."""

    code = "rate-limited"


class Duplicate(Conflict):
    code = "duplicate"


class IdempotencyKeyReused(Conflict):
    """The idempotency key was used before for a request with another body."""

    code = "idempotency-key-reused"


class AdapterError(ShequError):
    """Something outside the domain failed: storage, a payment provider, a courier."""

    code = "adapter-error"


class PaymentUnavailable(AdapterError):
    """The payment provider did not answer, or refused to take the request."""

    code = "payment-unavailable"


class PaymentRefused(AdapterError):
    """The payment provider answered, and refused: a bad parameter, an unknown payment,
    a refund larger than what is left, an account the provider has not enabled."""

    code = "payment-refused"


class StorageUnavailable(AdapterError):
    code = "storage-unavailable"


class SchemaOutOfDate(AdapterError):
    code = "schema-out-of-date"


class CourierUnavailable(AdapterError):
    """A courier partner timed out, answered 5xx, or answered something unreadable."""

    code = "courier-unavailable"


class RoutingUnavailable(AdapterError):
    """The route planner cannot run: its engine is not installed (the ``routing`` extra),
    or it found no plan within its time limit."""

    code = "routing-unavailable"


class PersonalDataUnreadable(AdapterError):
    """Sealed personal data did not open: a missing or wrong key, or a moved value."""

    code = "personal-data-unreadable"
