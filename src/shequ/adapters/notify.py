"""Notifiers. The console one is for development: it logs codes instead of sending SMS.
The webhook one hands every notice to a service of yours (an SMS gateway, an app push
service) as signed JSON."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from shequ.application.ports import PickupNotice
from shequ.domain.errors import AdapterError
from shequ.domain.identity import mask_phone

__all__ = ["ConsoleNotifier", "RecordingNotifier", "UnconfiguredNotifier", "WebhookNotifier"]

log = logging.getLogger("shequ.notify")


class UnconfiguredNotifier:
    """The default: sends nothing and says so, so codes never leak into a log by accident.

    Bind a Notifier of your own (an SMS gateway), set ``SHEQU_NOTIFIER=webhook``, or set
    ``SHEQU_NOTIFIER=console`` while developing.
    """

    def send_sign_in_code(self, phone: str, code: str) -> None:
        raise AdapterError(
            "no SMS notifier is configured: bind a Notifier, or set SHEQU_NOTIFIER=console "
            "for development (it writes codes to the log)"
        )

    def send_pickup_notice(self, phone: str, notice: PickupNotice) -> None:
        raise AdapterError(
            "no notifier is configured: bind a Notifier, or set SHEQU_NOTIFIER=webhook"
        )


class ConsoleNotifier:
    """Development only: writes codes to the log (level WARNING), the number masked.
    Whoever reads the log can sign in as anyone who asked for a code."""

    def send_sign_in_code(self, phone: str, code: str) -> None:
        log.warning("sign-in code for %s: %s", mask_phone(phone), code)

    def send_pickup_notice(self, phone: str, notice: PickupNotice) -> None:
        log.warning(
            "pickup %s for %s: order %s at %s%s",
            notice.kind,
            mask_phone(phone),
            notice.order_id,
            notice.point_name,
            f", code {notice.code}" if notice.code else f", {notice.days} days",
        )


class RecordingNotifier:
    """Keeps what it would have sent, for tests: ``sent[phone]`` is the last sign-in code,
    ``notices`` every pickup notice with its phone number."""

    def __init__(self) -> None:
        self.sent: dict[str, str] = {}
        self.notices: list[tuple[str, PickupNotice]] = []

    def send_sign_in_code(self, phone: str, code: str) -> None:
        self.sent[phone] = code

    def send_pickup_notice(self, phone: str, notice: PickupNotice) -> None:
        self.notices.append((phone, notice))


class WebhookNotifier:
    """POSTs each notice as JSON to ``url``, signed: the header ``X-Shequ-Signature`` is
    ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>``, so the receiver
    can check both who sent it and when (refuse old ones). Any answer but 2xx, or none
    within ``timeout`` seconds, raises :class:`AdapterError`."""

    def __init__(self, url: str, secret: str, *, timeout: float = 5.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise AdapterError("the notifier's webhook URL is an http(s) URL")
        if len(secret) < 16:
            raise AdapterError("the notifier's webhook secret is at least 16 characters")
        self._url, self._secret, self._timeout = url, secret.encode(), timeout

    def send_sign_in_code(self, phone: str, code: str) -> None:
        self._post({"kind": "sign_in_code", "phone": phone, "code": code})

    def send_pickup_notice(self, phone: str, notice: PickupNotice) -> None:
        self._post(
            {
                "kind": f"pickup_{notice.kind}",
                "phone": phone,
                "order_id": notice.order_id,
                "point_name": notice.point_name,
                "point_address": notice.point_address,
                "code": notice.code,
                "days": notice.days,
            }
        )

    def signature(self, body: bytes, at: int) -> str:
        mac = hmac.new(self._secret, f"{at}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={at},v1={mac}"

    def _post(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked above
            self._url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Shequ-Signature": self.signature(body, int(time.time())),
            },
        )
        try:
            # the URL's scheme is http(s), checked when the notifier was built
            opened = urllib.request.urlopen(request, timeout=self._timeout)  # noqa: S310  # nosec B310
            with opened as answer:
                status = answer.status
        except urllib.error.HTTPError as e:
            raise AdapterError(f"the notifier's webhook answered {e.code}") from e
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise AdapterError(f"the notifier's webhook cannot be reached: {e}") from e
        if not 200 <= status < 300:
            raise AdapterError(f"the notifier's webhook answered {status}")
