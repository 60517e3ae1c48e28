"""WTForms classes built from the question definitions, plus the small fixed forms.

Validation here is about well-formed answers only (required, allowed values, formats);
flags and levels are the rule engine's business, never the form's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.csrf.core import CSRF
from wtforms.fields.choices import SelectChoice

from questionnaire.core.conditions import has_answer
from questionnaire.core.pages import Sent
from questionnaire.core.questions import Question
from questionnaire.web.signed import check_form_token

PHONE = re.compile(r"^\+?[0-9 ()./-]{6,25}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class SentTokenCSRF(CSRF):  # type: ignore[misc]  # wtforms is untyped
    """Flask-WTF's CSRF check (validate_csrf: the same token, secret and time limit as its own forms,
    through signed.check_form_token) for a form that is only read, never shown: the pages put the
    token in with csrf_token(), so no new token is signed for a form sent with a page, as
    Flask-WTF's forms do on every POST."""

    def generate_csrf_token(self, csrf_token_field: Any) -> str:  # noqa: ARG002 - WTForms signature
        return ""  # never rendered

    def validate_csrf_token(self, form: Any, field: Any) -> None:  # noqa: ARG002 - WTForms signature
        check_form_token(field.data)


class QuestionPageForm(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    """A page of questions. `questions` is set on each generated subclass."""

    class Meta:
        csrf_class = SentTokenCSRF

    questions: tuple[Question, ...] = ()

    def validate(self, extra_validators: Any = None) -> bool:  # noqa: ARG002 - WTForms signature
        ok: bool = super().validate()  # the CSRF token
        for qid, message in page_errors(self.questions, {q.id: self[q.id].data for q in self.questions}).items():
            field: Field = self[qid]
            field.errors = [message]
            ok = False
        return ok

    def read(self, switch_language: bool = False) -> Sent:
        """Validate the page as sent; what the page handler needs of it (core.pages.decide)."""
        valid = self.validate()
        return Sent(self.answers(), valid, not self.csrf_token.errors, switch_language)

    def filled_in(self) -> tuple[dict[str, Any], dict[str, str]]:
        """What the page shows again: each question's value as sent, and its first error message."""
        values = {q.id: self[q.id].data for q in self.questions}
        errors = {q.id: self[q.id].errors[0] for q in self.questions if self[q.id].errors}
        return values, errors

    def answers(self) -> dict[str, Any]:
        """The page's answers in stored form: int answers as numbers; blank answers and answers
        with an error (after validate) left out."""
        out: dict[str, Any] = {}
        for q in self.questions:
            if self[q.id].errors:
                continue
            value = self[q.id].data
            if q.kind == "int" and has_answer(value):
                value = int(str(value).strip())
            if has_answer(value):
                out[q.id] = value
        return out


def page_errors(questions: Sequence[Question], values: Mapping[str, Any]) -> dict[str, str]:
    """Each question's error message for the values of a page as sent (what the form holds), in the
    request's language: what validate() says, and what a page shows again after its redirect."""
    errors: dict[str, str] = {}
    for q in questions:
        message = question_error(q, values.get(q.id))
        if message:
            errors[q.id] = str(message)
    ids = {q.id for q in questions}
    if questions and questions[0].page_id == "contact" and {"contact_phone", "contact_email"} <= ids:
        phone, email = values.get("contact_phone"), values.get("contact_email")
        if not has_answer(phone) and not has_answer(email) and not errors.keys() & {"contact_phone", "contact_email"}:
            errors["contact_phone"] = str(gettext("Enter a phone number or an email address so we can contact you"))
    return errors


def question_error(q: Question, value: Any) -> str | None:
    """The message to show for one answer, worded to say what to do; None when it is fine."""
    if not has_answer(value):
        return None if q.optional else gettext(q.error)
    if q.kind == "int":
        text = str(value).strip()
        if not re.fullmatch(r"[0-9]{1,3}", text):
            return str(gettext(q.error))
        if not (q.min or 0) <= int(text) <= (q.max or 0):
            return str(gettext("Enter a number between %(low)s and %(high)s", low=q.min, high=q.max))
        return None
    if q.kind == "multi":
        chosen_exclusive = [v for v in value if v in q.exclusive_values]
        if chosen_exclusive and len(value) > 1:
            return str(
                gettext(
                    "Select \u201c%(choice)s\u201d on its own, or select the answers that apply",
                    choice=gettext(q.label_for(chosen_exclusive[0])),
                )
            )
    if q.problem(value):
        if q.kind == "text":
            return str(gettext("Your answer must be %(count)s characters or fewer", count=q.max_length))
        return str(gettext(q.error))
    if q.id == "contact_phone" and not PHONE.match(value):
        return str(gettext("Enter a phone number, like 0161 496 0000 or +34 600 000 000"))
    if q.id == "contact_email" and not EMAIL.match(value):
        return str(gettext("Enter an email address in the correct format, like name@example.com"))
    return None


@lru_cache(maxsize=256)
def page_form_class(questions: tuple[Question, ...]) -> type[QuestionPageForm]:
    """One form class per set of shown questions, built from their definitions."""
    attrs: dict[str, Any] = {"questions": questions}
    for q in questions:
        choices = [SelectChoice(c.value, c.label) for c in q.choices]
        if q.kind == "multi":
            attrs[q.id] = SelectMultipleField(choices=choices, validate_choice=False)
        elif q.kind in ("yn", "ynu", "single"):
            attrs[q.id] = RadioField(choices=choices, validate_choice=False)
        elif q.multiline:
            attrs[q.id] = TextAreaField(filters=[_strip])
        else:
            attrs[q.id] = StringField(filters=[_strip])
    return type("PageForm", (QuestionPageForm,), attrs)


def page_form(questions: Sequence[Question], formdata: Any = None) -> QuestionPageForm:
    """A form for the shown questions of a page, filled from the request (empty without formdata).
    Pages show saved answers without a form: see patient.render_page."""
    return page_form_class(tuple(questions))(formdata=formdata)


class ConfirmForm(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    """A form with nothing but its CSRF token: start, delete, sign out."""
