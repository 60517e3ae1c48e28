#!/usr/bin/env python3
"""Benchmark: the staff queue at 10,000 and at 1,000,000 submissions, on SQLite and on PostgreSQL.

    .venv/bin/python bench/bench_queue.py               # full run: 10,000 and 1,000,000 rows per database
    .venv/bin/python bench/bench_queue.py --quick       # smoke run: 1,000 and 5,000 rows
    .venv/bin/python bench/bench_queue.py --explain     # also print the query plans of every view

For each database a generator script fills two fresh databases (migrated by the project's Alembic
migrations) with the two sizes: bulk inserts (executemany on SQLite without journal or fsync during
the load; COPY on PostgreSQL with foreign-key checks off during the load, checked by one query
afterwards, and the unique constraints rebuilt) with the secondary indexes dropped during the load
and re-created from their own definitions afterwards.
Every row reuses ONE pre-encrypted answers blob (a complete answer set, as a real row holds); the
levels, fired rules (one pre-encrypted `fired` blob per profile) and statuses are drawn from
profiles made by the real rule set: the no-flags answers with 0 to 3 answers changed to "yes",
judged by `Ruleset.evaluate`. Each row gets its submission_rules rows (with level_rank and
created_at, as store.submit writes them) and queue_counts is computed from the rows. The same seed
gives the same data on both databases. PostgreSQL gets VACUUM ANALYZE after the load (autovacuum
would do it soon after a real bulk load); SQLite gets nothing, as the app runs it.

The views are timed through the real view (Flask test client signed in as front-desk staff,
rendering included), the 10,000 and the 1,000,000 database alternately, median of the runs:
  first page        /staff/?status=any (the queue opens on new submissions; "any" lists them all)
  status=new        /staff/?status=new
  rule filter       /staff/?status=any&rule=r_blood_thinner_injection
  page 500          /staff/?status=any&after=CURSOR: the keyset page after row 12,500 (at 10,000
                    rows, where there is no page 500, after row 9,950, the deepest full page); the
                    cursor is computed once, untimed
  middle page       the same after the middle row (5,000 / 500,000): context, no target; it shows
                    that a keyset page costs the same at any depth
  search phone      /staff/search?q=<a row's phone number, spaced>: one keyed term, one index range (issue 16)
  search name       /staff/search?q=<a surname>: the newest 50 of a term's range
  search two words  /staff/search?q=<first name> <surname>: the rows of both terms counted per submission
                    (context: grows with how common the words are, not with the table)
The search index (submission_search) gets three keyed terms per row after the load: a first name of 97,
a surname of 1,009 and a 9-digit phone number of its own (load_search).
Target (issue 9): time at 1,000,000 / time at 10,000 <= 1.5 for each view; printed last.
Generating 1,000,000 rows should take well under 3 minutes per database.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _common as c

from questionnaire.core.rules import Ruleset  # noqa: E402
from tests.helpers import NO_FLAGS  # noqa: E402
from tests.servers import app_config  # noqa: E402

TARGET = 1.5
DEEP_ROW = 12_500
RULE_FILTER = "r_blood_thinner_injection"
STAFF_EMAIL = "desk@clinic.example"
CHUNK = 20_000
SPAN = timedelta(days=3 * 365)  # the rows are spread over three years, up to now
STATUS_COLUMNS = ("new", "contacted", "with_clinician", "discussed", "closed")
SUBMISSION_COLUMNS = (
    "id",
    "reference",
    "draft_token_hash",
    "answers",
    "level",
    "level_rank",
    "fired",
    "ruleset_version",
    "ruleset_sha256",
    "language",
    "stopped_early",
    "created_at",
    "status",
    "status_by",
    "status_at",
    "version",
)
RULE_COLUMNS = ("submission_id", "rule_id", "level_rank", "created_at")
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # as store.new_reference


# --- profiles: what a row's answers fired, made by the real rule set ---------------------------------


@dataclass(frozen=True)
class Profile:
    level: str
    rank: int
    fired_blob: str  # pre-encrypted, as the Encrypted column stores it
    rules: tuple[str, ...]  # the keyed values stored in submission_rules.rule_id (crypto.Keyring.keyed)
    stopped_early: bool


def make_profiles(app: Any, seed: int) -> tuple[list[Profile], list[float], str]:
    """Profiles with weights (0 changed answers: half the rows; 1: 30 %; 2: 15 %; 3: 5 %) and the
    one encrypted answers blob every row reuses."""
    from questionnaire.core import flow
    from questionnaire.data import crypto, store

    rs: Ruleset = app.extensions["ruleset"]
    rng = random.Random(seed)
    flippable = sorted(q for q, v in NO_FLAGS.items() if v == "no")
    with app.app_context():
        ring = crypto.keyring()

        def encrypt(value: Any) -> str:
            import json

            return ring.encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

        answers_blob = encrypt(flow.visible_answers(dict(NO_FLAGS)))
        seen: dict[tuple[str, tuple[str, ...], bool], Profile] = {}
        weights: Counter[tuple[str, tuple[str, ...], bool]] = Counter()
        for changed, share in ((0, 0.50), (1, 0.30), (2, 0.15), (3, 0.05)):
            draws = 1 if changed == 0 else 60 * changed
            for _ in range(draws):
                answers = dict(NO_FLAGS)
                for q in rng.sample(flippable, changed):
                    answers[q] = "yes"
                urgent_page = any(
                    answers[q] == "yes" for q in ("chest_pain_now", "breathing_trouble_now", "stroke_signs_now")
                )
                assessment = rs.evaluate(answers, upto="urgent" if urgent_page else None)
                key = (assessment.level, tuple(assessment.rule_ids), urgent_page)
                if key not in seen:
                    seen[key] = Profile(
                        assessment.level,
                        rs.rank(assessment.level),
                        encrypt([store.fired_to_json(f) for f in assessment.fired]),
                        tuple(ring.keyed("rule", r) for r in assessment.rule_ids),
                        urgent_page,
                    )
                weights[key] += share / draws
    keys = list(seen)
    return [seen[k] for k in keys], [weights[k] for k in keys], answers_blob


def reference_of(i: int) -> str:
    """A unique reference number per row id (a bijection of the id, spelt as store.new_reference)."""
    x = (i * 2_654_435_761) % (31**8)
    chars = []
    for _ in range(8):
        x, r = divmod(x, 31)
        chars.append(REFERENCE_ALPHABET[r])
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def status_for(rng: random.Random, age: timedelta) -> str:
    if age < timedelta(days=2):
        return rng.choices(STATUS_COLUMNS, (70, 20, 5, 3, 2))[0]
    if age < timedelta(days=30):
        return rng.choices(STATUS_COLUMNS, (10, 30, 10, 20, 30))[0]
    return rng.choices(STATUS_COLUMNS, (0.3, 0.7, 0.5, 25, 73.5))[0]


def rows(
    n: int, profiles: list[Profile], weights: list[float], answers_blob: str, rs: Ruleset, seed: int, now: datetime
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (submission rows, submission_rules rows), ids 1..n, oldest first; created_at aware UTC."""
    rng = random.Random(seed)
    start = now - SPAN
    step = SPAN / n
    for first in range(1, n + 1, CHUNK):
        ids = range(first, min(n, first + CHUNK - 1) + 1)
        chosen = rng.choices(profiles, weights, k=len(ids))
        subs: list[tuple[Any, ...]] = []
        rules: list[tuple[Any, ...]] = []
        for i, p in zip(ids, chosen):
            created = start + step * (i - 1) + timedelta(microseconds=rng.randrange(1, 1000))
            status = status_for(rng, now - created)
            later = status != "new"
            subs.append(
                (
                    i,
                    reference_of(i),
                    hashlib.sha256(b"bench-draft-%d" % i).hexdigest(),
                    answers_blob,
                    p.level,
                    p.rank,
                    p.fired_blob,
                    rs.version,
                    rs.sha256,
                    "es" if i % 7 == 0 else "en",
                    p.stopped_early,
                    created,
                    status,
                    STAFF_EMAIL if later else None,
                    created + timedelta(hours=20) if later else None,
                    2 if later else 1,
                )
            )
            rules.extend((i, rule_id, p.rank, created) for rule_id in p.rules)
        yield subs, rules


# --- loading: SQLite ----------------------------------------------------------------------------


def sqlite_datetime(value: datetime) -> str:
    """What SQLAlchemy stores for a UTCDateTime on SQLite (checked against its bind processor once)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def check_sqlite_datetime_format() -> None:
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from questionnaire.data.models import Submission

    dialect = sqlite_dialect.dialect()
    column_type = Submission.__table__.c.created_at.type
    process = column_type._cached_bind_processor(dialect)  # the TypeDecorator and the SQLite DATETIME
    sample = datetime(2025, 3, 3, 8, 0, 1, 5, tzinfo=UTC)
    stored = process(sample) if process else sample
    if stored != sqlite_datetime(sample):
        raise AssertionError(f"SQLite datetime format {stored!r} != {sqlite_datetime(sample)!r}")


def load_sqlite(
    path: Path, chunks: Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]], counts: Counter[tuple[str, str]]
) -> int:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # Generation only, on this connection: no journal, no fsync (the app's own connections are
        # unchanged); the file goes back to the write-ahead log the app uses afterwards.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-400000")
        conn.execute("PRAGMA foreign_keys=OFF")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND "
            "tbl_name IN ('submissions', 'submission_rules') AND name LIKE 'ix_%'"
        ).fetchall()
        conn.execute("BEGIN")
        for name, _sql in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        sub_sql = f"INSERT INTO submissions ({', '.join(SUBMISSION_COLUMNS)}) VALUES ({', '.join('?' * 16)})"
        rule_sql = f"INSERT INTO submission_rules ({', '.join(RULE_COLUMNS)}) VALUES (?, ?, ?, ?)"
        total = 0
        for subs, rules in chunks:
            for s in subs:
                counts[(s[4], s[12])] += 1
            conn.executemany(
                sub_sql,
                [
                    s[:10]
                    + (
                        int(s[10]),
                        sqlite_datetime(s[11]),
                        s[12],
                        s[13],
                        sqlite_datetime(s[14]) if s[14] else None,
                        s[15],
                    )
                    for s in subs
                ],
            )
            conn.executemany(rule_sql, [(r[0], r[1], r[2], sqlite_datetime(r[3])) for r in rules])
            total += len(subs)
        for _name, sql in indexes:
            conn.execute(sql)
        conn.executemany(
            "INSERT INTO queue_counts (level, status, n) VALUES (?, ?, ?)",
            [(lv, st, n) for (lv, st), n in counts.items()],
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
        return total
    finally:
        conn.close()


# --- loading: PostgreSQL ------------------------------------------------------------------------


def load_postgres(
    uri: str, chunks: Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]], counts: Counter[tuple[str, str]]
) -> int:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(uri)
    conninfo = {"host": url.host, "port": url.port or 5432, "user": url.username, "dbname": url.database}
    if url.password:
        conninfo["password"] = url.password
    total = 0
    with psycopg.connect(**conninfo) as conn:
        with conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET maintenance_work_mem = '256MB'")
            # The rule rows' foreign key is not checked row by row during the load (the rows are
            # consistent by construction; checked with one query afterwards). Needs a superuser.
            try:
                cur.execute("SET session_replication_role = replica")
            except psycopg.Error:
                conn.rollback()
            cur.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('submissions', "
                "'submission_rules') AND indexname LIKE 'ix\\_%'"
            )
            indexes = cur.fetchall()
            for name, _sql in indexes:
                cur.execute(f'DROP INDEX "{name}"')
            # The unique constraints (reference, draft) are rebuilt once after the load, not row by row.
            cur.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'submissions'::regclass AND contype = 'u'"
            )
            uniques = cur.fetchall()
            for name, _definition in uniques:
                cur.execute(f'ALTER TABLE submissions DROP CONSTRAINT "{name}"')
            with cur.copy(f"COPY submissions ({', '.join(SUBMISSION_COLUMNS)}) FROM STDIN") as copy_subs:
                rule_rows: list[tuple[Any, ...]] = []
                for subs, rules in chunks:
                    for s in subs:
                        counts[(s[4], s[12])] += 1
                        copy_subs.write_row(s)
                    rule_rows.extend(rules)
                    total += len(subs)
            with cur.copy(f"COPY submission_rules ({', '.join(RULE_COLUMNS)}) FROM STDIN") as copy_rules:
                for r in rule_rows:
                    copy_rules.write_row(r)
            for _name, sql in indexes:
                cur.execute(sql)
            for name, definition in uniques:
                cur.execute(f'ALTER TABLE submissions ADD CONSTRAINT "{name}" {definition}')
            cur.execute(
                "SELECT COUNT(*) FROM submission_rules r LEFT JOIN submissions s ON s.id = r.submission_id "
                "WHERE s.id IS NULL"
            )
            orphans = cur.fetchone()
            assert orphans is not None and orphans[0] == 0, f"{orphans} rule rows without their submission"
            cur.executemany(
                "INSERT INTO queue_counts (level, status, n) VALUES (%s, %s, %s)",
                [(lv, st, n) for (lv, st), n in counts.items()],
            )
            cur.execute("SELECT setval(pg_get_serial_sequence('submissions', 'id'), %s)", (max(total, 1),))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE submissions")
        conn.execute("VACUUM ANALYZE submission_rules")
        conn.execute("VACUUM ANALYZE queue_counts")
    return total


# --- the contact search's index (issue 16) -------------------------------------------------------

FIRST_NAMES, SURNAMES = 97, 1009


def search_words(i: int) -> tuple[str, str, str]:
    """Row i's first name, surname and phone number (9 digits, its own)."""
    return f"nombre{i % FIRST_NAMES}", f"apellido{(i // FIRST_NAMES) % SURNAMES}", f"6{i:08d}"


def load_search(ds: Dataset, app: Any) -> None:
    """Three keyed terms per submission (core/search.py's terms, keyed as the store keys them)."""
    from questionnaire.data import crypto

    with app.app_context():
        ring = crypto.keyring()

    def terms(i: int) -> list[str]:
        first, last, phone = search_words(i)
        return [ring.keyed("search", t) for t in ("name:" + first, "name:" + last, "phone9:" + phone)]

    if ds.kind == "sqlite":
        conn = sqlite3.connect(ds.uri.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("BEGIN")
            conn.execute("DROP INDEX ix_submission_search_term")
            last = 0
            while True:
                batch = conn.execute(
                    "SELECT id, created_at FROM submissions WHERE id > ? ORDER BY id LIMIT ?", (last, CHUNK)
                ).fetchall()
                if not batch:
                    break
                conn.executemany(
                    "INSERT INTO submission_search (submission_id, term, created_at) VALUES (?, ?, ?)",
                    [(i, t, created) for i, created in batch for t in terms(i)],
                )
                last = batch[-1][0]
            conn.execute(
                "CREATE INDEX ix_submission_search_term ON submission_search (term, created_at, submission_id)"
            )
            conn.execute("COMMIT")
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(ds.uri)
    conninfo = {"host": url.host, "port": url.port or 5432, "user": url.username, "dbname": url.database}
    with psycopg.connect(**conninfo) as conn:
        with conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET maintenance_work_mem = '256MB'")
            cur.execute("DROP INDEX ix_submission_search_term")
            cur.execute("SELECT id, created_at FROM submissions ORDER BY id")
            batch = cur.fetchall()
            with cur.copy("COPY submission_search (submission_id, term, created_at) FROM STDIN") as copy:
                for i, created in batch:
                    for t in terms(i):
                        copy.write_row((i, t, created))
            cur.execute("CREATE INDEX ix_submission_search_term ON submission_search (term, created_at, submission_id)")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE submission_search")


def search_views(ds: Dataset) -> dict[str, str]:
    first, last, phone = search_words(ds.size // 3)
    spaced = f"{phone[:3]}+{phone[3:6]}+{phone[6:]}"
    return {
        "search phone": f"/staff/search?q=%2B34+{spaced}",
        "search name": f"/staff/search?q={last}",
        "search two words": f"/staff/search?q={first}+{last}",
    }


def search_expected(ds: Dataset) -> dict[str, int]:
    first, last, _phone = search_words(ds.size // 3)
    with_last = [i for i in range(1, ds.size + 1) if search_words(i)[1] == last]
    both = [i for i in with_last if search_words(i)[0] == first]
    urls = list(search_views(ds).values())
    return {urls[0]: 1, urls[1]: min(50, len(with_last)), urls[2]: min(50, len(both))}


# --- one database of one size -------------------------------------------------------------------


@dataclass
class Dataset:
    kind: str
    size: int
    uri: str
    app: Any = None
    client: Any = None
    seconds_to_generate: float = 0.0
    deep_cursor: str = ""
    deep_row: int = 0
    middle_cursor: str = ""
    middle_row: int = 0
    level_spread: str = ""
    expected: dict[str, int] | None = None  # rows each view lists: min(25, matching rows)


def quiet() -> contextlib.AbstractContextManager[Any]:
    """The app's JSON request log goes to stderr: not wanted in the middle of the figures."""
    return contextlib.redirect_stderr(io.StringIO())


def generate(ds: Dataset, seed: int, now: datetime) -> None:
    from questionnaire import create_app

    with quiet():
        c.migrate_in_process(ds.uri)
    app = create_app(app_config(ds.uri))
    profiles, weights, answers_blob = make_profiles(app, seed)
    rs: Ruleset = app.extensions["ruleset"]
    counts: Counter[tuple[str, str]] = Counter()
    started = time.perf_counter()
    chunks = rows(ds.size, profiles, weights, answers_blob, rs, seed, now)
    if ds.kind == "sqlite":
        total = load_sqlite(Path(ds.uri.removeprefix("sqlite:///")), chunks, counts)
    else:
        total = load_postgres(ds.uri, chunks, counts)
    load_search(ds, app)
    ds.seconds_to_generate = time.perf_counter() - started
    assert total == ds.size, (total, ds.size)
    levels: Counter[str] = Counter()
    for (level, _status), n in counts.items():
        levels[level] += n
    ds.level_spread = ", ".join(
        f"{lv} {n / ds.size:.0%}" for lv, n in sorted(levels.items(), key=lambda x: rs.rank(x[0]))
    )
    ds.app = app


def sign_in(ds: Dataset) -> None:
    from argon2 import PasswordHasher

    from questionnaire.web import auth
    from tests.staff_helpers import make_staff
    from tests.staff_helpers import sign_in as staff_sign_in

    # argon2id with small parameters, as the staff tests do (tests/staff_factory.py cheap_hashing):
    # signing in is not what is measured.
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    auth.HASHER = cheap
    auth._DUMMY_HASH = cheap.hash("not-a-real-password-for-timing")
    secret = make_staff(ds.app, STAFF_EMAIL, "front_desk")
    ds.client = ds.app.test_client()
    with quiet():
        response = staff_sign_in(ds.client, STAFF_EMAIL, secret)
    assert response.status_code == 302, response.status_code


def deep_cursor(ds: Dataset) -> None:
    """Cursors of row DEEP_ROW of the whole queue (or row size - 50 when there are fewer rows) and of
    the middle row, and how many rows each view lists; untimed."""
    from sqlalchemy import func, select

    from questionnaire.data import crypto
    from questionnaire.data.models import Submission, SubmissionRule
    from questionnaire.extensions import db
    from questionnaire.web.staff import cursor_of

    ds.deep_row = min(DEEP_ROW, ds.size - 50)
    ds.middle_row = ds.size // 2
    order = (Submission.level_rank, Submission.created_at, Submission.id)
    with ds.app.app_context():
        for attr, row in (("deep_cursor", ds.deep_row), ("middle_cursor", ds.middle_row)):
            sub = db.session.scalars(select(Submission).order_by(*order).offset(row - 1).limit(1)).one()
            setattr(ds, attr, cursor_of(sub))
        new = db.session.scalar(select(func.count()).select_from(Submission).where(Submission.status == "new"))
        rule = db.session.scalar(
            select(func.count())
            .select_from(SubmissionRule)
            .where(SubmissionRule.rule_id == crypto.keyring().keyed("rule", RULE_FILTER))
        )
    urls = list(views(ds).values())
    ds.expected = {
        urls[0]: min(25, ds.size),
        urls[1]: min(25, new or 0),
        urls[2]: min(25, rule or 0),
        urls[3]: min(25, ds.size - ds.deep_row),
        urls[4]: min(25, ds.size - ds.middle_row),
        **search_expected(ds),
    }


def views(ds: Dataset) -> dict[str, str]:
    # status=any: every submission (the queue opens on new ones only).
    return {
        "first page": "/staff/?status=any",
        "status=new": "/staff/?status=new",
        f"rule={RULE_FILTER}": f"/staff/?status=any&rule={RULE_FILTER}",
        "page 500": f"/staff/?status=any&after={ds.deep_cursor}",
        "middle page": f"/staff/?status=any&after={ds.middle_cursor}",
        **search_views(ds),
    }


LINK = re.compile(r'href="/staff/submissions/([A-Z0-9-]+)"')


def fetch(ds: Dataset, url: str, failures: c.Failures) -> float:
    with quiet():
        start = time.perf_counter()
        response = ds.client.get(url)
        elapsed = time.perf_counter() - start
    html = response.get_data(as_text=True)
    failures.check(response.status_code == 200, f"{ds.kind} {ds.size:,}: GET {url} gave {response.status_code}")
    found = len(LINK.findall(html))
    expected = (ds.expected or {}).get(url, 25)
    failures.check(found == expected, f"{ds.kind} {ds.size:,}: GET {url} listed {found} submissions, not {expected}")
    return elapsed * 1000


def explain(ds: Dataset, url: str) -> str:
    """The plans of the SELECTs that one request to `url` runs (EXPLAIN QUERY PLAN / EXPLAIN)."""
    from sqlalchemy import event

    from questionnaire.extensions import db

    statements: list[tuple[str, Any]] = []
    with ds.app.app_context():
        engine = db.engine

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            if statement.lstrip().upper().startswith("SELECT") and (
                "submission" in statement or "queue_counts" in statement
            ):
                statements.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            with quiet():
                ds.client.get(url)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        out = []
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for statement, parameters in statements:
                prefix = "EXPLAIN QUERY PLAN " if ds.kind == "sqlite" else "EXPLAIN "
                cur.execute(prefix + statement, parameters)
                plan = "\n".join("    " + " | ".join(str(x) for x in row) for row in cur.fetchall())
                out.append("  " + " ".join(statement.split())[:160] + "\n" + plan)
        finally:
            raw.close()
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = c.parser(__doc__)
    parser.add_argument("--sizes", help="two sizes, small,large (default 10000,1000000; 1000,5000 with --quick)")
    parser.add_argument("--runs", type=int, help="timed runs of each view per size (default 15; 3 with --quick)")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print the query plans of every view")
    args = parser.parse_args(argv)
    small, large = (int(x) for x in (args.sizes or ("1000,5000" if args.quick else "10000,1000000")).split(","))
    runs = args.runs or (3 if args.quick else 15)
    failures = c.Failures()
    print(c.machine_summary())
    check_sqlite_datetime_format()
    kinds = [] if args.postgres_only else ["sqlite"]
    pg = None if args.sqlite_only else c.postgres_or_none(failures, required=not args.quick)
    if pg:
        kinds.append("postgresql")
    print(
        f"sizes {small:,} and {large:,}; {runs} alternating runs per view; SQLite {c.sqlite_version()}"
        + (f", PostgreSQL {c.postgres_version(pg)}" if pg else "")
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench_queue_"))
    now = datetime.now(UTC).replace(microsecond=0)
    ratios: dict[tuple[str, str], float] = {}
    try:
        for kind in kinds:
            with ExitStack() as stack:
                sets: list[Dataset] = []
                for size in (small, large):
                    if kind == "sqlite":
                        uri = f"sqlite:///{workdir / f'queue_{size}.db'}"
                    else:
                        assert pg is not None
                        uri = stack.enter_context(c.fresh_postgres_database(pg, prefix="oq_bench_queue"))
                    ds = Dataset(kind, size, uri)
                    generate(ds, seed=20261129, now=now)
                    stack.callback(lambda ds=ds: ds.app and _dispose(ds.app))
                    sign_in(ds)
                    deep_cursor(ds)
                    assert ds.expected is not None
                    print(
                        f"{kind} {size:>9,} rows generated in {ds.seconds_to_generate:6.1f} s "
                        f"({ds.size / ds.seconds_to_generate:,.0f} rows/s); levels: {ds.level_spread}; "
                        f"rows listed per view: {', '.join(map(str, ds.expected.values()))}",
                        flush=True,
                    )
                    sets.append(ds)
                if large >= 1_000_000:
                    failures.target(sets[1].seconds_to_generate < 180, f"{kind} generation under 3 minutes")
                names = list(views(sets[0]))
                timings: dict[tuple[int, str], list[float]] = {}
                for ds in sets:  # warm-up, untimed
                    for url in views(ds).values():
                        fetch(ds, url, failures)
                for r in range(runs):
                    for i, name in enumerate(names):
                        order = sets if (r + i) % 2 == 0 else sets[::-1]
                        for ds in order:
                            url = list(views(ds).values())[i]
                            timings.setdefault((ds.size, name), []).append(fetch(ds, url, failures))
                print(f"{kind}: median ms per request (Flask test client, rendering included)")
                missed = False
                for name in names:
                    a = statistics.median(timings[(small, name)])
                    b = statistics.median(timings[(large, name)])
                    label = {
                        "page 500": f"page 500 (after row {sets[0].deep_row:,} / {sets[1].deep_row:,})",
                        "middle page": f"middle page (after row {sets[0].middle_row:,} / {sets[1].middle_row:,})",
                    }.get(name, name)
                    ratios[(kind, label)] = b / a
                    missed = missed or b / a > TARGET
                    print(
                        f"  {label:<44} {a:7.1f} ms at {small:>9,}   {b:7.1f} ms at {large:>9,}   ratio {b / a:.2f}",
                        flush=True,
                    )
                if args.explain or (missed and not args.quick):
                    for ds in sets:
                        for name, url in views(ds).items():
                            print(f"-- plans: {kind} {ds.size:,} {name}\n{explain(ds, url)}")
    except Exception as exc:  # noqa: BLE001 - any failure is an error of the run, reported loudly
        import traceback

        traceback.print_exc()
        failures.error(f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for (kind, name), ratio in ratios.items():
        if name.startswith(("middle page", "search two words")):  # context: not one of issue 9's views
            print(f"ratio queue {kind} {name} {large:,}/{small:,}: {ratio:.2f} (context, no target)")
            continue
        verdict = failures.target(ratio <= TARGET, f"queue {kind} {name}") if not args.quick else "smoke run"
        print(f"ratio queue {kind} {name} {large:,}/{small:,}: {ratio:.2f} (target <= {TARGET}: {verdict})")
    return failures.exit_code(args.strict)


def _dispose(app: Any) -> None:
    from questionnaire.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
