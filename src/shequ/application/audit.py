"""Recording to the audit log, and searching it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import AuditQuery, Clock, UnitOfWork
from shequ.domain.audit import AuditRecord
from shequ.domain.errors import InvalidInput

__all__ = ["SearchAuditHandler", "audit"]


def audit(
    uow: UnitOfWork, actor: Actor, action: str, subject: str, at: dt.datetime, **detail: Any
) -> None:
    """Append a record to the unit of work's audit log; it commits with the rest."""
    uow.audit.append(
        AuditRecord(
            at=at,
            actor_id=actor.account_id,
            action=action,
            subject=subject,
            client=actor.client,
            detail=detail,
        )
    )


class SearchAuditHandler:
    """Search the audit log (admins and the console only); the search is itself audited."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: AuditQuery, *, actor: Actor) -> list[AuditRecord]:
        self._policy.require(actor, Permission.READ_AUDIT)
        if not 1 <= query.limit <= 10_000:
            raise InvalidInput("limit must be 1 to 10000", field="limit")
        if query.since and query.until and query.since >= query.until:
            raise InvalidInput("since must come before until", field="since")
        with self._uow as uow:
            found = uow.audit.search(query)
            audit(
                uow,
                actor,
                "audit.searched",
                "audit",
                self._clock.now(),
                actor_filter=query.actor_id,
                subject_filter=query.subject,
                results=len(found),
            )
            uow.commit()
        return found
