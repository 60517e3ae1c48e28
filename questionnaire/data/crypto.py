"""Field-level encryption of answers, contact details and notes: AES-256-GCM with key ids.

A stored value reads `v1:KEY_ID:BASE64(nonce | ciphertext+tag)`. New values use the current key;
any key in the ring can decrypt, so keys rotate without downtime (`flask keys rotate` re-encrypts
old rows in batches). The database file or a dump alone never reveals an answer.

Values that must be found or counted without being readable (the rules a submission fired, a
patient's address) are *keyed*: HMAC-SHA256 under a key derived with HKDF-SHA256 from an
encryption key of the ring, one derived key per purpose, stored with the key id
(`KEY_ID:HEX`). A look-up computes the keyed value under every key in the ring, so rows keyed
under an older key are still found while `flask keys rotate` re-keys them; once rotation is done
and the old key is removed, every row is under the current key. Without the keys, a dump shows
neither which rule fired nor which address sent a form (an unkeyed hash of an IPv4 address or of
a dozen rule ids would be reversed by trying them all).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1"
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# HKDF "info" labels: each purpose gets its own key, none of them the AES key itself.
PURPOSES = {
    "rule": b"questionnaire keyed index v1: fired rule id",
    "ip": b"questionnaire keyed index v1: patient ip address",
    "search": b"questionnaire keyed index v1: contact search term",
}
# A patient's address is kept as a 96-bit keyed hash: enough to tell addresses apart, and it fits
# the audit log's 64-character column with any key id.
IP_HEX_DIGITS = 24


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key)


class KeyError_(ValueError):
    """A key configuration or a stored value that cannot be used."""


class Keyring:
    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise KeyError_(f"ENCRYPTION_KEY_ID {current!r} is not one of the configured keys")
        for kid, key in keys.items():
            if not KEY_ID.match(kid):
                raise KeyError_(f"key id {kid!r} must be 1-32 letters, digits, - or _")
            if len(key) != 32:
                raise KeyError_(f"key {kid!r} must be 32 bytes (base64 of 32 random bytes)")
        self._aead = {kid: AESGCM(key) for kid, key in keys.items()}
        self._index = {
            purpose: {kid: _derive(key, label) for kid, key in keys.items()} for purpose, label in PURPOSES.items()
        }
        self.current = current

    def keyed(self, purpose: str, value: str, kid: str | None = None) -> str:
        """`KEY_ID:HMAC-SHA256(derived key, value)` under the current key (or the key `kid`)."""
        kid = kid or self.current
        keys = self._index[purpose]
        if kid not in keys:
            raise KeyError_(f"no key {kid!r} for a keyed value: add it to ENCRYPTION_KEYS")
        return f"{kid}:{hmac.new(keys[kid], value.encode(), hashlib.sha256).hexdigest()}"

    def keyed_any(self, purpose: str, value: str) -> list[str]:
        """The keyed value under every key of the ring, current first: what a look-up matches."""
        return [self.keyed(purpose, value, kid) for kid in [self.current, *sorted(set(self._aead) - {self.current})]]

    def keyed_ip(self, ip: str) -> str:
        """A patient's address as stored: `h:KEY_ID:` and 96 bits of its keyed hash (never the address)."""
        return "h:" + self.keyed("ip", ip)[: len(self.current) + 1 + IP_HEX_DIGITS]

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead[self.current].encrypt(nonce, plaintext.encode(), f"{PREFIX}:{self.current}".encode())
        return f"{PREFIX}:{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str) -> str:
        try:
            prefix, kid, body = stored.split(":", 2)
            raw = base64.b64decode(body, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise KeyError_("a stored value is not in the encrypted format") from exc
        if prefix != PREFIX or kid not in self._aead:
            raise KeyError_(f"no key {kid!r} to decrypt a stored value: add it to ENCRYPTION_KEYS")
        try:
            return self._aead[kid].decrypt(raw[:12], raw[12:], f"{prefix}:{kid}".encode()).decode()
        except InvalidTag as exc:
            raise KeyError_(f"a stored value does not decrypt with key {kid!r}") from exc

    def key_id_of(self, stored: str) -> str:
        return stored.split(":", 2)[1]


_KEYRING: Keyring | None = None


def configure(keyring: Keyring) -> None:
    global _KEYRING
    _KEYRING = keyring


def keyring() -> Keyring:
    """The keyring of the current app (each app has its own keys), else the last one configured."""
    from flask import current_app, has_app_context

    if has_app_context():
        ring = current_app.extensions.get("keyring")
        if isinstance(ring, Keyring):
            return ring
    if _KEYRING is None:
        raise KeyError_("encryption is not configured (create_app() sets it up)")
    return _KEYRING


def parse_keys(raw: Any) -> dict[str, bytes]:
    """ENCRYPTION_KEYS as a mapping of key id to base64 key (a JSON string is accepted too)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise KeyError_("ENCRYPTION_KEYS must be a JSON object of key id to base64 key") from exc
    if not isinstance(raw, Mapping) or not raw:
        raise KeyError_("ENCRYPTION_KEYS must be a JSON object of key id to base64 key")
    keys: dict[str, bytes] = {}
    for kid, value in raw.items():
        try:
            keys[str(kid)] = base64.b64decode(str(value), validate=True)
        except binascii.Error as exc:
            raise KeyError_(f"key {kid!r} is not valid base64") from exc
    return keys


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def local_keys(instance: Path) -> tuple[dict[str, str], str]:
    """On a single machine without configured keys, keep one generated key in the instance folder."""
    path = instance / "encryption_keys.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"keys": {"local1": new_key()}, "current": "local1"}, fh)
    data = json.loads(path.read_text())
    return data["keys"], data["current"]
