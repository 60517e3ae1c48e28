"""Patient blueprint: start, question pages, check your answers, send, outcome, delete."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as WerkzeugResponse

from questionnaire.core import flow, pages
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import Page, Question
from questionnaire.core.regulatory import Notice
from questionnaire.core.rules import Ruleset
from questionnaire.data import store
from questionnaire.data.models import Submission, utcnow
from questionnaire.data.store import DraftRow
from questionnaire.extensions import limiter
from questionnaire.operations.announce import announce
from questionnaire.web import page_cache
from questionnaire.web.context import this_g, this_request, this_session
from questionnaire.web.forms import ConfirmForm, page_errors, page_form
from questionnaire.web.i18n import current_language, request_translations
from questionnaire.web.patient_session import (
    DRAFT_KEY,
    current_draft,
    draft_ttl,
    fresh_session,
    renew_draft_token,
    start_draft,
    to_start,
    twin_of_a_renewal,
    unsent_draft,
)
from questionnaire.web.security import local_path

bp = Blueprint("patient", __name__)
# Floods of patient posts from one address get 429; with the store down they fail open, so that
# a patient can always send their answers. One count per address over every patient page (a limit
# per page let six pages' worth through), registered once, reading the running app's setting.
limiter.shared_limit(lambda: str(current_app.config["PATIENT_POST_LIMIT"]), scope="patient_posts", methods=["POST"])(bp)
COOKIE_RESIGNED_AFTER = timedelta(minutes=10)
CHECK = "check"

Reply = str | WerkzeugResponse | tuple[str, int]


def regulatory_notice_text() -> str:
    """The regulatory notice for the clinic's market in this request's language (templates: the
    regulatory_notice macro); empty when no market is set, which production refuses (config.py)."""
    notice: Notice | None = current_app.extensions.get("regulatory_notice")
    if not notice:
        return ""
    return notice.text(current_language(), request_translations().ugettext)


def ruleset() -> Ruleset:
    rs: Ruleset = current_app.extensions["ruleset"]
    return rs


def page_url(page: Page | None, back_to_check: bool = False) -> str:
    if page is None or page.id == "declaration":
        return url_for("patient.check_answers")
    query: dict[str, Any] = {"return": CHECK} if back_to_check else {}
    return url_for("patient.question_page", page_id=page.id, **query)


def after_sending(sub: Submission) -> WerkzeugResponse:
    return redirect(url_for("patient.emergency" if sub.stopped_early else "patient.outcome"))


@bp.after_request
def no_store(response: Response) -> Response:
    # Patient pages may carry answers: no browser or proxy may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    cookie = this_session()
    if this_request().method == "POST" and DRAFT_KEY in cookie and not this_g().get("twin"):
        # A sent form moves the draft's expiry on (store.save_page), so the cookie's goes with it,
        # unless the browser's copy was signed minutes ago: it then ends at most that much earlier.
        signed_at = getattr(cookie, "signed_at", None)
        if signed_at is None or utcnow() - signed_at > COOKIE_RESIGNED_AFTER:
            cookie.modified = True
    return response


@bp.get("/")
def start() -> Reply:
    # A sent draft is not "your answers" any more: the start page offers a new form.
    return render_template("patient/start.html", form=ConfirmForm(), has_draft=unsent_draft() is not None)


@bp.post("/start")
def begin() -> Reply:
    # Continuing an unsent draft changes nothing, so it needs no token (a stale one must never
    # throw the patient's answers away); anything else begins a new draft.
    draft = unsent_draft()
    if draft is not None:
        renew_draft_token(draft)
    elif (twin := twin_of_a_renewal()) is not None:
        return twin
    else:
        draft = start_draft()
    return redirect(page_url(flow.first_incomplete_page(draft.answers, draft.done_pages)))


@bp.route("/questions/<page_id>", methods=["GET", "POST"])
def question_page(page_id: str) -> Reply:
    try:
        page = QUESTIONNAIRE.page(page_id)
    except KeyError:
        abort(404)
    if page.id == "declaration":
        return redirect(url_for("patient.check_answers"))
    draft = current_draft()
    req = this_request()
    posted = req.method == "POST"
    back_to_check = req.args.get("return") == CHECK
    if draft is None:
        if posted:
            return session_timed_out(page)
        return to_start()
    sub = store.submission_for_draft(draft)
    if sub is not None:
        if posted:
            return render_template("patient/already_sent.html", submission=sub), 409
        return after_sending(sub)
    held = pending_for(draft, page.id)
    if not posted and held is not None and held.get("questions") is not None:
        # After a lost session: the questions the patient was answering, whatever the new draft says.
        return show_pending(page, [q for q in page.questions if q.id in held["questions"]], held, back_to_check)
    at = pages.visit(draft.answers or {}, draft.done_pages or [], page.id)
    form = page_form(at.questions, formdata=req.form) if posted else None
    step = pages.decide(
        at, form.read(switch_language=bool(req.args.get("switch_language"))) if form is not None else None
    )
    if step.kind == "switch_language" and form is not None:
        return switch_language(draft, page, step.store or {}, form, held, back_to_check)
    if step.kind == "token_failed" and form is not None:
        # The token did not match (for example a session that was replaced): keep what was typed
        # (in the draft), say so plainly, and let Continue send it again with a fresh token.
        store.set_pending(
            draft, {"page": page.id, "values": form.filled_in()[0], "errors": [], "notice": "token_failed"}
        )
        return again(page)
    if step.kind == "invalid" and form is not None:
        # Post/Redirect/Get: what was typed and which answers need a change wait in the draft for
        # the GET, so Back and reload never meet a form to send again.
        values, errors = form.filled_in()
        store.save_page(
            draft,
            page.id,
            step.store or {},
            draft_ttl(),
            done=False,
            pending={"page": page.id, "values": values, "errors": sorted(errors)},
            route=at.route,
        )
        return again(page)
    saved = None
    if step.store is not None:
        saved = store.save_page(draft, page.id, step.store, draft_ttl(), done=step.done, route=at.route)
    if step.kind == "ahead":
        return redirect(page_url(step.go_to))
    if form is None:
        if held is not None:
            return show_pending(page, list(at.questions), held, back_to_check, route=at.route)
        return render_page(page, list(at.questions), dict(at.answers), {}, back_to_check, route=at.route)
    then = pages.after_continue(
        draft.answers,
        draft.done_pages,
        page.id,
        ruleset(),
        back_to_check=back_to_check,
        route=saved.route if saved is not None else None,
    )
    if then.stops:
        store.submit(draft, ruleset(), then.assessment, stopped_early=True, on_created=announce, ip=req.remote_addr)
        renew_draft_token(draft)
        return redirect(url_for("patient.emergency"))
    if back_to_check and then.go_to is not None and then.go_to.id != "declaration":
        # Led on from a Change: the next page's Back link returns to this one.
        led_on: dict[str, Any] = {"return": CHECK, "from": page.id}
        return redirect(url_for("patient.question_page", page_id=then.go_to.id, **led_on))
    return redirect(page_url(then.go_to, back_to_check=back_to_check))


def pending_for(draft: DraftRow, page_id: str) -> dict[str, Any] | None:
    """The draft's pending page (sent with errors or with a notice) when it is this page."""
    held = draft.pending
    return held if isinstance(held, dict) and held.get("page") == page_id else None


def again(page: Page) -> WerkzeugResponse:
    """After a POST that did not go on: back to the same page (same query) with a GET."""
    query: dict[str, Any] = {k: v for k, v in request.args.items() if k in ("return", "from")}
    return redirect(url_for("patient.question_page", page_id=page.id, **query), code=303)


NOTICES = {
    "token_failed": lambda: gettext(
        "We could not save this page. Your answers are still here: check them and select Continue."
    ),
    "timed_out_here": lambda: gettext(
        "Your session had timed out, so we could not save this page. What you "
        "typed is still here: check it and select Continue."
    ),
    "timed_out_kept": lambda: gettext(
        "Your session had timed out, so your answers to the earlier pages are no "
        "longer here. We have kept what you typed on this page. Select Continue, "
        "then answer the earlier pages again."
    ),
    "timed_out_gone": lambda: gettext(
        "Your session had timed out, so your answers are no longer here. Select "
        "Continue to start again from the first question."
    ),
}


def show_pending(
    page: Page, questions: list[Question], held: Mapping[str, Any], back_to_check: bool, route: flow.Route | None = None
) -> Reply:
    """The page as it was sent: what was typed, its error messages (worded again in this request's
    language) and its notice; shown on every GET (reload, Back then Forward) until Continue."""
    values = dict(held.get("values") or {})
    wanted = set(held.get("errors") or [])
    errors = {k: v for k, v in page_errors(questions, values).items() if k in wanted}
    notice = NOTICES[held["notice"]]() if held.get("notice") in NOTICES else None
    return render_page(page, questions, values, errors, back_to_check, notice=notice, route=route)


def switch_language(
    draft: DraftRow,
    page: Page,
    typed: Mapping[str, Any],
    form: Any,
    held: Mapping[str, Any] | None,
    back_to_check: bool,
) -> Reply:
    """The language switcher on a question page: keep every answer typed so far, then show the page again."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        store.set_draft_language(draft, lang)
    # Kept to fill the page in, not as an answer sent with Continue: the page still needs Continue.
    # Errors already shown stay shown (in the new language) while they still apply.
    values, errors = form.filled_in()
    still = sorted(set(errors) & set((held or {}).get("errors") or []))
    pending = {"page": page.id, "values": values, "errors": still} if held is not None or still else None
    store.save_page(draft, page.id, typed, draft_ttl(), done=False, pending=pending)
    extra: dict[str, Any] = {"return": CHECK} if back_to_check else {}
    extra.update({k: v for k, v in request.args.items() if k == "from"})
    return redirect(url_for("patient.question_page", page_id=page.id, **extra))


def session_timed_out(page: Page) -> Reply:
    """The session ended before Continue: the page again (after a redirect) with what was typed, in a
    new draft."""
    draft = start_draft()
    # The earlier answers that decided which questions this page showed are gone with the session,
    # so keep every question the patient was answering.
    questions = [q for q in page.questions if q.id in request.form or q.shown_when is None]
    form = page_form(questions, formdata=request.form)
    form.validate()  # the token fails (the session is new); the answers are checked all the same
    typed = form.answers()
    values, errors = form.filled_in()
    # Answers to follow-up questions cannot be kept: without the earlier answers they are not shown.
    visible = flow.route({**(draft.answers or {}), **typed}).visible
    kept = bool(typed) and all(k in visible for k in typed)
    first = flow.first_incomplete_page(draft.answers, draft.done_pages)
    notice = (
        "timed_out_here"
        if first is not None and first.id == page.id
        else ("timed_out_kept" if kept else "timed_out_gone")
    )
    pending = {
        "page": page.id,
        "values": values,
        "errors": sorted(errors),
        "notice": notice,
        "questions": [q.id for q in questions],
    }
    if not errors:
        # Kept in the new draft, so nothing typed is lost even if the earlier pages come first.
        store.save_page(draft, page.id, typed, draft_ttl(), done=False, pending=pending)
    else:
        store.set_pending(draft, pending)
    return redirect(url_for("patient.question_page", page_id=page.id), code=303)


def unsaved_page(page_id: str) -> str:
    """The database is unavailable: the page again with what was typed, built without the database."""
    page = QUESTIONNAIRE.page(page_id)
    questions = [q for q in page.questions if q.id in request.form or q.shown_when is None]
    form = page_form(questions, formdata=request.form)
    return str(
        render_page(
            page,
            questions,
            *form.filled_in(),
            request.args.get("return") == CHECK,
            route=flow.route({}),
            notice=gettext(
                "We could not save this page just now. What you typed is still here: select Continue again in a minute."
            ),
        )
    )


def render_page(
    page: Page,
    questions: list[Question],
    values: dict[str, Any],
    errors: dict[str, str],
    back_to_check: bool,
    notice: str | None = None,
    route: flow.Route | None = None,
) -> Reply:
    """A question page showing `values` (saved answers, or what was sent) and `errors` (first message
    per question id); `route` (default: the draft's) decides the Back link."""
    if route is None:
        draft = current_draft()
        route = flow.route(draft.answers if draft else {})
    values = {q.id: values[q.id] for q in questions if q.id in values}  # this page's own, nothing else
    back = pages.back_to(route, page.id, back_to_check, request.args.get("from"))
    back_url = (
        url_for("patient.check_answers")
        if back is True
        else (page_url(back, back_to_check=back_to_check) if isinstance(back, Page) else url_for("patient.start"))
    )
    section_number, section_count = pages.progress(page.id)
    # Never cached: a page holding typed text, an error or a notice.
    cacheable = page_cache.only_choices(questions, values) and not errors and not notice
    return page_cache.render(
        "patient/page.html",
        cacheable,
        page=page,
        questions=questions,
        values=values,
        errors=errors,
        notice=notice,
        back_url=back_url,
        back_to_check=back_to_check,
        not_sure_once=pages.not_sure_once(questions),
        section_number=section_number,
        section_count=section_count,
    )


@bp.route("/check-answers", methods=["GET", "POST"])
def check_answers() -> Reply:
    draft = current_draft()
    if draft is None:
        return (request.method == "POST" and twin_of_a_renewal()) or to_start()
    sub = store.submission_for_draft(draft)
    if sub is not None:
        # Sending twice (double click, refresh, back then resend) shows the same outcome. No cookie in
        # the reply: the twin of a double click may have read the draft before the first request
        # renewed its token, and must not put the retired token back in the browser.
        g.twin = True
        return after_sending(sub)
    first = flow.first_incomplete_page(draft.answers, draft.done_pages)
    if first is not None and first.id != "declaration":
        return redirect(page_url(first))
    declaration = QUESTIONNAIRE.page("declaration")
    questions = list(declaration.questions)
    form = page_form(questions, formdata=request.form if request.method == "POST" else None)
    if request.method == "POST":
        if form.validate():
            saved = store.save_page(draft, declaration.id, form.answers(), draft_ttl())
            assessment = ruleset().evaluate(draft.answers, route=saved.route)
            store.submit(draft, ruleset(), assessment, on_created=announce, ip=request.remote_addr)
            renew_draft_token(draft)
            return redirect(url_for("patient.outcome"))
        # Post/Redirect/Get: the error (or the notice) waits in the draft for the GET.
        store.set_pending(
            draft,
            {
                "page": declaration.id,
                "values": form.filled_in()[0],
                "errors": [] if form.csrf_token.errors else sorted(form.filled_in()[1]),
                "notice": "send_failed" if form.csrf_token.errors else None,
            },
        )
        return redirect(url_for("patient.check_answers"), code=303)
    held = pending_for(draft, declaration.id) or {}
    values = dict(held.get("values") or {})
    errors = {k: v for k, v in page_errors(questions, values).items() if k in (held.get("errors") or [])}
    notice = (
        gettext("We could not send your answers. They are still saved: select Send my answers again.")
        if held.get("notice") == "send_failed"
        else None
    )
    previous = flow.previous_page(declaration.id, draft.answers)
    return render_template(
        "patient/check_answers.html",
        groups=flow.answers_by_page(draft.answers),
        form=form,
        values=values,
        errors=errors,
        notice=notice,
        back_url=page_url(previous) if previous else url_for("patient.start"),
    )


@bp.route("/delete", methods=["GET", "POST"])
def delete() -> Reply:
    form = ConfirmForm()
    draft = current_draft()
    sub = store.submission_for_draft(draft) if draft is not None else None
    if sub is not None:
        # Sent answers are the clinic's record now: never claim to have deleted them.
        if request.method == "POST":
            return render_template("patient/already_sent.html", submission=sub), 409
        return after_sending(sub)
    if request.method == "POST" and form.validate():
        if draft is not None:
            store.delete_draft(draft)
        fresh_session()
        return render_template("patient/deleted.html")
    if draft is None:
        return to_start()
    notice = (
        gettext("We could not delete your answers. Select Delete my answers again.")
        if request.method == "POST"
        else None
    )
    return render_template("patient/delete.html", form=form, notice=notice)


@bp.post("/start-again")
def start_again() -> Reply:
    """After sending, let the next person (or a relative) begin a new form on the same device."""
    fresh_session()
    return redirect(url_for("patient.start"))


@bp.post("/language")
def set_language() -> Reply:
    """The visible language switcher: kept for the whole draft; what was typed is kept by the draft."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        draft = current_draft()
        if draft is not None and store.submission_for_draft(draft) is None:
            store.set_draft_language(draft, lang)
    # Only a local path: never an open redirect.
    return redirect(local_path(request.form.get("next")) or url_for("patient.start"))
