"""What a worker remembers of the signatures it checked or made (web/signed.py): the same cookie and
form token are not verified again on every page, and nothing that verification refuses gets in."""

from __future__ import annotations

import time
from typing import Any

import itsdangerous
import pytest
from flask import Flask, request

from questionnaire.web.signed import Remembered

from ..helpers import NO_FLAGS, TOKEN, Patient, form_data, session_data, visible_text


def page_token(patient: Patient, page: str) -> str:
    return TOKEN.search(patient.get(f"/questions/{page}").get_data(as_text=True)).group(1)  # type: ignore[union-attr]


def test_a_token_accepted_once_is_still_refused_with_another_browsers_session(app: Flask) -> None:
    owner, other = Patient(app.test_client()), Patient(app.test_client())
    owner.reach("about", NO_FLAGS)  # its token was accepted on the first page: this worker remembers it
    other.reach("about", NO_FLAGS)
    borrowed = page_token(owner, "about")
    assert borrowed == owner.token  # the same token on every page of one session
    response = other.client.post("/questions/about", data={**form_data("about", NO_FLAGS), "csrf_token": borrowed})
    assert response.status_code == 303 and response.location == "/questions/about"
    assert "We could not save this page" in visible_text(other.get(response.location).get_data(as_text=True))
    assert owner.answer("about", form_data("about", NO_FLAGS)).location == "/questions/blood"


def test_a_remembered_cookie_still_runs_out(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    patient = Patient(app.test_client())
    patient.start()
    assert patient.get("/questions/urgent").status_code == 200  # the cookie is verified and remembered
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    later = time.time() + lifetime + 60
    monkeypatch.setattr(time, "time", lambda: later)
    response = patient.get("/questions/urgent")
    assert response.status_code == 302 and response.location == "/"


def test_a_remembered_cookie_is_refused_once_the_secret_key_changes(app: Flask) -> None:
    patient = Patient(app.test_client())
    patient.start()
    assert patient.get("/questions/urgent").status_code == 200
    app.secret_key = "another-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
    response = patient.get("/questions/urgent")
    assert response.status_code == 302 and response.location == "/"


def test_a_session_holding_a_list_is_read_afresh_each_time(app: Flask) -> None:
    """Only flat sessions are remembered: a list in one (Flask's flashed messages) may be changed in
    place by the request that reads it, and the next request must not see that change."""
    cookie = app.session_interface.get_signing_serializer(app).dumps({"_flashes": [["message", "Saved"]]})  # type: ignore[attr-defined]
    interface = app.session_interface
    for _ in range(2):
        with app.test_request_context("/", headers={"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}"}):
            opened = interface.open_session(app, request)
            assert opened is not None and opened["_flashes"] == [["message", "Saved"]]
            opened["_flashes"].append(["message", "changed in place"])


@pytest.mark.parametrize("limit", [None, 600], ids=["no time limit", "a time limit"])
def test_a_page_shows_the_same_token_unless_tokens_have_a_time_limit(
    make_app: Any, monkeypatch: pytest.MonkeyPatch, limit: int | None
) -> None:
    """Without a time limit the token signed first is shown again; with one, every page signs its
    own, so a page never carries a token older than the page."""
    app = make_app(WTF_CSRF_TIME_LIMIT=limit)
    patient = Patient(app.test_client())
    patient.start()
    now = int(time.time())
    tokens = []
    for shift in (0, 90):
        with monkeypatch.context() as m:
            m.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self, s=shift: now + s)
            tokens.append(page_token(patient, "urgent"))
    assert (tokens[0] == tokens[1]) is (limit is None)
    serializer = itsdangerous.URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
    assert all(serializer.loads(t) == session_data(patient.client)["csrf_token"] for t in tokens)


def test_remembered_entries_are_bounded_oldest_out() -> None:
    memory: Remembered[int] = Remembered(3)
    for n in range(5):
        memory.put(f"k{n}", n)
    assert [memory.get(f"k{n}") for n in range(5)] == [None, None, 2, 3, 4]
