"""The staff pages' words for levels, languages and contact details come from one place each: a
level's label and its front-desk text from the rules file, a language's name from core/languages.py,
a contact detail's name from the questionnaire definition (CONTACT_LABELS)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from questionnaire.core import languages
from questionnaire.core.definition import CONTACT_LABELS
from questionnaire.core.rules import DEFAULT_PATH

from ..helpers import PERSONAS, visible_text
from ..staff_factory import add_submission, at
from ..staff_helpers import make_staff, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")

TEXT = Path(DEFAULT_PATH).read_text(encoding="utf-8")
# Labels no page hard-codes: what the pages show can only come from the file.
RELABELLED = {
    "    label: Urgent ": "    label: Call at once ",
    "    label: Discuss before booking\n": "    label: Talk first\n",
    "    label: Mention at consultation\n": "    label: Note for the visit\n",
    "  label: No flags\n": "  label: Nothing raised\n",
}


@pytest.fixture
def relabelled(make_app: Any, tmp_path: Path) -> Flask:
    text = TEXT
    for old, new in RELABELLED.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return make_app(RULES_PATH=str(path))  # type: ignore[no-any-return]


def clinician(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, "doc@clinic.example", make_staff(app, "doc@clinic.example", "clinician")).status_code == 302
    return client


def tags(html: str) -> list[str]:
    return re.findall(r'<span class="tag tag--[a-z_]+">([^<]*)</span>', html)


def test_the_queue_names_the_levels_by_the_labels_of_the_rules_file(relabelled: Flask) -> None:
    add_submission(relabelled, persona="urgent", created_at=at(1))
    add_submission(relabelled, persona="discuss_before_booking", created_at=at(2))
    add_submission(relabelled, persona="none", created_at=at(3))
    html = clinician(relabelled).get("/staff/?status=any").get_data(as_text=True)
    text = visible_text(html)
    assert "Call at once first, then talk first, then note for the visit, then nothing raised." in text
    # The counts (one per level, in the rule set's order), then the rows' tags.
    assert tags(html)[:4] == ["Call at once", "Talk first", "Note for the visit", "Nothing raised"]
    assert {"Call at once", "Talk first", "Nothing raised"} <= set(tags(html)[4:])
    options = re.search(r'<select class="select" id="level" name="level">(.*?)</select>', html, re.S)
    assert options is not None
    assert re.findall(r">([^<]+)</option>", options.group(1)) == [
        "Any",
        "Call at once",
        "Talk first",
        "Note for the visit",
        "Nothing raised",
    ]
    assert re.search(r">Newest call at once: ", html) and re.search(r">Oldest talk first: ", html)
    for old in ("Urgent", "Discuss before booking", "Mention at consultation", "No flags"):
        assert old not in tags(html)


def test_the_submission_and_print_pages_take_the_label_and_the_action_from_the_rules_file(relabelled: Flask) -> None:
    reference = add_submission(relabelled, {**PERSONAS["discuss_before_booking"], "contact_name": "Ana Example"})
    client = clinician(relabelled)
    page = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    assert re.search(rf'<h1 class="heading-l">{reference} <span class="tag[^"]*">Talk first</span></h1>', page)
    printed = client.get(f"/staff/submissions/{reference}/print").get_data(as_text=True)
    action = printed[printed.index("Action</h2>") : printed.index("Flags (")]
    assert tags(action) == ["Talk first"]
    front_desk = relabelled.extensions["ruleset"].level("discuss_before_booking").front_desk
    for line in front_desk.splitlines():
        assert f"<li>{line}</li>" in action


def test_the_staff_pages_name_the_language_and_the_contact_details_from_one_place(app: Flask) -> None:
    reference = add_submission(
        app, {**PERSONAS["none"], "contact_name": "Ana Example", "contact_phone": "+34 600 11 22 33"}, language="es"
    )
    client = clinician(app)
    spanish = languages.name("es")
    page = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    assert f"Patient's language: {spanish}." in page and f"The patient answered in {spanish};" in page
    assert f"<dt>Language</dt><dd>{spanish}</dd>" in page  # the action card
    assert all(f"<dt>{label}</dt>" in page for label in CONTACT_LABELS.values())
    printed = client.get(f"/staff/submissions/{reference}/print").get_data(as_text=True)
    patient = printed[printed.index("Patient</h2>") : printed.index("Action</h2>")]
    assert re.findall(r"<dt>([^<]*)</dt>", patient)[: len(CONTACT_LABELS)] == list(CONTACT_LABELS.values())
    assert f"<dt>Patient's language</dt><dd>{spanish}</dd>" in patient


def test_the_language_switcher_offers_the_apps_languages_named_in_themselves(make_app: Any) -> None:
    every = make_app().test_client().get("/").get_data(as_text=True)
    assert all(f">{languages.native_name(code)}</" in every for code in ("en", "es"))
    english_only = make_app(LANGUAGES=["en"]).test_client().get("/").get_data(as_text=True)
    assert 'class="language' in english_only and languages.native_name("es") not in english_only
