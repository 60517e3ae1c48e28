"""A database that goes away while a patient sends a page: the page comes back with what they typed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from questionnaire.data import store

from ..helpers import NO_FLAGS, Patient, form_data


def test_a_page_sent_while_the_database_is_down_comes_back_with_what_was_typed(
    patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient.start()
    patient.answer("urgent", form_data("urgent", NO_FLAGS))
    patient.get("/questions/about")

    def database_gone(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("UPDATE drafts ...", {}, Exception("server closed the connection"))

    monkeypatch.setattr(store, "save_page", database_gone)
    typed = {
        "respondent_role": "parent_or_guardian",
        "patient_age_years": "16",
        "decision_help": "no",
        "treatment_types": ["joint"],
    }
    response = patient.post("/questions/about", typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "We could not save this page just now" in html
    assert 'value="parent_or_guardian" checked' in html and 'value="16"' in html and 'value="joint" checked' in html
    assert "Traceback" not in html and "UPDATE" not in html
    monkeypatch.undo()
    # When the database is back, Continue saves the page.
    assert patient.post("/questions/about", typed).status_code == 302
