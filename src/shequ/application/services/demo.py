"""Demo local services: two merchants of the demo community with their staff and
offerings, and a confirmed booking of the demo resident for tomorrow morning."""

from __future__ import annotations

import datetime as dt

import attrs

from shequ.application.catalog.demo import DEMO_RESIDENT_PHONE, DemoCatalog
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.application.services.bookings import (
    BookService,
    BookServiceHandler,
    MoveBooking,
    MoveBookingHandler,
)
from shequ.application.services.directory import (
    AddOffering,
    AddOfferingHandler,
    AddStaff,
    AddStaffHandler,
    EditProvider,
    EditProviderHandler,
    RegisterProvider,
    RegisterProviderHandler,
)
from shequ.application.services.promotions import PublishPromotion, PublishPromotionHandler
from shequ.domain.errors import AccountNotFound
from shequ.domain.hours import WEEKDAYS, Hours, OpeningHours
from shequ.domain.ids import OfferingId, ProviderId, StaffId
from shequ.domain.money import Money
from shequ.domain.promotions import Promotion, PromotionKind
from shequ.domain.services import (
    BookingStatus,
    PriceKind,
    ProviderKind,
    ServiceBooking,
    ServiceProvider,
    Venue,
)
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = ["DemoServices", "SeedDemoServicesHandler"]

_DAY = OpeningHours.build(
    {d: [Hours(dt.time(8), dt.time(12)), Hours(dt.time(13), dt.time(18))] for d in WEEKDAYS}
)


@attrs.frozen
class DemoServices:
    merchants: tuple[ServiceProvider, ...]
    booking: ServiceBooking
    promotion: Promotion


class SeedDemoServicesHandler:
    """Run once after the demo orders: 好阿姨家政 (cleaning at home, two of its staff) and
    邻里维修 (repairs quoted on site), the demo resident's cleaning tomorrow at 09:00,
    confirmed, and a cleaning voucher of 好阿姨家政 on sale for two weeks."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: Policy,
        register: RegisterProviderHandler,
        edit: EditProviderHandler,
        add_staff: AddStaffHandler,
        add_offering: AddOfferingHandler,
        book: BookServiceHandler,
        move: MoveBookingHandler,
        promote: PublishPromotionHandler,
    ) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy
        self._register, self._edit, self._add_staff = register, edit, add_staff
        self._add_offering, self._book, self._move = add_offering, book, move
        self._promote = promote

    def __call__(self, demo: DemoCatalog, *, actor: Actor) -> DemoServices:
        self._policy.require(actor, Permission.CONSOLE)
        with self._uow as uow:
            account = uow.accounts.find_by_phone(DEMO_RESIDENT_PHONE)
            address = uow.addresses.of_account(account.id)[0] if account else None
        if account is None or address is None:
            raise AccountNotFound("the demo resident and their address: run the demo orders first")
        here = demo.community.id
        cleaners = self._register(
            RegisterProvider(
                name="好阿姨家政",
                kind=ProviderKind.HOUSEKEEPING,
                community_ids=(here,),
                contact_phone="0571-8888 6666",
                address="阳光花园3幢底商",
                hours=_DAY,
                description="日常保洁、深度保洁、家电清洗，阿姨持证上岗。",
                provider_id=ProviderId("demo-housekeeping"),
            ),
            actor=actor,
        )
        self._edit(EditProvider(cleaners.id, verified=True), actor=actor)
        staff = [
            self._add_staff(
                AddStaff(cleaners.id, name, _DAY, staff_id=StaffId(f"demo-hk-{n}")), actor=actor
            )
            for n, name in enumerate(("王阿姨", "李阿姨"), start=1)
        ]
        cleaning = self._add_offering(
            AddOffering(
                cleaners.id,
                "日常保洁 2小时",
                duration_minutes=120,
                buffer_minutes=30,
                price_kind=PriceKind.FIXED,
                price=Money(12000),
                venue=Venue.AT_HOME,
                staff_ids=tuple(s.id for s in staff),
                late_cancel_fee=Money(2000),
                offering_id=OfferingId("demo-cleaning"),
            ),
            actor=actor,
        )
        fixers = self._register(
            RegisterProvider(
                name="邻里维修",
                kind=ProviderKind.REPAIR,
                community_ids=(here,),
                contact_phone="0571-8666 1234",
                address="阳光花园物业楼旁",
                hours=_DAY,
                description="水电、门锁、家电维修，上门检测后报价。",
                provider_id=ProviderId("demo-repair"),
            ),
            actor=actor,
        )
        fixer = self._add_staff(
            AddStaff(fixers.id, "赵师傅", _DAY, staff_id=StaffId("demo-repair-1")), actor=actor
        )
        self._add_offering(
            AddOffering(
                fixers.id,
                "水电维修",
                duration_minutes=60,
                price_kind=PriceKind.QUOTE,
                price=Money(3000),
                venue=Venue.AT_HOME,
                staff_ids=(fixer.id,),
                auto_confirm=True,
                offering_id=OfferingId("demo-plumbing"),
            ),
            actor=actor,
        )
        tomorrow = self._clock.now().astimezone(CHINA_STANDARD_TIME).date() + dt.timedelta(days=1)
        resident = Actor.of(account, client="demo")
        booking = self._book(
            BookService(
                resident_id=account.id,
                community_id=here,
                offering_id=cleaning.id,
                starts_at=dt.datetime.combine(tomorrow, dt.time(9), tzinfo=CHINA_STANDARD_TIME),
                idempotency_key="demo-cleaning",
                address_id=address.id,
                note="家里有猫，请轻声",
            ),
            actor=resident,
        )
        booking = self._move(MoveBooking(booking.id, BookingStatus.CONFIRMED), actor=actor)
        now = self._clock.now()
        promotion = self._promote(
            PublishPromotion(
                provider_id=cleaners.id,
                kind=PromotionKind.DISCOUNT,
                title="日常保洁 150 元代金券",
                terms="预约日常保洁时抵扣，工作日与周末通用，每次限用一张。",
                price=Money(12900),
                value=Money(15000),
                quantity=100,
                per_resident=2,
                sale_ends_at=now + dt.timedelta(days=14),
                use_until=now + dt.timedelta(days=90),
            ),
            actor=actor,
        )
        return DemoServices((cleaners, fixers), booking, promotion)
