"""Open accounts, grant and revoke roles, list accounts."""

from __future__ import annotations

import attrs

from shequ.application.audit import audit
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, PasswordHasher, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.errors import AccountNotFound, Duplicate, InvalidInput, SellerNotFound
from shequ.domain.identity import Account, Membership, Role, normalise_phone
from shequ.domain.ids import AccountId, CommunityId, ProviderId, SellerId, new_id

__all__ = [
    "ChangeRole",
    "ChangeRoleHandler",
    "GetAccountHandler",
    "ListAccountsHandler",
    "OpenAccount",
    "OpenAccountHandler",
    "SetAccountEnabled",
    "SetAccountEnabledHandler",
    "check_password",
]

MIN_PASSWORD, MAX_PASSWORD = 8, 128


def check_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password"
        )
    if password.strip() != password or password.isdigit():
        raise InvalidInput(
            "a password may not start or end with a space, nor be only digits", field="password"
        )
    return password


@attrs.frozen
class OpenAccount:
    phone: str
    name: str = ""
    password: str | None = attrs.field(default=None, repr=False)
    memberships: tuple[Membership, ...] = ()
    account_id: AccountId | None = None


class _AccountCase:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def _check_scope(self, uow: UnitOfWork, membership: Membership) -> None:
        if membership.community_id is not None:
            uow.communities.get(membership.community_id)
        scope = membership.scope_id
        if (  # a merchant works for a seller, or for a local service
            membership.role is Role.MERCHANT
            and scope is not None
            and uow.sellers.find(SellerId(scope)) is None
            and uow.providers.find(ProviderId(scope)) is None
        ):
            raise SellerNotFound(f"no seller or local merchant with id {scope!r}", id=scope)


class OpenAccountHandler(_AccountCase):
    """Open an account for a phone number; one account per number."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, policy: Policy, passwords: PasswordHasher
    ) -> None:
        super().__init__(uow, clock, policy)
        self._passwords = passwords

    def __call__(self, cmd: OpenAccount, *, actor: Actor) -> Account:
        self._policy.require(actor, Permission.MANAGE_ACCOUNTS, roles=cmd.memberships)
        now = self._clock.now()
        password_hash = (
            None if cmd.password is None else self._passwords.hash(check_password(cmd.password))
        )
        account = Account.open(
            id=cmd.account_id or AccountId(new_id()),
            phone=cmd.phone,
            name=cmd.name,
            password_hash=password_hash,
            memberships=cmd.memberships,
            now=now,
        )
        with self._uow as uow:
            if uow.accounts.find_by_phone(account.phone) is not None:
                raise Duplicate("an account with this phone number exists already")
            for membership in cmd.memberships:
                self._check_scope(uow, membership)
            uow.accounts.add(account)
            audit(
                uow,
                actor,
                "account.opened",
                f"account:{account.id}",
                now,
                roles=[str(m) for m in account.memberships],
            )
            uow.commit()
        return account


@attrs.frozen
class ChangeRole:
    """Grant (``granted=True``) or revoke a role."""

    account_id: AccountId
    membership: Membership
    granted: bool = True


class ChangeRoleHandler(_AccountCase):
    def __call__(self, cmd: ChangeRole, *, actor: Actor) -> Account:
        self._policy.require(actor, Permission.MANAGE_ACCOUNTS, roles=(cmd.membership,))

        def attempt() -> Account:
            with self._uow as uow:
                account = uow.accounts.get(cmd.account_id)
                now = self._clock.now()
                if cmd.granted:
                    self._check_scope(uow, cmd.membership)
                    account.grant(cmd.membership, now=now)
                else:
                    account.revoke(cmd.membership, now=now)
                audit(
                    uow,
                    actor,
                    "role.granted" if cmd.granted else "role.revoked",
                    f"account:{account.id}",
                    now,
                    role=cmd.membership.role.value,
                    community_id=cmd.membership.community_id,
                    scope_id=cmd.membership.scope_id,
                )
                uow.commit()
            return account

        return retry_on_conflict(attempt)


@attrs.frozen
class SetAccountEnabled:
    """Disable an account (no sign-in, every token void at once) or enable it again."""

    account_id: AccountId
    enabled: bool


class SetAccountEnabledHandler(_AccountCase):
    """Platform admins (and the console) only: a community operator cannot lock anyone out."""

    def __call__(self, cmd: SetAccountEnabled, *, actor: Actor) -> Account:
        self._policy.require(actor, Permission.MANAGE_ACCOUNTS, roles=(Membership(Role.ADMIN),))
        with self._uow as uow:
            account = uow.accounts.get(cmd.account_id)
            if cmd.enabled:
                account.enable()
            else:
                account.disable()
                for session in uow.sessions.of_account(account.id):
                    session.revoke(self._clock.now())
            audit(
                uow,
                actor,
                "account.enabled" if cmd.enabled else "account.disabled",
                f"account:{account.id}",
                self._clock.now(),
            )
            uow.commit()
        return account


class GetAccountHandler:
    """One account, to itself, to admins and to the operators of its communities. To anyone
    else it does not exist: a lookup by phone number must not tell who has an account."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(
        self, account_id: AccountId | None = None, *, phone: str | None = None, actor: Actor
    ) -> Account:
        """By id, or by phone number. Every read is audited."""
        with self._uow as uow:
            if account_id is not None:
                found = uow.accounts.find(account_id)
            else:
                found = uow.accounts.find_by_phone(normalise_phone(phone or ""))
            if found is None or not self._may_see(actor, found):
                raise AccountNotFound("no such account")
            audit(uow, actor, "account.read", f"account:{found.id}", self._clock.now())
            uow.commit()
        return found

    def _may_see(self, actor: Actor, account: Account) -> bool:
        return actor.account_id == account.id or any(
            self._policy.allows(actor, Permission.READ_ACCOUNTS, community_id=m.community_id)
            for m in [*account.memberships, Membership(Role.ADMIN)]
        )


class ListAccountsHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, community_id: CommunityId | None = None, *, actor: Actor) -> list[Account]:
        """Audited: who listed which community's accounts."""
        self._policy.require(actor, Permission.READ_ACCOUNTS, community_id=community_id)
        with self._uow as uow:
            if community_id is not None:
                uow.communities.get(community_id)
            found = uow.accounts.list(community_id)
            subject = f"community:{community_id}" if community_id else "platform"
            audit(uow, actor, "accounts.listed", subject, self._clock.now(), count=len(found))
            uow.commit()
        return found
