"""``/v1`` routes of delivery slots (配送时段) and of our own riders (自有骑手): a
community's slots, opening and editing them; assigning a delivery to a rider; what a
rider sees and reports; and the handover code a resident gives at the door."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field, StrictBool, StrictInt, StrictStr

from shequ.application.fulfilment.queries import (
    GetHandoverCode,
    GetHandoverCodeHandler,
    HandoverCode,
)
from shequ.application.fulfilment.riders import (
    AcceptDelivery,
    AcceptDeliveryHandler,
    AssignRider,
    AssignRiderHandler,
    DeclineDelivery,
    DeclineDeliveryHandler,
    MyDeliveries,
    MyDeliveriesHandler,
    ReportDelivery,
    ReportDeliveryHandler,
    RiderDelivery,
)
from shequ.application.fulfilment.slots import (
    DeliverySlotView,
    EditDeliverySlot,
    EditDeliverySlotHandler,
    ListDeliverySlots,
    ListDeliverySlotsHandler,
    OpenDeliverySlots,
    OpenDeliverySlotsHandler,
)
from shequ.domain.fulfilment.delivery import DeliveryStatus
from shequ.domain.ids import AccountId, CommunityId, DeliverySlotId, OrderId
from shequ.entrypoints.http.delivery import ShipmentOut
from shequ.entrypoints.http.deps import CurrentActor, Input, Output, resolve

__all__ = [
    "AddressOut",
    "AssignIn",
    "DeclineIn",
    "HandoverCodeOut",
    "ReportIn",
    "RiderDeliveryOut",
    "SlotOut",
    "SlotPatch",
    "SlotsIn",
    "router",
]

router = APIRouter(prefix="/v1")


# ---------------------------------------------------------------- slots


class SlotsIn(Input):
    """Slots of ``minutes`` each from ``first`` to ``last`` (China time) on ``days`` days
    from ``date``, each holding ``capacity`` orders."""

    date: dt.date
    first: dt.time
    last: dt.time
    minutes: StrictInt = 120
    capacity: StrictInt
    days: StrictInt = 1


class SlotPatch(Input):
    """A new ``capacity`` (never below what the slot holds); ``open``: ``false`` closes
    the slot to new orders, ``true`` opens it again."""

    capacity: StrictInt | None = None
    open: StrictBool | None = None


class SlotOut(Output):
    id: str
    community_id: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    remaining: int
    status: str
    bookable: bool

    @classmethod
    def of(cls, view: DeliverySlotView) -> SlotOut:
        s = view.slot
        return cls(
            id=s.id,
            community_id=s.community_id,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            capacity=s.capacity,
            booked=view.booked,
            remaining=view.remaining,
            status=s.status.value,
            bookable=view.bookable,
        )


@router.get("/communities/{community_id}/delivery-slots", tags=["delivery"])
def list_slots(
    actor: CurrentActor,
    community_id: str,
    list_slots: Annotated[ListDeliverySlotsHandler, Depends(resolve(ListDeliverySlotsHandler))],
    date: dt.date | None = None,
    days: Annotated[int, Query(ge=1, le=31)] = 1,
) -> list[SlotOut]:
    """The community's delivery slots on ``days`` days from ``date`` (default: today,
    UTC+8), how full each is and whether it can still be chosen at checkout."""
    views = list_slots(
        ListDeliverySlots(CommunityId(community_id), day=date, days=days), actor=actor
    )
    return [SlotOut.of(v) for v in views]


@router.post("/communities/{community_id}/delivery-slots", status_code=201, tags=["delivery"])
def open_slots(
    actor: CurrentActor,
    community_id: str,
    body: SlotsIn,
    open_slots: Annotated[OpenDeliverySlotsHandler, Depends(resolve(OpenDeliverySlotsHandler))],
) -> list[SlotOut]:
    """Open delivery slots (the community's staff). A window the community has already
    is left alone, so sending the same request again opens nothing twice; the answer
    lists the slots opened now."""
    slots = open_slots(
        OpenDeliverySlots(
            CommunityId(community_id),
            day=body.date,
            first=body.first,
            last=body.last,
            minutes=body.minutes,
            capacity=body.capacity,
            days=body.days,
        ),
        actor=actor,
    )
    return [SlotOut.of(DeliverySlotView(s, 0, True)) for s in slots]


@router.patch("/delivery-slots/{slot_id}", tags=["delivery"])
def edit_slot(
    actor: CurrentActor,
    slot_id: str,
    body: SlotPatch,
    edit: Annotated[EditDeliverySlotHandler, Depends(resolve(EditDeliverySlotHandler))],
) -> SlotOut:
    """Change a slot's capacity, or close or open it (the community's staff)."""
    view = edit(
        EditDeliverySlot(DeliverySlotId(slot_id), capacity=body.capacity, open=body.open),
        actor=actor,
    )
    return SlotOut.of(view)


# ---------------------------------------------------------------- riders


class AssignIn(Input):
    """The rider to give the delivery to; ``null`` puts it back in the team's queue."""

    rider_id: StrictStr | None


class DeclineIn(Input):
    reason: StrictStr = Field(max_length=300)


class ReportIn(Input):
    """``status``: picked_up, out_for_delivery, delivered, failed or returned. A failure
    says why in ``note``; a delivery needs the ``code`` the resident gives at the door."""

    status: DeliveryStatus
    note: StrictStr = Field(default="", max_length=300)
    code: StrictStr = Field(default="", max_length=12)


class AddressOut(Output):
    recipient: str
    phone: str
    detail: str


class RiderDeliveryOut(Output):
    """A delivery as its rider sees it; ``address`` once it is theirs."""

    shipment: ShipmentOut
    address: AddressOut | None

    @classmethod
    def of(cls, found: RiderDelivery) -> RiderDeliveryOut:
        a = found.address
        return cls(
            shipment=ShipmentOut.of(found.shipment),
            address=None
            if a is None
            else AddressOut(recipient=a.recipient, phone=a.phone, detail=a.detail),
        )


class HandoverCodeOut(Output):
    order_id: str
    code: str
    status: str
    rider_assigned: bool

    @classmethod
    def of(cls, found: HandoverCode) -> HandoverCodeOut:
        return cls(
            order_id=found.order_id,
            code=found.code,
            status=found.status.value,
            rider_assigned=found.rider_assigned,
        )


@router.post("/orders/{order_id}/delivery/rider", tags=["riders"])
def assign_rider(
    actor: CurrentActor,
    order_id: str,
    body: AssignIn,
    assign: Annotated[AssignRiderHandler, Depends(resolve(AssignRiderHandler))],
) -> ShipmentOut:
    """Give our own team's delivery to one of the community's riders, or back to the
    queue (the community's staff), until it is picked up."""
    rider = AccountId(body.rider_id) if body.rider_id is not None else None
    return ShipmentOut.of(assign(AssignRider(OrderId(order_id), rider), actor=actor))


@router.get("/orders/{order_id}/delivery/code", tags=["riders"])
def handover_code(
    actor: CurrentActor,
    order_id: str,
    get: Annotated[GetHandoverCodeHandler, Depends(resolve(GetHandoverCodeHandler))],
) -> HandoverCodeOut:
    """The code to give our rider at the door, for the resident who placed the order
    only; riders never see it."""
    return HandoverCodeOut.of(get(GetHandoverCode(OrderId(order_id)), actor=actor))


@router.get("/rider/deliveries", tags=["riders"])
def my_deliveries(
    actor: CurrentActor,
    mine: Annotated[MyDeliveriesHandler, Depends(resolve(MyDeliveriesHandler))],
    queue: bool = True,
) -> list[RiderDeliveryOut]:
    """The signed-in rider's open deliveries (with where to) and, unless
    ``queue=false``, the team's unassigned ones in their communities (without)."""
    return [RiderDeliveryOut.of(d) for d in mine(MyDeliveries(include_queue=queue), actor=actor)]


@router.post("/rider/deliveries/{order_id}/accept", tags=["riders"])
def accept(
    actor: CurrentActor,
    order_id: str,
    accept: Annotated[AcceptDeliveryHandler, Depends(resolve(AcceptDeliveryHandler))],
) -> RiderDeliveryOut:
    """Take on a delivery of yours, or one in the queue; the first rider wins it."""
    return RiderDeliveryOut.of(accept(AcceptDelivery(OrderId(order_id)), actor=actor))


@router.post("/rider/deliveries/{order_id}/decline", tags=["riders"])
def decline(
    actor: CurrentActor,
    order_id: str,
    body: DeclineIn,
    decline: Annotated[DeclineDeliveryHandler, Depends(resolve(DeclineDeliveryHandler))],
) -> ShipmentOut:
    """Give a delivery of yours back to the team's queue, saying why (before pickup)."""
    return ShipmentOut.of(decline(DeclineDelivery(OrderId(order_id), body.reason), actor=actor))


@router.post("/rider/deliveries/{order_id}/report", tags=["riders"])
def report(
    actor: CurrentActor,
    order_id: str,
    body: ReportIn,
    report: Annotated[ReportDeliveryHandler, Depends(resolve(ReportDeliveryHandler))],
) -> ShipmentOut:
    """Report a step of your accepted delivery; its order follows. Wrong handover codes
    count against the delivery: five in 15 minutes lock it for 15 minutes."""
    done = report(
        ReportDelivery(OrderId(order_id), body.status, note=body.note, code=body.code),
        actor=actor,
    )
    return ShipmentOut.of(done)
