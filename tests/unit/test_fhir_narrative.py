"""FHIR narratives (issue 19 part 3, dom-6): every resource carries a generated XHTML `text`, the
resources still validate, and a patient's own words in it are escaped."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from questionnaire.core import fhir, fhir_bundle
from questionnaire.core.rules import load_ruleset
from questionnaire.data.store import fired_to_json

from ..helpers import PERSONAS

RULESET = load_ruleset()
XHTML = "{http://www.w3.org/1999/xhtml}"
HOSTILE = "<script>alert(\"x\")</script> & <b>warfarin</b> 'q'"


def response(answers: Mapping[str, Any], reference: str = "ABCD-EFGH") -> dict[str, Any]:
    assessment = RULESET.evaluate(answers)
    return fhir.questionnaire_response(
        answers,
        reference=reference,
        created=datetime(2026, 11, 29, 9, 30, tzinfo=UTC),
        language="en",
        fired=[fired_to_json(f) for f in assessment.fired],
        ruleset_version=RULESET.version,
        ruleset_sha256=RULESET.sha256,
        level=assessment.level,
    )


def check_narrative(resource: Mapping[str, Any]) -> ET.Element:
    text = resource["text"]
    assert text["status"] == "generated"
    assert text["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    root = ET.fromstring(text["div"])  # well-formed XHTML
    assert root.tag == XHTML + "div"
    assert {e.tag.removeprefix(XHTML) for e in root.iter()} <= {"div", "p", "b", "ul", "li"}
    assert "".join(root.itertext()).strip()
    return root


def test_the_questionnaire_has_a_narrative_and_validates() -> None:
    resource = fhir.questionnaire_resource()
    root = check_narrative(resource)
    assert "Ozone-therapy pre-consultation questionnaire" in "".join(root.itertext())
    FhirQuestionnaire.model_validate(resource)


@pytest.mark.parametrize("name", PERSONAS)
def test_every_response_and_contained_flag_has_a_narrative_and_validates(name: str) -> None:
    resource = response(PERSONAS[name])
    words = "".join(check_narrative(resource).itertext())
    assert "ABCD-EFGH" in words and (name == "none" or f"level {name}" in words)
    for flag in resource.get("contained", []):
        assert flag["code"]["text"] in "".join(check_narrative(flag).itertext())
    assert len(resource.get("contained", [])) == (0 if name == "none" else len(RULESET.evaluate(PERSONAS[name]).fired))
    QuestionnaireResponse.model_validate(resource)
    Bundle.model_validate(fhir_bundle.bundle([resource]))


def test_a_patients_text_in_the_narrative_is_escaped() -> None:
    answers = {**PERSONAS["discuss_before_booking"], "blood_thinner_name": HOSTILE}
    resource = response(answers)
    div = resource["text"]["div"]
    assert "<script>" not in div and "<b>warfarin" not in div
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;warfarin&lt;/b&gt; &#x27;q&#x27;" in div
    assert HOSTILE in "".join(check_narrative(resource).itertext())  # read back as the patient wrote it
    QuestionnaireResponse.model_validate(json.loads(json.dumps(resource)))
    assert fhir.response_answers(resource)["blood_thinner_name"] == HOSTILE
