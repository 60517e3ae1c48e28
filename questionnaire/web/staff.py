"""Staff blueprint: the queue, one submission (notes, status, print), administration; `flask staff` CLI."""

from __future__ import annotations

import csv
import functools
import io
import re
import secrets
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta, timezone
from typing import Any, TypeVar

import click
from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, stream_with_context, url_for
from flask.cli import AppGroup
from flask_wtf import FlaskForm
from sqlalchemy.exc import InvalidRequestError
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from questionnaire.core import flow


from questionnaire.core import replay

from questionnaire.data import store
from questionnaire.web.auth import (ROLES, Reply, client_ip, hash_password, password_context, password_problem, staff_required,
                   take_pending)
from questionnaire.extensions import limiter
from questionnaire.data.models import Staff, Submission
from questionnaire.web.security import BadInput
from questionnaire.web.throttle import storage_ok as throttle_storage_ok, Unavailable, throttle
from questionnaire.core.questions import QUESTIONNAIRE
from questionnaire.core.rules import Ruleset

bp = Blueprint("staff", __name__, url_prefix="/staff")
F = TypeVar("F", bound=Callable[..., Any])
STATUSES = {"new": "New", "contacted": "Contacted", "with_clinician": "With clinician", "discussed": "Discussed",
            "closed": "Closed"}
FULL_ANSWERS = ("clinician", "admin")
CONTACT_IDS = ("contact_name", "contact_phone", "contact_email", "contact_time")
EXPORT_COLUMNS: dict[str, Callable[[Submission], Any]] = {
    "reference": lambda s: s.reference, "created_at": lambda s: s.created_at.isoformat(timespec="seconds"),
    "level": lambda s: s.level, "status": lambda s: s.status, "rules": lambda s: " ".join(f["id"] for f in s.fired),
    "ruleset_version": lambda s: s.ruleset_version, "language": lambda s: s.language,
    "stopped_early": lambda s: "yes" if s.stopped_early else "no",
    "contact_name": lambda s: s.answers.get("contact_name", ""),
    "contact_phone": lambda s: s.answers.get("contact_phone", ""),
    "contact_email": lambda s: s.answers.get("contact_email", ""),
}


def ruleset() -> Ruleset:
    rs: Ruleset = current_app.extensions["ruleset"]
    return rs


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def staff_context() -> dict[str, Any]:
    return {"statuses": STATUSES, "ruleset": ruleset(), "me": g.get("staff")}


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
    moment = datetime.combine(day, time.min, tzinfo=timezone.utc)
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
        return rank, datetime.fromtimestamp(int(parts[1]) / 1_000_000, tz=timezone.utc), sub_id
    except (ValueError, OverflowError, OSError):
        return None


def cursor_of(sub: Submission) -> str:
    stamp = int(sub.created_at.timestamp() * 1_000_000)
    return f"{sub.level_rank}_{stamp}_{sub.id}"


@bp.get("/")
@staff_required()
def queue() -> Reply:
    args = request.args
    ref = (args.get("ref") or "").strip()
    if ref:
        sub = store.submission_by_reference(normalise_reference(ref))
        if sub is not None:
            return redirect(url_for("staff.submission", reference=sub.reference))
    # New submissions (the ones waiting for a call) unless another status, or "any", is chosen: closed
    # urgent cases would otherwise sit above new work for as long as they are kept.
    chosen = args.get("status") or "new"
    status = chosen if chosen in STATUSES else None
    level = args.get("level") if args.get("level") in [*(lv.id for lv in ruleset().levels), "none"] else None
    rule = args.get("rule") if args.get("rule") in {r.id for r in ruleset().rules} else None
    filters: dict[str, Any] = {"status": status, "level_rank": ruleset().rank(level) if level else None,
                               "rule": rule, "date_from": parse_date(args.get("from")),
                               "date_to": parse_date(args.get("to"), end=True)}
    size = 25
    rows = store.queue_page(**filters, after=_cursor(args.get("after")), size=size + 1)
    more = len(rows) > size
    rows = rows[:size]
    keep: dict[str, Any] = {k: v for k, v in args.items() if k in ("level", "rule", "from", "to") and v}
    keep["status"] = status or "any"
    next_url = url_for("staff.queue", **keep, after=cursor_of(rows[-1])) if more and rows else None
    return render_template("staff/queue.html", rows=rows, counts=store.level_counts(status), next_url=next_url,
                           filters=keep, not_found=ref if ref else None, first_page=not args.get("after"))


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
            about = {"note": rule.staff_note, "evidence": rule.evidence,
                     "sources": [[s, rs.sources.get(s, "")] for s in rule.sources]}
        fired.append({"id": f["id"], "level": f["level"], **about, "terms": f.get("terms", []),
                      "triggers": [(q, v) for q, v in triggers if q is not None]})
    full = staff.role in FULL_ANSWERS
    groups = []
    if full:
        groups = flow.answers_by_page(sub.answers)
    # A submission judged by an older rule set: show what the current rules would say.
    current = replay.reassess(sub, rs) if sub.ruleset_sha256 != rs.sha256 else None
    return {"sub": sub, "fired": fired, "full": full, "groups": groups, "notes": store.submission_notes(sub),
            "current": current, "deliveries": store.deliveries_for(sub), "action_form": FlaskForm(formdata=None),
            "questions": QUESTIONNAIRE.questions, "contact": {k: sub.answers.get(k) for k in CONTACT_IDS},
            "questions_version": store.QUESTIONS_VERSION,
            "term_lists": [tl.title for tl in rs.term_lists.values() if tl.match == "words"],
            "note_form": extra.pop("note_form", None) or NoteForm(formdata=None),
            "status_form": extra.pop("status_form", None) or StatusForm(formdata=None, status=sub.status,
                                                                          version=str(sub.version)),
            **extra}


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
        extra = {"status_form": StatusForm(formdata=None, status=pending[1]["status"],
                                           version=version if whole_number(version) is not None else str(sub.version)),
                 "restored": "status"}
    ref = sub.reference
    html = _render_whole(sub, "staff/submission.html", **extra)
    store.audit("view_submission", actor=g.staff.email, reference=ref, ip=client_ip())
    return html


@bp.post("/submissions/<reference>/notes")
@staff_required()
def add_note(reference: str) -> Reply:
    sub = submission_or_404(reference)
    ref = sub.reference
    form = NoteForm()
    if not form.validate():
        return _render_whole(sub, "staff/submission.html", note_form=form), 400
    if store.add_note(sub, g.staff.email, form.body.data or "") is None:
        abort(404)   # deleted (purged) since it was read
    store.audit("note_added", actor=g.staff.email, reference=ref, ip=client_ip())
    return redirect(url_for("staff.submission", reference=ref) + "#notes", code=303)


@bp.post("/submissions/<reference>/status")
@staff_required()
def set_status(reference: str) -> Reply:
    sub = submission_or_404(reference)
    form = StatusForm()
    expected = whole_number(form.version.data)
    if not form.validate() or expected is None:
        raise BadInput("The status form was incomplete or out of date: reload the page and try again.")
    old, ref = sub.status, sub.reference
    try:
        changed = store.change_status(sub, expected, form.status.data or "", g.staff.email)
    except InvalidRequestError:   # the row could not be read back: deleted (purged) in between
        abort(404)
    if not changed:
        fresh = StatusForm(formdata=None, status=sub.status, version=str(sub.version))
        html = _render_whole(sub, "staff/submission.html", status_form=fresh, conflict=True,
                             attempted=form.status.data)
        store.audit("status_conflict", actor=g.staff.email, reference=ref, ip=client_ip())
        return html, 409
    store.audit("status_changed", actor=g.staff.email, reference=ref, ip=client_ip(),
                detail=f"{old} -> {form.status.data}")
    return redirect(url_for("staff.submission", reference=ref), code=303)


@bp.get("/submissions/<reference>/print")
@staff_required(*FULL_ANSWERS)
def print_view(reference: str) -> Reply:
    sub = submission_or_404(reference)
    ref = sub.reference
    html = _render_whole(sub, "staff/print.html")
    store.audit("print_submission", actor=g.staff.email, reference=ref, ip=client_ip())
    return html


@bp.route("/submissions/<reference>/delete", methods=["GET", "POST"])
@staff_required("admin")
def delete_submission(reference: str) -> Reply:
    """Delete one submission, its notes and its draft on the patient's request (administrators, audited)."""
    sub = submission_or_404(reference)
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate():
            abort(400)
        ref = sub.reference
        store.delete_submission(sub)
        store.audit("submission_deleted", actor=g.staff.email, reference=ref, ip=client_ip(),
                    detail="on the patient's request")
        return render_template("staff/deleted.html", reference=ref)
    return render_template("staff/delete.html", sub=sub, form=form)


# --- administration ----------------------------------------------------------------------------

class NewStaffForm(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    email = StringField("Email address", validators=[InputRequired("Enter an email address"), Length(max=254)])
    role = SelectField("Role", choices=[SelectChoice(r, r.replace("_", " ")) for r in ROLES])


@bp.route("/admin/staff", methods=["GET", "POST"])
@staff_required("admin")
def admin_staff() -> Reply:
    form = NewStaffForm()
    created = None
    error = None
    if request.method == "POST" and not form.validate():
        error = "The form expired. Try again." if form.errors.get("csrf_token") else \
            "Enter an email address and choose a role"
    elif request.method == "POST":
        email = store.normalise_email(form.email.data or "")
        if "@" not in email.strip("@") or len(email) > store.EMAIL_MAX:
            error = "Enter an email address like name@example.com"
        elif store.staff_by_email(email) is not None:
            error = "There is already an account with this email address"
        else:
            password = secrets.token_urlsafe(12)
            store.create_staff(email, form.role.data or "front_desk", hash_password(password), must_change_password=True)
            store.audit("staff_created", actor=g.staff.email, ip=client_ip(), detail=f"{email} as {form.role.data}")
            created = (email, password)
    return _staff_accounts_page(form=form, created=created, error=error), (400 if error else 200)


def _staff_accounts_page(form: Any = None, **extra: Any) -> str:
    """The staff accounts page: every account, and `extra` (a new account's or a reset's one-time
    password, an error, a refusal)."""
    accounts = store.all_staff()
    return render_template("staff/admin_staff.html", form=form or NewStaffForm(formdata=None),
                           staff=accounts, action_form=FlaskForm(),
                           throttled={s.id for s in accounts if throttle().throttled(s.email)}, **{"created": None, "error": None, **extra})


@bp.post("/admin/staff/<int(max=2147483647):staff_id>/<action>")
@staff_required("admin")
def admin_staff_action(staff_id: int, action: str) -> Reply:
    if not FlaskForm().validate():
        abort(400)
    target = store.staff_by_id(staff_id)
    if target is None or action not in ("deactivate", "activate", "sign-out-everywhere", "reset-otp",
                                        "reset-password", "unlock"):
        abort(404)
    if action == "deactivate":
        try:
            store.deactivate_staff(target)
        except store.LastAdministrator:
            return _staff_accounts_page(refused=f"{target.email} is the only active administrator, so it stays "
                                                "active: add or activate another administrator first."), 409
    elif action == "activate":
        store.update_staff(target, active=True)
    elif action == "reset-otp":
        store.reset_staff_otp(target)
    elif action == "unlock":
        # Someone's guesses are throttling the account (its owner, from a new address, would wait):
        # every count starts again now. The clearing and its audit event go together.
        try:
            store.audited("staff_unlock", lambda: throttle().clear(target.email), actor=g.staff.email,
                          ip=client_ip(), detail=target.email)
        except Unavailable:
            return render_template("errors/error.html", code=503), 503
        return redirect(url_for("staff.admin_staff"), code=303)
    elif action == "reset-password":
        password = secrets.token_urlsafe(12)
        store.set_staff_password(target, hash_password(password), one_time=True)
        store.audit("staff_reset_password", actor=g.staff.email, ip=client_ip(), detail=target.email)
        # Shown once, on this response only (never in a redirect's URL or the log).
        return _staff_accounts_page(reset=(target.email, password))
    else:
        store.revoke_all_sessions(target.id)
    store.audit(f"staff_{action.replace('-', '_')}", actor=g.staff.email, ip=client_ip(), detail=target.email)
    return redirect(url_for("staff.admin_staff"), code=303)


def _bulk_download() -> bool:
    """Whether this request downloads the database (counted): not the export form nor an audit log page."""
    return not (request.method == "GET" and request.endpoint in ("staff.export", "staff.audit_log")
                and request.args.get("format") != "csv")


def bulk_export_limit() -> Callable[[F], F]:
    """The one limit of every whole-database download (BULK_EXPORT_LIMIT), counted when one is sent.

    Unlike the patient limits it fails closed: while the rate-limit store is down, a download would
    not be counted, so none is sent (503) until the store is back; the pages around it still work."""
    shared = limiter.shared_limit(lambda: str(current_app.config["BULK_EXPORT_LIMIT"]), scope="bulk_export",
                                  deduct_when=lambda response: response.status_code == 200,
                                  exempt_when=lambda: not _bulk_download())

    def decorate(view: F) -> F:
        limited = shared(view)

        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if _bulk_download() and not throttle_storage_ok():
                return render_template("errors/error.html", code=503), 503
            return limited(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


@bp.get("/admin/audit")
@staff_required("admin")
@bulk_export_limit()
def audit_log() -> Reply:
    args = request.args
    before = whole_number(args.get("before")) if args.get("before") else None
    if args.get("before") and before is None:
        raise BadInput("That page of the audit log does not exist: go back to the newest events.")
    filters: dict[str, Any] = {"action": args.get("action") or None, "actor": args.get("actor") or None,
                               "reference": args.get("ref") or None}
    keep: dict[str, Any] = {k: v for k, v in args.items() if k in ("action", "actor", "ref") and v}
    described = " ".join(f"{k}={v}" for k, v in sorted(keep.items())) or None
    if args.get("format") == "csv":
        # Every matching event (not only one page), read in batches after the export is recorded.
        store.audit("export_audit", actor=g.staff.email, ip=client_ip(), detail=described)
        return _csv("audit.csv", ["id", "at", "actor", "action", "submission_ref", "ip", "detail"],
                    ([e.id, e.at.isoformat(timespec="seconds"), e.actor or "", e.action, e.submission_ref or "",
                      e.ip or "", e.detail or ""] for e in store.audit_events_for_export(**filters)))
    events = store.audit_events(**filters, before_id=before, size=100)
    # Who read the log, and with which filters, is in the log too.
    store.audit("view_audit", actor=g.staff.email, ip=client_ip(), detail=described)
    return render_template("staff/audit.html", events=events, filters=keep,
                           older=url_for("staff.audit_log", **keep, before=events[-1].id) if len(events) == 100 else None)


@bp.route("/admin/export", methods=["GET", "POST"])
@staff_required("admin")
@bulk_export_limit()
def export() -> Reply:
    form = FlaskForm()
    if request.method == "POST" and form.validate():
        columns = [c for c in request.form.getlist("columns") if c in EXPORT_COLUMNS]
        if not columns:
            return render_template("staff/export.html", columns=EXPORT_COLUMNS, form=form,
                                   error="Select at least one column"), 400
        date_from, date_to = parse_date(request.form.get("from")), parse_date(request.form.get("to"), end=True)
        store.audit("export_submissions", actor=g.staff.email, ip=client_ip(),
                    detail=f"columns={','.join(columns)} from={request.form.get('from') or '-'} to={request.form.get('to') or '-'}")
        rows = ([EXPORT_COLUMNS[c](s) for c in columns] for s in store.submissions_for_export(date_from, date_to))
        return _csv("submissions.csv", columns, rows)
    return render_template("staff/export.html", columns=EXPORT_COLUMNS, form=form, error=None)


def _csv(name: str, header: list[str], rows: Iterator[list[Any]]) -> Response:
    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in rows:
            # Cells that a spreadsheet would run as a formula are neutralised.
            writer.writerow(["'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r") else c
                             for c in row])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response


# --- `flask staff ...` ---------------------------------------------------------------------------

staff_cli = AppGroup("staff", help="Manage staff accounts.")


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_command(email: str, role: str, password_stdin: bool) -> None:
    """Create a staff account (the password is asked for with a hidden prompt)."""
    email = store.normalise_email(email)
    if "@" not in email or len(email) > store.EMAIL_MAX:
        raise click.UsageError("EMAIL must be an email address")
    if store.staff_by_email(email) is not None:
        raise click.ClickException(f"there is already an account for {email}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password, password_context(email))
    if problem:
        raise click.ClickException(problem)
    store.create_staff(email, role, hash_password(password))
    store.audit("staff_created", actor="cli", detail=f"{email} as {role}")
    click.echo(f"Created {email} ({role}). They set up their one-time code at first sign-in.")


def _account(email: str) -> Staff:
    staff = store.staff_by_email(email)
    if staff is None:
        raise click.ClickException(f"no account for {email}")
    return staff


@staff_cli.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """Stop an account from signing in, and sign it out everywhere now."""
    staff = _account(email)
    try:
        store.deactivate_staff(staff)
    except store.LastAdministrator:
        raise click.ClickException(f"{staff.email} is the only active administrator, so it stays active: create "
                                   "another one first (flask staff create EMAIL --role admin)") from None
    store.audit("staff_deactivate", actor="cli", detail=staff.email)
    click.echo(f"Deactivated {staff.email} and ended its sessions.")


@staff_cli.command("reset-otp")
@click.argument("email")
def reset_otp_command(email: str) -> None:
    """Make an account set up its one-time code again at the next sign-in."""
    staff = _account(email)
    store.reset_staff_otp(staff)
    store.audit("staff_reset_otp", actor="cli", detail=staff.email)
    click.echo(f"{staff.email} will set up a new one-time code at the next sign-in.")


@staff_cli.command("unlock")
@click.argument("email")
def unlock_command(email: str) -> None:
    """Clear the sign-in throttling of an account (every address's count of failed attempts)."""
    staff = _account(email)
    try:
        store.audited("staff_unlock", lambda: throttle().clear(staff.email), actor="cli", detail=staff.email)
    except Unavailable:
        raise click.ClickException("the rate-limit store (FLASK_RATELIMIT_STORAGE_URI) does not answer") from None
    click.echo(f"{staff.email} can sign in again: its sign-in throttling is cleared.")


@staff_cli.command("reset-password")
@click.argument("email")
def reset_password_command(email: str) -> None:
    """Give an account a new one-time password (printed once), to be changed at the next sign-in."""
    staff = _account(email)
    password = secrets.token_urlsafe(15)
    store.set_staff_password(staff, hash_password(password), one_time=True)
    store.audit("staff_reset_password", actor="cli", detail=staff.email)
    days = current_app.config["ONE_TIME_PASSWORD_DAYS"]
    click.echo(f"One-time password for {staff.email} (shown only now, valid for {days} days): {password}")


@staff_cli.command("bootstrap")
@click.option("--email", default="admin@clinic.invalid", show_default=True)
def bootstrap_command(email: str) -> None:
    """On a database with no staff, create one administrator and print a one-time password once."""
    if store.staff_count() > 0:
        return
    password = secrets.token_urlsafe(15)
    store.create_staff(email, "admin", hash_password(password), must_change_password=True)
    store.audit("staff_created", actor="bootstrap", detail=f"{email} as admin")
    click.echo("No staff accounts existed, so one administrator was created.")
    click.echo(f"  Sign in at /staff/ as {email} with this one-time password (shown only now): {password}")
    click.echo("  You will choose a new password and set up a one-time code at first sign-in.")
    click.echo(f"  It works for {current_app.config['ONE_TIME_PASSWORD_DAYS']} days; after that, "
               f"`flask staff reset-password {email}` gives a new one.")
