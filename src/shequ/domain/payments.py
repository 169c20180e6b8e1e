"""Payments (支付): how a resident pays, and what the provider says happened.

The :class:`Payment` record is the shop's account of one attempt to take an order's
money through one provider: the amounts it authorised, charged, refunded and has
pending, and an append-only log of what the provider reported, keyed by the
provider's own reference so that a repeated report is applied once.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from shequ.domain.errors import InvalidInput, PaymentMismatch
from shequ.domain.events import DomainEvent
from shequ.domain.ids import OrderId, PaymentId, RefundId
from shequ.domain.money import Money

__all__ = [
    "PROVIDER_OF_CHANNEL",
    "Channel",
    "EntryKind",
    "Payment",
    "PaymentCharged",
    "PaymentEntry",
    "PaymentFlagged",
    "PaymentRefund",
    "PaymentRefundRequested",
    "PaymentRefundSettled",
    "PaymentRefundStatus",
    "PaymentStarted",
    "PaymentState",
    "PaymentStatus",
    "RefundState",
]


class Channel(enum.StrEnum):
    """Where and how the resident pays."""

    WECHAT_NATIVE = "wechat_native"  # a QR code scanned with WeChat (Native 支付)
    WECHAT_JSAPI = "wechat_jsapi"  # inside WeChat or a mini-program (JSAPI/小程序 支付)
    WECHAT_H5 = "wechat_h5"  # a mobile browser outside WeChat (H5 支付)
    ALIPAY_PAGE = "alipay_page"  # a desktop browser (电脑网站支付)
    ALIPAY_WAP = "alipay_wap"  # a mobile browser (手机网站支付)
    ALIPAY_APP = "alipay_app"  # an app (APP 支付)
    CARD = "card"  # a bank card: UnionPay, Visa, Mastercard
    SANDBOX = "sandbox"  # the in-process provider for tests and demos


PROVIDER_OF_CHANNEL: dict[Channel, str] = {
    Channel.WECHAT_NATIVE: "wechat",
    Channel.WECHAT_JSAPI: "wechat",
    Channel.WECHAT_H5: "wechat",
    Channel.ALIPAY_PAGE: "alipay",
    Channel.ALIPAY_WAP: "alipay",
    Channel.ALIPAY_APP: "alipay",
    Channel.CARD: "stripe",
    Channel.SANDBOX: "sandbox",
}


class PaymentState(enum.StrEnum):
    """A payment as the provider sees it."""

    PENDING = "pending"  # created, the payer has not paid (yet)
    AUTHORISED = "authorised"  # a card hold, not yet captured
    SUCCEEDED = "succeeded"  # the money was taken
    FAILED = "failed"  # the payer tried and the payment failed
    CLOSED = "closed"  # closed or expired unpaid; it can no longer be paid


class RefundState(enum.StrEnum):
    """A refund as the provider sees it."""

    PENDING = "pending"  # accepted, not yet back with the payer
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PaymentStatus(enum.StrEnum):
    """A payment as the shop records it."""

    CREATED = "created"  # the provider is ready to take it
    AUTHORISED = "authorised"
    PAID = "paid"
    PARTLY_REFUNDED = "partly_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"
    CLOSED = "closed"


class EntryKind(enum.StrEnum):
    CREATED = "created"
    AUTHORISED = "authorised"
    CHARGED = "charged"
    FAILED = "failed"
    CLOSED = "closed"
    REFUND_REQUESTED = "refund_requested"
    REFUND_SENT = "refund_sent"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    FLAGGED = "flagged"
    FLAG_CLEARED = "flag_cleared"


_ENTRY_OF_STATE = {
    PaymentState.AUTHORISED: EntryKind.AUTHORISED,
    PaymentState.SUCCEEDED: EntryKind.CHARGED,
    PaymentState.FAILED: EntryKind.FAILED,
    PaymentState.CLOSED: EntryKind.CLOSED,
}


@attrs.define(slots=False, eq=False)
class PaymentEntry:
    """One line of a payment's log. Written once, never changed. ``key`` is the
    provider's reference for what it reported (our number for what we asked), so the
    same report twice finds its line and is not applied again."""

    kind: EntryKind
    key: str
    amount: Money
    at: dt.datetime  # when it happened, by the provider's clock where it says
    recorded_at: dt.datetime
    note: str = ""


class PaymentRefundStatus(enum.StrEnum):
    TO_SEND = "to_send"  # recorded; the provider has not accepted it yet
    SENT = "sent"  # the provider accepted it and has not confirmed it
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@attrs.define(slots=False, eq=False)
class PaymentRefund:
    """Money on its way back to the payer, tracked until the provider confirms it.
    ``id`` is the refund number the provider sees (idempotent there)."""

    id: str
    amount: Money
    reason: str
    requested_at: dt.datetime
    order_refund_id: RefundId | None = None
    status: PaymentRefundStatus = PaymentRefundStatus.TO_SEND
    provider_ref: str | None = None
    attempts: int = 0
    last_error: str = ""
    updated_at: dt.datetime | None = None

    @property
    def open(self) -> bool:
        return self.status in (PaymentRefundStatus.TO_SEND, PaymentRefundStatus.SENT)


# ---------------------------------------------------------------- events


@attrs.frozen(kw_only=True)
class PaymentStarted(DomainEvent):
    payment_id: PaymentId
    order_id: OrderId
    provider: str
    channel: Channel
    amount: Money


@attrs.frozen(kw_only=True)
class PaymentCharged(DomainEvent):
    payment_id: PaymentId
    order_id: OrderId
    amount: Money
    provider_ref: str


@attrs.frozen(kw_only=True)
class PaymentFlagged(DomainEvent):
    """An operator must look: the provider reported something the shop cannot apply."""

    payment_id: PaymentId
    order_id: OrderId
    reason: str


@attrs.frozen(kw_only=True)
class PaymentRefundRequested(DomainEvent):
    payment_id: PaymentId
    refund_id: str
    amount: Money
    reason: str


@attrs.frozen(kw_only=True)
class PaymentRefundSettled(DomainEvent):
    """The provider confirmed a refund, or gave up on it."""

    payment_id: PaymentId
    refund_id: str
    amount: Money
    succeeded: bool


# ---------------------------------------------------------------- the record


@attrs.define(slots=False, eq=False)
class Payment:
    """One attempt to take an order's money through one provider.

    ``charged - refunded - refund_pending`` is what can still be refunded. Every change
    appends a :class:`PaymentEntry`; the amounts are what the entries add up to.
    """

    id: PaymentId
    order_id: OrderId
    provider: str
    channel: Channel
    amount: Money
    created_at: dt.datetime
    status: PaymentStatus = PaymentStatus.CREATED
    provider_ref: str | None = None
    authorised: Money = Money(0)
    charged: Money = Money(0)
    refunded: Money = Money(0)
    refund_pending: Money = Money(0)
    paid_at: dt.datetime | None = None
    flag: str = ""
    entries: list[PaymentEntry] = attrs.field(factory=list)
    refunds: list[PaymentRefund] = attrs.field(factory=list)
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @classmethod
    def start(
        cls,
        *,
        id: PaymentId,
        order_id: OrderId,
        provider: str,
        channel: Channel,
        amount: Money,
        now: dt.datetime,
        provider_ref: str | None = None,
    ) -> Payment:
        if amount.fen <= 0:
            raise InvalidInput("a payment takes more than ¥0.00", field="amount")
        payment = cls(
            id=id,
            order_id=order_id,
            provider=provider,
            channel=channel,
            amount=amount,
            created_at=now,
            provider_ref=provider_ref,
        )
        payment._log(EntryKind.CREATED, id, amount, now, now)
        payment.events.append(
            PaymentStarted(
                occurred_at=now,
                payment_id=id,
                order_id=order_id,
                provider=provider,
                channel=channel,
                amount=amount,
            )
        )
        return payment

    # ---------------------------------------------------------------- queries

    @property
    def refundable(self) -> Money:
        return self.charged - self.refunded - self.refund_pending

    def has_entry(self, kind: EntryKind, key: str) -> bool:
        return any(e.kind is kind and e.key == key for e in self.entries)

    def refund(self, refund_id: str) -> PaymentRefund | None:
        return next((r for r in self.refunds if r.id == refund_id), None)

    @property
    def open_refunds(self) -> list[PaymentRefund]:
        return [r for r in self.refunds if r.open]

    # ---------------------------------------------------------------- what the provider says

    def record(
        self,
        state: PaymentState,
        *,
        provider_ref: str,
        amount: Money,
        at: dt.datetime,
        now: dt.datetime,
    ) -> bool:
        """Apply what the provider reports of the payment; ``False`` when there is nothing
        new (a pending payment, or a report already applied)."""
        kind = _ENTRY_OF_STATE.get(state)
        if kind is None or self.has_entry(kind, provider_ref):
            return False
        if kind in (EntryKind.AUTHORISED, EntryKind.CHARGED) and amount != self.amount:
            raise PaymentMismatch(
                f"payment {self.id} is for {self.amount}; the provider reports {amount}",
                payment_id=self.id,
            )
        if kind is EntryKind.CHARGED and self.charged.fen:
            raise PaymentMismatch(
                f"payment {self.id} was charged already, as {self.provider_ref}",
                payment_id=self.id,
            )
        self._log(kind, provider_ref, amount, at, now)
        if kind is EntryKind.CHARGED:
            self.charged, self.authorised = amount, Money(0)
            self.provider_ref, self.paid_at = provider_ref, at
            self._settle_status()
            self.events.append(
                PaymentCharged(
                    occurred_at=now,
                    payment_id=self.id,
                    order_id=self.order_id,
                    amount=amount,
                    provider_ref=provider_ref,
                )
            )
        elif kind is EntryKind.AUTHORISED:
            self.authorised, self.provider_ref = amount, provider_ref
            if self.status is PaymentStatus.CREATED:
                self.status = PaymentStatus.AUTHORISED
        elif not self.charged.fen:  # a failure or closing after the charge changes nothing
            self.authorised = Money(0)
            self.status = PaymentStatus.FAILED if kind is EntryKind.FAILED else PaymentStatus.CLOSED
        self.version += 1
        return True

    def flag_for_operator(self, reason: str, *, key: str, now: dt.datetime) -> bool:
        """Record that an operator must look; once per ``key``."""
        if self.has_entry(EntryKind.FLAGGED, key):
            return False
        self._log(EntryKind.FLAGGED, key, Money(0), now, now, note=reason[:200])
        self.flag = reason[:200]
        self.version += 1
        self.events.append(
            PaymentFlagged(
                occurred_at=now, payment_id=self.id, order_id=self.order_id, reason=self.flag
            )
        )
        return True

    def clear_flag(self, note: str, *, now: dt.datetime) -> None:
        """An operator has looked and dealt with it; ``note`` says how."""
        note = note.strip()
        if not note:
            raise InvalidInput("say how the flag was dealt with", field="note")
        if not self.flag:
            raise InvalidInput(f"payment {self.id} is not flagged", field="payment_id")
        cleared = sum(1 for e in self.entries if e.kind is EntryKind.FLAG_CLEARED)
        self._log(EntryKind.FLAG_CLEARED, f"cleared:{cleared + 1}", Money(0), now, now, note)
        self.flag = ""
        self.version += 1

    # ---------------------------------------------------------------- refunds

    def request_refund(
        self,
        refund_id: str,
        amount: Money,
        *,
        reason: str,
        now: dt.datetime,
        order_refund_id: RefundId | None = None,
    ) -> PaymentRefund:
        """Set money aside to go back; idempotent per ``refund_id``."""
        known = self.refund(refund_id)
        if known is not None:
            return known
        if amount.fen <= 0:
            raise InvalidInput("a refund gives back more than ¥0.00", field="amount")
        if amount > self.refundable:
            raise InvalidInput(
                f"payment {self.id} has {self.refundable} left to refund, not {amount}",
                field="amount",
            )
        refund = PaymentRefund(
            id=refund_id,
            amount=amount,
            reason=reason[:200],
            requested_at=now,
            order_refund_id=order_refund_id,
            updated_at=now,
        )
        self.refunds.append(refund)
        self.refund_pending += amount
        self._log(EntryKind.REFUND_REQUESTED, refund_id, amount, now, now, note=reason)
        self.version += 1
        self.events.append(
            PaymentRefundRequested(
                occurred_at=now,
                payment_id=self.id,
                refund_id=refund_id,
                amount=amount,
                reason=reason,
            )
        )
        return refund

    def refund_sent(self, refund_id: str, provider_ref: str | None, *, now: dt.datetime) -> None:
        """The provider accepted the refund."""
        refund = self.refund_of(refund_id)
        if refund.status is not PaymentRefundStatus.TO_SEND:
            return
        refund.status, refund.provider_ref, refund.updated_at = (
            PaymentRefundStatus.SENT,
            provider_ref,
            now,
        )
        refund.attempts += 1
        refund.last_error = ""
        self._log(EntryKind.REFUND_SENT, refund_id, refund.amount, now, now)
        self.version += 1

    def refund_not_sent(self, refund_id: str, error: str, *, now: dt.datetime) -> None:
        """The provider could not be reached; the refund waits to be sent again."""
        refund = self.refund_of(refund_id)
        refund.attempts += 1
        refund.last_error, refund.updated_at = error[:200], now
        self.version += 1

    def record_refund(
        self,
        refund_id: str,
        state: RefundState,
        *,
        amount: Money,
        provider_ref: str | None,
        at: dt.datetime,
        now: dt.datetime,
        note: str = "",
    ) -> bool:
        """Apply what the provider reports of a refund; ``False`` when nothing is new. A
        refund the shop never asked for (made in the provider's console) is recorded and
        flagged."""
        if state is RefundState.PENDING:
            refund = self.refund(refund_id)
            if refund is not None and refund.status is PaymentRefundStatus.TO_SEND:
                self.refund_sent(refund_id, provider_ref, now=now)
                return True
            return False
        kind = (
            EntryKind.REFUND_SUCCEEDED
            if state is RefundState.SUCCEEDED
            else EntryKind.REFUND_FAILED
        )
        if self.has_entry(kind, refund_id):
            return False
        refund = self.refund(refund_id)
        if refund is None:
            refund = PaymentRefund(
                id=refund_id, amount=amount, reason="reported by the provider", requested_at=now
            )
            self.refunds.append(refund)
            self.refund_pending += amount
            self.flag_for_operator(
                f"the provider reports refund {refund_id}, which the shop did not ask for",
                key=f"refund:{refund_id}",
                now=now,
            )
        elif amount != refund.amount:
            self.flag_for_operator(
                f"refund {refund_id} was for {refund.amount}; the provider reports {amount}",
                key=f"refund-amount:{refund_id}",
                now=now,
            )
            return False
        # A refund the provider gave up on may still succeed later (WeChat Pay's abnormal
        # refunds are finished by hand): its money was released, so it is not pending.
        late_success = (
            refund.status is PaymentRefundStatus.FAILED and state is RefundState.SUCCEEDED
        )
        if not refund.open and not late_success:
            return False
        self._log(kind, refund_id, amount, at, now, note=note)
        if not late_success:
            self.refund_pending -= refund.amount
        refund.provider_ref = provider_ref or refund.provider_ref
        refund.updated_at = now
        if state is RefundState.SUCCEEDED:
            refund.status = PaymentRefundStatus.SUCCEEDED
            self.refunded += refund.amount
            self._settle_status()
        else:
            refund.status = PaymentRefundStatus.FAILED
            refund.last_error = note[:200]
            self.flag_for_operator(
                f"refund {refund_id} of {refund.amount} failed at the provider"
                + (f": {note}" if note else "")
                + "; the money has not gone back",
                key=f"refund-failed:{refund_id}",
                now=now,
            )
        self.version += 1
        self.events.append(
            PaymentRefundSettled(
                occurred_at=now,
                payment_id=self.id,
                refund_id=refund_id,
                amount=refund.amount,
                succeeded=state is RefundState.SUCCEEDED,
            )
        )
        return True

    # ---------------------------------------------------------------- internals

    def refund_of(self, refund_id: str) -> PaymentRefund:
        refund = self.refund(refund_id)
        if refund is None:
            raise InvalidInput(f"payment {self.id} has no refund {refund_id}", field="refund_id")
        return refund

    def _settle_status(self) -> None:
        if not self.charged.fen:
            return
        if self.refunded >= self.charged:
            self.status = PaymentStatus.REFUNDED
        elif self.refunded.fen:
            self.status = PaymentStatus.PARTLY_REFUNDED
        else:
            self.status = PaymentStatus.PAID

    def _log(
        self,
        kind: EntryKind,
        key: str,
        amount: Money,
        at: dt.datetime,
        now: dt.datetime,
        note: str = "",
    ) -> None:
        self.entries.append(PaymentEntry(kind, key[:128], amount, at, now, note[:200]))
