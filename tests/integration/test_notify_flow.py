"""A flagged submission tells the front desk through the app: a real webhook receiver on loopback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from questionnaire.data.models import Delivery, Submission
from questionnaire.extensions import db
from questionnaire.operations.webhook_signature import verify_signature

from ..helpers import PERSONAS, Patient
from .test_notify import SECRET, Receiver, webhook_config


@pytest.mark.parametrize(
    "level, told",
    [("urgent", True), ("discuss_before_booking", True), ("mention_at_consultation", False), ("none", False)],
)
def test_a_flagged_submission_is_announced_once_and_every_attempt_is_recorded(
    make_app: Any, receiver: Receiver, level: str, told: bool
) -> None:  # noqa: F811
    receiver.statuses = [503]  # the first attempt fails: the retry is recorded too
    app = make_app(NOTIFY_SYNC=True, **webhook_config(receiver.url))
    patient = Patient(app.test_client())
    patient.complete(PERSONAS[level])
    if level != "urgent":
        patient.post("/check-answers", {"declaration": "yes"})  # a second send announces nothing more
    with app.app_context():
        sub = db.session.scalars(select(Submission)).one()
        outcomes = [
            (d.channel, d.number, d.outcome) for d in db.session.scalars(select(Delivery).order_by(Delivery.id))
        ]
    if not told:
        assert receiver.received == [] and outcomes == []
        return
    assert outcomes == [("webhook", 1, "retry"), ("webhook", 2, "delivered")]
    body = receiver.received[-1].body
    headers = receiver.received[-1].headers
    assert verify_signature(SECRET, body, headers.get("X-Timestamp"), headers.get("X-Signature"))
    payload = json.loads(body)
    assert payload["reference"] == sub.reference and payload["level"] == level
    assert "Alex Example" not in body.decode() and "warfarin" not in body.decode()
