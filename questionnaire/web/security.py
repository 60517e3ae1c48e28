"""Security headers on every response, request ids, and structured logs that never hold personal data."""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, abort, g, request
from werkzeug.exceptions import BadRequest

from questionnaire.web.context import this_g, this_request

CSP_PARTS = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
]
CSP = "; ".join(CSP_PARTS)
# The pages a clinic may show in an <iframe> on its own site (FLASK_FRAME_ANCESTORS): the patient's.
# Every other page (staff, sign-in, FHIR, pages outside a blueprint) keeps frame-ancestors 'none'.
FRAMEABLE_BLUEPRINTS = ("patient", "pages")


def framing_csp(origins: list[str]) -> str:
    """The policy with frame-ancestors naming the clinic's origins instead of 'none'."""
    allowed = "frame-ancestors " + " ".join(origins)
    return "; ".join(allowed if part == "frame-ancestors 'none'" else part for part in CSP_PARTS)


HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Same-origin only: other sites learn nothing, and Flask-WTF's HTTPS check (WTF_CSRF_SSL_STRICT)
    # gets the same-origin Referer it requires; with no-referrer every staff form fails over HTTPS.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HEADER_ITEMS = tuple(HEADERS.items())
REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
log = logging.getLogger("questionnaire")


ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # built once: a log line is written per request


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Only fields the app chose to log: never answers, notes or secrets."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            # The exception type and where it happened; not its message, which may quote data.
            exc_type = record.exc_info[0]
            entry["exception"] = exc_type.__name__ if exc_type else "Exception"
        return ENCODE(entry)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (it may be replaced after start-up)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class BadInput(BadRequest):
    """A request this app cannot act on, with a message for the person who sent it (shown on the 400
    page): an out-of-range date or number, a stale form."""


def local_path(target: str | None, prefix: str = "/") -> str | None:
    """`target` when it is a path on this site under `prefix`, else None: never another site (no
    "//host", no backslash that a browser reads as a slash, no scheme) and no control character or
    space, which browsers drop (so "/<tab>/host" is "//host") and which could split a header."""
    if not target or not target.startswith(prefix) or target.startswith("//") or "\\" in target:
        return None
    if any(ch <= " " or ch == "\x7f" for ch in target):
        return None
    return target


def refuse_nul(req: Request, form: bool) -> None:
    """No field, parameter or path of this app may hold a NUL character: PostgreSQL refuses it in
    text (a failed query, a 503), and no person types one. Such a request is a bad request."""
    if "\x00" in req.path or any("\x00" in k or any("\x00" in v for v in vs) for k, vs in req.args.lists()):
        abort(400)
    if form and any(
        isinstance(k, str) and ("\x00" in k or any(isinstance(v, str) and "\x00" in v for v in vs))
        for k, vs in req.form.lists()
    ):
        abort(400)


def init_app(app: Flask) -> None:
    if not log.handlers:
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    # Flask-Limiter logs a store failure (Redis down) with a traceback on every request: our
    # formatter keeps it to one line with the exception type.
    limiter_log = logging.getLogger("flask-limiter")
    if not limiter_log.handlers:
        limiter_log.addHandler(log.handlers[0])
        limiter_log.propagate = False
    # Werkzeug's own request lines include query strings; ours replace them.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def guard_request() -> Response | None:
        """First of all hooks, before anything (the CSRF check, say) parses the form: the request's id
        and start time, then what no request of this app may be (one hook: it runs on every request)."""
        req, here = this_request(), this_g()
        environ = req.environ  # headers read from the WSGI environ: most requests lack these
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        here.request_id = incoming if REQUEST_ID.match(incoming) else secrets.token_hex(8)
        here.started = time.perf_counter()
        if req.method in ("GET", "HEAD", "OPTIONS"):
            refuse_nul(req, form=False)
            return None
        # A form posted from another site is refused before anything touches the session. The
        # session cookie (SameSite=Lax) is not sent with such a post, so without this the reply would
        # set a fresh cookie over the patient's own and cut them off from their draft. The refusal is
        # plain text on purpose: rendering a page would create a session and set a cookie.
        origin = environ.get("HTTP_ORIGIN")
        if environ.get("HTTP_SEC_FETCH_SITE") == "cross-site" or (
            origin is not None and (origin == "null" or urlsplit(origin).netloc != req.host)
        ):
            return Response("This form can only be sent from this site's own pages.\n", 403, mimetype="text/plain")
        # Every form of this app is a web form: a JSON body (which Flask-WTF would read as the form,
        # lists and objects included) is refused before any form sees it.
        if req.is_json:
            abort(415)
        mimetype = req.mimetype
        # MAX_FORM_PARTS for URL-encoded forms too (Werkzeug applies it to multipart bodies only).
        form_parts = app.config.get("MAX_FORM_PARTS")
        if form_parts and mimetype == "application/x-www-form-urlencoded":
            body = req.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH; the form parses it later
            if body.count(b"&") + 1 > int(form_parts):
                abort(413)
        if mimetype == "multipart/form-data" and any(not isinstance(k, str) for k in req.form.keys()):
            # A part whose header Werkzeug cannot read gets the name None, which Flask-WTF's token
            # lookup would trip over (a 500): such a body is a bad request.
            abort(400)
        refuse_nul(req, form=mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"))
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, guard_request)

    origins = list(app.config.get("FRAME_ANCESTORS") or [])
    frame_policy = framing_csp(origins) if origins else None

    @app.after_request
    def secure_response(response: Response) -> Response:
        req, here = this_request(), this_g()
        headers = response.headers
        present = {name.lower() for name, _value in headers.to_wsgi_list()}
        if frame_policy and req.blueprint in FRAMEABLE_BLUEPRINTS and "content-security-policy" not in present:
            # A patient page the clinic's site may frame: its origins in frame-ancestors, and no
            # X-Frame-Options (DENY would block the frame; it has no way to name origins).
            headers["Content-Security-Policy"] = frame_policy
            present |= {"content-security-policy", "x-frame-options"}
        for name, value in HEADER_ITEMS:
            if name.lower() not in present:
                headers.add(name, value)
        if req.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if "cache-control" not in present and (req.endpoint != "static" or response.status_code >= 400):
            response.headers["Cache-Control"] = "no-store"
        # A request stopped before our before_request (a rate limit, say) still gets an id.
        request_id = here.get("request_id") or secrets.token_hex(8)
        response.headers["X-Request-ID"] = request_id
        log.info(
            "request",
            extra={
                "fields": {
                    "request_id": request_id,
                    "method": req.method,
                    "path": req.path,
                    "endpoint": req.endpoint,
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - here.get("started", time.perf_counter())) * 1000, 1),
                }
            },
        )
        return response

    @app.teardown_request
    def log_failure(error: BaseException | None) -> None:
        # GeneratorExit: a streamed response (a CSV export) closed early by the client; not a failure.
        if error is not None and not isinstance(error, GeneratorExit):
            log.error(
                "unhandled error",
                exc_info=(type(error), error, None),
                extra={"fields": {"request_id": g.get("request_id"), "path": request.path}},
            )
