"""The medical director's report (issue 19): levels per week, rule firing rates, "Not sure" and
unanswered shares per question, languages; a dry run of a candidate rules file on the same range.

For clinicians and administrators. The figures are counts (core.report does the sums, data.report the
queries); each chart (core.charts) has the same figures as a table and as a CSV download, which is
audited and counted against the bulk-export limit like the staff exports.
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from markupsafe import Markup

from questionnaire.core import charts, replay
from questionnaire.core import report as figures_of
from questionnaire.core.rules import Ruleset, RulesFileError, load_ruleset
from questionnaire.data import report as queries
from questionnaire.data import store
from questionnaire.data.enums import StaffRole
from questionnaire.data.models import utcnow
from questionnaire.operations.submissions import record_access
from questionnaire.web.security import BadInput
from questionnaire.web.staff import staff_context
from questionnaire.web.staff_admin import bulk_export_limit
from questionnaire.web.staff_session import Reply, client_ip, staff_required

bp = Blueprint("report", __name__, url_prefix="/staff/report")
bp.context_processor(staff_context)
ROLES = (StaffRole.CLINICIAN, StaffRole.ADMIN)
# Answers decrypted per page view at most: above it, an evenly spread sample (the page says so).
ANSWER_SAMPLE = 5_000
# Submissions a candidate rules file is replayed on from the page at most (the CLI has no limit).
REPLAY_LIMIT = 10_000
UPLOAD_BYTES = 512 * 1024
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
TABLES = ("levels", "weeks", "rules", "questions", "languages")


@bp.url_value_preprocessor
def allow_rules_file_upload(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A rules file is larger than any form (MAX_CONTENT_LENGTH): the candidate upload alone may send
    up to UPLOAD_BYTES. Set before any hook reads the body (URL preprocessors run first)."""
    if endpoint == "report.replay_candidate":
        request.max_content_length = UPLOAD_BYTES


def level_title(level: str) -> str:
    return level.replace("_", " ").capitalize()


@dataclass
class Report:
    period: figures_of.Period
    levels: figures_of.LevelFigures
    rules: list[figures_of.RuleRow]
    questions: list[figures_of.QuestionRow]
    tally: figures_of.QuestionTally
    sampled_every: int

    def tables(self) -> dict[str, tuple[str, list[str], list[list[Any]]]]:
        """name -> (caption, header, rows): what the page's tables and the CSV downloads both show."""
        total, lv = self.levels.total, self.levels
        return {
            "levels": (
                "Submissions per level",
                ["level", "submissions", "share"],
                [
                    [level_title(x), lv.by_level.get(x, 0), figures_of.percent(lv.by_level.get(x, 0), total)]
                    for x in lv.levels
                ],
            ),
            "weeks": (
                "Submissions per week and level",
                ["week starting", *map(level_title, lv.levels), "total"],
                [[w.isoformat(), *(c.get(x, 0) for x in lv.levels), n] for w, c, n in lv.week_rows()],
            ),
            "rules": (
                "How often each rule fired",
                ["rule id", "level", "description", "submissions", "rate"],
                [
                    [r.rule_id, level_title(r.level), r.description, r.fired, figures_of.percent(r.fired, r.total)]
                    for r in self.rules
                ],
            ),
            "questions": (
                "\u201cNot sure\u201d and unanswered per question",
                ["question id", "question", "shown", "not sure", "not sure share", "unanswered", "unanswered share"],
                [
                    [
                        q.question_id,
                        q.text,
                        q.shown,
                        q.not_sure if q.offers_not_sure else "",
                        figures_of.percent(q.not_sure, q.shown) if q.offers_not_sure else "no such choice",
                        q.unanswered,
                        figures_of.percent(q.unanswered, q.shown),
                    ]
                    for q in self.questions
                ],
            ),
            "languages": (
                "Submissions by language",
                [
                    "language",
                    "submissions",
                    "held for a call",
                    "held share",
                    "forms read",
                    "forms with a \u201cNot sure\u201d",
                ],
                [
                    [
                        lang,
                        n,
                        held,
                        figures_of.percent(held, n),
                        self.tally.forms_by_language.get(lang, 0),
                        figures_of.percent(
                            self.tally.unsure_forms_by_language.get(lang, 0), self.tally.forms_by_language.get(lang, 0)
                        ),
                    ]
                    for lang, n, held in lv.language_rows()
                ],
            ),
        }

    def charts(self) -> dict[str, Markup]:
        lv, total = self.levels, self.levels.total
        weeks = sorted(lv.by_week)
        top_questions = [q for q in self.questions if q.offers_not_sure][:15]
        return {
            # charts.* escape every text they draw (core/charts.py): their SVG is markup.
            "weeks": Markup(
                charts.stacked_weeks(  # nosec B704
                    "chart-weeks",
                    "Submissions per week, by level",
                    f"{total} submissions from {self.period.start} to {self.period.end}; "
                    "the table below gives each week.",
                    weeks,
                    lv.by_week,
                    lv.levels,
                    {x: level_title(x) for x in lv.levels},
                )
            ),
            "rules": Markup(
                charts.bar_chart(  # nosec B704
                    "chart-rules",
                    "Share of submissions on which each rule fired",
                    "The rules that fired most often; the table below lists every rule.",
                    [(r.rule_id, r.rate, figures_of.percent(r.fired, r.total)) for r in self.rules if r.fired][:20],
                )
            ),
            "questions": Markup(
                charts.bar_chart(  # nosec B704
                    "chart-questions",
                    "Share of \u201cNot sure\u201d answers per question",
                    "The questions answered \u201cNot sure\u201d most often, as a share of the times they were shown; "
                    "the table below lists every question.",
                    [
                        (q.question_id, figures_of.share(q.not_sure, q.shown), figures_of.percent(q.not_sure, q.shown))
                        for q in top_questions
                    ],
                )
            ),
        }


def ruleset() -> Ruleset:
    rs: Ruleset = current_app.extensions["ruleset"]
    return rs


def chosen_period() -> figures_of.Period:
    source = request.form if request.method == "POST" else request.args
    try:
        return figures_of.parse_period(source.get("from"), source.get("to"), utcnow().date())
    except figures_of.PeriodError as exc:
        raise BadInput(str(exc)) from None


def build(period: figures_of.Period, answers: bool = True) -> Report:
    """The figures of a period; without `answers`, no answer is read (the tables that need none)."""
    rs = ruleset()
    start, end = period.start_moment, period.end_moment
    levels = figures_of.tally_days(
        queries.level_language_days(start, end), period, [lv.id for lv in rs.levels] + ["none"]
    )
    counts = queries.rule_counts_between([r.id for r in rs.rules], start, end)
    limit = int(current_app.config.get("REPORT_ANSWER_SAMPLE") or ANSWER_SAMPLE)
    every = max(1, math.ceil(levels.total / limit))
    tally = figures_of.QuestionTally(rs.questionnaire)
    for stored, stopped_early, language in queries.answers_between(start, end, every) if answers else ():
        tally.add(stored, stopped_early, language)
    return Report(period, levels, figures_of.rule_rows(rs.rules, counts, levels.total), tally.rows(), tally, every)


def page(period: figures_of.Period, status: int = 200, report: Report | None = None, **extra: Any) -> tuple[str, int]:
    report = report or build(period)
    return render_template(
        "staff/report.html",
        report=report,
        tables=report.tables(),
        charts=report.charts(),
        period=period,
        replay_limit=REPLAY_LIMIT,
        **extra,
    ), status


@bp.get("/")
@staff_required(*ROLES)
def report() -> Reply:
    try:
        period = chosen_period()
    except BadInput as exc:
        # The form again, with the message, and no figures.
        return render_template(
            "staff/report.html",
            report=None,
            period=None,
            range_error=exc.description,
            chosen=request.args,
            replay_limit=REPLAY_LIMIT,
        ), 400
    record_access("view_report", actor=g.staff.email, ip=client_ip(), detail=f"from={period.start} to={period.end}")
    return page(period)


@bp.get("/<any(levels, weeks, rules, questions, languages):table>.csv")
@staff_required(*ROLES)
@bulk_export_limit()
def csv_download(table: str) -> Reply:
    period = chosen_period()
    caption, header, rows = build(period, answers=table in ("questions", "languages")).tables()[table]
    record_access(
        "export_report",
        actor=g.staff.email,
        ip=client_ip(),
        detail=f"table={table} from={period.start} to={period.end}",
    )
    response = Response(figures_of.csv_text(header, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename=report-{table}-{period.start}-{period.end}.csv"
    return response


def load_candidate(upload: Any) -> tuple[Ruleset | None, str, list[str]]:
    """The uploaded rules file through the app's loader: (rule set or None, shown name, errors as
    NAME:LINE: rule ID: message)."""
    name = SAFE_NAME.sub("_", Path(upload.filename or "candidate.yaml").name)[:80] or "candidate.yaml"
    with tempfile.TemporaryDirectory(prefix="candidate_rules_") as folder:
        path = Path(folder) / name
        upload.save(path)
        try:
            return load_ruleset(path), name, []
        except RulesFileError as exc:
            return None, name, [f"{name}:{e.line}: rule {e.rule or '-'}: {e.message}" for e in exc.errors]


@bp.post("/replay")
@staff_required(*ROLES)
def replay_candidate() -> Reply:
    period = chosen_period()
    upload = request.files.get("candidate")
    if upload is None or not upload.filename:
        return page(period, 400, replay_errors=["Choose a rules file (YAML) to try."])
    candidate, name, errors = load_candidate(upload)
    if candidate is None:
        record_access(
            "rules_replay_refused", actor=g.staff.email, ip=client_ip(), detail=f"{name}: {len(errors)} error(s)"[:500]
        )
        return page(period, 400, replay_errors=errors, candidate_name=name)
    report = build(period)
    if report.levels.total > REPLAY_LIMIT:
        errors = [
            f"The range holds {report.levels.total} submissions; the page replays at most {REPLAY_LIMIT}. "
            "Choose a shorter range, or run flask rules replay on the server."
        ]
        return page(period, 400, report, replay_errors=errors, candidate_name=name)
    result = replay.replay(store.submissions_for_export(period.start_moment, period.end_moment), ruleset(), candidate)
    record_access(
        "rules_replay",
        actor=g.staff.email,
        ip=client_ip(),
        detail=(
            f"{name} version {candidate.version} sha256 {candidate.sha256[:12]} from={period.start} "
            f"to={period.end}: {result.total} submissions, {result.level_changes} level changes"
        )[:500],
    )
    moves = [(level_title(a), level_title(b), len(refs)) for (a, b), refs in result.level_moves.items()]
    return page(period, 200, report, replay_result=result, candidate_name=name, candidate=candidate, replay_moves=moves)


def csv_url(table: str, period: figures_of.Period) -> str:
    args: dict[str, Any] = period.as_args()
    return url_for("report.csv_download", table=table, **args)


bp.add_app_template_global(csv_url, "report_csv_url")
