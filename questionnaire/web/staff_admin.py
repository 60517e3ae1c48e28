"""The administration pages of the staff blueprint (its endpoints stay `staff.*`): staff accounts, the
audit log and the exports of submissions, under the one limit of every whole-database download."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from flask import Response, abort, current_app, g, redirect, render_template, request, stream_with_context, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from questionnaire.core.report import spreadsheet_safe
from questionnaire.data import store
from questionnaire.data.enums import StaffRole
from questionnaire.data.models import Submission
from questionnaire.extensions import limiter
from questionnaire.operations import staff_accounts, submissions
from questionnaire.web.security import BadInput
from questionnaire.web.staff import bp, parse_date, whole_number
from questionnaire.web.staff_session import Reply, client_ip, staff_required, take_pending
from questionnaire.web.throttle import Unavailable, throttle
from questionnaire.web.throttle import storage_ok as throttle_storage_ok

F = TypeVar("F", bound=Callable[..., Any])
EXPORT_COLUMNS: dict[str, Callable[[Submission], Any]] = {
    "reference": lambda s: s.reference,
    "created_at": lambda s: s.created_at.isoformat(timespec="seconds"),
    "level": lambda s: s.level,
    "status": lambda s: s.status,
    "rules": lambda s: " ".join(f["id"] for f in s.fired),
    "ruleset_version": lambda s: s.ruleset_version,
    "language": lambda s: s.language,
    "stopped_early": lambda s: "yes" if s.stopped_early else "no",
    "contact_name": lambda s: s.answers.get("contact_name", ""),
    "contact_phone": lambda s: s.answers.get("contact_phone", ""),
    "contact_email": lambda s: s.answers.get("contact_email", ""),
}
# The actions on one account (the last part of its POST address) that redirect back to the accounts
# page, each the staff_accounts operation of the same name.
ACCOUNT_ACTIONS = ("deactivate", "activate", "sign-out-everywhere", "reset-otp")


class NewStaffForm(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    email = StringField("Email address", validators=[InputRequired("Enter an email address"), Length(max=254)])
    role = SelectField("Role", choices=[SelectChoice(r.value, r.value.replace("_", " ")) for r in StaffRole])


# Actions that ask first, on a page of their own (no JavaScript needed): they lock someone out.
CONFIRM_ACTIONS = {"deactivate": "Deactivate", "reset-password": "Reset the password of"}
# The one-time password of a new or reset account is shown once, on the page the POST redirects to:
# kept until then on the administrator's own staff session (encrypted, like a pending form).
SHOWN_ONCE = "/staff/admin/staff#shown-once"


def _show_once(kind: str, email: str, password: str) -> None:
    store.touch_staff_session(
        g.staff_session, pending={"path": SHOWN_ONCE, "form": {"kind": kind, "email": email, "password": password}}
    )


@bp.route("/admin/staff", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def admin_staff() -> Reply:
    form = NewStaffForm()
    error = None
    if request.method == "POST" and not form.validate():
        error = (
            "The form expired. Try again."
            if form.errors.get("csrf_token")
            else "Enter an email address and choose a role"
        )
    elif request.method == "POST":
        try:
            staff, password = staff_accounts.create(
                form.email.data or "", StaffRole(form.role.data), actor=g.staff.email, ip=client_ip()
            )
        except staff_accounts.NotAnEmail:
            error = "Enter an email address like name@example.com"
        except staff_accounts.EmailTaken:
            error = "There is already an account with this email address"
        else:
            # Post/Redirect/Get: a reload never creates the account twice, and the form comes back empty.
            _show_once("created", staff.email, password or "")
            return redirect(url_for("staff.admin_staff"), code=303)
    if error is not None:
        return _staff_accounts_page(form=form, error=error), 400
    shown = take_pending(SHOWN_ONCE)
    extra: dict[str, Any] = {}
    if shown is not None and shown[1].get("kind") in ("created", "reset"):
        extra[shown[1]["kind"]] = (shown[1].get("email", ""), shown[1].get("password", ""))
    return _staff_accounts_page(**extra)


def _staff_accounts_page(form: Any = None, **extra: Any) -> str:
    """The staff accounts page: every account, and `extra` (a new account's or a reset's one-time
    password, an error, a refusal)."""
    accounts = store.all_staff()
    return render_template(
        "staff/admin_staff.html",
        form=form or NewStaffForm(formdata=None),
        staff=accounts,
        action_form=FlaskForm(),
        confirm_actions=CONFIRM_ACTIONS,
        throttled={s.id for s in accounts if throttle().throttled(s.email)},
        **{"created": None, "error": None, **extra},
    )


@bp.get("/admin/staff/<int(max=2147483647):staff_id>/<action>/confirm")
@staff_required(StaffRole.ADMIN)
def admin_staff_confirm(staff_id: int, action: str) -> Reply:
    """The second page of deactivate and reset-password: what it does, and the button that does it."""
    target = store.staff_by_id(staff_id)
    if target is None or action not in CONFIRM_ACTIONS:
        abort(404)
    return render_template("staff/admin_confirm.html", target=target, action=action, verb=CONFIRM_ACTIONS[action])


@bp.post("/admin/staff/<int(max=2147483647):staff_id>/<action>")
@staff_required(StaffRole.ADMIN)
def admin_staff_action(staff_id: int, action: str) -> Reply:
    if not FlaskForm().validate():
        abort(400)
    target = store.staff_by_id(staff_id)
    if target is None or action not in (*ACCOUNT_ACTIONS, "reset-password", "unlock"):
        abort(404)
    if action in CONFIRM_ACTIONS and request.form.get("confirmed") != "yes":
        # Not from the confirmation page: ask there first.
        return redirect(url_for("staff.admin_staff_confirm", staff_id=staff_id, action=action), code=303)
    who = {"actor": g.staff.email, "ip": client_ip()}
    if action == "unlock":
        # Someone's guesses are throttling the account (its owner, from a new address, would wait):
        # every count starts again now. The clearing and its audit event go together.
        try:
            staff_accounts.unlock(target, throttle().clear, **who)
        except Unavailable:
            return render_template("errors/staff_error.html", code=503), 503
    elif action == "reset-password":
        password = staff_accounts.reset_password(target, **who)
        # Shown once, on the page this redirects to (never in a redirect's URL or the log).
        if target.id == g.staff.id:
            # Their own session has just ended, so the redirect's page could not show it: shown here.
            return _staff_accounts_page(reset=(target.email, password))
        _show_once("reset", target.email, password)
    else:
        try:
            operation: Callable[..., None] = getattr(staff_accounts, action.replace("-", "_"))
            operation(target, **who)
        except staff_accounts.LastAdministrator:
            return _staff_accounts_page(
                refused=f"{target.email} is the only active administrator, so it stays "
                "active: add or activate another administrator first."
            ), 409
    return redirect(url_for("staff.admin_staff"), code=303)


def _bulk_download() -> bool:
    """Whether this request downloads the database (counted): not the export form nor an audit log page."""
    return not (
        request.method == "GET"
        and request.endpoint in ("staff.export", "staff.audit_log")
        and request.args.get("format") != "csv"
    )


def bulk_export_limit() -> Callable[[F], F]:
    """The one limit of every whole-database download (BULK_EXPORT_LIMIT), counted when one is sent.

    Unlike the patient limits it fails closed: while the rate-limit store is down, a download would
    not be counted, so none is sent (503) until the store is back; the pages around it still work."""
    shared = limiter.shared_limit(
        lambda: str(current_app.config["BULK_EXPORT_LIMIT"]),
        scope="bulk_export",
        deduct_when=lambda response: response.status_code == 200,
        exempt_when=lambda: not _bulk_download(),
    )

    def decorate(view: F) -> F:
        limited = shared(view)

        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if _bulk_download() and not throttle_storage_ok():
                return render_template("errors/staff_error.html", code=503), 503
            return limited(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


@bp.get("/admin/audit")
@staff_required(StaffRole.ADMIN)
@bulk_export_limit()
def audit_log() -> Reply:
    args = request.args
    before = whole_number(args.get("before")) if args.get("before") else None
    if args.get("before") and before is None:
        raise BadInput("That page of the audit log does not exist: go back to the newest events.")
    filters: dict[str, Any] = {
        "action": args.get("action") or None,
        "actor": args.get("actor") or None,
        "reference": args.get("ref") or None,
    }
    keep: dict[str, Any] = {k: v for k, v in args.items() if k in ("action", "actor", "ref") and v}
    described = " ".join(f"{k}={v}" for k, v in sorted(keep.items())) or None
    if args.get("format") == "csv":
        # Every matching event (not only one page), read in batches after the export is recorded.
        submissions.record_access("export_audit", actor=g.staff.email, ip=client_ip(), detail=described)
        return _csv(
            "audit.csv",
            ["id", "at", "actor", "action", "submission_ref", "ip", "detail"],
            (
                [
                    e.id,
                    e.at.isoformat(timespec="seconds"),
                    e.actor or "",
                    e.action,
                    e.submission_ref or "",
                    e.ip or "",
                    e.detail or "",
                ]
                for e in store.audit_events_for_export(**filters)
            ),
        )
    events = store.audit_events(**filters, before_id=before, size=100)
    # Who read the log, and with which filters, is in the log too.
    submissions.record_access("view_audit", actor=g.staff.email, ip=client_ip(), detail=described)
    return render_template(
        "staff/audit.html",
        events=events,
        filters=keep,
        older=url_for("staff.audit_log", **keep, before=events[-1].id) if len(events) == 100 else None,
    )


@bp.route("/admin/export", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
@bulk_export_limit()
def export() -> Reply:
    form = FlaskForm()
    if request.method == "POST" and form.validate():
        columns = [c for c in request.form.getlist("columns") if c in EXPORT_COLUMNS]
        if not columns:
            return render_template(
                "staff/export.html", columns=EXPORT_COLUMNS, form=form, error="Select at least one column"
            ), 400
        date_from, date_to = parse_date(request.form.get("from")), parse_date(request.form.get("to"), end=True)
        submissions.record_access(
            "export_submissions",
            actor=g.staff.email,
            ip=client_ip(),
            detail=(
                f"columns={','.join(columns)} from={request.form.get('from') or '-'} to={request.form.get('to') or '-'}"
            ),
        )
        rows = ([EXPORT_COLUMNS[c](s) for c in columns] for s in store.submissions_for_export(date_from, date_to))
        return _csv("submissions.csv", columns, rows)
    return render_template("staff/export.html", columns=EXPORT_COLUMNS, form=form, error=None)


def _csv(name: str, header: list[str], rows: Iterator[list[Any]]) -> Response:
    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in rows:
            writer.writerow(spreadsheet_safe(row))  # no cell a spreadsheet would run as a formula
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response
