"""gunicorn settings: `gunicorn -c python:questionnaire.gunicorn_conf wsgi:app` (override with GUNICORN_*)."""

import os
import re
from typing import Any

from gunicorn.glogging import Logger

# Control characters (C0, DEL, C1), the quote that delimits fields and the backslash of the escapes.
UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')


def escape(value: str) -> str:
    """A request's text as one log field: "%0A" in a path is decoded to a line break by the time it
    is logged, and would start a forged line; every unsafe character becomes \\xNN."""
    return UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


class EscapingLogger(Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's logger with every text field of the access log escaped (path, headers, user)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {key: escape(value) if isinstance(value, str) else value for key, value in atoms.items()}


logger_class = EscapingLogger

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "sync"
# Requests are short; a stuck one is killed rather than left to hold a worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Bound request lines and headers; bodies are bounded by the app's MAX_CONTENT_LENGTH.
limit_request_line = 4094
limit_request_fields = 60
limit_request_field_size = 8190
# Recycle workers now and then so that slow leaks never build up.
max_requests = 5000
max_requests_jitter = 500
# Access log without query strings: they never carry answers, but keep logs minimal anyway. Every
# field is escaped (EscapingLogger), so a path with "%0A" cannot start a forged line.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
