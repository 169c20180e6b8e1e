"""A deterministic, in-process payment provider for tests, demos and development.

It behaves as a provider does: :meth:`create` answers with a reference; the payer pays
(:meth:`pay` plays the payer's app and returns the notification the provider would send,
signed with HMAC-SHA256); :meth:`verify` refuses a notification whose signature does not
match. References are derived from the order and refund ids, so repeats are idempotent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping

from shequ.application.ports import PaymentIntent, PaymentNotice
from shequ.domain.errors import PaymentNotificationInvalid, PaymentUnavailable
from shequ.domain.ids import OrderId, RefundId
from shequ.domain.money import Money

__all__ = ["SIGNATURE_HEADER", "SandboxPaymentGateway"]

SIGNATURE_HEADER = "x-sandbox-signature"


class SandboxPaymentGateway:
    """``secret`` signs notifications; a random one per process by default. Set
    ``available = False`` to play a provider outage."""

    provider = "sandbox"

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._lock = threading.Lock()
        self.available = True
        self.refunds: dict[str, tuple[str, Money]] = {}  # refund id → (payment, amount)

    def _check_up(self) -> None:
        if not self.available:
            raise PaymentUnavailable("the sandbox payment provider is down (as asked)")

    @staticmethod
    def reference_of(order_id: OrderId) -> str:
        return f"sbx-{order_id}"

    def create(self, order_id: OrderId, amount: Money, description: str) -> PaymentIntent:
        self._check_up()
        reference = self.reference_of(order_id)
        return PaymentIntent(
            reference=reference,
            provider=self.provider,
            amount=amount,
            params={"reference": reference, "amount_fen": str(amount.fen)},
        )

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def pay(
        self, order_id: OrderId, amount: Money, at: dt.datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Pay as the resident would; returns the notification's body and headers."""
        body = json.dumps(
            {
                "reference": self.reference_of(order_id),
                "order_id": order_id,
                "amount_fen": amount.fen,
                "paid_at": (at or dt.datetime.now(dt.UTC)).isoformat(),
            },
            sort_keys=True,
        ).encode()
        return body, {SIGNATURE_HEADER: self._sign(body)}

    def verify(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotice:
        wanted = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(wanted.encode(), self._sign(body).encode()):
            raise PaymentNotificationInvalid("the payment notification's signature is wrong")
        try:
            data = json.loads(body)
            fen = data["amount_fen"]
            if type(fen) is not int:
                raise TypeError("amount_fen is not an integer")
            paid_at = dt.datetime.fromisoformat(data["paid_at"])
            return PaymentNotice(
                reference=str(data["reference"]),
                order_id=OrderId(str(data["order_id"])),
                amount=Money(fen),
                paid_at=paid_at,
            )
        except (ValueError, KeyError, TypeError) as e:
            raise PaymentNotificationInvalid("the payment notification cannot be read") from e

    def refund(self, reference: str, refund_id: RefundId, amount: Money) -> str:
        self._check_up()
        with self._lock:
            self.refunds.setdefault(refund_id, (reference, amount))
        return f"sbx-refund-{refund_id}"
