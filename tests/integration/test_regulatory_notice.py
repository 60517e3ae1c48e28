"""The regulatory notice (clinical-content.md R8, B4 cfg_jurisdiction): chosen by the clinic's market,
shown on the start page and every outcome page (outcome, printable copy, urgent stop) in English and
Spanish; a market or clinic text the app must not use stops it at start-up."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from questionnaire import create_app
from questionnaire.config import ConfigError
from questionnaire.core import regulatory
from questionnaire.core.wording import banned_wording
from questionnaire.web import i18n

from ..helpers import PERSONAS, Patient, html_problems, parse_html, visible_text

# The specification's exact English (R8).
SPEC = {
    "US": "In the United States, the FDA says ozone is a toxic gas with no known useful medical use (21 CFR 801.415).",
    "CA": "Health Canada has not licensed ozone devices for these treatments and has warned the public about them.",
    "AU": "In Australia, health complaint bodies have acted against ozone therapy providers.",
}
CLINIC = {
    "en": "In the United Kingdom, no medicines regulator has licensed ozone for these injections.",
    "es": "En el Reino Unido, ninguna autoridad de medicamentos ha dado licencia al ozono para estas inyecciones.",
}


def expected(market: str, lang: str) -> str:
    if market in SPEC:
        return i18n.text_in(lang, SPEC[market])
    return CLINIC[lang]


def notices(html: str) -> list[str]:
    """The text of each regulatory notice on a page."""
    root = parse_html(html)
    return [
        " ".join("".join(el.itertext()).split())
        for el in root.iter()
        if "notice--regulatory" in (el.get("class") or "").split()
    ]


def in_language(patient: Patient, lang: str) -> None:
    patient.get("/")
    if lang != "en":
        response = patient.post("/language", {"lang": lang, "next": "/"})
        assert response.status_code == 302


def check_page(name: str, html: str, market: str, lang: str) -> None:
    assert f'<html lang="{lang}">' in html, name
    assert notices(html) == [expected(market, lang)], name
    text = visible_text(html)
    if lang != "en":
        # The English text is not left on a Spanish page.
        assert (SPEC.get(market) or CLINIC["en"]) not in text, name
    assert not banned_wording(text), name
    assert not regulatory.forbidden_wording(notices(html)[0]), name
    assert not html_problems(html), name


# --- the built-in texts ----------------------------------------------------------------------------


def test_the_built_in_texts_are_the_specifications_and_are_translated() -> None:
    assert regulatory.BUILT_IN == SPEC
    for market, english in SPEC.items():
        spanish = i18n.text_in("es", english)
        assert spanish != english, market
        assert "ozono" in spanish, market
        # Neither language says the treatment is cleared, approved, legal or safe.
        assert regulatory.forbidden_wording(english) == [], market
        assert regulatory.forbidden_wording(spanish) == [], market


def test_the_legality_words_are_caught_in_both_languages_whatever_the_case() -> None:
    assert regulatory.forbidden_wording("Ozone therapy is LEGAL here.") == ["LEGAL"]
    assert regulatory.forbidden_wording("La ozonoterapia es lícita.") == ["lícita"]
    assert regulatory.forbidden_wording("This treatment is not approved.") == ["approved"]
    assert regulatory.forbidden_wording("El tratamiento es seguro.") == ["seguro"]
    assert regulatory.forbidden_wording(SPEC["CA"]) == []  # "licensed" by a regulator is a fact, not a claim


# --- every page that carries it, for every market and both languages -----------------------------------


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("market", ["US", "CA", "AU", "GB"])
def test_the_notice_is_on_the_start_page_and_every_outcome_page(make_app: Any, market: str, lang: str) -> None:
    extra: dict[str, Any] = {"REGULATORY_NOTICE": CLINIC} if market == "GB" else {}
    app = make_app(REGULATORY_MARKET=market, **extra)

    patient = Patient(app.test_client())
    in_language(patient, lang)
    check_page("start", patient.get("/").get_data(as_text=True), market, lang)

    # An outcome with no flags, and one with a flag that holds booking; each with its printable copy.
    for persona in ("none", "discuss_before_booking"):
        patient = Patient(app.test_client())
        in_language(patient, lang)
        response = patient.complete(PERSONAS[persona])
        assert response.request.path == "/sent", persona
        check_page(f"outcome {persona}", response.get_data(as_text=True), market, lang)
        check_page(f"print {persona}", patient.get("/sent/print").get_data(as_text=True), market, lang)

    # The urgent stop page, and its printable copy.
    patient = Patient(app.test_client())
    in_language(patient, lang)
    response = patient.complete(PERSONAS["urgent"])
    assert response.request.path == "/get-help-now"
    html = response.get_data(as_text=True)
    check_page("urgent stop", html, market, lang)
    # The emergency wording comes first: the notice follows the urgent box, never inside it.
    assert html.index('class="urgent"') < html.index("notice--regulatory")
    check_page("print urgent", patient.get("/sent/print").get_data(as_text=True), market, lang)


def test_the_question_pages_do_not_carry_it(make_app: Any) -> None:
    app = make_app(REGULATORY_MARKET="US")
    patient = Patient(app.test_client())
    patient.start()
    assert notices(patient.get("/questions/urgent").get_data(as_text=True)) == []


def test_a_market_is_read_whatever_its_case_and_spacing(make_app: Any) -> None:
    app = make_app(REGULATORY_MARKET=" au ")
    assert notices(app.test_client().get("/").get_data(as_text=True)) == [SPEC["AU"]]


def test_nothing_set_shows_no_notice_outside_production(app: Flask, patient: Patient) -> None:
    assert not app.extensions["regulatory_notice"]
    assert notices(patient.get("/").get_data(as_text=True)) == []
    html = patient.complete(PERSONAS["none"]).get_data(as_text=True)
    assert notices(html) == [] and "notice--regulatory" not in html
    assert notices(patient.get("/sent/print").get_data(as_text=True)) == []


# --- settings the app refuses to start with ------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, names",
    [
        ({"REGULATORY_MARKET": "USA"}, ["FLASK_REGULATORY_MARKET", "'USA' is not a known market"]),
        ({"REGULATORY_MARKET": "UK", "REGULATORY_NOTICE": CLINIC}, ["FLASK_REGULATORY_MARKET", "'UK'"]),
        ({"REGULATORY_MARKET": "XX", "REGULATORY_NOTICE": CLINIC}, ["FLASK_REGULATORY_MARKET", "'XX'"]),
        ({"REGULATORY_MARKET": "GB"}, ["FLASK_REGULATORY_NOTICE", "'en'", "'es'"]),
        ({"REGULATORY_MARKET": "GB", "REGULATORY_NOTICE": {"en": CLINIC["en"]}}, ["FLASK_REGULATORY_NOTICE", "'es'"]),
        (
            {"REGULATORY_MARKET": "GB", "REGULATORY_NOTICE": {"en": CLINIC["en"], "es": "  "}},
            ["FLASK_REGULATORY_NOTICE", "'es'"],
        ),
        (
            {"REGULATORY_MARKET": "GB", "REGULATORY_NOTICE": {**CLINIC, "fr": "Texte"}},
            ["FLASK_REGULATORY_NOTICE", "'fr'"],
        ),
        ({"REGULATORY_MARKET": "GB", "REGULATORY_NOTICE": CLINIC["en"]}, ["FLASK_REGULATORY_NOTICE", "JSON object"]),
        ({"REGULATORY_NOTICE": CLINIC}, ["FLASK_REGULATORY_MARKET is not"]),
        ({"REGULATORY_MARKET": "US", "REGULATORY_NOTICE": CLINIC}, ["FLASK_REGULATORY_NOTICE", "built-in"]),
    ],
)
def test_a_market_or_clinic_text_it_cannot_use_stops_the_app(
    make_app: Any, settings: dict[str, Any], names: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_app(**settings)
    for name in names:
        assert name in str(caught.value)


@pytest.mark.parametrize(
    "lang, text, word",
    [
        ("en", "Ozone therapy is approved by our regulator.", "approved"),
        ("en", "Ozone injections are safe when done by our doctors.", "safe"),
        ("en", "Ozone therapy is legal in this country.", "legal"),
        ("en", "This treatment is low risk.", "low risk"),
        ("es", "La terapia con ozono está aprobada en este país.", "aprobada"),
        ("es", "El tratamiento es seguro.", "seguro"),
        ("es", "La ozonoterapia es legal aquí.", "legal"),
        ("es", "Es un tratamiento sin riesgo.", "sin riesgo"),
        # A Spanish word in the English text (or the reverse) counts too.
        ("en", "Our treatment is apto for everyone.", "apto"),
    ],
)
def test_a_clinic_text_with_clearance_or_legality_wording_stops_the_app(
    make_app: Any, lang: str, text: str, word: str
) -> None:
    texts = {**CLINIC, lang: text}
    with pytest.raises(ConfigError) as caught:
        make_app(REGULATORY_MARKET="GB", REGULATORY_NOTICE=texts)
    message = str(caught.value)
    assert "FLASK_REGULATORY_NOTICE" in message and f"({lang})" in message and word in message


# --- production, and the environment variables an instance really starts with ----------------------------


def test_production_refuses_to_start_without_a_market(production_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="FLASK_REGULATORY_MARKET is not set"):
        create_app()
    # A clinic text alone is not enough: it needs the market it was written for.
    production_env.setenv("FLASK_REGULATORY_NOTICE", json.dumps(CLINIC))
    with pytest.raises(ConfigError, match="FLASK_REGULATORY_MARKET"):
        create_app()


def test_production_refuses_a_market_without_the_clinics_text(production_env: pytest.MonkeyPatch) -> None:
    production_env.setenv("FLASK_REGULATORY_MARKET", "GB")
    with pytest.raises(ConfigError, match="FLASK_REGULATORY_NOTICE has no text for language 'en'"):
        create_app()


def test_production_starts_with_a_built_in_market(production_env: pytest.MonkeyPatch) -> None:
    production_env.setenv("FLASK_REGULATORY_MARKET", "CA")
    app = create_app()
    assert app.extensions["regulatory_notice"].msgid == SPEC["CA"]


def test_production_starts_with_the_clinics_text_as_one_json_setting(production_env: pytest.MonkeyPatch) -> None:
    production_env.setenv("FLASK_REGULATORY_MARKET", "GB")
    production_env.setenv("FLASK_REGULATORY_NOTICE", json.dumps(CLINIC))
    app = create_app()
    assert dict(app.extensions["regulatory_notice"].texts) == CLINIC


def test_the_clinics_text_can_be_one_variable_per_language(production_env: pytest.MonkeyPatch) -> None:
    production_env.setenv("FLASK_REGULATORY_MARKET", "GB")
    production_env.setenv("FLASK_REGULATORY_NOTICE__en", CLINIC["en"])
    production_env.setenv("FLASK_REGULATORY_NOTICE__es", CLINIC["es"])
    app = create_app()
    assert dict(app.extensions["regulatory_notice"].texts) == CLINIC
    # The nested setting went into this app's own settings, not into the shared defaults.
    from questionnaire.config import DEFAULTS

    assert DEFAULTS["REGULATORY_NOTICE"] == {}
    production_env.delenv("FLASK_REGULATORY_NOTICE__es")
    with pytest.raises(ConfigError, match="no text for language 'es'"):
        create_app()
