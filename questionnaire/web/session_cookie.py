"""Flask's signed session cookie, which also remembers when the cookie it came in was signed.

The patient pages send the cookie again after a saved page so that its expiry follows the draft's
(patient.no_store); knowing when the browser's copy was signed lets them skip signing a new one when
it is only minutes old, which is most of the cost of a saved page's reply after the database write.
Its serializer is built once, not on each request, and a cookie it has verified is remembered with
what it holds (signed.Remembered), so the same cookie on the next page is not verified again; its
age is checked every time.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

from questionnaire.web.signed import SIZE, Remembered, flat


class SignedSession(SecureCookieSession):
    """A session, with the moment the cookie it was read from was signed (None: a new session)."""

    signed_at: datetime | None = None


class SessionCookie(SecureCookieSessionInterface):
    session_class = SignedSession

    def __init__(self) -> None:
        self.signing: tuple[object, URLSafeTimedSerializer | None] | None = None
        # A verified cookie's text -> (what it holds, when it was signed); for the current keys only.
        self.verified: Remembered[tuple[dict[str, Any], datetime]] = Remembered(SIZE)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer, built once per secret key (and its fallbacks) rather than twice a request."""
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self.signing is None or self.signing[0] != keys:
            self.signing = (keys, super().get_signing_serializer(app))
            self.verified.clear()
        return self.signing[1]

    def open_session(self, app: Flask, request: Request) -> SignedSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self.verified.get(value)
        if known is not None:
            data, signed_at = known
            if not 0 <= int(time.time()) - int(signed_at.timestamp()) <= max_age:
                return self.session_class()  # run out since (loads() compares the same whole seconds)
        else:
            try:
                data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            if isinstance(data, dict) and flat(data):
                self.verified.put(value, (dict(data), signed_at))
        session = self.session_class(data)
        session.signed_at = signed_at
        return session
