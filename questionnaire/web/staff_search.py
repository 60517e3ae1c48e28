"""The contact search of the staff blueprint (its endpoint stays `staff.search`): a patient who phones
is found by name, phone digits, email address or reference number, through the keyed blind index
(store.search_submissions), never by decrypting every submission."""

from __future__ import annotations

import re
from typing import Any

from flask import g, render_template, request

from questionnaire.core import search
from questionnaire.data import store
from questionnaire.data.models import Submission
from questionnaire.operations import submissions
from questionnaire.web.staff import bp, normalise_reference
from questionnaire.web.staff_session import Reply, client_ip, staff_required

REFERENCE = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$")


def _row(sub: Submission) -> dict[str, Any]:
    name = (sub.answers or {}).get("contact_name")
    return {"sub": sub, "name": name if isinstance(name, str) and name.strip() else None}


@bp.get("/search")
@staff_required()
def search_view() -> Reply:
    if "q" not in request.args:
        return render_template("staff/search.html", q="", rows=[], error=None, kind=None, limit=search.RESULTS)
    text = (request.args.get("q") or "").strip()[: search.MAX_QUERY_LENGTH]
    found: list[Submission] = []
    reference = normalise_reference(text) if text else ""
    by_reference = store.submission_by_reference(reference) if REFERENCE.match(reference) else None
    if by_reference is not None:
        query = search.Query("reference", ())
        found = [by_reference]
    else:
        query = search.parse_query(text)
        found = store.search_submissions(query)
    if query.message is not None:
        return render_template("staff/search.html", q=text, rows=[], error=query.message), 400
    rows = [_row(s) for s in found]
    # Who searched, for what kind of detail, and how many were found; never what was typed.
    submissions.record_access(
        "search_submissions", actor=g.staff.email, ip=client_ip(), detail=f"{query.kind}: {len(rows)} found"
    )
    return render_template("staff/search.html", q=text, rows=rows, error=None, kind=query.kind, limit=search.RESULTS)
