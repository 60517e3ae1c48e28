"""The medical director's report (issue 19): figures checked against counts made here from the
database, roles, the date range, audited CSV downloads counted against the bulk-export limit, and the
replay of an uploaded candidate rules file."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from questionnaire.core.rules import DEFAULT_PATH
from questionnaire.data.models import Submission, SubmissionRule
from questionnaire.extensions import db

from ..helpers import NO_FLAGS, PERSONAS, visible_text
from ..staff_factory import BASE_TIME, add_submissions, audit_rows, csrf
from ..staff_helpers import make_staff, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")
RANGE = "from=2025-03-01&to=2025-03-31"
START, END = BASE_TIME.replace(day=1, hour=0), BASE_TIME.replace(day=31, hour=0) + timedelta(days=1)
G6PD_UNSURE = {**NO_FLAGS, "g6pd_deficiency": "not_sure"}
BOTH_UNSURE = {**NO_FLAGS, "g6pd_deficiency": "not_sure", "hole_in_heart": "not_sure"}
UNANSWERED = {k: v for k, v in NO_FLAGS.items() if k != "hole_in_heart"}


def signed_in_as(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    email = f"{role}@clinic.example"
    assert sign_in(client, email, make_staff(app, email, role)).status_code == 302
    return client


def seed(app: Flask) -> None:
    add_submissions(
        app,
        [
            {"persona": "none", "created_at": BASE_TIME},
            {"answers": G6PD_UNSURE, "created_at": BASE_TIME + timedelta(days=1)},
            {"answers": BOTH_UNSURE, "created_at": BASE_TIME + timedelta(days=8), "language": "es"},
            {"persona": "discuss_before_booking", "created_at": BASE_TIME + timedelta(days=2), "language": "es"},
            {"persona": "urgent", "created_at": BASE_TIME + timedelta(days=3)},
            {"answers": UNANSWERED, "created_at": BASE_TIME + timedelta(days=15)},
            # Outside the range: counted nowhere.
            {"answers": BOTH_UNSURE, "created_at": BASE_TIME - timedelta(days=60)},
            {"persona": "urgent", "created_at": BASE_TIME + timedelta(days=40)},
        ],
    )


def in_range(app: Flask) -> list[Submission]:
    with app.app_context():
        rows = list(
            db.session.scalars(select(Submission).where(Submission.created_at >= START, Submission.created_at < END))
        )
        for row in rows:
            _ = row.answers, row.fired
            db.session.expunge(row)
        return rows


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.content_type.startswith("text/csv")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_figures_match_counts_made_from_the_database(app: Flask) -> None:
    seed(app)
    subs = in_range(app)
    assert len(subs) == 6
    client = signed_in_as(app, "clinician")
    page = client.get(f"/staff/report/?{RANGE}")
    assert page.status_code == 200
    text = visible_text(page.get_data(as_text=True))
    assert "6 submissions" in text

    levels = {row[0]: int(row[1]) for row in read_csv(client.get(f"/staff/report/levels.csv?{RANGE}"))[1:]}
    expected = Counter(s.level for s in subs)
    assert {k.lower().replace(" ", "_"): v for k, v in levels.items() if v} == dict(expected)
    held = expected["urgent"] + expected["discuss_before_booking"]
    assert f"held for a call before booking ({held} of 6" in text

    weeks = read_csv(client.get(f"/staff/report/weeks.csv?{RANGE}"))
    assert sum(int(r[-1]) for r in weeks[1:]) == 6
    by_week = {r[0]: int(r[-1]) for r in weeks[1:]}
    assert by_week["2025-03-03"] == 4 and by_week["2025-03-10"] == 1 and by_week["2025-03-17"] == 1

    # Rules: counted here from the fired lists (decrypted), not from the keyed index the page uses.
    fired = Counter(f["id"] for s in subs for f in s.fired)
    rules = {r[0]: int(r[3]) for r in read_csv(client.get(f"/staff/report/rules.csv?{RANGE}"))[1:]}
    assert {k: v for k, v in rules.items() if v} == dict(fired)
    assert fired["r_g6pd_unknown"] == 2
    with app.app_context():  # the index holds keyed values, never a rule id
        assert not any(v.startswith("r_") for v in db.session.scalars(select(SubmissionRule.rule_id)))
    assert "r_g6pd_unknown" in text and "G6PD status: answered not sure; no blood drip (MAH) planned." in text

    questions = {r[0]: r for r in read_csv(client.get(f"/staff/report/questions.csv?{RANGE}"))[1:]}
    unsure = Counter(q for s in subs for q, v in s.answers.items() if v == "not_sure")
    assert int(questions["g6pd_deficiency"][3]) == unsure["g6pd_deficiency"] == 2
    assert int(questions["hole_in_heart"][3]) == unsure["hole_in_heart"] == 1
    assert int(questions["hole_in_heart"][5]) == 1  # the form that left it unanswered
    shown_g6pd = int(questions["g6pd_deficiency"][2])
    assert shown_g6pd == len(subs) == 6  # every form reached that page (none stopped early)
    assert questions["g6pd_deficiency"][4] == f"{100 * 2 / shown_g6pd:.1f}%"

    languages = {r[0]: r for r in read_csv(client.get(f"/staff/report/languages.csv?{RANGE}"))[1:]}
    assert int(languages["es"][1]) == sum(s.language == "es" for s in subs) == 2
    assert int(languages["en"][1]) == 4
    assert int(languages["es"][5].rstrip("%").split(".")[0]) == 50  # one of the two Spanish forms
    assert "computed from the answers themselves" in text


def test_above_the_sample_size_the_shares_come_from_one_submission_in_n_and_the_page_says_so(make_app: Any) -> None:
    """Six submissions in the range, at most two answer sets read per view: one in three, chosen by
    id; the counts that need no answer still cover all six."""
    app = make_app(REPORT_ANSWER_SAMPLE=2)
    seed(app)
    subs = in_range(app)
    sample = [s for s in subs if s.id % 3 == 0]
    assert 0 < len(sample) < len(subs) == 6
    client = signed_in_as(app, "clinician")
    text = visible_text(client.get(f"/staff/report/?{RANGE}").get_data(as_text=True))
    said = "this range holds 6 submissions, so they come from an evenly spread sample of one submission in 3"
    assert f"{said} ({len(sample)} forms)" in text

    questions = {r[0]: r for r in read_csv(client.get(f"/staff/report/questions.csv?{RANGE}"))[1:]}
    assert int(questions["g6pd_deficiency"][2]) == len(sample)
    assert int(questions["g6pd_deficiency"][3]) == sum(s.answers.get("g6pd_deficiency") == "not_sure" for s in sample)
    languages = {r[0]: r for r in read_csv(client.get(f"/staff/report/languages.csv?{RANGE}"))[1:]}
    assert sum(int(r[1]) for r in languages.values()) == 6  # submissions: every one
    assert sum(int(r[4]) for r in languages.values()) == len(sample)  # forms read: the sample


def test_charts_are_inline_svg_with_a_title_and_no_style_attribute(app: Flask) -> None:
    seed(app)
    html = signed_in_as(app, "admin").get(f"/staff/report/?{RANGE}").get_data(as_text=True)
    assert html.count("<svg") == 3 and html.count('role="img"') == 3
    assert "style=" not in html and "<script" not in html.split("</header>")[-1]
    assert re.search(r'<title id="chart-weeks-title">', html)


def test_front_desk_is_refused_and_the_link_shows_only_to_clinicians_and_administrators(app: Flask) -> None:
    desk = signed_in_as(app, "front_desk")
    assert desk.get("/staff/report/").status_code == 403
    assert desk.get("/staff/report/levels.csv").status_code == 403
    assert "/staff/report/" not in desk.get("/staff/").get_data(as_text=True)
    assert [e.detail for e in audit_rows(app, "forbidden")] == ["/staff/report/", "/staff/report/levels.csv"]
    for role in ("clinician", "admin"):
        client = signed_in_as(app, role)
        assert 'href="/staff/report/"' in client.get("/staff/").get_data(as_text=True)
        assert client.get("/staff/report/").status_code == 200
    assert app.test_client().get("/staff/report/").status_code == 302  # signed out: to sign-in


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2025-02-30&to=2025-03-31", "The start date 2025-02-30 does not exist"),
        ("from=2025-03-31&to=2025-03-01", "The start date 2025-03-31 is after the end date 2025-03-01"),
        ("from=yesterday", "is not a date"),
        ("from=1999-01-01&to=2025-01-01", "Choose dates between 2000-01-01 and today"),
        ("from=2015-01-01&to=2025-01-01", "Choose a range of at most"),
    ],
)
def test_impossible_or_reversed_ranges_are_refused_with_a_message(app: Flask, query: str, message: str) -> None:
    client = signed_in_as(app, "clinician")
    response = client.get(f"/staff/report/?{query}")
    assert response.status_code == 400
    assert message in visible_text(response.get_data(as_text=True))
    assert client.get(f"/staff/report/levels.csv?{query}").status_code == 400


def test_the_default_range_is_the_last_90_days(app: Flask) -> None:
    from questionnaire.data.models import utcnow

    today = utcnow().date()
    text = visible_text(signed_in_as(app, "clinician").get("/staff/report/").get_data(as_text=True))
    assert f"{today - timedelta(days=89)} to {today}: 0 submissions" in text


def test_csv_downloads_are_audited_and_count_against_the_bulk_export_limit(make_app: Any) -> None:
    app = make_app(RATELIMIT_ENABLED=True, BULK_EXPORT_LIMIT="2 per hour")
    seed(app)
    client = signed_in_as(app, "admin")
    for _ in range(3):  # the page itself is not a download
        assert client.get(f"/staff/report/?{RANGE}").status_code == 200
    read_csv(client.get(f"/staff/report/rules.csv?{RANGE}"))
    read_csv(client.get("/staff/admin/audit?format=csv"))
    assert client.get(f"/staff/report/levels.csv?{RANGE}").status_code == 429
    assert [e.detail for e in audit_rows(app, "export_report")] == ["table=rules from=2025-03-01 to=2025-03-31"]
    assert len(audit_rows(app, "view_report")) == 3


def candidate_text(old: str, new: str) -> str:
    """The app's rules file with one edit, without its example cases (which pin today's levels)."""
    text = Path(DEFAULT_PATH).read_text(encoding="utf-8").split("\nexamples:")[0] + "\n"
    assert text.count(old) == 1
    return text.replace(old, new)


G6PD_RULE = "  - id: r_g6pd_unknown\n    level: mention_at_consultation\n"


def upload(client: FlaskClient, text: str, name: str = "candidate.yaml") -> Any:
    token = csrf(client, "/staff/")  # the queue: every role's, so a refused role gets as far as the POST
    return client.post(
        "/staff/report/replay",
        data={
            "csrf_token": token,
            "from": "2025-03-01",
            "to": "2025-03-31",
            "candidate": (io.BytesIO(text.encode()), name),
        },
        content_type="multipart/form-data",
    )


def test_a_candidate_that_changes_one_rules_level_shows_the_change(app: Flask) -> None:
    seed(app)
    client = signed_in_as(app, "clinician")
    response = upload(
        client, candidate_text(G6PD_RULE, G6PD_RULE.replace("mention_at_consultation", "discuss_before_booking"))
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = visible_text(html)
    assert "6 submissions replayed; 2 would change level" in text  # the two forms unsure of G6PD
    moves = html.split('id="replay-levels"')[1].split("</table>")[0]
    assert re.search(r"<td>Mention at consultation</td><td>Discuss before booking</td><td>2</td>", moves)
    rules = html.split('id="replay-rules"')[1].split("</table>")[0].replace("<wbr>", "")  # ids read whole
    assert "r_g6pd_unknown" in rules and "level changed" in rules and "r_bleeding_disorder" not in rules
    [event] = audit_rows(app, "rules_replay")
    assert event.actor == "clinician@clinic.example" and "6 submissions, 2 level changes" in (event.detail or "")


def test_a_broken_candidate_shows_the_loaders_error_with_its_line(app: Flask) -> None:
    client = signed_in_as(app, "admin")
    broken = candidate_text(G6PD_RULE, G6PD_RULE.replace("mention_at_consultation", "soon"))
    line = broken.split("  - id: r_g6pd_unknown\n")[0].count("\n") + 2
    response = upload(client, broken, "my rules.yaml")
    assert response.status_code == 400
    text = visible_text(response.get_data(as_text=True))
    assert f"my_rules.yaml:{line}: rule r_g6pd_unknown:" in text and "soon" in text
    assert "/tmp" not in text and "candidate_rules_" not in text
    assert len(audit_rows(app, "rules_replay_refused")) == 1
    assert upload(client, "ruleset: [unclosed\n").status_code == 400
    assert client.post("/staff/report/replay", data={"from": "2025-03-01", "to": "2025-03-31"}).status_code == 400


def test_front_desk_cannot_replay(app: Flask) -> None:
    desk = signed_in_as(app, "front_desk")
    assert upload(desk, "ruleset: {}\n").status_code == 403
    assert PERSONAS  # the personas the factory uses
