"""``/v1`` pickup routes: pickup points (自提点), arrivals with their codes (核销码),
handing orders over, and orders nobody collects."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends

from shequ.application.fulfilment.pickup import (
    ArriveAtPickupPoint,
    ArriveAtPickupPointHandler,
    CreatePickupPoint,
    CreatePickupPointHandler,
    EditPickupPoint,
    EditPickupPointHandler,
    ListPickupPoints,
    ListPickupPointsHandler,
    ProcessOverduePickups,
    ProcessOverduePickupsHandler,
    VerifyPickupCode,
    VerifyPickupCodeHandler,
)
from shequ.application.fulfilment.queries import GetPickupCode, GetPickupCodeHandler
from shequ.domain.ids import AccountId, CommunityId, OrderId, PickupPointId
from shequ.domain.routing import GeoPoint
from shequ.entrypoints.http.deps import CurrentActor, resolve
from shequ.entrypoints.http.models import refuse_nulls
from shequ.entrypoints.http.ordering_models import OrderOut
from shequ.entrypoints.http.pickup_models import (
    ArrivalIn,
    OverdueIn,
    OverdueOut,
    PickupCodeOut,
    PickupPointIn,
    PickupPointListedOut,
    PickupPointOut,
    PickupPointPatch,
    TicketOut,
    VerifyIn,
    location,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1")


@router.post("/pickup-points", status_code=201, tags=["pickup"])
def create_point(
    actor: CurrentActor,
    body: PickupPointIn,
    create: Annotated[CreatePickupPointHandler, Depends(resolve(CreatePickupPointHandler))],
) -> PickupPointOut:
    """Open a pickup point in a community: admins and the community's operator."""
    point = create(
        CreatePickupPoint(
            community_id=CommunityId(body.community_id),
            name=body.name,
            kind=body.kind,
            address=body.address,
            location=GeoPoint(body.latitude, body.longitude),
            hours=body.hours.to_domain(),
            daily_capacity=body.daily_capacity,
            operator_id=AccountId(body.operator_id) if body.operator_id is not None else None,
            point_id=PickupPointId(body.id) if body.id is not None else None,
        ),
        actor=actor,
    )
    return PickupPointOut.of(point)


@router.get("/pickup-points", tags=["pickup"])
def list_points(
    actor: CurrentActor,
    community_id: str,
    list_points: Annotated[ListPickupPointsHandler, Depends(resolve(ListPickupPointsHandler))],
    lat: float | None = None,
    lng: float | None = None,
    date: dt.date | None = None,
    include_paused: bool = False,
) -> list[PickupPointListedOut]:
    """A community's active points, nearest first from ``lat``/``lng`` when given (else by
    name), each saying whether it opens on ``date`` (default: today, UTC+8). Operators
    see the paused ones too with ``include_paused=true``."""
    views = list_points(
        ListPickupPoints(
            CommunityId(community_id),
            near=location(lat, lng),
            day=date,
            include_paused=include_paused,
        ),
        actor=actor,
    )
    return [PickupPointListedOut.of_view(v) for v in views]


@router.patch("/pickup-points/{point_id}", tags=["pickup"])
def edit_point(
    actor: CurrentActor,
    point_id: str,
    body: PickupPointPatch,
    edit: Annotated[EditPickupPointHandler, Depends(resolve(EditPickupPointHandler))],
) -> PickupPointOut:
    """Change the fields present; ``"active": false`` pauses the point (checkout refuses
    it; orders booked there stay), ``true`` resumes it."""
    refuse_nulls(body)
    point = edit(
        EditPickupPoint(
            point_id=PickupPointId(point_id),
            name=body.name,
            address=body.address,
            location=location(body.latitude, body.longitude),
            hours=body.hours.to_domain() if body.hours is not None else None,
            daily_capacity=body.daily_capacity,
            operator_id=AccountId(body.operator_id) if body.operator_id is not None else None,
            active=body.active,
        ),
        actor=actor,
    )
    return PickupPointOut.of(point)


@router.post("/pickup-points/{point_id}/arrivals", tags=["pickup"])
def arrive(
    actor: CurrentActor,
    point_id: str,
    body: ArrivalIn,
    arrive: Annotated[ArriveAtPickupPointHandler, Depends(resolve(ArriveAtPickupPointHandler))],
) -> list[TicketOut]:
    """A batch reached the point: each packed order is ready for pickup, all or none, and
    its resident is sent their code. The codes are not in the answer."""
    tickets = arrive(
        ArriveAtPickupPoint(PickupPointId(point_id), tuple(OrderId(o) for o in body.order_ids)),
        actor=actor,
    )
    return [TicketOut.of(t) for t in tickets]


@router.post("/pickup-points/{point_id}/verify", tags=["pickup"])
def verify(
    actor: CurrentActor,
    point_id: str,
    body: VerifyIn,
    verify: Annotated[VerifyPickupCodeHandler, Depends(resolve(VerifyPickupCodeHandler))],
) -> OrderOut:
    """Hand an order over for the code its resident shows (核销): the order is picked up.
    Wrong codes count against the point: five in 15 minutes lock it for 15 minutes."""
    return OrderOut.of(verify(VerifyPickupCode(PickupPointId(point_id), body.code), actor=actor))


@router.get("/orders/{order_id}/pickup-code", tags=["pickup"])
def pickup_code(
    actor: CurrentActor,
    order_id: str,
    get: Annotated[GetPickupCodeHandler, Depends(resolve(GetPickupCodeHandler))],
) -> PickupCodeOut:
    """The code to show at the pickup point, for the resident who placed the order only."""
    return PickupCodeOut.of(get(GetPickupCode(OrderId(order_id)), actor=actor))


@router.post("/pickup/overdue", tags=["pickup"])
def overdue(
    actor: CurrentActor,
    process: Annotated[
        ProcessOverduePickupsHandler, Depends(resolve(ProcessOverduePickupsHandler))
    ],
    body: OverdueIn | None = None,
) -> OverdueOut:
    """Remind residents of orders waiting too long, and return and refund those waiting
    longest: what a scheduler runs daily. Safe to run again."""
    limit = body.limit if body else OverdueIn().limit
    return OverdueOut.of(process(ProcessOverduePickups(limit=limit), actor=actor))
