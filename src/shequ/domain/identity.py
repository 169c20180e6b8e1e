"""Identity: accounts, the roles they hold in communities, and personal data rules.

Phone numbers and names are personal data. The domain holds them in plain text; storage
adapters encrypt them at rest, and everything shown to someone other than the owner is
masked (:func:`mask_phone`).
"""

from __future__ import annotations

import datetime as dt
import enum
import re

import attrs

from shequ.domain.errors import Conflict, InvalidInput
from shequ.domain.events import DomainEvent
from shequ.domain.ids import AccountId, CommunityId, check_id

__all__ = [
    "Account",
    "AccountCreated",
    "AccountErased",
    "AccountStatus",
    "Address",
    "Consent",
    "ConsentGiven",
    "Membership",
    "Role",
    "RoleGranted",
    "RoleRevoked",
    "mask_name",
    "mask_phone",
    "normalise_phone",
]

_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def normalise_phone(text: str) -> str:
    """A mainland China mobile number as its 11 digits: ``+86 138-1234-5678`` → ``13812345678``."""
    digits = re.sub(r"[\s\-()]", "", text if isinstance(text, str) else "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
    if not _MOBILE.fullmatch(digits):
        raise InvalidInput("a phone number is 11 digits starting with 13 to 19", field="phone")
    return digits


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``: what anyone but the owner sees."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


def mask_name(name: str) -> str:
    """``张伟`` → ``张*``: a name as shown to anyone but its owner."""
    return f"{name[0]}*" if name else ""


class Role(enum.StrEnum):
    """What an account may do, and where (see :class:`Membership`)."""

    RESIDENT = "resident"
    LEADER = "leader"  # 团长: a group leader or a pickup point operator
    MERCHANT = "merchant"  # a merchant or one of its staff
    SUPPLIER = "supplier"
    RIDER = "rider"
    MODERATOR = "moderator"  # 版主: moderates a community's forum
    OPERATOR = "operator"  # runs one community for the platform
    ADMIN = "admin"  # platform-wide

    @property
    def platform_wide(self) -> bool:
        return self in (Role.ADMIN, Role.SUPPLIER)


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    ERASED = "erased"  # personal data removed at its owner's request


@attrs.frozen
class Consent:
    """Agreement to a version of the privacy policy, and when it was given."""

    policy_version: str
    given_at: dt.datetime


@attrs.frozen
class Membership:
    """A role held in one community (``community_id``), or platform-wide (``None``).

    ``scope_id`` narrows it further where the role needs it: the seller a merchant works
    for, or the pickup point a leader runs.
    """

    role: Role
    community_id: CommunityId | None = None
    scope_id: str | None = None

    def __str__(self) -> str:
        """``resident@<community id>``, ``admin@platform``."""
        return f"{self.role.value}@{self.community_id or 'platform'}"

    def __attrs_post_init__(self) -> None:
        if self.role.platform_wide and self.community_id is not None:
            raise InvalidInput(f"the {self.role} role is platform-wide", field="community_id")
        if not self.role.platform_wide and self.community_id is None:
            raise InvalidInput(f"the {self.role} role is held in a community", field="community_id")
        if self.role is Role.MERCHANT and not self.scope_id:
            raise InvalidInput("a merchant role names the seller it works for", field="scope_id")


@attrs.frozen(kw_only=True)
class AccountCreated(DomainEvent):
    account_id: AccountId


@attrs.frozen(kw_only=True)
class ConsentGiven(DomainEvent):
    account_id: AccountId
    policy_version: str


@attrs.frozen(kw_only=True)
class AccountErased(DomainEvent):
    account_id: AccountId


@attrs.frozen(kw_only=True)
class RoleGranted(DomainEvent):
    account_id: AccountId
    role: Role
    community_id: CommunityId | None
    scope_id: str | None


@attrs.frozen(kw_only=True)
class RoleRevoked(DomainEvent):
    account_id: AccountId
    role: Role
    community_id: CommunityId | None
    scope_id: str | None


def _name(value: str) -> str:
    cleaned = value.strip() if isinstance(value, str) else ""
    if len(cleaned) > 40 or any(ord(c) < 32 or "\ud800" <= c <= "\udfff" for c in cleaned):
        raise InvalidInput("a name is at most 40 printable characters", field="name")
    return cleaned


@attrs.define(slots=False, eq=False)
class Account:
    """Someone who signs in: a resident, a leader, a merchant's staff, a rider, an operator.

    Events carry ids only, never personal data: the outbox is not encrypted.
    """

    id: AccountId
    phone: str
    created_at: dt.datetime
    name: str = ""
    password_hash: str | None = attrs.field(default=None, repr=False)
    status: AccountStatus = AccountStatus.ACTIVE
    memberships: list[Membership] = attrs.Factory(list)
    token_generation: int = 0  # access tokens of older generations are void
    consents: list[Consent] = attrs.Factory(list)
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def open(
        cls,
        *,
        id: AccountId,
        phone: str,
        now: dt.datetime,
        name: str = "",
        password_hash: str | None = None,
        memberships: tuple[Membership, ...] = (),
    ) -> Account:
        check_id(id, "account")
        held = list(dict.fromkeys(memberships))
        account = cls(
            id=id,
            phone=normalise_phone(phone),
            name=_name(name),
            created_at=now,
            password_hash=password_hash,
            memberships=held,
        )
        account.events.append(AccountCreated(occurred_at=now, account_id=id))
        account.events.extend(
            RoleGranted(
                occurred_at=now,
                account_id=id,
                role=m.role,
                community_id=m.community_id,
                scope_id=m.scope_id,
            )
            for m in held
        )
        return account

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def roles_in(self, community_id: CommunityId | None) -> frozenset[Role]:
        return frozenset(m.role for m in self.memberships if m.community_id == community_id)

    def grant(self, membership: Membership, *, now: dt.datetime) -> None:
        if membership in self.memberships:
            return
        self.memberships = [*self.memberships, membership]  # replaced, never mutated
        self._touch(
            now,
            RoleGranted(
                occurred_at=now,
                account_id=self.id,
                role=membership.role,
                community_id=membership.community_id,
                scope_id=membership.scope_id,
            ),
        )

    def revoke(self, membership: Membership, *, now: dt.datetime) -> None:
        if membership not in self.memberships:
            raise Conflict(f"the account does not hold {membership.role} there")
        self.memberships = [m for m in self.memberships if m != membership]
        self._touch(
            now,
            RoleRevoked(
                occurred_at=now,
                account_id=self.id,
                role=membership.role,
                community_id=membership.community_id,
                scope_id=membership.scope_id,
            ),
        )

    def set_password_hash(self, password_hash: str, *, now: dt.datetime) -> None:
        self.password_hash = password_hash
        self.version += 1

    def sign_out_everywhere(self) -> None:
        """Void every access token issued so far."""
        self.token_generation += 1
        self.version += 1

    @property
    def may_sign_in(self) -> bool:
        return self.status is AccountStatus.ACTIVE

    def consent(self, policy_version: str, *, now: dt.datetime) -> None:
        version = policy_version.strip() if isinstance(policy_version, str) else ""
        if not version or len(version) > 20:
            raise InvalidInput("name the privacy policy version agreed to", field="policy_version")
        if self.consents and self.consents[-1].policy_version == version:
            return
        self.consents = [*self.consents, Consent(version, now)]
        self.version += 1
        self.events.append(
            ConsentGiven(occurred_at=now, account_id=self.id, policy_version=version)
        )

    @property
    def consented_to(self) -> str | None:
        return self.consents[-1].policy_version if self.consents else None

    def disable(self) -> None:
        """Stop every sign-in and void every token, until enabled again."""
        if self.status is AccountStatus.ERASED:
            raise Conflict("an erased account stays erased")
        if self.status is not AccountStatus.DISABLED:
            self.status = AccountStatus.DISABLED
            self.token_generation += 1
            self.version += 1

    def enable(self) -> None:
        if self.status is AccountStatus.ERASED:
            raise Conflict("an erased account stays erased")
        if self.status is AccountStatus.DISABLED:
            self.status = AccountStatus.ACTIVE
            self.version += 1

    def erase(self, *, now: dt.datetime) -> None:
        """Remove the personal data and every role; what the law keeps stays, anonymous."""
        if self.status is AccountStatus.ERASED:
            return
        self.phone, self.name, self.password_hash = "", "", None  # addresses: see EraseMyAccount
        self.memberships = []
        self.status = AccountStatus.ERASED
        self.token_generation += 1
        self.version += 1
        self.events.append(AccountErased(occurred_at=now, account_id=self.id))

    def _touch(self, now: dt.datetime, event: DomainEvent) -> None:
        self.version += 1
        self.events.append(event)


@attrs.define(slots=False, eq=False)
class Address:
    """Where a resident has goods delivered. Recipient, phone and the door (楼栋/单元/门牌)
    are personal data, sealed at rest like an account's."""

    id: str
    account_id: AccountId
    recipient: str
    phone: str
    detail: str
    created_at: dt.datetime
    label: str = ""
    community_id: CommunityId | None = None
    removed: bool = False
    version: int = 1

    @classmethod
    def create(
        cls,
        *,
        id: str,
        account_id: AccountId,
        recipient: str,
        phone: str,
        detail: str,
        now: dt.datetime,
        label: str = "",
        community_id: CommunityId | None = None,
    ) -> Address:
        check_id(id, "address")
        cleaned = detail.strip() if isinstance(detail, str) else ""
        if (
            not cleaned
            or len(cleaned) > 200
            or any(ord(c) < 32 or "\ud800" <= c <= "\udfff" for c in cleaned)
        ):
            raise InvalidInput(
                "an address names the door in at most 200 characters", field="detail"
            )
        title = label.strip() if isinstance(label, str) else ""
        if len(title) > 20:
            raise InvalidInput("a label has at most 20 characters", field="label")
        name = _name(recipient)
        if not name:
            raise InvalidInput("an address names who receives the goods", field="recipient")
        return cls(
            id=id,
            account_id=account_id,
            recipient=name,
            phone=normalise_phone(phone),
            detail=cleaned,
            label=title,
            community_id=community_id,
            created_at=now,
        )

    def remove(self) -> None:
        """Forget it: the personal data goes at once."""
        self.recipient, self.phone, self.detail, self.label = "", "", "", ""
        self.removed = True
        self.version += 1
