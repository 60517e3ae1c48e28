"""Staff blueprint: the queue and one submission (notes, status, print, deletion on request).
The administration pages (accounts, audit log, exports) are in staff_admin.py, on this blueprint."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy.exc import InvalidRequestError
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from questionnaire.core import flow, languages, replay
from questionnaire.core.definition import CONTACT_LABELS, QUESTIONNAIRE
from questionnaire.core.desk import CALL_OUTCOMES, flag_words
from questionnaire.core.rules import Ruleset
from questionnaire.data import store
from questionnaire.data.enums import StaffRole, SubmissionStatus
from questionnaire.data.models import Staff, Submission, utcnow
from questionnaire.operations import submissions
from questionnaire.web import desk
from questionnaire.web.security import BadInput
from questionnaire.web.staff_session import Reply, client_ip, staff_required, take_pending

bp = Blueprint("staff", __name__, url_prefix="/staff")
# The statuses as the pages name them (the stored values are SubmissionStatus's).
STATUSES = {status.value: status.label for status in SubmissionStatus}
FULL_ANSWERS = (StaffRole.CLINICIAN, StaffRole.ADMIN)


def ruleset() -> Ruleset:
    rs: Ruleset = current_app.extensions["ruleset"]
    return rs


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def staff_context() -> dict[str, Any]:
    me = g.get("staff")
    return {
        "statuses": STATUSES,
        "ruleset": ruleset(),
        "me": me,
        "local": desk.local,
        "show_ids": me is not None and desk.sees_rule_ids(me.role),
        "language_name": languages.name,
        "contact_labels": CONTACT_LABELS,
    }


@bp.app_template_global()
def level_label(level: str) -> str:
    """A level's label from the rules file ("Urgent", "No flags"): a global, for the macro level_tag
    (an imported macro sees the globals, not the context)."""
    return ruleset().level_label(level)


# --- the queue ---------------------------------------------------------------------------------

# The largest value the integer columns (ids, versions, ranks) hold on PostgreSQL.
INT_MAX = 2_147_483_647
ASCII_NUMBER = re.compile(r"[0-9]{1,10}")


def whole_number(value: str | None) -> int | None:
    """`value` as a number the database can hold (0 to INT_MAX), or None: ASCII digits only, so "²"
    (which str.isdigit() accepts and int() refuses) and a 40-digit number are not numbers here."""
    if value is None or not ASCII_NUMBER.fullmatch(value):
        return None
    number = int(value)
    return number if number <= INT_MAX else None


def parse_date(value: str | None, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD filter as a moment (its start, or with `end` the next day's start); None when
    empty or not a date. A date at the end of the calendar (9999-12-31 has no next day) is refused
    with a message (400) rather than failing the page."""
    try:
        day = datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    moment = datetime.combine(day, time.min, tzinfo=UTC)
    if not end:
        return moment
    try:
        return moment + timedelta(days=1)
    except OverflowError:
        raise BadInput(f"The date {value} is out of range: choose a date before 9999-12-31.") from None


def _cursor(value: str | None) -> tuple[int, datetime, int] | None:
    """The queue's "after" cursor (rank_microseconds_id), or None when it is not one this app made."""
    parts = (value or "").split("_")
    if len(parts) != 3 or not re.fullmatch(r"[0-9]{1,17}", parts[1]):
        return None
    rank, sub_id = whole_number(parts[0]), whole_number(parts[2])
    if rank is None or sub_id is None:
        return None
    try:
        return rank, datetime.fromtimestamp(int(parts[1]) / 1_000_000, tz=UTC), sub_id
    except (ValueError, OverflowError, OSError):
        return None


def cursor_of(sub: Submission) -> str:
    stamp = int(sub.created_at.timestamp() * 1_000_000)
    return f"{sub.level_rank}_{stamp}_{sub.id}"


@bp.get("/")
@staff_required()
def queue() -> Reply:
    from questionnaire.web import date_filter  # here: it imports parse_date from this module

    args = request.args
    ref = (args.get("ref") or "").strip()
    if ref:
        sub = store.submission_by_reference(normalise_reference(ref))
        if sub is not None:
            return redirect(url_for("staff.submission", reference=sub.reference))
    # New submissions (the ones waiting for a call) unless another status, or "any", is chosen: closed
    # urgent cases would otherwise sit above new work for as long as they are kept.
    chosen = args.get("status") or SubmissionStatus.NEW
    status = chosen if chosen in STATUSES else None
    level = args.get("level") if args.get("level") in [*(lv.id for lv in ruleset().levels), "none"] else None
    rule = args.get("rule") if args.get("rule") in {r.id for r in ruleset().rules} else None
    date_from, date_to, date_error = date_filter.date_range(args.get("from"), args.get("to"))
    filters: dict[str, Any] = {
        "status": status,
        "level_rank": ruleset().rank(level) if level else None,
        "rule": rule,
        "date_from": date_from,
        "date_to": date_to,
    }
    if args.get("checked_in") == "today":  # check-in on the day (web/checkin.py): completed today, UTC
        filters["checked_in"] = checked_in_today()
    size = 25
    rows = store.queue_page(**filters, after=_cursor(args.get("after")), size=size + 1)
    more = len(rows) > size
    rows = rows[:size]
    keep: dict[str, Any] = {k: v for k, v in args.items() if k in ("level", "rule", "from", "to", "checked_in") and v}
    keep["status"] = status or "any"
    next_url = url_for("staff.queue", **keep, after=cursor_of(rows[-1])) if more and rows else None
    return render_template(
        "staff/queue.html",
        rows=[desk.queue_row(s) for s in rows],
        counts=store.level_counts(status),
        next_url=next_url,
        filters=keep,
        not_found=ref if ref else None,
        first_page=not args.get("after"),
        newest=store.newest_submission_id(),
        start=desk.start_here(),
        zone=current_app.config["CLINIC_TIMEZONE"],
        date_error=date_error,
    ), (400 if date_error else 200)


# --- one submission ----------------------------------------------------------------------------


class NoteForm(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    body = TextAreaField("Add a note", validators=[InputRequired("Write the note"), Length(max=5000)])


class StatusForm(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    status = SelectField("Status", choices=[SelectChoice(k, v) for k, v in STATUSES.items()])
    version = HiddenField()


def normalise_reference(text: str) -> str:
    """A reference as people type or read it out: any case, with or without the hyphen or spaces."""
    raw = "".join(ch for ch in text if not ch.isspace() and ch not in "-‐‑‒–—").upper()
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == 8 else text.strip().upper()


def submission_or_404(reference: str) -> Submission:
    sub = store.submission_by_reference(normalise_reference(reference))
    if sub is None:
        abort(404)
    return sub


def _detail(sub: Submission, **extra: Any) -> dict[str, Any]:
    staff: Staff = g.staff
    rs = ruleset()
    fired = []
    for f in sub.fired:
        triggers = [(QUESTIONNAIRE.questions.get(qid), value) for qid, value in f.get("triggers", {}).items()]
        about = {"note": f.get("staff_note"), "evidence": f.get("evidence"), "sources": f.get("sources")}
        rule = next((r for r in rs.rules if r.id == f["id"]), None)
        if about["note"] is None and rule is not None:
            # Stored before submissions kept their rules' notes: the current rule set's words.
            about = {
                "note": rule.staff_note,
                "evidence": rule.evidence,
                "sources": [[s, rs.sources.get(s, "")] for s in rule.sources],
            }
        if not desk.sees_rule_ids(staff.role):
            about["note"] = desk.names_in_words(about["note"], rs)
        fired.append(
            {
                "id": f["id"],
                "level": f["level"],
                **about,
                "terms": f.get("terms", []),
                "title": flag_words(f, rs).title,
                "triggers": [(q, v) for q, v in triggers if q is not None],
            }
        )
    full = staff.role in FULL_ANSWERS
    groups = []
    if full:
        groups = flow.answers_by_page(sub.answers)
    # A submission judged by an older rule set: show what the current rules would say.
    current = replay.reassess(sub, rs) if sub.ruleset_sha256 != rs.sha256 else None
    notes, calls = store.submission_notes(sub), store.calls_for(sub)
    # Notes and contact attempts in one timeline, oldest first.
    timeline = sorted(
        [("note", n.created_at, n) for n in notes] + [("call", c.at, c) for c in calls], key=lambda item: item[1]
    )
    return {
        "sub": sub,
        "fired": fired,
        "full": full,
        "groups": groups,
        "notes": notes,
        "timeline": timeline,
        "card": desk.action_card(sub),
        "outcomes": CALL_OUTCOMES,
        "current_titles": [rs.rule(r).title for r in current.rule_ids] if current is not None else [],
        "current": current,
        "deliveries": store.deliveries_for(sub),
        "action_form": FlaskForm(formdata=None),
        "questions": QUESTIONNAIRE.questions,
        "contact": {k: sub.answers.get(k) for k in CONTACT_LABELS},
        "questions_version": store.QUESTIONS_VERSION,
        "term_lists": [tl.title for tl in rs.term_lists.values() if tl.match == "words"],
        "note_form": extra.pop("note_form", None) or NoteForm(formdata=None),
        "status_form": extra.pop("status_form", None)
        or StatusForm(formdata=None, status=sub.status, version=str(sub.version)),
        **extra,
    }


def _render_whole(sub: Submission, template: str, **extra: Any) -> str:
    """The page of one submission from a consistent reading, or 404.

    The submission and its notes are read by separate queries; a purge deletes a submission and its
    notes in one transaction, so if the submission still exists after the page was built, the notes
    read were all of them. Nothing commits in between (a commit would expire what was read).
    """
    html = render_template(template, **_detail(sub, **extra))
    if not store.submission_exists(sub.id):
        abort(404)
    return html


@bp.get("/submissions/<reference>")
@staff_required()
def submission(reference: str) -> Reply:
    # A note or status change that was being sent when the session ended comes back, unsaved.
    # (Taken before the submission is read: taking it commits.)
    canonical = normalise_reference(reference)
    note_url = url_for("staff.add_note", reference=canonical)
    pending = take_pending(note_url, url_for("staff.set_status", reference=canonical))
    sub = submission_or_404(reference)
    extra: dict[str, Any] = {}
    if pending is not None and pending[0] == note_url:
        extra = {"note_form": NoteForm(formdata=None, body=pending[1].get("body")), "restored": "note"}
    elif pending is not None and pending[1].get("status") in STATUSES:
        version = pending[1].get("version") or ""
        extra = {
            "status_form": StatusForm(
                formdata=None,
                status=pending[1]["status"],
                version=version if whole_number(version) is not None else str(sub.version),
            ),
            "restored": "status",
        }
    ref = sub.reference
    html = _render_whole(sub, "staff/submission.html", **extra)
    submissions.record_access("view_submission", actor=g.staff.email, reference=ref, ip=client_ip())
    return html


@bp.post("/submissions/<reference>/notes")
@staff_required()
def add_note(reference: str) -> Reply:
    sub = submission_or_404(reference)
    ref = sub.reference
    form = NoteForm()
    if not form.validate():
        return _render_whole(sub, "staff/submission.html", note_form=form), 400
    if submissions.add_note(sub, form.body.data or "", actor=g.staff.email, ip=client_ip()) is None:
        abort(404)  # deleted (purged) since it was read
    return redirect(url_for("staff.submission", reference=ref) + "#notes", code=303)


@bp.post("/submissions/<reference>/status")
@staff_required()
def set_status(reference: str) -> Reply:
    sub = submission_or_404(reference)
    form = StatusForm()
    expected = whole_number(form.version.data)
    if not form.validate() or expected is None:
        raise BadInput("The status form was incomplete or out of date: reload the page and try again.")
    ref = sub.reference
    try:
        changed = submissions.change_status(
            sub, expected, SubmissionStatus(form.status.data), actor=g.staff.email, ip=client_ip()
        )
    except InvalidRequestError:  # the row could not be read back: deleted (purged) in between
        abort(404)
    if not changed:
        fresh = StatusForm(formdata=None, status=sub.status, version=str(sub.version))
        html = _render_whole(sub, "staff/submission.html", status_form=fresh, conflict=True, attempted=form.status.data)
        submissions.record_access("status_conflict", actor=g.staff.email, reference=ref, ip=client_ip())
        return html, 409
    return redirect(url_for("staff.submission", reference=ref), code=303)


@bp.get("/submissions/<reference>/print")
@staff_required(*FULL_ANSWERS)
def print_view(reference: str) -> Reply:
    sub = submission_or_404(reference)
    ref = sub.reference
    html = _render_whole(sub, "staff/print.html")
    submissions.record_access("print_submission", actor=g.staff.email, reference=ref, ip=client_ip())
    return html


@bp.route("/submissions/<reference>/delete", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def delete_submission(reference: str) -> Reply:
    """Delete one submission, its notes and its draft on the patient's request (administrators, audited)."""
    sub = submission_or_404(reference)
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate():
            abort(400)
        ref = submissions.delete_submission(sub, actor=g.staff.email, ip=client_ip())
        return render_template("staff/deleted.html", reference=ref)
    return render_template("staff/delete.html", sub=sub, form=form)


def checked_in_today() -> tuple[datetime, datetime]:
    """Today, as the queue's "checked in today" filter reads it: from midnight UTC to the next."""
    start = datetime.combine(utcnow().date(), time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)
