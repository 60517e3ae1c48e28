"""The Nu Html Checker (vnu-jar from npm, the W3C validator's engine) finds no error on any patient
page in any state, nor on the main staff pages.

Every patient page and state: the start page (with and without a draft, in English and Spanish),
each question page shown by EVERY_PAGE (empty, with errors, and answered), check your answers (and
its error), the outcome of every level, the emergency page, the printable copy, already sent,
delete and deleted, page not found, and the footer pages in both languages. Staff: sign-in, queue,
a submission, its print view, staff accounts, audit log, export, change password.

The pages are fetched with the Flask test client (their HTML as the server sends it), written to
files and checked in one run of vnu.jar (one Java start). vnu.jar and Java come from
scripts/install-browser (`make browser`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE

from ..conftest import unavailable
from ..helpers import EVERY_PAGE, PERSONAS, Patient, form_data
from ..staff_factory import add_submission
from ..staff_helpers import make_staff, sign_in

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def vnu_errors(pages: dict[str, str], folder: Path) -> dict[str, list[str]]:
    """{page name: ["line N: message (extract)", ...]} for every page with a vnu error."""
    java = shutil.which("java")
    if java is None or not VNU.is_file():
        unavailable(
            "the Nu Html Checker needs Java and node_modules/vnu-jar: run `make browser` (scripts/install-browser)"
        )
    names: dict[str, str] = {}
    files = []
    for n, (name, html) in enumerate(pages.items()):
        path = folder / f"page{n:03d}.html"
        path.write_text(html, encoding="utf-8")
        names[path.resolve().as_uri()] = name
        files.append(str(path))
    done = subprocess.run(
        [java, "-jar", str(VNU), "--errors-only", "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stderr or done.stdout or '{"messages": []}')
    found: dict[str, list[str]] = {}
    for message in report["messages"]:
        if message.get("type") not in ("error", "non-document-error"):
            continue
        url = message.get("url", "")
        name = names.get(url) or next((n for u, n in names.items() if u.endswith(url.rsplit("/", 1)[-1])), url)
        found.setdefault(name, []).append(
            f"line {message.get('lastLine')}: {message.get('message')} ({message.get('extract', '').strip()[:120]})"
        )
    return found


class Pages:
    """Collects the HTML of each page state by name."""

    def __init__(self) -> None:
        self.html: dict[str, str] = {}

    def keep(self, name: str, response: TestResponse, status: int = 200) -> None:
        assert response.status_code == status, (name, response.status_code)
        assert response.mimetype == "text/html", (name, response.mimetype)
        self.html[name] = response.get_data(as_text=True)


def patient_pages(app: Flask, pages: Pages, lang: str) -> None:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    patient = Patient(client)
    pages.keep(f"{lang} start", patient.get("/"))
    for path in ("/privacy", "/accessibility", "/contact"):
        pages.keep(f"{lang} {path}", patient.get(path))
    pages.keep(f"{lang} not found", patient.get("/no-such-page"), 404)
    if lang != "en":
        return
    patient.start()
    pages.keep("start with a draft", patient.get("/"))
    page: Any = QUESTIONNAIRE.pages[0]
    answers = EVERY_PAGE
    while page is not None and page.id != "declaration":
        url = f"/questions/{page.id}"
        pages.keep(f"question {page.id}", patient.get(url))
        empty = patient.post(url, {})
        if empty.status_code == 302 and "/questions/" in empty.location and page.id in empty.location:
            empty = patient.get(empty.location)  # Post/Redirect/Get of the error state
        if empty.status_code == 200:
            pages.keep(f"question {page.id}, errors", empty)
        response = patient.post(url, form_data(page.id, answers))
        assert response.status_code == 302, (page.id, response.get_data(as_text=True)[:2000])
        page = flow.next_page(page.id, answers)
    pages.keep("check answers", patient.get("/check-answers"))
    error = patient.post("/check-answers", {})
    if error.status_code == 302 and "check-answers" in error.location:
        error = patient.get(error.location)
    pages.keep("check answers, errors", error)
    sent = patient.post("/check-answers", {"declaration": "yes"})
    pages.keep("outcome (every page)", patient.get(sent.location))
    pages.keep("print (every page)", patient.get("/sent/print"))
    already = patient.post("/questions/urgent", {})
    pages.keep("already sent", already, already.status_code)
    for level, persona in PERSONAS.items():
        other = Patient(app.test_client())
        last = other.complete(persona)
        pages.keep(f"outcome {level}", last)
        pages.keep(f"print {level}", other.get("/sent/print"))
    fresh = Patient(app.test_client())
    fresh.start()
    pages.keep("delete", fresh.get("/delete"))
    pages.keep("deleted", fresh.post("/delete", {}))


def staff_pages(app: Flask, pages: Pages) -> None:
    reference = add_submission(app, {**PERSONAS["discuss_before_booking"], "contact_name": "Ana Example"})
    pages.keep("staff sign in", app.test_client().get("/staff/sign-in"))
    secret = make_staff(app, "admin@clinic.example", "admin")
    client = app.test_client()
    sign_in(client, "admin@clinic.example", secret)
    for name, url in (
        ("queue", "/staff/"),
        ("submission", f"/staff/submissions/{reference}"),
        ("staff print", f"/staff/submissions/{reference}/print"),
        ("staff accounts", "/staff/admin/staff"),
        ("audit log", "/staff/admin/audit"),
        ("export", "/staff/admin/export"),
        ("change password", "/staff/password"),
    ):
        pages.keep(name, client.get(url))


def test_every_patient_page_and_the_main_staff_pages_have_no_html_errors(app: Flask, tmp_path: Path) -> None:
    pages = Pages()
    for lang in ("en", "es"):
        patient_pages(app, pages, lang)
    staff_pages(app, pages)
    assert any(name.startswith("outcome urgent") for name in pages.html)
    found = vnu_errors(pages.html, tmp_path)
    report = "\n".join(f"{name}:\n  " + "\n  ".join(errors) for name, errors in found.items())
    assert not found, f"the Nu Html Checker found errors on {len(found)} of {len(pages.html)} pages:\n{report}"


def test_the_checker_reports_a_heading_that_skips_a_level(tmp_path: Path) -> None:
    """The check itself works: a page that jumps from h1 to h3 is an error."""
    page = '<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><h1>One</h1><h3>Three</h3></body></html>'
    found = vnu_errors({"skipping": page}, tmp_path)
    assert any(re.search(r"skipping 1 heading level", e) for e in found.get("skipping", [])), found
