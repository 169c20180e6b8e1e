"""The directory of local merchants (本地商户): registering and editing them, their staff and
what they offer, and finding them by kind and keyword."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, ProviderQuery, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import InvalidInput
from shequ.domain.hours import OpeningHours
from shequ.domain.ids import CommunityId, OfferingId, ProviderId, StaffId, new_id
from shequ.domain.money import Money
from shequ.domain.services import (
    PriceKind,
    ProviderKind,
    ServiceOffering,
    ServiceProvider,
    StaffMember,
    Venue,
)

__all__ = [
    "AddOffering",
    "AddOfferingHandler",
    "AddStaff",
    "AddStaffHandler",
    "EditOffering",
    "EditOfferingHandler",
    "EditProvider",
    "EditProviderHandler",
    "EditStaff",
    "EditStaffHandler",
    "GetProvider",
    "GetProviderHandler",
    "ProviderPage",
    "ProviderView",
    "RegisterProvider",
    "RegisterProviderHandler",
    "SearchProviders",
    "SearchProvidersHandler",
]


@attrs.frozen
class RegisterProvider:
    name: str
    kind: ProviderKind
    community_ids: tuple[CommunityId, ...]
    contact_phone: str
    address: str
    hours: OpeningHours
    description: str = ""
    photos: tuple[str, ...] = ()
    provider_id: ProviderId | None = None


class RegisterProviderHandler:
    """An operator of every community the merchant serves (or an admin) registers it."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: RegisterProvider, *, actor: Actor) -> ServiceProvider:
        for community_id in cmd.community_ids:
            self._policy.require(actor, Permission.MANAGE_SERVICES, community_id=community_id)
        provider = ServiceProvider.create(
            id=cmd.provider_id or ProviderId(new_id()),
            name=cmd.name,
            kind=cmd.kind,
            community_ids=cmd.community_ids,
            contact_phone=cmd.contact_phone,
            address=cmd.address,
            hours=cmd.hours,
            description=cmd.description,
            photos=cmd.photos,
            now=self._clock.now(),
        )
        with self._uow as uow:
            for community_id in provider.community_ids:
                uow.communities.get(community_id)
            uow.providers.add(provider)
            uow.commit()
        return provider


@attrs.frozen
class EditProvider:
    """Change what is given; ``verified`` (认证) is for the community's operators."""

    provider_id: ProviderId
    description: str | None = None
    hours: OpeningHours | None = None
    photos: tuple[str, ...] | None = None
    contact_phone: str | None = None
    verified: bool | None = None


class EditProviderHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, cmd: EditProvider, *, actor: Actor) -> ServiceProvider:
        def attempt() -> ServiceProvider:
            with self._uow as uow:
                provider = uow.providers.get_for_update(cmd.provider_id)
                self._policy.require(actor, Permission.MANAGE_SERVICES, provider=provider)
                if cmd.verified is not None:  # the operators vouch for it, not the merchant
                    for community_id in provider.community_ids:
                        self._policy.require(
                            actor, Permission.MANAGE_SERVICES, community_id=community_id
                        )
                    provider.verify(cmd.verified)
                provider.edit(
                    contact_phone=cmd.contact_phone,
                    hours=cmd.hours,
                    description=cmd.description,
                    photos=cmd.photos,
                )
                uow.commit()
            return provider

        return retry_on_conflict(attempt)


@attrs.frozen
class SearchProviders:
    """The directory of a community: by ``kind`` and the words of ``keyword``."""

    community_id: CommunityId
    kind: ProviderKind | None = None
    keyword: str = ""
    verified_only: bool = False
    limit: int = 50


@attrs.frozen
class ProviderPage:
    items: tuple[ServiceProvider, ...]


class SearchProvidersHandler:
    """Any signed-in account finds the merchants serving a community."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: SearchProviders, *, actor: Actor) -> ProviderPage:
        self._policy.require(actor, Permission.BROWSE)
        if type(query.limit) is not int or not 1 <= query.limit <= 200:
            raise InvalidInput("page size must be 1 to 200", field="limit")
        words = tuple(query.keyword.split()) if isinstance(query.keyword, str) else ()
        if len(words) > 5 or any(len(w) > 40 for w in words):
            raise InvalidInput("at most 5 words of up to 40 characters", field="keyword")
        with self._uow as uow:
            found = uow.providers.search(
                ProviderQuery(
                    community_id=query.community_id,
                    kind=query.kind,
                    words=words,
                    verified_only=query.verified_only,
                    limit=query.limit,
                )
            )
        return ProviderPage(tuple(found))


@attrs.frozen
class GetProvider:
    provider_id: ProviderId


@attrs.frozen
class ProviderView:
    provider: ServiceProvider
    staff: tuple[StaffMember, ...]
    offerings: tuple[ServiceOffering, ...]


class GetProviderHandler:
    """A merchant with its staff and its active offerings (all of them for its managers)."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: GetProvider, *, actor: Actor) -> ProviderView:
        self._policy.require(actor, Permission.BROWSE)
        with self._uow as uow:
            provider = uow.providers.get(query.provider_id)
            staff = uow.staff.of_provider(provider.id)
            offerings = uow.offerings.of_provider(provider.id)
        if not self._policy.allows(actor, Permission.MANAGE_SERVICES, provider=provider):
            offerings = [o for o in offerings if o.active]
            staff = [s for s in staff if s.active]
        return ProviderView(provider, tuple(staff), tuple(offerings))


def _managed(uow: UnitOfWork, policy: Policy, actor: Actor, provider_id: ProviderId) -> None:
    policy.require(actor, Permission.MANAGE_SERVICES, provider=uow.providers.get(provider_id))


@attrs.frozen
class AddStaff:
    provider_id: ProviderId
    name: str
    schedule: OpeningHours
    staff_id: StaffId | None = None


class AddStaffHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, cmd: AddStaff, *, actor: Actor) -> StaffMember:
        with self._uow as uow:
            _managed(uow, self._policy, actor, cmd.provider_id)
            staff = StaffMember.create(
                id=cmd.staff_id or StaffId(new_id()),
                provider_id=cmd.provider_id,
                name=cmd.name,
                schedule=cmd.schedule,
            )
            uow.staff.add(staff)
            uow.commit()
        return staff


@attrs.frozen
class EditStaff:
    """A new weekly ``schedule`` (with its days off as dates of no hours), or ``active``."""

    staff_id: StaffId
    schedule: OpeningHours | None = None
    active: bool | None = None


class EditStaffHandler:
    """Bookings made already stay: a day off given after a booking is the merchant's to
    resolve (reschedule or cancel it)."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, cmd: EditStaff, *, actor: Actor) -> StaffMember:
        def attempt() -> StaffMember:
            with self._uow as uow:
                staff = uow.staff.get_for_update(cmd.staff_id)
                _managed(uow, self._policy, actor, staff.provider_id)
                if cmd.schedule is not None:
                    staff.reschedule(cmd.schedule)
                if cmd.active is not None:
                    staff.set_active(cmd.active)
                uow.commit()
            return staff

        return retry_on_conflict(attempt)


@attrs.frozen
class AddOffering:
    provider_id: ProviderId
    name: str
    duration_minutes: int
    price_kind: PriceKind
    price: Money
    venue: Venue
    staff_ids: tuple[StaffId, ...]
    description: str = ""
    buffer_minutes: int = 0
    late_cancel_fee: Money = Money(0)
    auto_confirm: bool = False
    offering_id: OfferingId | None = None


class AddOfferingHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, cmd: AddOffering, *, actor: Actor) -> ServiceOffering:
        with self._uow as uow:
            _managed(uow, self._policy, actor, cmd.provider_id)
            _own_staff(uow, cmd.provider_id, cmd.staff_ids)
            offering = ServiceOffering.create(
                id=cmd.offering_id or OfferingId(new_id()),
                provider_id=cmd.provider_id,
                name=cmd.name,
                description=cmd.description,
                duration_minutes=cmd.duration_minutes,
                buffer_minutes=cmd.buffer_minutes,
                price_kind=cmd.price_kind,
                price=cmd.price,
                venue=cmd.venue,
                staff_ids=cmd.staff_ids,
                late_cancel_fee=cmd.late_cancel_fee,
                auto_confirm=cmd.auto_confirm,
            )
            uow.offerings.add(offering)
            uow.commit()
        return offering


def _own_staff(uow: UnitOfWork, provider_id: ProviderId, staff_ids: Sequence[StaffId]) -> None:
    for staff_id in staff_ids:
        if uow.staff.get(staff_id).provider_id != provider_id:
            raise InvalidInput(f"{staff_id} works for another merchant", field="staff_ids")


@attrs.frozen
class EditOffering:
    """Who delivers it, or ``active`` (an inactive offering takes no new bookings)."""

    offering_id: OfferingId
    staff_ids: tuple[StaffId, ...] | None = None
    active: bool | None = None


class EditOfferingHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, cmd: EditOffering, *, actor: Actor) -> ServiceOffering:
        def attempt() -> ServiceOffering:
            with self._uow as uow:
                offering = uow.offerings.get_for_update(cmd.offering_id)
                _managed(uow, self._policy, actor, offering.provider_id)
                if cmd.staff_ids is not None:
                    _own_staff(uow, offering.provider_id, cmd.staff_ids)
                    offering.delivered_by(cmd.staff_ids)
                if cmd.active is not None:
                    offering.set_active(cmd.active)
                uow.commit()
            return offering

        return retry_on_conflict(attempt)
