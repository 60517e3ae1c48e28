"""Issue 18, the template and stylesheet parts: the printed copy, small fixes, framing by the clinic's
own site, and the footer pages (privacy notice, accessibility statement, contact)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from questionnaire import create_app
from questionnaire.config import ConfigError
from questionnaire.core.wording import banned_wording
from questionnaire.data.models import Submission
from questionnaire.extensions import db

from ..helpers import NO_FLAGS, PERSONAS, Patient, parse_html, visible_text
from ..staff_factory import add_submission
from ..staff_helpers import make_staff, sign_in

ROOT = Path(__file__).resolve().parents[2]
CSS = (ROOT / "questionnaire" / "static" / "app.css").read_text(encoding="utf-8")
JS = (ROOT / "questionnaire" / "static" / "app.js").read_text(encoding="utf-8")


def css_rule(selector: str, css: str = CSS) -> str:
    """The declarations of the first rule whose selector list is exactly `selector`."""
    found = re.search(r"(?:^|[}\s])" + re.escape(selector) + r"\s*\{([^}]*)\}", css)
    assert found, f"no rule for {selector}"
    return found.group(1)


def print_css() -> str:
    found = re.search(r"@media print\s*\{(.*)\}\s*$", CSS, re.S)
    assert found
    return found.group(1)


# --- 1. Print ----------------------------------------------------------------------------------------


def test_hidden_always_wins_over_a_class_that_sets_display() -> None:
    assert "display: none !important" in css_rule("[hidden]")
    assert "display: inline-block" in css_rule(".button")  # the rule [hidden] must beat


def test_the_print_button_is_hidden_in_the_page_and_shown_only_by_the_script(patient: Patient) -> None:
    patient.complete(PERSONAS["none"])
    html = patient.get("/sent/print").get_data(as_text=True)
    tree = parse_html(html)
    block = tree.find(".//*[@data-print-block]")
    assert block is not None and "hidden" in block.attrib  # no dead button without JavaScript
    assert block.find(".//button[@data-print]") is not None
    assert "block.hidden = false" in JS and "window.print()" in JS


def test_the_printed_copy_is_dated_and_names_the_clinic_and_reference_on_every_page(
    app: Flask, patient: Patient
) -> None:
    patient.complete(PERSONAS["discuss_before_booking"])
    html = patient.get("/sent/print").get_data(as_text=True)
    with app.app_context():
        sub = db.session.scalars(select(Submission)).one()
    sent_on = f"{sub.created_at.strftime('%B')} {sub.created_at.day}, {sub.created_at.year}"
    tree = parse_html(html)
    running = tree.find(".//*[@class='print-frame__head']/p")
    assert running is not None
    text = "".join(running.itertext())
    assert "Test Clinic" in text and sub.reference in text and sent_on in text
    assert f"Sent on {sent_on}" in visible_text(html)
    # The head of .print-frame is a table header group in print: Chromium repeats it on every page.
    printing = print_css()
    assert "display: table-header-group" in css_rule(".print-frame__head", printing)
    assert "display: table" in css_rule(".print-frame", printing)


def test_the_printed_copy_in_spanish_is_dated_in_spanish(client: FlaskClient) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    patient = Patient(client)
    patient.complete(PERSONAS["none"])
    text = visible_text(patient.get("/sent/print").get_data(as_text=True))
    assert re.search(r"Enviado el \d{1,2} de [a-z]+ de \d{4}", text), text[:800]


def test_the_staff_print_starts_with_the_patient_the_action_and_the_flags_then_the_answers(app: Flask) -> None:
    reference = add_submission(app, {**PERSONAS["discuss_before_booking"], "contact_name": "Ana Example"})
    secret = make_staff(app, "doc@clinic.example", "clinician")
    client = app.test_client()
    sign_in(client, "doc@clinic.example", secret)
    html = client.get(f"/staff/submissions/{reference}/print").get_data(as_text=True)
    headings = [h for h in re.findall(r"<h2[^>]*>([^<]*)</h2>", html)]
    order = [
        next(i for i, h in enumerate(headings) if h.startswith(name))
        for name in ("Patient", "Action", "Flags", "Answers", "Notes")
    ]
    assert order == sorted(order), headings
    running = re.search(r'<p class="print-running"[^>]*>([^<]*)</p>', html)
    assert running and "Ana Example" in running.group(1) and reference in running.group(1)
    # The action: the level's front-desk words in the rules file.
    action = app.extensions["ruleset"].level("discuss_before_booking").front_desk.splitlines()[0]
    assert (
        html.index("Ana Example")
        < html.index(f"<li>{action}</li>")
        < html.index("r_blood_thinner")
        < html.index("Answers</h2>")
    )


# --- 2. Small fixes ----------------------------------------------------------------------------------


def test_the_emergency_page_has_no_heading_that_skips_a_level(patient: Patient) -> None:
    html = patient.complete(PERSONAS["urgent"]).get_data(as_text=True)
    levels = [int(n) for n in re.findall(r"<h([1-6])[\s>]", html)]
    assert levels[0] == 1 and all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels


def test_why_we_ask_looks_like_a_disclosure_with_a_triangle() -> None:
    summary = css_rule(".details__summary")
    assert "list-style: none" in summary and "padding-left" in summary
    marker = css_rule(".details__summary::before")
    assert '"\\25B8"' in marker  # a triangle pointing right when closed (U+25B8)
    assert '"\\25BE"' in css_rule(".details[open] > .details__summary::before")  # and down when open


def test_phone_and_email_are_not_optional_and_say_one_of_them_is_needed(patient: Patient) -> None:
    html = patient.reach("contact", NO_FLAGS).get_data(as_text=True)
    tree = parse_html(html)
    for qid in ("contact_phone", "contact_email"):
        label = "".join(tree.find(f".//label[@for='{qid}']").itertext())
        assert "optional" not in label, label
        field = tree.find(f".//input[@id='{qid}']")
        hint = tree.find(f".//*[@id='{qid}-either']")
        assert hint is not None and "Give a phone number, an email address, or both." in "".join(hint.itertext())
        assert f"{qid}-either" in field.attrib["aria-describedby"].split()


def test_a_number_field_does_not_cut_what_is_typed(patient: Patient) -> None:
    html = patient.reach("about", NO_FLAGS).get_data(as_text=True)
    field = parse_html(html).find(".//input[@id='patient_age_years']")
    assert field.attrib.get("inputmode") == "numeric" and "maxlength" not in field.attrib
    # The server still says what is wrong with "12.5", and keeps it.
    page = patient.post(
        "/questions/about",
        {
            **{
                k: str(v) if isinstance(v, int) else v
                for k, v in NO_FLAGS.items()
                if k in ("respondent_role", "decision_help", "treatment_types")
            },
            "patient_age_years": "12.5",
        },
    )
    assert page.status_code in (200, 302)
    if page.status_code == 302:
        page = patient.get(page.location)
    assert 'value="12.5"' in page.get_data(as_text=True)


def test_the_favicon_is_served(client: FlaskClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    html = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.ico"' in html
    static = client.get("/static/favicon.ico")
    assert static.status_code == 200
    static.close()


# --- 3. Framing by the clinic's own site -------------------------------------------------------------


def test_without_the_setting_no_page_may_be_framed(client: FlaskClient) -> None:
    for url in ("/", "/privacy", "/staff/sign-in"):
        response = client.get(url)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
    assert "SameSite=Lax" in client.application.test_client().get("/").headers["Set-Cookie"]


def test_the_clinic_origins_may_frame_the_patient_pages_only(make_app: Any) -> None:
    app = make_app(FRAME_ANCESTORS=["https://www.clinic.example/", "https://clinic.example:8443"])
    client = app.test_client()
    for url in ("/", "/privacy", "/accessibility", "/contact", "/questions/urgent"):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors https://www.clinic.example https://clinic.example:8443;" in csp, url
        assert "frame-ancestors 'none'" not in csp and "X-Frame-Options" not in response.headers, url
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
    for url in ("/staff/sign-in", "/staff/", "/fhir/Questionnaire", "/healthz"):
        response = client.get(url)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], url
        assert response.headers["X-Frame-Options"] == "DENY", url
    cookie = app.test_client().get("/").headers["Set-Cookie"]
    assert "SameSite=None" in cookie and "Partitioned" in cookie  # kept where third-party cookies are blocked


@pytest.mark.parametrize(
    "origin",
    [
        "*",
        "https://*.clinic.example",
        "https://clinic.example/forms",
        "https://clinic.example?x",
        "ftp://clinic.example",
        "clinic.example",
        "https://user@clinic.example",
        "https://clinic.example; script-src *",
        "'self'",
        "https://clinic.example:99999",
        "",
    ],
)
def test_an_origin_that_is_not_scheme_and_host_is_refused_at_start_up(make_app: Any, origin: str) -> None:
    with pytest.raises(ConfigError, match="FLASK_FRAME_ANCESTORS"):
        make_app(FRAME_ANCESTORS=[origin])


def test_the_setting_must_be_a_list(make_app: Any) -> None:
    with pytest.raises(ConfigError, match="JSON list"):
        make_app(FRAME_ANCESTORS="https://clinic.example")


def production(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "PRODUCTION": True,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SESSION_COOKIE_SECURE": True,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/prod.db",
        "ENCRYPTION_KEYS": {"k1": "dGVzdC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMtISE="},
        "ENCRYPTION_KEY_ID": "k1",
        "CLINIC_NAME": "Riverside Clinic",
        "CLINIC_PHONE": "0161 496 0000",
        "REGULATORY_MARKET": "US",
        "PROXY_COUNT": 1,
        "TRUSTED_HOSTS": ["forms.clinic.example"],
        **extra,
    }


def test_production_frames_only_for_https_origins_and_with_secure_cookies(tmp_path: Path) -> None:
    app = create_app(production(tmp_path, FRAME_ANCESTORS=["https://www.clinic.example"]))
    assert app.config["SESSION_COOKIE_SAMESITE"] == "None" and app.config["SESSION_COOKIE_SECURE"]
    with pytest.raises(ConfigError, match="https://host"):
        create_app(production(tmp_path, FRAME_ANCESTORS=["http://www.clinic.example"]))
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        create_app(production(tmp_path, FRAME_ANCESTORS=["https://www.clinic.example"], SESSION_COOKIE_SECURE=False))


# --- 4. Footer pages ---------------------------------------------------------------------------------

FOOTER = {
    "/privacy": ("Privacy notice", "Aviso de privacidad"),
    "/accessibility": ("Accessibility statement", "Declaración de accesibilidad"),
    "/contact": ("Contact the clinic", "Contactar con la clínica"),
}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_patient_page_links_to_the_footer_pages(client: FlaskClient, lang: str) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    patient = Patient(client)
    pages = [patient.get("/"), patient.get("/no-such-page")]
    patient.start()
    pages.append(patient.get("/questions/urgent"))
    for response in pages:
        footer = parse_html(response.get_data(as_text=True)).find(".//footer")
        links = {a.attrib["href"]: "".join(a.itertext()) for a in footer.iter("a")}
        for url, titles in FOOTER.items():
            assert links.get(url) == titles[lang == "es"], (url, links)


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("url", list(FOOTER))
def test_the_footer_pages_are_real_pages_in_both_languages_without_clearance_wording(
    client: FlaskClient, url: str, lang: str
) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = visible_text(html)
    assert f'<html lang="{lang}">' in html
    assert FOOTER[url][lang == "es"] in re.search(r"<h1[^>]*>([^<]*)</h1>", html).group(1)
    assert banned_wording(text) == [], banned_wording(text)


def test_the_privacy_notice_says_who_sees_the_answers_how_long_they_are_kept_and_how_to_delete_them(
    make_app: Any,
) -> None:
    app = make_app(RETENTION_DAYS={"closed": 365, "discussed": 500}, DRAFT_TTL_HOURS=12)
    text = visible_text(app.test_client().get("/privacy").get_data(as_text=True))
    assert "Only the clinic's team sees your answers" in text
    assert "deleted 12 hours after you last saved a page" in text
    assert "We delete sent answers 365 days after we have closed your case" in text
    assert "We delete sent answers 500 days after a clinician has talked with you about them" in text
    assert "Delete my answers" in text and "give your reference number" in text


def test_the_contact_page_gives_the_clinic_name_and_phone_as_a_link(client: FlaskClient) -> None:
    html = client.get("/contact").get_data(as_text=True)
    main = parse_html(html).find(".//main")
    assert "Test Clinic" in "".join(main.itertext())
    assert any(a.attrib.get("href") == "tel:01614960000" for a in main.iter("a"))
