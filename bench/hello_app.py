"""The baseline of bench/bench_pages.py: a plain Flask route returning a short string.

Served by the same gunicorn settings as the questionnaire (`bench.hello_app:app`), so the ratio of
the two request rates says how much of the framework's limit the questionnaire's pages reach.
/healthz is there only so that the server helper can see it is up.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, world"


@app.get("/healthz")
def healthz() -> str:
    return "ok"
