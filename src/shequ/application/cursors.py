"""Opaque page cursors: a position, sealed to the search it belongs to."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from shequ.domain.errors import InvalidCursor

__all__ = ["open_cursor", "seal_cursor"]


def _seal(fingerprint: str, body: str) -> str:
    return hashlib.sha256(f"{fingerprint}:{body}".encode("utf-8", "surrogatepass")).hexdigest()[:24]


def seal_cursor(position: list[Any], fingerprint: str) -> str:
    """A token for the page after ``position`` (JSON-ready), valid for one search only."""
    raw = json.dumps(position, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{body}.{_seal(fingerprint, body)}"


def open_cursor(token: str, fingerprint: str) -> list[Any]:
    """The position in a token; refuses one that was altered or made for another search.
    The seal is not a secret: it catches edits and cursors carried to another search."""
    refused = InvalidCursor(
        "the page cursor is not valid for this search: it was altered, or the filters "
        "changed; start again from the first page"
    )
    body, _, seal = token.partition(".")
    if not hmac.compare_digest(seal.encode("utf-8", "replace"), _seal(fingerprint, body).encode()):
        raise refused
    try:
        position = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error) as e:
        raise refused from e
    if not isinstance(position, list):
        raise refused
    return position
