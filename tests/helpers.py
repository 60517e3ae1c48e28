"""Test helpers: a patient who fills in the form through the Flask test client, and answer sets."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from questionnaire import flow
from questionnaire.questions import QUESTIONNAIRE

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

# A complete answer set that raises no flag: every safety question answered, nothing to flag.
NO_FLAGS: dict[str, Any] = {
    "chest_pain_now": "no", "breathing_trouble_now": "no", "stroke_signs_now": "no",
    "recent_ozone_7d": "no", "unwell_now": "no",
    "respondent_role": "patient", "patient_age_years": 45, "decision_help": "no", "treatment_types": ["joint"],
    "injection_body_area": "Left knee",
    "g6pd_deficiency": "no", "red_cell_breakdown": "no", "anaemia_recent": "no", "bleeding_problem": "no",
    "low_platelets": "no", "blood_thinner": "no",
    "heart_event_6m": "no", "stroke_ever": "no", "heart_condition": "no", "chest_pain_past_month": "no",
    "hole_in_heart": "no", "high_bp": "no", "pril_medicine": "no", "fainting_12m": "no", "faint_with_needles": "no",
    "overactive_thyroid": "no", "diabetes": "no",
    "seizures": "no", "lung_condition": "no",
    "pregnant": "not_applicable", "breastfeeding": "not_applicable",
    "prior_ozone": "no", "severe_allergy_ever": "no", "allergy_items": ["none_of_these"],
    "skin_problem_at_site": "no", "hot_swollen_joint": "no",
    "recent_surgery": "no", "replacing_advised_treatment": "no", "doctor_said_no": "no",
    "medicines_list": "none",
    "contact_name": "Alex Example", "contact_phone": "0161 496 0001", "contact_time": "morning",
}

PERSONAS: dict[str, dict[str, Any]] = {
    "none": NO_FLAGS,
    "mention_at_consultation": {**NO_FLAGS, "faint_with_needles": "yes"},
    "discuss_before_booking": {**NO_FLAGS, "blood_thinner": "yes", "blood_thinner_name": "warfarin"},
    "urgent": {**NO_FLAGS, "chest_pain_now": "yes"},
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
        payload = {"csrf_token": self.token, **(data or {})}
        response = self.client.post(url, data=payload, **kw)
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

    def complete(self, answers: dict[str, Any], send: bool = True) -> TestResponse:
        """Answer every page shown for these answers, in order, then send (unless told not to)."""
        self.start()
        page = QUESTIONNAIRE.pages[0]
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
