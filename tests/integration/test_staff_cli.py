"""`flask staff create|deactivate|reset-otp|bootstrap`."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from questionnaire.data import store
from questionnaire.extensions import db
from questionnaire.web import auth

from ..staff_factory import audit_rows
from ..staff_helpers import make_staff, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")

GOOD = "a long clinic pass phrase"
ONE_TIME = re.compile(r"as (\S+) with this one-time password \(shown only now\): (\S+)")


def staff(app: Flask, email: str) -> Any:
    with app.app_context():
        found = store.staff_by_email(email)
        if found is not None:
            db.session.expunge(found)
        return found


def test_create_reads_the_password_from_stdin_and_the_account_enrols_at_first_sign_in(app: Flask, runner: Any) -> None:
    result = runner.invoke(
        args=["staff", "create", "Nurse@Clinic.Example", "--role", "clinician", "--password-stdin"], input=GOOD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created nurse@clinic.example (clinician)" in result.output and GOOD not in result.output
    made = staff(app, "nurse@clinic.example")
    assert made is not None and made.role == "clinician" and made.active and not made.otp_confirmed
    assert made.password_hash.startswith("$argon2id$") and GOOD not in made.password_hash
    client = app.test_client()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/staff/sign-in", data={"csrf_token": token, "email": "nurse@clinic.example", "password": GOOD}
    )
    assert response.status_code == 302 and response.location.startswith("/staff/enrol")
    (event,) = audit_rows(app, "staff_created")
    assert (event.actor, event.detail) == ("cli", "nurse@clinic.example as clinician")


def test_create_asks_for_the_password_with_a_hidden_prompt(app: Flask, runner: Any) -> None:
    result = runner.invoke(
        args=["staff", "create", "desk@clinic.example", "--role", "front_desk"], input=f"{GOOD}\n{GOOD}\n"
    )
    assert result.exit_code == 0, result.output
    assert GOOD not in result.output  # hidden: not echoed
    assert staff(app, "desk@clinic.example") is not None


@pytest.mark.parametrize(
    "password, message",
    [("too short", "12 to 128"), ("password1234", "too common"), ("x" * 129, "12 to 128"), ("", "12 to 128")],
)
def test_create_refuses_a_weak_password(app: Flask, runner: Any, password: str, message: str) -> None:
    result = runner.invoke(
        args=["staff", "create", "desk@clinic.example", "--role", "front_desk", "--password-stdin"],
        input=password + "\n",
    )
    assert result.exit_code != 0 and message in result.output
    assert staff(app, "desk@clinic.example") is None


def test_create_refuses_a_duplicate_a_bad_email_and_an_unknown_role(app: Flask, runner: Any) -> None:
    make_staff(app, "desk@clinic.example")
    result = runner.invoke(
        args=["staff", "create", "DESK@clinic.example", "--role", "admin", "--password-stdin"], input=GOOD + "\n"
    )
    assert result.exit_code != 0 and "already an account" in result.output
    assert staff(app, "desk@clinic.example").role == "front_desk"
    result = runner.invoke(
        args=["staff", "create", "not-an-email", "--role", "admin", "--password-stdin"], input=GOOD + "\n"
    )
    assert result.exit_code != 0 and staff(app, "not-an-email") is None
    result = runner.invoke(
        args=["staff", "create", "boss@clinic.example", "--role", "owner", "--password-stdin"], input=GOOD + "\n"
    )
    assert result.exit_code != 0 and staff(app, "boss@clinic.example") is None


def test_deactivate_ends_sessions_at_once_and_stops_sign_in(app: Flask, runner: Any) -> None:
    secret = make_staff(app, "desk@clinic.example")
    client = app.test_client()
    sign_in(client, "desk@clinic.example", secret)
    assert client.get("/staff/").status_code == 200
    result = runner.invoke(args=["staff", "deactivate", "desk@clinic.example"])
    assert result.exit_code == 0, result.output
    assert client.get("/staff/").status_code == 302
    assert not staff(app, "desk@clinic.example").active
    (event,) = audit_rows(app, "staff_deactivate")
    assert (event.actor, event.detail) == ("cli", "desk@clinic.example")
    missing = runner.invoke(args=["staff", "deactivate", "nobody@clinic.example"])
    assert missing.exit_code != 0 and "no account" in missing.output


def test_deactivate_refuses_the_last_active_administrator(app: Flask, runner: Any) -> None:
    make_staff(app, "admin@clinic.example", "admin")
    result = runner.invoke(args=["staff", "deactivate", "admin@clinic.example"])
    assert result.exit_code != 0
    assert "only active administrator" in result.output and "flask staff create EMAIL --role admin" in result.output
    assert staff(app, "admin@clinic.example").active and audit_rows(app, "staff_deactivate") == []
    make_staff(app, "deputy@clinic.example", "admin")
    assert runner.invoke(args=["staff", "deactivate", "admin@clinic.example"]).exit_code == 0
    assert not staff(app, "admin@clinic.example").active


def test_reset_otp_makes_the_next_sign_in_enrol_a_new_code(app: Flask, runner: Any) -> None:
    secret = make_staff(app, "desk@clinic.example")
    client = app.test_client()
    sign_in(client, "desk@clinic.example", secret)
    result = runner.invoke(args=["staff", "reset-otp", "desk@clinic.example"])
    assert result.exit_code == 0, result.output
    assert client.get("/staff/").status_code == 302  # signed out everywhere
    after = staff(app, "desk@clinic.example")
    assert after.otp_secret is None and not after.otp_confirmed
    assert [e.detail for e in audit_rows(app, "staff_reset_otp")] == ["desk@clinic.example"]
    assert runner.invoke(args=["staff", "reset-otp", "nobody@clinic.example"]).exit_code != 0


def test_bootstrap_creates_one_administrator_with_a_one_time_password_only_on_an_empty_database(
    app: Flask, runner: Any
) -> None:
    first = runner.invoke(args=["staff", "bootstrap"])
    assert first.exit_code == 0, first.output
    email, password = ONE_TIME.search(first.output).groups()  # type: ignore[union-attr]
    assert auth.password_problem(password) is None
    admin = staff(app, email)
    assert admin.role == "admin" and admin.must_change_password and auth.check_password(admin, password)
    second = runner.invoke(args=["staff", "bootstrap"])
    assert second.exit_code == 0 and "password" not in second.output.lower()
    with app.app_context():
        assert store.staff_count() == 1
        assert auth.check_password(store.staff_by_email(email), password)  # unchanged
    assert len(audit_rows(app, "staff_created")) == 1


def test_bootstrap_does_nothing_when_any_staff_account_exists(app: Flask, runner: Any) -> None:
    make_staff(app, "desk@clinic.example")
    result = runner.invoke(args=["staff", "bootstrap"])
    assert result.exit_code == 0 and ONE_TIME.search(result.output) is None
    with app.app_context():
        assert store.staff_count() == 1 and all(s.role == "front_desk" for s in store.all_staff())


def test_there_is_no_default_account(app: Flask) -> None:
    with app.app_context():
        assert store.staff_count() == 0
    client = app.test_client()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    for email, password in (("admin@clinic.invalid", "admin"), ("admin", "admin"), ("admin@example.com", "password")):
        assert (
            client.post("/staff/sign-in", data={"csrf_token": token, "email": email, "password": password}).status_code
            == 400
        )


def test_reset_password_prints_a_one_time_password_that_must_be_changed(app: Flask, runner: Any) -> None:
    secret = make_staff(app, "desk@clinic.example")
    client = app.test_client()
    sign_in(client, "desk@clinic.example", secret)
    result = runner.invoke(args=["staff", "reset-password", "desk@clinic.example"])
    assert result.exit_code == 0, result.output
    password = re.search(r"\(shown only now, valid for 7 days\): (\S+)$", result.output.strip()).group(1)  # type: ignore[union-attr]
    assert client.get("/staff/").status_code == 302  # signed out everywhere
    account = staff(app, "desk@clinic.example")
    assert account.must_change_password and auth.check_password(account, password)
    (event,) = audit_rows(app, "staff_reset_password")
    assert (event.actor, event.detail) == ("cli", "desk@clinic.example")
    assert runner.invoke(args=["staff", "reset-password", "nobody@clinic.example"]).exit_code != 0
