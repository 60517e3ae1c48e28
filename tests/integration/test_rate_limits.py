"""Rate limits that a flood from one address would notice: one patient limit over every patient page,
and whole-database downloads that stop (503) while the limit store is down, when patients go on."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from questionnaire.web import auth

from ..staff_factory import add_submission, csrf
from ..staff_helpers import make_staff, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")
FLOOD = {"REMOTE_ADDR": "203.0.113.9"}


def test_patient_posts_from_one_address_share_one_limit_over_every_page(make_app: Any) -> None:
    """With a limit per page, six pages' worth got through (720 posts a minute where 120 was meant)."""
    app = make_app(RATELIMIT_ENABLED=True, PATIENT_POST_LIMIT="4 per minute")
    client = app.test_client()
    posts = [("/start", {}), ("/language", {"lang": "es"}), ("/start-again", {}), ("/language", {"lang": "en"})]
    assert [client.post(url, data=data, environ_base=FLOOD).status_code for url, data in posts] == [302] * 4
    for url, data in posts:
        assert client.post(url, data=data, environ_base=FLOOD).status_code == 429, url
    # Another address has its own count.
    assert client.post("/start", environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code == 302


def test_bulk_downloads_fail_closed_while_the_limit_store_is_down_and_patients_fail_open(make_app: Any) -> None:
    """Nothing listens on port 9: the store is down. A download it cannot count is not sent."""
    signed_in = make_app()  # signs the administrator in while everything works
    add_submission(signed_in)
    admin = signed_in.test_client()
    sign_in(admin, "admin@clinic.example", make_staff(signed_in, "admin@clinic.example", "admin"))
    cookie = admin.get_cookie(auth.COOKIE, path="/staff")
    assert cookie is not None
    token = csrf(admin, "/staff/admin/export")

    down: Flask = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")
    client = down.test_client()
    client.set_cookie(auth.COOKIE, cookie.value, path="/staff")
    client.set_cookie(
        down.config["SESSION_COOKIE_NAME"], admin.get_cookie(signed_in.config["SESSION_COOKIE_NAME"]).value
    )  # type: ignore[union-attr]
    assert client.get("/staff/admin/audit?format=csv").status_code == 503
    assert client.get("/staff/admin/fhir-bundle").status_code == 503
    assert client.post("/staff/admin/export", data={"csrf_token": token, "columns": "reference"}).status_code == 503
    # The pages around the downloads, and the rest of the staff area, still work.
    assert client.get("/staff/admin/audit").status_code == 200
    assert client.get("/staff/admin/export").status_code == 200
    assert client.get("/staff/").status_code == 200
    # Patients fail open: they can always start and send their answers.
    assert down.test_client().post("/start").status_code == 302
