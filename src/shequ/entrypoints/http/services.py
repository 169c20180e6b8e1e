"""``/v1`` routes of local services (本地服务): the merchant directory, staff and offerings,
free time, and bookings (服务预约) from request to review."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from pydantic import Field, StrictBool, StrictInt, StrictStr

from shequ.application.services.bookings import (
    BookService,
    BookServiceHandler,
    CancelBooking,
    CancelBookingHandler,
    FindFreeTime,
    FindFreeTimeHandler,
    FreeTime,
    ListBookings,
    ListBookingsHandler,
    MoveBooking,
    MoveBookingHandler,
    RemindBookings,
    RemindBookingsHandler,
    RescheduleBooking,
    RescheduleBookingHandler,
    ReviewBooking,
    ReviewBookingHandler,
)
from shequ.application.services.directory import (
    AddOffering,
    AddOfferingHandler,
    AddStaff,
    AddStaffHandler,
    EditOffering,
    EditOfferingHandler,
    EditProvider,
    EditProviderHandler,
    EditStaff,
    EditStaffHandler,
    GetProvider,
    GetProviderHandler,
    ProviderView,
    RegisterProvider,
    RegisterProviderHandler,
    SearchProviders,
    SearchProvidersHandler,
)
from shequ.domain.ids import (
    BookingId,
    CommunityId,
    OfferingId,
    ProviderId,
    StaffId,
)
from shequ.domain.money import Money
from shequ.domain.services import (
    BookingStatus,
    PriceKind,
    ProviderKind,
    ServiceBooking,
    ServiceOffering,
    ServiceProvider,
    StaffMember,
    Venue,
)
from shequ.entrypoints.http.deps import CurrentActor, Input, Output, resolve, signed_in
from shequ.entrypoints.http.models import refuse_nulls
from shequ.entrypoints.http.ordering_models import amount
from shequ.entrypoints.http.pickup_models import HoursIn, HoursOut

__all__ = [
    "BookingIn",
    "BookingOut",
    "FreeTimeOut",
    "MerchantIn",
    "MerchantOut",
    "MerchantPatch",
    "MerchantView",
    "OfferingIn",
    "OfferingOut",
    "StaffIn",
    "StaffOut",
    "router",
]

router = APIRouter(prefix="/v1")


# ---------------------------------------------------------------- bodies


class MerchantIn(Input):
    name: StrictStr
    kind: ProviderKind
    community_ids: list[StrictStr] = Field(min_length=1, max_length=20)
    contact_phone: StrictStr
    address: StrictStr
    hours: HoursIn
    description: StrictStr = ""
    photos: list[StrictStr] = Field(default_factory=list, max_length=9)
    id: StrictStr | None = None


class MerchantPatch(Input):
    """The fields present change (nulls are refused); ``verified`` is the operators'."""

    description: StrictStr | None = None
    hours: HoursIn | None = None
    photos: list[StrictStr] | None = Field(default=None, max_length=9)
    contact_phone: StrictStr | None = None
    verified: StrictBool | None = None


class StaffIn(Input):
    name: StrictStr
    schedule: HoursIn
    id: StrictStr | None = None


class StaffPatch(Input):
    """A new weekly ``schedule`` (days off as ``exceptions`` with no hours), or ``active``."""

    schedule: HoursIn | None = None
    active: StrictBool | None = None


class OfferingIn(Input):
    name: StrictStr
    description: StrictStr = ""
    duration_minutes: StrictInt
    buffer_minutes: StrictInt = 0
    price_kind: PriceKind
    price_fen: StrictInt = Field(description="the price, or the call-out fee of a quote")
    venue: Venue
    staff_ids: list[StrictStr] = Field(min_length=1, max_length=50)
    late_cancel_fee_fen: StrictInt = 0
    auto_confirm: StrictBool = False
    id: StrictStr | None = None


class OfferingPatch(Input):
    staff_ids: list[StrictStr] | None = Field(default=None, min_length=1, max_length=50)
    active: StrictBool | None = None


class BookingIn(Input):
    community_id: StrictStr
    offering_id: StrictStr
    starts_at: dt.datetime = Field(description="with its offset; one of the free times")
    staff_id: StrictStr | None = None
    address_id: StrictStr | None = Field(default=None, description="for a service at home")
    note: StrictStr = Field(default="", max_length=500)


class BookingStep(Input):
    status: BookingStatus = Field(description="confirmed, in_progress, completed or no_show")
    note: StrictStr = Field(default="", max_length=200)


class CancelIn(Input):
    reason: StrictStr = Field(default="", max_length=300)


class RescheduleIn(Input):
    starts_at: dt.datetime
    staff_id: StrictStr | None = None


class ReviewIn(Input):
    rating: StrictInt
    text: StrictStr = Field(default="", max_length=2000)
    photos: list[StrictStr] = Field(
        default_factory=list, max_length=9, description="addresses from POST /v1/uploads/photos"
    )


# ---------------------------------------------------------------- views


class MerchantOut(Output):
    """A local merchant. ``rating`` is the average of its reviews to a tenth (``null``
    unrated); ``rating_tenths`` the same as a whole number."""

    id: str
    name: str
    kind: str
    community_ids: list[str]
    contact_phone: str
    address: str
    hours: HoursOut
    description: str
    photos: list[str]
    verified: bool
    rating: str | None
    rating_tenths: int | None
    rating_count: int

    @classmethod
    def of(cls, p: ServiceProvider) -> MerchantOut:
        tenths = p.rating_tenths
        return cls(
            id=p.id,
            name=p.name,
            kind=p.kind.value,
            community_ids=list(p.community_ids),
            contact_phone=p.contact_phone,
            address=p.address,
            hours=HoursOut.of(p.hours),
            description=p.description,
            photos=list(p.photos),
            verified=p.verified,
            rating=None if tenths is None else f"{tenths // 10}.{tenths % 10}",
            rating_tenths=tenths,
            rating_count=p.rating_count,
        )


class StaffOut(Output):
    id: str
    merchant_id: str
    name: str
    schedule: HoursOut
    active: bool

    @classmethod
    def of(cls, s: StaffMember) -> StaffOut:
        return cls(
            id=s.id,
            merchant_id=s.provider_id,
            name=s.name,
            schedule=HoursOut.of(s.schedule),
            active=s.active,
        )


class OfferingOut(Output):
    id: str
    merchant_id: str
    name: str
    description: str
    duration_minutes: int
    buffer_minutes: int
    price_kind: str
    price_fen: int
    price: str
    venue: str
    staff_ids: list[str]
    late_cancel_fee_fen: int
    late_cancel_fee: str
    auto_confirm: bool
    active: bool

    @classmethod
    def of(cls, o: ServiceOffering) -> OfferingOut:
        return cls(
            id=o.id,
            merchant_id=o.provider_id,
            name=o.name,
            description=o.description,
            duration_minutes=o.duration_minutes,
            buffer_minutes=o.buffer_minutes,
            price_kind=o.price_kind.value,
            **amount("price", o.price),
            venue=o.venue.value,
            staff_ids=list(o.staff_ids),
            **amount("late_cancel_fee", o.late_cancel_fee),
            auto_confirm=o.auto_confirm,
            active=o.active,
        )


class MerchantView(Output):
    merchant: MerchantOut
    staff: list[StaffOut]
    offerings: list[OfferingOut]

    @classmethod
    def of(cls, v: ProviderView) -> MerchantView:
        return cls(
            merchant=MerchantOut.of(v.provider),
            staff=[StaffOut.of(s) for s in v.staff],
            offerings=[OfferingOut.of(o) for o in v.offerings],
        )


class FreeTimeOut(Output):
    staff_id: str
    starts_at: dt.datetime
    ends_at: dt.datetime

    @classmethod
    def of(cls, f: FreeTime) -> FreeTimeOut:
        return cls(staff_id=f.staff_id, starts_at=f.starts_at, ends_at=f.ends_at)


class BookingChangeOut(Output):
    at: dt.datetime
    status: str
    note: str


class BookingOut(Output):
    id: str
    resident_id: str
    community_id: str
    merchant_id: str
    offering_id: str
    staff_id: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    price_fen: int
    price: str
    fee_fen: int
    fee: str
    address_id: str | None
    note: str
    cancelled_by: str | None
    rating: int | None
    review: str
    history: list[BookingChangeOut]

    @classmethod
    def of(cls, b: ServiceBooking) -> BookingOut:
        return cls(
            id=b.id,
            resident_id=b.resident_id,
            community_id=b.community_id,
            merchant_id=b.provider_id,
            offering_id=b.offering_id,
            staff_id=b.staff_id,
            starts_at=b.starts_at,
            ends_at=b.ends_at,
            status=b.status.value,
            **amount("price", b.price),
            **amount("fee", b.fee),
            address_id=b.address_id,
            note=b.note,
            cancelled_by=b.cancelled_by,
            rating=b.rating,
            review=b.review_text,
            history=[
                BookingChangeOut(at=c.at, status=c.status.value, note=c.note) for c in b.history
            ],
        )


# ---------------------------------------------------------------- the directory


@router.post("/merchants", status_code=201, tags=["services"])
def register_merchant(
    actor: CurrentActor,
    body: MerchantIn,
    register: Annotated[RegisterProviderHandler, Depends(resolve(RegisterProviderHandler))],
) -> MerchantOut:
    """Register a local merchant in the directory of its communities (their operators)."""
    provider = register(
        RegisterProvider(
            name=body.name,
            kind=body.kind,
            community_ids=tuple(CommunityId(c) for c in body.community_ids),
            contact_phone=body.contact_phone,
            address=body.address,
            hours=body.hours.to_domain(),
            description=body.description,
            photos=tuple(body.photos),
            provider_id=ProviderId(body.id) if body.id else None,
        ),
        actor=actor,
    )
    return MerchantOut.of(provider)


@router.get("/merchants", tags=["services"])
def search_merchants(
    actor: CurrentActor,
    community_id: str,
    search: Annotated[SearchProvidersHandler, Depends(resolve(SearchProvidersHandler))],
    kind: ProviderKind | None = None,
    q: Annotated[str, Query(max_length=200)] = "",
    verified: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[MerchantOut]:
    """The merchants serving a community, by name: of ``kind``, with every word of ``q``
    in their name, description or address, ``verified`` ones only."""
    page = search(SearchProviders(CommunityId(community_id), kind, q, verified, limit), actor=actor)
    return [MerchantOut.of(p) for p in page.items]


@router.get("/merchants/{merchant_id}", tags=["services"])
def get_merchant(
    actor: CurrentActor,
    merchant_id: str,
    get: Annotated[GetProviderHandler, Depends(resolve(GetProviderHandler))],
) -> MerchantView:
    """A merchant with its staff and offerings (the inactive ones for its managers)."""
    return MerchantView.of(get(GetProvider(ProviderId(merchant_id)), actor=actor))


@router.patch("/merchants/{merchant_id}", tags=["services"])
def edit_merchant(
    actor: CurrentActor,
    merchant_id: str,
    body: MerchantPatch,
    edit: Annotated[EditProviderHandler, Depends(resolve(EditProviderHandler))],
) -> MerchantOut:
    """Change a merchant (its staff, or its community's operators); ``verified``
    (认证) is the operators' alone."""
    refuse_nulls(body)
    provider = edit(
        EditProvider(
            ProviderId(merchant_id),
            description=body.description,
            hours=body.hours.to_domain() if body.hours else None,
            photos=tuple(body.photos) if body.photos is not None else None,
            contact_phone=body.contact_phone,
            verified=body.verified,
        ),
        actor=actor,
    )
    return MerchantOut.of(provider)


@router.post("/merchants/{merchant_id}/staff", status_code=201, tags=["services"])
def add_staff(
    actor: CurrentActor,
    merchant_id: str,
    body: StaffIn,
    add: Annotated[AddStaffHandler, Depends(resolve(AddStaffHandler))],
) -> StaffOut:
    staff = add(
        AddStaff(
            ProviderId(merchant_id),
            body.name,
            body.schedule.to_domain(),
            staff_id=StaffId(body.id) if body.id else None,
        ),
        actor=actor,
    )
    return StaffOut.of(staff)


@router.patch("/staff/{staff_id}", tags=["services"])
def edit_staff(
    actor: CurrentActor,
    staff_id: str,
    body: StaffPatch,
    edit: Annotated[EditStaffHandler, Depends(resolve(EditStaffHandler))],
) -> StaffOut:
    """A new schedule (days off as dates with no hours), or ``active``. Bookings made
    already stay: move or cancel them."""
    refuse_nulls(body)
    staff = edit(
        EditStaff(
            StaffId(staff_id),
            schedule=body.schedule.to_domain() if body.schedule else None,
            active=body.active,
        ),
        actor=actor,
    )
    return StaffOut.of(staff)


@router.post("/merchants/{merchant_id}/offerings", status_code=201, tags=["services"])
def add_offering(
    actor: CurrentActor,
    merchant_id: str,
    body: OfferingIn,
    add: Annotated[AddOfferingHandler, Depends(resolve(AddOfferingHandler))],
) -> OfferingOut:
    offering = add(
        AddOffering(
            ProviderId(merchant_id),
            body.name,
            duration_minutes=body.duration_minutes,
            price_kind=body.price_kind,
            price=Money(body.price_fen),
            venue=body.venue,
            staff_ids=tuple(StaffId(s) for s in body.staff_ids),
            description=body.description,
            buffer_minutes=body.buffer_minutes,
            late_cancel_fee=Money(body.late_cancel_fee_fen),
            auto_confirm=body.auto_confirm,
            offering_id=OfferingId(body.id) if body.id else None,
        ),
        actor=actor,
    )
    return OfferingOut.of(offering)


@router.patch("/offerings/{offering_id}", tags=["services"])
def edit_offering(
    actor: CurrentActor,
    offering_id: str,
    body: OfferingPatch,
    edit: Annotated[EditOfferingHandler, Depends(resolve(EditOfferingHandler))],
) -> OfferingOut:
    refuse_nulls(body)
    offering = edit(
        EditOffering(
            OfferingId(offering_id),
            staff_ids=tuple(StaffId(s) for s in body.staff_ids) if body.staff_ids else None,
            active=body.active,
        ),
        actor=actor,
    )
    return OfferingOut.of(offering)


@router.get("/offerings/{offering_id}/free-time", tags=["services"])
def free_time(
    actor: CurrentActor,
    offering_id: str,
    find: Annotated[FindFreeTimeHandler, Depends(resolve(FindFreeTimeHandler))],
    date: dt.date | None = None,
    days: Annotated[int, Query(ge=1, le=14)] = 1,
    staff_id: str | None = None,
) -> list[FreeTimeOut]:
    """When the offering can be booked on ``days`` days from ``date`` (default today,
    UTC+8), by whom: each start on its own, earliest first."""
    found = find(
        FindFreeTime(OfferingId(offering_id), date, days, StaffId(staff_id) if staff_id else None),
        actor=actor,
    )
    return [FreeTimeOut.of(f) for f in found]


# ---------------------------------------------------------------- bookings


@router.post("/bookings", status_code=201, tags=["services"])
def book(
    actor: CurrentActor,
    body: BookingIn,
    idempotency_key: Annotated[
        str, Header(description="1 to 64 printable characters, chosen per booking.")
    ],
    book: Annotated[BookServiceHandler, Depends(resolve(BookServiceHandler))],
) -> BookingOut:
    """Book a free time for yourself (residents of a community the merchant serves). The
    same ``Idempotency-Key`` returns the booking made the first time; a time taken
    meanwhile is 409 ``slot-taken``."""
    booking = book(
        BookService(
            resident_id=signed_in(actor),
            community_id=CommunityId(body.community_id),
            offering_id=OfferingId(body.offering_id),
            starts_at=body.starts_at,
            idempotency_key=idempotency_key,
            staff_id=StaffId(body.staff_id) if body.staff_id else None,
            address_id=body.address_id,
            note=body.note,
        ),
        actor=actor,
    )
    return BookingOut.of(booking)


@router.get("/me/bookings", tags=["services"])
def my_bookings(
    actor: CurrentActor,
    list_bookings: Annotated[ListBookingsHandler, Depends(resolve(ListBookingsHandler))],
) -> list[BookingOut]:
    """Your bookings, the latest start first."""
    return [BookingOut.of(b) for b in list_bookings(ListBookings(signed_in(actor)), actor=actor)]


@router.get("/merchants/{merchant_id}/bookings", tags=["services"])
def merchant_bookings(
    actor: CurrentActor,
    merchant_id: str,
    list_bookings: Annotated[ListBookingsHandler, Depends(resolve(ListBookingsHandler))],
    date: dt.date | None = None,
    days: Annotated[int, Query(ge=1, le=31)] = 1,
) -> list[BookingOut]:
    """A merchant's bookings starting on ``days`` days from ``date`` (its staff, its
    communities' operators)."""
    found = list_bookings(
        ListBookings(provider_id=ProviderId(merchant_id), day=date, days=days), actor=actor
    )
    return [BookingOut.of(b) for b in found]


@router.post("/bookings/{booking_id}/advance", tags=["services"])
def advance_booking(
    actor: CurrentActor,
    booking_id: str,
    body: BookingStep,
    move: Annotated[MoveBookingHandler, Depends(resolve(MoveBookingHandler))],
) -> BookingOut:
    """The merchant's steps: ``confirmed``, ``in_progress``, ``completed``, or
    ``no_show`` once it has started (at the late fee)."""
    return BookingOut.of(
        move(MoveBooking(BookingId(booking_id), body.status, body.note), actor=actor)
    )


@router.post("/bookings/{booking_id}/cancel", tags=["services"])
def cancel_booking(
    actor: CurrentActor,
    booking_id: str,
    cancel: Annotated[CancelBookingHandler, Depends(resolve(CancelBookingHandler))],
    body: CancelIn | None = None,
) -> BookingOut:
    """Cancel: the resident free until the cut-off and at the offering's late fee after
    (``fee``); the merchant free, saying why (the resident is told)."""
    reason = body.reason if body else ""
    return BookingOut.of(cancel(CancelBooking(BookingId(booking_id), reason), actor=actor))


@router.post("/bookings/{booking_id}/reschedule", tags=["services"])
def reschedule_booking(
    actor: CurrentActor,
    booking_id: str,
    body: RescheduleIn,
    move: Annotated[RescheduleBookingHandler, Depends(resolve(RescheduleBookingHandler))],
) -> BookingOut:
    """Move it to another free time (the resident or the merchant), before it starts."""
    moved = move(
        RescheduleBooking(
            BookingId(booking_id),
            body.starts_at,
            StaffId(body.staff_id) if body.staff_id else None,
        ),
        actor=actor,
    )
    return BookingOut.of(moved)


@router.post("/bookings/{booking_id}/review", tags=["services"])
def review_booking(
    actor: CurrentActor,
    booking_id: str,
    body: ReviewIn,
    review: Annotated[ReviewBookingHandler, Depends(resolve(ReviewBookingHandler))],
) -> BookingOut:
    """The resident's rating (1 to 5) and words, once the service is completed; once."""
    done = review(
        ReviewBooking(BookingId(booking_id), body.rating, body.text, tuple(body.photos)),
        actor=actor,
    )
    return BookingOut.of(done)


@router.post("/services/remind", tags=["services"])
def remind(
    actor: CurrentActor,
    remind: Annotated[RemindBookingsHandler, Depends(resolve(RemindBookingsHandler))],
) -> dict[str, int]:
    """For a scheduler (admins): remind each booking starting soon, once."""
    return {"reminded": remind(RemindBookings(), actor=actor)}
