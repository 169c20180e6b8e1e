"""Notifiers. The console one is for development: it logs codes instead of sending SMS."""

from __future__ import annotations

import logging

from shequ.domain.identity import mask_phone

__all__ = ["ConsoleNotifier", "RecordingNotifier"]

log = logging.getLogger("shequ.notify")


class ConsoleNotifier:
    """Writes sign-in codes to the log (level WARNING), the number masked."""

    def send_sign_in_code(self, phone: str, code: str) -> None:
        log.warning("sign-in code for %s: %s", mask_phone(phone), code)


class RecordingNotifier:
    """Keeps what it would have sent, for tests: ``sent[phone]`` is the last code."""

    def __init__(self) -> None:
        self.sent: dict[str, str] = {}

    def send_sign_in_code(self, phone: str, code: str) -> None:
        self.sent[phone] = code
