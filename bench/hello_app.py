"""The baselines of bench/bench_pages.py: a plain Flask route, and a plain Flask route that writes.

Served by the same gunicorn settings as the questionnaire (`bench.hello_app:app`), so the ratio of
the two request rates says how much of the framework's limit the questionnaire's pages reach.

- GET /      returns a short string: the limit of any page.
- POST /save updates one 2 KB row in SQLite (WAL, default synchronous, as the app's database) with
  a durable commit, then redirects: the limit of a page that saves what was sent. The row holds the
  time, so every request really writes and syncs: an UPDATE that leaves the row's bytes as they were
  writes nothing and its commit syncs nothing, which is how issue 20 measured this route at 0.69 of
  the plain route (about 0.5 with a real write, on the same machine). The database file is
  HELLO_DATABASE (a path), created on first use; without it, a file in the system's temporary
  directory.
- /healthz is there only so that the server helper can see it is up.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time

from flask import Flask, redirect, request
from werkzeug.wrappers import Response

app = Flask(__name__)
ROW = 2048
_local = threading.local()


def connection() -> sqlite3.Connection:
    """One connection per worker thread, opened once (as a pool would keep it)."""
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        path = os.environ.get("HELLO_DATABASE") or os.path.join(tempfile.gettempdir(), "bench_hello.db")
        conn = sqlite3.connect(path, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, data TEXT NOT NULL)")
        conn.execute("INSERT OR IGNORE INTO rows (id, data) VALUES (1, ?)", ("x" * ROW,))
        conn.commit()
        _local.conn = conn
    return conn


@app.get("/")
def hello() -> str:
    return "Hello, world"


@app.post("/save")
def save() -> Response:
    conn = connection()
    # The time in the row: SQLite writes nothing for an UPDATE that leaves a row's bytes as they are
    # (and a commit with nothing written does not sync), so the same value every time is no write.
    body = f"{time.time_ns()}:" + (request.form.get("value") or "y") * ROW
    conn.execute("UPDATE rows SET data = ? WHERE id = 1", (body[:ROW],))
    conn.commit()
    return redirect("/", code=302)


@app.get("/healthz")
def healthz() -> str:
    return "ok"
