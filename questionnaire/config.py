"""Configuration: defaults that are safe in production, overridden by FLASK_-prefixed variables."""

from __future__ import annotations

import copy
import os
import secrets
import zoneinfo
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from questionnaire.core import languages, regulatory
from questionnaire.data import crypto


class ConfigError(RuntimeError):
    """Configuration the app must not start with; the message names the setting and the fix."""


DEFAULTS: dict[str, Any] = {
    "PRODUCTION": False,
    "CLINIC_NAME": "Our clinic",
    "CLINIC_PHONE": "",
    "BOOKING_URL": "",
    # `make run` only: "Book an appointment" leads to a page saying this is a demonstration.
    "DEMO_BOOKING": False,
    # The regulatory notice on the start and outcome pages (clinical-content.md R8; README "Regulatory
    # notice"): US, CA or AU for the built-in text, or another country code with the clinic's own
    # lawyer-reviewed text in every language, {"en": "...", "es": "..."}. Production needs one.
    "REGULATORY_MARKET": "",
    "REGULATORY_NOTICE": {},
    "CONTACT_WORKING_DAYS": 2,
    # The clinic's time zone (an IANA name such as "Europe/Madrid"): staff pages show times in it and
    # count the "within N working days" promise in its days.
    "CLINIC_TIMEZONE": "UTC",
    "DRAFT_TTL_HOURS": 24,
    # After sending, this browser can show (and print) the answers and outcome for so long; then it
    # forgets them, so that the next person on a shared device cannot read them.
    "SENT_COPY_MINUTES": 60,
    "RULES_PATH": None,
    # Pre-ping survives a database restart; hidden parameters keep values out of error messages.
    # pool_use_lifo: the connection used last is used again, its page cache still warm (SQLite reads a
    # draft another pooled connection wrote from the file again). pool_pre_ping is turned off for a
    # SQLite file, which never drops a connection (_engine_options).
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_use_lifo": True, "hide_parameters": True},
    # CSRF tokens live as long as the patient's session, not Flask-WTF's default hour.
    "WTF_CSRF_TIME_LIMIT": None,
    # Our pages word every message themselves; not loading WTForms' catalogue on each request.
    "WTF_I18N_ENABLED": False,
    "WTF_CSRF_SSL_STRICT": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_NAME": "oq_session",
    # The patient's cookie is sent again when the session changes or a form is sent (patient.py),
    # not on every page view: its expiry slides with the draft's, which only a sent form moves.
    "SESSION_REFRESH_EACH_REQUEST": False,
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_PARTS": 300,
    "MAX_FORM_MEMORY_SIZE": 64 * 1024,
    "RATELIMIT_STORAGE_URI": "memory://",
    # Patients must be able to send their answers when Redis is down: patient limits fail open.
    # Sign-in checks the store itself and refuses to run without it (fail closed).
    "RATELIMIT_SWALLOW_ERRORS": True,
    "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    "STAFF_SIGN_IN_LIMIT": "10 per 10 minutes",
    # Sign-in throttling (throttle.py) instead of a lock: checks per account from one address, then
    # checks per account from unfamiliar addresses before a growing delay, its longest step, and how
    # long an address the account signed in from skips that delay.
    "STAFF_SIGN_IN_PAIR_LIMIT": "5 per 15 minutes",
    "STAFF_DELAY_AFTER": 5,
    "STAFF_DELAY_MAX_SECONDS": 60,
    "STAFF_KNOWN_ADDRESS_DAYS": 30,
    # A one-time password (new account, administrator's reset, bootstrap) works for so many days.
    "ONE_TIME_PASSWORD_DAYS": 7,
    "PATIENT_POST_LIMIT": "120 per minute",
    # Whole-database downloads (CSV export, audit CSV, FHIR bundle) per address, counted together.
    "BULK_EXPORT_LIMIT": "10 per hour",
    "RATELIMIT_HEADERS_ENABLED": False,
    "BABEL_DEFAULT_LOCALE": "en",
    "LANGUAGES": list(languages.NAMES),  # the codes, named in core/languages.py
    # The compiled catalogues (make translations), found wherever the app is started from.
    "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent / "translations"),
    "STAFF_IDLE_MINUTES": 15,
    "STAFF_ABSOLUTE_HOURS": 12,
    # How many proxies stand in front (ProxyFix); None = not set: 0 outside production, refused in it.
    "PROXY_COUNT": None,
    # The Host names this app answers to (Flask refuses others with 400); production must name them.
    "TRUSTED_HOSTS": None,
    # Days to keep a submission, by status; statuses not listed are kept until they change.
    "RETENTION_DAYS": {"closed": 730, "discussed": 730},
    # PostgreSQL: the role the instances connect as; `flask db upgrade` (run as the owner) grants it
    # the app's tables, only SELECT and INSERT on the audit log, and no DDL (models.app_role_grants).
    "DATABASE_APP_ROLE": None,
    # Tests only: make the commit that stores a submission fail (a crash during the final write).
    "TEST_FAIL_SUBMIT_COMMIT": False,
    # Origins (scheme://host[:port]) of the clinic's own pages that may show the patient pages in an
    # <iframe>, as a JSON list; empty: no page may frame them. Staff pages are never framed.
    "FRAME_ANCESTORS": [],
}


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    # A copy: nested settings (FLASK_REGULATORY_NOTICE__es) must not write into the module's defaults.
    app.config.update(copy.deepcopy(DEFAULTS))
    if test_config is None:
        app.config.from_prefixed_env()
        if os.environ.get("DATABASE_URL") and "SQLALCHEMY_DATABASE_URI" not in _prefixed():
            app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    else:
        app.config.update(test_config)
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        uri = "sqlite:///" + str(Path(app.instance_path) / "questionnaire.db")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_uri(uri)
    _engine_options(app)
    if app.config["PRODUCTION"]:
        # Every unsafe setting is named at once, before anything is written to the instance folder.
        refuse_unsafe(app.config)
        if app.config["SESSION_COOKIE_NAME"] == DEFAULTS["SESSION_COOKIE_NAME"]:
            # The patient's cookie is __Host-: sent over HTTPS only, for the whole site, never set by a
            # sibling subdomain (a planted cookie is the first step of session fixation).
            app.config["SESSION_COOKIE_NAME"] = "__Host-" + DEFAULTS["SESSION_COOKIE_NAME"]
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _local_secret(app)
    _regulatory_notice(app)
    _clinic_timezone(app)
    _frame_ancestors(app)
    _secret_key_fallbacks(app)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=int(app.config["DRAFT_TTL_HOURS"]))
    _encryption(app)


def _engine_options(app: Flask) -> None:
    """A SQLite file has no server to go away: no ping before each request's first statement."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    uri = str(app.config["SQLALCHEMY_DATABASE_URI"])
    if uri.startswith("sqlite"):
        options["pool_pre_ping"] = False
        if uri in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in uri:
            options.pop("pool_use_lifo", None)  # one connection (StaticPool): no order to choose
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _clinic_timezone(app: Flask) -> None:
    """FLASK_CLINIC_TIMEZONE must name a time zone this machine knows (IANA, e.g. "Europe/Madrid")."""
    name = str(app.config.get("CLINIC_TIMEZONE") or "").strip()
    try:
        if not name:
            raise ValueError
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ConfigError(
            f"FLASK_CLINIC_TIMEZONE {name!r} is not a time zone: use an IANA name such as "
            '"Europe/Madrid" or "America/New_York" (default UTC)'
        ) from None
    app.config["CLINIC_TIMEZONE"] = name


def _secret_key_fallbacks(app: Flask) -> None:
    """SECRET_KEY_FALLBACKS: earlier keys, still accepted while instances move to a new key.

    Flask reads the session cookie with them; form (CSRF) tokens get the same rotation here, so a
    form rendered under one key is accepted by an instance that signs with the next one."""
    fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
    if isinstance(fallbacks, (str, bytes)) or not all(isinstance(k, (str, bytes)) and k for k in fallbacks):
        raise ConfigError('FLASK_SECRET_KEY_FALLBACKS must be a JSON list of earlier keys, e.g. ["old-key"]')
    app.config["SECRET_KEY_FALLBACKS"] = list(fallbacks)
    if fallbacks and not app.config.get("WTF_CSRF_SECRET_KEY"):
        # itsdangerous signs with the last key of a list and accepts any of them.
        app.config["WTF_CSRF_SECRET_KEY"] = [*fallbacks, app.config["SECRET_KEY"]]


def frame_ancestor_origins(raw: Any, production: bool) -> list[str]:
    """FLASK_FRAME_ANCESTORS checked and normalised: each an origin, scheme://host[:port], nothing
    else (no path, query, user name or wildcard); https only in production. ConfigError otherwise."""
    if raw in (None, "", []):
        return []
    if isinstance(raw, (str, bytes)) or not isinstance(raw, (list, tuple)):
        raise ConfigError('FLASK_FRAME_ANCESTORS must be a JSON list of origins, e.g. ["https://www.clinic.example"]')
    origins: list[str] = []
    for item in raw:
        text = item.strip() if isinstance(item, str) else ""
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            parts, port = None, None
        allowed = ("https",) if production else ("https", "http")
        if (
            parts is None
            or parts.scheme not in allowed
            or not parts.hostname
            or "*" in text
            or parts.username is not None
            or parts.password is not None
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or any(ch in text for ch in " ;,'\"\\")
        ):
            rule = (
                "https://host or https://host:port"
                if production
                else "https://host or http://host, with an optional port"
            )
            raise ConfigError(
                f"FLASK_FRAME_ANCESTORS: {item!r} is not an origin the patient pages can be framed by: "
                f"give {rule}, with no path and no wildcard"
            )
        origin = f"{parts.scheme}://{parts.hostname.lower()}" + (f":{port}" if port is not None else "")
        if origin not in origins:
            origins.append(origin)
    return origins


def _frame_ancestors(app: Flask) -> None:
    """Framing by the clinic's own site (FLASK_FRAME_ANCESTORS): the origins are checked now, and the
    patient's session cookie is made SameSite=None and Partitioned (CHIPS), so that it is sent inside
    the frame, which is a third-party context on the clinic's page: browsers that block third-party
    cookies still keep a partitioned one, for that top-level site only. Both need Secure."""
    origins = frame_ancestor_origins(app.config.get("FRAME_ANCESTORS"), bool(app.config["PRODUCTION"]))
    app.config["FRAME_ANCESTORS"] = origins
    if not origins:
        return
    if app.config["PRODUCTION"] and not app.config.get("SESSION_COOKIE_SECURE"):
        raise ConfigError(
            "FLASK_FRAME_ANCESTORS needs FLASK_SESSION_COOKIE_SECURE=true: a cookie sent inside "
            "another site's frame must be SameSite=None and Secure"
        )
    app.config["SESSION_COOKIE_SAMESITE"] = "None"
    app.config["SESSION_COOKIE_PARTITIONED"] = True


def _regulatory_notice(app: Flask) -> None:
    """The notice for the clinic's market, checked now: an unknown market, a clinic text missing in one
    of the app's languages, or one with clearance or legality wording stops the app."""
    try:
        notice = regulatory.build(
            app.config.get("REGULATORY_MARKET"), app.config.get("REGULATORY_NOTICE"), app.config.get("LANGUAGES") or ()
        )
    except regulatory.NoticeError as exc:
        raise ConfigError(f"regulatory notice: {exc}") from exc
    app.extensions["regulatory_notice"] = notice


def _encryption(app: Flask) -> None:
    raw = app.config.get("ENCRYPTION_KEYS")
    try:
        if raw:
            keys = crypto.parse_keys(raw)
            current = app.config.get("ENCRYPTION_KEY_ID") or list(keys)[-1]
        elif app.config["PRODUCTION"]:
            raise ConfigError(
                "FLASK_ENCRYPTION_KEYS is not set: production needs encryption keys "
                "(generate one with `flask keys generate`)"
            )
        else:
            stored, current = crypto.local_keys(Path(app.instance_path))
            keys = crypto.parse_keys(stored)
        ring = crypto.Keyring(keys, current)
    except crypto.KeyError_ as exc:
        raise ConfigError(f"FLASK_ENCRYPTION_KEYS / FLASK_ENCRYPTION_KEY_ID: {exc}") from exc
    # Per app, so that two apps in one process (tests, a rotation script) never use each other's keys.
    app.extensions["keyring"] = ring
    crypto.configure(ring)


WEAK_SECRETS = {"dev", "secret", "changeme", "change-me", "development", "test", "secret-key", "your-secret-key"}


def refuse_unsafe(cfg: Any) -> None:
    """Production refuses a default or short secret key, insecure cookies, debug mode, per-process rate
    limits, disabled CSRF protection and test-only switches; every problem is named in one error."""
    problems = []
    key = str(cfg.get("SECRET_KEY") or "")
    if not key:
        problems.append("FLASK_SECRET_KEY is not set: production needs a long random key shared by all instances")
    elif len(key) < 32 or key.lower() in WEAK_SECRETS or len(set(key)) < 10:
        problems.append("FLASK_SECRET_KEY must be a random value of at least 32 characters")
    if not cfg.get("ENCRYPTION_KEYS"):
        problems.append(
            "FLASK_ENCRYPTION_KEYS is not set: production needs encryption keys "
            "(generate one with `flask keys generate`)"
        )
    if cfg.get("SESSION_COOKIE_DOMAIN") or str(cfg.get("SESSION_COOKIE_PATH") or "/") != "/":
        problems.append(
            "FLASK_SESSION_COOKIE_DOMAIN and FLASK_SESSION_COOKIE_PATH must not be set: the session "
            "cookie is a __Host- cookie (this host only, path /)"
        )
    if not cfg.get("SESSION_COOKIE_SECURE"):
        problems.append("FLASK_SESSION_COOKIE_SECURE must be true (cookies only over HTTPS)")
    if cfg.get("DEBUG"):
        problems.append("FLASK_DEBUG must be off")
    if str(cfg.get("RATELIMIT_STORAGE_URI", "")).startswith("memory"):
        problems.append("FLASK_RATELIMIT_STORAGE_URI must point at Redis (redis://...) so limits hold across instances")
    if not cfg.get("WTF_CSRF_ENABLED", True):
        problems.append("FLASK_WTF_CSRF_ENABLED must not be turned off")
    # Every outcome page tells the patient whom to call: an empty or placeholder value would leave a
    # patient who needs to talk to the clinic without a number.
    if cfg.get("DEMO_BOOKING"):
        problems.append("FLASK_DEMO_BOOKING is for the demonstration of `make run` and must be off")
    if not str(cfg.get("CLINIC_PHONE") or "").strip():
        problems.append("FLASK_CLINIC_PHONE is not set: outcome pages give patients this number to call")
    if str(cfg.get("CLINIC_NAME") or "").strip() in ("", DEFAULTS["CLINIC_NAME"]):
        problems.append("FLASK_CLINIC_NAME is not set: patients see it on every page")
    # Every start and outcome page carries the notice for the clinic's market (R8).
    if not str(cfg.get("REGULATORY_MARKET") or "").strip():
        problems.append(
            "FLASK_REGULATORY_MARKET is not set: patients must see the regulatory notice for the "
            "clinic's market (US, CA, AU, or another country code with FLASK_REGULATORY_NOTICE)"
        )
    proxies = cfg.get("PROXY_COUNT")
    if proxies is None or str(proxies).strip() == "":
        problems.append(
            "FLASK_PROXY_COUNT is not set: give the number of proxies in front of the app (0 when "
            "clients connect directly), or client addresses and rate limits are wrong"
        )
    elif not str(proxies).strip().isdecimal() or not 0 <= int(str(proxies).strip()) <= 10:
        problems.append("FLASK_PROXY_COUNT must be a whole number of proxies from 0 to 10")
    hosts = cfg.get("TRUSTED_HOSTS")
    if not hosts or isinstance(hosts, (str, bytes)) or not all(isinstance(h, str) and h.strip() for h in hosts):
        problems.append(
            "FLASK_TRUSTED_HOSTS is not set: give the host names of this site as a JSON list, "
            'e.g. ["forms.clinic.example"], so that requests for other Host headers are refused'
        )
    if cfg.get("TESTING") or cfg.get("TEST_FAIL_SUBMIT_COMMIT"):
        problems.append("FLASK_TESTING and FLASK_TEST_FAIL_SUBMIT_COMMIT are for tests only and must be off")
    if problems:
        raise ConfigError("unsafe production configuration:\n  " + "\n  ".join(problems))


def normalise_database_uri(uri: str) -> str:
    """Accept the usual postgres:// spellings and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    return uri


def _prefixed() -> dict[str, str]:
    return {k[len("FLASK_") :]: v for k, v in os.environ.items() if k.startswith("FLASK_")}


def _local_secret(app: Flask) -> str:
    """On a single machine without a configured key, keep one random key in the instance folder."""
    path = Path(app.instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
