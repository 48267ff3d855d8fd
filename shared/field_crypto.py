"""Fields encrypted at rest, and keyed hashes to find them by.

A stored field is a Fernet token (cryptography's Fernet: AES-128-CBC with an HMAC-SHA256, and
the time it was made) under the first of the configured data keys (PRB_DATA_KEYS, comma
separated); any key in the list decrypts (MultiFernet). So keys rotate: put a new key first,
run `prb keys rotate-data` (every stored token again under the new key), then drop the old one.

A value one must find or keep unique (the BSN) gets a keyed hash beside its token: HMAC-SHA256
with a key of its own (PRB_BSN_HASH_KEY). Equal values give equal hashes, so a lookup or a
unique constraint works on the hash; without the key nobody can compute one (a plain hash of a
nine-digit number is undone by trying them all).

In dev and test both keys are derived from fixed strings when not set, so `make run` needs no
set-up; acceptance and production refuse to start without them (shared/config.py). The process
has one key ring: `configure(settings)` when a runtime is built, else the environment's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from shared.config import Settings

# Development only: refused in acceptance and production (shared/config.py).
DEV_DATA_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"eigen-regie dev-only data key").digest()).decode()
DEV_BSN_HASH_KEY = "eigen-regie-dev-only-bsn-hash-key-0123456789"
MIN_HASH_KEY_LENGTH = 32


class UnreadableField(RuntimeError):
    """A stored token that none of the configured data keys opens (or that is no token)."""


def new_data_key() -> str:
    """A fresh key for PRB_DATA_KEYS (`prb keys new-data-key` prints one)."""
    return Fernet.generate_key().decode()


def parse_data_keys(text: str) -> list[str]:
    """PRB_DATA_KEYS as a list, first the key that encrypts; a bad key is named by its place, never shown."""
    keys = [part.strip() for part in text.split(",") if part.strip()]
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ValueError(
                f"PRB_DATA_KEYS: key {number} of {len(keys)} is not a Fernet key (32 bytes in url-safe "
                "base64, 44 characters); make one with `prb keys new-data-key`"
            ) from None
    return keys


class FieldCrypto:
    """One key ring: the data keys (the first encrypts) and the key of the keyed hash."""

    def __init__(self, data_keys: Sequence[str], hash_key: str) -> None:
        if not data_keys:
            raise ValueError("at least one data key is needed")
        if len(hash_key) < MIN_HASH_KEY_LENGTH:
            raise ValueError(f"the hash key needs at least {MIN_HASH_KEY_LENGTH} characters")
        self._primary = Fernet(data_keys[0])
        self._all = MultiFernet([Fernet(key) for key in data_keys])
        self._hash_key = hash_key.encode()
        self.key_count = len(data_keys)

    def encrypt(self, value: str) -> str:
        return self._primary.encrypt(value.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._all.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise UnreadableField(
                "a field encrypted at rest does not open with any key in PRB_DATA_KEYS: the key that "
                "encrypted it is not listed (keep the old key after the new one until `prb keys rotate-data` has run)"
            ) from None

    def is_current(self, token: str) -> bool:
        """Whether the first key (the one that encrypts) made this token."""
        try:
            self._primary.decrypt(token.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """The same value as a token under the first key (MultiFernet.rotate)."""
        try:
            return self._all.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise UnreadableField(
                "a field encrypted at rest does not open with any key in PRB_DATA_KEYS, so it cannot be rotated"
            ) from None

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 of the value, 64 hex digits: for lookups and unique constraints."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()


def from_settings(settings: Settings) -> FieldCrypto:
    return FieldCrypto(
        parse_data_keys(settings.data_keys) or [DEV_DATA_KEY],
        settings.bsn_hash_key or DEV_BSN_HASH_KEY,
    )


_current: FieldCrypto | None = None


def configure(settings: Settings) -> FieldCrypto:
    """Use these settings' keys from now on (called when a runtime is built)."""
    global _current
    _current = from_settings(settings)
    return _current


def current() -> FieldCrypto:
    """The process's key ring: the last configured, else the environment's (shared.config)."""
    if _current is None:
        from shared.config import get_settings

        return configure(get_settings())
    return _current


def keyed_hash(value: str) -> str:
    return current().keyed_hash(value)


class EncryptedText(TypeDecorator[str]):
    """A text column stored as a Fernet token under the current key ring; None stays NULL.

    The model's attribute holds the plain value; only the database sees the token. Filter on a
    keyed hash column instead: the same value encrypts to a different token every time."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return current().encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return current().decrypt(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document (a dict or list) stored as one Fernet token of its JSON text; None stays NULL.
    Like a plain JSON column, a change is written when the attribute is assigned a new value."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return current().encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return json.loads(current().decrypt(value))
