"""Check-in on the day: the front desk starts it from a submission (desk_bp, /staff/...), the device
goes into patient mode (bp, /check-in/...): the A11 questions in the submission's language, nothing
else of the record, and on Send the check-in outcome.

Patient mode carries none of the staff session's privileges. Starting a check-in ends the staff
session on the server (revoked in the same transaction that creates the check-in, audited) and
deletes the staff cookie; the patient-mode session holds only a one-time check-in token, bound to
the submission and the staff member who started it (its hash stored, cleared when the answers are
sent, expiring after CHECKIN_MINUTES). No /staff page accepts it, so a patient holding the device
reaches the sign-in page at most; to come back, staff sign in again (password and code), and are
taken to the submission.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm

from questionnaire.core import checkin as core_checkin
from questionnaire.core import flow
from questionnaire.core.rules import Ruleset
from questionnaire.data import store
from questionnaire.data.models import CheckIn, Submission
from questionnaire.operations import checkins
from questionnaire.web import staff_session
from questionnaire.web.forms import page_form
from questionnaire.web.i18n import request_translations
from questionnaire.web.patient import page_url
from questionnaire.web.patient_session import draft_ttl, fresh_session
from questionnaire.web.staff import normalise_reference, submission_or_404

bp = Blueprint("checkin", __name__, url_prefix="/check-in")
desk_bp = Blueprint("checkin_desk", __name__, url_prefix="/staff")
TOKEN_KEY = "checkin"  # the patient-mode session: the one-time token, nothing else
DONE_KEY = "checkin_done"  # after Send: which check-in's outcome this device may show
DEFAULT_MINUTES = 30


def ruleset() -> Ruleset:
    rs: Ruleset = current_app.extensions["ruleset"]
    return rs


def checkin_ttl() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("CHECKIN_MINUTES", DEFAULT_MINUTES)))


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the front desk -------------------------------------------------------------------------------


@desk_bp.post("/submissions/<reference>/check-in")
@staff_session.staff_required()
def start(reference: str) -> Any:
    """Start check-in: the staff session ends, the device goes into patient mode for this submission."""
    if not FlaskForm().validate():
        abort(400)
    sub = submission_or_404(reference)
    token = checkins.start(sub, g.staff, g.staff_session, checkin_ttl(), ip=staff_session.client_ip())
    session.clear()  # nothing of an earlier patient's form stays in patient mode
    session[TOKEN_KEY] = token
    session["lang"] = sub.language  # the patient's language, as they chose it for the form
    response = redirect(url_for("checkin.questions"), code=303)
    response.delete_cookie(staff_session.COOKIE, path="/staff")
    return response


# --- patient mode ---------------------------------------------------------------------------------


def open_checkin() -> tuple[CheckIn, Submission] | None:
    row = store.find_open_checkin(session.get(TOKEN_KEY))
    sub = store.submission_by_id(row.submission_id) if row is not None else None
    return (row, sub) if row is not None and sub is not None else None


def ended() -> Any:
    """A patient-mode page without a valid token: nothing to show but the way back to the staff."""
    return render_template("checkin/ended.html"), 410


@bp.route("/", methods=["GET", "POST"])
def questions() -> Any:
    found = open_checkin()
    if found is None:
        return ended()
    row, sub = found
    shown = core_checkin.shown_questions(sub.answers or {})
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = page_form(shown, request.form)
        if form.validate():
            if not checkins.complete(row, sub, form.answers(), ruleset()):
                return ended()
            session.pop(TOKEN_KEY, None)
            session[DONE_KEY] = row.id
            return redirect(url_for("checkin.done"), code=303)
        values, errors = form.filled_in()
        if form.csrf_token.errors:
            errors = errors or {shown[0].id: gettext("Your session expired. Please answer again.")}
    page = core_checkin.CHECKIN_PAGE
    return render_template(
        "checkin/questions.html", page=page, questions=shown, values=values, errors=errors, has_errors=bool(errors)
    ), (400 if errors else 200)


def done_checkin() -> tuple[CheckIn, Submission] | None:
    row = store.checkin_by_id(session.get(DONE_KEY))
    if row is None or row.completed_at is None:
        return None
    sub = store.submission_by_id(row.submission_id)
    return (row, sub) if sub is not None else None


@bp.get("/done")
def done() -> Any:
    found = done_checkin()
    if found is None:
        return ended()
    row, sub = found
    rs = ruleset()
    translate = request_translations().ugettext
    texts = [rs.messages[m] for f in row.fired or [] for m in f.get("message_ids", []) if m in rs.messages]
    paragraphs = core_checkin.outcome_paragraphs(row.level or "none", texts, translate)
    rescreen = checkins.wants_rescreen(row) and row.rescreen_started_at is None
    return render_template(
        "checkin/done.html",
        paragraphs=paragraphs,
        rescreen=rescreen,
        sign_in=url_for("auth.sign_in", next=url_for("staff.submission", reference=sub.reference)),
        form=FlaskForm(formdata=None),
    )


@bp.post("/rescreen")
def rescreen() -> Any:
    """ "Health changed": a new, empty form for the same patient, linked to the earlier submission."""
    found = done_checkin()
    if found is None or not FlaskForm().validate():
        return ended()
    row, sub = found
    made = checkins.rescreen(row, sub, draft_ttl())
    if made is None:
        return redirect(url_for("checkin.done"), code=303)
    _draft, token = made
    session.clear()
    session["lang"] = sub.language
    fresh_session(token)  # the patient form's own session: the new draft, nothing else
    return redirect(page_url(flow.first_incomplete_page({}, [])), code=303)


@bp.get("/hand-back")
def hand_back() -> Any:
    """Hand the device back: patient mode ends, the staff sign in again and go to the submission."""
    found = done_checkin()
    target = url_for("auth.sign_in")
    if found is not None:
        target = url_for("auth.sign_in", next=url_for("staff.submission", reference=found[1].reference))
    session.clear()
    return redirect(target, code=303)


# --- the staff page's panel (templates/staff/_checkin.html) -----------------------------------------


def checkin_panel(sub: Submission) -> dict[str, Any]:
    """What the submission page shows of check-ins: the latest result (answers, fired rules with their
    notes), and the rescreen links each way."""
    rows = store.checkins_for(sub)
    latest = rows[0] if rows else None
    questions = core_checkin.RULES_QUESTIONNAIRE.questions
    answers = [
        (questions[qid], value) for qid, value in ((latest.answers or {}).items() if latest else []) if qid in questions
    ]
    return {
        "latest": latest,
        "count": len(rows),
        "answers": answers,
        "fired": (latest.fired or []) if latest else [],
        "rescreens": store.rescreens_of(sub),
        "rescreen_of": store.submission_by_id(sub.rescreen_of_id),
        "waiting": store.rescreen_drafts_waiting(sub),
        "form": FlaskForm(formdata=None),
        "reference": normalise_reference(sub.reference),
    }


desk_bp.add_app_template_global(checkin_panel, "checkin_panel")
