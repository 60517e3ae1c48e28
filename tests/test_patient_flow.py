"""The patient questionnaire through the Flask test client: complete flows and the stored row."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from questionnaire import flow
from questionnaire.extensions import db
from questionnaire.models import Submission

from .helpers import PERSONAS, Patient


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
