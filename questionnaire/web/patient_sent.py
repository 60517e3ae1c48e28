"""The patient's pages after sending: the outcome, the urgent stop and the printable copy (views of the
patient blueprint, composed by questionnaire/core/outcome.py)."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template, url_for

from questionnaire.core import flow
from questionnaire.core.outcome import compose, paragraphs
from questionnaire.data.models import Submission
from questionnaire.web.i18n import request_translations
from questionnaire.web.patient import Reply, bp, ruleset
from questionnaire.web.patient_session import sent_submission


def outcome_context(sub: Submission) -> dict[str, Any]:
    rs = ruleset()
    composed = compose(rs, sub.level, sub.fired)
    groups = flow.answers_by_page(sub.answers)
    if sub.stopped_early:
        # The form stopped here: the copy of the answers ends at the last page the patient answered.
        answered = [i for i, (_page, rows) in enumerate(groups) if any(v is not None for _q, v in rows)]
        groups = groups[: answered[-1] + 1] if answered else []
    return {
        "submission": sub,
        "level": composed.level,
        "groups": groups,
        "holds_booking": composed.level.holds_booking,
        "paragraphs": paragraphs(
            composed, rs, request_translations().ugettext, working_days=current_app.config["CONTACT_WORKING_DAYS"]
        ),
    }


@bp.get("/sent")
def outcome() -> Reply:
    sub = sent_submission()
    if sub is None:
        return redirect(url_for("patient.start"))
    if sub.stopped_early:
        return redirect(url_for("patient.emergency"))
    return render_template("patient/outcome.html", **outcome_context(sub))


@bp.get("/get-help-now")
def emergency() -> Reply:
    sub = sent_submission()
    if sub is None:
        return redirect(url_for("patient.start"))
    if not sub.stopped_early:
        return redirect(url_for("patient.outcome"))
    return render_template("patient/emergency.html", **outcome_context(sub))


@bp.get("/sent/print")
def print_copy() -> Reply:
    """A print-friendly copy of the patient's own answers and outcome (works without JavaScript)."""
    sub = sent_submission()
    if sub is None:
        return redirect(url_for("patient.start"))
    return render_template("patient/print.html", **outcome_context(sub))
