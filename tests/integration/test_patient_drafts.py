"""Drafts on the server: a cookie without answers, expiry, deletion, and expired tokens or sessions
that never cost the patient what they typed."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import itsdangerous
import pytest
from flask import Flask
from sqlalchemy import func, select, update

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import Page
from questionnaire.data import store
from questionnaire.data.models import Draft, Submission, utcnow
from questionnaire.extensions import db

from ..helpers import (
    NO_FLAGS,
    TOKEN,
    Patient,
    draft_row,
    field_values,
    form_data,
    inline_errors,
    session_data,
    submissions,
    title_of,
    visible_text,
)

SESSION_KEYS = {"draft", "csrf_token", "lang", "_permanent"}  # _permanent: Flask's flag for a lasting cookie


def count_drafts(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Draft)) or 0)


def expire_draft(app: Flask, patient: Patient) -> None:
    """Move the patient's draft past its expiry time, as if DRAFT_TTL_HOURS had gone by."""
    token_hash = store.token_hash(session_data(patient.client)["draft"])
    with app.app_context():
        db.session.execute(
            update(Draft).where(Draft.token_hash == token_hash).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


# --- the cookie ---------------------------------------------------------------------------------


def test_the_session_cookie_holds_no_answers(app: Flask, patient: Patient) -> None:
    answers = {
        **NO_FLAGS,
        "blood_thinner": "yes",
        "blood_thinner_name": "Zebrafishol",
        "medicines_list": "Quokkamycin 5 mg",
        "contact_name": "Wilhelmina Example",
    }
    patient.get("/")
    patient.post("/language", {"lang": "es", "next": "/"})
    patient.complete(answers, send=False)
    cookie = patient.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    data = session_data(patient.client)
    assert set(data) <= SESSION_KEYS and "draft" in data
    assert all(isinstance(v, (str, bool)) for v in data.values())
    for secret in ("Zebrafishol", "Quokkamycin", "Wilhelmina", "0161 496 0001", "warfarin"):
        assert secret not in cookie.value and secret not in str(data)
    draft = draft_row(patient.client)
    assert draft.answers["blood_thinner_name"] == "Zebrafishol"
    # The database keeps only a hash of the cookie's token.
    assert draft.token_hash == store.token_hash(data["draft"]) != data["draft"]


def test_no_answer_ever_appears_in_a_url(patient: Patient) -> None:
    answers = {**NO_FLAGS, "blood_thinner": "yes", "blood_thinner_name": "Zebrafishol"}
    seen = []
    patient.start()
    page: Page | None = QUESTIONNAIRE.pages[0]
    while page is not None and page.id != "declaration":
        response = patient.answer(page.id, form_data(page.id, answers))
        seen.append(response.location)
        page = flow.next_page(page.id, answers)
    seen.append(patient.post("/check-answers", {"declaration": "yes"}).location)
    for url in seen:
        assert url and "Zebrafishol" not in url and "=" not in url.replace("return=check", "")


def test_each_patient_sees_only_their_own_draft(app: Flask) -> None:
    alice, bob = Patient(app.test_client()), Patient(app.test_client())
    alice.complete({**NO_FLAGS, "contact_name": "Alice Secret"}, send=False)
    bob.start()
    assert bob.get("/check-answers").location == "/questions/urgent"
    assert "Alice Secret" not in bob.get("/questions/contact").get_data(as_text=True)
    assert session_data(alice.client)["draft"] != session_data(bob.client)["draft"]


# --- expiry -------------------------------------------------------------------------------------


def test_a_draft_expires_after_the_configured_time_and_is_not_served(app: Flask, patient: Patient) -> None:
    patient.reach("blood", NO_FLAGS)
    draft = draft_row(patient.client)
    hours = app.config["DRAFT_TTL_HOURS"]
    assert hours == 24
    assert timedelta(hours=hours) - timedelta(minutes=1) < draft.expires_at - draft.updated_at <= timedelta(hours=hours)
    expire_draft(app, patient)
    assert draft_row(patient.client) is None
    for url in ("/questions/urgent", "/questions/blood", "/check-answers"):
        response = patient.get(url)
        assert response.status_code == 302 and response.location == "/?expired=1", url
    start = visible_text(patient.get("/?expired=1").get_data(as_text=True))
    assert "We delete unsent answers after 24 hours" in start and "Start now" in start
    assert "Continue your answers" not in start
    patient.start()
    fresh = draft_row(patient.client)
    assert fresh.id != draft.id and fresh.answers == {}


def test_each_saved_page_moves_the_expiry_on(app: Flask, patient: Patient) -> None:
    patient.reach("about", NO_FLAGS)
    first = draft_row(patient.client).expires_at
    time.sleep(0.01)
    patient.answer("about", form_data("about", NO_FLAGS))
    assert draft_row(patient.client).expires_at > first


def test_a_saved_page_sends_the_cookie_again_once_it_is_minutes_old_and_a_page_view_never(
    patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its expiry slides with the draft's, which only a sent form moves; a copy the browser got in
    the last ten minutes is not signed again (it ends at most that much before the draft)."""
    now = int(time.time())
    signer = itsdangerous.timed.TimestampSigner
    with monkeypatch.context() as m:  # the browser's copy was signed eleven minutes ago
        m.setattr(signer, "get_timestamp", lambda self: now - 11 * 60)
        patient.reach("about", NO_FLAGS)
    viewed = patient.get("/questions/about")
    assert viewed.status_code == 200 and "Set-Cookie" not in viewed.headers
    saved = patient.answer("about", form_data("about", NO_FLAGS))
    cookies = saved.headers.getlist("Set-Cookie")
    assert saved.status_code == 302 and any(c.startswith("oq_session=") and "Expires=" in c for c in cookies)
    assert session_data(patient.client)["draft"]
    again = patient.answer("about", form_data("about", NO_FLAGS))  # its copy is seconds old now
    resent = [c for c in again.headers.getlist("Set-Cookie") if c.startswith("oq_session=")]
    assert again.status_code == 302 and not resent


def test_a_patient_who_keeps_saving_keeps_their_session_past_the_cookie_lifetime(
    patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = int(time.time())
    lifetime = 24 * 3600
    signer = itsdangerous.timed.TimestampSigner
    with monkeypatch.context() as m:  # the session began nearly a lifetime ago
        m.setattr(signer, "get_timestamp", lambda self: now - lifetime + 60)
        patient.start()
    assert patient.answer("urgent", form_data("urgent", NO_FLAGS)).status_code == 302
    with monkeypatch.context() as m:  # two minutes later the first cookie would have run out
        m.setattr(signer, "get_timestamp", lambda self: now + 120)
        page = patient.get("/questions/about")
    assert page.status_code == 200 and 'name="patient_age_years"' in page.get_data(as_text=True)


def test_a_short_configured_lifetime_is_used(make_app: Any) -> None:
    app = make_app(DRAFT_TTL_HOURS=1)
    patient = Patient(app.test_client())
    patient.reach("about", NO_FLAGS)
    draft = draft_row(patient.client)
    assert draft.expires_at - draft.updated_at == timedelta(hours=1)
    assert app.permanent_session_lifetime == timedelta(hours=1)
    assert "after 1 hours" in patient.get("/?expired=1").get_data(as_text=True)


def test_expired_drafts_are_purged_from_the_database(app: Flask) -> None:
    old, young = Patient(app.test_client()), Patient(app.test_client())
    old.reach("about", NO_FLAGS)
    young.reach("about", NO_FLAGS)
    expire_draft(app, old)
    with app.app_context():
        assert store.purge_expired_drafts() == 1
    assert count_drafts(app) == 1 and draft_row(young.client) is not None


# --- deleting -----------------------------------------------------------------------------------


def test_the_patient_can_delete_their_draft(app: Flask, patient: Patient) -> None:
    patient.reach("blood", NO_FLAGS)
    start = visible_text(patient.get("/").get_data(as_text=True))
    assert "Continue your answers" in start and "Delete my answers" in start
    assert count_drafts(app) == 1
    page = patient.get("/delete")
    assert page.status_code == 200 and "You cannot undo this" in visible_text(page.get_data(as_text=True))
    deleted = patient.post("/delete")
    assert deleted.status_code == 200
    assert "Your answers have been deleted" in visible_text(deleted.get_data(as_text=True))
    assert count_drafts(app) == 0
    assert "draft" not in session_data(patient.client)
    assert patient.get("/questions/blood").location == "/"
    assert "Start now" in visible_text(patient.get("/").get_data(as_text=True))


def test_a_delete_with_a_stale_token_deletes_nothing_and_says_so(app: Flask, patient: Patient) -> None:
    patient.reach("blood", NO_FLAGS)
    response = patient.client.post("/delete", data={"csrf_token": "stale"})
    assert response.status_code == 200
    assert "Select Delete my answers again" in visible_text(response.get_data(as_text=True))
    assert count_drafts(app) == 1
    patient.get("/delete")
    patient.post("/delete")
    assert count_drafts(app) == 0


def test_after_sending_delete_does_not_pretend_to_delete_the_sent_answers(app: Flask, patient: Patient) -> None:
    patient.complete(NO_FLAGS)
    [sub] = submissions(app)
    start = visible_text(patient.get("/").get_data(as_text=True))
    assert "Delete my answers" not in start and "Continue your answers" not in start
    assert patient.get("/delete").location == "/sent"
    response = patient.post("/delete")
    text = visible_text(response.get_data(as_text=True))
    assert "have been deleted" not in text
    assert "Your answers were already sent" in text and sub.reference in text
    assert [s.reference for s in submissions(app)] == [sub.reference]


# --- an expired CSRF token or session -----------------------------------------------------------


def test_flask_wtf_time_limit_is_off(app: Flask) -> None:
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def test_a_token_from_hours_ago_still_sends_the_page(patient: Patient, monkeypatch: pytest.MonkeyPatch) -> None:
    patient.start()
    with monkeypatch.context() as m:
        m.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 5 * 3600)
        patient.get("/questions/urgent")
    response = patient.post("/questions/urgent", form_data("urgent", NO_FLAGS))
    assert response.status_code == 302 and response.location == "/questions/about"


@pytest.mark.parametrize("token", ["wrong", "", None], ids=["wrong token", "empty token", "no token"])
def test_a_bad_token_keeps_what_was_typed_with_a_plain_message_then_continue_works(
    app: Flask, patient: Patient, token: str | None
) -> None:
    patient.reach("about", NO_FLAGS)
    typed = {
        "respondent_role": "family_or_carer",
        "patient_age_years": "52",
        "decision_help": "not_sure",
        "treatment_types": ["muscle", "joint"],
    }
    data: dict[str, Any] = dict(typed) if token is None else {**typed, "csrf_token": token}
    response = patient.client.post("/questions/about", data=data)
    assert response.status_code == 303 and response.location == "/questions/about"  # Post/Redirect/Get
    response = patient.get(response.location)
    html = response.get_data(as_text=True)
    reloaded = patient.get("/questions/about").get_data(as_text=True)  # a reload: the same page again
    assert field_values(reloaded) == typed and "We could not save this page" in visible_text(reloaded)
    assert field_values(html) == typed
    assert "We could not save this page. Your answers are still here" in visible_text(html)
    assert inline_errors(html) == {} and not title_of(html).startswith("Error")
    assert "about" not in draft_row(patient.client).done_pages
    patient.token = TOKEN.search(html).group(1)  # type: ignore[union-attr]
    response = patient.post("/questions/about", typed)
    assert response.status_code == 302 and response.location == "/questions/blood"
    assert draft_row(patient.client).answers["patient_age_years"] == 52


def test_a_question_page_refuses_a_token_past_its_time_limit_and_another_browsers_token(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Question forms check the token as Flask-WTF's own forms do (forms.SentTokenCSRF): signed for
    this browser's session, and within FLASK_WTF_CSRF_TIME_LIMIT when one is set (by default a
    token lives as long as the session)."""
    limit = 600
    app = make_app(WTF_CSRF_TIME_LIMIT=limit)
    patient, other = Patient(app.test_client()), Patient(app.test_client())
    patient.reach("about", NO_FLAGS)
    other.reach("about", NO_FLAGS)
    now = int(time.time())
    # Flask-WTF's token: this session's form secret, signed with a timestamp (salt "wtf-csrf-token").
    signer = itsdangerous.URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
    secret = session_data(patient.client)["csrf_token"]
    with monkeypatch.context() as m:  # signed longer ago than the time limit
        m.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: now - limit - 60)
        stale = signer.dumps(secret)
    borrowed = TOKEN.search(other.get("/questions/about").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    typed = form_data("about", NO_FLAGS)
    for token in (stale, borrowed):
        response = patient.client.post("/questions/about", data={**typed, "csrf_token": token})
        assert response.status_code == 303 and response.location == "/questions/about"
        assert "We could not save this page" in visible_text(patient.get(response.location).get_data(as_text=True))
        assert "about" not in draft_row(patient.client).done_pages
    # The same token signed now is accepted: it was refused for its age alone.
    accepted = patient.client.post("/questions/about", data={**typed, "csrf_token": signer.dumps(secret)})
    assert accepted.status_code == 302 and accepted.location == "/questions/blood"


def test_a_bad_token_on_send_keeps_the_declaration_and_sends_on_the_next_click(app: Flask, patient: Patient) -> None:
    patient.complete(NO_FLAGS, send=False)
    response = patient.client.post("/check-answers", data={"csrf_token": "wrong", "declaration": "yes"})
    assert response.status_code == 303 and response.location == "/check-answers"  # Post/Redirect/Get
    html = patient.get(response.location).get_data(as_text=True)
    assert field_values(html) == {"declaration": ["yes"]}
    assert "They are still saved" in visible_text(html)
    assert submissions(app) == []
    patient.token = TOKEN.search(html).group(1)  # type: ignore[union-attr]
    assert patient.post("/check-answers", {"declaration": "yes"}).location == "/sent"
    assert len(submissions(app)) == 1


def test_a_lost_session_on_the_first_page_keeps_what_was_typed_then_continue_works(
    app: Flask, patient: Patient
) -> None:
    patient.start()
    patient.get("/questions/urgent")
    patient.client.delete_cookie(app.config["SESSION_COOKIE_NAME"])
    typed = form_data("urgent", NO_FLAGS)
    response = patient.post("/questions/urgent", typed)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_values(html) == typed
    assert "Your session had timed out" in visible_text(html)
    assert not title_of(html).startswith("Error")
    response = patient.post("/questions/urgent", typed)
    assert response.status_code == 302 and response.location == "/questions/about"
    assert draft_row(patient.client).answers == typed


@pytest.mark.parametrize("gap", [False, True], ids=["complete page", "page with a gap fixed after"])
def test_a_lost_session_on_a_later_page_keeps_what_was_typed_for_when_the_patient_gets_there(
    app: Flask, patient: Patient, gap: bool
) -> None:
    patient.reach("blood", NO_FLAGS)
    patient.client.delete_cookie(app.config["SESSION_COOKIE_NAME"])
    typed = {**form_data("blood", NO_FLAGS), "low_platelets": "not_sure"}
    first_try = {k: v for k, v in typed.items() if not (gap and k == "anaemia_recent")}
    response = patient.post("/questions/blood", first_try)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_values(html) == first_try
    assert "Your session had timed out" in visible_text(html)
    assert "answer the earlier pages again" in visible_text(html)
    assert list(inline_errors(html)) == (["anaemia_recent-error"] if gap else [])
    response = patient.post("/questions/blood", typed)
    # The earlier pages went with the old session: they come first, then this page, already filled in.
    assert response.status_code == 302 and response.location == "/questions/urgent"
    assert draft_row(patient.client).done_pages == []
    patient.answer("urgent", form_data("urgent", NO_FLAGS))
    patient.answer("about", form_data("about", NO_FLAGS))
    assert field_values(patient.get("/questions/blood").get_data(as_text=True)) == typed


def test_an_expired_draft_on_post_keeps_what_was_typed(app: Flask, patient: Patient) -> None:
    patient.reach("urgent", NO_FLAGS)
    expire_draft(app, patient)
    typed = form_data("urgent", NO_FLAGS)
    response = patient.post("/questions/urgent", typed)
    assert response.status_code == 200
    assert field_values(response.get_data(as_text=True)) == typed
    assert patient.post("/questions/urgent", typed).location == "/questions/about"


def test_a_stale_token_on_the_start_button_continues_the_existing_draft(app: Flask, patient: Patient) -> None:
    patient.reach("blood", NO_FLAGS)
    before = draft_row(patient.client)
    response = patient.client.post("/start", data={"csrf_token": "stale"})
    assert response.location == "/questions/blood"
    assert draft_row(patient.client).id == before.id and count_drafts(app) == 1


def test_the_csrf_error_page_is_never_shown_to_a_patient(app: Flask, patient: Patient) -> None:
    """Every patient form checks its own token, so the bare 400 page never appears."""
    patient.reach("about", NO_FLAGS)
    for url in ("/questions/about", "/check-answers", "/start", "/delete", "/language", "/start-again"):
        response = patient.client.post(url, data={"csrf_token": "wrong"})
        assert response.status_code in (200, 302, 303), url
        assert "Your session has timed out" not in response.get_data(as_text=True), url
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 0


def test_a_lost_session_on_a_follow_up_page_does_not_claim_to_keep_what_cannot_be_kept(
    app: Flask, patient: Patient
) -> None:
    """A follow-up page's questions are shown only after the earlier answers, which went with the
    session: the page says plainly that the answers are gone, not that they were kept."""
    answers = {**NO_FLAGS, "blood_thinner": "yes", "blood_thinner_name": "warfarin"}
    patient.reach("blood-follow-up", answers)
    patient.client.delete_cookie(app.config["SESSION_COOKIE_NAME"])
    response = patient.post("/questions/blood-follow-up", form_data("blood-follow-up", answers))
    assert response.status_code == 200
    text = visible_text(response.get_data(as_text=True))
    assert "so your answers are no longer here. Select Continue to start again from the first question" in text
    assert "We have kept what you typed" not in text
    assert (
        patient.post("/questions/blood-follow-up", form_data("blood-follow-up", answers)).location
        == "/questions/urgent"
    )


# --- two pages of one draft saved at the same moment (issue 17, item 8) ----------------------------------


def test_a_page_saved_after_its_draft_was_deleted_in_another_tab_writes_nothing(app: Flask) -> None:
    """The save names the draft as it was read; the draft is gone (Delete my answers in another tab):
    nothing is written and nothing is brought back."""
    patient = Patient(app.test_client())
    patient.reach("about", NO_FLAGS)
    token = session_data(patient.client)["draft"]
    with app.app_context():
        draft = store.find_draft(token)
        assert draft is not None
        with app.app_context():  # the other tab, its own request
            other = store.find_draft(token)
            assert other is not None
            store.delete_draft(other)
        store.save_page(draft, "about", form_data("about", NO_FLAGS), timedelta(hours=1))
    assert count_drafts(app) == 0 and draft_row(patient.client) is None


def test_two_pages_of_one_draft_saved_at_the_same_moment_both_keep_their_answers(app: Flask) -> None:
    """Two tabs (or two instances) each read the draft, then each saves a different page: the second
    save must not write back the first page's answers as they were before the first save."""
    import threading
    from datetime import timedelta

    patient = Patient(app.test_client())
    patient.complete(NO_FLAGS, send=False)
    token = session_data(patient.client)["draft"]
    pages = {
        "other": {
            **{q.id: NO_FLAGS.get(q.id) for q in QUESTIONNAIRE.page("other").questions if q.id in NO_FLAGS},
            "medicines_list": "tab one: ibuprofen",
        },
        "contact": {
            **{q.id: NO_FLAGS.get(q.id) for q in QUESTIONNAIRE.page("contact").questions if q.id in NO_FLAGS},
            "contact_name": "Tab Two Name",
        },
    }
    both_read = threading.Barrier(2, timeout=10)
    first_saved = threading.Event()
    errors: list[BaseException] = []

    def tab(page_id: str, wait_for: threading.Event | None) -> None:
        try:
            with app.app_context():
                draft = store.find_draft(token)
                assert draft is not None
                _ = draft.answers  # the request reads the answers it shows and validates against
                both_read.wait()
                if wait_for is not None:
                    assert wait_for.wait(timeout=10)
                store.save_page(draft, page_id, pages[page_id], timedelta(hours=1))
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            first_saved.set()

    threads = [
        threading.Thread(target=tab, args=("other", None)),
        threading.Thread(target=tab, args=("contact", first_saved)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    with app.app_context():
        draft = store.find_draft(token)
        assert draft is not None
        assert draft.answers["medicines_list"] == "tab one: ibuprofen"  # the first save is not lost
        assert draft.answers["contact_name"] == "Tab Two Name"
        assert {"other", "contact"} <= set(draft.done_pages)
        db.session.remove()
