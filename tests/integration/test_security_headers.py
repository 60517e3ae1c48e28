"""Security headers pinned on every response, and pages that need no inline code or third party.

Walks the patient pages, the staff pages (signed in as an administrator), error pages and static
files; asserts the exact header values, no-store on every page with personal data, HSTS over
HTTPS only, Clear-Site-Data on sign-out, and that no rendered page (nor any template) carries an
inline script or style, an event-handler attribute, or a resource from another site.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import html5lib
import pytest
from flask import Flask
from flask.testing import FlaskClient

from questionnaire.web import security

from ..helpers import PERSONAS, Patient
from ..staff_helpers import make_staff, sign_in, token_of

pytestmark = pytest.mark.usefixtures("cheap_hashing")

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
BOOKING_URL = "https://booking.example.test/book"  # tests.conftest.test_settings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
EXACT = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Same-origin referrers only: Flask-WTF's strict HTTPS check needs them, other sites get nothing.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = "max-age=63072000; includeSubDomains"


def csp_directives(value: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_pinned(url: str, response: Any, *, https: bool = False) -> None:
    for name, value in EXACT.items():
        assert response.headers.get(name) == value, (url, name, response.headers.get(name))
    directives = csp_directives(response.headers["Content-Security-Policy"])
    assert all("'unsafe-inline'" not in v and "'unsafe-eval'" not in v for v in directives.values()), url
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    if https:
        assert response.headers.get("Strict-Transport-Security") == HSTS, url
    else:
        assert "Strict-Transport-Security" not in response.headers, url
    assert response.headers.get("X-Request-ID"), url
    assert "Access-Control-Allow-Origin" not in response.headers, url
    if not url.startswith("/static/"):
        # Every dynamic page may carry answers, contact details or staff state.
        assert response.headers.get("Cache-Control") == "no-store", (url, response.headers.get("Cache-Control"))


# --- a site with one of everything ---------------------------------------------------------------


def build_site(app: Flask, base_url: str = "http://localhost") -> dict[str, Any]:
    """Walk the whole site once: returns {label: (url, response)} for every page worth checking."""
    seen: dict[str, Any] = {}

    def keep(label: str, client: FlaskClient, url: str, **kw: Any) -> Any:
        response = client.get(url, base_url=base_url, **kw)
        response.get_data()  # a streamed response (CSV) ends its request context only when read
        response.close()
        seen[label] = (url, response)
        return response

    # A patient: start page, every question page they pass, check answers, the outcome.
    patient_client = app.test_client()
    patient = Patient(patient_client)
    keep("start", patient_client, "/")
    keep("first page before a draft", patient_client, "/questions/urgent")
    patient.complete(PERSONAS["none"], send=False)
    keep("question page", patient_client, "/questions/about")
    keep("contact page", patient_client, "/questions/contact")
    keep("check answers", patient_client, "/check-answers")
    keep("delete page", patient_client, "/delete")
    bad_post = patient_client.post(
        "/questions/contact", data={"csrf_token": "wrong", "contact_name": "X"}, base_url=base_url
    )
    seen["patient csrf re-render"] = ("/questions/contact", bad_post)
    patient.post("/check-answers", {"declaration": "yes"})
    keep("outcome", patient_client, "/sent")
    urgent = Patient(app.test_client())
    urgent.complete(PERSONAS["urgent"])
    keep("emergency page", urgent.client, "/get-help-now")

    # Staff, signed in as an administrator: every page of the staff area.
    secret = make_staff(app, "admin@clinic.example", "admin")
    staff_client = app.test_client()
    keep("sign-in page", staff_client, "/staff/sign-in")
    first = staff_client.get("/staff/sign-in", base_url=base_url)
    step = staff_client.post(
        "/staff/sign-in",
        base_url=base_url,
        headers={"Referer": base_url + "/staff/sign-in"},
        data={
            "csrf_token": token_of(first.get_data(as_text=True)),
            "email": "admin@clinic.example",
            "password": "correct horse battery staple 42",
        },
    )
    seen["sign-in post"] = ("/staff/sign-in", step)
    assert step.status_code == 302, step.get_data(as_text=True)[:500]
    code_url = urlsplit(step.location).path + "?" + urlsplit(step.location).query
    keep("code page", staff_client, code_url)
    from ..staff_helpers import current_code

    done = staff_client.post(
        code_url,
        base_url=base_url,
        headers={"Referer": base_url + code_url},
        data={"csrf_token": token_of(seen["code page"][1].get_data(as_text=True)), "code": current_code(secret)},
    )
    assert done.status_code == 302, done.get_data(as_text=True)[:500]
    queue = keep("queue", staff_client, "/staff/")
    reference = queue.get_data(as_text=True).split("/staff/submissions/")[1].split('"')[0]
    keep("submission", staff_client, f"/staff/submissions/{reference}")
    keep("print", staff_client, f"/staff/submissions/{reference}/print")
    keep("admin staff", staff_client, "/staff/admin/staff")
    keep("audit", staff_client, "/staff/admin/audit")
    keep("audit csv", staff_client, "/staff/admin/audit?format=csv")
    keep("export", staff_client, "/staff/admin/export")
    keep("password", staff_client, "/staff/password")
    keep("queue filtered", staff_client, "/staff/?status=new&level=none")

    # A staff member part-way through enrolment: the QR code image.
    enrol_client = app.test_client()
    with app.app_context():
        from questionnaire.data import store
        from questionnaire.web import auth

        store.create_staff("new@clinic.example", "front_desk", auth.hash_password("a new password of mine"))
    page = enrol_client.get("/staff/sign-in", base_url=base_url)
    step = enrol_client.post(
        "/staff/sign-in",
        base_url=base_url,
        headers={"Referer": base_url + "/staff/sign-in"},
        data={
            "csrf_token": token_of(page.get_data(as_text=True)),
            "email": "new@clinic.example",
            "password": "a new password of mine",
        },
    )
    assert step.status_code == 302, step.get_data(as_text=True)[:3000]
    keep("enrol", enrol_client, "/staff/enrol")
    keep("enrol qr", enrol_client, "/staff/enrol/qr.svg")

    # Errors, static files, health.
    anon = app.test_client()
    keep("404", anon, "/no-such-page")
    keep("404 staff", staff_client, "/staff/submissions/ZZZZ-ZZZZ")
    keep("405", anon, "/start")
    keep("staff redirect", anon, "/staff/")
    forbidden_client = app.test_client()
    sign_in(forbidden_client, "desk@clinic.example", make_staff(app, "desk@clinic.example", "front_desk"))
    keep("403", forbidden_client, "/staff/admin/staff")
    keep("static css", anon, "/static/app.css")
    keep("static staff css", anon, "/static/staff.css")
    keep("static js", anon, "/static/app.js")
    keep("healthz", anon, "/healthz")
    keep("readyz", anon, "/readyz")
    sign_out = staff_client.post(
        "/staff/sign-out",
        base_url=base_url,
        headers={"Referer": base_url + "/staff/"},
        data={"csrf_token": token_of(seen["queue"][1].get_data(as_text=True))},
    )
    seen["sign-out"] = ("/staff/sign-out", sign_out)
    return seen


def test_every_response_carries_the_pinned_headers(app: Flask) -> None:
    site = build_site(app)
    statuses = {label: response.status_code for label, (_url, response) in site.items()}
    # The walk really reached each kind of page.
    assert statuses["404"] == statuses["404 staff"] == 404
    assert statuses["405"] == 405 and statuses["403"] == 403
    assert statuses["queue"] == statuses["submission"] == statuses["enrol qr"] == 200
    assert statuses["outcome"] == statuses["emergency page"] == 200
    assert statuses["static css"] == statuses["static staff css"] == 200
    for _label, (url, response) in site.items():
        assert_pinned(url, response)


def test_hsts_only_over_https(app: Flask) -> None:
    site = build_site(app, base_url="https://localhost")
    assert site["queue"][1].status_code == 200
    for _label, (url, response) in site.items():
        assert_pinned(url, response, https=True)


def test_staff_post_over_https_needs_a_same_origin_referrer(app: Flask) -> None:
    """Flask-WTF checks the Referer on HTTPS; the Referrer-Policy must let browsers send it."""
    make_staff(app, "desk@clinic.example")
    client = app.test_client()
    base = "https://localhost"
    page = client.get("/staff/sign-in", base_url=base)
    policy = page.headers["Referrer-Policy"]
    assert policy in ("same-origin", "strict-origin", "strict-origin-when-cross-origin")
    data = {
        "csrf_token": token_of(page.get_data(as_text=True)),
        "email": "desk@clinic.example",
        "password": "correct horse battery staple 42",
    }
    foreign = client.post("/staff/sign-in", base_url=base, data=data, headers={"Referer": "https://evil.example/x"})
    assert foreign.status_code == 400
    same = client.post("/staff/sign-in", base_url=base, data=data, headers={"Referer": base + "/staff/sign-in"})
    assert same.status_code == 302


def test_sign_out_clears_the_site_and_the_session(app: Flask) -> None:
    client = app.test_client()
    sign_in(client, "desk@clinic.example", make_staff(app))
    page = client.get("/staff/")
    token = token_of(page.get_data(as_text=True))
    response = client.post("/staff/sign-out", data={"csrf_token": token})
    assert response.status_code == 200
    clear = {part.strip() for part in response.headers["Clear-Site-Data"].split(",")}
    assert {'"cache"', '"cookies"', '"storage"'} <= clear
    assert response.headers["Cache-Control"] == "no-store"
    assert any(
        h.startswith("oq_staff=;") and "Expires=Thu, 01 Jan 1970" in h for h in response.headers.getlist("Set-Cookie")
    )
    assert client.get("/staff/").status_code == 302


# --- no inline code, no third party ----------------------------------------------------------------

URL_IN_TEXT = re.compile(r"https?://", re.I)


def page_problems(url: str, html: str) -> list[str]:
    doc = html5lib.parse(html, namespaceHTMLElements=False)
    problems: list[str] = []
    for el in doc.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "style":
            problems.append("a <style> element")
        if tag == "script" and (not el.get("src") or (el.text or "").strip()):
            problems.append("an inline <script>")
        for attr, value in el.attrib.items():
            if attr == "style":
                problems.append(f"a style= attribute on <{tag}>")
            if attr.lower().startswith("on"):
                problems.append(f"an event handler {attr}= on <{tag}>")
            if isinstance(value, str) and value.strip().lower().startswith("javascript:"):
                problems.append(f"a javascript: URL on <{tag}>")
        resource = None
        if tag in ("script", "img", "iframe", "embed", "source", "audio", "video"):
            resource = el.get("src")
        elif tag == "link":
            resource = el.get("href")
        elif tag == "object":
            resource = el.get("data")
        if resource is not None and (URL_IN_TEXT.match(resource) or resource.startswith("//")):
            problems.append(f"a resource from another site: <{tag}> {resource}")
        if tag in ("iframe", "embed", "object", "base"):
            problems.append(f"a <{tag}> element")
        for attr in ("href", "action", "formaction", "src"):
            value = el.get(attr) or ""
            if (URL_IN_TEXT.match(value) or value.startswith("//")) and not (
                tag == "a" and attr == "href" and value == BOOKING_URL
            ):
                problems.append(f"a link to another site: <{tag} {attr}={value!r}>")
        if tag == "a" and el.get("href") == BOOKING_URL and el.get("rel") not in (None, "noreferrer", "noopener"):
            problems.append("the booking link has an unexpected rel")
    return [f"{url}: {p}" for p in problems]


def test_no_page_has_inline_code_or_third_party_resources(app: Flask) -> None:
    site = build_site(app)
    problems: list[str] = []
    html_pages = 0
    for _label, (url, response) in site.items():
        if response.mimetype == "text/html":
            html_pages += 1
            problems += page_problems(url, response.get_data(as_text=True))
    assert html_pages >= 20
    assert problems == []
    # The booking link is there, as a plain link on the outcome page.
    assert f'href="{BOOKING_URL}"' in site["outcome"][1].get_data(as_text=True)


@pytest.mark.parametrize("path", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")))
def test_no_template_has_inline_script_or_style(path: str) -> None:
    source = (TEMPLATES / path).read_text(encoding="utf-8")
    assert not re.search(r"<style\b", source, re.I)
    assert not re.search(r"\sstyle\s*=", source, re.I)
    for tag in re.findall(r"<script\b[^>]*>", source, re.I):
        assert "src=" in tag, tag
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", source, re.I)
    assert not re.search(r"\son[a-z]+\s*=", source, re.I)
    for url in re.findall(r"(?:src|href|action)\s*=\s*\"(https?:[^\"]*|//[^\"]*)\"", source, re.I):
        pytest.fail(f"{path}: a fixed link to another site: {url}")


def test_static_javascript_keeps_nothing_in_browser_storage() -> None:
    static = Path(__file__).resolve().parents[2] / "questionnaire" / "static"
    for path in static.rglob("*.js"):
        source = path.read_text(encoding="utf-8")
        assert "localStorage" not in source and "sessionStorage" not in source and "document.cookie" not in source
        assert not URL_IN_TEXT.search(source), f"{path.name} names another site"
    for path in static.rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", path.read_text(encoding="utf-8")), path.name
        assert "@import" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "target, prefix, kept",
    [
        ("/questions/urgent?return=check", "/", True),
        ("/staff/submissions/ABCD-2345", "/staff/", True),
        ("/questions/urgent", "/staff/", False),  # outside the prefix
        ("https://evil.example/", "/", False),
        ("//evil.example", "/", False),
        ("/\\evil.example", "/", False),
        ("/\t/evil.example", "/", False),  # browsers drop the tab: "//evil.example"
        ("/staff/\n/x", "/staff/", False),  # would split the Location header
        ("/a b", "/", False),
        ("/\x7f", "/", False),
        ("", "/", False),
        (None, "/", False),
    ],
)
def test_redirect_targets_are_paths_of_this_site_only(target: str | None, prefix: str, kept: bool) -> None:
    assert security.local_path(target, prefix) == (target if kept else None)
