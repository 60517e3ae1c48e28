"""The urgent page's optional callback number: a patient stopped by an urgent answer may leave a number
for the clinic to call later. Never instead of emergency services: the page says so next to the field,
after the emergency advice, which stays first and unchanged."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import StringField

from questionnaire.core import search
from questionnaire.extensions import csrf, limiter
from questionnaire.operations.callback import leave_callback_number
from questionnaire.web.patient import Reply
from questionnaire.web.patient_sent import outcome_context
from questionnaire.web.patient_session import sent_submission

bp = Blueprint("callback", __name__)
# The same one limit of patient posts per address as every patient page (web/patient.py).
limiter.shared_limit(lambda: str(current_app.config["PATIENT_POST_LIMIT"]), scope="patient_posts", methods=["POST"])(bp)
PHONE = re.compile(r"^\+?[0-9 ()./-]{6,30}$")


class CallbackForm(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    callback_phone = StringField()


def phone_error(value: str) -> str | None:
    if not value:
        return str(gettext("Enter a phone number, or leave this part of the page"))
    if not PHONE.match(value) or len(search.digits(value)) < search.MIN_PHONE_DIGITS:
        return str(gettext("Enter a phone number, like 0161 496 0000 or +34 600 000 000"))
    return None


@bp.post("/get-help-now/callback")
def leave_number() -> Reply:
    sub = sent_submission()
    if sub is None:
        return redirect(url_for("patient.start"))
    if not sub.stopped_early:
        return redirect(url_for("patient.outcome"))
    form = CallbackForm()
    value = (form.callback_phone.data or "").strip()[:40]
    if not form.validate():
        error = gettext("The page had expired, so your number was not saved. Enter it again.")
    else:
        error = phone_error(value)
    if error is not None:
        return render_template(
            "patient/emergency.html", **outcome_context(sub), callback_error=error, callback_value=value
        ), 400
    leave_callback_number(sub, value, ip=request.remote_addr)
    return redirect(url_for("patient.emergency") + "#callback", code=303)


csrf.exempt(bp)  # the form checks its own token and keeps what was typed
