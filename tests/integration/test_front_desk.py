"""Issue 16: the front desk can act on every flag. The action card of a submission (who to call, by
when in the clinic's time zone, booking held, what to say and not say, who the case goes to), the
queue a front desk works from (name, phone, reason in words, waiting time, overdue, level-count links,
the new-submissions count), the call log and "assign to me" (each with its audit row in one
transaction), and the printable call sheet."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from questionnaire.core.rules import Ruleset
from questionnaire.data import store
from questionnaire.data.models import CLOCK, CallAttempt
from questionnaire.extensions import db
from questionnaire.operations import calls

from ..helpers import PERSONAS
from ..staff_factory import add_submission, audit_rows, csrf, submission_row
from ..staff_helpers import make_staff, sign_in
from .test_operations import refuse_audit  # noqa: F401  # the fixture

pytestmark = pytest.mark.usefixtures("cheap_hashing")
DESK = "desk@clinic.example"
# Friday 7 March 2025, 23:30 UTC: already Saturday 8 March in Auckland, still Friday in New York.
FRIDAY_NIGHT = datetime(2025, 3, 7, 23, 30, tzinfo=UTC)
RULE_ID = re.compile(r"\br_[a-z0-9_]+")


def visible_text(page: str) -> str:
    """What a person reads: the page without tags, attributes, scripts and styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


def signed_in(app: Flask, role: str = "front_desk", email: str = DESK) -> FlaskClient:
    client = app.test_client()
    sign_in(client, email, make_staff(app, email, role))
    return client


@pytest.fixture
def now_is() -> Callable[[datetime], None]:
    """now_is(moment): the app's clock reads `moment` (moved back after the test)."""

    def move(moment: datetime) -> None:
        CLOCK.offset = moment - datetime.now(UTC)

    yield move
    CLOCK.offset = timedelta(0)


def rules(app: Flask) -> Ruleset:
    rs: Ruleset = app.extensions["ruleset"]
    return rs


# --- the action card ---------------------------------------------------------------------------


def test_the_action_card_of_an_urgent_case_says_who_to_call_today_and_what_to_say(app: Flask) -> None:
    ref = add_submission(
        app, {**PERSONAS["urgent"], "contact_email": "alex@example.com"}, created_at=FRIDAY_NIGHT - timedelta(hours=1)
    )
    page = signed_in(app).get(f"/staff/submissions/{ref}").get_data(as_text=True)
    card = page[page.index('class="action-card') : page.index("</section>", page.index('class="action-card'))]
    chest = rules(app).rule("r_urgent_chest_pain_now")
    assert 'href="tel:01614960001">0161 496 0001</a>' in card
    assert 'href="mailto:alex@example.com">alex@example.com</a>' in card
    assert "Alex Example" in card and "Morning" in card and "English" in card
    assert "Contact the patient by <strong>Friday 7 March 2025</strong>" in card  # the same day (UTC)
    assert "Booking is on hold" in card
    assert htmllib.escape(chest.title) in card
    assert htmllib.escape(chest.front_desk.say, quote=False) in card
    assert htmllib.escape(chest.front_desk.do_not_say, quote=False) in card
    assert "The case goes to:</strong> a clinician, the same day." in card
    for line in rules(app).level("urgent").front_desk.splitlines():
        assert htmllib.escape(line.strip(), quote=False) in card


@pytest.mark.parametrize(
    ("zone", "due"),
    [
        ("Pacific/Auckland", "Wednesday 12 March 2025"),  # received Saturday
        ("America/New_York", "Tuesday 11 March 2025"),  # received Friday
        ("UTC", "Tuesday 11 March 2025"),
    ],
)
def test_a_discuss_case_is_due_in_working_days_counted_in_the_clinics_time_zone(
    make_app: Callable[..., Flask], zone: str, due: str
) -> None:
    if True:
        app = make_app(CLINIC_TIMEZONE=zone, CONTACT_WORKING_DAYS=2)
        ref = add_submission(app, persona="discuss_before_booking", created_at=FRIDAY_NIGHT)
        page = signed_in(app).get(f"/staff/submissions/{ref}").get_data(as_text=True)
        assert f"Contact the patient by <strong>{due}</strong>" in page, zone
        assert "within 2 working days, weekends not counted" in page
        assert "Booking is on hold" in page
        blood = rules(app).rule("r_blood_thinner_injection")
        assert htmllib.escape(blood.title) in page
        assert htmllib.escape(blood.front_desk.say, quote=False) in page


def test_a_mention_case_needs_no_call_and_booking_is_not_held(app: Flask) -> None:
    ref = add_submission(app, persona="mention_at_consultation")
    page = signed_in(app).get(f"/staff/submissions/{ref}").get_data(as_text=True)
    needle = rules(app).rule("r_needle_faint")
    assert "No call is needed before the visit." in page and "Booking is not on hold" in page
    assert htmllib.escape(needle.front_desk.say, quote=False) in page
    assert "The patient can book as usual." in page


@pytest.mark.parametrize("persona", ["urgent", "discuss_before_booking", "mention_at_consultation"])
def test_the_front_desk_reads_flags_in_words_never_by_rule_id(app: Flask, persona: str) -> None:
    ref = add_submission(app, persona=persona)
    desk_page = signed_in(app).get(f"/staff/submissions/{ref}").get_data(as_text=True)
    assert RULE_ID.findall(desk_page) == []
    clinician = signed_in(app, "clinician", "doc@clinic.example").get(f"/staff/submissions/{ref}")
    assert RULE_ID.search(clinician.get_data(as_text=True))  # in small print, for clinicians


def test_a_staff_note_naming_another_rule_reads_its_title_for_the_front_desk(app: Flask) -> None:
    ref = add_submission(app, {**PERSONAS["none"], "seizures": "not_sure"})
    page = signed_in(app).get(f"/staff/submissions/{ref}").get_data(as_text=True)
    assert f"See “{rules(app).rule('r_seizures').title}”" in htmllib.unescape(page)
    assert "r_seizures" not in page


def test_the_time_zone_is_validated_at_start_up(make_app: Callable[..., Flask]) -> None:
    from questionnaire.config import ConfigError

    with pytest.raises(ConfigError, match="FLASK_CLINIC_TIMEZONE 'Mars/Olympus'"):
        make_app(CLINIC_TIMEZONE="Mars/Olympus")
    assert make_app().config["CLINIC_TIMEZONE"] == "UTC"


# --- the queue ---------------------------------------------------------------------------------


def test_the_queue_shows_name_phone_reason_waiting_and_language_in_the_clinics_time(
    make_app: Callable[..., Flask], now_is: Callable[[datetime], None]
) -> None:
    app = make_app(CLINIC_TIMEZONE="Europe/Madrid")
    ref = add_submission(
        app, persona="discuss_before_booking", created_at=datetime(2025, 3, 3, 8, 0, tzinfo=UTC), language="es"
    )
    now_is(datetime(2025, 3, 3, 11, 0, tzinfo=UTC))
    page = signed_in(app).get("/staff/").get_data(as_text=True)
    assert f'/staff/submissions/{ref}">Alex Example</a>' in page
    assert 'href="tel:01614960001">0161 496 0001</a>' in page
    assert htmllib.escape(rules(app).rule("r_blood_thinner_injection").title) in page
    assert "3 hours, since 2025-03-03 09:00 CET" in page  # 08:00 UTC is 09:00 in Madrid
    assert "Contact by Wednesday 5 March 2025" in page and "Spanish" in page
    assert "(Europe/Madrid)" in page and "Overdue" not in page


def test_a_new_case_past_its_promise_is_overdue_and_a_contacted_one_is_not(
    app: Flask, now_is: Callable[[datetime], None]
) -> None:
    monday = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    late = add_submission(app, persona="discuss_before_booking", created_at=monday)
    called = add_submission(app, persona="discuss_before_booking", created_at=monday, status="contacted")
    now_is(datetime(2025, 3, 6, 9, 0, tzinfo=UTC))  # Thursday: due Wednesday
    client = signed_in(app)
    page = client.get("/staff/").get_data(as_text=True)
    page = page[page.index("<table") :]
    row = page[page.index(late) : page.index("</tr>", page.index(late))]
    assert "Overdue: due Wednesday 5 March 2025" in row
    page = client.get("/staff/?status=any").get_data(as_text=True)
    page = page[page.index("<table") :]
    row = page[page.index(called) : page.index("</tr>", page.index(called))]
    assert "Overdue" not in row
    now_is(datetime(2025, 3, 5, 22, 0, tzinfo=UTC))  # still Wednesday: due, not overdue
    assert "Overdue" not in client.get("/staff/").get_data(as_text=True)


def test_each_level_count_links_to_the_queue_filtered_by_that_level(app: Flask) -> None:
    add_submission(app, persona="urgent")
    add_submission(app, persona="discuss_before_booking")
    add_submission(app, persona="discuss_before_booking")
    client = signed_in(app)
    page = client.get("/staff/").get_data(as_text=True)
    links = {
        level: url
        for url, level, _n in re.findall(
            r'<a class="count-link" href="([^"]+)"[^>]*><span class="tag tag--(\w+)">[^<]*</span> (\d+)', page
        )
    }
    assert set(links) == {"urgent", "discuss_before_booking", "mention_at_consultation", "none"}
    assert '">Urgent</span> 1<span' in page
    filtered = client.get(htmllib.unescape(links["discuss_before_booking"])).get_data(as_text=True)
    assert filtered.count('data-label="Level"><span class="tag tag--discuss_before_booking"') == 2
    assert 'data-label="Level"><span class="tag tag--urgent"' not in filtered


def test_the_new_count_endpoint_counts_submissions_after_the_page_and_does_not_keep_the_session(app: Flask) -> None:
    add_submission(app, persona="urgent")
    client = signed_in(app)
    page = client.get("/staff/").get_data(as_text=True)
    url = htmllib.unescape(re.search(r'data-count-url="([^"]+)"', page).group(1))
    assert client.get(url).get_json() == {"count": 0}
    add_submission(app, persona="discuss_before_booking")
    add_submission(app, persona="none")
    response = client.get(url)
    assert response.get_json() == {"count": 2} and response.headers["Cache-Control"] == "no-store"
    assert client.get("/staff/queue/new-count?after=x").status_code == 400
    assert app.test_client().get(url).status_code == 302  # signed out: sign in first
    with app.app_context():
        from questionnaire.data.models import StaffSession

        before = db.session.scalar(select(StaffSession.last_seen_at))
    CLOCK.offset = timedelta(minutes=5)
    try:
        client.get(url)
        with app.app_context():
            assert db.session.scalar(select(StaffSession.last_seen_at)) == before
    finally:
        CLOCK.offset = timedelta(0)


# --- the call log and "assign to me" -----------------------------------------------------------


def test_one_click_records_a_call_shown_with_the_notes_and_audited(app: Flask) -> None:
    ref = add_submission(app, persona="discuss_before_booking")
    client = signed_in(app)
    token = csrf(client, "/staff/")
    client.post(f"/staff/submissions/{ref}/notes", data={"csrf_token": token, "body": "Asked to call after 5"})
    response = client.post(f"/staff/submissions/{ref}/calls", data={"csrf_token": token, "outcome": "voicemail"})
    assert response.status_code == 303 and response.location.endswith("#call-log")
    page = client.get(f"/staff/submissions/{ref}").get_data(as_text=True)
    log = page[page.index('id="call-log"') :]
    assert log.index("Asked to call after 5") < log.index("Call: Left a voicemail")
    [row] = audit_rows(app, "call_recorded")
    assert (row.actor, row.submission_ref, row.detail) == (DESK, ref, "voicemail")
    assert client.post(f"/staff/submissions/{ref}/calls", data={"csrf_token": token, "outcome": "x"}).status_code == 400
    assert client.post(f"/staff/submissions/{ref}/calls", data={"outcome": "reached"}).status_code == 400


def test_a_call_whose_audit_row_fails_is_not_stored(app: Flask, refuse_audit: Callable[[str], None]) -> None:  # noqa: F811
    ref = add_submission(app, persona="urgent")
    refuse_audit("call_recorded")
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        with pytest.raises(DBAPIError):
            calls.record_call(sub, "reached", actor=DESK)
    with app.app_context():
        assert db.session.scalars(select(CallAttempt)).all() == []
    assert audit_rows(app, "call_recorded") == []


def test_an_assignment_whose_audit_row_fails_changes_nothing(app: Flask, refuse_audit: Callable[[str], None]) -> None:  # noqa: F811
    ref = add_submission(app, persona="urgent")
    refuse_audit("assigned")
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        with pytest.raises(DBAPIError):
            calls.assign_to_me(sub, actor=DESK)
    assert submission_row(app, ref).assigned_to is None


def test_assign_to_me_takes_the_case_and_says_from_whom(app: Flask) -> None:
    ref = add_submission(app, persona="discuss_before_booking")
    other = signed_in(app, "front_desk", "other@clinic.example")
    other.post(f"/staff/submissions/{ref}/assign", data={"csrf_token": csrf(other, "/staff/")})
    client = signed_in(app)
    assert "Assigned to other@clinic.example" in client.get(f"/staff/submissions/{ref}").get_data(as_text=True)
    client.post(f"/staff/submissions/{ref}/assign", data={"csrf_token": csrf(client, "/staff/")})
    assert submission_row(app, ref).assigned_to == DESK
    assert [r.detail for r in audit_rows(app, "assigned")] == [None, "taken over from other@clinic.example"]
    assert "Assigned to desk@clinic.example" in client.get("/staff/").get_data(as_text=True)


def test_deleting_a_submission_deletes_its_calls(app: Flask) -> None:
    ref = add_submission(app, persona="urgent")
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        calls.record_call(sub, "no_answer", actor=DESK)
        store.delete_submission(sub)
        assert db.session.scalars(select(CallAttempt)).all() == []


# --- the call sheet ----------------------------------------------------------------------------


def test_the_call_sheet_lists_todays_calls_with_what_to_say(app: Flask) -> None:
    urgent = add_submission(app, persona="urgent", created_at=FRIDAY_NIGHT)
    discuss = add_submission(app, persona="discuss_before_booking", created_at=FRIDAY_NIGHT - timedelta(days=1))
    mention = add_submission(app, persona="mention_at_consultation")
    contacted = add_submission(app, persona="discuss_before_booking", status="contacted")
    client = signed_in(app)
    page = client.get("/staff/call-sheet").get_data(as_text=True)
    assert page.index(urgent) < page.index(discuss)
    assert mention not in page and contacted not in page
    assert 'href="tel:01614960001"' in page and "Alex Example" in page
    # Each flag with what to say and what never to say, for the phone call.
    blood = rules(app).rule("r_blood_thinner_injection")
    assert htmllib.escape(blood.title) in page and htmllib.escape(blood.front_desk.say, quote=False) in page
    assert "Do not say:</strong> " + htmllib.escape(blood.front_desk.do_not_say, quote=False) in page
    chest = rules(app).rule("r_urgent_chest_pain_now")
    assert "Do not say:</strong> " + htmllib.escape(chest.front_desk.do_not_say, quote=False) in page
    assert RULE_ID.findall(page) == []
    assert [r.detail for r in audit_rows(app, "view_call_sheet")] == ["2 rows"]
    with app.test_client().get("/static/staff.css") as css:
        assert "@media print" in css.get_data(as_text=True)


def test_the_rule_titles_are_kept_with_the_submission(app: Flask) -> None:
    ref = add_submission(app, persona="urgent")
    [fired] = submission_row(app, ref).fired
    rule = rules(app).rule("r_urgent_chest_pain_now")
    assert fired["title"] == rule.title and fired["front_desk"]["say"] == rule.front_desk.say
