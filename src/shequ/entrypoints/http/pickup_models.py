"""Request bodies and views of pickup points (自提点) and pickup codes (核销码).

Opening hours are text, as people write them: ``"08:00-20:00"`` (China Standard Time).
Request bodies refuse unknown fields; coordinates are numbers, never strings.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from shequ.application.fulfilment.pickup import Overdue, PickupPointView
from shequ.domain.errors import InvalidInput
from shequ.domain.fulfilment.pickup import (
    WEEKDAYS,
    Hours,
    OpeningHours,
    PickupPoint,
    PickupTicket,
    PointKind,
    PointStatus,
)
from shequ.domain.routing import GeoPoint
from shequ.entrypoints.http.deps import Input, Output

__all__ = [
    "ArrivalIn",
    "HoursIn",
    "OverdueIn",
    "OverdueOut",
    "PickupCodeOut",
    "PickupPointIn",
    "PickupPointListedOut",
    "PickupPointOut",
    "PickupPointPatch",
    "TicketOut",
    "VerifyIn",
]


# ---------------------------------------------------------------- request bodies


def _ranges(texts: list[str]) -> list[Hours]:
    return [Hours.parse(t) for t in texts]


class HoursIn(Input):
    """Each weekday's opening hours, such as ``["08:00-12:00", "14:00-20:00"]``; a day
    left out or ``[]`` is closed. ``exceptions`` give dates hours of their own (``[]``:
    closed that day, as on a holiday)."""

    mon: list[StrictStr] = Field(default_factory=list, max_length=12)
    tue: list[StrictStr] = Field(default_factory=list, max_length=12)
    wed: list[StrictStr] = Field(default_factory=list, max_length=12)
    thu: list[StrictStr] = Field(default_factory=list, max_length=12)
    fri: list[StrictStr] = Field(default_factory=list, max_length=12)
    sat: list[StrictStr] = Field(default_factory=list, max_length=12)
    sun: list[StrictStr] = Field(default_factory=list, max_length=12)
    exceptions: dict[dt.date, list[StrictStr]] = Field(default_factory=dict, max_length=400)

    def to_domain(self) -> OpeningHours:
        return OpeningHours.build(
            {day: _ranges(getattr(self, day)) for day in WEEKDAYS},
            {day: _ranges(texts) for day, texts in self.exceptions.items()},
        )


def location(latitude: float | None, longitude: float | None) -> GeoPoint | None:
    """Both coordinates, or neither."""
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        raise InvalidInput("give latitude and longitude together", field="latitude")
    return GeoPoint(latitude, longitude)


class PickupPointIn(Input):
    community_id: StrictStr
    id: StrictStr | None = Field(
        default=None, description="1 to 32 letters, digits, _ or -; made up when absent."
    )
    name: StrictStr
    kind: PointKind
    address: StrictStr
    latitude: StrictFloat = Field(description="WGS-84 degrees.")
    longitude: StrictFloat
    hours: HoursIn
    daily_capacity: StrictInt = Field(description="Parcels it takes a day, 1 to 100,000.")
    operator_id: StrictStr | None = Field(
        default=None, description="The account that runs it (团长, shop owner): it hands over."
    )


class PickupPointPatch(Input):
    """Only the fields present change; ``active`` pauses (``false``) or resumes it."""

    name: StrictStr | None = None
    address: StrictStr | None = None
    latitude: StrictFloat | None = None
    longitude: StrictFloat | None = None
    hours: HoursIn | None = None
    daily_capacity: StrictInt | None = None
    operator_id: StrictStr | None = None
    active: StrictBool | None = None


class ArrivalIn(Input):
    order_ids: list[StrictStr] = Field(min_length=1, max_length=1000)


class VerifyIn(Input):
    code: StrictStr = Field(description="The 6 digits the resident shows.")


class OverdueIn(Input):
    limit: StrictInt = Field(default=500, ge=1, le=10_000)


# ---------------------------------------------------------------- views


class HoursOut(Output):
    mon: list[str]
    tue: list[str]
    wed: list[str]
    thu: list[str]
    fri: list[str]
    sat: list[str]
    sun: list[str]
    exceptions: dict[dt.date, list[str]]

    @classmethod
    def of(cls, hours: OpeningHours) -> HoursOut:
        return cls.model_validate(
            {
                **{
                    day: [str(h) for h in ranges]
                    for day, ranges in zip(WEEKDAYS, hours.weekly, strict=True)
                },
                "exceptions": {day: [str(h) for h in ranges] for day, ranges in hours.exceptions},
            }
        )


class PickupPointOut(Output):
    id: str
    community_id: str
    name: str
    kind: PointKind
    address: str
    latitude: float
    longitude: float
    hours: HoursOut
    daily_capacity: int
    operator_id: str | None
    status: PointStatus
    created_at: dt.datetime
    version: int

    @staticmethod
    def _facts(p: PickupPoint) -> dict[str, object]:
        return {
            "id": p.id,
            "community_id": p.community_id,
            "name": p.name,
            "kind": p.kind,
            "address": p.address,
            "latitude": p.location.latitude,
            "longitude": p.location.longitude,
            "hours": HoursOut.of(p.hours),
            "daily_capacity": p.daily_capacity,
            "operator_id": p.operator_id,
            "status": p.status,
            "created_at": p.created_at,
            "version": p.version,
        }

    @classmethod
    def of(cls, p: PickupPoint) -> PickupPointOut:
        return cls.model_validate(cls._facts(p))


class PickupPointListedOut(PickupPointOut):
    """A point as a list shows it: how far it is and whether it opens on the day asked."""

    distance_m: int | None = Field(description="From lat/lng, when they were given.")
    open_on_day: bool

    @classmethod
    def of_view(cls, v: PickupPointView) -> PickupPointListedOut:
        return cls.model_validate(
            {**cls._facts(v.point), "distance_m": v.distance_m, "open_on_day": v.open_on_day}
        )


class TicketOut(Output):
    """An order waiting at its point. The code is not here: it went to the resident."""

    order_id: str
    pickup_point_id: str
    resident_id: str
    status: str
    arrived_at: dt.datetime

    @classmethod
    def of(cls, t: PickupTicket) -> TicketOut:
        return cls(
            order_id=t.id,
            pickup_point_id=t.pickup_point_id,
            resident_id=t.resident_id,
            status=t.status.value,
            arrived_at=t.arrived_at,
        )


class PickupCodeOut(Output):
    """The code the resident shows at the point (核销码), and what became of it."""

    order_id: str
    pickup_point_id: str
    code: str
    status: str = Field(description="waiting, collected or returned.")
    arrived_at: dt.datetime
    closed_at: dt.datetime | None

    @classmethod
    def of(cls, t: PickupTicket) -> PickupCodeOut:
        return cls(
            order_id=t.id,
            pickup_point_id=t.pickup_point_id,
            code=t.code,
            status=t.status.value,
            arrived_at=t.arrived_at,
            closed_at=t.closed_at,
        )


class OverdueOut(Output):
    reminded: int = Field(description="Residents reminded to come (once a day each).")
    returned: int = Field(description="Orders given up: returned and refunded.")

    @classmethod
    def of(cls, done: Overdue) -> OverdueOut:
        return cls(reminded=done.reminded, returned=done.returned)
