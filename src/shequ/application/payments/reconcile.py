"""Daily reconciliation (对账): the provider's bill against the shop's payment records."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence

import attrs

from shequ.application.payments.providers import PaymentProviders
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import BillEntry, BillEntryKind, Clock, UnitOfWork
from shequ.domain.errors import InvalidInput
from shequ.domain.ids import PaymentId
from shequ.domain.money import Money
from shequ.domain.payments import EntryKind, Payment, PaymentRefundStatus
from shequ.domain.values import CHINA_STANDARD_TIME

__all__ = [
    "Match",
    "ReconcilePayments",
    "ReconcilePaymentsHandler",
    "Reconciliation",
    "ReconciliationLine",
]


class Match(enum.StrEnum):
    MATCHED = "matched"
    MISSING_OURS = "missing_ours"  # on the bill, not in our records
    MISSING_THEIRS = "missing_theirs"  # in our records, not on the bill
    AMOUNT_DIFFERS = "amount_differs"
    STATUS_DIFFERS = "status_differs"  # on the bill, but our record says it did not happen


@attrs.frozen
class ReconciliationLine:
    provider: str
    kind: BillEntryKind
    payment_id: str
    refund_id: str | None
    match: Match
    ours: Money | None  # None when we have no such record
    theirs: Money | None  # None when the bill has no such line
    our_status: str = ""
    provider_ref: str = ""


@attrs.frozen
class Reconciliation:
    day: dt.date
    providers: tuple[str, ...]
    lines: tuple[ReconciliationLine, ...]

    @property
    def unmatched(self) -> tuple[ReconciliationLine, ...]:
        return tuple(line for line in self.lines if line.match is not Match.MATCHED)

    def count(self, match: Match) -> int:
        return sum(1 for line in self.lines if line.match is match)


@attrs.frozen
class ReconcilePayments:
    day: dt.date
    providers: Sequence[str] = ()  # every configured provider when empty


@attrs.frozen
class _Ours:
    """What our records say moved, keyed as the bill keys it."""

    kind: BillEntryKind
    payment: Payment
    refund_id: str | None
    amount: Money
    happened: bool  # charged, or refund taken by the provider, on the day


_TAKEN = (PaymentRefundStatus.SENT, PaymentRefundStatus.SUCCEEDED)


class ReconcilePaymentsHandler:
    """Downloads each provider's bill for the day (a provider that cannot be reached
    raises :class:`PaymentUnavailable`: a reconciliation is never half done)."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, policy: Policy, providers: PaymentProviders
    ) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy
        self._providers = providers

    def __call__(self, cmd: ReconcilePayments, *, actor: Actor) -> Reconciliation:
        self._policy.require(actor, Permission.MANAGE_PAYMENTS)
        today = self._clock.now().astimezone(CHINA_STANDARD_TIME).date()
        if cmd.day > today:
            raise InvalidInput(
                f"{cmd.day.isoformat()} has not come yet in China: no provider has its bill",
                field="day",
            )
        gateways = [self._providers.get(name) for name in cmd.providers] or list(self._providers)
        bills = {g.provider: g.download_bill(cmd.day) for g in gateways}
        start = dt.datetime.combine(cmd.day, dt.time(), CHINA_STANDARD_TIME)  # bills' days
        lines: list[ReconciliationLine] = []
        with self._uow as uow:
            moved = uow.payments.moved_between(start, start + dt.timedelta(days=1))
            for provider, bill in bills.items():
                named = {e.payment_id for e in bill} - {p.id for p in moved}
                known = [p for p in moved if p.provider == provider] + [
                    p
                    for p in (uow.payments.find(PaymentId(i)) for i in sorted(named))
                    if p is not None and p.provider == provider
                ]
                lines += _match(provider, bill, _ours(known, start))
        return Reconciliation(cmd.day, tuple(g.provider for g in gateways), tuple(lines))


def _ours(payments: Iterable[Payment], start: dt.datetime) -> dict[tuple[str, str | None], _Ours]:
    end = start + dt.timedelta(days=1)
    ours: dict[tuple[str, str | None], _Ours] = {}
    for p in payments:
        charged_on_day = any(e.kind is EntryKind.CHARGED and start <= e.at < end for e in p.entries)
        ours[(p.id, None)] = _Ours(
            BillEntryKind.PAYMENT, p, None, p.amount, bool(p.charged.fen) and charged_on_day
        )
        for r in p.refunds:
            # A bill books a refund the day the provider took it, however long it then
            # takes to reach the payer: when it was sent, or confirmed in the same answer.
            taken = [
                e.at
                for e in p.entries
                if e.key == r.id and e.kind in (EntryKind.REFUND_SENT, EntryKind.REFUND_SUCCEEDED)
            ]
            ours[(p.id, r.id)] = _Ours(
                BillEntryKind.REFUND,
                p,
                r.id,
                r.amount,
                r.status in _TAKEN and bool(taken) and start <= min(taken) < end,
            )
    return ours


def _match(
    provider: str,
    bill: Sequence[BillEntry],
    ours: dict[tuple[str, str | None], _Ours],
) -> list[ReconciliationLine]:
    lines = []
    seen: set[tuple[str, str | None]] = set()
    for entry in bill:
        key = (entry.payment_id, entry.refund_id)
        seen.add(key)
        mine = ours.get(key)
        if mine is None:
            match = Match.MISSING_OURS
        elif mine.amount != entry.amount:
            match = Match.AMOUNT_DIFFERS
        elif not mine.happened:
            match = Match.STATUS_DIFFERS
        else:
            match = Match.MATCHED
        lines.append(
            ReconciliationLine(
                provider=provider,
                kind=entry.kind,
                payment_id=entry.payment_id,
                refund_id=entry.refund_id,
                match=match,
                ours=None if mine is None else mine.amount,
                theirs=entry.amount,
                our_status="" if mine is None else _status(mine),
                provider_ref=entry.provider_ref,
            )
        )
    for key, mine in ours.items():
        if key in seen or not mine.happened:
            continue
        lines.append(
            ReconciliationLine(
                provider=provider,
                kind=mine.kind,
                payment_id=mine.payment.id,
                refund_id=mine.refund_id,
                match=Match.MISSING_THEIRS,
                ours=mine.amount,
                theirs=None,
                our_status=_status(mine),
                provider_ref=_reference(mine),
            )
        )
    return lines


def _reference(mine: _Ours) -> str:
    if mine.refund_id is None:
        return mine.payment.provider_ref or ""
    return mine.payment.refund_of(mine.refund_id).provider_ref or ""


def _status(mine: _Ours) -> str:
    if mine.refund_id is None:
        return mine.payment.status.value
    return mine.payment.refund_of(mine.refund_id).status.value
