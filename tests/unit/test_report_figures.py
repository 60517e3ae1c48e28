"""The report's pure parts (questionnaire/core/report.py, charts.py): ranges, weeks, tallies, SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from questionnaire.core import charts
from questionnaire.core import report as r
from questionnaire.core.definition import QUESTIONNAIRE

from ..helpers import NO_FLAGS

TODAY = date(2025, 6, 30)


def test_the_default_range_is_the_last_90_days_up_to_today_or_the_end_given() -> None:
    assert r.parse_period(None, None, TODAY) == r.Period(date(2025, 4, 2), TODAY)
    assert r.parse_period("", "2025-03-31", TODAY) == r.Period(date(2025, 1, 1), date(2025, 3, 31))
    assert r.parse_period("2025-06-01", "", TODAY).days == 30


@pytest.mark.parametrize(
    "start, end, message",
    [
        ("2025-02-29", "2025-03-01", "does not exist"),
        ("2025-3-1", None, "is not a date"),
        ("2025-05-02", "2025-05-01", "is after the end date"),
        ("1999-12-31", "2000-01-05", "between"),
        ("2020-01-01", "2025-01-01", "at most"),
        (None, "9999-12-31", "between"),
    ],
)
def test_impossible_reversed_or_too_long_ranges_are_refused(start: str | None, end: str | None, message: str) -> None:
    with pytest.raises(r.PeriodError, match=message):
        r.parse_period(start, end, TODAY)


def test_days_fold_into_iso_weeks_levels_and_languages() -> None:
    period = r.Period(date(2025, 3, 1), date(2025, 3, 16))
    assert r.weeks(period) == [date(2025, 2, 24), date(2025, 3, 3), date(2025, 3, 10)]
    figures = r.tally_days(
        [
            (date(2025, 3, 1), "urgent", "en", 2),
            ("2025-03-03", "none", "es", 3),
            (date(2025, 3, 9), "discuss_before_booking", "en", 1),
            (date(2025, 3, 16), "old", "en", 1),
        ],
        period,
        ["urgent", "discuss_before_booking", "none"],
    )
    assert figures.total == 7 and figures.held == 3
    assert figures.levels == ("urgent", "discuss_before_booking", "none", "old")
    assert [(w.isoformat(), n) for w, _c, n in figures.week_rows()] == [
        ("2025-02-24", 2),
        ("2025-03-03", 4),
        ("2025-03-10", 1),
    ]
    assert figures.language_rows() == [("en", 4, 3), ("es", 3, 0)]
    assert r.percent(1, 3) == "33.3%" and r.percent(0, 0) == "\u2013"


def test_a_rule_is_described_by_the_first_sentence_of_its_staff_note() -> None:
    assert r.first_sentence("G6PD status: not sure. Check before MAH.\nMore.") == "G6PD status: not sure."
    assert r.first_sentence("No full stop") == "No full stop"


def test_the_question_tally_counts_not_sure_and_unanswered_only_where_shown() -> None:
    tally = r.QuestionTally(QUESTIONNAIRE)
    tally.add({**NO_FLAGS, "g6pd_deficiency": "not_sure"}, language="en")
    tally.add({k: v for k, v in NO_FLAGS.items() if k != "hole_in_heart"}, language="es")
    tally.add({"chest_pain_now": "yes"}, stopped_early=True, language="en")  # stopped on the first page
    rows = {row.question_id: row for row in tally.rows()}
    assert rows["g6pd_deficiency"].shown == 2 and rows["g6pd_deficiency"].not_sure == 1
    assert rows["hole_in_heart"].unanswered == 1 and rows["hole_in_heart"].shown == 2
    assert rows["chest_pain_now"].shown == 3
    assert "blood_thinner_name" not in rows  # a follow-up never shown
    assert tally.rows()[0].question_id == "g6pd_deficiency"
    assert tally.unsure_forms_by_language == {"en": 1} and tally.forms_by_language == {"en": 2, "es": 1}


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    assert r.csv_text(["a", "b"], [["=SUM(A1)", 3]]).splitlines() == ["a,b", "'=SUM(A1),3"]


def test_charts_are_well_formed_svg_with_a_title_escaped_text_and_no_style() -> None:
    bar = charts.bar_chart("c1", "Rules <&>", "desc", [("r_<x>", 0.5, "50.0%"), ("r_y", 2.0, "200%")])
    weeks = charts.stacked_weeks(
        "c2",
        "Weeks",
        "desc",
        [date(2025, 3, 3), date(2025, 3, 10)],
        {date(2025, 3, 3): {"urgent": 2, "none": 1}},
        ["urgent", "none"],
        {"urgent": "Urgent", "none": "No flags"},
    )
    for svg in (bar, weeks, charts.bar_chart("c3", "Empty", "desc", [])):
        root = ET.fromstring(svg)
        assert root.get("role") == "img" and "style" not in svg
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
    assert "Rules &lt;&amp;&gt;" in bar and "r_&lt;x&gt;" in bar
    root = ET.fromstring(bar)
    widths = [float(e.get("width") or 0) for e in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert widths[1] == charts.WIDTH - 260 - 90 and widths[0] == widths[1] / 2  # capped at 100 %
    assert weeks.count('fill="#d4351c"') == 2  # one bar segment and the legend
