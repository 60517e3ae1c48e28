"""Staff sign-in: password, then a time-based one-time code (enrolled at the first sign-in); sign-out;
a new password. The session check of every staff page is in staff_session.py."""

from __future__ import annotations

import io
from datetime import timedelta

import pyotp
import segno
from flask import Blueprint, Response, abort, current_app, g, make_response, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired

from questionnaire.data import store
from questionnaire.data.enums import SessionStage
from questionnaire.data.models import Staff, StaffSession, utcnow
from questionnaire.extensions import csrf
from questionnaire.operations import sign_in as signing_in
from questionnaire.operations.passwords import (  # noqa: F401
    check_password,
    hash_password,
    needs_rehash,
    password_context,
    password_problem,
    verify_code,
)
from questionnaire.web.staff_session import (  # noqa: F401
    COOKIE,
    Reply,
    client_ip,
    load_session,
    page_of_form,
    safe_next,
    staff_required,
)
from questionnaire.web.throttle import Refusal, Ticket, Unavailable, throttle
from questionnaire.web.throttle import storage_ok as throttle_storage_ok

bp = Blueprint("auth", __name__, url_prefix="/staff")
VAGUE = "The email, password or code is not right, or the account cannot sign in now. Try again."
# Too many checks for this account (from here, or from unfamiliar addresses): said the same way for an
# email that has no account, so it tells nobody which emails exist.
THROTTLED = (
    "Too many attempts to sign in to this account. Wait a few minutes, then try again. If it keeps "
    "happening, ask an administrator."
)

# --- forms -------------------------------------------------------------------------------------


class SignInForm(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    email = StringField("Email address", validators=[InputRequired("Enter your email address")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password")])


class CodeForm(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    code = StringField("Code from your authenticator app", validators=[InputRequired("Enter the 6-digit code")])


class PasswordForm(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    current = PasswordField("Current password", validators=[InputRequired("Enter your current password")])
    password = PasswordField("New password", validators=[InputRequired("Enter a new password")])
    confirm = PasswordField("Confirm the new password", validators=[InputRequired("Enter the password again")])


# --- views -------------------------------------------------------------------------------------


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


bp.after_request(_no_store)


def admit(email: str) -> Ticket | Refusal:
    """Count one password or code check for this account from this address (throttle.py), before the
    check; a refusal's first time in its window is audited. Unavailable: the store does not answer."""
    admitted = throttle().admit(email, client_ip())
    if isinstance(admitted, Refusal) and admitted.first:
        store.audit("sign_in_throttled", actor=email, ip=client_ip(), detail=admitted.reason)
    return admitted


def _unavailable() -> tuple[str, int]:
    """Sign-in limits never fail open: without the rate-limit store, no password or code is checked."""
    return render_template("errors/error.html", code=503), 503


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Reply:
    form = SignInForm()
    error = None
    if request.method == "POST" and not throttle_storage_ok():
        return _unavailable()
    if form.validate_on_submit():
        email = store.normalise_email(form.email.data or "")
        try:
            admitted = admit(email)
        except Unavailable:
            return _unavailable()
        if isinstance(admitted, Refusal):
            return render_template("auth/sign_in.html", form=form, error=THROTTLED, kept=False), 429
        staff = store.staff_by_email(email)
        ok = check_password(staff, form.password.data or "")
        if ok:
            # The right password is not a guess: it does not count (the code that follows does).
            throttle().give_back(admitted)
        # An expired one-time password is refused with the same vague message.
        expired = staff is not None and ok and staff.active and _one_time_expired(staff)
        if staff is not None and ok and not expired and staff.active:
            if needs_rehash(staff.password_hash):
                # Stored with older (weaker) hashing settings: rehashed now that the password is known.
                store.update_staff(staff, password_hash=hash_password(form.password.data or ""))
            old = store.find_staff_session(request.cookies.get(COOKIE))
            row, token = store.create_staff_session(staff)
            if old is not None:
                # A change kept from this browser's ended session goes with the same person only.
                if old.staff_id == staff.id and old.pending:
                    store.touch_staff_session(row, pending=old.pending)
                store.touch_staff_session(old, pending=None, last_seen_at=old.last_seen_at)
                store.revoke_staff_session(old)
            target = "auth.code" if staff.otp_confirmed else "auth.enrol"
            response = redirect(url_for(target, next=safe_next(request.args.get("next"))))
            _set_cookie(response, token)
            return response
        store.audit(
            "sign_in_failed", actor=email, ip=client_ip(), detail="one-time password expired" if expired else None
        )
        error = VAGUE
    elif request.method == "POST":
        error = VAGUE if not form.errors.get("csrf_token") else "Your session expired. Try again."
    kept = request.args.get("kept") == "1"
    return render_template("auth/sign_in.html", form=form, error=error, kept=kept), (200 if not error else 400)


def _one_time_expired(staff: Staff) -> bool:
    """A one-time password (must be changed at sign-in) older than ONE_TIME_PASSWORD_DAYS."""
    if not staff.must_change_password:
        return False
    days = timedelta(days=int(current_app.config["ONE_TIME_PASSWORD_DAYS"]))
    return utcnow() - (staff.password_set_at or staff.created_at) > days


def _set_cookie(response: WerkzeugResponse, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        path="/staff",
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
    )


def _half_signed_in() -> tuple[StaffSession, Staff] | None:
    row, staff = load_session()
    if row is None or staff is None:
        return None
    return row, staff


def check_code(staff: Staff, code: str) -> bool | None:
    """A code check, throttled like a password (knowing the password gives no unlimited guesses at the
    code): True or False, or None when refused (Unavailable: the store does not answer)."""
    admitted = admit(staff.email)
    if isinstance(admitted, Refusal):
        return None
    if verify_code(staff, code):
        throttle().give_back(admitted)
        return True
    return False


@bp.route("/enrol", methods=["GET", "POST"])
def enrol() -> Reply:
    if request.method == "POST" and not throttle_storage_ok():
        return _unavailable()
    found = _half_signed_in()
    if found is None or found[1].otp_confirmed:
        return redirect(url_for("auth.sign_in"))
    row, staff = found
    if not staff.otp_secret:
        store.update_staff(staff, otp_secret=pyotp.random_base32())
    form = CodeForm()
    error = None
    status = 400
    if form.validate_on_submit():
        try:
            right = check_code(staff, form.code.data or "")
        except Unavailable:
            return _unavailable()
        if right:
            signing_in.confirm_enrolment(staff, ip=client_ip())
            return _finish_sign_in(row, staff)
        if right is None:
            error, status = THROTTLED, 429
        else:
            error = "The code is not right. Check the time on your phone and try the newest code."
    elif request.method == "POST":
        error = form_problem(form)
    return render_template("auth/enrol.html", form=form, error=error, secret=staff.otp_secret), (
        status if error else 200
    )


@bp.get("/enrol/qr.svg")
def enrol_qr() -> Reply:
    found = _half_signed_in()
    if found is None or found[1].otp_confirmed or not found[1].otp_secret:
        abort(404)
    staff = found[1]
    uri = pyotp.TOTP(str(staff.otp_secret)).provisioning_uri(
        name=staff.email, issuer_name=current_app.config["CLINIC_NAME"]
    )
    # A standalone SVG document needs its xmlns (svg_inline() leaves it out: a broken image).
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", xmldecl=False, scale=5, dark="#000", light="#fff")
    response = make_response(buffer.getvalue())
    response.headers["Content-Type"] = "image/svg+xml"
    return _no_store(response)


@bp.route("/code", methods=["GET", "POST"])
def code() -> Reply:
    if request.method == "POST" and not throttle_storage_ok():
        return _unavailable()
    found = _half_signed_in()
    if found is None:
        return redirect(url_for("auth.sign_in"))
    row, staff = found
    if row.stage == SessionStage.FULL:
        return redirect(safe_next(request.args.get("next")))
    if not staff.otp_confirmed:
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    error, status = None, 400
    if form.validate_on_submit():
        try:
            right = check_code(staff, form.code.data or "")
        except Unavailable:
            return _unavailable()
        if right:
            return _finish_sign_in(row, staff)
        if right is None:
            error, status = THROTTLED, 429
        else:
            store.audit("sign_in_failed", actor=staff.email, ip=client_ip(), detail="code")
            error = VAGUE
    elif request.method == "POST":
        error = form_problem(form)
    return render_template("auth/code.html", form=form, error=error), (status if error else 200)


def form_problem(form: FlaskForm) -> str:
    """The message for a form that did not validate: an empty field, or an expired page."""
    if form.errors.get("csrf_token"):
        return "Your session expired. Try again."
    return next((errors[0] for errors in form.errors.values() if errors), "Try again.")


def _finish_sign_in(row: StaffSession, staff: Staff) -> WerkzeugResponse:
    signing_in.finish(row, staff, ip=client_ip())
    # This address is the account's own from now on: it skips the delay that guesses from elsewhere get.
    throttle().signed_in(staff.email, client_ip())
    if row.pending:
        return redirect(page_of_form(str(row.pending.get("path") or "")))
    return redirect(safe_next(request.args.get("next")))


@bp.post("/sign-out")
@csrf.exempt  # type: ignore[untyped-decorator]  # flask_wtf is untyped
def sign_out() -> Reply:
    """Always signs out. It needs no form token: only this site's own pages can send it (a post from
    another site is refused before any view, and the staff cookie is SameSite=Strict), and a token
    gone stale (the patient form cleared this browser's session, say) must never leave a session
    open on a shared computer."""
    row, staff = load_session()
    if row is not None:
        signing_in.end_session(row, staff, "sign_out", ip=client_ip())
    response = make_response(render_template("auth/signed_out.html"))
    response.delete_cookie(COOKIE, path="/staff")
    # A shared front-desk computer: nothing of this browser's session stays behind.
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.get("/keepalive")
@staff_required()
def keepalive() -> Reply:
    """ "Stay signed in" on the idle warning (staff.js): a signed-in request moves the idle time on."""
    return "", 204


@bp.get("/timed-out")
def timed_out() -> Reply:
    """Where an idle staff page goes (staff.js): nothing of a patient on the screen. The session itself
    ends on the server at the same moment, unless it is still in use in another window."""
    return render_template("auth/signed_out.html", timed_out=True)


@bp.route("/password", methods=["GET", "POST"])
@staff_required()
def change_password() -> Reply:
    """A new password needs the current one (someone at a screen left signed in cannot take the
    account over); other sessions of the account end, this one stays."""
    form = PasswordForm()
    error, field, status = None, "current", 400
    if form.validate_on_submit():
        staff: Staff = g.staff
        try:
            admitted = admit(staff.email)  # guesses at the current password count like sign-in's
        except Unavailable:
            return _unavailable()
        if isinstance(admitted, Refusal):
            error, status = THROTTLED, 429
        elif not check_password(staff, form.current.data or ""):
            store.audit("password_change_failed", actor=staff.email, ip=client_ip())
            error = "Your current password is not right"
        else:
            throttle().give_back(admitted)
            field = "password"
            error = password_problem(form.password.data or "", password_context(staff.email))
            if not error and form.password.data != form.confirm.data:
                error = "The two passwords are not the same"
            if not error and form.password.data == form.current.data:
                error = "Choose a password different from your current one"
        if not error:
            signing_in.change_password(staff, form.password.data or "", keep_session=g.staff_session.id, ip=client_ip())
            return redirect(url_for("staff.queue"))
    elif request.method == "POST":
        error = form_problem(form)
        field = next((name for name in ("current", "password", "confirm") if form.errors.get(name)), "current")
    return render_template("auth/password.html", form=form, error=error, field=field), (status if error else 200)
