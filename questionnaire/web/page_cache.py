"""Question pages rendered once and reused, with this session's CSRF token put in.

A question page is a function of its template context (the page, its questions, their answers and
error messages, the Back link, the section count, a notice), the language, the request's path and
method, and the session's CSRF token. When every answer on the page comes from its question's own
choices (or is empty), there are few such pages, so each is rendered once per process with a slot
where the token goes and is then reused: rendering is otherwise most of the time a page takes.
What a patient typed is never kept: a page holding typed text is rendered afresh. Nothing is kept
with template auto-reload on (development).

Whatever a cached template shows must come from the context passed in, the language, the request
path or method, url_for, config or csrf_token(): not from the session, `g` or the database.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from flask import current_app, render_template, request

from questionnaire.core.questions import Question
from questionnaire.web.i18n import current_language
from questionnaire.web.signed import form_token

MAX_ENTRIES = 1024  # about 10 MB at most; when full it starts again empty
TOKEN_SLOT = f"csrf-{secrets.token_hex(16)}"  # cannot occur in a page by chance


def render(template: str, cacheable: bool, **context: Any) -> str:
    """render_template(template, **context), reusing the HTML of an identical earlier render when
    `cacheable` (the context holds nothing a patient typed)."""
    if not cacheable or current_app.jinja_env.auto_reload:
        return render_template(template, **context)
    key = (template, current_language(), request.method, request.full_path, request.script_root, _frozen(context))
    cache: dict[Any, str] = current_app.extensions.setdefault("page_cache", {})
    html = cache.get(key)
    if html is None:
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        html = cache[key] = render_template(template, csrf_token=lambda: TOKEN_SLOT, **context)
    return html.replace(TOKEN_SLOT, form_token())


def only_choices(questions: Iterable[Question], values: Mapping[str, Any]) -> bool:
    """Whether every value is empty or made only of its question's own choice values."""
    for q in questions:
        value = values.get(q.id)
        if value is None or value == "" or value == []:
            continue
        chosen = value if isinstance(value, list) else [value]
        if not q.choices or not all(isinstance(v, str) and v in q.values for v in chosen):
            return False
    return True


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple((k, _frozen(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value
