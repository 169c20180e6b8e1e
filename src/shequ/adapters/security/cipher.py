"""Field encryption for personal data: AES-256-GCM with key ids, and keyed lookups (HMAC).

Each value is sealed with a fresh random nonce and with associated data naming the table,
the column and the row id, so a ciphertext copied into another row or column does not
decrypt. Keys have ids so they can be rotated: the first key of a :class:`Keyring` seals,
every key opens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shequ.domain.errors import AdapterError, PersonalDataUnreadable

__all__ = ["FieldCipher", "KeyFile", "Keyring"]

_VERSION = b"\x01"


def _key(text: str, what: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise AdapterError(f"{what} is not base64") from e
    if len(raw) != 32:
        raise AdapterError(f"{what} must be 32 bytes (base64 of 32 random bytes)")
    return raw


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@attrs.frozen
class Keyring:
    """Data keys by id, the current one first, and the key for lookups."""

    keys: Mapping[str, bytes]
    current: str
    lookup_key: bytes = attrs.field(repr=False)

    @classmethod
    def from_spec(cls, data_keys: str, lookup_key: str) -> Keyring:
        """``"k2:BASE64,k1:BASE64"`` (the first seals) and a base64 lookup key."""
        keys: dict[str, bytes] = {}
        for part in (p.strip() for p in data_keys.split(",") if p.strip()):
            key_id, sep, material = part.partition(":")
            if not sep or not key_id.isalnum() or len(key_id) > 16:
                raise AdapterError("data keys are written 'id:base64,…' with short ids")
            keys[key_id] = _key(material, f"data key {key_id}")
        if not keys:
            raise AdapterError("no data key is configured")
        return cls(keys=keys, current=next(iter(keys)), lookup_key=_key(lookup_key, "lookup key"))

    @classmethod
    def generate(cls) -> Keyring:
        return cls(keys={"k1": os.urandom(32)}, current="k1", lookup_key=os.urandom(32))

    def with_new_key(self) -> Keyring:
        """A keyring whose new, current key seals from now on; older keys still open."""
        numbers = [int(k[1:]) for k in self.keys if k[:1] == "k" and k[1:].isdigit()]
        key_id = f"k{max(numbers, default=len(self.keys)) + 1}"
        return Keyring(
            keys={key_id: os.urandom(32), **self.keys}, current=key_id, lookup_key=self.lookup_key
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "current": self.current,
                "lookup": _b64(self.lookup_key),
                "keys": {k: _b64(v) for k, v in self.keys.items()},
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        data = json.loads(text)
        keys = {k: _key(v, f"data key {k}") for k, v in data["keys"].items()}
        ordered = {data["current"]: keys[data["current"]], **keys}
        return cls(
            keys=ordered, current=data["current"], lookup_key=_key(data["lookup"], "lookup key")
        )


class KeyFile:
    """A keyring kept in a file (mode 0600), made on first use: the embedded default.

    Production sets ``SHEQU_DATA_KEYS`` and ``SHEQU_LOOKUP_KEY`` instead.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> Keyring:
        with self._lock:
            if not self.path.exists():
                self.save(Keyring.generate())
            try:
                return Keyring.from_json(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError, KeyError) as e:
                raise AdapterError(f"the key file {self.path} cannot be read: {e}") from e

    def save(self, keyring: Keyring) -> None:
        descriptor = os.open(
            self.path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
        )
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(keyring.to_json())
        os.replace(self.path.with_suffix(".tmp"), self.path)


class FieldCipher:
    """Seals and opens personal data; reads its keyring on first use, not when built."""

    def __init__(self, keyring: Callable[[], Keyring], key_file: KeyFile | None = None) -> None:
        self._source, self._key_file = keyring, key_file
        self._keyring: Keyring | None = None
        self._lock = threading.Lock()

    @property
    def keyring(self) -> Keyring:
        with self._lock:
            if self._keyring is None:
                self._keyring = self._source()
            return self._keyring

    def add_key(self) -> str:
        """Add a key to the key file and seal with it from now on; returns its id."""
        if self._key_file is None:
            raise AdapterError(
                "keys come from SHEQU_DATA_KEYS: put a new key first there "
                "(`shequ keys generate` prints one)"
            )
        ring = self.keyring.with_new_key()
        self._key_file.save(ring)
        with self._lock:
            self._keyring = ring
        return ring.current

    @staticmethod
    def context(table: str, column: str, row_id: str) -> bytes:
        return f"shequ/{table}/{column}/{row_id}".encode()

    def seal(self, plaintext: str, context: bytes) -> bytes:
        ring = self.keyring
        nonce = os.urandom(12)
        sealed: bytes = AESGCM(ring.keys[ring.current]).encrypt(nonce, plaintext.encode(), context)
        key_id = ring.current.encode()
        return _VERSION + bytes([len(key_id)]) + key_id + nonce + sealed

    def key_id(self, blob: bytes) -> str:
        return blob[2 : 2 + blob[1]].decode()

    def open(self, blob: bytes, context: bytes) -> str:
        if not blob or blob[:1] != _VERSION:
            raise PersonalDataUnreadable("personal data is stored in an unknown format")
        key_id = self.key_id(blob)
        key = self.keyring.keys.get(key_id)
        if key is None:
            raise PersonalDataUnreadable(
                f"personal data is sealed with key {key_id!r}, which is not configured"
            )
        start = 2 + blob[1]
        try:
            opened: bytes = AESGCM(key).decrypt(
                blob[start : start + 12], blob[start + 12 :], context
            )
        except InvalidTag as e:
            raise PersonalDataUnreadable(
                "personal data does not open: wrong key, or a value moved from another row"
            ) from e
        return opened.decode()

    def lookup(self, value: str) -> str:
        """A keyed hash to find a row by a value without storing the value."""
        return hmac.new(self.keyring.lookup_key, value.encode(), hashlib.sha256).hexdigest()

    digest = lookup  # the SecretDigest port: codes, refresh tokens and throttle keys
