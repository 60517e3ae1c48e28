"""The FHIR endpoints: the public Questionnaire, a submission's QuestionnaireResponse, the bundle export."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from flask import Flask

from questionnaire.core import fhir
from questionnaire.data import store
from questionnaire.extensions import db

from ..helpers import PERSONAS
from ..staff_factory import add_submission
from ..staff_helpers import make_staff, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def signed_in(app: Flask, role: str) -> Any:
    client = app.test_client()
    sign_in(client, f"{role}@clinic.example", make_staff(app, f"{role}@clinic.example", role))
    return client


def test_the_questionnaire_is_public_valid_fhir_and_names_its_version(client: Any) -> None:
    response = client.get("/fhir/Questionnaire")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    resource = Questionnaire.model_validate(response.get_json())
    assert resource.version == fhir.questionnaire_version()


def test_a_clinician_downloads_a_submission_as_a_response_that_reads_back_the_same(app: Flask) -> None:
    answers = PERSONAS["discuss_before_booking"]
    reference = add_submission(app, answers)
    client = signed_in(app, "clinician")
    response = client.get(f"/staff/submissions/{reference}/fhir")
    assert response.status_code == 200
    data = response.get_json()
    QuestionnaireResponse.model_validate(data)
    assert data["questionnaire"].endswith("|" + fhir.questionnaire_version())
    with app.app_context():
        stored = store.submission_by_reference(reference)
        assert stored is not None
        assert fhir.response_answers(data) == stored.answers
        assert "r_blood_thinner_injection" in {f["id"] for f in fhir.response_flags(data)}
        assert [e.action for e in store.audit_events(reference=reference)][0] == "export_fhir"


def test_the_front_desk_cannot_download_the_full_answer_set(app: Flask) -> None:
    reference = add_submission(app, PERSONAS["none"])
    assert signed_in(app, "front_desk").get(f"/staff/submissions/{reference}/fhir").status_code == 403


def test_an_administrator_exports_a_date_range_as_one_bundle_and_it_is_audited(app: Flask) -> None:
    references = {add_submission(app, PERSONAS[level]) for level in ("none", "urgent", "mention_at_consultation")}
    response = signed_in(app, "admin").get("/staff/admin/fhir-bundle?from=2000-01-01")
    assert response.status_code == 200
    bundle = json.loads(response.get_data(as_text=True))
    Bundle.model_validate(bundle)
    identifiers = {
        e["resource"]["identifier"]["value"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    }
    assert identifiers == references
    with app.app_context():
        assert any(e.action == "export_fhir_bundle" for e in store.audit_events())


def test_a_submission_keeps_the_wording_version_it_was_answered_in(app: Flask) -> None:
    """clinical-content.md: store the question text version with the answers, because wording changes.
    The export points at that version, and staff are told when today's wording differs."""
    reference = add_submission(app, PERSONAS["discuss_before_booking"])
    with app.app_context():
        sub = store.submission_by_reference(reference)
        assert sub is not None and sub.questions_version == fhir.questionnaire_version()
    client = signed_in(app, "clinician")
    assert "wording has changed" not in client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    with app.app_context():  # as if the wording had changed since it was sent
        sub = store.submission_by_reference(reference)
        assert sub is not None
        sub.questions_version = "0123456789ab"
        db.session.commit()
    html = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    assert (
        f"The questions' wording has changed since it was sent (version 0123456789ab then, "
        f"{fhir.questionnaire_version()} now)"
    ) in html
    data = client.get(f"/staff/submissions/{reference}/fhir").get_json()
    assert data["questionnaire"].endswith("|0123456789ab")
