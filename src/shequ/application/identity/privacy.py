"""A resident's rights over their data: consent, a copy of everything, erasure."""

from __future__ import annotations

from typing import Any

from shequ.application.audit import audit
from shequ.application.policy import Actor
from shequ.application.ports import AuditQuery, Clock, UnitOfWork
from shequ.domain.errors import Unauthenticated
from shequ.domain.identity import Account
from shequ.domain.ids import AccountId

__all__ = [
    "EraseMyAccountHandler",
    "ExportMyDataHandler",
    "GiveConsentHandler",
    "own_account_id",
]


def own_account_id(actor: Actor) -> AccountId:
    if actor.account_id is None:
        raise Unauthenticated("these rights are exercised by the account itself: sign in")
    return actor.account_id


class GiveConsentHandler:
    """Record that the signed-in account agreed to a version of the privacy policy."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    def __call__(self, policy_version: str, *, actor: Actor) -> Account:
        with self._uow as uow:
            account = uow.accounts.get(own_account_id(actor))
            account.consent(policy_version, now=self._clock.now())
            audit(
                uow,
                actor,
                "consent.given",
                f"account:{account.id}",
                self._clock.now(),
                policy_version=policy_version,
            )
            uow.commit()
        return account


class ExportMyDataHandler:
    """Everything shequ holds about the signed-in account, as JSON-ready data."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    def __call__(self, *, actor: Actor) -> dict[str, Any]:
        with self._uow as uow:
            account = uow.accounts.get(own_account_id(actor))
            subject = f"account:{account.id}"
            history = uow.audit.search(AuditQuery(subject=subject, limit=10_000))
            now = self._clock.now()
            sessions = [s for s in uow.sessions.of_account(account.id) if s.active(now)]
            places = uow.addresses.of_account(account.id)
            audit(uow, actor, "account.exported", subject, self._clock.now())
            uow.commit()
        return {
            "account": {
                "id": account.id,
                "phone": account.phone,
                "name": account.name,
                "status": account.status.value,
                "created_at": account.created_at.isoformat(),
                "roles": [
                    {"role": m.role.value, "community_id": m.community_id, "scope_id": m.scope_id}
                    for m in account.memberships
                ],
                "has_password": account.password_hash is not None,
            },
            "addresses": [
                {
                    "id": a.id,
                    "label": a.label,
                    "recipient": a.recipient,
                    "phone": a.phone,
                    "detail": a.detail,
                    "community_id": a.community_id,
                }
                for a in places
            ],
            "consents": [
                {"policy_version": c.policy_version, "given_at": c.given_at.isoformat()}
                for c in account.consents
            ],
            "active_sessions": [
                {
                    "id": s.id,
                    "created_at": s.created_at.isoformat(),
                    "expires_at": s.expires_at.isoformat(),
                }
                for s in sessions
            ],
            "activity": [
                {
                    "at": r.at.isoformat(),
                    "action": r.action,
                    "client": r.client,
                    "by_self": r.actor_id == account.id,
                }
                for r in history
            ],
        }


class EraseMyAccountHandler:
    """Erase the signed-in account: personal data and roles go, every session ends.

    Records the law requires (orders, payments) keep their amounts and dates with the
    personal fields removed; the audit log keeps the account id, never personal data.
    """

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    def __call__(self, *, actor: Actor) -> None:
        now = self._clock.now()
        with self._uow as uow:
            account = uow.accounts.get(own_account_id(actor))
            for session in uow.sessions.of_account(account.id):
                session.revoke(now)
            for address in uow.addresses.of_account(account.id):
                address.remove()
            account.erase(now=now)
            audit(uow, actor, "account.erased", f"account:{account.id}", now)
            uow.commit()
