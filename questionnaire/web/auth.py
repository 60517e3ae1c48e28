"""Staff sign-in: password, then a time-based one-time code; server-side sessions; sign-out."""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from flask import (Blueprint, Response, abort, current_app, g, make_response, redirect, render_template, request,
                   url_for)
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired


from questionnaire.data import store
from questionnaire.extensions import csrf
from questionnaire.web.throttle import storage_ok as throttle_storage_ok, Refusal, Ticket, Unavailable, throttle
from questionnaire.data.models import Staff, StaffSession, utcnow
from questionnaire.web.security import local_path

bp = Blueprint("auth", __name__, url_prefix="/staff")
COOKIE = "oq_staff"
ROLES = ("front_desk", "clinician", "admin")
VAGUE = "The email, password or code is not right, or the account cannot sign in now. Try again."
# Too many checks for this account (from here, or from unfamiliar addresses): said the same way for an
# email that has no account, so it tells nobody which emails exist.
THROTTLED = ("Too many attempts to sign in to this account. Wait a few minutes, then try again. If it keeps "
             "happening, ask an administrator.")
HASHER = PasswordHasher()   # argon2id
# A short list of the most common passwords of 12 characters or more; longer lists belong in
# a breach-checking service, which a clinic's network may not allow.
COMMON_PASSWORDS = frozenset("""
123456789012 1234567890123 12345678901234 123456123456 password1234 password12345 passwordpassword
qwertyuiopas qwerty123456 qwertyuiop12 1q2w3e4r5t6y 1qaz2wsx3edc abcdefghijkl abc123abc123
iloveyou1234 letmein12345 welcome12345 welcome123456 administrator admin1234567 adminadmin12
changeme1234 changeme12345 trustno1trustno1 football1234 baseball1234 sunshine1234 princess1234
monkey123456 dragon123456 master123456 superman1234 starwars1234 michael12345 00000000000
000000000000 111111111111 121212121212 aaaaaaaaaaaa passw0rd1234 p@ssw0rd1234 p@ssword1234
correcthorsebatterystaple clinic123456 ozone1234567 ozonetherapy hospital1234 doctor123456
""".split())

Reply = str | WerkzeugResponse | tuple[str, int] | Response

F = TypeVar("F", bound=Callable[..., Any])


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_problem(password: str, context: Iterable[str] = ()) -> str | None:
    """Why a new password will not do, or None. Besides the length and the short list above, zxcvbn's
    estimate (tens of thousands of common passwords, words, names, dates, keyboard runs and repeats)
    must be its top score (about 10^10 guesses or more), with `context` (the email address, the
    clinic's name) counted as already known."""
    if not 12 <= len(password) <= 128:
        return "Use a password of 12 to 128 characters"
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return "This password is too common. Choose a longer phrase that others would not guess"
    # The first 72 characters (zxcvbn refuses longer ones): plenty to judge a guessable password.
    if zxcvbn(password[:72], user_inputs=[c for c in context if c])["score"] < 4:
        return "This password is too easy to guess. Choose a phrase of several words that others would not guess"
    return None


def password_context(email: str) -> list[str]:
    """What someone trying to guess this account's password would try first: the email address and
    the clinic's name, each as written, joined up ("sectestclinic") and word by word, since zxcvbn
    only matches a known input as a whole (lower case) token."""
    local, _, domain = email.strip().lower().partition("@")
    return known_words(email, local, domain, domain.split(".")[0], str(current_app.config.get("CLINIC_NAME") or ""))


def known_words(*texts: str) -> list[str]:
    """Each text as written, lower case, without its separators, and split into its words."""
    out: dict[str, None] = {}
    for text in texts:
        text = text.strip().lower()
        words = [w for w in re.split(r"[^0-9a-zß-ÿ]+", text) if w]
        for form in (text, "".join(words), *words):
            if form:
                out[form] = None
    return list(out)


def check_password(staff: Staff | None, password: str) -> bool:
    if staff is None:
        # Same work for an unknown email, so timing does not tell which emails exist.
        try:
            HASHER.verify(_DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return HASHER.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = HASHER.hash("not-a-real-password-for-timing")


def verify_code(staff: Staff, code: str) -> bool:
    """A 6-digit code for now (or one step either side), accepted once only."""
    code = "".join(code.split())
    if not staff.otp_secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(staff.otp_secret)
    now = utcnow()
    for drift in (0, -1, 1):
        moment = now + timedelta(seconds=30 * drift)
        if totp.at(moment) == code:
            return store.use_otp_step(staff, int(totp.timecode(moment)))
    return False


# --- the session check -------------------------------------------------------------------------

def client_ip() -> str:
    return request.remote_addr or "-"


def _expired(row: StaffSession) -> bool:
    now = utcnow()
    idle = timedelta(minutes=int(current_app.config["STAFF_IDLE_MINUTES"]))
    absolute = timedelta(hours=int(current_app.config["STAFF_ABSOLUTE_HOURS"]))
    return now - row.last_seen_at > idle or now - row.created_at > absolute


def load_session() -> tuple[StaffSession | None, Staff | None]:
    """The valid, fully signed-in session of this request, checked against the table every time."""
    row = store.find_staff_session(request.cookies.get(COOKIE))
    if row is None or row.revoked_at is not None:
        return row, None
    staff = store.staff_by_id(row.staff_id)
    if staff is None or not staff.active:
        store.revoke_staff_session(row)
        return row, None
    if _expired(row):
        store.revoke_staff_session(row)
        store.audit("timeout", actor=staff.email, ip=client_ip())
        return row, None
    return row, staff


def staff_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in staff (of these roles, if given) reach the view."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            row, staff = load_session()
            if staff is None or row is None or row.stage != "full":
                return _sign_in_needed(row)
            if roles and staff.role not in roles:
                store.audit("forbidden", actor=staff.email, ip=client_ip(), detail=request.path)
                abort(403)
            if staff.must_change_password and request.endpoint not in ("auth.change_password", "auth.sign_out"):
                return redirect(url_for("auth.change_password"))
            g.staff, g.staff_session = staff, row
            if (utcnow() - row.last_seen_at).total_seconds() > 15:
                store.touch_staff_session(row)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def _sign_in_needed(row: StaffSession | None) -> Reply:
    if request.method == "GET":
        return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
    if row is not None and row.stage == "full":
        # Signed out while editing: keep a note or status change on the old session and offer it back
        # after sign-in. Nothing else is kept: never a password, never an account change.
        kept = request.endpoint in KEEPABLE
        if kept:
            form = {k: v for k, v in request.form.items() if k in KEEPABLE[str(request.endpoint)]}
            store.touch_staff_session(row, pending={"path": request.path, "form": form},
                                      last_seen_at=row.last_seen_at)
        extra: dict[str, Any] = {"kept": 1} if kept else {}
        return redirect(url_for("auth.sign_in", next=page_of_form(request.path), **extra), code=303)
    abort(401)


# The forms whose change is kept across a sign-in, and their fields.
KEEPABLE = {"staff.add_note": ("body",), "staff.set_status": ("status", "version")}


def safe_next(target: str | None) -> str:
    return local_path(target, "/staff/") or url_for("staff.queue")


def take_pending(*paths: str) -> tuple[str, dict[str, str]] | None:
    """The change this staff member was sending to one of `paths` when their session ended, once:
    (the path, the form fields)."""
    row: StaffSession = g.staff_session
    pending = row.pending
    if pending and pending.get("path") in paths:
        store.touch_staff_session(row, pending=None)
        return str(pending["path"]), dict(pending.get("form") or {})
    return None


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
            if HASHER.check_needs_rehash(staff.password_hash):
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
        store.audit("sign_in_failed", actor=email, ip=client_ip(),
                    detail="one-time password expired" if expired else None)
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
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/staff",
                        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]))


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
            store.update_staff(staff, otp_confirmed=True)
            store.audit("otp_enrolled", actor=staff.email, ip=client_ip())
            return _finish_sign_in(row, staff)
        if right is None:
            error, status = THROTTLED, 429
        else:
            error = "The code is not right. Check the time on your phone and try the newest code."
    elif request.method == "POST":
        error = form_problem(form)
    return render_template("auth/enrol.html", form=form, error=error, secret=staff.otp_secret), (status if error else 200)


@bp.get("/enrol/qr.svg")
def enrol_qr() -> Reply:
    found = _half_signed_in()
    if found is None or found[1].otp_confirmed or not found[1].otp_secret:
        abort(404)
    staff = found[1]
    uri = pyotp.TOTP(str(staff.otp_secret)).provisioning_uri(name=staff.email,
                                                             issuer_name=current_app.config["CLINIC_NAME"])
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
    if row.stage == "full":
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
    store.touch_staff_session(row, stage="full")
    # This address is the account's own from now on: it skips the delay that guesses from elsewhere get.
    throttle().signed_in(staff.email, client_ip())
    store.audit("sign_in", actor=staff.email, ip=client_ip())
    if row.pending:
        return redirect(page_of_form(str(row.pending.get("path") or "")))
    return redirect(safe_next(request.args.get("next")))


def page_of_form(path: str) -> str:
    """The page that shows the form which is sent to `path` (a POST-only address)."""
    try:
        endpoint, values = current_app.url_map.bind("localhost").match(path, method="POST")
    except HTTPException:
        return url_for("staff.queue")
    if endpoint in ("staff.add_note", "staff.set_status"):
        return url_for("staff.submission", reference=values["reference"])
    if endpoint in ("staff.admin_staff", "staff.admin_staff_action"):
        return url_for("staff.admin_staff")
    if endpoint in ("staff.export", "auth.change_password"):
        return url_for(endpoint)
    return url_for("staff.queue")


@bp.post("/sign-out")
@csrf.exempt  # type: ignore[untyped-decorator]  # flask_wtf is untyped
def sign_out() -> Reply:
    """Always signs out. It needs no form token: only this site's own pages can send it (a post from
    another site is refused before any view, and the staff cookie is SameSite=Strict), and a token
    gone stale (the patient form cleared this browser's session, say) must never leave a session
    open on a shared computer."""
    row, staff = load_session()
    if row is not None:
        store.revoke_staff_session(row)
        if staff is not None:
            store.audit("sign_out", actor=staff.email, ip=client_ip())
    response = make_response(render_template("auth/signed_out.html"))
    response.delete_cookie(COOKIE, path="/staff")
    # A shared front-desk computer: nothing of this browser's session stays behind.
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.get("/keepalive")
@staff_required()
def keepalive() -> Reply:
    """"Stay signed in" on the idle warning (staff.js): a signed-in request moves the idle time on."""
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
            admitted = admit(staff.email)   # guesses at the current password count like sign-in's
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
            store.set_staff_password(staff, hash_password(form.password.data or ""), one_time=False)
            ended = store.revoke_all_sessions(staff.id, keep=g.staff_session.id)
            store.audit("password_changed", actor=staff.email, ip=client_ip(),
                        detail=f"{ended} other session(s) ended" if ended else None)
            return redirect(url_for("staff.queue"))
    elif request.method == "POST":
        error = form_problem(form)
        field = next((name for name in ("current", "password", "confirm") if form.errors.get(name)), "current")
    return render_template("auth/password.html", form=form, error=error, field=field), (status if error else 200)
