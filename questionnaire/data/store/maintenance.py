"""Retention and keys: submissions past their retention purged in batches; values re-encrypted under
the current key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Text, func, literal, select, type_coerce, update

from questionnaire.data.crypto import KeyError_, keyring
from questionnaire.data.models import CheckIn, Draft, Note, Staff, StaffSession, Submission, SubmissionRule, utcnow
from questionnaire.data.store import submissions
from questionnaire.data.store.search import rekey_search_batch
from questionnaire.extensions import db


def purge_old_submissions(
    retention_days: Mapping[str, int], now: datetime | None = None, batch: int = 500
) -> dict[str, int]:
    """Delete submissions older than the retention of their status, in batches; returns counts per status."""
    removed: dict[str, int] = {}
    for status, days in retention_days.items():
        if days is None or int(days) <= 0:
            continue
        cutoff = (now or utcnow()) - timedelta(days=int(days))
        while True:
            ids = db.session.scalars(
                select(Submission.id).where(Submission.status == status, Submission.created_at < cutoff).limit(batch)
            ).all()
            if not ids:
                break
            submissions.delete_submissions(list(ids))
            removed[status] = removed.get(status, 0) + len(ids)
    return removed


ENCRYPTED_COLUMNS = (
    (Draft, "answers"),
    (Draft, "pending"),
    (Submission, "answers"),
    (Submission, "fired"),
    (Submission, "callback_phone"),
    (Note, "body"),
    (StaffSession, "pending"),
    (Staff, "otp_secret"),
    (CheckIn, "answers"),
    (CheckIn, "fired"),
)


def reencrypt_batch(current_key_id: str, batch: int = 200) -> int:
    """Re-encrypt up to `batch` values per column that use another key; 0 means rotation is complete.

    Progress lives in the rows themselves (their key id), so an interrupted run resumes where it stopped.
    Each value is rewritten only if it is still the one read (compare-and-set on the ciphertext), so a
    patient or staff write that lands in between is never overwritten with older data. The keyed rule
    index (submission_rules.rule_id) and the search index (submission_search.term) are re-keyed to the
    current key in the same batches.
    """

    ring = keyring()
    if ring.current != current_key_id:
        raise ValueError(f"the current encryption key is {ring.current!r}, not {current_key_id!r}")
    prefix = f"v1:{current_key_id}:"
    seen = 0
    for model, attr in ENCRYPTED_COLUMNS:
        table = model.__table__
        raw = type_coerce(table.c[attr], Text)
        rows = db.session.execute(
            select(table.c.id, raw)
            .where(raw.is_not(None), func.substr(raw, 1, len(prefix)) != prefix)
            .order_by(table.c.id)
            .limit(batch)
        ).all()
        for row_id, old in rows:
            new = ring.encrypt(ring.decrypt(old))
            db.session.execute(
                update(table).where(table.c.id == row_id, raw == literal(old, Text)).values({attr: literal(new, Text)})
            )
        seen += len(rows)
    seen += _rekey_rules_batch(batch)
    seen += rekey_search_batch(batch)
    db.session.commit()
    return seen


def _rekey_rules_batch(batch: int) -> int:
    """Re-key up to `batch` rows of the rule index that are keyed under another key than the current one.

    A keyed value cannot be reversed: the plain rule id is the one of the submission's fired rules
    (decrypted) whose keyed value under the row's key is the stored one.
    """
    ring = keyring()
    prefix = f"{ring.current}:"
    table = SubmissionRule.__table__
    rows = db.session.execute(
        select(table.c.submission_id, table.c.rule_id)
        .where(func.substr(table.c.rule_id, 1, len(prefix)) != prefix)
        .order_by(table.c.submission_id)
        .limit(batch)
    ).all()
    fired_ids: dict[int, list[str]] = {}
    for sub_id, old in rows:
        if sub_id not in fired_ids:
            sealed = db.session.scalar(select(type_coerce(Submission.fired, Text)).where(Submission.id == sub_id))
            fired_ids[sub_id] = [str(f["id"]) for f in json.loads(ring.decrypt(sealed))] if sealed else []
        kid = str(old).split(":", 1)[0]
        plain = next((rid for rid in fired_ids[sub_id] if ring.keyed("rule", rid, kid) == old), None)
        if plain is None:
            raise KeyError_(f"a rule index row of submission {sub_id} matches none of its fired rules")
        db.session.execute(
            update(table)
            .where(table.c.submission_id == sub_id, table.c.rule_id == old)
            .values(rule_id=ring.keyed("rule", plain))
        )
    return len(rows)
