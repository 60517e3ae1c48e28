"""Bad input from a staff member's browser or an attacker gets a 4xx with a message, never a 5xx: JSON
bodies, digits that int() refuses, dates at the end of the calendar, numbers larger than the database
holds (PostgreSQL refuses them where SQLite does not), and an email that grows when lower-cased."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from questionnaire.web import auth

from ..helpers import visible_text
from ..staff_factory import add_submission, audit_rows, csrf
from ..staff_helpers import PASSWORD, make_staff, sign_in, token_of

pytestmark = pytest.mark.usefixtures("cheap_hashing")
ADMIN = "admin@clinic.example"


@pytest.fixture
def server_errors_as_pages(make_app: Any) -> Flask:
    """An app that answers an unhandled exception with its 500 page, as in production (not a raise)."""
    app: Flask = make_app(PROPAGATE_EXCEPTIONS=False)
    return app


def admin_client(app: Flask) -> Any:
    client = app.test_client()
    sign_in(client, ADMIN, make_staff(app, ADMIN, "admin"))
    return client


@pytest.mark.parametrize(
    "body", [{"email": {"a": 1}, "password": "pw"}, "just a string", [1, 2], {"email": ["x"], "password": "y"}]
)
def test_json_posted_to_sign_in_with_a_form_token_header_is_refused(server_errors_as_pages: Flask, body: Any) -> None:
    app = server_errors_as_pages
    client = app.test_client()
    token = csrf(client)
    response = client.post("/staff/sign-in", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 415
    assert "Please go back and try again" in visible_text(response.get_data(as_text=True))


@pytest.mark.parametrize(
    "url, message",
    [
        ("/staff/?to=9999-12-31", "out of range"),
        ("/staff/admin/audit?before=²", "does not exist"),
        ("/staff/admin/audit?before=99999999999999999999999", "does not exist"),
        ("/staff/admin/fhir-bundle?to=9999-12-31", "out of range"),
    ],
)
def test_out_of_range_filters_are_a_400_with_a_message(server_errors_as_pages: Flask, url: str, message: str) -> None:
    client = admin_client(server_errors_as_pages)
    response = client.get(url)
    assert response.status_code == 400
    assert message in visible_text(response.get_data(as_text=True))


def test_a_queue_cursor_with_numbers_larger_than_the_database_holds_is_ignored(server_errors_as_pages: Flask) -> None:
    """On PostgreSQL an integer over 2^31-1 in the query failed the page (a 503 'unavailable')."""
    client = admin_client(server_errors_as_pages)
    for cursor in ("99999999999999999999_1_99999999999999999999", "1_1_99999999999", "1_2_²"):
        assert client.get(f"/staff/?after={cursor}&before=²").status_code == 200, cursor


@pytest.mark.parametrize("version", ["²", "9" * 40, "99999999999", "-1", ""])
def test_a_status_change_with_an_impossible_version_is_a_400_with_a_message(
    server_errors_as_pages: Flask, version: str
) -> None:
    app = server_errors_as_pages
    reference = add_submission(app)
    client = admin_client(app)
    page = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    response = client.post(
        f"/staff/submissions/{reference}/status",
        data={"csrf_token": token_of(page), "status": "contacted", "version": version},
    )
    assert response.status_code == 400
    assert "reload the page" in visible_text(response.get_data(as_text=True))
    assert audit_rows(app, "status_changed") == []


def test_an_export_to_the_last_day_of_the_calendar_is_a_400(server_errors_as_pages: Flask) -> None:
    client = admin_client(server_errors_as_pages)
    token = csrf(client, "/staff/admin/export")
    response = client.post(
        "/staff/admin/export", data={"csrf_token": token, "columns": "reference", "to": "9999-12-31"}
    )
    assert response.status_code == 400 and "out of range" in visible_text(response.get_data(as_text=True))


def test_an_email_that_grows_when_lower_cased_is_an_ordinary_failed_sign_in_and_audited(
    server_errors_as_pages: Flask,
) -> None:
    """200 dotted capital I's become 400 characters in lower case: longer than the email and actor
    columns. On PostgreSQL that gave a false 503 'database unavailable' and no audit event."""
    app = server_errors_as_pages
    make_staff(app, "desk@clinic.example")
    client = app.test_client()
    response = client.post(
        "/staff/sign-in", data={"csrf_token": csrf(client), "email": "İ" * 200, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert auth.VAGUE in response.get_data(as_text=True)
    (event,) = audit_rows(app, "sign_in_failed")
    assert event.actor is not None and event.actor.startswith("i̇" * 10) and len(event.actor) <= 254


def test_an_account_cannot_be_created_with_an_email_that_grows_past_the_column(server_errors_as_pages: Flask) -> None:
    client = admin_client(server_errors_as_pages)
    token = csrf(client, "/staff/admin/staff")
    response = client.post(
        "/staff/admin/staff", data={"csrf_token": token, "email": "İ" * 200 + "@x.example", "role": "front_desk"}
    )
    assert response.status_code == 400 and "Enter an email address like" in visible_text(
        response.get_data(as_text=True)
    )
