"""Question pages reused from the page cache (questionnaire/web/page_cache.py) are the pages a fresh
render gives, carry each session's own CSRF token, and never keep what a patient typed."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from questionnaire.web import page_cache
from tests.helpers import NO_FLAGS, TOKEN, Patient, form_data

TOKEN_VALUE = re.compile(r'(name="csrf_token" value=")[^"]+(")')


def without_tokens(html: str) -> str:
    return TOKEN_VALUE.sub(r"\1…\2", html)


def cached_pages(app: Flask) -> dict[Any, str]:
    cache: dict[Any, str] = app.extensions.get("page_cache", {})
    return cache


def states(patient: Patient) -> list[str]:
    """A question page in several states, each fetched twice: unanswered, answered, with an error,
    in Spanish, and reached from check your answers."""
    pages: list[str] = []

    def twice(url: str, method: str = "get", data: dict[str, Any] | None = None) -> None:
        for _ in range(2):
            response = patient.get(url) if method == "get" else patient.post(url, data)
            pages.append(response.get_data(as_text=True))

    patient.start()
    twice("/questions/urgent")
    twice("/questions/urgent", "post", {"chest_pain_now": "no"})  # errors on the rest
    patient.post("/questions/urgent", form_data("urgent", NO_FLAGS))
    twice("/questions/urgent")  # answered
    twice("/questions/urgent?return=check")
    patient.post("/language", {"lang": "es", "next": "/questions/urgent"})
    twice("/questions/urgent")  # in Spanish
    return pages


def test_a_page_from_the_cache_is_the_page_a_fresh_render_gives(make_app: Any) -> None:
    cached_app = make_app()
    fresh_app = make_app(TEMPLATES_AUTO_RELOAD=True)  # template reloading: nothing is kept
    cached = states(Patient(cached_app.test_client()))
    fresh = states(Patient(fresh_app.test_client()))
    assert cached_pages(cached_app), "the pages were not reused"
    assert not cached_pages(fresh_app)
    assert [without_tokens(p) for p in cached] == [without_tokens(p) for p in fresh]
    # The states really differ: the cache key told them apart.
    assert len({without_tokens(p) for p in cached}) == 5
    assert "There is a problem" in cached[2] and 'lang="es"' in cached[-1]
    # A page with errors is never kept (issue 18): only pages without an error summary are.
    assert cached_pages(cached_app) and not any(
        "There is a problem" in html for html in cached_pages(cached_app).values()
    )


def test_each_session_gets_its_own_token_in_a_reused_page(app: Flask) -> None:
    one, two = Patient(app.test_client()), Patient(app.test_client())
    one.start()
    two.start()
    first, second = one.get("/questions/urgent"), two.get("/questions/urgent")
    tokens_one = TOKEN.findall(first.get_data(as_text=True))
    tokens_two = TOKEN.findall(second.get_data(as_text=True))
    assert len(tokens_one) == 2 and len(set(tokens_one)) == 1  # the language switcher and the form
    assert set(tokens_one) != set(tokens_two)
    assert len(cached_pages(app)) == 1, "the second patient's page was rendered again"
    for patient in (one, two):
        sent = patient.post("/questions/urgent", form_data("urgent", NO_FLAGS))
        assert sent.status_code == 302 and "/questions/urgent" not in sent.location


def test_what_a_patient_typed_is_never_kept(app: Flask, patient: Patient) -> None:
    typed = {
        "patient_age_years": "73",
        "injection_body_area": "Right shoulder blade",
        "contact_name": "Quentin Typed-Name",
        "contact_phone": "0161 496 0999",
    }
    answers = {**NO_FLAGS, **typed}
    patient.complete(answers, send=False)
    for page in ("about", "contact"):
        shown = patient.get(f"/questions/{page}").get_data(as_text=True)
        assert any(value in shown for value in typed.values())
        patient.post(f"/questions/{page}", {**form_data(page, answers), "contact_phone": "not a phone"})
    kept = repr(cached_pages(app)).replace(page_cache.TOKEN_SLOT, "")  # random hex: it may hold "73"
    assert cached_pages(app), "no page was reused at all"
    for value in typed.values():
        assert not re.search(rf"(?<![0-9a-f]){re.escape(value)}(?![0-9a-f])", kept), value
