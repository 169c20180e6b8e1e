"""Builders for local services tests: a merchant with two members of staff and offerings,
through the real use cases."""

from __future__ import annotations

import datetime as dt
import uuid

import attrs
import injector

from shequ.application.policy import CONSOLE, Actor
from shequ.application.services.bookings import BookService, BookServiceHandler
from shequ.application.services.directory import (
    AddOffering,
    AddOfferingHandler,
    AddStaff,
    AddStaffHandler,
    RegisterProvider,
    RegisterProviderHandler,
)
from shequ.domain.catalog import Community
from shequ.domain.hours import Hours, OpeningHours
from shequ.domain.ids import OfferingId, ProviderId, StaffId
from shequ.domain.money import Money
from shequ.domain.services import (
    PriceKind,
    ProviderKind,
    ServiceBooking,
    ServiceOffering,
    ServiceProvider,
    StaffMember,
    Venue,
)
from shequ.domain.values import CHINA_STANDARD_TIME

WORKDAYS = OpeningHours.build(
    {
        d: [Hours.parse("08:00-12:00"), Hours.parse("13:00-18:00")]
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
)


@attrs.frozen
class Housekeeping:
    provider: ServiceProvider
    staff: tuple[StaffMember, ...]
    cleaning: ServiceOffering  # 2 hours at home, 30 minutes between, ¥120, ¥20 late
    haircut: ServiceOffering  # 1 hour at the merchant, quoted: ¥30 to come


def housekeeping(app: injector.Injector, community: Community) -> Housekeeping:
    provider = app.get(RegisterProviderHandler)(
        RegisterProvider(
            name="好阿姨家政",
            kind=ProviderKind.HOUSEKEEPING,
            community_ids=(community.id,),
            contact_phone="0571-8888 6666",
            address="阳光花园3幢底商",
            hours=WORKDAYS,
            description="日常保洁、深度保洁、家电清洗",
            provider_id=ProviderId(f"hk-{uuid.uuid4().hex[:8]}"),
        ),
        actor=CONSOLE,
    )
    staff = tuple(
        app.get(AddStaffHandler)(
            AddStaff(provider.id, name, WORKDAYS, staff_id=StaffId(f"{provider.id}-{n}")),
            actor=CONSOLE,
        )
        for n, name in enumerate(("王阿姨", "李阿姨"))
    )
    add = app.get(AddOfferingHandler)
    cleaning = add(
        AddOffering(
            provider.id,
            "日常保洁",
            duration_minutes=120,
            buffer_minutes=30,
            price_kind=PriceKind.FIXED,
            price=Money(12000),
            venue=Venue.AT_HOME,
            staff_ids=tuple(s.id for s in staff),
            late_cancel_fee=Money(2000),
            offering_id=OfferingId(f"{provider.id}-clean"),
        ),
        actor=CONSOLE,
    )
    haircut = add(
        AddOffering(
            provider.id,
            "上门理发",
            duration_minutes=60,
            price_kind=PriceKind.QUOTE,
            price=Money(3000),
            venue=Venue.AT_MERCHANT,
            staff_ids=(staff[0].id,),
            auto_confirm=True,
            offering_id=OfferingId(f"{provider.id}-cut"),
        ),
        actor=CONSOLE,
    )
    return Housekeeping(provider, staff, cleaning, haircut)


def cst(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CHINA_STANDARD_TIME)


def book(
    app: injector.Injector,
    resident: Actor,
    community: Community,
    offering: ServiceOffering,
    starts_at: dt.datetime,
    address_id: str | None,
    **more: object,
) -> ServiceBooking:
    assert resident.account_id is not None
    return app.get(BookServiceHandler)(
        BookService(
            resident_id=resident.account_id,
            community_id=community.id,
            offering_id=offering.id,
            starts_at=starts_at,
            idempotency_key=str(more.pop("key", uuid.uuid4().hex)),
            address_id=address_id,
            **more,  # type: ignore[arg-type]
        ),
        actor=resident,
    )
