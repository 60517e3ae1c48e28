"""Signatures this worker has already made or checked, so that the same cookie or form token sent
again and again (every page of a patient's form) is not verified or signed anew on each request.

A signed value is a pure function of its payload, its timestamp and the secret key: a string that
verified once under a key verifies again under that key, and says the same. So a cookie's or a form
token's exact text, with the key, is remembered with what it said and when it was signed; its age is
still checked on every request. Nothing is remembered that a request could change in place (only
flat sessions of strings, numbers and booleans), and the memory is bounded: when full, the oldest
entry goes.

Form tokens are Flask-WTF's (generate_csrf, validate_csrf): the first time, it signs or checks them;
after that, a token this worker signed for the session's value is handed out again, and a token it
checked is compared with the session's value as validate_csrf compares it. Only while form tokens
have no time limit (WTF_CSRF_TIME_LIMIT, None by default): with a limit, every token is signed and
checked by Flask-WTF itself, as before.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from typing import Any, Generic, TypeVar

from flask import g, session
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from questionnaire.web.context import this_app

Value = TypeVar("Value")
FLAT = (str, int, float, bool, type(None))


class Remembered(Generic[Value]):
    """A bounded map, oldest first out; safe to share between a worker's threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[Any, Value] = OrderedDict()

    def get(self, key: Any) -> Value | None:
        return self.entries.get(key)

    def put(self, key: Any, value: Value) -> None:
        self.entries[key] = value
        while len(self.entries) > self.size:
            try:
                self.entries.popitem(last=False)
            except KeyError:  # another thread emptied it first
                break

    def clear(self) -> None:
        self.entries.clear()


SIZE = 4096  # patients' cookies and tokens at a time, per worker (a few hundred bytes each)
SIGNED_TOKENS: Remembered[str] = Remembered(SIZE)  # (secret, session's value) -> token signed for it
CHECKED_TOKENS: Remembered[str] = Remembered(SIZE)  # (secret, token) -> the session value it names


def flat(data: dict[str, Any]) -> bool:
    """Whether a session holds only values nothing can change in place (may be remembered)."""
    return all(isinstance(value, FLAT) for value in data.values())


def _settings() -> tuple[Any, str, Any]:
    app = this_app()
    config = app.config
    secret = config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    key = tuple(secret) if isinstance(secret, list) else secret
    return key, config.get("WTF_CSRF_FIELD_NAME") or "csrf_token", config.get("WTF_CSRF_TIME_LIMIT", 3600)


def form_token() -> str:
    """Flask-WTF's generate_csrf() for this request, reusing the token this worker signed earlier
    for the same session value (generate_csrf takes what is in `g` for the rest of the request)."""
    secret, field, limit = _settings()
    raw = session.get(field)
    if limit is None and field not in g and isinstance(raw, str):
        token = SIGNED_TOKENS.get((secret, raw))
        if token is not None:
            setattr(g, field, token)
            return token
    token = str(generate_csrf())
    if limit is None and isinstance(raw := session.get(field), str):
        SIGNED_TOKENS.put((secret, raw), token)
    return token


def check_form_token(data: Any) -> None:
    """Flask-WTF's validate_csrf(data): ValidationError unless `data` is a token signed for this
    session's value. A token checked before by this worker is only compared with the session's value."""
    secret, field, limit = _settings()
    if limit is None and isinstance(data, str) and data:
        named = CHECKED_TOKENS.get((secret, data))
        if named is not None:
            raw = session.get(field)
            if not isinstance(raw, str):
                raise ValidationError("The CSRF session token is missing.")
            if not hmac.compare_digest(raw, named):
                raise ValidationError("The CSRF tokens do not match.")
            return
    validate_csrf(data)
    if limit is None and isinstance(data, str):
        CHECKED_TOKENS.put((secret, data), str(session[field]))
