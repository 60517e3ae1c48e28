"""The patient questionnaire through the Flask test client: complete flows and the stored row."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.data import store
from questionnaire.data.models import Submission, SubmissionRule
from questionnaire.extensions import db
from questionnaire.web.i18n import text_in

from ..helpers import (
    EVERY_PAGE,
    NO_FLAGS,
    PERSONAS,
    Patient,
    draft_row,
    field_values,
    form_data,
    parse_html,
    session_data,
    visible_text,
)


def stored(app: Flask) -> list[Submission]:
    with app.app_context():
        return list(db.session.scalars(select(Submission)))


@pytest.mark.parametrize("level", ["none", "mention_at_consultation", "discuss_before_booking", "urgent"])
def test_complete_flow_stores_visible_answers_and_outcome(app: Flask, patient: Patient, level: str) -> None:
    answers: dict[str, Any] = PERSONAS[level]
    page = patient.complete(answers)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    [sub] = stored(app)
    assert sub.level == level
    assert sub.reference in html
    assert sub.ruleset_sha256 == app.extensions["ruleset"].sha256
    assert sub.language == "en"
    if level == "urgent":
        assert sub.stopped_early
        assert "emergency" in html
        assert "booking.example.test" not in html
        # Stopped on the first page: only the urgent page's answers were given.
        assert set(sub.answers) <= {q.id for q in flow.shown_questions("urgent", answers)}
    else:
        assert sub.answers == flow.visible_answers({k: v for k, v in answers.items()} | {"declaration": "yes"})
        assert ("booking.example.test" in html) == (level in ("none", "mention_at_consultation"))


# --- an urgent answer stops the form ------------------------------------------------------------

URGENT_WORDING = (
    "Some of your answers mean you may need medical help now. Please stop here and call your local "
    "emergency number, or go to the nearest emergency department. Do not wait for the clinic to "
    "contact you."
)


def test_an_urgent_answer_stops_the_form_at_once_and_keeps_only_the_answers_given(app: Flask, patient: Patient) -> None:
    patient.start()
    urgent_page = {**form_data("urgent", NO_FLAGS), "breathing_trouble_now": "yes"}
    response = patient.post("/questions/urgent", urgent_page)
    assert response.status_code == 302 and response.location == "/get-help-now"
    html = patient.get("/get-help-now").get_data(as_text=True)
    text = visible_text(html)
    assert URGENT_WORDING in text
    assert "You said you are having trouble breathing right now" in text
    assert "booking.example.test" not in html and "Book an appointment" not in text
    # Only the urgent page was asked, so the copy of the answers lists only that page.
    assert [h for h in QUESTIONNAIRE.pages if h.title in text] == [QUESTIONNAIRE.page("urgent")]
    assert "Not answered" not in text

    [sub] = stored(app)
    assert sub.stopped_early and sub.level == "urgent"
    assert sub.answers == {k: v for k, v in urgent_page.items()}
    fired = {f["id"]: f for f in sub.fired}
    assert fired["r_urgent_breathing_now"]["triggers"] == {"breathing_trouble_now": "yes"}
    # Nothing goes on from here: every page leads back to the emergency page.
    for url in ("/questions/about", "/check-answers", "/sent"):
        assert patient.get(url).location == "/get-help-now", url
    assert patient.post("/questions/about", form_data("about", NO_FLAGS)).status_code == 409
    assert len(stored(app)) == 1 and stored(app)[0].answers == sub.answers


def test_the_emergency_page_says_nothing_that_contradicts_getting_help_now(app: Flask, patient: Patient) -> None:
    """A lower flag on the same page ("not sure" about feeling unwell: we will contact you before you
    book) is stored for the clinic, but the emergency page shows only what the urgent rules say."""
    patient.start()
    answers = {**form_data("urgent", NO_FLAGS), "chest_pain_now": "yes", "unwell_now": "not_sure"}
    assert patient.post("/questions/urgent", answers).location == "/get-help-now"
    for url in ("/get-help-now", "/sent/print"):
        text = visible_text(patient.get(url).get_data(as_text=True))
        assert URGENT_WORDING in text and "chest pain" in text.lower(), url
        for m in ("MSG_D", "MSG_AFTER_FEELING_BETTER"):  # what r_current_infection_or_fever says
            assert app.extensions["ruleset"].messages[m].split(". ")[0] not in text, (url, m)
    [sub] = stored(app)
    assert {f["id"] for f in sub.fired} == {"r_urgent_chest_pain_now", "r_current_infection_or_fever"}


def test_an_urgent_answer_on_a_follow_up_page_stores_both_pages_answers(app: Flask, patient: Patient) -> None:
    patient.start()
    first = {**form_data("urgent", NO_FLAGS), "recent_ozone_7d": "yes"}
    assert patient.post("/questions/urgent", first).location == "/questions/urgent-follow-up"
    follow_up = {"post_ozone_red_flags": ["seizure"], "post_ozone_site_problem": "no"}
    assert patient.post("/questions/urgent-follow-up", follow_up).location == "/get-help-now"
    [sub] = stored(app)
    assert sub.answers == {**first, **follow_up}
    assert sub.level == "urgent" and [f["id"] for f in sub.fired] == ["r_urgent_post_ozone_symptoms"]
    assert "r_required_unanswered" not in {f["id"] for f in sub.fired}


def test_the_emergency_page_is_only_for_a_form_stopped_early(patient: Patient) -> None:
    patient.complete(PERSONAS["discuss_before_booking"])
    assert patient.get("/get-help-now").location == "/sent"


# --- check your answers and the Change links ----------------------------------------------------


def summary_groups(html: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(page heading, [(question, answer)]) for each group on the check-your-answers page."""
    root = parse_html(html)
    main = root.find(".//main")
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    heading = ""
    for el in main:
        if el.tag == "h2":
            heading = " ".join("".join(el.itertext()).split())
        if el.tag == "dl":
            rows = [
                (" ".join("".join(row[0].itertext()).split()), " ".join("".join(row[1].itertext()).split()))
                for row in el
            ]
            groups.append((heading, rows))
    return groups


def change_links(html: str) -> dict[str, str]:
    root = parse_html(html)
    return {
        a.get("href").split("#")[1]: a.get("href").split("#")[0]
        for a in root.iter("a")
        if "".join(a.itertext()).startswith("Change")
    }


def change_link_names(html: str) -> dict[str, tuple[str, str]]:
    """Question id -> (accessible name, visible text) of its Change link. The name as browsers compute
    it for these links: the texts of the elements that aria-labelledby names, in that order; without
    aria-labelledby, aria-label or else the link's own text (hidden text included)."""
    root = parse_html(html)
    ids = {el.get("id"): el for el in root.iter() if el.get("id")}

    def text(el: Any) -> str:
        return " ".join("".join(el.itertext()).split())

    def shown(el: Any) -> str:
        return (el.text or "") + "".join(
            (shown(child) if "visually-hidden" not in (child.get("class") or "") else "") + (child.tail or "")
            for child in el
        )

    names = {}
    for a in root.iter("a"):
        page_url, _, question_id = (a.get("href") or "").partition("#")
        if not page_url.endswith("?return=check"):
            continue
        refs = (a.get("aria-labelledby") or "").split()
        name = " ".join(text(ids[ref]) for ref in refs) if refs else a.get("aria-label") or text(a)
        names[question_id] = (name, " ".join(shown(a).split()))
    return names


@pytest.mark.parametrize("lang", ["en", "es"])
def test_each_change_link_is_named_change_and_its_question_in_the_patients_language(app: Flask, lang: str) -> None:
    patient = Patient(app.test_client())
    patient.get("/")
    patient.post("/language", {"lang": lang, "next": "/"})
    html = patient.complete(EVERY_PAGE, send=False).get_data(as_text=True)
    change = text_in(lang, "Change")
    assert change == ("Change" if lang == "en" else "Cambiar")
    shown = [
        q for p in flow.shown_pages(EVERY_PAGE) if p.id != "declaration" for q in flow.shown_questions(p.id, EVERY_PAGE)
    ]
    assert change_link_names(html) == {q.id: (f"{change} {text_in(lang, q.text)}", change) for q in shown}


@pytest.mark.parametrize("answers", [NO_FLAGS, EVERY_PAGE], ids=["few pages", "every page"])
def test_check_answers_lists_every_shown_answer_grouped_by_page(patient: Patient, answers: dict[str, Any]) -> None:
    html = patient.complete(answers, send=False).get_data(as_text=True)
    groups = summary_groups(html)
    pages = [p for p in flow.shown_pages(answers) if p.id != "declaration"]
    assert [title for title, _ in groups] == [p.title for p in pages]
    for (_, rows), page in zip(groups, pages):
        assert [q for q, _ in rows] == [q.text for q in flow.shown_questions(page.id, answers)]
    values = dict(row for _, rows in groups for row in rows)
    assert values[QUESTIONNAIRE.questions["patient_age_years"].text] == "45 years"
    assert values[QUESTIONNAIRE.questions["treatment_types"].text].startswith("An injection into a joint")
    shown_ids = {q.id for p in pages for q in flow.shown_questions(p.id, answers)}
    assert set(change_links(html)) == shown_ids
    if answers is NO_FLAGS:
        assert "Which one? Write the name if you know it." not in html  # a hidden follow-up question
    assert 'class="back-link" href="/questions/contact"' in html


def test_a_change_link_returns_to_the_page_then_straight_back_to_the_summary(patient: Patient) -> None:
    html = patient.complete(NO_FLAGS, send=False).get_data(as_text=True)
    url = change_links(html)["low_platelets"]
    assert url == "/questions/blood?return=check"
    page = patient.get(url).get_data(as_text=True)
    assert 'class="back-link" href="/check-answers"' in page
    assert field_values(page)["low_platelets"] == "no"  # the page shows the earlier answer
    response = patient.post(url, {**form_data("blood", NO_FLAGS), "low_platelets": "not_sure"})
    assert response.location == "/check-answers"
    values = dict(
        row for _, rows in summary_groups(patient.get("/check-answers").get_data(as_text=True)) for row in rows
    )
    assert values[QUESTIONNAIRE.questions["low_platelets"].text] == "Not sure"


def test_a_change_that_reveals_a_follow_up_page_goes_there_first_then_back_to_the_summary(
    app: Flask, patient: Patient
) -> None:
    patient.complete(NO_FLAGS, send=False)
    response = patient.post("/questions/blood?return=check", {**form_data("blood", NO_FLAGS), "blood_thinner": "yes"})
    assert response.location == "/questions/blood-follow-up?return=check&from=blood"
    page = patient.get(response.location).get_data(as_text=True)
    # Back goes to the page just changed (issue 18), which itself goes back to check your answers.
    assert 'class="back-link" href="/questions/blood?return=check"' in page
    assert 'class="back-link" href="/check-answers"' in patient.get("/questions/blood?return=check").get_data(
        as_text=True
    )
    response = patient.post("/questions/blood-follow-up?return=check&from=blood", {"blood_thinner_name": "Rivaroxaban"})
    assert response.location == "/check-answers"
    html = patient.get("/check-answers").get_data(as_text=True)
    assert "Rivaroxaban" in visible_text(html)
    patient.post("/check-answers", {"declaration": "yes"})
    [sub] = stored(app)
    assert sub.answers["blood_thinner_name"] == "Rivaroxaban" and sub.level == "discuss_before_booking"


def test_changing_an_answer_that_hides_questions_removes_their_answers_everywhere(app: Flask, patient: Patient) -> None:
    answers = {
        **PERSONAS["discuss_before_booking"],
        "prior_ozone": "yes",
        "prior_ozone_types": ["joint"],
        "prior_ozone_problem": "yes",
        "prior_ozone_problem_type": ["rash"],
        "prior_ozone_problem_details": "Itchy-rash-zebra",
    }
    html = patient.complete(answers, send=False).get_data(as_text=True)
    assert "warfarin" in html and "Itchy-rash-zebra" in html
    assert (
        patient.post("/questions/blood?return=check", {**form_data("blood", answers), "blood_thinner": "no"}).location
        == "/check-answers"
    )
    assert (
        patient.post(
            "/questions/reactions?return=check", {**form_data("reactions", answers), "prior_ozone": "no"}
        ).location
        == "/check-answers"
    )
    hidden = {
        "blood_thinner_name",
        "prior_ozone_types",
        "prior_ozone_problem",
        "prior_ozone_problem_type",
        "prior_ozone_problem_details",
    }
    draft = draft_row(patient.client)
    assert not hidden & set(draft.answers)
    assert not {"blood-follow-up", "reactions-follow-up", "reactions-detail"} & set(draft.done_pages)
    html = patient.get("/check-answers").get_data(as_text=True)
    assert "warfarin" not in html and "Itchy-rash-zebra" not in html
    assert "Your past ozone treatment" not in html
    outcome = patient.get(patient.post("/check-answers", {"declaration": "yes"}).location)
    assert "warfarin" not in outcome.get_data(as_text=True)
    [sub] = stored(app)
    assert not hidden & set(sub.answers)
    assert sub.level == "none" and sub.fired == []
    assert sub.answers == flow.visible_answers(NO_FLAGS) | {"declaration": "yes"}


# --- sending twice, jumping ahead, posting after sending ----------------------------------------


def test_sending_twice_creates_one_submission_and_shows_the_same_reference(app: Flask, patient: Patient) -> None:
    patient.complete(NO_FLAGS, send=False)
    token = patient.token
    first = patient.client.post("/check-answers", data={"csrf_token": token, "declaration": "yes"})
    second = patient.client.post("/check-answers", data={"csrf_token": token, "declaration": "yes"})
    assert first.location == second.location == "/sent"
    [sub] = stored(app)
    for _ in range(2):  # refresh
        assert sub.reference in patient.get("/sent").get_data(as_text=True)
    # Back to the check page, then send again.
    assert patient.get("/check-answers").location == "/sent"
    assert patient.post("/check-answers", {"declaration": "yes"}).location == "/sent"
    assert patient.post("/check-answers", {}).location == "/sent"
    assert [s.reference for s in stored(app)] == [sub.reference]


def test_a_send_that_loses_the_race_returns_the_first_submission(
    app: Flask, patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient.complete(NO_FLAGS)
    [sub] = stored(app)
    token = session_data(patient.client)["draft"]
    with app.app_context():
        draft = store.find_draft(token)
        assert draft is not None
        ruleset = app.extensions["ruleset"]
        real = store.submission_for_draft
        calls = iter([None])  # the other click has not committed when this one looks
        monkeypatch.setattr(store.submissions, "submission_for_draft", lambda d: next(calls, real(d)))
        again = store.submit(draft, ruleset, ruleset.evaluate(draft.answers))
        assert again.id == sub.id
    assert len(stored(app)) == 1


def test_references_are_short_unambiguous_and_not_sequential(app: Flask) -> None:
    import re

    refs = []
    for _ in range(4):
        Patient(app.test_client()).complete(NO_FLAGS)
    refs = [s.reference for s in stored(app)]
    assert len(set(refs)) == 4
    for ref in refs:
        assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}", ref), ref


def test_jumping_ahead_by_url_redirects_to_the_first_unanswered_page(app: Flask, patient: Patient) -> None:
    patient.start()
    patient.answer("urgent", form_data("urgent", NO_FLAGS))
    patient.answer("about", form_data("about", NO_FLAGS))
    for url in ("/questions/heart", "/questions/contact", "/check-answers", "/questions/blood-follow-up"):
        assert patient.get(url).location == "/questions/blood", url
    assert patient.get("/sent").location == "/"
    response = patient.post("/questions/heart", form_data("heart", NO_FLAGS))
    assert response.location == "/questions/blood"
    assert "heart" not in draft_row(patient.client).done_pages
    assert patient.post("/check-answers", {"declaration": "yes"}).location == "/questions/blood"
    assert stored(app) == []
    # Earlier pages stay open.
    assert patient.get("/questions/urgent").status_code == 200


def test_posting_to_an_old_page_after_sending_says_so_and_changes_nothing(app: Flask, patient: Patient) -> None:
    patient.complete(PERSONAS["discuss_before_booking"])
    [before] = stored(app)
    draft_before = draft_row(patient.client)
    response = patient.post("/questions/blood", {**form_data("blood", NO_FLAGS), "blood_thinner": "no"})
    assert response.status_code == 409
    text = visible_text(response.get_data(as_text=True))
    assert "Your answers were already sent" in text and before.reference in text
    assert patient.post("/questions/urgent", {"chest_pain_now": "yes"}).status_code == 409
    [after] = stored(app)
    assert after.answers == before.answers and after.level == before.level and after.fired == before.fired
    assert draft_row(patient.client).answers == draft_before.answers
    assert patient.get("/questions/blood").location == "/sent"


# --- what a submission stores ------------------------------------------------------------------


def test_a_submission_stores_answers_level_fired_rules_with_triggers_ruleset_language_and_time(
    app: Flask, patient: Patient
) -> None:
    from datetime import datetime, timedelta

    began = datetime.now(UTC)
    answers = PERSONAS["discuss_before_booking"]
    patient.complete(answers)
    [sub] = stored(app)
    ruleset = app.extensions["ruleset"]
    visible = flow.visible_answers(answers) | {"declaration": "yes"}
    assessment = ruleset.evaluate(visible)
    assert sub.answers == visible
    assert sub.level == assessment.level == "discuss_before_booking"
    assert sub.fired == [store.fired_to_json(f, ruleset) for f in assessment.fired]
    thinner = next(f for f in sub.fired if "blood_thinner" in f["triggers"])
    rule = next(r for r in ruleset.rules if r.id == thinner["id"])
    assert (thinner["staff_note"], thinner["evidence"]) == (rule.staff_note, rule.evidence)  # as judged then
    assert [s for s, _text in thinner["sources"]] == list(rule.sources)
    assert thinner["triggers"]["blood_thinner"] == "yes" and thinner["level"] == "discuss_before_booking"
    assert (sub.ruleset_version, sub.ruleset_sha256) == (ruleset.version, ruleset.sha256)
    assert sub.language == "en" and not sub.stopped_early
    assert began - timedelta(seconds=1) <= sub.created_at <= datetime.now(UTC)
    with app.app_context():
        rows = db.session.scalars(select(SubmissionRule.rule_id).where(SubmissionRule.submission_id == sub.id))
        # The rule index holds each fired rule's keyed value (never the rule id: health data).
        ring = app.extensions["keyring"]
        assert sorted(rows) == sorted(ring.keyed("rule", f["id"]) for f in sub.fired)


def test_a_submission_stores_the_language_the_patient_chose(app: Flask, patient: Patient) -> None:
    patient.get("/")
    patient.post("/language", {"lang": "es", "next": "/"})
    patient.complete(NO_FLAGS)
    [sub] = stored(app)
    assert sub.language == "es"
    assert session_data(patient.client).get("lang") == "es"
