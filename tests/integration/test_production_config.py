"""Production (FLASK_PRODUCTION=true) refuses to start with an unsafe setting, naming the setting."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from questionnaire import create_app
from questionnaire.config import ConfigError, refuse_unsafe

ROOT = Path(__file__).resolve().parents[2]
KEY = "dGVzdC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMtISE="


def good(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "PRODUCTION": True,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SESSION_COOKIE_SECURE": True,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/prod.db",
        "ENCRYPTION_KEYS": {"k1": KEY},
        "ENCRYPTION_KEY_ID": "k1",
        "CLINIC_NAME": "Riverside Clinic",
        "CLINIC_PHONE": "0161 496 0000",
        "REGULATORY_MARKET": "US",
        "PROXY_COUNT": 1,
        "TRUSTED_HOSTS": ["forms.clinic.example"],
    }
    settings.update(extra)
    return {k: v for k, v in settings.items() if v is not None}


def test_a_safe_production_configuration_starts(tmp_path: Path) -> None:
    app = create_app(good(tmp_path))
    assert app.config["PRODUCTION"] and not app.debug
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["WTF_CSRF_ENABLED"] is not False and app.config["WTF_CSRF_TIME_LIMIT"] is None
    assert app.config["MAX_CONTENT_LENGTH"] <= 64 * 1024
    assert app.config["TEST_FAIL_SUBMIT_COMMIT"] is False


@pytest.mark.parametrize(
    "change, setting",
    [
        ({"SECRET_KEY": None}, "FLASK_SECRET_KEY"),
        ({"SECRET_KEY": ""}, "FLASK_SECRET_KEY"),
        ({"SECRET_KEY": "dev"}, "FLASK_SECRET_KEY"),
        ({"SECRET_KEY": "changeme"}, "FLASK_SECRET_KEY"),
        ({"SECRET_KEY": secrets.token_urlsafe(48)[:31]}, "FLASK_SECRET_KEY"),
        ({"SECRET_KEY": "a" * 64}, "FLASK_SECRET_KEY"),
        ({"SECRET_KEY": "abababababababababababababababababab"}, "FLASK_SECRET_KEY"),
        ({"SESSION_COOKIE_SECURE": False}, "FLASK_SESSION_COOKIE_SECURE"),
        ({"SESSION_COOKIE_SECURE": None}, "FLASK_SESSION_COOKIE_SECURE"),
        ({"DEBUG": True}, "FLASK_DEBUG"),
        ({"RATELIMIT_STORAGE_URI": None}, "FLASK_RATELIMIT_STORAGE_URI"),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, "FLASK_RATELIMIT_STORAGE_URI"),
        ({"ENCRYPTION_KEYS": None, "ENCRYPTION_KEY_ID": None}, "FLASK_ENCRYPTION_KEYS"),
        ({"ENCRYPTION_KEYS": {}}, "FLASK_ENCRYPTION_KEYS"),
        ({"WTF_CSRF_ENABLED": False}, "FLASK_WTF_CSRF_ENABLED"),
        ({"TESTING": True}, "FLASK_TESTING"),
        ({"TEST_FAIL_SUBMIT_COMMIT": True}, "FLASK_TEST_FAIL_SUBMIT_COMMIT"),
        ({"CLINIC_PHONE": None}, "FLASK_CLINIC_PHONE"),
        ({"CLINIC_PHONE": "  "}, "FLASK_CLINIC_PHONE"),
        ({"CLINIC_NAME": None}, "FLASK_CLINIC_NAME"),
        ({"CLINIC_NAME": "Our clinic"}, "FLASK_CLINIC_NAME"),
        ({"REGULATORY_MARKET": None}, "FLASK_REGULATORY_MARKET"),
        ({"REGULATORY_MARKET": " "}, "FLASK_REGULATORY_MARKET"),
        ({"PROXY_COUNT": None}, "FLASK_PROXY_COUNT"),
        ({"PROXY_COUNT": "one"}, "FLASK_PROXY_COUNT"),
        ({"TRUSTED_HOSTS": None}, "FLASK_TRUSTED_HOSTS"),
        ({"TRUSTED_HOSTS": []}, "FLASK_TRUSTED_HOSTS"),
        ({"TRUSTED_HOSTS": "forms.clinic.example"}, "FLASK_TRUSTED_HOSTS"),
    ],
)
def test_each_unsafe_setting_is_refused_by_name(tmp_path: Path, change: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        create_app(good(tmp_path, **change))
    assert setting in str(caught.value)
    # Refused before anything was written: no local key files in production.
    assert not list(tmp_path.iterdir())


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        refuse_unsafe(
            {"SECRET_KEY": "dev", "SESSION_COOKIE_SECURE": False, "DEBUG": True, "RATELIMIT_STORAGE_URI": "memory://"}
        )
    message = str(caught.value)
    for setting in ("FLASK_SECRET_KEY", "FLASK_SESSION_COOKIE_SECURE", "FLASK_DEBUG", "FLASK_RATELIMIT_STORAGE_URI"):
        assert setting in message
    # The message names the setting, never the secret value itself.
    with pytest.raises(ConfigError) as caught:
        refuse_unsafe(
            {
                "SECRET_KEY": "short-but-secret-value",
                "SESSION_COOKIE_SECURE": True,
                "RATELIMIT_STORAGE_URI": "redis://x",
            }
        )
    assert "short-but-secret-value" not in str(caught.value)


def test_outside_production_the_same_settings_start(tmp_path: Path) -> None:
    app = create_app(
        good(
            tmp_path,
            PRODUCTION=False,
            SECRET_KEY="dev-only-key",
            SESSION_COOKIE_SECURE=False,
            RATELIMIT_STORAGE_URI="memory://",
        )
    )
    assert not app.config["PRODUCTION"]


# --- the same through environment variables, as an instance really starts -----------------------------


@pytest.fixture
def clean_env(production_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A safe production environment: the shared one (tests/integration/conftest.py) with a market."""
    production_env.setenv("FLASK_REGULATORY_MARKET", "US")
    return production_env


def test_environment_configuration_starts_when_safe(clean_env: pytest.MonkeyPatch) -> None:
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.extensions["keyring"].current == "k1"


@pytest.mark.parametrize(
    "name, value, setting",
    [
        ("FLASK_SESSION_COOKIE_SECURE", "false", "FLASK_SESSION_COOKIE_SECURE"),
        ("FLASK_DEBUG", "true", "FLASK_DEBUG"),
        ("FLASK_SECRET_KEY", "secret", "FLASK_SECRET_KEY"),
        ("FLASK_RATELIMIT_STORAGE_URI", "memory://", "FLASK_RATELIMIT_STORAGE_URI"),
        ("FLASK_ENCRYPTION_KEYS", "", "FLASK_ENCRYPTION_KEYS"),
        ("FLASK_CLINIC_PHONE", "", "FLASK_CLINIC_PHONE"),
        ("FLASK_REGULATORY_MARKET", "", "FLASK_REGULATORY_MARKET"),
    ],
)
def test_environment_configuration_is_refused_when_unsafe(
    clean_env: pytest.MonkeyPatch, name: str, value: str, setting: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=setting):
        create_app()


@pytest.mark.parametrize("missing", ["FLASK_PROXY_COUNT", "FLASK_TRUSTED_HOSTS"])
def test_a_missing_proxy_count_or_trusted_hosts_is_refused_with_a_clear_message(
    clean_env: pytest.MonkeyPatch, missing: str
) -> None:
    """Without FLASK_PROXY_COUNT every client behind the balancer shares its address (one patient's flood
    limits everyone; sign-in limits hit the whole clinic); without FLASK_TRUSTED_HOSTS any Host header
    is answered. Production says which setting is missing and how to set it."""
    clean_env.delenv(missing)
    with pytest.raises(ConfigError) as caught:
        create_app()
    message = str(caught.value)
    assert f"{missing} is not set" in message
    other = ({"FLASK_PROXY_COUNT", "FLASK_TRUSTED_HOSTS"} - {missing}).pop()
    assert other not in message


def test_trusted_hosts_refuse_another_host_header(clean_env: pytest.MonkeyPatch) -> None:
    client = create_app().test_client()
    assert client.get("/healthz", headers={"Host": "forms.clinic.example"}).status_code != 400
    assert client.get("/healthz", headers={"Host": "evil.example"}).status_code == 400


def test_the_command_line_refuses_too_with_a_readable_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_") and k != "DATABASE_URL"}
    env.update(
        {
            "FLASK_PRODUCTION": "true",
            "FLASK_SECRET_KEY": "dev",
            "PYTHONDONTWRITEBYTECODE": "1",
            "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/cli.db",
        }
    )
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "rules", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "FLASK_SECRET_KEY" in done.stderr
