"""The webhook's signature: HMAC-SHA256 with the shared secret over TIMESTAMP + "." + BODY, and the
receiver's check of it (docs/notifications.md)."""

from __future__ import annotations

import hashlib
import hmac
import time


def signature(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """`sha256=HEX`: HMAC-SHA256 over TIMESTAMP + "." + BODY."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str | bytes,
    body: bytes,
    timestamp: str | None,
    signature_header: str | None,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """The receiver's check: a signature made with this secret over this body, and a recent timestamp."""
    if not timestamp or not signature_header or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header.strip())
