"""Staff test helpers: accounts made through the store, and a signed-in test client."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient

from questionnaire.data import store
from questionnaire.data.models import CLOCK
from questionnaire.web import auth

PASSWORD = "correct horse battery staple 42"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def make_staff(
    app: Flask, email: str = "desk@clinic.example", role: str = "front_desk", password: str = PASSWORD
) -> str:
    """Create an account with a confirmed one-time code; returns its TOTP secret."""
    secret = pyotp.random_base32()
    with app.app_context():
        staff = store.create_staff(email, role, auth.hash_password(password))
        store.update_staff(staff, otp_secret=secret, otp_confirmed=True)
    return secret


def token_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def current_code(secret: str, step_offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(CLOCK.now().timestamp() + 30 * step_offset)


def sign_in(client: FlaskClient, email: str, secret: str, password: str = PASSWORD) -> Any:
    page = client.get("/staff/sign-in")
    response = client.post(
        "/staff/sign-in",
        data={"csrf_token": token_of(page.get_data(as_text=True)), "email": email, "password": password},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(response.location)
    return client.post(
        response.location, data={"csrf_token": token_of(page.get_data(as_text=True)), "code": current_code(secret)}
    )
