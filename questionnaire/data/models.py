"""SQLAlchemy 2 typed models. Only the store (data/store/) queries or writes them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from questionnaire.data import crypto
from questionnaire.data.enums import SessionStage, SubmissionStatus
from questionnaire.extensions import db


class Clock:
    """The one clock of the app; tests move it forward to check timeouts and expiry."""

    offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


CLOCK = Clock()


def utcnow() -> datetime:
    return CLOCK.now()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Encrypted(TypeDecorator[Any]):
    """A JSON value stored encrypted (AES-256-GCM, see crypto.py): answers, contact details, notes."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return crypto.keyring().encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(crypto.keyring().decrypt(value))


class Draft(db.Model):  # type: ignore[name-defined,misc]
    """A patient's answers before sending, found by the hash of the random id in their cookie."""

    __tablename__ = "drafts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    answers: Mapped[dict[str, Any]] = mapped_column(Encrypted, default=dict)
    done_pages: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"), nullable=True)
    # The token a renewal retired, and when: for a few seconds it may still send its bearer on to the
    # outcome or the form (a redirect, never the answers), for the twin of a double click.
    previous_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    token_renewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A rescreen (check-in: "health changed"): the earlier submission this new, empty form replaces.
    # No foreign key (here and on submissions): the store clears the link when that submission is
    # deleted, and SQLite adds a plain column in place, where a foreign key would rebuild the table.
    rescreen_of_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A page sent with errors (or a notice to show), kept for the GET it redirects to: the page id,
    # what was typed, the ids of the questions with an error, the notice's key. Cleared by Continue.
    pending: Mapped[dict[str, Any] | None] = mapped_column(Encrypted, nullable=True)


class Submission(db.Model):  # type: ignore[name-defined,misc]
    """Sent answers (or an urgent stop), judged once by the rule set named on the row."""

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    # The draft it came from: unique, so a double send makes one submission.
    draft_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    answers: Mapped[dict[str, Any]] = mapped_column(Encrypted)
    level: Mapped[str] = mapped_column(String(40))
    level_rank: Mapped[int] = mapped_column(Integer)
    # Fired rules with the answers that triggered them: health data, so encrypted too.
    fired: Mapped[list[dict[str, Any]]] = mapped_column(Encrypted)
    ruleset_version: Mapped[str] = mapped_column(String(40))
    ruleset_sha256: Mapped[str] = mapped_column(String(64))
    # The version of the questions' wording the patient answered (fhir.questionnaire_version: a hash of
    # the whole definition, texts included); None for submissions stored before it was kept.
    questions_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    language: Mapped[str] = mapped_column(String(8))
    stopped_early: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=SubmissionStatus.NEW)  # a SubmissionStatus
    # The number a patient left on the urgent page for a call later (web/callback.py): encrypted.
    callback_phone: Mapped[str | None] = mapped_column(Encrypted, nullable=True)
    status_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # A rescreen: the earlier submission whose check-in said the patient's health changed (from the draft).
    # (No foreign key: see Draft.rescreen_of_id.)
    rescreen_of_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # Who on the staff took the case on ("assign to me"): an email, as status_by.
    assigned_to: Mapped[str | None] = mapped_column(String(254), nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        # The staff queue: highest level first, oldest first, keyset-paginated on this index.
        Index("ix_submissions_queue", "level_rank", "created_at", "id"),
        Index("ix_submissions_status_queue", "status", "level_rank", "created_at", "id"),
        # The report (data/report.py): a date range's levels and languages (and the ids of its sample,
        # where the planner picks it) read from the index alone, without the rows and their answers.
        Index("ix_submissions_report", "created_at", "level", "language", "id"),
    )


class SubmissionRule(db.Model):  # type: ignore[name-defined,misc]
    """One fired rule of a submission, with the queue's sort key, so "filter by rule" is one index range.

    rule_id holds the rule's keyed value (`KEY_ID:HMAC-SHA256`, crypto.Keyring.keyed), never the rule
    id itself: which rules fired is health data ("r_pregnancy")."""

    __tablename__ = "submission_rules"
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    level_rank: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_submission_rules_queue", "rule_id", "level_rank", "created_at", "submission_id"),)


class SubmissionSearch(db.Model):  # type: ignore[name-defined,misc]
    """The contact search's blind index: one keyed term (`KEY_ID:HMAC-SHA256` of a folded name word, the
    last 6 to 9 digits of a phone number or a case-folded email, core/search.py) per row, never the
    value itself. Kept in step by the store; the newest first for a term is one index range."""

    __tablename__ = "submission_search"
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True)
    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_submission_search_term", "term", "created_at", "submission_id"),)


class QueueCount(db.Model):  # type: ignore[name-defined,misc]
    """Submissions per level and status, kept in step by every write, so counts cost the same at any size."""

    __tablename__ = "queue_counts"
    level: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class Delivery(db.Model):  # type: ignore[name-defined,misc]
    """One attempt to tell the front desk about a flagged submission. No health data, no secrets."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # email | webhook
    delivery_id: Mapped[str] = mapped_column(String(32))  # the same across retries
    reference: Mapped[str] = mapped_column(String(16), index=True)
    level: Mapped[str] = mapped_column(String(40))
    number: Mapped[int] = mapped_column(Integer)  # attempt 1, 2, ...
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    waited_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    duration_ms: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10))  # delivered | retry | failed
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    target: Mapped[str] = mapped_column(String(300))

    __table_args__ = (UniqueConstraint("delivery_id", "number"),)


class Note(db.Model):  # type: ignore[name-defined,misc]
    """A staff note on a submission: append-only."""

    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Encrypted)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallAttempt(db.Model):  # type: ignore[name-defined,misc]
    """One attempt to reach the patient by phone (the call log): append-only, no free text (a note says more)."""

    __tablename__ = "call_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))  # a key of core.desk.CALL_OUTCOMES
    caller: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Staff(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # a StaffRole
    password_hash: Mapped[str] = mapped_column(String(200))
    # The TOTP secret: whoever reads it can make codes, so it is encrypted like answers (and rotated).
    otp_secret: Mapped[str | None] = mapped_column(Encrypted, nullable=True)
    otp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    otp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the password was last set; a one-time password (must_change_password) expires after
    # ONE_TIME_PASSWORD_DAYS. None on accounts made before it was kept: their created_at counts.
    password_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # No longer used: failed sign-ins are throttled in the rate-limit store (throttle.py), not by a
    # lock on the account. Kept so that the schema needs no migration; a later one may drop them.
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(db.Model):  # type: ignore[name-defined,misc]
    """A signed-in staff session, checked on every request so that revocation is immediate."""

    __tablename__ = "staff_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(10), default=SessionStage.PASSWORD)  # a SessionStage: password -> full
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A form a staff member was sending when the session ended, replayed after signing in again.
    pending: Mapped[dict[str, Any] | None] = mapped_column(Encrypted, nullable=True)


class CheckIn(db.Model):  # type: ignore[name-defined,misc]
    """A check-in on the day (core/checkin.py): started by a staff member, answered in patient mode
    under a one-time token (only its hash is stored, cleared when used), judged by the rule set."""

    __tablename__ = "check_ins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), nullable=True)
    started_by: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    language: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    # The check-in's answers and the check-in rules that fired (health data: encrypted).
    answers: Mapped[dict[str, Any] | None] = mapped_column(Encrypted, nullable=True)
    fired: Mapped[list[dict[str, Any]] | None] = mapped_column(Encrypted, nullable=True)
    level: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ruleset_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ruleset_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rescreen_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    """Append-only: who did what, when, to which submission, from where. Never answers or contacts."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(254), nullable=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    submission_ref: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    # A staff member's address as seen; a patient's only as a keyed hash (`h:KEY_ID:HEX`, crypto.keyed_ip).
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)


# The audit log is append-only in the database itself, not only by convention: an UPDATE or DELETE of
# a row fails, whoever sends it. Created with the table (create_all) and by migration 0003.
AUDIT_APPEND_ONLY: dict[str, tuple[str, ...]] = {
    "sqlite": tuple(
        f"CREATE TRIGGER IF NOT EXISTS audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        for verb in ("UPDATE", "DELETE")
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$",
        "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    ),
}
for _dialect, _statements in AUDIT_APPEND_ONLY.items():
    for _statement in _statements:
        event.listen(AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))  # type: ignore[no-untyped-call]  # DDL() is untyped


# --- database roles (PostgreSQL) -----------------------------------------------------------------------
# Production runs two roles: an owner that runs `flask db upgrade` (owns every table, the only one that
# can change the schema), and the application role the instances connect as (DATABASE_APP_ROLE). The
# application role may read and write the app's tables, may only read and add to the audit log (no
# UPDATE, DELETE or TRUNCATE; not the owner, so it can neither ALTER nor DISABLE its trigger), may only
# read the migration version, and may create nothing. Granted again after every upgrade (migrations/env.py),
# table by table from the models, rather than by ALTER DEFAULT PRIVILEGES: a table a later migration
# adds gets exactly what is listed here, and a new append-only table is never given UPDATE by default.
APPEND_ONLY_TABLES = frozenset({"audit_events"})
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def app_role_grants(role: str, tables: list[str]) -> list[str]:
    """The statements that give the application role `role` what it needs and nothing more."""
    if not ROLE_NAME.match(role):
        raise ValueError(f"DATABASE_APP_ROLE {role!r} must be a lower-case PostgreSQL role name")
    out = [
        # No DDL: no creating in the schema (PostgreSQL before 15 lets PUBLIC create in "public").
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f'REVOKE CREATE ON SCHEMA public FROM "{role}"',
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"',
        f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{role}"',
        f'GRANT SELECT ON alembic_version TO "{role}"',  # /readyz compares it with the newest migration
    ]
    for table in tables:
        verbs = "SELECT, INSERT" if table in APPEND_ONLY_TABLES else "SELECT, INSERT, UPDATE, DELETE"
        out.append(f'GRANT {verbs} ON "{table}" TO "{role}"')
    out.append(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')  # ids of new rows
    return out
