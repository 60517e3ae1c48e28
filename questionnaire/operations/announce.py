"""What follows a new submission: the front desk is told about an urgent or discuss-before-booking one
(email and webhook, questionnaire/operations/notify.py), without making the patient wait."""

from __future__ import annotations

import dataclasses
import threading

from flask import Flask, current_app

from questionnaire.config import ConfigError
from questionnaire.data import store
from questionnaire.data.models import Submission
from questionnaire.operations import notify


def announce(sub: Submission) -> None:
    """Tell the front desk about a new urgent or discuss-before-booking submission, without blocking the patient.

    Runs in a background thread (inline with NOTIFY_SYNC, for tests); every attempt is recorded.
    """
    config = dict(current_app.config)
    if not notify.should_notify(sub.level) or not (notify.email_enabled(config) or notify.webhook_enabled(config)):
        return
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    job = (sub.id, sub.reference, sub.level, sub.created_at)

    def run() -> None:
        sub_id, reference, level, created_at = job
        with app.app_context():
            notify.notify(
                config,
                reference=reference,
                level=level,
                created_at=created_at,
                on_attempt=lambda attempt: store.record_delivery(sub_id, dataclasses.asdict(attempt)),
            )

    if config.get("NOTIFY_SYNC"):
        run()
    else:
        threading.Thread(target=run, name=f"notify-{sub.reference}", daemon=True).start()


def init_app(app: Flask) -> None:
    """The notification settings' defaults, checked: a faulty one stops the app at start-up."""
    for key, value in notify.DEFAULTS.items():
        app.config.setdefault(key, value)
    problems = notify.check_config(app.config)
    if problems:
        raise ConfigError("notification settings:\n  " + "\n  ".join(problems))
