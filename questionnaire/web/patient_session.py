"""A patient's browser session and its draft: found once per request, started, renewed against
session fixation, forgotten; the twin request of a double click sent on without a cookie."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, redirect, session, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from questionnaire.data import store
from questionnaire.data.models import Submission, utcnow
from questionnaire.data.store import DraftRow
from questionnaire.web.context import this_g
from questionnaire.web.i18n import current_language

DRAFT_KEY = "draft"


def draft_ttl() -> timedelta:
    return timedelta(hours=int(current_app.config["DRAFT_TTL_HOURS"]))


def current_draft() -> DraftRow | None:
    """The draft of this browser's session, read once per request."""
    here = this_g()
    if "draft" not in here:
        here.draft = store.find_draft(session.get(DRAFT_KEY))
    draft: DraftRow | None = here.draft
    return draft


def sent_submission() -> Submission | None:
    """The submission this browser's draft became, if it was sent (or stopped early) in the last
    SENT_COPY_MINUTES; after that the browser forgets it, so that the next person on a shared device
    cannot read the answers."""
    draft = current_draft()
    sub = store.submission_for_draft(draft) if draft is not None else None
    window = timedelta(minutes=int(current_app.config["SENT_COPY_MINUTES"]))
    if sub is not None and utcnow() - sub.created_at > window:
        fresh_session()
        return None
    return sub


def unsent_draft() -> DraftRow | None:
    draft = current_draft()
    return draft if draft is not None and store.submission_for_draft(draft) is None else None


def fresh_session(token: str | None = None) -> None:
    """Forget the old draft (and its CSRF secret) but keep the language the patient chose."""
    lang = session.get("lang")
    session.clear()
    g.pop("draft", None)  # the session's draft changes: read it again when asked
    if lang:
        session["lang"] = lang
    if token:
        session[DRAFT_KEY] = token
        session.permanent = True


def start_draft() -> DraftRow:
    draft, token = store.create_draft(current_language(), draft_ttl())
    fresh_session(token)
    return draft


def renew_draft_token(draft: DraftRow) -> None:
    """Against session fixation: whoever planted this browser's cookie (and so knows its draft token)
    loses the draft when the patient starts, continues or sends. The session (and its form secret)
    starts again too, keeping the language. When the twin request of a double click renewed it
    first, this reply sets no cookie: the browser keeps the one that works."""
    token = store.renew_draft_token(draft, str(session.get(DRAFT_KEY) or ""))
    if token is None:
        g.twin = True
        return
    fresh_session(token)
    g.draft = draft


# The twin request of a double click on Send or Continue carries the cookie the first request's
# renewal just retired. It is sent on (outcome or form) without being given anything, and without a
# new cookie: the browser keeps the one the first request set, and finds its draft with it. A copy of
# the old cookie elsewhere (a planted one) follows the same redirect and finds nothing.
DOUBLE_CLICK = timedelta(seconds=10)


def twin_of_a_renewal() -> WerkzeugResponse | None:
    """Where to send a request whose draft token was renewed moments ago, or None."""
    sent = store.retired_token(session.get(DRAFT_KEY), DOUBLE_CLICK)
    if sent is None:
        return None
    g.twin = True  # no cookie in the reply: it would put the retired token back in the browser
    return redirect(url_for("patient.outcome") if sent else url_for("patient.check_answers"))


def to_start() -> WerkzeugResponse:
    """Back to the start page, saying so when the draft the cookie named has expired."""
    return redirect(url_for("patient.start", expired=1) if session.get(DRAFT_KEY) else url_for("patient.start"))
