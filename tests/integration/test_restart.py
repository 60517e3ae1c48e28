"""Restarting the server between two pages loses nothing.

The app runs for real (gunicorn on a loopback port, tests/servers.py); a patient with a plain HTTP
client and a cookie jar answers the first pages, the server stops and starts again on the same
database and secret key, and the patient carries on with the same cookie and the page they had
open. On SQLite by default; on a fresh PostgreSQL database when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from questionnaire import create_app
from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.data.models import Submission
from questionnaire.extensions import db

from ..conftest import unavailable
from ..helpers import PERSONAS, form_data
from ..servers import TEST_SECRET_KEY, LiveServer, ServiceMissing, fresh_database

pytestmark = pytest.mark.slow

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
REQUEST_TIMEOUT = 15


@dataclass
class Reply:
    status: int
    headers: Message
    body: str

    @property
    def location(self) -> str:
        """The redirect target's path (and query), whatever host the server wrote."""
        parts = urlsplit(self.headers.get("Location", ""))
        return parts.path + (f"?{parts.query}" if parts.query else "")


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # every redirect comes back to the test, which checks where it points


class HttpPatient:
    """A browser without JavaScript: urllib with a cookie jar, a CSRF token taken from each page."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), NoRedirects())
        self.token = ""

    def request(self, method: str, path: str, fields: list[tuple[str, str]] | None = None) -> Reply:
        data = urlencode(fields).encode() if fields is not None else None
        req = urllib.request.Request(self.server.url(path), data=data, method=method)
        try:
            with self.opener.open(req, timeout=REQUEST_TIMEOUT) as response:
                reply = Reply(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as exc:  # 3xx (redirects are not followed), 4xx, 5xx
            with exc:
                reply = Reply(exc.code, exc.headers, exc.read().decode())
        found = TOKEN.search(reply.body)
        if found:
            self.token = unescape(found.group(1))
        return reply

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, Any]) -> Reply:
        fields = [("csrf_token", self.token)]
        for name, value in data.items():
            fields += [(name, v) for v in value] if isinstance(value, list) else [(name, str(value))]
        return self.request("POST", path, fields)

    def session_cookie(self) -> str:
        [value] = [c.value for c in self.cookies if c.name == "oq_session"]
        return value or ""


def session_data(patient: HttpPatient) -> dict[str, Any]:
    """The signed session cookie's content: a draft id and a CSRF secret, never an answer."""
    app = Flask(__name__)
    app.secret_key = TEST_SECRET_KEY
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    data: dict[str, Any] = serializer.loads(patient.session_cookie())
    assert set(data) <= {"draft", "csrf_token", "lang", "_permanent"}, set(data)
    return data


def expect_page(reply: Reply, page_id: str) -> None:
    assert reply.status == 200, (page_id, reply.status, reply.body[:2000])
    assert 'name="csrf_token"' in reply.body


def answer(patient: HttpPatient, page_id: str, answers: dict[str, Any], *, open_first: bool = True) -> str:
    """Answer one page (GET it unless it is already open, POST its form); return the redirect target."""
    url = f"/questions/{page_id}"
    if open_first:
        expect_page(patient.get(url), page_id)
    reply = patient.post(url, form_data(page_id, answers))
    assert reply.status == 302, (page_id, reply.status, reply.body[:2000])
    following = flow.next_page(page_id, answers)
    expected = "/check-answers" if following is None or following.id == "declaration" else f"/questions/{following.id}"
    assert reply.location == expected, (page_id, reply.location)
    return expected


@pytest.fixture
def server_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own: SQLite in tmp_path, or a new PostgreSQL database with TEST_DATABASE_URL."""
    try:
        with fresh_database(tmp_path, os.environ.get("TEST_DATABASE_URL")) as uri:
            yield uri
    except ServiceMissing as exc:
        unavailable(str(exc))


@pytest.fixture
def server(tmp_path: Path, server_database: str) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path / "server", database_uri=server_database, name="restart")
    try:
        yield live.start()
    finally:
        live.stop()


def stored_submissions(server: LiveServer) -> list[Submission]:
    """Read the server's database in-process with the server's own settings and keys."""
    app = create_app(server.app_config())
    with app.app_context():
        try:
            rows = list(db.session.scalars(select(Submission)))
            for row in rows:
                db.session.expunge(row)
            return rows
        finally:
            db.session.remove()
            db.engine.dispose()


def test_restarting_the_server_between_pages_loses_nothing(server: LiveServer) -> None:
    answers = PERSONAS["discuss_before_booking"]
    patient = HttpPatient(server)

    expect_page(patient.get("/"), "start")
    reply = patient.post("/start", {})
    assert (reply.status, reply.location) == (302, "/questions/urgent")
    page_id = "urgent"
    for _ in range(3):  # urgent, about, blood
        page_id = answer(patient, page_id, answers).removeprefix("/questions/")
    assert page_id == "blood-follow-up"
    # The patient has the next page open (and its CSRF token) when the server goes down.
    expect_page(patient.get(f"/questions/{page_id}"), page_id)
    draft = session_data(patient)["draft"]
    port, first_pid = server.port, server.process and server.process.pid

    server.restart()
    assert server.port == port and server.process is not None and server.process.pid != first_pid

    # Continue on the page that was open, with its token from before the restart: saved.
    target = answer(patient, page_id, answers, open_first=False)
    assert target == "/questions/heart"
    for _ in range(len(QUESTIONNAIRE.pages)):
        target = answer(patient, target.removeprefix("/questions/"), answers)
        if target == "/check-answers":
            break
    assert target == "/check-answers"
    assert session_data(patient)["draft"] == draft  # the same draft, found through the same cookie

    # Every answer from before the restart is on check-your-answers.
    summary = patient.get("/check-answers")
    assert summary.status == 200, summary.body[:2000]
    text = unescape(summary.body)
    for qid in (
        "chest_pain_now",
        "respondent_role",
        "treatment_types",
        "blood_thinner",
        "blood_thinner_name",
        "heart_event_6m",
        "contact_name",
    ):
        assert QUESTIONNAIRE.questions[qid].text in text, qid
    for shown in (
        "Me, the patient",
        "45 years",
        "An injection into a joint, like a knee or shoulder",
        "warfarin",
        "Alex Example",
    ):
        assert shown in text, shown

    # A second restart with check-your-answers open: sending still works, once.
    server.restart()
    sent = patient.post("/check-answers", {"declaration": "yes"})
    assert (sent.status, sent.location) == (302, "/sent"), sent.body[:2000]
    outcome = patient.get("/sent")
    assert outcome.status == 200
    reference = re.search(r'class="reference">([A-Z0-9-]+)<', outcome.body)
    assert reference, outcome.body[:2000]
    assert "Our team needs to talk with you before you book" in outcome.body
    assert session_data(patient)["draft"] != draft  # renewed by sending (against session fixation)

    [sub] = stored_submissions(server)
    assert sub.reference == reference.group(1)
    assert sub.level == "discuss_before_booking"
    assert not sub.stopped_early
    assert sub.answers == flow.visible_answers({**answers, "declaration": "yes"})

    # Sending again after the restart changes nothing and shows the same outcome.
    again = patient.post("/check-answers", {"declaration": "yes"})
    assert (again.status, again.location) == (302, "/sent")
    assert len(stored_submissions(server)) == 1
