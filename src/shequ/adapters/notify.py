"""Notifiers. The console one is for development: it logs codes instead of sending SMS."""

from __future__ import annotations

import logging

from shequ.domain.errors import AdapterError
from shequ.domain.identity import mask_phone

__all__ = ["ConsoleNotifier", "RecordingNotifier", "UnconfiguredNotifier"]

log = logging.getLogger("shequ.notify")


class UnconfiguredNotifier:
    """The default: sends nothing and says so, so codes never leak into a log by accident.

    Bind a Notifier of your own (an SMS gateway), or set ``SHEQU_NOTIFIER=console`` while
    developing.
    """

    def send_sign_in_code(self, phone: str, code: str) -> None:
        raise AdapterError(
            "no SMS notifier is configured: bind a Notifier, or set SHEQU_NOTIFIER=console "
            "for development (it writes codes to the log)"
        )


class ConsoleNotifier:
    """Development only: writes sign-in codes to the log (level WARNING), the number
    masked. Whoever reads the log can sign in as anyone who asked for a code."""

    def send_sign_in_code(self, phone: str, code: str) -> None:
        log.warning("sign-in code for %s: %s", mask_phone(phone), code)


class RecordingNotifier:
    """Keeps what it would have sent, for tests: ``sent[phone]`` is the last code."""

    def __init__(self) -> None:
        self.sent: dict[str, str] = {}

    def send_sign_in_code(self, phone: str, code: str) -> None:
        self.sent[phone] = code
