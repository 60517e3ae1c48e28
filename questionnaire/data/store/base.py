"""What the store's modules share: the unit of work (one commit per action) and token hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import g
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

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


# The request's own connection for Core statements (flask.g, so per app context: per request).
REQUEST_CONNECTION = "store_connection"


def connection() -> Connection:
    """The connection for the store's Core statements (the patient pages' drafts).

    While the ORM session has a transaction open, its connection: one transaction for both (on
    SQLite a second connection would wait for the first one's write lock). Otherwise a connection of
    the request's own, without the ORM session's unit of work, held until the request ends
    (end_request); each write on it commits with commit(). Either way, one durable commit per write.
    """
    if db.session.registry.has() and db.session().in_transaction():
        return db.session.connection()
    conn: Connection | None = g.get(REQUEST_CONNECTION)
    if conn is None or conn.closed:
        conn = db.engine.connect()
        setattr(g, REQUEST_CONNECTION, conn)
    return conn


def commit(conn: Connection) -> None:
    """The end of a Core write on `conn`: save() when it is the ORM session's, else its own commit."""
    if conn is g.get(REQUEST_CONNECTION):
        conn.commit()
    else:
        save()


def rollback(conn: Connection) -> None:
    if conn is g.get(REQUEST_CONNECTION):
        conn.rollback()
    else:
        db.session.rollback()


def end_request() -> None:
    """Return the request's own connection to the pool (rolling back anything left open). When the
    database went away (a restart), the connection is dropped rather than returned."""
    conn: Connection | None = g.pop(REQUEST_CONNECTION, None)
    if conn is None:
        return
    try:
        conn.close()
    except DBAPIError:
        conn.invalidate()


def discard_connection() -> None:
    """After a database error: the request's own connection is dropped, not returned to the pool."""
    conn: Connection | None = g.pop(REQUEST_CONNECTION, None)
    if conn is not None:
        conn.invalidate()
        conn.close()


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
