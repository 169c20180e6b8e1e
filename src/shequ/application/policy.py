"""The one authorization policy: who may do what, where.

Every use case asks :class:`Policy` before it acts; entrypoints only say who asks
(an :class:`Actor`). Embedding teams who need other rules bind their own subclass.

==================  ============================================================
permission          granted to
==================  ============================================================
browse              any signed-in account
manage community    platform admins
manage seller       admins; a community's operator, for merchants of it
manage products     admins; the seller's own merchant staff; for a local
                    merchant, the operator of its community
list in community   admins; that community's operator; the seller's merchant
                    staff, in the seller's own community
manage accounts     admins; a community's operator, for the resident, leader,
                    merchant and rider roles of that community
read accounts       admins; a community's operator, for that community
read the audit log  admins
buy                 a resident of the community, for themselves
own order           the resident who placed the order (pay, cancel, refund, read)
read orders         admins; the operator of the order's community
manage orders       admins; the operator of the order's community (fulfil,
                    cancel, decide refunds, expire)
manage coupons      admins; for a seller's coupons, also the seller's merchant
                    staff and, for a local merchant, its community's operator
manage group buys   admins (campaigns, settlement, purchase plans); the operator
                    of a community, for its groups (list, cancel)
manage fulfilment   admins; the operator of a community, for its pickup points,
                    delivery slots and deliveries (a pickup point's own operator
                    also hands orders over at it)
ride                a rider of a community, for our own team's deliveries there
                    (a delivery's steps are its own rider's: not even admins ride)
community life      admins; the operator of a community: its announcements and
                    activities
manage services     admins; the operator of a community, for the local merchants
                    serving it; a merchant's own staff (a merchant role whose scope
                    is the merchant), for its staff, offerings and bookings
console             the operations console (the `shequ` command) only
==================  ============================================================

The console actor is the operator at the server's shell: it may do everything.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from shequ.domain.catalog import Seller
from shequ.domain.errors import Forbidden, Unauthenticated
from shequ.domain.identity import Account, Membership, Role
from shequ.domain.ids import AccountId, CommunityId
from shequ.domain.services import ServiceProvider

__all__ = ["CONSOLE", "Actor", "Permission", "Policy"]


@attrs.frozen
class Actor:
    """Who asks: a signed-in account and its roles, or the operations console."""

    account_id: AccountId | None
    memberships: frozenset[Membership] = frozenset()
    console: bool = False
    client: str = "unknown"  # where the request came from, for the audit log

    @classmethod
    def of(cls, account: Account, client: str = "unknown") -> Actor:
        return cls(account_id=account.id, memberships=frozenset(account.memberships), client=client)

    def holds(
        self, role: Role, community_id: CommunityId | None = None, scope_id: str | None = None
    ) -> bool:
        return any(
            m.role is role
            and (community_id is None or m.community_id == community_id)
            and (scope_id is None or m.scope_id == scope_id)
            for m in self.memberships
        )

    @property
    def admin(self) -> bool:
        return self.console or self.holds(Role.ADMIN)


CONSOLE = Actor(account_id=None, console=True, client="console")


class Permission(enum.StrEnum):
    BROWSE = "browse"
    MANAGE_COMMUNITY = "manage community"
    MANAGE_SELLER = "manage seller"
    MANAGE_PRODUCTS = "manage products"
    LIST_IN_COMMUNITY = "list in community"
    MANAGE_ACCOUNTS = "manage accounts"
    READ_ACCOUNTS = "read accounts"
    READ_AUDIT = "read the audit log"
    BUY = "buy"
    OWN_ORDER = "own order"
    READ_ORDERS = "read orders"
    MANAGE_ORDERS = "manage orders"
    MANAGE_COUPONS = "manage coupons"
    MANAGE_PAYMENTS = "manage payments"  # reconciliation, refund retries: the platform only
    MANAGE_GROUP_BUYS = "manage group buys"
    MANAGE_FULFILMENT = "manage fulfilment"
    RIDE = "ride"
    MANAGE_SERVICES = "manage services"
    COMMUNITY_LIFE = "community life"
    MODERATE = "moderate the forum"
    CONSOLE = "console"


_DELEGABLE = frozenset({Role.RESIDENT, Role.LEADER, Role.MERCHANT, Role.RIDER, Role.MODERATOR})


class Policy:
    """Decides; raises :class:`Forbidden` (or :class:`Unauthenticated`) when the answer is no."""

    def require(
        self,
        actor: Actor,
        permission: Permission,
        *,
        community_id: CommunityId | None = None,
        seller: Seller | None = None,
        roles: Iterable[Membership] = (),
        owner: AccountId | None = None,
        provider: ServiceProvider | None = None,
    ) -> None:
        if not self.allows(
            actor,
            permission,
            community_id=community_id,
            seller=seller,
            roles=roles,
            owner=owner,
            provider=provider,
        ):
            if actor.account_id is None and not actor.console:
                raise Unauthenticated("sign in first")
            raise Forbidden(f"you may not {permission.value} here")

    def allows(
        self,
        actor: Actor,
        permission: Permission,
        *,
        community_id: CommunityId | None = None,
        seller: Seller | None = None,
        roles: Iterable[Membership] = (),
        owner: AccountId | None = None,
        provider: ServiceProvider | None = None,
    ) -> bool:
        if actor.account_id is None and not actor.console:
            return False
        if permission is Permission.RIDE:  # a rider's own work: not even an admin's
            return community_id is not None and actor.holds(Role.RIDER, community_id)
        if actor.admin:
            return permission is not Permission.CONSOLE or actor.console
        match permission:
            case Permission.BROWSE:
                return True
            case Permission.MANAGE_SELLER:
                return community_id is not None and actor.holds(Role.OPERATOR, community_id)
            case Permission.MANAGE_PRODUCTS:
                return seller is not None and (
                    actor.holds(Role.MERCHANT, seller.community_id, seller.id)
                    or (
                        seller.community_id is not None
                        and actor.holds(Role.OPERATOR, seller.community_id)
                    )
                )
            case Permission.LIST_IN_COMMUNITY:
                return community_id is not None and (
                    actor.holds(Role.OPERATOR, community_id)
                    or (
                        seller is not None
                        and seller.community_id == community_id
                        and actor.holds(Role.MERCHANT, community_id, seller.id)
                    )
                )
            case Permission.MANAGE_ACCOUNTS:
                wanted = list(roles)
                return bool(wanted) and all(
                    m.role in _DELEGABLE
                    and m.community_id is not None
                    and actor.holds(Role.OPERATOR, m.community_id)
                    for m in wanted
                )
            case (
                Permission.READ_ACCOUNTS
                | Permission.READ_ORDERS
                | Permission.MANAGE_ORDERS
                | Permission.MANAGE_GROUP_BUYS
                | Permission.MANAGE_FULFILMENT
                | Permission.COMMUNITY_LIFE
            ):
                return community_id is not None and actor.holds(Role.OPERATOR, community_id)
            case Permission.MODERATE:
                return community_id is not None and (
                    actor.holds(Role.OPERATOR, community_id)
                    or actor.holds(Role.MODERATOR, community_id)
                )
            case Permission.BUY:
                return (
                    community_id is not None
                    and owner == actor.account_id
                    and actor.holds(Role.RESIDENT, community_id)
                )
            case Permission.OWN_ORDER:
                return owner is not None and owner == actor.account_id
            case Permission.MANAGE_SERVICES:
                if provider is not None:
                    return any(
                        actor.holds(Role.OPERATOR, c) or actor.holds(Role.MERCHANT, c, provider.id)
                        for c in provider.community_ids
                    )
                return community_id is not None and actor.holds(Role.OPERATOR, community_id)
            case Permission.MANAGE_COUPONS:
                return seller is not None and self.allows(
                    actor, Permission.MANAGE_PRODUCTS, seller=seller
                )
            case _:
                return False
