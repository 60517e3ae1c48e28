"""Patients' drafts: created, found by the cookie's token, saved page by page, renewed, purged.

Nearly every patient request reads a draft and every page sent writes one, so drafts are read and
written as plain `DraftRow`s with SQLAlchemy Core on the request's connection (base.connection),
not through the ORM's session and unit of work; a submission's writes (store.submit) lock and link
the draft on the ORM session's connection, in the submission's one transaction.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, delete, insert, select, update

from questionnaire.core import flow, pages
from questionnaire.data.models import Draft, Submission, utcnow
from questionnaire.data.store.base import commit, connection, rollback, token_hash
from questionnaire.extensions import db

DRAFTS: Table = Draft.__table__
SUBMISSIONS: Table = Submission.__table__


@dataclass
class DraftRow:
    """A draft as the patient pages use it (a row of `drafts`; the store writes it back)."""

    id: int
    token_hash: str
    answers: dict[str, Any]
    done_pages: list[str]
    language: str
    updated_at: datetime
    expires_at: datetime
    submission_id: int | None = None  # the submission it became, once sent
    rescreen_of_id: int | None = None  # a check-in's "health changed": the submission it replaces
    pending: dict[str, Any] | None = None  # a page sent with errors or a notice (set_pending)


_FIELDS = tuple(f.name for f in dataclasses.fields(DraftRow))
# Built once: the queries of nearly every patient request.
_DRAFT_BY_TOKEN_HASH = select(*(DRAFTS.c[name] for name in _FIELDS)).where(DRAFTS.c.token_hash == bindparam("h"))
_DRAFT_BY_ID = select(*(DRAFTS.c[name] for name in _FIELDS)).where(DRAFTS.c.id == bindparam("id"))
_DRAFT_BY_ID_FOR_UPDATE = _DRAFT_BY_ID.with_for_update()
# A page saved: the whole write in one statement, named by the moment of the draft as it was read.
_WRITTEN = ("answers", "done_pages", "pending", "updated_at", "expires_at")
_SAVE = (
    update(DRAFTS)
    .where(DRAFTS.c.id == bindparam("draft_id"))
    .values({name: bindparam(f"new_{name}") for name in _WRITTEN})
)
_SAVE_AS_READ = _SAVE.where(DRAFTS.c.updated_at == bindparam("read_as"))
_DRAFT_BY_PREVIOUS_TOKEN_HASH = select(DRAFTS.c.submission_id).where(
    DRAFTS.c.previous_token_hash == bindparam("token_hash"), DRAFTS.c.token_renewed_at > bindparam("since")
)


def _draft(row: Row[Any]) -> DraftRow:
    draft = DraftRow(**row._mapping)
    draft.answers = draft.answers or {}
    draft.done_pages = list(draft.done_pages or [])
    return draft


def create_draft(language: str, ttl: timedelta, rescreen_of_id: int | None = None) -> tuple[DraftRow, str]:
    """A new empty draft and the random token that finds it (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    draft = DraftRow(0, token_hash(token), {}, [], language, now, now + ttl, rescreen_of_id=rescreen_of_id)
    values = {name: getattr(draft, name) for name in _FIELDS if name != "id"}
    conn = connection()
    key = conn.execute(insert(DRAFTS).values(created_at=now, **values)).inserted_primary_key
    assert key is not None  # an INSERT of one row
    draft.id = int(key[0])
    commit(conn)
    return draft, token


def renew_draft_token(draft: DraftRow, presented: str) -> str | None:
    """A new random token for the draft (and for its submission's link to it); the old one stops
    finding it. Against session fixation: a cookie planted in a patient's browser is worthless once
    they start, continue or send.

    `presented` is the token the request came with. None when another request renewed that token
    first (the twin of a double click): one renewal wins, so the browser is left with one token that
    works, whichever reply it reads last.
    """
    token = secrets.token_urlsafe(32)
    old, new, now = token_hash(presented), token_hash(token), utcnow()
    conn = connection()
    won = conn.execute(
        update(DRAFTS)
        .where(DRAFTS.c.id == draft.id, DRAFTS.c.token_hash == old)
        .values(token_hash=new, previous_token_hash=old, token_renewed_at=now)
    )
    if won.rowcount != 1:
        rollback(conn)
        return None
    submission_id = conn.execute(select(DRAFTS.c.submission_id).where(DRAFTS.c.id == draft.id)).scalar()
    if submission_id is not None:
        conn.execute(
            update(SUBMISSIONS)
            .where(SUBMISSIONS.c.id == submission_id, SUBMISSIONS.c.draft_token_hash == old)
            .values(draft_token_hash=new)
        )
    commit(conn)
    draft.token_hash, draft.submission_id = new, submission_id
    return token


def find_draft(token: str | None) -> DraftRow | None:
    """The draft for a cookie's token, unless it has expired."""
    if not token or not isinstance(token, str):
        return None
    row = connection().execute(_DRAFT_BY_TOKEN_HASH, {"h": token_hash(token)}).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return _draft(row)


def retired_token(token: str | None, within: timedelta) -> bool | None:
    """Whether a token that a renewal retired in the last `within` belonged to a draft that was then
    sent (True) or not yet (False); None for any other token. Only for sending the twin request of
    a double click on to where its browser now is: it reads nothing of the draft."""
    if not token or not isinstance(token, str):
        return None
    row = (
        connection()
        .execute(_DRAFT_BY_PREVIOUS_TOKEN_HASH, {"token_hash": token_hash(token), "since": utcnow() - within})
        .first()
    )
    return None if row is None else row[0] is not None


def save_page(
    draft: DraftRow,
    page_id: str,
    page_answers: Mapping[str, Any],
    ttl: timedelta,
    *,
    done: bool = True,
    pending: Mapping[str, Any] | None = None,
    route: flow.Route | None = None,
) -> pages.Saved:
    """Store one page's answers (pages.with_page: answers to questions no longer shown are removed
    from the draft); `draft` then holds what is stored. `route`: flow.route(draft.answers), when the
    caller has it. Returns what was stored, with its route.

    With done=False the answers are kept to fill the page in later, but the page still has to be
    sent with Continue (what a patient typed after losing their session, ahead of the pages before).
    `pending` replaces the draft's pending page (set_pending): None, as with every page sent with
    Continue, clears it.

    Two pages of one draft saved at the same moment (two tabs, two instances) both keep their answers:
    the write names the moment of the draft as this request read it (updated_at), and when another
    save came in between, the draft is read again under a write lock (SELECT ... FOR UPDATE on
    PostgreSQL; SQLite's one writer) and this page is merged into what is stored now.
    """
    saved = pages.with_page(draft.answers, draft.done_pages, page_id, page_answers, done_page=done, route=route)
    now = utcnow()
    values = {
        "answers": saved.answers,
        "done_pages": saved.done_pages,
        "pending": dict(pending) if pending is not None else None,
        "updated_at": now,
        "expires_at": now + ttl,
    }
    conn = connection()
    params = {"draft_id": draft.id, "read_as": draft.updated_at, **{f"new_{k}": v for k, v in values.items()}}
    if conn.execute(_SAVE_AS_READ, params).rowcount != 1:
        if not lock_draft(draft, conn):
            rollback(conn)  # deleted in the meantime (Delete my answers, in another tab)
            return saved
        saved = pages.with_page(draft.answers, draft.done_pages, page_id, page_answers, done_page=done)
        values.update(answers=saved.answers, done_pages=saved.done_pages)
        conn.execute(_SAVE, {"draft_id": draft.id, **{f"new_{k}": v for k, v in values.items()}})
    commit(conn)
    for name, value in values.items():
        setattr(draft, name, value)
    return saved


def lock_draft(draft: DraftRow, conn: Connection) -> bool:
    """Hold the draft's row for writing until `conn` commits, and read it again as it is stored now
    (into `draft`); False when it is gone."""
    if conn.dialect.name == "sqlite":
        # A write statement first: it waits for SQLite's write lock (busy_timeout), and the read
        # below then runs inside that write transaction, after any other writer's commit.
        conn.execute(update(DRAFTS).where(DRAFTS.c.id == draft.id).values(updated_at=DRAFTS.c.updated_at))
        row = conn.execute(_DRAFT_BY_ID, {"id": draft.id}).first()
    else:
        row = conn.execute(_DRAFT_BY_ID_FOR_UPDATE, {"id": draft.id}).first()
    if row is None:
        return False
    for name, value in dataclasses.asdict(_draft(row)).items():
        setattr(draft, name, value)
    return True


def link_submission(draft: DraftRow, submission_id: int, conn: Connection) -> None:
    """Name the submission the draft became (store.submit, in its transaction: no commit here)."""
    conn.execute(update(DRAFTS).where(DRAFTS.c.id == draft.id).values(submission_id=submission_id))
    draft.submission_id = submission_id


def set_pending(draft: DraftRow, pending: Mapping[str, Any] | None) -> None:
    """Keep (encrypted, in the draft, never in the cookie) a page sent with errors or with a notice to
    show, for the GET its POST redirects to: {"page", "values", "errors", "notice", ...}; None clears it."""
    value = dict(pending) if pending is not None else None
    conn = connection()
    conn.execute(update(DRAFTS).where(DRAFTS.c.id == draft.id).values(pending=value))
    commit(conn)
    draft.pending = value


def set_draft_language(draft: DraftRow, language: str) -> None:
    conn = connection()
    conn.execute(update(DRAFTS).where(DRAFTS.c.id == draft.id).values(language=language))
    commit(conn)
    draft.language = language


def delete_draft(draft: DraftRow) -> None:
    conn = connection()
    conn.execute(delete(DRAFTS).where(DRAFTS.c.id == draft.id))
    commit(conn)


def purge_expired_drafts(now: datetime | None = None, batch: int = 500) -> int:
    """Delete expired drafts in batches; returns how many went."""
    total = 0
    while True:
        ids = db.session.scalars(select(Draft.id).where(Draft.expires_at <= (now or utcnow())).limit(batch)).all()
        if not ids:
            return total
        db.session.execute(delete(Draft).where(Draft.id.in_(ids)))
        db.session.commit()
        total += len(ids)
