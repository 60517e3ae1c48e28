"""Staff sign-in and sessions: password and code, enrolment, vague errors, rate limits (throttling:
test_sign_in_throttle.py),
code replay, idle and absolute timeouts, sign-out revocation, passwords, keeping a change across sign-in."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher, Type
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from questionnaire.data import store
from questionnaire.data.models import Clock, Note, StaffSession
from questionnaire.extensions import db
from questionnaire.operations import passwords
from questionnaire.operations.passwords import HASHER as PRODUCTION_HASHER
from questionnaire.web import auth

from ..helpers import html_problems, visible_text
from ..staff_factory import add_submission, audit_rows, csrf, submission_row, version_on
from ..staff_helpers import PASSWORD, current_code, make_staff, sign_in, token_of

pytestmark = pytest.mark.usefixtures("cheap_hashing")

DESK = "desk@clinic.example"
ERROR = re.compile(r'<ul class="error-summary__list"><li><a href="#[a-z]+">([^<]*)</a>')


def password_step(client: FlaskClient, email: str, password: str = PASSWORD, next_url: str | None = None) -> Any:
    url = "/staff/sign-in" + (f"?next={next_url}" if next_url else "")
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": token_of(page), "email": email, "password": password})


def code_step(client: FlaskClient, location: str, code: str) -> Any:
    page = client.get(location).get_data(as_text=True)
    return client.post(location, data={"csrf_token": token_of(page), "code": code})


def error_of(response: Any) -> str:
    found = ERROR.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:1500]
    return found.group(1)


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/staff/")
    return response.status_code == 200


def staff_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(auth.COOKIE, path="/staff")
    assert cookie is not None
    return cookie.value


# --- signing in ---------------------------------------------------------------------------------


def test_sign_in_with_password_then_code_opens_the_queue_and_is_audited(app: Flask) -> None:
    secret = make_staff(app, DESK)
    client = app.test_client()
    first = password_step(client, "  Desk@Clinic.Example ")  # address typed with capitals and spaces
    assert first.status_code == 302 and first.location.startswith("/staff/code")
    assert not signed_in(client)  # the password alone is not enough
    done = code_step(client, first.location, current_code(secret))
    assert done.status_code == 302 and done.location == "/staff/"
    assert signed_in(client)
    (event,) = audit_rows(app, "sign_in")
    assert (event.actor, event.ip) == (DESK, "127.0.0.1") and event.at is not None


def test_a_code_with_spaces_is_accepted(app: Flask) -> None:
    secret = make_staff(app, DESK)
    client = app.test_client()
    code = current_code(secret)
    assert code_step(client, password_step(client, DESK).location, f" {code[:3]} {code[3:]} ").status_code == 302
    assert signed_in(client)


def test_first_sign_in_enrols_an_authenticator_with_a_key_and_a_qr_code(app: Flask) -> None:
    with app.app_context():
        store.create_staff(DESK, "front_desk", auth.hash_password(PASSWORD))
    client = app.test_client()
    assert client.get("/staff/enrol/qr.svg").status_code == 404  # nothing to show before the password
    first = password_step(client, DESK)
    assert first.location.startswith("/staff/enrol")
    page = client.get("/staff/enrol").get_data(as_text=True)
    assert html_problems(page) == []
    secret = re.search(r'data-testid="otp-secret">([A-Z2-7]+)<', page)
    assert secret, page
    qr = client.get("/staff/enrol/qr.svg")
    assert qr.status_code == 200 and qr.content_type.startswith("image/svg+xml")
    assert qr.get_data(as_text=True).lstrip().startswith("<svg") and "no-store" in qr.headers["Cache-Control"]
    wrong = client.post("/staff/enrol", data={"csrf_token": token_of(page), "code": "000000"})
    assert wrong.status_code == 400 and not signed_in(client)
    done = client.post("/staff/enrol", data={"csrf_token": token_of(page), "code": pyotp.TOTP(secret.group(1)).now()})
    assert done.status_code == 302 and signed_in(client)
    with app.app_context():
        staff = store.staff_by_email(DESK)
        assert staff is not None and staff.otp_confirmed and staff.otp_secret == secret.group(1)
    assert client.get("/staff/enrol/qr.svg").status_code == 404  # the key is not shown again
    assert [e.actor for e in audit_rows(app, "otp_enrolled")] == [DESK]


def test_every_failed_sign_in_gives_the_same_vague_message(make_app: Any, clock: Clock) -> None:
    app = make_app()
    secret = make_staff(app, DESK)
    make_staff(app, "gone@clinic.example")
    with app.app_context():
        gone = store.staff_by_email("gone@clinic.example")
        store.update_staff(gone, active=False)  # type: ignore[arg-type]
    client = app.test_client()
    messages = {
        "wrong password": password_step(client, DESK, "not the password at all"),
        "unknown email": password_step(client, "nobody@clinic.example"),
        "deactivated account": password_step(client, "gone@clinic.example"),
    }
    clock.offset = timedelta(minutes=1)
    messages["wrong code"] = code_step(
        client, password_step(client, DESK).location, current_code(secret, step_offset=5)
    )
    for why, response in messages.items():
        assert response.status_code == 400, why
        assert error_of(response) == auth.VAGUE, why
        assert "Error:" in response.get_data(as_text=True).split("</title>")[0], why
    assert len(audit_rows(app, "sign_in_failed")) == 4
    assert audit_rows(app, "sign_in") == []


def test_failed_attempts_from_one_address_are_limited_but_a_success_is_not_counted(make_app: Any) -> None:
    app = make_app(RATELIMIT_ENABLED=True, STAFF_SIGN_IN_LIMIT="3 per minute")
    make_staff(app, DESK)
    client = app.test_client()
    assert password_step(client, DESK, "wrong password one").status_code == 400
    assert password_step(client, "someone@clinic.example", "wrong password two").status_code == 400
    assert password_step(client, DESK).status_code == 302  # not counted
    assert password_step(client, DESK, "wrong password three").status_code == 400
    limited = password_step(client, "x@clinic.example", "wrong password four")
    assert limited.status_code == 429
    # Even the right password waits now: the limit is on the address, before the password is checked.
    assert password_step(client, DESK).status_code == 429


def test_wrong_codes_from_one_address_are_limited(make_app: Any) -> None:
    app = make_app(RATELIMIT_ENABLED=True, STAFF_SIGN_IN_LIMIT="3 per minute", STAFF_SIGN_IN_PAIR_LIMIT="50 per minute")
    secret = make_staff(app, DESK)
    client = app.test_client()
    location = password_step(client, DESK).location
    wrong = "123456" if current_code(secret) != "123456" else "654321"
    statuses = [code_step(client, location, wrong).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_a_code_cannot_be_used_twice(app: Flask) -> None:
    secret = make_staff(app, DESK)
    code = current_code(secret)
    first, second = app.test_client(), app.test_client()
    assert code_step(first, password_step(first, DESK).location, code).status_code == 302
    replay = code_step(second, password_step(second, DESK).location, code)
    assert replay.status_code == 400 and error_of(replay) == auth.VAGUE
    assert signed_in(first) and not signed_in(second)


def test_passwords_are_stored_with_argon2id() -> None:
    assert PRODUCTION_HASHER.type is Type.ID
    # At least the RFC 9106 / OWASP minimum for argon2id.
    assert PRODUCTION_HASHER.memory_cost >= 19 * 1024 and PRODUCTION_HASHER.time_cost >= 2
    stored = PRODUCTION_HASHER.hash("a long enough password")
    assert stored.startswith("$argon2id$") and "a long enough password" not in stored


# --- sessions -----------------------------------------------------------------------------------


def test_the_session_ends_after_the_idle_time(app: Flask, clock: Clock) -> None:
    client = app.test_client()
    assert sign_in(client, DESK, make_staff(app, DESK)).status_code == 302
    clock.offset = timedelta(minutes=14)
    assert signed_in(client)  # activity restarts the idle time
    clock.offset = timedelta(minutes=28)
    assert signed_in(client)
    clock.offset = timedelta(minutes=28 + 16)
    response = client.get("/staff/")
    assert response.status_code == 302 and "/staff/sign-in" in response.location
    assert not signed_in(client)
    (event,) = audit_rows(app, "timeout")
    assert event.actor == DESK and event.ip == "127.0.0.1"


def test_the_idle_time_is_configurable(make_app: Any, clock: Clock) -> None:
    app = make_app(STAFF_IDLE_MINUTES=5)
    client = app.test_client()
    sign_in(client, DESK, make_staff(app, DESK))
    clock.offset = timedelta(minutes=6)
    assert not signed_in(client)


def test_the_session_ends_at_the_absolute_limit_even_when_in_use(make_app: Any, clock: Clock) -> None:
    app = make_app(STAFF_ABSOLUTE_HOURS=1)
    client = app.test_client()
    secret = make_staff(app, DESK)
    sign_in(client, DESK, secret)
    for minutes in range(10, 60, 10):
        clock.offset = timedelta(minutes=minutes)
        assert signed_in(client), minutes
    clock.offset = timedelta(minutes=61)
    assert not signed_in(client)
    assert len(audit_rows(app, "timeout")) == 1
    assert sign_in(client, DESK, secret).status_code == 302 and signed_in(client)  # a new sign-in works


def test_the_default_absolute_limit_is_twelve_hours(app: Flask, clock: Clock) -> None:
    assert app.config["STAFF_IDLE_MINUTES"] == 15 and app.config["STAFF_ABSOLUTE_HOURS"] == 12
    client = app.test_client()
    sign_in(client, DESK, make_staff(app, DESK))
    with app.app_context():
        row = db.session.scalars(select(StaffSession)).one()
        row.created_at = row.created_at - timedelta(hours=12, minutes=1)  # in use all day long
        db.session.commit()
    assert not signed_in(client)


def test_sign_out_revokes_the_session_so_a_replayed_cookie_is_refused(app: Flask) -> None:
    reference = add_submission(app, persona="urgent")
    client = app.test_client()
    sign_in(client, DESK, make_staff(app, DESK))
    page = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    stolen, token = staff_cookie(client), token_of(page)
    response = client.post("/staff/sign-out", data={"csrf_token": token})
    assert response.status_code == 200 and "You have signed out" in response.get_data(as_text=True)
    assert '"cache"' in response.headers["Clear-Site-Data"] and '"storage"' in response.headers["Clear-Site-Data"]
    assert any(h.startswith(f"{auth.COOKIE}=;") for h in response.headers.getlist("Set-Cookie"))
    assert not signed_in(client)
    replay = app.test_client()
    replay.set_cookie(auth.COOKIE, stolen, path="/staff")
    assert replay.get("/staff/").status_code == 302
    assert replay.get(f"/staff/submissions/{reference}").status_code == 302
    refused = replay.post(f"/staff/submissions/{reference}/notes", data={"csrf_token": csrf(replay), "body": "x"})
    assert refused.status_code in (401, 403) or "/staff/sign-in" in refused.location
    with app.app_context():
        assert db.session.scalars(select(Note)).all() == []
    assert [e.actor for e in audit_rows(app, "sign_out")] == [DESK]


def test_sign_out_signs_out_even_with_a_stale_form_token_but_never_from_another_site(app: Flask) -> None:
    """A shared front-desk computer: a patient began the form in the same browser, which replaced the
    session that held the staff page's form token. Sign out must still end the staff session."""
    client = app.test_client()
    sign_in(client, DESK, make_staff(app, DESK))
    stale = token_of(client.get("/staff/").get_data(as_text=True))
    assert client.post("/start").status_code == 302  # the patient form starts a new session
    cross_site = client.post(
        "/staff/sign-out",
        data={"csrf_token": stale},
        headers={"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert cross_site.status_code == 403 and signed_in(client)
    response = client.post("/staff/sign-out", data={"csrf_token": stale})
    assert response.status_code == 200 and "You have signed out" in response.get_data(as_text=True)
    assert not signed_in(client)
    assert client.post("/staff/sign-out").status_code == 200  # no token at all, nobody signed in: still fine
    assert [e.actor for e in audit_rows(app, "sign_out")] == [DESK]


def test_the_staff_cookie_lasts_only_for_the_browser_session_and_there_is_no_remember_me(app: Flask) -> None:
    secret = make_staff(app, DESK)
    client = app.test_client()
    sign_in_page = client.get("/staff/sign-in").get_data(as_text=True)
    assert "remember" not in sign_in_page.lower()
    response = password_step(client, DESK)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(auth.COOKIE + "="))
    lowered = header.lower()
    assert "expires" not in lowered and "max-age" not in lowered
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/staff" in lowered
    code_step(client, response.location, current_code(secret))
    with app.app_context():  # only a hash of the cookie's token is stored
        hashes = db.session.scalars(select(StaffSession.token_hash)).all()
    assert staff_cookie(client) not in hashes and store.token_hash(staff_cookie(client)) in hashes


def test_an_administrators_sign_out_everywhere_takes_effect_at_once(app: Flask) -> None:
    desk_secret = make_staff(app, DESK)
    admin = app.test_client()
    sign_in(admin, "admin@clinic.example", make_staff(app, "admin@clinic.example", "admin"))
    laptops = [app.test_client(), app.test_client()]
    assert sign_in(laptops[0], DESK, desk_secret).status_code == 302
    # A second sign-in in the same 30 s would replay the code; the second laptop uses the next step's.
    second = laptops[1]
    assert (
        code_step(second, password_step(second, DESK).location, current_code(desk_secret, step_offset=1)).status_code
        == 302
    )
    assert all(signed_in(c) for c in laptops)
    with app.app_context():
        desk_id = store.staff_by_email(DESK).id  # type: ignore[union-attr]
    response = admin.post(
        f"/staff/admin/staff/{desk_id}/sign-out-everywhere", data={"csrf_token": csrf(admin, "/staff/")}
    )
    assert response.status_code == 303
    assert not any(signed_in(c) for c in laptops)
    assert signed_in(admin)
    (event,) = audit_rows(app, "staff_sign_out_everywhere")
    assert (event.actor, event.detail, event.ip) == ("admin@clinic.example", DESK, "127.0.0.1")


def test_deactivation_takes_effect_at_once_and_stops_sign_in_until_reactivated(app: Flask, clock: Clock) -> None:
    desk_secret = make_staff(app, DESK)
    admin, desk = app.test_client(), app.test_client()
    sign_in(admin, "admin@clinic.example", make_staff(app, "admin@clinic.example", "admin"))
    sign_in(desk, DESK, desk_secret)
    with app.app_context():
        desk_id = store.staff_by_email(DESK).id  # type: ignore[union-attr]
    token = csrf(admin, "/staff/")
    assert (
        admin.post(
            f"/staff/admin/staff/{desk_id}/deactivate", data={"csrf_token": token, "confirmed": "yes"}
        ).status_code
        == 303
    )
    assert not signed_in(desk)
    refused = password_step(desk, DESK)
    assert refused.status_code == 400 and error_of(refused) == auth.VAGUE
    assert admin.post(f"/staff/admin/staff/{desk_id}/activate", data={"csrf_token": token}).status_code == 303
    clock.offset = timedelta(minutes=1)
    assert sign_in(desk, DESK, desk_secret).status_code == 302 and signed_in(desk)
    assert [e.action for e in audit_rows(app) if e.action.startswith("staff_")] == [
        "staff_deactivate",
        "staff_activate",
    ]


def test_the_last_active_administrator_cannot_be_deactivated(app: Flask, clock: Clock) -> None:
    boss = "admin@clinic.example"
    admin = app.test_client()
    sign_in(admin, boss, make_staff(app, boss, "admin"))
    with app.app_context():
        boss_id = store.staff_by_email(boss).id  # type: ignore[union-attr]
    token = csrf(admin, "/staff/")
    refused = admin.post(f"/staff/admin/staff/{boss_id}/deactivate", data={"csrf_token": token, "confirmed": "yes"})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert (
        f"Not done. {boss} is the only active administrator, so it stays active: add or activate another "
        "administrator first."
    ) in visible_text(page)
    assert 'role="alert"' in page and html_problems(page) == []
    assert signed_in(admin) and store_active(app, boss)
    assert audit_rows(app, "staff_deactivate") == []

    # With a second active administrator, either may go, but not both.
    other = "deputy@clinic.example"
    make_staff(app, other, "admin")
    with app.app_context():
        other_id = store.staff_by_email(other).id  # type: ignore[union-attr]
    assert (
        admin.post(
            f"/staff/admin/staff/{other_id}/deactivate", data={"csrf_token": token, "confirmed": "yes"}
        ).status_code
        == 303
    )
    assert not store_active(app, other)
    assert (
        admin.post(
            f"/staff/admin/staff/{boss_id}/deactivate", data={"csrf_token": token, "confirmed": "yes"}
        ).status_code
        == 409
    )
    assert store_active(app, boss)
    # A deactivated or non-administrator account does not count as the administrator who stays.
    make_staff(app, DESK)
    assert (
        admin.post(
            f"/staff/admin/staff/{boss_id}/deactivate", data={"csrf_token": token, "confirmed": "yes"}
        ).status_code
        == 409
    )
    assert admin.post(f"/staff/admin/staff/{other_id}/activate", data={"csrf_token": token}).status_code == 303
    assert (
        admin.post(
            f"/staff/admin/staff/{boss_id}/deactivate", data={"csrf_token": token, "confirmed": "yes"}
        ).status_code
        == 303
    )
    assert not signed_in(admin) and store_active(app, other)


def test_two_administrators_deactivating_each_other_at_once_leave_one_active(app: Flask) -> None:
    """Both read "another administrator is active" at the same moment: only one deactivation may win
    (on PostgreSQL the second waits for the first's lock; on SQLite the check is in the UPDATE)."""
    pair = ("admin@clinic.example", "deputy@clinic.example")
    for email in pair:
        make_staff(app, email, "admin")
    for _round in range(8):
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def deactivate(email: str) -> None:
            with app.app_context():
                target = store.staff_by_email(email)
                barrier.wait(timeout=10)
                try:
                    store.deactivate_staff(target)  # type: ignore[arg-type]
                    outcomes.append("deactivated")
                except store.LastAdministrator:
                    outcomes.append("refused")

        threads = [threading.Thread(target=deactivate, args=(email,)) for email in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(outcomes) == ["deactivated", "refused"]
        assert sorted(store_active(app, email) for email in pair) == [False, True]
        with app.app_context():
            for email in pair:
                store.update_staff(store.staff_by_email(email), active=True)  # type: ignore[arg-type]


def store_active(app: Flask, email: str) -> bool:
    with app.app_context():
        return bool(store.staff_by_email(email).active)  # type: ignore[union-attr]


def test_an_administrators_otp_reset_makes_the_next_sign_in_enrol_again(app: Flask, clock: Clock) -> None:
    desk_secret = make_staff(app, DESK)
    admin, desk = app.test_client(), app.test_client()
    sign_in(admin, "admin@clinic.example", make_staff(app, "admin@clinic.example", "admin"))
    sign_in(desk, DESK, desk_secret)
    with app.app_context():
        desk_id = store.staff_by_email(DESK).id  # type: ignore[union-attr]
    admin.post(f"/staff/admin/staff/{desk_id}/reset-otp", data={"csrf_token": csrf(admin, "/staff/")})
    assert not signed_in(desk)
    assert password_step(desk, DESK).location.startswith("/staff/enrol")


def test_signing_in_again_ends_the_previous_session_of_that_browser(app: Flask, clock: Clock) -> None:
    secret = make_staff(app, DESK)
    client = app.test_client()
    sign_in(client, DESK, secret)
    old = staff_cookie(client)
    clock.offset = timedelta(minutes=1)
    sign_in(client, DESK, secret)
    assert staff_cookie(client) != old
    replay = app.test_client()
    replay.set_cookie(auth.COOKIE, old, path="/staff")
    assert not signed_in(replay)


def test_next_after_sign_in_stays_inside_the_staff_area(app: Flask, clock: Clock) -> None:
    secret = make_staff(app, DESK)
    reference = add_submission(app)
    client = app.test_client()
    sent_back = client.get(f"/staff/submissions/{reference}")
    assert sent_back.location == f"/staff/sign-in?next=/staff/submissions/{reference}"
    first = password_step(client, DESK, next_url=f"/staff/submissions/{reference}")
    assert code_step(client, first.location, current_code(secret)).location == f"/staff/submissions/{reference}"
    for evil in ("https://evil.example/", "//evil.example/staff/", "/\\evil.example", "javascript:alert(1)"):
        clock.offset += timedelta(minutes=1)
        other = app.test_client()
        first = password_step(other, DESK, next_url=evil)
        assert code_step(other, first.location, current_code(secret)).location == "/staff/", evil


# --- a change kept across a sign-in -----------------------------------------------------------


def test_a_note_being_written_when_the_session_timed_out_comes_back_unsaved_after_sign_in(
    app: Flask, clock: Clock
) -> None:
    reference = add_submission(app, persona="urgent")
    secret = make_staff(app, DESK)
    client = app.test_client()
    sign_in(client, DESK, secret)
    page = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    clock.offset = timedelta(minutes=20)  # went to answer the phone
    note = "Called at 9:10, patient will call back <after> lunch"
    response = client.post(f"/staff/submissions/{reference}/notes", data={"csrf_token": token_of(page), "body": note})
    assert response.status_code in (302, 303) and "/staff/sign-in" in response.location
    sign_in_page = client.get(response.location).get_data(as_text=True)
    assert "we will bring your change back" in sign_in_page
    with app.app_context():
        assert db.session.scalars(select(Note)).all() == []
    first = password_step(client, DESK, next_url=response.location.split("next=")[1].split("&")[0])
    done = code_step(client, first.location, current_code(secret))
    assert done.status_code == 302 and done.location == f"/staff/submissions/{reference}"
    back = client.get(done.location)
    assert back.status_code == 200
    html = back.get_data(as_text=True)
    assert "Called at 9:10, patient will call back &lt;after&gt; lunch</textarea>" in html
    assert "You were signed out before your note was saved" in html
    with app.app_context():
        assert db.session.scalars(select(Note)).all() == []  # not saved until they save it
    again = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    assert note.replace("<", "&lt;").replace(">", "&gt;") not in again  # offered back once only
    saved = client.post(f"/staff/submissions/{reference}/notes", data={"csrf_token": token_of(html), "body": note})
    assert saved.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Note.body)).all() == [note]


def test_a_status_change_sent_after_a_timeout_comes_back_selected_but_unsaved(app: Flask, clock: Clock) -> None:
    reference = add_submission(app, persona="urgent")
    secret = make_staff(app, DESK)
    client = app.test_client()
    sign_in(client, DESK, secret)
    page = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    clock.offset = timedelta(minutes=20)
    response = client.post(
        f"/staff/submissions/{reference}/status",
        data={"csrf_token": token_of(page), "status": "with_clinician", "version": version_on(page)},
    )
    assert "/staff/sign-in" in response.location
    first = password_step(client, DESK)
    html = client.get(code_step(client, first.location, current_code(secret)).location).get_data(as_text=True)
    assert '<option value="with_clinician" selected>' in html
    assert "You were signed out before your status change was saved" in html
    assert submission_row(app, reference).status == "new"


def test_a_change_kept_for_one_person_is_not_offered_to_another(app: Flask, clock: Clock) -> None:
    reference = add_submission(app, persona="urgent")
    secret = make_staff(app, DESK)
    other_secret = make_staff(app, "other@clinic.example")
    client = app.test_client()
    sign_in(client, DESK, secret)
    page = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    clock.offset = timedelta(minutes=20)
    client.post(f"/staff/submissions/{reference}/notes", data={"csrf_token": token_of(page), "body": "private draft"})
    sign_in(client, "other@clinic.example", other_secret)
    html = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    assert "private draft" not in html


def test_a_password_being_changed_when_the_session_timed_out_is_not_kept(app: Flask, clock: Clock) -> None:
    client = app.test_client()
    sign_in(client, DESK, make_staff(app, DESK))
    page = client.get("/staff/password").get_data(as_text=True)
    clock.offset = timedelta(minutes=20)
    response = client.post(
        "/staff/password",
        data={
            "csrf_token": token_of(page),
            "current": PASSWORD,
            "password": "my new secret phrase",
            "confirm": "my new secret phrase",
        },
    )
    assert response.status_code in (302, 303) and "/staff/sign-in" in response.location
    assert "kept=" not in response.location
    with app.app_context():
        assert [row.pending for row in db.session.scalars(select(StaffSession))] == [None]
    assert password_step(app.test_client(), DESK).status_code == 302  # the old password still works


# --- passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, ok",
    [
        ("a" * 3 + "bcd" + "e" * 5, False),  # 11 characters
        ("abcd efgh ijk", True),  # 13
        ("abcdefghijkl", False),  # 12, but on the common list
        ("Abcd efgh ij", True),  # 12
        (("a kettle of odd fish swims past forty red barns at dawn " * 3)[:128], True),  # 128
        (("a kettle of odd fish swims past forty red barns at dawn " * 3)[:129], False),  # 129
        ("x1y2" * 32, False),  # 128, but one short run repeated
        ("qwertyuiop[]asdf", False),  # a keyboard run
        ("Summer2024Summer2024", False),  # a word and a year, twice
        ("jennifer1985!!", False),  # a name and a date
        ("Password1234", False),  # common, whatever the case
        ("correcthorsebatterystaple", False),
        ("aaaaaaaaaaaaaaaa", False),  # long but one letter
        ("ozonetherapy", False),
    ],
)
def test_password_policy(password: str, ok: bool) -> None:
    assert (auth.password_problem(password) is None) is ok


def test_the_password_check_counts_the_account_and_the_clinic_as_known() -> None:
    phrase = "Riverside Clinic 2026!"
    assert auth.password_problem(phrase) is None
    assert auth.password_problem(phrase, ["desk@riverside.example", "desk", "riverside", "Riverside Clinic"])


@pytest.mark.parametrize("password", ["sectestclinic2024", "riversidehealth2024", "mariariversidehealth"])
def test_the_clinics_name_and_the_emails_parts_joined_up_or_word_by_word_count_as_known(
    make_app: Any, password: str
) -> None:
    """A password made of the clinic's name without its spaces (or the email's words run together)
    passed zxcvbn's top score; it is the first thing someone guessing at this clinic would try."""
    app = make_app(CLINIC_NAME="Sec Test Clinic")
    result = app.test_cli_runner().invoke(
        args=["staff", "create", "maria.lopez@riverside-health.example", "--role", "front_desk", "--password-stdin"],
        input=password + "\n",
    )
    assert result.exit_code != 0 and "too easy to guess" in result.output
    fine = app.test_cli_runner().invoke(
        args=["staff", "create", "maria.lopez@riverside-health.example", "--role", "front_desk", "--password-stdin"],
        input="odd kettles fly south\n",
    )
    assert fine.exit_code == 0, fine.output


def test_changing_the_password_applies_the_policy(app: Flask, clock: Clock) -> None:
    secret = make_staff(app, DESK)
    client = app.test_client()
    sign_in(client, DESK, secret)
    page = client.get("/staff/password").get_data(as_text=True)
    token = token_of(page)
    for new, confirm, message in (
        ("short", "short", "12 to 128"),
        ("password1234", "password1234", "too common"),
        ("Test Clinic 2026!", "Test Clinic 2026!", "too easy to guess"),  # the clinic's name
        ("a fine new password", "a different one!", "not the same"),
    ):
        response = client.post(
            "/staff/password", data={"csrf_token": token, "current": PASSWORD, "password": new, "confirm": confirm}
        )
        assert response.status_code == 400 and message in error_of(response)
        assert html_problems(response.get_data(as_text=True)) == []
    response = client.post(
        "/staff/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "password": "a fine new password",
            "confirm": "a fine new password",
        },
    )
    assert response.status_code == 302
    clock.offset = timedelta(minutes=1)
    assert password_step(app.test_client(), DESK).status_code == 400
    assert sign_in(app.test_client(), DESK, secret, password="a fine new password").status_code == 302
    assert [e.actor for e in audit_rows(app, "password_changed")] == [DESK]


def test_a_new_password_needs_the_current_one_and_ends_the_other_sessions(app: Flask, clock: Clock) -> None:
    """Someone at a screen left signed in cannot take the account over, and a password changed after
    a leak shuts out whoever used it."""
    secret = make_staff(app, DESK)
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, DESK, secret)
    clock.offset = timedelta(seconds=31)  # the next code: one code signs in once
    sign_in(elsewhere, DESK, secret)
    token = token_of(here.get("/staff/password").get_data(as_text=True))
    new = {"password": "a fine new password", "confirm": "a fine new password"}

    missing = here.post("/staff/password", data={"csrf_token": token, **new})
    assert missing.status_code == 400 and error_of(missing) == "Enter your current password"
    wrong = here.post("/staff/password", data={"csrf_token": token, "current": "not my password at all", **new})
    assert wrong.status_code == 400 and error_of(wrong) == "Your current password is not right"
    assert 'href="#current"' in wrong.get_data(as_text=True) and html_problems(wrong.get_data(as_text=True)) == []
    assert [e.actor for e in audit_rows(app, "password_change_failed")] == [DESK]
    assert password_step(app.test_client(), DESK, "a fine new password").status_code == 400  # nothing changed

    done = here.post("/staff/password", data={"csrf_token": token, "current": PASSWORD, **new})
    assert done.status_code == 302
    assert signed_in(here) and not signed_in(elsewhere)
    (event,) = audit_rows(app, "password_changed")
    assert (event.actor, event.detail) == (DESK, "1 other session(s) ended")


def test_the_bootstrap_administrator_must_choose_a_password_at_first_sign_in(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["staff", "bootstrap"])
    assert result.exit_code == 0, result.output
    email, password = re.search(
        r"as (\S+) with this one-time password \(shown only now\): (\S+)", result.output
    ).groups()  # type: ignore[union-attr]
    client = app.test_client()
    first = password_step(client, email, password)
    assert first.location.startswith("/staff/enrol")
    page = client.get("/staff/enrol").get_data(as_text=True)
    secret = re.search(r'data-testid="otp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    done = client.post("/staff/enrol", data={"csrf_token": token_of(page), "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302
    for url in ("/staff/", "/staff/admin/staff", "/staff/admin/audit"):
        response = client.get(url)
        assert response.status_code == 302 and response.location == "/staff/password", url
    page = client.get("/staff/password").get_data(as_text=True)
    assert "Choose a new password" in visible_text(page)
    same = client.post(
        "/staff/password",
        data={"csrf_token": token_of(page), "current": password, "password": password, "confirm": password},
    )
    assert same.status_code == 400 and "different" in error_of(same)  # the one-time password cannot stay
    response = client.post(
        "/staff/password",
        data={
            "csrf_token": token_of(page),
            "current": password,
            "password": "our clinic admin phrase",
            "confirm": "our clinic admin phrase",
        },
    )
    assert response.status_code == 302
    assert client.get("/staff/admin/staff").status_code == 200
    with app.app_context():
        admin = store.staff_by_email(email)
        assert admin is not None and admin.role == "admin" and not admin.must_change_password


def test_staff_sign_in_pages_are_valid_html_with_and_without_errors(app: Flask) -> None:
    client = app.test_client()
    assert html_problems(client.get("/staff/sign-in").get_data(as_text=True)) == []
    failed = password_step(client, "nobody@clinic.example")
    assert html_problems(failed.get_data(as_text=True)) == []
    secret = make_staff(app, DESK)
    first = password_step(client, DESK)
    assert html_problems(client.get(first.location).get_data(as_text=True)) == []
    wrong = code_step(client, first.location, "000000" if current_code(secret) != "000000" else "111111")
    assert html_problems(wrong.get_data(as_text=True)) == []


def test_signed_in_staff_pages_warn_before_the_idle_sign_out_and_then_close(app: Flask) -> None:
    """The parts staff.js needs (exercised in tests/browser/test_staff_browser.py): only on signed-in
    staff pages, the idle time of the server, a hidden warning, a keep-alive and a page without data."""
    reference = add_submission(app, persona="urgent")
    client = app.test_client()
    sign_in(client, DESK, make_staff(app, DESK))
    html = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    assert 'data-idle-seconds="900"' in html and 'src="/static/staff.js"' in html
    assert re.search(r'<div id="idle-warning"[^>]*role="alertdialog"[^>]*hidden>', html)
    assert html_problems(html) == []
    assert client.get("/staff/keepalive").status_code == 204
    closed = client.get("/staff/timed-out")
    assert closed.status_code == 200 and "This page has closed" in visible_text(closed.get_data(as_text=True))
    assert reference not in closed.get_data(as_text=True)
    assert signed_in(client)  # closing an idle page leaves another window's work alone
    anonymous = app.test_client()
    assert anonymous.get("/staff/keepalive").status_code == 302
    for page in (anonymous.get("/staff/sign-in"), anonymous.get("/"), anonymous.get("/staff/timed-out")):
        text = page.get_data(as_text=True)
        assert "data-idle-seconds" not in text and "staff.js" not in text and "idle-warning" not in text


def test_a_password_stored_with_older_hashing_settings_is_rehashed_at_sign_in(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = make_staff(app, DESK)  # stored with the cheap test settings
    with app.app_context():
        before = store.staff_by_email(DESK).password_hash  # type: ignore[union-attr]
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr(passwords, "HASHER", stronger)
    assert sign_in(app.test_client(), DESK, secret).status_code == 302
    with app.app_context():
        after = store.staff_by_email(DESK).password_hash  # type: ignore[union-attr]
    assert after != before and not stronger.check_needs_rehash(after) and stronger.verify(after, PASSWORD)


def test_a_one_time_password_expires_and_an_administrator_can_issue_a_new_one(app: Flask, clock: Clock) -> None:
    """ASVS 2.3.1: an initial password given to someone works for ONE_TIME_PASSWORD_DAYS only."""
    admin = app.test_client()
    sign_in(admin, "admin@clinic.example", make_staff(app, "admin@clinic.example", "admin"))
    token = csrf(admin, "/staff/admin/staff")
    page = admin.post(
        "/staff/admin/staff",
        data={"csrf_token": token, "email": "new@clinic.example", "role": "front_desk"},
        follow_redirects=True,
    ).get_data(as_text=True)
    first = re.search(r'<code class="reference">([^<]+)</code>', page).group(1)  # type: ignore[union-attr]
    assert "works for 7 days" in visible_text(page)
    clock.offset = timedelta(days=7, minutes=1)
    expired = password_step(app.test_client(), "new@clinic.example", first)
    assert expired.status_code == 400 and error_of(expired) == auth.VAGUE
    assert [e.detail for e in audit_rows(app, "sign_in_failed")] == ["one-time password expired"]
    with app.app_context():
        staff = store.staff_by_email("new@clinic.example")
        assert staff is not None and staff.failed_attempts == 0  # not a guess: nothing counted
        new_id = staff.id

    admin = app.test_client()  # the administrator's session has timed out meanwhile: sign in again
    with app.app_context():
        admin_secret = store.staff_by_email("admin@clinic.example").otp_secret  # type: ignore[union-attr]
    assert sign_in(admin, "admin@clinic.example", admin_secret).status_code == 302  # type: ignore[arg-type]
    reset = admin.post(
        f"/staff/admin/staff/{new_id}/reset-password", data={"csrf_token": csrf(admin, "/staff/"), "confirmed": "yes"}
    )
    assert reset.status_code == 303  # Post/Redirect/Get: the password is on the page it leads to, once
    reset = admin.get(reset.location)
    second = re.search(r'<code class="reference">([^<]+)</code>', reset.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert second != first and "signed out everywhere" in visible_text(reset.get_data(as_text=True))
    assert password_step(app.test_client(), "new@clinic.example", first).status_code == 400
    assert password_step(app.test_client(), "new@clinic.example", second).status_code == 302
    assert [e.detail for e in audit_rows(app, "staff_reset_password")] == ["new@clinic.example"]


def test_a_password_its_owner_chose_does_not_expire(app: Flask, clock: Clock) -> None:
    secret = make_staff(app, DESK)
    clock.offset = timedelta(days=400)
    assert sign_in(app.test_client(), DESK, secret).status_code == 302
