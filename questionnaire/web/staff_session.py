"""The staff session, checked on every staff request: who is signed in (staff_required), the change
kept when a session ended mid-form (take_pending), and where to go after signing in."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Response, abort, current_app, g, redirect, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from questionnaire.data import store
from questionnaire.data.enums import SessionStage, StaffRole
from questionnaire.data.models import Staff, StaffSession, utcnow
from questionnaire.operations import sign_in
from questionnaire.web.security import local_path

COOKIE = "oq_staff"
Reply = str | WerkzeugResponse | tuple[str, int] | Response
F = TypeVar("F", bound=Callable[..., Any])


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
        sign_in.end_session(row, staff, "timeout", ip=client_ip())
        return row, None
    return row, staff


def staff_required(*roles: StaffRole, touch: bool = True) -> Callable[[F], F]:
    """Only signed-in staff (of these roles, if given) reach the view. With touch=False the request
    does not count as activity (a page's background poll must not keep an idle session alive)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            row, staff = load_session()
            if staff is None or row is None or row.stage != SessionStage.FULL:
                return _sign_in_needed(row)
            if roles and staff.role not in roles:
                store.audit("forbidden", actor=staff.email, ip=client_ip(), detail=request.path)
                abort(403)
            if staff.must_change_password and request.endpoint not in ("auth.change_password", "auth.sign_out"):
                return redirect(url_for("auth.change_password"))
            g.staff, g.staff_session = staff, row
            if touch and (utcnow() - row.last_seen_at).total_seconds() > 15:
                store.touch_staff_session(row)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def _sign_in_needed(row: StaffSession | None) -> Reply:
    if request.method == "GET":
        return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
    if row is not None and row.stage == SessionStage.FULL:
        # Signed out while editing: keep a note or status change on the old session and offer it back
        # after sign-in. Nothing else is kept: never a password, never an account change.
        kept = request.endpoint in KEEPABLE
        if kept:
            form = {k: v for k, v in request.form.items() if k in KEEPABLE[str(request.endpoint)]}
            store.touch_staff_session(row, pending={"path": request.path, "form": form}, last_seen_at=row.last_seen_at)
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
