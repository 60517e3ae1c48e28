"""The front desk's pages of the staff blueprint (endpoints stay `staff.*`): a contact attempt and
"assign to me" on a submission, the printable call sheet, and the count of new submissions that the
queue page polls for."""

from __future__ import annotations

from flask import Response, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from questionnaire.core import desk
from questionnaire.data import store
from questionnaire.data.models import utcnow
from questionnaire.operations import calls, submissions
from questionnaire.web.desk import clinic_zone, long_date, queue_row, ruleset
from questionnaire.web.staff import bp, submission_or_404, whole_number
from questionnaire.web.staff_session import Reply, client_ip, staff_required


@bp.post("/submissions/<reference>/calls")
@staff_required()
def record_call(reference: str) -> Reply:
    """One click: the outcome of a contact attempt (the button pressed), in the call log."""
    sub = submission_or_404(reference)
    ref = sub.reference
    outcome = request.form.get("outcome", "")
    if not FlaskForm().validate() or outcome not in desk.CALL_OUTCOMES:
        abort(400)
    if calls.record_call(sub, outcome, actor=g.staff.email, ip=client_ip()) is None:
        abort(404)  # deleted (purged) since it was read
    return redirect(url_for("staff.submission", reference=ref) + "#call-log", code=303)


@bp.post("/submissions/<reference>/assign")
@staff_required()
def assign_to_me(reference: str) -> Reply:
    sub = submission_or_404(reference)
    ref = sub.reference
    if not FlaskForm().validate():
        abort(400)
    if not calls.assign_to_me(sub, actor=g.staff.email, ip=client_ip()):
        abort(404)
    return redirect(url_for("staff.submission", reference=ref), code=303)


@bp.get("/call-sheet")
@staff_required()
def call_sheet() -> Reply:
    """Today's calls, to print: every new submission a call is due for (urgent, then discuss before
    booking; oldest first), with name, phone, reason and what to say."""
    rs = ruleset()
    ranks = [rs.rank(lv.id) for lv in rs.levels if lv.holds_booking]
    rows = []
    for sub in store.waiting_for_a_call(ranks):
        rows.append({**queue_row(sub), "flags": [desk.flag_words(f, rs) for f in sub.fired]})
    today = long_date(desk.local_day(utcnow(), clinic_zone()))
    html = render_template("staff/call_sheet.html", rows=rows, today=today, zone=current_app.config["CLINIC_TIMEZONE"])
    submissions.record_access("view_call_sheet", actor=g.staff.email, ip=client_ip(), detail=f"{len(rows)} rows")
    return html


@bp.get("/queue/new-count")
@staff_required(touch=False)
def new_count() -> Reply:
    """How many submissions arrived after the newest one a queue page showed (`after`): JSON, no
    patient data, and not counted as activity (the page polls it)."""
    after = whole_number(request.args.get("after", "0"))
    if after is None:
        abort(400)
    response: Response = jsonify({"count": store.submissions_after(after)})
    return response
