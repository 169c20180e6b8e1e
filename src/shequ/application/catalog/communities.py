"""Communities (小区) and the sellers who serve them."""

from __future__ import annotations

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.catalog import Community, Seller, SellerKind
from shequ.domain.errors import Duplicate
from shequ.domain.ids import CommunityId, SellerId, new_id
from shequ.domain.routing import GeoPoint

__all__ = [
    "CreateCommunity",
    "CreateCommunityHandler",
    "CreateSeller",
    "CreateSellerHandler",
    "EditCommunity",
    "EditCommunityHandler",
    "ListCommunitiesHandler",
    "ListSellersHandler",
]


@attrs.frozen
class CreateCommunity:
    name: str
    city: str = ""
    district: str = ""
    community_id: CommunityId | None = None
    location: GeoPoint | None = None


class CreateCommunityHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: CreateCommunity, *, actor: Actor) -> Community:
        self._policy.require(actor, Permission.MANAGE_COMMUNITY)
        community = Community(
            id=cmd.community_id or CommunityId(new_id()),
            name=cmd.name,
            city=cmd.city,
            district=cmd.district,
            created_at=self._clock.now(),
            location=cmd.location,
        )
        with self._uow as uow:
            if uow.communities.find(community.id) is not None:
                raise Duplicate(f"community {community.id} exists already")
            uow.communities.add(community)
            uow.commit()
        return community


@attrs.frozen
class EditCommunity:
    """Change what is given: its name, city, district, or where it is (its gate, where
    home deliveries are driven to)."""

    community_id: CommunityId
    name: str | None = None
    city: str | None = None
    district: str | None = None
    location: GeoPoint | None = None


class EditCommunityHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, cmd: EditCommunity, *, actor: Actor) -> Community:
        self._policy.require(actor, Permission.MANAGE_COMMUNITY)

        def attempt() -> Community:
            with self._uow as uow:
                community = uow.communities.get_for_update(cmd.community_id)
                community.edit(
                    name=cmd.name, city=cmd.city, district=cmd.district, location=cmd.location
                )
                uow.commit()
            return community

        return retry_on_conflict(attempt)


@attrs.frozen
class CreateSeller:
    name: str
    kind: SellerKind = SellerKind.MERCHANT
    community_id: CommunityId | None = None
    seller_id: SellerId | None = None


class CreateSellerHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: CreateSeller, *, actor: Actor) -> Seller:
        self._policy.require(actor, Permission.MANAGE_SELLER, community_id=cmd.community_id)
        seller = Seller(
            id=cmd.seller_id or SellerId(new_id()),
            name=cmd.name,
            kind=cmd.kind,
            community_id=cmd.community_id,
            created_at=self._clock.now(),
        )
        with self._uow as uow:
            if cmd.community_id is not None:
                uow.communities.get(cmd.community_id)
            if uow.sellers.find(seller.id) is not None:
                raise Duplicate(f"seller {seller.id} exists already")
            uow.sellers.add(seller)
            uow.commit()
        return seller


class ListCommunitiesHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, *, actor: Actor) -> list[Community]:
        self._policy.require(actor, Permission.BROWSE)
        with self._uow as uow:
            return uow.communities.list()


class ListSellersHandler:
    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, community_id: CommunityId | None = None, *, actor: Actor) -> list[Seller]:
        self._policy.require(actor, Permission.BROWSE)
        with self._uow as uow:
            if community_id is not None:
                uow.communities.get(community_id)
            return uow.sellers.list(community_id)
