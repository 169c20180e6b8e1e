"""``/v1`` home delivery (配送) routes: dispatching a packed order to a courier, trying
again those nobody took, tracking a delivery, and the couriers' signed callbacks."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from shequ.application.fulfilment.delivery import (
    MAX_CALLBACK_BYTES,
    ApplyCourierCallback,
    ApplyCourierCallbackHandler,
    DispatchDelivery,
    DispatchDeliveryHandler,
    DispatchWaiting,
    DispatchWaitingHandler,
    TrackDelivery,
    TrackDeliveryHandler,
)
from shequ.domain.errors import CourierCallbackInvalid
from shequ.domain.fulfilment.delivery import Shipment
from shequ.domain.ids import OrderId
from shequ.domain.money import Money
from shequ.entrypoints.http.deps import CurrentActor, Output, body_within, resolve
from shequ.entrypoints.http.ordering_models import amount

__all__ = ["CallbackOut", "ShipmentOut", "TrackingEventOut", "router"]

router = APIRouter(prefix="/v1")


class TrackingEventOut(Output):
    at: dt.datetime
    status: str
    note: str
    source: str


class ShipmentOut(Output):
    """The delivery of one order; ``timeline`` lists every step so far, oldest first."""

    order_id: str
    community_id: str
    status: str
    courier: str | None
    courier_ref: str | None
    fee_fen: int
    fee: str
    express: bool
    cold_chain: bool
    window_start: dt.datetime
    window_end: dt.datetime
    created_at: dt.datetime
    pending_reason: str
    attempts: int
    proof: str
    slot_id: str | None
    rider_id: str | None
    rider_accepted_at: dt.datetime | None
    timeline: list[TrackingEventOut]

    @classmethod
    def of(cls, s: Shipment) -> ShipmentOut:
        return cls(
            order_id=s.id,
            community_id=s.community_id,
            status=s.status.value,
            courier=s.courier,
            courier_ref=s.courier_ref,
            **amount("fee", Money(s.fee_fen)),
            express=s.express,
            cold_chain=s.cold_chain,
            window_start=s.window_start,
            window_end=s.window_end,
            created_at=s.created_at,
            pending_reason=s.pending_reason,
            attempts=s.attempts,
            proof=s.proof,
            slot_id=s.slot_id,
            rider_id=s.rider_id,
            rider_accepted_at=s.rider_accepted_at,
            timeline=[
                TrackingEventOut(at=e.at, status=e.status.value, note=e.note, source=e.source)
                for e in s.timeline
            ],
        )


class CallbackOut(Output):
    ok: bool = True


@router.post("/orders/{order_id}/delivery/dispatch", tags=["delivery"])
def dispatch_delivery(
    actor: CurrentActor,
    order_id: str,
    dispatch: Annotated[DispatchDeliveryHandler, Depends(resolve(DispatchDeliveryHandler))],
) -> ShipmentOut:
    """Give a packed home-delivery order to the first courier that takes it (the
    community's staff). When none does, the shipment stays ``created`` with the reason in
    ``pending_reason``, and ``/v1/deliveries/dispatch-waiting`` tries it again."""
    return ShipmentOut.of(dispatch(DispatchDelivery(OrderId(order_id)), actor=actor))


@router.get("/orders/{order_id}/delivery", tags=["delivery"])
def track_delivery(
    actor: CurrentActor,
    order_id: str,
    track: Annotated[TrackDeliveryHandler, Depends(resolve(TrackDeliveryHandler))],
) -> ShipmentOut:
    """The order's delivery and its timeline: for the resident who placed the order and
    the community's staff."""
    return ShipmentOut.of(track(TrackDelivery(OrderId(order_id)), actor=actor))


@router.post("/deliveries/dispatch-waiting", tags=["delivery"])
def dispatch_waiting(
    actor: CurrentActor,
    dispatch: Annotated[DispatchWaitingHandler, Depends(resolve(DispatchWaitingHandler))],
    limit: Annotated[int, Field(ge=1, le=1000)] = 100,
) -> list[ShipmentOut]:
    """Offer the couriers again the deliveries nobody has taken yet (platform operators;
    a scheduler's job). Each shipment as it then stands."""
    return [ShipmentOut.of(s) for s in dispatch(DispatchWaiting(limit), actor=actor)]


@router.post("/couriers/{courier}/callback", tags=["delivery"])
async def courier_callback(
    courier: str,
    request: Request,
    apply: Annotated[ApplyCourierCallbackHandler, Depends(resolve(ApplyCourierCallbackHandler))],
) -> CallbackOut:
    """A courier's status callback, sent as the courier sends it. Its signature
    authenticates it; no token. A delivery moves forwards only, and a repeated report
    changes nothing; a refused callback is answered with problem+json."""
    body = await body_within(request, MAX_CALLBACK_BYTES, CourierCallbackInvalid, "a callback")
    await run_in_threadpool(apply, ApplyCourierCallback(courier, dict(request.headers), body))
    return CallbackOut()
