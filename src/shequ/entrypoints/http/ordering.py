"""``/v1`` ordering routes: the cart, coupons, checkout, orders and refunds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header
from pydantic import AwareDatetime

from shequ.application.ordering.cart import (
    AddToCart,
    AddToCartHandler,
    ChangeCart,
    ChangeCartHandler,
    ViewCart,
    ViewCartHandler,
)
from shequ.application.ordering.checkout import OrderItem, PlaceOrder, PlaceOrderHandler
from shequ.application.ordering.coupons import (
    ClaimCoupon,
    ClaimCouponHandler,
    CreateCoupon,
    CreateCouponHandler,
    IssueCoupon,
    IssueCouponHandler,
    ListCoupons,
    ListCouponsHandler,
    MyCoupons,
    MyCouponsHandler,
)
from shequ.application.ordering.orders import (
    AdvanceOrder,
    AdvanceOrderHandler,
    CancelOrder,
    CancelOrderHandler,
    GetOrder,
    GetOrderHandler,
    ListOrders,
    ListOrdersHandler,
)
from shequ.application.ordering.refunds import (
    DecideRefund,
    DecideRefundHandler,
    ListRefunds,
    ListRefundsHandler,
    RequestRefund,
    RequestRefundHandler,
)
from shequ.application.policy import Actor
from shequ.domain.errors import InvalidInput
from shequ.domain.identity import Role
from shequ.domain.ids import (
    AccountId,
    CommunityId,
    CouponId,
    GrantId,
    OrderId,
    RefundId,
    SellerId,
    SkuId,
)
from shequ.domain.money import Money
from shequ.domain.ordering import Fulfilment, OrderAction, OrderStatus, RefundStatus
from shequ.entrypoints.http.deps import CurrentActor, resolve, signed_in
from shequ.entrypoints.http.ordering_models import (
    AdvanceIn,
    CancelIn,
    CancellationOut,
    CartItemIn,
    CartOut,
    CartQuantityIn,
    CartViewOut,
    CheckoutIn,
    ClaimIn,
    CouponIn,
    DecisionIn,
    GrantOut,
    HeldCouponOut,
    IssueIn,
    ManagedCouponOut,
    OrderOut,
    OrderPageOut,
    RefundIn,
    RefundOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1")


# ---------------------------------------------------------------- cart


@router.get("/cart", tags=["cart"])
def view_cart(
    actor: CurrentActor,
    view: Annotated[ViewCartHandler, Depends(resolve(ViewCartHandler))],
    community_id: str,
    fulfilment: Fulfilment = Fulfilment.PICKUP,
    express: bool = False,
) -> CartViewOut:
    """The signed-in resident's cart in a community, priced now with the best of their
    coupons for the given way of fulfilment."""
    return CartViewOut.of(
        view(
            ViewCart(signed_in(actor), CommunityId(community_id), fulfilment, express), actor=actor
        )
    )


@router.post("/cart/items", tags=["cart"])
def add_to_cart(
    actor: CurrentActor,
    body: CartItemIn,
    add: Annotated[AddToCartHandler, Depends(resolve(AddToCartHandler))],
) -> CartOut:
    """Put units of a SKU in the cart; a SKU already there gets its quantity raised."""
    return CartOut.of(
        add(
            AddToCart(
                resident_id=signed_in(actor),
                community_id=CommunityId(body.community_id),
                sku_id=SkuId(body.sku_id),
                quantity=body.quantity,
            ),
            actor=actor,
        )
    )


@router.patch("/cart/items/{sku_id}", tags=["cart"])
def change_cart(
    actor: CurrentActor,
    sku_id: str,
    body: CartQuantityIn,
    change: Annotated[ChangeCartHandler, Depends(resolve(ChangeCartHandler))],
) -> CartOut:
    """Set a line's quantity (0 is refused: take the line out with ``DELETE``)."""
    return CartOut.of(
        change(
            ChangeCart(
                signed_in(actor),
                CommunityId(body.community_id),
                SkuId(sku_id),
                quantity=body.quantity,
            ),
            actor=actor,
        )
    )


@router.delete("/cart/items/{sku_id}", tags=["cart"])
def remove_from_cart(
    actor: CurrentActor,
    sku_id: str,
    community_id: str,
    change: Annotated[ChangeCartHandler, Depends(resolve(ChangeCartHandler))],
) -> CartOut:
    return CartOut.of(
        change(
            ChangeCart(signed_in(actor), CommunityId(community_id), SkuId(sku_id), remove=True),
            actor=actor,
        )
    )


# ---------------------------------------------------------------- coupons


@router.get("/coupons/mine", tags=["coupons"])
def my_coupons(
    actor: CurrentActor,
    mine: Annotated[MyCouponsHandler, Depends(resolve(MyCouponsHandler))],
) -> list[HeldCouponOut]:
    """The signed-in account's copies of coupons: unused and valid first."""
    return [HeldCouponOut.of(h) for h in mine(MyCoupons(signed_in(actor)), actor=actor)]


@router.post("/coupons/claim", status_code=201, tags=["coupons"])
def claim_coupon(
    actor: CurrentActor,
    body: ClaimIn,
    claim: Annotated[ClaimCouponHandler, Depends(resolve(ClaimCouponHandler))],
) -> GrantOut:
    """Claim a copy of a coupon by its code (领券)."""
    return GrantOut.of(claim(ClaimCoupon(signed_in(actor), body.code), actor=actor))


@router.post("/coupons", status_code=201, tags=["coupons"])
def create_coupon(
    actor: CurrentActor,
    body: CouponIn,
    create: Annotated[CreateCouponHandler, Depends(resolve(CreateCouponHandler))],
) -> ManagedCouponOut:
    return ManagedCouponOut.of(
        create(
            CreateCoupon(
                name=body.name,
                terms=body.terms(),
                valid_from=body.valid_from,
                valid_until=body.valid_until,
                per_resident_limit=body.per_resident_limit,
                total_limit=body.total_limit,
                claim_code=body.claim_code,
            ),
            actor=actor,
        )
    )


@router.get("/coupons", tags=["coupons"])
def list_coupons(
    actor: CurrentActor,
    list_coupons: Annotated[ListCouponsHandler, Depends(resolve(ListCouponsHandler))],
    seller_id: str | None = None,
    platform: bool = False,
) -> list[ManagedCouponOut]:
    """Coupons newest first: one seller's, the platform's (``platform=true``), or all."""
    found = list_coupons(
        ListCoupons(seller_id=SellerId(seller_id) if seller_id else None, platform=platform),
        actor=actor,
    )
    return [ManagedCouponOut.of(c) for c in found]


@router.post("/coupons/{coupon_id}/issue", status_code=201, tags=["coupons"])
def issue_coupon(
    actor: CurrentActor,
    coupon_id: str,
    body: IssueIn,
    issue: Annotated[IssueCouponHandler, Depends(resolve(IssueCouponHandler))],
) -> list[GrantOut]:
    """Give each resident one copy; all or none."""
    grants = issue(
        IssueCoupon(CouponId(coupon_id), tuple(AccountId(r) for r in body.resident_ids)),
        actor=actor,
    )
    return [GrantOut.of(g) for g in grants]


# ---------------------------------------------------------------- orders


@router.post("/orders", status_code=201, tags=["orders"])
def place_order(
    actor: CurrentActor,
    body: CheckoutIn,
    idempotency_key: Annotated[
        str,
        Header(description="1 to 64 printable characters, chosen by the client per order."),
    ],
    place: Annotated[PlaceOrderHandler, Depends(resolve(PlaceOrderHandler))],
) -> OrderOut:
    """Check out. The same ``Idempotency-Key`` with the same body answers the order placed
    the first time (201 again); with another body, 409 ``idempotency-key-reused``."""
    return OrderOut.of(
        place(
            PlaceOrder(
                resident_id=signed_in(actor),
                community_id=CommunityId(body.community_id),
                delivery=body.fulfilment.to_domain(),
                idempotency_key=idempotency_key,
                items=tuple(OrderItem(SkuId(i.sku_id), i.quantity) for i in body.items),
                from_cart=body.from_cart,
                grant_ids=None
                if body.coupon_ids is None
                else tuple(GrantId(g) for g in body.coupon_ids),
                pickup_date=body.pickup_date,
            ),
            actor=actor,
        )
    )


@router.get("/orders", tags=["orders"])
def list_orders(
    actor: CurrentActor,
    list_orders: Annotated[ListOrdersHandler, Depends(resolve(ListOrdersHandler))],
    community_id: str | None = None,
    status: OrderStatus | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    pickup_point_id: str | None = None,
    seller_id: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> OrderPageOut:
    """Newest first. Without ``community_id`` a resident lists their own orders; with it,
    the community's operators list its orders."""
    own = community_id is None and actor.holds(Role.RESIDENT)
    return OrderPageOut.of(
        list_orders(
            ListOrders(
                resident_id=signed_in(actor) if own else None,
                community_id=CommunityId(community_id) if community_id else None,
                status=status,
                since=since,
                until=until,
                pickup_point_id=pickup_point_id,
                seller_id=SellerId(seller_id) if seller_id else None,
                cursor=cursor,
                limit=limit,
            ),
            actor=actor,
        )
    )


@router.get("/orders/{order_id}", tags=["orders"])
def get_order(
    actor: CurrentActor,
    order_id: str,
    get: Annotated[GetOrderHandler, Depends(resolve(GetOrderHandler))],
) -> OrderOut:
    return OrderOut.of(get(GetOrder(OrderId(order_id)), actor=actor))


@router.post("/orders/{order_id}/cancel", tags=["orders"])
def cancel_order(
    actor: CurrentActor,
    order_id: str,
    cancel: Annotated[CancelOrderHandler, Depends(resolve(CancelOrderHandler))],
    body: CancelIn | None = None,
) -> CancellationOut:
    """Cancel before packing; a paid order is refunded in full."""
    reason = body.reason if body else ""
    return CancellationOut.of(cancel(CancelOrder(OrderId(order_id), reason), actor=actor))


@router.post("/orders/{order_id}/advance", tags=["orders"])
def advance_order(
    actor: CurrentActor,
    order_id: str,
    body: AdvanceIn,
    advance: Annotated[AdvanceOrderHandler, Depends(resolve(AdvanceOrderHandler))],
) -> OrderOut:
    """A fulfilment step: pack, then ready and pick_up (pickup) or dispatch and deliver
    (delivery), then complete."""
    return OrderOut.of(
        advance(AdvanceOrder(OrderId(order_id), OrderAction(body.action), body.note), actor=actor)
    )


# ---------------------------------------------------------------- refunds


@router.post("/orders/{order_id}/refunds", status_code=201, tags=["refunds"])
def request_refund(
    actor: CurrentActor,
    order_id: str,
    body: RefundIn,
    ask: Annotated[RequestRefundHandler, Depends(resolve(RequestRefundHandler))],
) -> RefundOut:
    """Ask for money back (售后): some units, or every unit left when ``items`` is absent."""
    items = None
    if body.items is not None:
        items = {SkuId(i.sku_id): i.quantity for i in body.items}
        if len(items) != len(body.items):
            raise InvalidInput("name each SKU once", field="items")
    return RefundOut.of(
        ask(
            RequestRefund(
                order_id=OrderId(order_id),
                reason=body.reason,
                items=items,
                amount=None if body.amount_fen is None else Money(body.amount_fen),
                photos=tuple(body.photos),
                comment=body.comment,
            ),
            actor=actor,
        )
    )


@router.get("/refunds", tags=["refunds"])
def list_refunds(
    actor: CurrentActor,
    list_refunds: Annotated[ListRefundsHandler, Depends(resolve(ListRefundsHandler))],
    status: RefundStatus | None = None,
    community_id: str | None = None,
    order_id: str | None = None,
    awaiting_payout: bool = False,
    limit: int = 50,
) -> list[RefundOut]:
    """Newest first. An order's refunds for its resident; a community's for its
    operators."""
    found = list_refunds(
        ListRefunds(
            status=status,
            order_id=OrderId(order_id) if order_id else None,
            community_id=CommunityId(community_id) if community_id else None,
            awaiting_payout=awaiting_payout,
            limit=limit,
        ),
        actor=actor,
    )
    return [RefundOut.of(r) for r in found]


def _decide(
    refund_id: str,
    approve: bool,
    body: DecisionIn | None,
    actor: Actor,
    decide: DecideRefundHandler,
) -> RefundOut:
    note = body.note if body else ""
    return RefundOut.of(decide(DecideRefund(RefundId(refund_id), approve, note), actor=actor))


@router.post("/refunds/{refund_id}/approve", tags=["refunds"])
def approve_refund(
    actor: CurrentActor,
    refund_id: str,
    decide: Annotated[DecideRefundHandler, Depends(resolve(DecideRefundHandler))],
    body: DecisionIn | None = None,
) -> RefundOut:
    """Approve: the money goes back through the payment that took it (``paid_out`` once
    it is handed over; the payment follows it until the provider confirms)."""
    return _decide(refund_id, True, body, actor, decide)


@router.post("/refunds/{refund_id}/reject", tags=["refunds"])
def reject_refund(
    actor: CurrentActor,
    refund_id: str,
    body: DecisionIn,
    decide: Annotated[DecideRefundHandler, Depends(resolve(DecideRefundHandler))],
) -> RefundOut:
    """Reject, saying why in ``note``."""
    return _decide(refund_id, False, body, actor, decide)
