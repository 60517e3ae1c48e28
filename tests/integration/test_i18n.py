"""English and Spanish: complete catalogues, no clearance wording in either, and the app in Spanish.

The catalogue checks compare a fresh extraction (babel.cfg, through Babel's API) with the Spanish
.po, so a new patient-facing string in the code, the templates or the rules file that nobody
translated fails here. After changing any patient text, run `make translations`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po, write_po
from flask import Flask

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import NOT_SURE_HINT, Page
from questionnaire.core.rules import DEFAULT_PATH, load_ruleset
from questionnaire.core.wording import PHRASES, WORDS, banned_wording
from questionnaire.web import i18n

from ..helpers import (
    EVERY_PAGE,
    NO_FLAGS,
    PERSONAS,
    Patient,
    error_summary_links,
    field_values,
    form_data,
    html_problems,
    inline_errors,
    submissions,
    visible_text,
)

PO = i18n.TRANSLATIONS_DIR / "es" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
POT = i18n.TRANSLATIONS_DIR / "messages.pot"
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def read(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """A fresh extraction written to a temporary .pot and read back, as `make translations` does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    with pot.open("wb") as fh:
        write_po(fh, i18n.extract_catalog())
    return read(pot)


@pytest.fixture(scope="module")
def spanish() -> Catalog:
    return read(PO)


def entries(catalog: Catalog) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) of every message but the header (no plurals here)."""
    return [(str(m.id), str(m.string or ""), bool(m.fuzzy)) for m in catalog if m.id]


def translated(catalog: Catalog) -> dict[str, str]:
    return {msgid: msgstr for msgid, msgstr, fuzzy in entries(catalog) if msgstr and not fuzzy}


# --- the catalogues ------------------------------------------------------------------------------


def test_every_patient_facing_string_has_a_spanish_translation_that_is_not_fuzzy(
    fresh: Catalog, spanish: Catalog
) -> None:
    assert len(fresh) > 300, "the extraction found almost nothing: check babel.cfg"
    problems = []
    for m in fresh:
        if not m.id:
            continue
        entry = spanish.get(m.id)
        where = ", ".join(f"{f}:{n}" for f, n in m.locations)
        if entry is None:
            problems.append(f"not in the Spanish catalogue: {m.id!r} ({where})")
        elif not entry.string:
            problems.append(f"not translated: {m.id!r} ({where})")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {m.id!r} ({where})")
    assert not problems, "run `make translations` and translate:\n  " + "\n  ".join(problems)
    assert not spanish.fuzzy, "the Spanish catalogue's header is marked fuzzy"


def test_the_committed_template_and_catalogue_hold_exactly_the_extracted_strings(
    fresh: Catalog, spanish: Catalog
) -> None:
    ids = {m.id for m in fresh if m.id}
    assert {m.id for m in read(POT) if m.id} == ids, "messages.pot is out of date: run `make translations`"
    stale = sorted({m.id for m in spanish if m.id} - ids)
    assert not stale, f"the Spanish catalogue has strings no longer used: {stale}"


def test_every_text_the_app_translates_is_in_the_catalogue(spanish: Catalog) -> None:
    """Question texts, hints, errors, choices, and the rules file's titles, outcomes and messages:
    a text not marked for extraction (no N_()) would be shown in English to a Spanish reader."""
    es = translated(spanish)
    texts = i18n.questionnaire_texts() + i18n.rule_texts(load_ruleset())
    missing = [f"{where}: {text!r}" for where, text in texts if text not in es]
    assert not missing, "\n".join(missing)


def test_the_rules_extractor_yields_the_texts_exactly_as_the_loader_stores_them() -> None:
    ruleset = load_ruleset()
    expected = [text for _, text in i18n.rule_texts(ruleset)]
    raw = DEFAULT_PATH.read_bytes()
    with DEFAULT_PATH.open("rb") as fh:
        from_file = list(i18n.extract_rules(fh, [], [], {}))
    from_bytes = list(i18n.extract_rules(io.BytesIO(raw), [], [], {}))
    for found in (from_file, from_bytes):
        assert [text for _, _, text, _ in found] == expected
        assert all(text == text.strip() for _, _, text, _ in found)
    # Each string points at its own line of the rules file.
    lines = raw.decode().splitlines()
    for lineno, _, _text, comments in from_file:
        key = comments[0].split()[-1]
        assert key in lines[lineno - 1] or "MSG_" in lines[lineno - 1], (lineno, comments)
    same_day = sum(1 for level in ruleset.levels if level.same_day is not None)
    assert len(expected) == 2 * (len(ruleset.levels) + same_day) + 2 + len(ruleset.messages)


def test_the_compiled_catalogue_matches_the_po_file(spanish: Catalog) -> None:
    with MO.open("rb") as fh:
        compiled = read_mo(fh)
    in_mo = {m.id: m.string for m in compiled if m.id}
    assert in_mo == translated(spanish), "messages.mo is out of date: run `make translations`"


def test_translations_keep_placeholders_and_paragraphs(spanish: Catalog) -> None:
    for msgid, msgstr, _ in entries(spanish):
        assert sorted(PLACEHOLDER.findall(msgstr)) == sorted(PLACEHOLDER.findall(msgid)), msgid
        assert msgstr.count("\n") == msgid.count("\n"), msgid
        # Jinja's gettext formats every string with %: a stray % would break the page.
        assert "%" not in PLACEHOLDER.sub("", msgstr), msgstr


# --- clearance wording (clinical-content.md C1) in both languages --------------------------------


def test_the_spanish_banned_list_is_as_strict_as_the_english_one() -> None:
    for word in ("elegible", "apto", "apta", "aprobado", "aprobada", "seguro", "segura", "garantizado"):
        assert word in WORDS["es"]
    for phrase in ("sin riesgo", "luz verde", "sin contraindicaciones", "sin efectos secundarios"):
        assert phrase in PHRASES["es"]
    assert banned_wording("¿Está seguro?", lang="es") == ["seguro"]
    for phrase in ("sin peligro", "visto bueno", "inocuo", "inofensiva"):
        assert banned_wording(f"El tratamiento es {phrase} para usted.", lang="es") == [phrase], phrase
    assert banned_wording("Usted es idónea.", lang="es", phrases=False) == ["idónea"]


def test_a_hyphen_does_not_hide_a_banned_word() -> None:
    assert banned_wording("You are pre-approved.", phrases=False) == ["approved"]
    assert banned_wording("Medically-cleared and safe-to-proceed.", phrases=False) == ["cleared", "safe"]
    assert banned_wording("Non-eligible.", phrases=False) == ["eligible"]
    assert banned_wording("Está pre-aprobada.", lang="es", phrases=False) == ["aprobada"]


def test_no_spanish_translation_uses_clearance_wording(spanish: Catalog) -> None:
    """Single words in every string; phrases too in the outcome wording and patient messages."""
    outcome_texts = {text for _, text in i18n.rule_texts(load_ruleset())}
    problems = []
    for msgid, msgstr, _ in entries(spanish):
        found = banned_wording(msgstr, lang="es", phrases=msgid in outcome_texts)
        if found:
            problems.append(f"{msgstr!r}: {found}")
        english = banned_wording(msgid, lang="en", phrases=msgid in outcome_texts)
        if english:
            problems.append(f"{msgid!r}: {english}")
    assert not problems, "\n".join(problems)


def test_not_sure_is_no_lo_se_and_never_a_word_about_being_sure(spanish: Catalog) -> None:
    es = translated(spanish)
    assert es["Not sure"] == "No lo sé"
    assert es["I'm not sure"] == "No lo sé"
    assert "“No lo sé”" in es[NOT_SURE_HINT]
    assert not [s for s in es.values() if re.search(r"\bsegur", s, re.IGNORECASE)]


# --- text_in: staff see the question text the patient saw ----------------------------------------


def test_text_in_translates_a_msgid_into_the_patients_language(app: Flask) -> None:
    q = QUESTIONNAIRE.questions["chest_pain_now"]
    spanish = "¿Tiene ahora mismo dolor, presión u opresión en el pecho?"
    assert i18n.text_in("es", q.text) == spanish  # no application context needed
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert i18n.text_in("es", q.text) == spanish  # whatever the request's own locale
        assert i18n.text_in("es-ES", q.text) == spanish
        assert i18n.text_in("en", q.text) == q.text
        assert i18n.text_in(None, q.text) == q.text
        assert i18n.text_in("fr", q.text) == q.text
        assert i18n.text_in("es", "A text nobody translated") == "A text nobody translated"
        assert i18n.text_in("es", "") == ""


# --- the app in Spanish --------------------------------------------------------------------------


def choose_spanish(patient: Patient, next_url: str = "/") -> None:
    response = patient.post("/language", {"lang": "es", "next": next_url})
    assert response.status_code == 302 and response.location == next_url


def english_left(html: str, spanish: Catalog) -> list[str]:
    """English msgids (longer than a couple of words, and different in Spanish) still on a page."""
    text = visible_text(html)
    return [msgid for msgid, msgstr, _ in entries(spanish) if len(msgid) > 14 and msgstr != msgid and msgid in text]


def test_the_language_switcher_shows_questions_choices_and_errors_in_spanish(
    patient: Patient, spanish: Catalog
) -> None:
    patient.start()
    patient.get("/questions/urgent")
    choose_spanish(patient, "/questions/urgent")
    html = patient.get("/questions/urgent").get_data(as_text=True)
    assert '<html lang="es">' in html
    text = visible_text(html)
    assert "¿Tiene ahora mismo dolor, presión u opresión en el pecho?" in text
    assert "Comprobación urgente" in text and "Por qué lo preguntamos" in text
    assert "Sí" in text and "Continuar" in text and "Sección 1 de" in text
    assert not english_left(html, spanish)

    html = patient.post("/questions/urgent", {}).get_data(as_text=True)
    errors = inline_errors(html)
    assert (
        errors["chest_pain_now-error"] == "Seleccione “Sí” si tiene ahora mismo dolor, presión u opresión en el pecho"
    )
    assert all(message.startswith("Seleccione") for message in errors.values())
    assert [text for _, text in error_summary_links(html)] == list(errors.values())
    assert "Hay un problema" in visible_text(html)
    assert not html_problems(html)  # among them: the title starts "Error: " in Spanish too

    # A multi question's "on its own" error names the choice in Spanish.
    patient.post("/questions/urgent", {**form_data("urgent", NO_FLAGS), "recent_ozone_7d": "yes"})
    html = patient.post(
        "/questions/urgent-follow-up",
        {"post_ozone_red_flags": ["chest_pain", "none_of_these"], "post_ozone_site_problem": "no"},
    ).get_data(as_text=True)
    assert "Seleccione solo “Nada de esto”" in inline_errors(html)["post_ozone_red_flags-error"]


def test_every_page_of_the_flow_in_spanish_shows_no_english_and_no_clearance_wording(
    app: Flask, patient: Patient, spanish: Catalog
) -> None:
    patient.get("/")
    choose_spanish(patient)
    start = patient.get("/").get_data(as_text=True)
    assert "Preguntas de salud antes de reservar una cita" in visible_text(start)
    pages = [("start", start)]
    patient.start()
    page: Page | None = QUESTIONNAIRE.pages[0]
    while page is not None and page.id != "declaration":
        html = patient.get(f"/questions/{page.id}").get_data(as_text=True)
        pages.append((page.id, html))
        response = patient.post(f"/questions/{page.id}", form_data(page.id, EVERY_PAGE))
        assert response.status_code == 302, page.id
        page = flow.next_page(page.id, EVERY_PAGE)
    pages.append(("check answers", patient.get("/check-answers").get_data(as_text=True)))
    response = patient.post("/check-answers", {"declaration": "yes"})
    pages.append(("outcome", patient.get(response.location).get_data(as_text=True)))
    for name, html in pages:
        assert '<html lang="es">' in html, name
        assert not english_left(html, spanish), name
        assert not banned_wording(visible_text(html)), name
        assert not html_problems(html), name
    [sub] = submissions(app)
    assert sub.language == "es"


@pytest.mark.parametrize("level", ["none", "mention_at_consultation", "discuss_before_booking"])
def test_the_outcome_wording_is_in_spanish(app: Flask, patient: Patient, spanish: Catalog, level: str) -> None:
    patient.get("/")
    choose_spanish(patient)
    html = patient.complete(PERSONAS[level]).get_data(as_text=True)
    text = visible_text(html)
    ruleset = app.extensions["ruleset"]
    es = translated(spanish)
    outcome = ruleset.level(level)
    assert es[outcome.title] in text
    for paragraph in es[outcome.outcome].format(working_days=app.config["CONTACT_WORKING_DAYS"]).split("\n"):
        assert paragraph in text
    if level == "discuss_before_booking":
        assert "en un plazo de 2 días laborables" in text
    [sub] = submissions(app)
    generic = {lv.message for lv in ruleset.levels}  # the level's outcome says these (R5)
    for message_id in {m for f in sub.fired for m in f["message_ids"]} - generic:
        assert es[ruleset.messages[message_id]] in text
    assert sub.language == "es"
    assert not english_left(html, spanish)
    assert not banned_wording(text)


def test_the_urgent_page_is_in_spanish(app: Flask, patient: Patient, spanish: Catalog) -> None:
    patient.get("/")
    choose_spanish(patient)
    html = patient.complete(PERSONAS["urgent"]).get_data(as_text=True)
    text = visible_text(html)
    assert "Busque ayuda médica ahora" in text
    assert "llame al número local de emergencias" in text
    assert "Nos ha dicho que tiene ahora mismo dolor, presión u opresión en el pecho." in text
    assert not english_left(html, spanish)
    [sub] = submissions(app)
    assert sub.language == "es" and sub.stopped_early


def test_switching_language_mid_form_keeps_the_answers_already_given(patient: Patient) -> None:
    answers: dict[str, Any] = {**NO_FLAGS, "blood_thinner": "yes", "blood_thinner_name": "apixaban"}
    patient.reach("heart", answers)
    choose_spanish(patient, "/questions/heart")
    html = patient.get("/questions/heart").get_data(as_text=True)
    assert "Su corazón" in visible_text(html) and "Your heart" not in visible_text(html)
    for page_id in ("urgent", "about", "blood", "blood-follow-up"):
        html = patient.get(f"/questions/{page_id}").get_data(as_text=True)
        assert '<html lang="es">' in html
        kept = field_values(html)
        assert kept == {k: v for k, v in form_data(page_id, answers).items()}, page_id
    # And back to English: still nothing lost.
    patient.post("/language", {"lang": "en", "next": "/questions/blood"})
    html = patient.get("/questions/blood").get_data(as_text=True)
    assert '<html lang="en">' in html and "Your blood" in visible_text(html)
    assert field_values(html) == form_data("blood", answers)


def test_accept_language_picks_spanish_when_nothing_was_chosen(patient: Patient) -> None:
    html = patient.get("/", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="es">' in html and "Empezar ahora" in visible_text(html)
    html = patient.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "Start now" in visible_text(html)
    # A choice made with the switcher beats the browser's language.
    patient.post("/language", {"lang": "en", "next": "/"})
    html = patient.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="en">' in html


def test_a_spanish_browser_without_a_choice_records_spanish(app: Flask, patient: Patient) -> None:
    headers = {"Accept-Language": "es-MX,es;q=0.9"}
    patient.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = headers["Accept-Language"]
    html = patient.complete(NO_FLAGS).get_data(as_text=True)
    assert "Gracias por sus respuestas" in visible_text(html)
    [sub] = submissions(app)
    assert sub.language == "es"
