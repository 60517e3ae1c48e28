"""What the store's modules share: the unit of work (one commit per action) and token hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from questionnaire.extensions import db

# The session's flag while an operation's transaction is open (session.info is per session, so per
# request and per thread).
IN_TRANSACTION = "questionnaire.in_transaction"


@contextmanager
def transaction() -> Iterator[None]:
    """One unit of work: every store write inside it (and its audit row) is committed once at the end,
    or on any exception rolled back, all of it. Store functions called inside only flush; outside one,
    each commits on its own. Nested uses join the outermost."""
    if db.session.info.get(IN_TRANSACTION):
        yield
        return
    db.session.info[IN_TRANSACTION] = True
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        db.session.info.pop(IN_TRANSACTION, None)


def in_transaction() -> bool:
    return bool(db.session.info.get(IN_TRANSACTION))


def save() -> None:
    """The end of a store write: a commit, or inside an operation's transaction only a flush (the
    operation commits once, after its audit row)."""
    if in_transaction():
        db.session.flush()
    else:
        db.session.commit()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


Row = TypeVar("Row")


def add_to_submission(row: Row) -> Row | None:
    """Add a row that names a submission (a note, a call); None when the submission was deleted
    (purged) in the meantime: its foreign key refuses the row, and nothing is written."""
    db.session.add(row)
    try:
        save()
    except IntegrityError:
        db.session.rollback()
        return None
    return row
