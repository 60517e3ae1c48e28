"""Test helpers: a patient who fills in the form through the Flask test client, and answer sets."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import Page

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

# A complete answer set that raises no flag: every safety question answered, nothing to flag.
NO_FLAGS: dict[str, Any] = {
    "chest_pain_now": "no",
    "breathing_trouble_now": "no",
    "stroke_signs_now": "no",
    "recent_ozone_7d": "no",
    "unwell_now": "no",
    "respondent_role": "patient",
    "patient_age_years": 45,
    "decision_help": "no",
    "treatment_types": ["joint"],
    "injection_body_area": "Left knee",
    "g6pd_deficiency": "no",
    "red_cell_breakdown": "no",
    "anaemia_recent": "no",
    "bleeding_problem": "no",
    "low_platelets": "no",
    "blood_thinner": "no",
    "heart_event_6m": "no",
    "stroke_ever": "no",
    "heart_condition": "no",
    "chest_pain_past_month": "no",
    "hole_in_heart": "no",
    "high_bp": "no",
    "pril_medicine": "no",
    "fainting_12m": "no",
    "faint_with_needles": "no",
    "overactive_thyroid": "no",
    "diabetes": "no",
    "seizures": "no",
    "lung_condition": "no",
    "pregnant": "not_applicable",
    "breastfeeding": "not_applicable",
    "prior_ozone": "no",
    "severe_allergy_ever": "no",
    "allergy_items": ["none_of_these"],
    "skin_problem_at_site": "no",
    "hot_swollen_joint": "no",
    "recent_surgery": "no",
    "replacing_advised_treatment": "no",
    "doctor_said_no": "no",
    "immune_weakened": "no",
    "medicines_list": "none",
    "contact_name": "Alex Example",
    "contact_phone": "0161 496 0001",
    "contact_time": "morning",
}

# The same, with the declaration given: every question of the form answered.
ALL_NO: dict[str, Any] = {**NO_FLAGS, "declaration": "yes"}

PERSONAS: dict[str, dict[str, Any]] = {
    "none": NO_FLAGS,
    "mention_at_consultation": {**NO_FLAGS, "faint_with_needles": "yes"},
    "discuss_before_booking": {**NO_FLAGS, "blood_thinner": "yes", "blood_thinner_name": "warfarin"},
    "urgent": {**NO_FLAGS, "chest_pain_now": "yes"},
}

# Answers that show every page and every question (each follow-up page too), without an urgent stop.
EVERY_PAGE: dict[str, Any] = {
    **NO_FLAGS,
    "recent_ozone_7d": "yes",
    "post_ozone_red_flags": ["none_of_these"],
    "post_ozone_site_problem": "no",
    "anaemia_recent": "yes",
    "anaemia_needed_transfusion": "no",
    "blood_thinner": "yes",
    "blood_thinner_name": "apixaban",
    "stroke_ever": "yes",
    "stroke_recent_or_bleed": "no",
    "heart_condition": "yes",
    "heart_condition_worse": "no",
    "high_bp": "yes",
    "high_bp_controlled": "yes",
    "overactive_thyroid": "yes",
    "thyroid_controlled": "yes",
    "diabetes": "yes",
    "diabetes_unstable": "no",
    "diabetes_low_sugar_meds": "no",
    "lung_condition": "yes",
    "lung_flare_4w": "no",
    "prior_ozone": "yes",
    "prior_ozone_types": ["joint"],
    "prior_ozone_problem": "yes",
    "prior_ozone_problem_type": ["rash"],
    "prior_ozone_problem_details": "An itchy rash for a day, in 2023",
    "other_concerns": "Nothing else",
    "contact_email": "alex@example.com",
}


def form_data(page_id: str, answers: dict[str, Any]) -> dict[str, Any]:
    """The form fields a browser would send for one page, given the answers so far."""
    data: dict[str, Any] = {}
    for q in flow.shown_questions(page_id, answers):
        if q.id in answers:
            value = answers[q.id]
            data[q.id] = str(value) if isinstance(value, int) else value
    return data


class Patient:
    """Fills in the questionnaire like a browser without JavaScript: GET a page, POST its form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""
        self.last: TestResponse | None = None

    def get(self, url: str, **kw: Any) -> TestResponse:
        response = self.client.get(url, **kw)
        found = TOKEN.search(response.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        self.last = response
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> TestResponse:
        """POST like a browser: a 303 (Post/Redirect/Get, a page sent with errors or a notice) is
        followed to the page it names, whose GET is returned (`see_other` keeps the 303 itself)."""
        payload = {"csrf_token": self.token, **(data or {})}
        response = self.client.post(url, data=payload, **kw)
        self.see_other: TestResponse | None = None
        if response.status_code == 303:
            self.see_other = response
            return self.get(response.location)
        found = TOKEN.search(response.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        self.last = response
        return response

    def start(self) -> TestResponse:
        self.get("/")
        response = self.post("/start")
        assert response.status_code == 302, response.status_code
        self.get(response.location)
        return response

    def answer(self, page_id: str, data: dict[str, Any], **query: str) -> TestResponse:
        url = f"/questions/{page_id}"
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        self.get(url)
        return self.post(url, data)

    def reach(self, page_id: str, answers: dict[str, Any]) -> TestResponse:
        """Start and answer every page before page_id (in order, as shown for these answers); GET it."""
        self.start()
        page: Page | None = QUESTIONNAIRE.pages[0]
        while page is not None and page.id != page_id:
            # Straight to the POST (the token of the last page is still good): half the requests.
            response = self.post(f"/questions/{page.id}", form_data(page.id, answers))
            assert response.status_code == 302, (page.id, response.get_data(as_text=True)[:3000])
            page = flow.next_page(page.id, answers)
        assert page is not None, f"{page_id} is not shown for these answers"
        url = "/check-answers" if page_id == "declaration" else f"/questions/{page_id}"
        return self.get(url)

    def complete(self, answers: dict[str, Any], send: bool = True) -> TestResponse:
        """Answer every page shown for these answers, in order, then send (unless told not to)."""
        self.start()
        page: Page | None = QUESTIONNAIRE.pages[0]
        while page is not None and page.id != "declaration":
            response = self.answer(page.id, form_data(page.id, answers))
            assert response.status_code == 302, (page.id, response.get_data(as_text=True)[:3000])
            if "/get-help-now" in response.location:
                return self.get(response.location)
            page = flow.next_page(page.id, answers)
        if not send:
            return self.get("/check-answers")
        self.get("/check-answers")
        response = self.post("/check-answers", {"declaration": "yes"})
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        return self.get(response.location)


# --- reading pages: strict HTML5, accessibility checks, visible text, the session cookie --------


def parse_html(html: str) -> Any:
    """Parse with html5lib's strict parser (any parse error raises) into an ElementTree."""
    import html5lib

    parser = html5lib.HTMLParser(strict=True, tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=False)
    return parser.parse(html)


def _text(el: Any) -> str:
    return "".join(el.itertext())


def html_problems(html: str) -> list[str]:
    """What is wrong with a rendered page: parse errors, duplicate ids, unlabelled inputs, dangling
    aria-describedby, an "Error: " title without errors (or the reverse), summary links to nowhere."""
    import html5lib

    try:
        root = parse_html(html)
    except html5lib.html5parser.ParseError as exc:
        return [f"not valid HTML5: {exc}"]
    problems: list[str] = []
    parent = {child: node for node in root.iter() for child in node}
    elements = list(root.iter())
    ids: dict[str, Any] = {}
    for el in elements:
        if el.get("id") is not None:
            if el.get("id") in ids:
                problems.append(f"duplicate id {el.get('id')!r}")
            ids[el.get("id")] = el
    labelled = {el.get("for") for el in elements if el.tag == "label"}

    def ancestors(el: Any) -> list[Any]:
        out = []
        while el in parent:
            el = parent[el]
            out.append(el)
        return out

    for el in elements:
        if el.tag in ("input", "textarea", "select") and el.get("type") not in ("hidden", "submit", "button"):
            in_legend_fieldset = any(
                a.tag == "fieldset" and any(c.tag == "legend" and _text(c).strip() for c in a) for a in ancestors(el)
            )
            wrapped = any(a.tag == "label" for a in ancestors(el))
            if not ((el.get("id") in labelled) or wrapped or in_legend_fieldset):
                problems.append(f"{el.tag} name={el.get('name')!r} has no label and no fieldset legend")
        for target in (el.get("aria-describedby") or "").split():
            if target not in ids:
                problems.append(f"aria-describedby {target!r} on {el.tag} points at no element")
        for target in (el.get("aria-labelledby") or "").split():
            if target not in ids:
                problems.append(f"aria-labelledby {target!r} on {el.tag} points at no element")
    title = root.find(".//title")
    title_text = _text(title).strip() if title is not None else ""
    summaries = [el for el in elements if "error-summary" in (el.get("class") or "").split()]
    inline = [el for el in elements if "error-message" in (el.get("class") or "").split()]
    has_errors = bool(summaries or inline)
    if title_text.startswith("Error: ") != has_errors:
        problems.append(f"title {title_text!r} does not match errors shown ({has_errors})")
    if bool(summaries) != bool(inline):
        problems.append("an error summary without inline messages, or the reverse")
    for summary in summaries:
        links = [a for a in summary.iter("a")]
        if len(links) != len(inline):
            problems.append(f"{len(links)} summary links for {len(inline)} inline messages")
        for a in links:
            href = a.get("href") or ""
            target = ids.get(href[1:]) if href.startswith("#") else None
            if target is None:
                problems.append(f"error summary link {href!r} points at no element")
                continue
            if target.tag not in ("input", "textarea", "select"):
                problems.append(f"error summary link {href!r} points at a {target.tag}, not a field")
            elif target.get("type") in ("radio", "checkbox"):
                group = [el for el in elements if el.tag == "input" and el.get("name") == target.get("name")]
                if group[0] is not target:
                    problems.append(f"error summary link {href!r} is not the first option of its group")
    return problems


def visible_text(html: str) -> str:
    """The text a person can read or hear: element text (title included), alt and aria-label,
    button values; not scripts, styles or attribute values like ids and URLs."""
    root = parse_html(html)
    parts: list[str] = []

    def walk(el: Any) -> None:
        if el.tag in ("script", "style"):
            if el.tail:
                parts.append(el.tail)
            return
        if el.text:
            parts.append(el.text)
        for attr in ("alt", "aria-label", "placeholder"):
            if el.get(attr):
                parts.append(" " + el.get(attr) + " ")
        if el.tag == "input" and el.get("type") in ("submit", "button"):
            parts.append(" " + (el.get("value") or "") + " ")
        for child in el:
            walk(child)
        if el.tail:
            parts.append(el.tail)

    walk(root)
    return " ".join(" ".join(parts).split())


def session_data(client: FlaskClient) -> dict[str, Any]:
    """The decoded (signed, not encrypted) Flask session cookie of a test client."""
    app = client.application
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        return {}
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    data: dict[str, Any] = serializer.loads(cookie.value)
    return data


def error_summary_links(html: str) -> list[tuple[str, str]]:
    """(href, text) of each link in the error summary."""
    root = parse_html(html)
    return [
        (a.get("href"), " ".join(_text(a).split()))
        for el in root.iter()
        if "error-summary" in (el.get("class") or "").split()
        for a in el.iter("a")
    ]


def inline_errors(html: str) -> dict[str, str]:
    """Inline error messages by the id of their element, without the hidden "Error:" prefix."""
    root = parse_html(html)
    return {
        el.get("id"): " ".join(_text(el).split()).removeprefix("Error:").strip()
        for el in root.iter()
        if "error-message" in (el.get("class") or "").split()
    }


def field_values(html: str) -> dict[str, Any]:
    """What a browser would send back from the page's question form: text values, checked boxes."""
    root = parse_html(html)
    out: dict[str, Any] = {}
    for el in root.iter():
        name = el.get("name")
        if not name or name in ("csrf_token", "next", "lang"):
            continue
        if el.tag == "textarea":
            out[name] = el.text or ""
        elif el.tag == "input" and el.get("type") == "checkbox":
            if el.get("checked") is not None:
                out.setdefault(name, []).append(el.get("value"))
        elif el.tag == "input" and el.get("type") == "radio":
            if el.get("checked") is not None:
                out[name] = el.get("value")
        elif el.tag == "input":
            out[name] = el.get("value") or ""
    return out


def title_of(html: str) -> str:
    title = parse_html(html).find(".//title")
    return " ".join(_text(title).split()) if title is not None else ""


def draft_row(client: FlaskClient) -> Any:
    """The database row of the test client's draft (detached), or None when there is none."""
    from questionnaire.data import store

    token = session_data(client).get("draft")
    with client.application.app_context():
        return store.find_draft(token)


def submissions(app: Any) -> list[Any]:
    from sqlalchemy import select

    from questionnaire.data.models import Submission
    from questionnaire.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(Submission).order_by(Submission.id)))
