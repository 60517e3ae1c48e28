"""Footer pages for patients: the privacy notice, the accessibility statement, the clinic's contact
details; and the favicon. Plain pages in the patient's language, with nothing of a session on them."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template
from flask_babel import lazy_gettext

bp = Blueprint("pages", __name__)

# How a patient would say each status of their sent answers (the staff side's statuses, in plain words).
STATUS_WORDS: dict[str, Any] = {
    "new": lazy_gettext("after we receive them, if nobody has contacted you yet"),
    "contacted": lazy_gettext("after we have contacted you"),
    "with_clinician": lazy_gettext("after a clinician has started looking at them"),
    "discussed": lazy_gettext("after a clinician has talked with you about them"),
    "closed": lazy_gettext("after we have closed your case"),
}


def retention_periods() -> list[tuple[Any, int]]:
    """(when, days) for each status FLASK_RETENTION_DAYS names, in the order a case moves through them."""
    configured: dict[str, Any] = current_app.config.get("RETENTION_DAYS") or {}
    return [(words, int(configured[status])) for status, words in STATUS_WORDS.items() if status in configured]


@bp.get("/privacy")
def privacy() -> str:
    return render_template("patient/privacy.html", retention=retention_periods())


@bp.get("/accessibility")
def accessibility() -> str:
    return render_template("patient/accessibility.html")


@bp.get("/contact")
def contact() -> str:
    return render_template("patient/contact.html")


@bp.get("/demo-booking")
def demo_booking() -> str:
    """Where the demonstration set-up of `make run` sends "Book an appointment" (FLASK_DEMO_BOOKING):
    a page that says so, instead of a link to nowhere. Not found otherwise; production refuses it."""
    if not current_app.config.get("DEMO_BOOKING"):
        abort(404)
    return render_template("patient/demo_booking.html")


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page says: the same small icon as the link tag
    (about a kilobyte, read once per process)."""
    response = Response(_favicon_bytes(), mimetype="image/vnd.microsoft.icon")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@functools.cache
def _favicon_bytes() -> bytes:
    return (Path(__file__).resolve().parents[1] / "static" / "favicon.ico").read_bytes()
