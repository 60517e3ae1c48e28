"""The request, its session and `g` themselves, for the code that reads them many times a request.

Flask's `request`, `session`, `g` and `current_app` are proxies: every attribute read through one
looks the current context up again (about a microsecond each, and a patient request made some
seventy such reads). The hooks and views that every patient request runs take the objects once.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, current_app, g, request, session
from flask.sessions import SessionMixin


def this_request() -> Request:
    found: Request = request._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy API
    return found


def this_session() -> SessionMixin:
    found: SessionMixin = session._get_current_object()  # type: ignore[attr-defined]
    return found


def this_g() -> Any:
    """flask.g itself (an instance of app.app_ctx_globals_class)."""
    return g._get_current_object()


def this_app() -> Flask:
    found: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return found
