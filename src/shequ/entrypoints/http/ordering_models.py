"""Request bodies and views of ordering: cart, coupons, orders, payments and refunds.

Money is integer fen in fields named ``*_fen``, each with a display string beside it
(``total_fen`` and ``total``). Request bodies refuse unknown fields and floats.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from shequ.application.ordering.cart import CartView
from shequ.application.ordering.coupons import HeldCoupon
from shequ.application.ordering.orders import Cancellation, OrderPage
from shequ.application.ports import SkuOffer
from shequ.domain.ids import CouponId, GrantId, SellerId, SkuId
from shequ.domain.money import Money
from shequ.domain.ordering import (
    MAX_CART_LINES,
    Cart,
    Coupon,
    CouponGrant,
    CouponKind,
    CouponScope,
    CouponTerms,
    Delivery,
    Fulfilment,
    Order,
    Quote,
    Refund,
    RefundReason,
    ScopeKind,
)
from shequ.entrypoints.http.deps import Input, Output

__all__ = [
    "AdvanceIn",
    "CancelIn",
    "CancellationOut",
    "CartItemIn",
    "CartOut",
    "CartQuantityIn",
    "CartViewOut",
    "CheckoutIn",
    "ClaimIn",
    "CouponIn",
    "DecisionIn",
    "GrantOut",
    "HeldCouponOut",
    "IssueIn",
    "ManagedCouponOut",
    "OrderOut",
    "OrderPageOut",
    "RefundIn",
    "RefundOut",
]


def amount(name: str, money: Money | None) -> dict[str, Any]:
    """An amount as the API shows every amount: ``<name>_fen`` and ``<name>`` for people."""
    if money is None:
        return {f"{name}_fen": None, name: None}
    return {f"{name}_fen": money.fen, name: money.format()}


# ---------------------------------------------------------------- request bodies


class CartItemIn(Input):
    community_id: StrictStr
    sku_id: StrictStr
    quantity: StrictInt = 1


class CartQuantityIn(Input):
    community_id: StrictStr
    quantity: StrictInt


class ItemIn(Input):
    sku_id: StrictStr
    quantity: StrictInt


class FulfilmentIn(Input):
    """A pickup names its pickup point; a home delivery names one of the resident's
    addresses, and either a delivery slot of the community (``slot_id``), ``express``,
    or neither (as soon as possible); a merchant's promotion (``voucher``) names nothing:
    its vouchers are redeemed at the merchant."""

    kind: Fulfilment
    pickup_point_id: StrictStr | None = None
    address_id: StrictStr | None = None
    express: StrictBool = False
    slot_id: StrictStr | None = None

    def to_domain(self) -> Delivery:
        return Delivery(
            kind=self.kind,
            pickup_point_id=self.pickup_point_id,
            address_id=self.address_id,
            express=self.express,
            slot_id=self.slot_id,
        )


class CheckoutIn(Input):
    """Order ``items``, or the orderable lines of the cart with ``from_cart``.
    ``coupon_ids`` are copies (grant ids) the resident holds: ``null`` lets the engine
    choose the best allowed combination, ``[]`` uses none."""

    community_id: StrictStr
    items: list[ItemIn] = Field(default_factory=list, max_length=MAX_CART_LINES)
    from_cart: StrictBool = False
    fulfilment: FulfilmentIn
    coupon_ids: list[StrictStr] | None = Field(default=None, max_length=10)
    pickup_date: dt.date | None = Field(
        default=None,
        description="A pickup's day at its point (today or later, a day it opens); "
        "default: the point's next open day.",
    )


class ScopeIn(Input):
    kind: ScopeKind = ScopeKind.ORDER
    category: StrictStr | None = None
    sku_ids: list[StrictStr] = Field(default_factory=list, max_length=1000)
    seller_id: StrictStr | None = None

    def to_domain(self) -> CouponScope:
        return CouponScope(
            kind=self.kind,
            category=self.category,
            sku_ids=frozenset(SkuId(s) for s in self.sku_ids),
            seller_id=None if self.seller_id is None else SellerId(self.seller_id),
        )


class CouponIn(Input):
    name: StrictStr
    kind: CouponKind
    amount_fen: StrictInt = 0
    threshold_fen: StrictInt = 0
    percent_off: StrictInt = 0
    cap_fen: StrictInt | None = None
    scope: ScopeIn = ScopeIn()
    seller_id: StrictStr | None = Field(
        default=None, description="The issuer: a seller, or null for the platform."
    )
    valid_from: dt.datetime = Field(description="With a time zone.")
    valid_until: dt.datetime = Field(description="With a time zone.")
    per_resident_limit: StrictInt = 1
    total_limit: StrictInt | None = None
    claim_code: StrictStr | None = None

    def terms(self) -> CouponTerms:
        return CouponTerms(
            kind=self.kind,
            amount=Money(self.amount_fen),
            threshold=Money(self.threshold_fen),
            percent_off=self.percent_off,
            cap=None if self.cap_fen is None else Money(self.cap_fen),
            scope=self.scope.to_domain(),
            seller_id=None if self.seller_id is None else SellerId(self.seller_id),
        )


class IssueIn(Input):
    resident_ids: list[StrictStr]


class ClaimIn(Input):
    code: StrictStr


class CancelIn(Input):
    reason: StrictStr = ""


class AdvanceIn(Input):
    action: Literal["pack", "dispatch", "deliver", "ready", "pick_up", "complete"]
    note: StrictStr = ""


class RefundIn(Input):
    """``items`` left out asks for every unit not refunded yet; ``amount_fen`` asks for
    less than the goods cost."""

    reason: RefundReason
    items: list[ItemIn] | None = Field(default=None, min_length=1, max_length=MAX_CART_LINES)
    amount_fen: StrictInt | None = None
    photos: list[StrictStr] = Field(default_factory=list, max_length=9)
    comment: StrictStr = ""


class DecisionIn(Input):
    note: StrictStr = ""


# ---------------------------------------------------------------- views


class CartLineOut(Output):
    sku_id: str
    quantity: int
    added_at: dt.datetime


class CartOut(Output):
    """The cart as stored: what the resident put in. ``GET /v1/cart`` prices it."""

    id: str
    community_id: str
    lines: list[CartLineOut]
    updated_at: dt.datetime
    version: int

    @classmethod
    def of(cls, cart: Cart) -> CartOut:
        return cls(
            id=cart.id,
            community_id=cart.community_id,
            lines=[
                CartLineOut(sku_id=x.sku_id, quantity=x.quantity, added_at=x.added_at)
                for x in cart.lines
            ],
            updated_at=cart.updated_at,
            version=cart.version,
        )


class OfferOut(Output):
    """The SKU as it is now."""

    product_id: str
    seller_id: str
    name: str
    spec: str
    category: str
    price_fen: int
    price: str
    stock: int
    on_sale: bool

    @classmethod
    def of(cls, o: SkuOffer) -> OfferOut:
        return cls(
            product_id=o.product_id,
            seller_id=o.seller_id,
            name=o.name,
            spec=o.spec,
            category=o.category,
            **amount("price", o.price),
            stock=o.stock,
            on_sale=o.on_sale,
        )


class CartItemOut(Output):
    sku_id: str
    quantity: int
    problem: str | None
    offer: OfferOut | None


class LinePriceOut(Output):
    sku_id: str
    quantity: int
    unit_price_fen: int
    unit_price: str
    subtotal_fen: int
    subtotal: str
    discount_fen: int
    discount: str
    payable_fen: int
    payable: str


class AppliedCouponOut(Output):
    coupon_id: str
    grant_id: str
    kind: str
    saving_fen: int
    saving: str


class QuoteOut(Output):
    lines: list[LinePriceOut]
    subtotal_fen: int
    subtotal: str
    discount_fen: int
    discount: str
    delivery_fee_fen: int
    delivery_fee: str
    delivery_waived_fen: int
    delivery_waived: str
    total_fen: int
    total: str
    savings_fen: int
    savings: str
    coupons: list[AppliedCouponOut]

    @classmethod
    def of(cls, quote: Quote, grants: dict[CouponId, GrantId]) -> QuoteOut:
        b = quote.breakdown
        return cls(
            lines=[
                LinePriceOut(
                    sku_id=x.sku_id,
                    quantity=x.quantity,
                    **amount("unit_price", x.unit_price),
                    **amount("subtotal", x.subtotal),
                    **amount("discount", x.discount),
                    **amount("payable", x.payable),
                )
                for x in b.lines
            ],
            **amount("subtotal", b.subtotal),
            **amount("discount", b.discount),
            **amount("delivery_fee", b.delivery_fee),
            **amount("delivery_waived", b.delivery_waived),
            **amount("total", b.total),
            **amount("savings", quote.savings),
            coupons=[
                AppliedCouponOut(
                    coupon_id=c.coupon_id,
                    grant_id=grants[c.coupon_id],
                    kind=c.kind.value,
                    **amount("saving", c.saving),
                )
                for c in b.coupons
            ],
        )


class CartViewOut(Output):
    """Every line, flagged with its ``problem`` when it cannot be ordered now, and the
    price of the others (``null`` when none can be ordered)."""

    community_id: str
    items: list[CartItemOut]
    quote: QuoteOut | None

    @classmethod
    def of(cls, view: CartView) -> CartViewOut:
        return cls(
            community_id=view.community_id,
            items=[
                CartItemOut(
                    sku_id=i.sku_id,
                    quantity=i.quantity,
                    problem=None if i.problem is None else i.problem.value,
                    offer=None if i.offer is None else OfferOut.of(i.offer),
                )
                for i in view.items
            ],
            quote=None if view.quote is None else QuoteOut.of(view.quote, view.coupon_grants),
        )


class ScopeOut(Output):
    kind: str
    category: str | None
    sku_ids: list[str]
    seller_id: str | None


class CouponOut(Output):
    """A coupon's offer, as its holders see it."""

    id: str
    name: str
    kind: str
    kind_label: str
    description: str
    amount_fen: int
    amount: str
    threshold_fen: int
    threshold: str
    percent_off: int
    cap_fen: int | None
    cap: str | None
    scope: ScopeOut
    seller_id: str | None
    valid_from: dt.datetime
    valid_until: dt.datetime
    per_resident_limit: int

    @staticmethod
    def _facts(c: Coupon) -> dict[str, object]:
        return {
            "id": c.id,
            "name": c.name,
            "kind": c.kind.value,
            "kind_label": c.kind.label,
            "description": c.terms.describe(),
            "amount_fen": c.amount.fen,
            "amount": c.amount.format(),
            "threshold_fen": c.threshold.fen,
            "threshold": c.threshold.format(),
            "percent_off": c.percent_off,
            **amount("cap", c.cap),
            "scope": ScopeOut(
                kind=c.scope_kind.value,
                category=c.scope_category,
                sku_ids=list(c.scope_sku_ids),
                seller_id=c.scope_seller_id,
            ),
            "seller_id": c.seller_id,
            "valid_from": c.valid_from,
            "valid_until": c.valid_until,
            "per_resident_limit": c.per_resident_limit,
        }

    @classmethod
    def of(cls, c: Coupon) -> CouponOut:
        return cls.model_validate(cls._facts(c))


class ManagedCouponOut(CouponOut):
    """A coupon as those who manage it see it: its limits, code and copies issued."""

    total_limit: int | None
    issued: int
    remaining: int | None
    claim_code: str | None
    created_at: dt.datetime
    version: int

    @classmethod
    def of(cls, c: Coupon) -> ManagedCouponOut:
        return cls.model_validate(
            {
                **cls._facts(c),
                "total_limit": c.total_limit,
                "issued": c.issued,
                "remaining": c.remaining,
                "claim_code": c.claim_code,
                "created_at": c.created_at,
                "version": c.version,
            }
        )


class GrantOut(Output):
    """One copy of a coupon, held by one resident; ``used_by`` is the order that used it."""

    id: str
    coupon_id: str
    resident_id: str
    granted_at: dt.datetime
    used_by: str | None
    used_at: dt.datetime | None

    @classmethod
    def of(cls, g: CouponGrant) -> GrantOut:
        return cls(
            id=g.id,
            coupon_id=g.coupon_id,
            resident_id=g.resident_id,
            granted_at=g.granted_at,
            used_by=g.used_by,
            used_at=g.used_at,
        )


class HeldCouponOut(Output):
    grant: GrantOut
    coupon: CouponOut

    @classmethod
    def of(cls, held: HeldCoupon) -> HeldCouponOut:
        return cls(grant=GrantOut.of(held.grant), coupon=CouponOut.of(held.coupon))


class DeliveryOut(Output):
    kind: str
    pickup_point_id: str | None
    address_id: str | None
    express: bool
    slot_id: str | None


class OrderLineOut(Output):
    """A SKU as it was sold, and what of it was refunded or is asked back."""

    sku_id: str
    product_id: str
    seller_id: str
    name: str
    spec: str
    quantity: int
    unit_price_fen: int
    unit_price: str
    subtotal_fen: int
    subtotal: str
    discount_fen: int
    discount: str
    payable_fen: int
    payable: str
    refunded_quantity: int
    refunded_fen: int
    refunded: str
    pending_quantity: int
    pending_fen: int
    pending: str


class StatusChangeOut(Output):
    at: dt.datetime
    status: str
    note: str


class OrderOut(Output):
    id: str
    resident_id: str
    community_id: str
    status: str
    delivery: DeliveryOut
    pickup_date: dt.date | None = Field(description="A pickup's day at its point.")
    lines: list[OrderLineOut]
    subtotal_fen: int
    subtotal: str
    discount_fen: int
    discount: str
    delivery_fee_fen: int
    delivery_fee: str
    total_fen: int
    total: str
    paid_fen: int
    paid: str
    refunded_fen: int
    refunded: str
    delivery_fee_refunded: bool
    coupon_ids: list[str] = Field(description="The coupon copies (grant ids) the order used.")
    placed_at: dt.datetime
    expires_at: dt.datetime = Field(description="Unpaid by then, the order expires.")
    paid_at: dt.datetime | None
    payment_ref: str | None
    history: list[StatusChangeOut]
    version: int

    @classmethod
    def of(cls, o: Order) -> OrderOut:
        return cls(
            id=o.id,
            resident_id=o.resident_id,
            community_id=o.community_id,
            status=o.status.value,
            delivery=DeliveryOut(
                kind=o.delivery.kind.value,
                pickup_point_id=o.delivery.pickup_point_id,
                address_id=o.delivery.address_id,
                express=o.delivery.express,
                slot_id=o.delivery.slot_id,
            ),
            pickup_date=o.pickup_date,
            lines=[
                OrderLineOut(
                    sku_id=x.sku_id,
                    product_id=x.product_id,
                    seller_id=x.seller_id,
                    name=x.name,
                    spec=x.spec,
                    quantity=x.quantity,
                    **amount("unit_price", x.unit_price),
                    **amount("subtotal", x.subtotal),
                    **amount("discount", x.discount),
                    **amount("payable", x.payable),
                    refunded_quantity=x.refunded_quantity,
                    **amount("refunded", x.refunded_amount),
                    pending_quantity=x.pending_quantity,
                    **amount("pending", x.pending_amount),
                )
                for x in o.lines
            ],
            **amount("subtotal", o.subtotal),
            **amount("discount", o.discount),
            **amount("delivery_fee", o.delivery_fee),
            **amount("total", o.total),
            **amount("paid", o.paid),
            **amount("refunded", o.refunded),
            delivery_fee_refunded=o.delivery_fee_refunded,
            coupon_ids=list(o.grant_ids),
            placed_at=o.placed_at,
            expires_at=o.expires_at,
            paid_at=o.paid_at,
            payment_ref=o.payment_ref,
            history=[
                StatusChangeOut(at=c.at, status=c.status.value, note=c.note) for c in o.history
            ],
            version=o.version,
        )


class OrderPageOut(Output):
    items: list[OrderOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: OrderPage) -> OrderPageOut:
        return cls(items=[OrderOut.of(o) for o in page.items], next_cursor=page.next_cursor)


class RefundItemOut(Output):
    sku_id: str
    quantity: int
    amount_fen: int
    amount: str


class RefundOut(Output):
    id: str
    order_id: str
    resident_id: str
    status: str
    reason: str
    items: list[RefundItemOut]
    delivery_fee_fen: int
    delivery_fee: str
    amount_fen: int = Field(description="The goods' share plus any delivery fee refunded.")
    amount: str
    photos: list[str]
    comment: str
    note: str
    restocked: bool
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None
    paid_out: bool = Field(
        description="Handed to the payment that took the money, which sends it back through "
        "its provider and follows it until confirmed (see GET /v1/payments/{id})."
    )

    @classmethod
    def of(cls, r: Refund) -> RefundOut:
        return cls(
            id=r.id,
            order_id=r.order_id,
            resident_id=r.resident_id,
            status=r.status.value,
            reason=r.reason.value,
            items=[
                RefundItemOut(
                    sku_id=i.sku_id,
                    quantity=i.quantity,
                    **amount("amount", i.amount),
                )
                for i in r.items
            ],
            **amount("delivery_fee", r.delivery_fee),
            **amount("amount", r.amount),
            photos=list(r.photos),
            comment=r.comment,
            note=r.note,
            restocked=r.restocked,
            requested_at=r.requested_at,
            decided_at=r.decided_at,
            decided_by=r.decided_by,
            paid_out=r.payment_refund_ref is not None,
        )


class CancellationOut(Output):
    """The cancelled order and, when it was paid, its full refund."""

    order: OrderOut
    refund: RefundOut | None

    @classmethod
    def of(cls, done: Cancellation) -> CancellationOut:
        return cls(
            order=OrderOut.of(done.order),
            refund=None if done.refund is None else RefundOut.of(done.refund),
        )
