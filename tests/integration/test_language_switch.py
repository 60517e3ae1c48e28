"""Switching language on a question page keeps what was typed on that page, not only what was saved."""

from __future__ import annotations

from flask import Flask

from ..helpers import NO_FLAGS, Patient, form_data


def test_switching_language_mid_page_keeps_the_typed_answers_and_shows_them_in_spanish(
    app: Flask, patient: Patient
) -> None:
    patient.start()
    for page_id in ("urgent", "about"):
        assert patient.answer(page_id, form_data(page_id, NO_FLAGS)).status_code == 302
    page = patient.get("/questions/blood").get_data(as_text=True)
    assert 'form="question-form"' in page and "switch_language=1" in page
    typed = {"g6pd_deficiency": "not_sure", "red_cell_breakdown": "yes"}  # the rest not answered yet
    switched = patient.post("/questions/blood?switch_language=1", {**typed, "lang": "es"})
    assert switched.status_code == 302 and switched.location == "/questions/blood"
    again = patient.get("/questions/blood").get_data(as_text=True)
    assert 'lang="es"' in again and "Seleccione" not in again  # Spanish, and no error shown
    assert 'value="not_sure" checked' in again and 'value="yes" checked' in again
    # The page still has to be sent with Continue: the next page is not reachable yet.
    assert patient.get("/questions/heart").location == "/questions/blood"


def test_the_language_switcher_only_returns_to_a_page_of_this_site(patient: Patient) -> None:
    """Its `next` comes from a form field: another site, or a path a browser would read as one, or a
    character that could split the header, sends the patient to the start page instead (never a 500)."""
    assert (
        patient.post("/language", {"lang": "es", "next": "/questions/urgent?return=check"}).location
        == "/questions/urgent?return=check"
    )
    for evil in (
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\nSet-Cookie: x=1",
        "/ /evil.example",
        "javascript:alert(1)",
        "",
    ):
        response = patient.post("/language", {"lang": "es", "next": evil})
        assert response.status_code == 302 and response.location == "/", repr(evil)
