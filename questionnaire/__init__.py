"""The ozone-therapy pre-consultation questionnaire: create_app() builds the Flask application."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError
from werkzeug.middleware.proxy_fix import ProxyFix

from questionnaire import config
from questionnaire.core.rules import DEFAULT_PATH, load_ruleset
from questionnaire.data import store
from questionnaire.extensions import babel, csrf, db, limiter, migrate
from questionnaire.web import security, throttle
from questionnaire.web.i18n import select_language
from questionnaire.web.session_cookie import SessionCookie

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """config -> extensions -> rules loaded (fail fast) -> blueprints -> CLI."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), instance_relative_config=True)
    config.load(app, test_config)
    app.session_interface = SessionCookie()

    # The rules file is checked before anything can serve a request: a broken file stops the
    # app here with every fault as FILE:LINE: rule ID: message.
    app.extensions["ruleset"] = load_ruleset(
        app.config.get("RULES_PATH") or DEFAULT_PATH,
        languages=app.config.get("LANGUAGES") or (),
        translations=app.config.get("BABEL_TRANSLATION_DIRECTORIES"),
    )

    if int(app.config["PROXY_COUNT"] or 0) > 0:
        # Trust exactly as many proxies as there are in front of the app, no more.
        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    db.init_app(app)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs first (teardowns run in reverse).
    app.teardown_appcontext(_end_database_session)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "data" / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_language)
    limiter.init_app(app)
    throttle.init_app(app)

    from questionnaire import cli
    from questionnaire.operations import announce

    # patient_sent's views join patient.bp; staff_admin's, staff_desk's and staff_search's join staff.bp.
    from questionnaire.web import (  # noqa: F401
        auth,
        callback,
        interop,
        pages,
        patient,
        patient_sent,
        report,
        staff,
        staff_admin,
        staff_desk,
        staff_search,
    )
    from questionnaire.web.i18n import current_language, install_template_gettext, language_choices, text_in

    security.init_app(app)
    app.register_blueprint(patient.bp)
    app.register_blueprint(callback.bp)  # the urgent page's optional callback number
    app.register_blueprint(pages.bp)  # the footer pages (privacy, accessibility, contact) and the favicon
    csrf.exempt(patient.bp)  # every patient form checks its own token and keeps what was typed
    app.register_blueprint(auth.bp)
    app.register_blueprint(staff.bp)
    announce.init_app(app)
    app.register_blueprint(interop.bp)
    app.register_blueprint(report.bp)
    from questionnaire.web import checkin  # check-in on the day: the desk's start, patient mode

    app.register_blueprint(checkin.desk_bp)
    app.register_blueprint(checkin.bp)
    csrf.exempt(checkin.bp)  # patient mode checks its own token (the form keeps what was tapped)
    cli.init_app(app)

    install_template_gettext(app.jinja_env)  # replaces Flask-Babel's slower callables
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["language_choices"] = language_choices
    app.jinja_env.globals["text_in"] = text_in
    app.jinja_env.globals["regulatory_notice_text"] = patient.regulatory_notice_text
    app.register_error_handler(CSRFError, _csrf_error)
    for code in (400, 401, 403, 404, 405, 413, 415, 429, 500):
        app.register_error_handler(code, _error_page(code))

    app.register_error_handler(DBAPIError, _database_unavailable)
    app.register_error_handler(DataError, _value_out_of_range)
    if app.config.get("TEST_FAIL_SUBMIT_COMMIT"):
        _install_submit_commit_fault()

    @app.get("/healthz")
    def healthz() -> tuple[dict[str, str], int]:
        """Liveness for the load balancer: this instance can reach the database."""
        try:
            db.session.execute(text("SELECT 1"))
        except DBAPIError:
            discard_database_session()
            return {"status": "database unavailable"}, 503
        return {"status": "ok"}, 200

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, Any], int]:
        """Readiness: database reachable and migrated to the newest revision; rate-limit store reachable."""
        checks: dict[str, str] = {}
        try:
            version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            checks["database"] = "ok" if version == _head_revision() else f"migration {version} is not the newest"
        except DBAPIError:
            discard_database_session()
            checks["database"] = "unavailable"
        checks["rate_limits"] = "ok" if throttle.storage_ok() else "unavailable"
        ready = all(v == "ok" for v in checks.values())
        return {"status": "ok" if ready else "not ready", "checks": checks}, 200 if ready else 503

    return app


class InjectedFault(RuntimeError):
    """Raised by the test-only fault hook below; never in production (config.refuse_unsafe)."""


_FAULT_INSTALLED = False


def _install_submit_commit_fault() -> None:
    """Tests only (TEST_FAIL_SUBMIT_COMMIT, off by default; production refuses it): every commit that
    would store a new submission fails in before_commit, as a crash during the final write would."""
    global _FAULT_INSTALLED
    if _FAULT_INSTALLED:
        return
    _FAULT_INSTALLED = True
    from flask import current_app, has_app_context
    from sqlalchemy.orm import Session

    from questionnaire.data.models import Submission

    @event.listens_for(Session, "after_flush")
    def _note_submission_insert(session: Session, context: Any) -> None:
        if any(isinstance(obj, Submission) for obj in session.new):
            session.info["inserted_submission"] = True

    @event.listens_for(Session, "before_commit")
    def _fail_submission_commit(session: Session) -> None:
        inserted = session.info.pop("inserted_submission", False)
        if inserted and has_app_context() and current_app.config.get("TEST_FAIL_SUBMIT_COMMIT"):
            raise InjectedFault("injected fault: the submission commit fails (TEST_FAIL_SUBMIT_COMMIT)")

    @event.listens_for(Session, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop("inserted_submission", None)


@functools.cache
def _head_revision() -> str | None:
    """The newest migration of this release (read once: it cannot change while the process runs)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "data" / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _database_unavailable(error: DBAPIError) -> tuple[str, int]:
    """A database that went away (restart, failover): a clean page; the pool reconnects by itself."""
    discard_database_session()
    security.log.warning(
        "database unavailable", extra={"fields": {"request_id": g.get("request_id"), "path": request.path}}
    )
    if request.method == "POST" and request.endpoint == "patient.question_page" and request.view_args:
        from questionnaire.web.patient import unsaved_page

        return unsaved_page(str(request.view_args["page_id"])), 503
    return error_page(503), 503


def _value_out_of_range(error: DataError) -> tuple[str, int]:
    """The database refused a value (a number larger than its column holds, a text too long): the
    request was bad, not the database down. A 400, logged; what was written before is rolled back."""
    discard_database_session()
    security.log.warning(
        "value refused by the database", extra={"fields": {"request_id": g.get("request_id"), "path": request.path}}
    )
    return error_page(400), 400


def discard_database_session() -> None:
    """Roll back after a database error; if even the ROLLBACK fails (the server went away), drop
    the session's connections without one, so that the next request gets a fresh connection."""
    store.discard_connection()
    try:
        db.session.rollback()
    except DBAPIError:
        db.session().invalidate()


def _end_database_session(error: BaseException | None) -> None:
    """End the request's session. When the database went away after the request's last query (a
    restart), the ROLLBACK that ends it fails: that must neither replace the response already made
    with the server's bare 500 nor leave the broken session to the worker's next request."""
    store.end_request()
    try:
        db.session.remove()
    except DBAPIError:
        db.session().invalidate()
        db.session.remove()


def _error_page(code: int) -> Any:
    def handler(error: Exception) -> tuple[str, int] | Response:
        if request_ctx.url_adapter is None:
            # A Host header outside TRUSTED_HOSTS: no URL can be built for it, so no page either.
            return Response("Bad request.\n", code, mimetype="text/plain")
        message = error.description if isinstance(error, security.BadInput) else None
        return error_page(code, message), code

    return handler


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    if request.path.startswith("/staff/"):
        return error_page(
            400,
            "Your session has timed out: for your security, the form was not sent. Go back, "
            "reload the page and try again.",
        ), 400
    return render_template("errors/csrf.html"), 400


def error_page(code: int, message: str | None = None) -> str:
    """An error page: in the staff layout, leading back to the queue, for a request under /staff/;
    else the patient layout, leading to the start page."""
    if request.path == "/staff" or request.path.startswith("/staff/"):
        return render_template(
            "errors/staff_error.html",
            code=code,
            message=message,
            me=g.get("staff"),
            ruleset=current_app.extensions.get("ruleset"),
        )
    return render_template("errors/error.html", code=code, message=message)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: write-ahead log and a busy timeout, so that concurrent requests wait instead of failing."""
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
