"""The queue (order, filters, look-up, counts, keyset pagination), one submission (notes, status
conflicts), escaping of patient text, CSV exports and the audit trail."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from questionnaire.data import store
from questionnaire.data.models import AuditEvent, Clock, Note
from questionnaire.extensions import db

from ..helpers import EVERY_PAGE, PERSONAS, visible_text
from ..staff_factory import (
    BASE_TIME,
    add_submission,
    add_submissions,
    at,
    audit_rows,
    csrf,
    queue_references,
    submission_row,
    version_on,
)
from ..staff_helpers import make_staff, sign_in, token_of

pytestmark = pytest.mark.usefixtures("cheap_hashing")

LEVELS = ("urgent", "discuss_before_booking", "mention_at_consultation", "none")
COUNT = re.compile(r'<span class="tag tag--([a-z_]+)">[^<]*</span> (\d+)<span class="visually-hidden">')


# Each audit event is a row that starts with its time.
EVENT_ROW = '<tr><td data-label="When (UTC)">'


def signed_in_as(app: Flask, role: str = "front_desk") -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, f"{role}@clinic.example", make_staff(app, f"{role}@clinic.example", role)).status_code == 302
    return client


def queue(client: FlaskClient, query: str = "") -> list[str]:
    response = client.get("/staff/" + (f"?{query}" if query else ""))
    assert response.status_code == 200
    return queue_references(response.get_data(as_text=True))


def counts(html: str) -> dict[str, int]:
    return {level: int(n) for level, n in COUNT.findall(html)}


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200 and response.content_type.startswith("text/csv")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


# --- the queue ----------------------------------------------------------------------------------


def test_queue_shows_urgent_then_discuss_then_mention_then_none_oldest_first(app: Flask) -> None:
    specs = [  # inserted out of order on purpose
        ("none", 1),
        ("mention_at_consultation", 5),
        ("urgent", 30),
        ("discuss_before_booking", 2),
        ("urgent", 10),
        ("none", 0),
        ("mention_at_consultation", 4),
        ("discuss_before_booking", 3),
        ("urgent", 20),
    ]
    refs = add_submissions(app, [{"persona": p, "created_at": at(m)} for p, m in specs])
    by = dict(zip(specs, refs))
    expected = sorted(specs, key=lambda s: (LEVELS.index(s[0]), s[1]))
    assert queue(signed_in_as(app)) == [by[s] for s in expected]


def test_queue_filters_by_status_level_rule_and_date(app: Flask) -> None:
    refs = add_submissions(
        app,
        [
            {"persona": "urgent", "created_at": at(0), "status": "new"},
            {"persona": "urgent", "created_at": at(days=1), "status": "contacted"},
            {"persona": "mention_at_consultation", "created_at": at(days=1, minutes=5), "status": "contacted"},
            {"persona": "none", "created_at": at(days=2)},
            {"answers": {**EVERY_PAGE, "faint_with_needles": "yes"}, "created_at": at(days=2, minutes=1)},
        ],
    )
    client = signed_in_as(app)
    assert queue(client, "status=contacted") == [refs[1], refs[2]]
    assert queue(client, "level=urgent&status=any") == [refs[0], refs[1]]
    assert queue(client, "level=urgent") == [refs[0]]  # new ones unless told otherwise
    assert queue(client, "level=none") == [refs[3]]
    assert queue(client, "rule=r_needle_faint&status=any") == [refs[4], refs[2]]  # discuss before mention
    assert queue(client, "rule=r_urgent_chest_pain_now&status=new") == [refs[0]]
    day2 = (BASE_TIME + timedelta(days=1)).strftime("%Y-%m-%d")
    assert queue(client, f"from={day2}&to={day2}&status=any") == [refs[1], refs[2]]
    assert queue(client, f"from={day2}&status=any") == [refs[1], refs[4], refs[2], refs[3]]
    assert queue(client, f"to={BASE_TIME:%Y-%m-%d}") == [refs[0]]
    # Unknown filter values are ignored rather than hiding everything.
    assert len(queue(client, "level=bogus&status=nope&rule=r_none")) == 5
    # A date that is not one is refused with a message (issue 16), not ignored.
    assert client.get("/staff/?from=yesterday").status_code == 400
    html = client.get("/staff/?status=contacted&level=urgent").get_data(as_text=True)
    assert '<option value="contacted" selected>' in html and '<option value="urgent" selected>' in html


def test_the_queue_opens_on_new_submissions_so_closed_urgent_cases_do_not_bury_new_work(app: Flask) -> None:
    closed = add_submissions(app, [{"persona": "urgent", "created_at": at(n), "status": "closed"} for n in range(30)])
    (waiting,) = add_submissions(app, [{"persona": "discuss_before_booking", "created_at": at(days=1)}])
    client = signed_in_as(app)
    html = client.get("/staff/").get_data(as_text=True)
    assert queue_references(html) == [waiting]
    assert '<option value="new" selected>' in html and "Showing new submissions" in visible_text(html)
    everything = client.get("/staff/?status=any").get_data(as_text=True)
    assert queue_references(everything) == closed[:25] and '<option value="any" selected>' in everything
    nxt = re.search(r'<a href="([^"]+)">Next page</a>', everything).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert "status=any" in nxt and queue_references(client.get(nxt).get_data(as_text=True)) == closed[25:] + [waiting]


def test_look_up_by_reference_however_it_is_typed(app: Flask) -> None:
    ref = add_submission(app, persona="discuss_before_booking")
    client = signed_in_as(app)
    compact = ref.replace("-", "")
    for typed in (
        ref,
        ref.lower(),
        f"  {ref}  ",
        compact,
        ref.replace("-", " "),
        " ".join(compact.lower()),
        f"{ref[:4]}–{ref[5:]}",
    ):  # an en dash, as a word processor writes it
        response = client.get("/staff/", query_string={"ref": typed})
        assert response.status_code == 302 and response.location == f"/staff/submissions/{ref}", typed
    assert client.get(f"/staff/submissions/{ref.lower()}").status_code == 200
    assert client.get(f"/staff/submissions/{compact}").status_code == 200


def test_looking_up_an_unknown_reference_says_so_and_escapes_it(app: Flask) -> None:
    add_submission(app)
    client = signed_in_as(app)
    html = client.get("/staff/", query_string={"ref": "ZZZZ-<b>9</b>"}).get_data(as_text=True)
    assert "No submission has the reference ZZZZ-&lt;b&gt;9&lt;/b&gt;" in html
    assert "<b>9</b>" not in html


def test_queue_counts_submissions_per_level(app: Flask) -> None:
    add_submissions(
        app,
        [{"persona": "urgent"}] * 3
        + [{"persona": "discuss_before_booking"}] * 2
        + [{"persona": "none", "status": "closed"}] * 4
        + [{"persona": "mention_at_consultation", "status": "closed"}],
    )
    client = signed_in_as(app)
    assert counts(client.get("/staff/?status=any").get_data(as_text=True)) == {
        "urgent": 3,
        "discuss_before_booking": 2,
        "mention_at_consultation": 1,
        "none": 4,
    }
    assert counts(client.get("/staff/").get_data(as_text=True)) == {  # new ones, unless told otherwise
        "urgent": 3,
        "discuss_before_booking": 2,
        "mention_at_consultation": 0,
        "none": 0,
    }
    assert counts(client.get("/staff/?status=closed").get_data(as_text=True)) == {
        "urgent": 0,
        "discuss_before_booking": 0,
        "mention_at_consultation": 1,
        "none": 4,
    }


def _walk_pages(client: FlaskClient, url: str) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    while url:
        html = client.get(url).get_data(as_text=True)
        refs = queue_references(html)
        assert 0 < len(refs) <= 25
        seen += refs
        pages += 1
        found = re.search(r'<a href="([^"]+)">Next page</a>', html)
        url = found.group(1).replace("&amp;", "&") if found else ""
        assert pages < 20
    return seen, pages


def test_next_page_links_never_repeat_or_skip_a_submission(app: Flask) -> None:
    specs = []
    for n in range(64):
        persona = LEVELS[n % 4]
        # Many share a moment (a busy minute, or a bulk import), so only the id breaks ties.
        created = at(minutes=n % 3, microseconds=(n * 7919) % 1000 if n % 5 else 0)
        specs.append({"persona": persona, "created_at": created})
    refs = add_submissions(app, specs)
    expected = [
        r
        for _, r in sorted(
            zip(specs, refs), key=lambda sr: (LEVELS.index(sr[0]["persona"]), sr[0]["created_at"], refs.index(sr[1]))
        )
    ]
    client = signed_in_as(app)
    seen, pages = _walk_pages(client, "/staff/")
    assert pages == 3 and seen == expected
    first = client.get("/staff/").get_data(as_text=True)
    assert "First page" not in first and "Next page" in first
    # Filters are kept across pages.
    seen, pages = _walk_pages(client, "/staff/?level=none&status=new")
    assert pages == 1 and seen == [r for r in expected if specs[refs.index(r)]["persona"] == "none"]
    many = add_submissions(app, [{"persona": "none", "created_at": at(1)}] * 20)
    seen, pages = _walk_pages(client, "/staff/?level=none")
    assert pages == 2 and len(seen) == 36 and len(set(seen)) == 36 and set(many) <= set(seen)


def test_a_tampered_page_cursor_shows_the_first_page(app: Flask) -> None:
    add_submissions(app, [{"persona": "none"}] * 3)
    client = signed_in_as(app)
    for cursor in ("x", "1_2", "1_99999999999999999999999_3", "_".join(["9"] * 3) + "'--"):
        assert len(queue(client, f"after={cursor}")) == 3, cursor


# --- one submission: status and notes -----------------------------------------------------------


def test_two_people_changing_the_same_submission_second_gets_a_conflict_and_nothing_is_overwritten(app: Flask) -> None:
    ref = add_submission(app, persona="urgent")
    desk, clinician = signed_in_as(app, "front_desk"), signed_in_as(app, "clinician")
    desk_page = desk.get(f"/staff/submissions/{ref}").get_data(as_text=True)
    clinician_page = clinician.get(f"/staff/submissions/{ref}").get_data(as_text=True)
    assert version_on(desk_page) == version_on(clinician_page) == "1"
    first = desk.post(
        f"/staff/submissions/{ref}/status",
        data={"csrf_token": token_of(desk_page), "status": "contacted", "version": "1"},
    )
    assert first.status_code == 303
    second = clinician.post(
        f"/staff/submissions/{ref}/status",
        data={"csrf_token": token_of(clinician_page), "status": "closed", "version": "1"},
    )
    assert second.status_code == 409
    html = second.get_data(as_text=True)
    assert "Changed by someone else" in html
    assert "front_desk@clinic.example set the status to “Contacted”" in html
    assert "Your change to “Closed” was not saved" in html
    assert version_on(html) == "2" and '<option value="contacted" selected>' in html
    row = submission_row(app, ref)
    assert (row.status, row.status_by, row.version) == ("contacted", "front_desk@clinic.example", 2)
    assert [e.actor for e in audit_rows(app, "status_conflict")] == ["clinician@clinic.example"]
    # With the current version, the clinician's change goes through.
    again = clinician.post(
        f"/staff/submissions/{ref}/status",
        data={"csrf_token": token_of(html), "status": "with_clinician", "version": version_on(html)},
    )
    assert again.status_code == 303
    assert submission_row(app, ref).status == "with_clinician"


def test_compare_and_set_lets_only_one_of_two_writers_win(app: Flask) -> None:
    ref = add_submission(app)
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        assert store.change_status(sub, 1, "contacted", "a@clinic.example") is True
        assert store.change_status(sub, 1, "closed", "b@clinic.example") is False
        assert (sub.status, sub.status_by, sub.version) == ("contacted", "a@clinic.example", 2)


def test_a_bad_status_or_version_is_refused(app: Flask) -> None:
    ref = add_submission(app)
    client = signed_in_as(app)
    token = csrf(client, "/staff/")
    for data in ({"status": "deleted", "version": "1"}, {"status": "closed", "version": "one"}, {"status": "closed"}):
        assert client.post(f"/staff/submissions/{ref}/status", data={"csrf_token": token, **data}).status_code == 400
    assert submission_row(app, ref).version == 1


def test_notes_are_kept_in_order_with_author_and_time_and_cannot_be_changed(app: Flask, clock: Clock) -> None:
    ref = add_submission(app)
    desk, clinician = signed_in_as(app, "front_desk"), signed_in_as(app, "clinician")
    token = csrf(desk, "/staff/")
    assert (
        desk.post(f"/staff/submissions/{ref}/notes", data={"csrf_token": token, "body": "First call"}).status_code
        == 303
    )
    clock.offset = timedelta(minutes=5)
    assert (
        clinician.post(
            f"/staff/submissions/{ref}/notes", data={"csrf_token": csrf(clinician, "/staff/"), "body": "Reviewed"}
        ).status_code
        == 303
    )
    html = desk.get(f"/staff/submissions/{ref}").get_data(as_text=True)
    assert html.index("First call") < html.index("Reviewed")
    assert re.search(r"front_desk@clinic\.example, \d{4}-\d\d-\d\d \d\d:\d\d UTC", html)
    assert "clinician@clinic.example, " in html
    too_long = desk.post(f"/staff/submissions/{ref}/notes", data={"csrf_token": token, "body": "x" * 5001})
    assert too_long.status_code == 400
    blank = desk.post(f"/staff/submissions/{ref}/notes", data={"csrf_token": token, "body": ""})
    assert blank.status_code == 400 and "Write the note" in blank.get_data(as_text=True)
    for rule in app.url_map.iter_rules():  # nothing edits or deletes a note
        assert "notes" not in rule.rule or (rule.methods or set()) <= {"POST", "OPTIONS"}
    with app.app_context():
        assert db.session.scalars(select(Note.body).order_by(Note.id)).all() == ["First call", "Reviewed"]


def test_a_submission_deleted_while_its_page_is_open_gives_404_and_nothing_is_written(app: Flask) -> None:
    ref = add_submission(app, persona="urgent")
    desk = signed_in_as(app)
    page = desk.get(f"/staff/submissions/{ref}").get_data(as_text=True)
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        store.delete_submission(sub)  # a patient's deletion request, or the retention purge
    assert (
        desk.post(f"/staff/submissions/{ref}/notes", data={"csrf_token": token_of(page), "body": "x"}).status_code
        == 404
    )
    assert (
        desk.post(
            f"/staff/submissions/{ref}/status",
            data={"csrf_token": token_of(page), "status": "closed", "version": version_on(page)},
        ).status_code
        == 404
    )
    assert desk.get(f"/staff/submissions/{ref}").status_code == 404
    with app.app_context():
        assert db.session.scalars(select(Note)).all() == []


def test_a_note_on_a_submission_purged_between_reading_and_writing_is_refused(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = add_submission(app, persona="urgent")
    desk = signed_in_as(app)
    token = csrf(desk, "/staff/")
    real_add_note = store.add_note

    def purge_first(sub: Any, author: str, body: str) -> Any:
        store.delete_submission(sub)  # the purge wins the race
        return real_add_note(sub, author, body)

    monkeypatch.setattr(store, "add_note", purge_first)
    response = desk.post(f"/staff/submissions/{ref}/notes", data={"csrf_token": token, "body": "late"})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalars(select(Note)).all() == []
    assert audit_rows(app, "note_added") == []


# --- escaping of what patients typed -------------------------------------------------------------

HOSTILE = {
    **EVERY_PAGE,
    "other_concerns": "<script>alert(1)</script>",
    "contact_name": "<b>Bold</b> Name",
    "injection_body_area": '"><img src=x onerror=alert(2)>',
    "prior_ozone_problem_details": "{{ 7*7 }} <i>rash</i>",
}


@pytest.mark.parametrize("role, path", [("front_desk", ""), ("clinician", ""), ("clinician", "/print")])
def test_patient_free_text_is_shown_escaped_on_staff_pages(app: Flask, role: str, path: str) -> None:
    ref = add_submission(app, HOSTILE)
    html = signed_in_as(app, role).get(f"/staff/submissions/{ref}{path}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "&lt;b&gt;Bold&lt;/b&gt; Name" in html and "<b>Bold</b>" not in html
    if role == "clinician":
        assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
        assert "{{ 7*7 }} &lt;i&gt;rash&lt;/i&gt;" in html  # shown as typed, not run as a template


def test_staff_emails_typed_at_sign_in_are_escaped_in_the_audit_log(app: Flask) -> None:
    client = app.test_client()
    token = csrf(client)
    client.post("/staff/sign-in", data={"csrf_token": token, "email": "<img src=x>@evil", "password": "whatever"})
    admin = signed_in_as(app, "admin")
    html = admin.get("/staff/admin/audit").get_data(as_text=True)
    assert "&lt;img src=x&gt;@evil" in html and "<img src=x>" not in html


# --- exports ------------------------------------------------------------------------------------

FORMULAS = {
    **PERSONAS["none"],
    "contact_name": '=HYPERLINK("http://evil.example","click")',
    "contact_phone": "+44 161 496 0002",
    "contact_email": "@SUM(1+1)@example.com",
}


def test_csv_export_has_only_the_selected_columns_neutralises_formulas_and_is_audited(app: Flask) -> None:
    add_submissions(
        app,
        [
            {"answers": FORMULAS, "created_at": at(0)},
            {
                "answers": {**PERSONAS["urgent"], "contact_name": "-2+3", "contact_phone": "\t=1+1"},
                "created_at": at(days=1),
            },
            {"answers": {**PERSONAS["none"], "contact_name": "Plain Name"}, "created_at": at(days=5)},
        ],
    )
    admin = signed_in_as(app, "admin")
    page = admin.get("/staff/admin/export").get_data(as_text=True)
    response = admin.post(
        "/staff/admin/export",
        data={
            "csrf_token": token_of(page),
            "columns": ["reference", "contact_name", "contact_phone", "not_a_column"],
            "from": BASE_TIME.strftime("%Y-%m-%d"),
            "to": (BASE_TIME + timedelta(days=1)).strftime("%Y-%m-%d"),
        },
    )
    rows = read_csv(response)
    assert "attachment" in response.headers["Content-Disposition"]
    assert rows[0] == ["reference", "contact_name", "contact_phone"]
    assert len(rows) == 3  # the third submission is outside the dates
    assert rows[1][1:] == ["'" + FORMULAS["contact_name"], "'+44 161 496 0002"]
    assert rows[2][1:] == ["'-2+3", "'\t=1+1"]
    body = response.get_data(as_text=True)
    assert "contact_email" not in body and "@SUM" not in body and "urgent" not in body
    assert "Plain Name" not in body
    (event,) = audit_rows(app, "export_submissions")
    assert event.actor == "admin@clinic.example" and event.ip == "127.0.0.1"
    assert "columns=reference,contact_name,contact_phone" in (event.detail or "")
    assert "HYPERLINK" not in (event.detail or "")
    emails = admin.post("/staff/admin/export", data={"csrf_token": token_of(page), "columns": ["contact_email"]})
    assert read_csv(emails)[1] == ["'" + FORMULAS["contact_email"]]


def test_export_without_a_column_asks_for_one(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    page = admin.get("/staff/admin/export").get_data(as_text=True)
    response = admin.post("/staff/admin/export", data={"csrf_token": token_of(page), "columns": ["nope"]})
    assert response.status_code == 400 and "Select at least one column" in response.get_data(as_text=True)
    assert audit_rows(app, "export_submissions") == []


def test_audit_log_filters_pages_and_exports_every_matching_event_as_csv(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    with app.app_context():
        for n in range(130):
            store.audit(
                "view_submission",
                actor=f"person{n % 2}@clinic.example",
                reference="ABCD-EFGH",
                ip="10.0.0.1",
                commit=False,
            )
        store.audit("note_added", actor="person0@clinic.example", reference="WXYZ-2345", ip="10.0.0.2")
    html = admin.get("/staff/admin/audit").get_data(as_text=True)
    assert html.count(EVENT_ROW) == 100 and "Older events" in html
    older = re.search(r'<a href="([^"]+)">Older events</a>', html).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert admin.get(older).get_data(as_text=True).count(EVENT_ROW) > 30
    filtered = admin.get("/staff/admin/audit?action=note_added").get_data(as_text=True)
    assert filtered.count(EVENT_ROW) == 1 and "WXYZ-2345" in filtered
    assert admin.get("/staff/admin/audit?ref=wxyz-2345").get_data(as_text=True).count(EVENT_ROW) == 1
    rows = read_csv(admin.get("/staff/admin/audit?format=csv&actor=person1@clinic.example"))
    assert rows[0] == ["id", "at", "actor", "action", "submission_ref", "ip", "detail"]
    assert len(rows) == 1 + 65 and {r[2] for r in rows[1:]} == {"person1@clinic.example"}
    everything = read_csv(admin.get("/staff/admin/audit?format=csv"))
    assert len(everything) - 1 >= 131
    exports = audit_rows(app, "export_audit")
    assert [e.actor for e in exports] == ["admin@clinic.example"] * 2
    assert exports[0].detail == "actor=person1@clinic.example"
    # Reading the log is in the log too, with the filters used.
    assert [e.detail for e in audit_rows(app, "view_audit")] == [None, None, "action=note_added", "ref=wxyz-2345"]


def test_an_administrator_adds_a_staff_member_with_a_password_shown_once(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    page = admin.get("/staff/admin/staff").get_data(as_text=True)
    response = admin.post(
        "/staff/admin/staff", data={"csrf_token": token_of(page), "email": " New@Clinic.Example ", "role": "clinician"}
    )
    # Post/Redirect/Get (issue 16): a reload never sends the form again; the form is empty after success.
    assert response.status_code == 303 and response.location == "/staff/admin/staff"
    html = admin.get(response.location).get_data(as_text=True)
    password = re.search(r'<code class="reference">([^<]+)</code>', html).group(1)  # type: ignore[union-attr]
    assert "shown only now" in html and len(password) >= 12
    assert 'id="email" name="email" type="email" spellcheck="false" value=""' in html
    assert password not in admin.get("/staff/admin/staff").get_data(as_text=True)
    with app.app_context():
        new = store.staff_by_email("new@clinic.example")
        assert new is not None and new.role == "clinician" and new.must_change_password and not new.otp_confirmed
    for email, message in (("new@clinic.example", "already an account"), ("not-an-email", "Enter an email address")):
        again = admin.post("/staff/admin/staff", data={"csrf_token": token_of(page), "email": email, "role": "admin"})
        assert message in again.get_data(as_text=True)
    bad_role = admin.post(
        "/staff/admin/staff", data={"csrf_token": token_of(page), "email": "x@clinic.example", "role": "superuser"}
    )
    assert bad_role.status_code == 400
    with app.app_context():
        assert store.staff_by_email("x@clinic.example") is None
    (event,) = audit_rows(app, "staff_created")
    assert (event.actor, event.detail) == ("admin@clinic.example", "new@clinic.example as clinician")


# --- the audit trail ----------------------------------------------------------------------------

SECRETS = {
    **EVERY_PAGE,
    "contact_name": "Zebedee Quartermaine",
    "contact_phone": "07700 900123",
    "contact_email": "zebedee@example.org",
    "other_concerns": "Secret worry about my liver",
    "medicines_list": "Unusualmedicine 20mg",
    "injection_body_area": "Left elbow joint",
}


def test_every_event_leaves_an_audit_row_without_answers_or_contact_details(app: Flask, clock: Clock) -> None:
    ref = add_submission(app, SECRETS)
    # failed sign-in, sign-in
    desk_secret = make_staff(app, "front_desk@clinic.example", "front_desk")
    desk = app.test_client()
    desk.post(
        "/staff/sign-in",
        data={"csrf_token": csrf(desk), "email": "front_desk@clinic.example", "password": "not my password"},
    )
    assert sign_in(desk, "front_desk@clinic.example", desk_secret).status_code == 302
    # view, note, status change
    page = desk.get(f"/staff/submissions/{ref}").get_data(as_text=True)
    desk.post(
        f"/staff/submissions/{ref}/notes",
        data={"csrf_token": token_of(page), "body": "Spoke to Zebedee Quartermaine on 07700 900123"},
    )
    desk.post(
        f"/staff/submissions/{ref}/status",
        data={"csrf_token": token_of(page), "status": "contacted", "version": version_on(page)},
    )
    # print view, export (with contact columns), audit export, account change
    admin = signed_in_as(app, "admin")
    admin.get(f"/staff/submissions/{ref}/print")
    token = csrf(admin, "/staff/admin/export")
    read_csv(
        admin.post(
            "/staff/admin/export",
            data={
                "csrf_token": token,
                "columns": list(["reference", "contact_name", "contact_phone", "contact_email"]),
            },
        )
    )
    read_csv(admin.get("/staff/admin/audit?format=csv"))
    admin.post("/staff/admin/staff", data={"csrf_token": token, "email": "temp@clinic.example", "role": "front_desk"})
    with app.app_context():
        temp_id = store.staff_by_email("temp@clinic.example").id  # type: ignore[union-attr]
    admin.post(f"/staff/admin/staff/{temp_id}/deactivate", data={"csrf_token": token, "confirmed": "yes"})
    # sign-out, then a timeout
    desk.post("/staff/sign-out", data={"csrf_token": token_of(page)})
    clock.offset = timedelta(minutes=30)
    admin.get("/staff/")

    events = audit_rows(app)
    actions = [e.action for e in events]
    for action in (
        "sign_in_failed",
        "sign_in",
        "view_submission",
        "note_added",
        "status_changed",
        "print_submission",
        "export_submissions",
        "export_audit",
        "staff_created",
        "staff_deactivate",
        "sign_out",
        "timeout",
    ):
        assert action in actions, action
    by_action = {e.action: e for e in events}
    for action in ("view_submission", "note_added", "status_changed", "print_submission"):
        assert by_action[action].submission_ref == ref, action
    assert by_action["status_changed"].detail == "new -> contacted"
    for e in events:
        # Staff addresses are kept as seen; a patient's only as a keyed hash (never the address).
        expected_ip = e.ip if e.actor == "patient" and e.ip and e.ip.startswith("h:test1:") else "127.0.0.1"
        assert e.at is not None and e.ip == expected_ip and e.actor, e.action
    assert by_action["submission_created"].ip != "127.0.0.1"
    forbidden = [
        "Zebedee",
        "Quartermaine",
        "07700",
        "900123",
        "zebedee@example.org",
        "liver",
        "Unusualmedicine",
        "Left elbow",
        "Spoke to",
    ]
    with app.app_context():
        raw = db.session.execute(select(AuditEvent.__table__)).mappings().all()  # every column of every row
    for row in raw:
        # Not the row's number or time: "07700" can be a time's microseconds.
        for value in (value for column, value in row.items() if column not in ("id", "at")):
            for word in forbidden:
                assert word.lower() not in str(value).lower(), (word, row)


def test_whole_database_downloads_share_one_limit_per_address(make_app: Any) -> None:
    """CSV export, audit CSV and FHIR bundle: BULK_EXPORT_LIMIT together; pages and refusals are not counted."""
    app = make_app(RATELIMIT_ENABLED=True, BULK_EXPORT_LIMIT="3 per hour")
    add_submission(app)
    admin = signed_in_as(app, "admin")
    token = csrf(admin, "/staff/admin/export")
    for _ in range(3):  # pages that only show a form or the log are not downloads
        assert admin.get("/staff/admin/export").status_code == 200
        assert admin.get("/staff/admin/audit").status_code == 200
    assert admin.post("/staff/admin/export", data={"csrf_token": token}).status_code == 400  # no column chosen
    read_csv(admin.post("/staff/admin/export", data={"csrf_token": token, "columns": ["reference"]}))
    read_csv(admin.get("/staff/admin/audit?format=csv"))
    assert admin.get("/staff/admin/fhir-bundle").status_code == 200
    assert admin.get("/staff/admin/audit?format=csv").status_code == 429
    assert admin.post("/staff/admin/export", data={"csrf_token": token, "columns": ["reference"]}).status_code == 429
    assert admin.get("/staff/admin/audit").status_code == 200
    assert [e.action for e in audit_rows(app) if e.action.startswith("export")] == [
        "export_submissions",
        "export_audit",
        "export_fhir_bundle",
    ]


def test_a_flag_shows_the_staff_note_and_sources_of_the_rule_set_that_judged_it(app: Flask) -> None:
    """After the rules file changes (a note reworded, a rule renamed), staff still read what applied
    when the submission was judged; a submission stored before notes were kept shows the current one."""
    ref = add_submission(app, persona="discuss_before_booking")
    with app.app_context():
        sub = store.submission_by_reference(ref)
        assert sub is not None
        fired = [dict(f) for f in sub.fired]
        current_note = next(r.staff_note for r in app.extensions["ruleset"].rules if r.id == fired[0]["id"])
        assert fired[0]["staff_note"] == current_note
        fired[0]["staff_note"] = "The note as it was worded when this submission came in."
        fired[0]["sources"] = [["S99", "A source the rules file no longer lists"]]
        fired.append(
            {
                "id": "r_renamed_since",
                "level": "mention_at_consultation",
                "message_ids": [],
                "triggers": {},
                "staff_note": "A rule that has been renamed since.",
                "evidence": "C",
                "sources": [],
            }
        )
        legacy = {k: v for k, v in fired[0].items() if k not in ("staff_note", "evidence", "sources")}
        sub.fired = fired + [{**legacy, "id": fired[0]["id"]}]
        db.session.commit()
    client = signed_in_as(app, "clinician")
    for url in (f"/staff/submissions/{ref}", f"/staff/submissions/{ref}/print"):
        text = visible_text(client.get(url).get_data(as_text=True))
        assert "The note as it was worded when this submission came in." in text, url
        assert "A rule that has been renamed since." in text and "not in the current rule set" not in text, url
        assert current_note in text, url  # the legacy entry, stored without a note: the current words
    assert "S99: A source the rules file no longer lists" in visible_text(
        client.get(f"/staff/submissions/{ref}").get_data(as_text=True)
    )


# --- administration safety (issue 16) -------------------------------------------------------------------


def test_deactivate_and_reset_password_ask_on_a_page_of_their_own_first(app: Flask) -> None:
    from questionnaire.data.models import Staff

    admin = signed_in_as(app, "admin")
    make_staff(app, "temp@clinic.example", "front_desk")
    with app.app_context():
        temp = store.staff_by_email("temp@clinic.example")
        assert temp is not None
        temp_id = temp.id
    accounts = admin.get("/staff/admin/staff").get_data(as_text=True)
    assert f'href="/staff/admin/staff/{temp_id}/deactivate/confirm"' in accounts
    assert f'href="/staff/admin/staff/{temp_id}/reset-password/confirm"' in accounts
    token = token_of(accounts)
    # A post that did not come from the confirmation page changes nothing: it leads there.
    unconfirmed = admin.post(f"/staff/admin/staff/{temp_id}/deactivate", data={"csrf_token": token})
    assert unconfirmed.status_code == 303 and unconfirmed.location == f"/staff/admin/staff/{temp_id}/deactivate/confirm"
    with app.app_context():
        assert db.session.get(Staff, temp_id).active  # type: ignore[union-attr]
    page = admin.get(unconfirmed.location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Deactivate temp@clinic.example?" in visible_text(html)
    assert 'name="confirmed" value="yes"' in html and 'href="/staff/admin/staff">Cancel' in html
    done = admin.post(
        f"/staff/admin/staff/{temp_id}/deactivate", data={"csrf_token": token_of(html), "confirmed": "yes"}
    )
    assert done.status_code == 303 and done.location == "/staff/admin/staff"
    with app.app_context():
        assert not db.session.get(Staff, temp_id).active  # type: ignore[union-attr]
    confirm = admin.get(f"/staff/admin/staff/{temp_id}/reset-password/confirm").get_data(as_text=True)
    assert "Reset the password of temp@clinic.example?" in visible_text(confirm)
    reset = admin.post(
        f"/staff/admin/staff/{temp_id}/reset-password", data={"csrf_token": token_of(confirm), "confirmed": "yes"}
    )
    assert reset.status_code == 303
    shown = admin.get(reset.location).get_data(as_text=True)
    assert "New one-time password for temp@clinic.example" in shown
    # Shown once: a reload of the page does not show it again, nor reset again.
    again = admin.get(reset.location).get_data(as_text=True)
    assert "New one-time password" not in again
    assert len(audit_rows(app, "staff_reset_password")) == 1
    assert admin.get("/staff/admin/staff/999999/deactivate/confirm").status_code == 404
    assert admin.get(f"/staff/admin/staff/{temp_id}/sign-out-everywhere/confirm").status_code == 404


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2025-02-30", "From: enter a real date as year-month-day, like 2025-03-31"),
        ("to=31/03/2025", "To: enter a real date as year-month-day, like 2025-03-31"),
        ("from=2025-03-10&to=2025-03-01", "To must be the same day as From or later"),
        ("to=9999-12-31", "out of range"),
    ],
)
def test_the_date_filters_say_their_format_and_refuse_impossible_or_reversed_ranges(
    app: Flask, query: str, message: str
) -> None:
    client = signed_in_as(app)
    page = client.get("/staff/")
    html = page.get_data(as_text=True)
    assert "From (year-month-day, like 2025-03-31)" in html and 'id="from" name="from" type="text"' in html
    response = client.get(f"/staff/?{query}")
    assert response.status_code == 400 and message in visible_text(response.get_data(as_text=True))
    # A single day (From and To the same) is a range, not an error.
    assert client.get("/staff/?from=2025-03-03&to=2025-03-03").status_code == 200
