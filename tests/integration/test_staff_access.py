"""Who reaches what in the staff area: every route of the URL map, for no one and for each role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from questionnaire.data import store
from questionnaire.data.models import Note, Staff
from questionnaire.extensions import db

from ..helpers import EVERY_PAGE, html_problems
from ..staff_factory import add_submission, audit_rows, csrf, submission_row, version_on
from ..staff_helpers import make_staff, sign_in, token_of

pytestmark = pytest.mark.usefixtures("cheap_hashing")

ROLES = ("front_desk", "clinician", "admin")
ALL = frozenset(ROLES)
FULL = frozenset({"clinician", "admin"})
ADMIN = frozenset({"admin"})

# The pages and actions before sign-in; everything else under /staff/ needs a signed-in session.
PUBLIC = {"auth.sign_in", "auth.code", "auth.enrol", "auth.enrol_qr", "auth.sign_out", "auth.timed_out"}
# Which roles may GET / POST each staff endpoint. A new route must be added here to pass.
GET_ACCESS: dict[str, frozenset[str]] = {
    "staff.queue": ALL,
    "staff.submission": ALL,
    "auth.change_password": ALL,
    "staff.search_view": ALL,
    "auth.keepalive": ALL,  # "Stay signed in": 204, no page
    "staff.print_view": FULL,
    "interop.submission_response": FULL,  # the full answer set (print, FHIR)
    "staff.admin_staff": ADMIN,
    "staff.audit_log": ADMIN,
    "staff.export": ADMIN,
    "interop.bundle": ADMIN,
    "staff.admin_staff_confirm": ADMIN,
    "staff.delete_submission": ADMIN,
    "report.report": FULL,
    "report.csv_download": FULL,  # the medical director's report
    "staff.call_sheet": ALL,
    "staff.new_count": ALL,  # the front desk's call sheet, the queue's poll
}
POST_ACCESS: dict[str, frozenset[str]] = {
    "staff.add_note": ALL,
    "staff.set_status": ALL,
    "auth.change_password": ALL,
    "staff.admin_staff": ADMIN,
    "staff.admin_staff_action": ADMIN,
    "staff.export": ADMIN,
    "staff.delete_submission": ADMIN,
    "report.replay_candidate": FULL,
    "checkin_desk.start": ALL,  # check-in on the day: ends the session
    "staff.record_call": ALL,
    "staff.assign_to_me": ALL,  # the call log, "assign to me"
}

# Actions that remove the submission, or end the session (Start check-in): tested on their own (below,
# and in test_checkin.py), not in the walk of every action.
DESTRUCTIVE = {"staff.delete_submission", "checkin_desk.start"}

# Distinctive answers that are not part of any flag: only the full answer set shows them.
NOT_A_TRIGGER = {
    "injection_body_area": "Right shoulder blade",
    "blood_thinner_name": "Xarelto-Unique-Name",
    "prior_ozone_problem_details": "An itchy rash for a day",
}


@dataclass
class Clinic:
    app: Flask
    reference: str
    spare_id: int
    clients: dict[str, FlaskClient] = field(default_factory=dict)


@pytest.fixture
def clinic(app: Flask) -> Clinic:
    reference = add_submission(app, {**EVERY_PAGE, **NOT_A_TRIGGER, "other_concerns": "Please call after lunch"})
    clients: dict[str, FlaskClient] = {}
    for role in ROLES:
        secret = make_staff(app, f"{role}@clinic.example", role)
        client = app.test_client()
        assert sign_in(client, f"{role}@clinic.example", secret).status_code == 302
        clients[role] = client
    make_staff(app, "spare@clinic.example", "front_desk")
    with app.app_context():
        spare = store.staff_by_email("spare@clinic.example")
        assert spare is not None
        spare_id = spare.id
    return Clinic(app, reference, spare_id, clients)


def staff_rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/staff")]


def url_for_rule(rule: Rule, clinic: Clinic) -> str:
    values: dict[str, Any] = {
        "reference": clinic.reference,
        "staff_id": clinic.spare_id,
        "action": "sign-out-everywhere",
        "table": "levels",
    }
    if rule.endpoint == "staff.admin_staff_confirm":
        values["action"] = "deactivate"  # only deactivate and reset-password ask first
    with clinic.app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})


def methods(rule: Rule) -> set[str]:
    return set(rule.methods or ()) - {"HEAD", "OPTIONS"}


def goes_to_sign_in(response: Any) -> bool:
    return response.status_code in (302, 303) and response.location.split("?")[0].endswith("/staff/sign-in")


def test_every_staff_route_is_in_the_access_matrix(app: Flask) -> None:
    seen = set()
    for rule in staff_rules(app):
        seen.add(rule.endpoint)
        if rule.endpoint in PUBLIC:
            continue
        expected = ({"GET"} if rule.endpoint in GET_ACCESS else set()) | (
            {"POST"} if rule.endpoint in POST_ACCESS else set()
        )
        assert methods(rule) == expected, f"{rule.rule} ({rule.endpoint}) is not classified for {methods(rule)}"
    assert set(GET_ACCESS) | set(POST_ACCESS) | PUBLIC == seen


def test_without_a_session_every_staff_page_redirects_to_sign_in(clinic: Clinic) -> None:
    client = clinic.app.test_client()
    checked = 0
    for rule in staff_rules(clinic.app):
        if rule.endpoint in PUBLIC or "GET" not in methods(rule):
            continue
        url = url_for_rule(rule, clinic)
        response = client.get(url)
        assert goes_to_sign_in(response), (url, response.status_code)
        assert "next=" in response.location
        checked += 1
    assert checked == len(GET_ACCESS)


def test_without_a_session_every_staff_action_is_refused_and_changes_nothing(clinic: Clinic) -> None:
    client = clinic.app.test_client()
    token = csrf(client)  # a valid CSRF token, so that it is the missing session that refuses
    for rule in staff_rules(clinic.app):
        if rule.endpoint in PUBLIC or "POST" not in methods(rule):
            continue
        url = url_for_rule(rule, clinic)
        response = client.post(
            url,
            data={
                "csrf_token": token,
                "body": "sneaky",
                "status": "closed",
                "version": "1",
                "email": "intruder@example.com",
                "role": "admin",
                "columns": "contact_name",
                "password": "a brand new password",
                "confirm": "a brand new password",
            },
        )
        assert response.status_code in (401, 403) or goes_to_sign_in(response), (url, response.status_code)
        assert "text/csv" not in response.content_type
    sub = submission_row(clinic.app, clinic.reference)
    assert (sub.status, sub.version) == ("new", 1)
    with clinic.app.app_context():
        assert db.session.scalars(select(Note)).all() == []
        assert store.staff_by_email("intruder@example.com") is None
        assert store.staff_by_email("spare@clinic.example").active  # type: ignore[union-attr]


def test_a_password_without_the_code_does_not_open_the_staff_area(clinic: Clinic) -> None:
    client = clinic.app.test_client()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    response = client.post(
        "/staff/sign-in",
        data={
            "csrf_token": token_of(page),
            "email": "admin@clinic.example",
            "password": "correct horse battery staple 42",
        },
    )
    assert response.location.startswith("/staff/code")
    for url in ("/staff/", f"/staff/submissions/{clinic.reference}", "/staff/admin/audit", "/staff/password"):
        assert goes_to_sign_in(client.get(url)), url
    token = token_of(page)
    refused = client.post(f"/staff/submissions/{clinic.reference}/notes", data={"csrf_token": token, "body": "x"})
    assert refused.status_code in (401, 403) or goes_to_sign_in(refused)


def test_each_role_gets_exactly_the_pages_its_matrix_allows(clinic: Clinic) -> None:
    for role, client in clinic.clients.items():
        for rule in staff_rules(clinic.app):
            if rule.endpoint not in GET_ACCESS:
                continue
            url = url_for_rule(rule, clinic)
            response = client.get(url)
            allowed = 204 if rule.endpoint == "auth.keepalive" else 200
            expected = allowed if role in GET_ACCESS[rule.endpoint] else 403
            assert response.status_code == expected, (role, url, response.status_code)


def _post_data(endpoint: str, app: Flask, reference: str, n: int) -> dict[str, Any]:
    return {
        "staff.add_note": {"body": f"note {n}"},
        "staff.set_status": {"status": "contacted", "version": str(submission_row(app, reference).version)},
        "auth.change_password": {"password": "a new long password one", "confirm": "does not match"},
        "staff.admin_staff": {"email": f"new{n}@clinic.example", "role": "front_desk"},
        "staff.admin_staff_action": {},
        "staff.export": {"columns": "reference"},
        "report.replay_candidate": {},  # no file: the page says so
        "staff.record_call": {"outcome": "voicemail"},
        "staff.assign_to_me": {},
    }[endpoint]


ALLOWED_POST_STATUS = {
    "staff.add_note": 303,
    "staff.set_status": 303,
    "auth.change_password": 400,
    "staff.admin_staff": 303,
    "staff.admin_staff_action": 303,
    "staff.export": 200,
    "report.replay_candidate": 400,
    "staff.record_call": 303,
    "staff.assign_to_me": 303,
}


def test_each_role_can_do_exactly_the_actions_its_matrix_allows(clinic: Clinic) -> None:
    n = 0
    for role, client in clinic.clients.items():
        token = csrf(client, "/staff/")
        for rule in staff_rules(clinic.app):
            if rule.endpoint not in POST_ACCESS or rule.endpoint in DESTRUCTIVE:
                continue
            n += 1
            url = url_for_rule(rule, clinic)
            response = client.post(
                url, data={"csrf_token": token, **_post_data(rule.endpoint, clinic.app, clinic.reference, n)}
            )
            allowed = role in POST_ACCESS[rule.endpoint]
            expected = ALLOWED_POST_STATUS[rule.endpoint] if allowed else 403
            assert response.status_code == expected, (role, url, response.status_code)
    with clinic.app.app_context():
        created = sorted(s.email for s in store.all_staff() if s.email.startswith("new"))
        notes = db.session.scalars(select(Note.author)).all()
    # Only the administrator's account creation went through; every role could add a note.
    assert len(created) == 1
    assert sorted(notes) == sorted(f"{r}@clinic.example" for r in ROLES)
    assert submission_row(clinic.app, clinic.reference).version == 1 + len(ROLES)


def test_front_desk_sees_contact_flags_triggers_notes_and_status_but_not_every_answer(clinic: Clinic) -> None:
    page = clinic.clients["front_desk"].get(f"/staff/submissions/{clinic.reference}").get_data(as_text=True)
    for shown in (
        "Alex Example",
        "0161 496 0001",
        "alex@example.com",
        "Morning",  # contact and preferred time
        "Takes a blood thinner, injection possible",
        "Do you take a medicine that thins your blood",  # flag, trigger
        'id="notes"',
        'name="status"',
        "Staff note:",
    ):
        assert shown in page, shown
    # The free text that raised r_other_info is a triggering answer, so the front desk reads it.
    assert "Patient wrote something else the clinic should know" in page and "Please call after lunch" in page
    assert "r_blood_thinner_injection" not in page and "r_other_info" not in page  # flags in words, not by id
    for hidden in ("All answers", *NOT_A_TRIGGER.values(), f"/staff/submissions/{clinic.reference}/print"):
        assert hidden not in page, hidden


@pytest.mark.parametrize("role", ["clinician", "admin"])
def test_clinicians_and_administrators_also_see_every_answer_and_the_print_view(clinic: Clinic, role: str) -> None:
    client = clinic.clients[role]
    page = client.get(f"/staff/submissions/{clinic.reference}").get_data(as_text=True)
    printed = client.get(f"/staff/submissions/{clinic.reference}/print").get_data(as_text=True)
    for text in (page, printed):
        assert all(value in text for value in NOT_A_TRIGGER.values())
        assert "r_blood_thinner_injection" in text and "Alex Example" in text
    assert f"/staff/submissions/{clinic.reference}/print" in page


def test_staff_navigation_shows_administration_only_to_administrators(clinic: Clinic) -> None:
    for role, client in clinic.clients.items():
        page = client.get("/staff/").get_data(as_text=True)
        for link in ("/staff/admin/staff", "/staff/admin/audit", "/staff/admin/export"):
            assert (link in page) == (role == "admin"), (role, link)


def test_another_roles_urls_are_refused_and_the_attempt_is_audited(clinic: Clinic) -> None:
    desk = clinic.clients["front_desk"]
    for url in (
        f"/staff/submissions/{clinic.reference}/print",
        "/staff/admin/staff",
        "/staff/admin/audit",
        "/staff/admin/audit?format=csv",
        "/staff/admin/export",
        f"/staff/submissions/{clinic.reference}/fhir",
    ):
        response = desk.get(url)
        assert response.status_code == 403, url
        assert "Alex Example" not in response.get_data(as_text=True)
    token = csrf(desk, "/staff/")
    for action in ("deactivate", "reset-otp", "sign-out-everywhere", "activate", "reset-password"):
        response = desk.post(f"/staff/admin/staff/{clinic.spare_id}/{action}", data={"csrf_token": token})
        assert response.status_code == 403
    with clinic.app.app_context():
        spare = db.session.get(Staff, clinic.spare_id)
        assert spare is not None and spare.active and spare.otp_confirmed and not spare.must_change_password
    forbidden = audit_rows(clinic.app, "forbidden")
    assert len(forbidden) == 11
    assert {e.actor for e in forbidden} == {"front_desk@clinic.example"}
    assert all(e.ip == "127.0.0.1" for e in forbidden)


def test_guessing_references_and_ids_that_do_not_exist_gives_404(clinic: Clinic) -> None:
    clinician, admin = clinic.clients["clinician"], clinic.clients["admin"]
    token = csrf(clinician, "/staff/")
    for guess in ("ABCD-EFGH", "AAAA-AAAA", "../admin", "0", "%3Cscript%3E"):
        assert clinician.get(f"/staff/submissions/{guess}").status_code == 404, guess
        assert clinician.get(f"/staff/submissions/{guess}/print").status_code == 404, guess
        assert (
            clinician.post(f"/staff/submissions/{guess}/notes", data={"csrf_token": token, "body": "x"}).status_code
            == 404
        )
        assert (
            clinician.post(
                f"/staff/submissions/{guess}/status", data={"csrf_token": token, "status": "closed", "version": "1"}
            ).status_code
            == 404
        )
    admin_token = csrf(admin, "/staff/")
    assert (
        admin.post(
            "/staff/admin/staff/999999/deactivate", data={"csrf_token": admin_token, "confirmed": "yes"}
        ).status_code
        == 404
    )
    assert (
        admin.post(f"/staff/admin/staff/{clinic.spare_id}/delete", data={"csrf_token": admin_token}).status_code == 404
    )
    with clinic.app.app_context():
        assert db.session.scalars(select(Note)).all() == []


def test_staff_pages_are_never_cached(clinic: Clinic) -> None:
    client = clinic.clients["admin"]
    for url in (
        "/staff/",
        f"/staff/submissions/{clinic.reference}",
        f"/staff/submissions/{clinic.reference}/print",
        "/staff/admin/staff",
        "/staff/admin/audit",
        "/staff/admin/audit?format=csv",
        "/staff/admin/export",
        "/staff/sign-in",
    ):
        assert "no-store" in client.get(url).headers.get("Cache-Control", ""), url


def test_every_staff_page_is_valid_accessible_html(clinic: Clinic) -> None:
    for role, client in clinic.clients.items():
        for url in (
            "/staff/",
            f"/staff/submissions/{clinic.reference}",
            f"/staff/submissions/{clinic.reference}/print",
            "/staff/admin/staff",
            "/staff/admin/audit",
            "/staff/admin/export",
            "/staff/password",
        ):
            response = client.get(url)
            if response.status_code == 200:
                assert html_problems(response.get_data(as_text=True)) == [], (role, url)
    fresh = clinic.app.test_client()
    assert html_problems(fresh.get("/staff/sign-in").get_data(as_text=True)) == []


def test_the_conflict_page_and_note_errors_are_accessible(clinic: Clinic) -> None:
    desk = clinic.clients["front_desk"]
    page = desk.get(f"/staff/submissions/{clinic.reference}").get_data(as_text=True)
    token, version = token_of(page), version_on(page)
    empty = desk.post(f"/staff/submissions/{clinic.reference}/notes", data={"csrf_token": token, "body": ""})
    assert empty.status_code == 400
    assert html_problems(empty.get_data(as_text=True)) == []
    desk.post(
        f"/staff/submissions/{clinic.reference}/status",
        data={"csrf_token": token, "status": "contacted", "version": version},
    )
    conflict = desk.post(
        f"/staff/submissions/{clinic.reference}/status",
        data={"csrf_token": token, "status": "closed", "version": version},
    )
    assert conflict.status_code == 409
    assert html_problems(conflict.get_data(as_text=True)) == []


def test_only_an_administrator_deletes_a_submission_on_request_and_it_is_audited(clinic: Clinic) -> None:
    url = f"/staff/submissions/{clinic.reference}/delete"
    for role in ("front_desk", "clinician"):
        client = clinic.clients[role]
        assert client.get(url).status_code == 403
        assert client.post(url, data={"csrf_token": csrf(client, "/staff/")}).status_code == 403
    assert submission_row(clinic.app, clinic.reference) is not None
    admin = clinic.clients["admin"]
    confirm = admin.get(url)
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    done = admin.post(url, data={"csrf_token": token_of(confirm.get_data(as_text=True))})
    assert done.status_code == 200 and "has been deleted" in done.get_data(as_text=True)
    assert admin.get(f"/staff/submissions/{clinic.reference}").status_code == 404
    with clinic.app.app_context():
        events = [e for e in store.audit_events(reference=clinic.reference) if e.action == "submission_deleted"]
        assert [e.actor for e in events] == ["admin@clinic.example"]
        assert "Alex Example" not in (events[0].detail or "")
        assert db.session.scalars(select(Note)).all() == []
