"""Tell the front desk that a flagged submission arrived: an email and a signed webhook (no Flask).

Only submissions at `urgent` or `discuss_before_booking` level are announced. Neither channel
carries health data: the email has the level and a link to the staff page, the webhook a small
JSON body with the event, level, reference, link and time. Staff sign in to see the answers.

Synchronous and bounded: every network call has a timeout and retries are limited in number and
delay, so the worst case is about attempts x (timeout + max delay). The caller decides whether to
run `notify()` in a thread; it returns (and can stream through `on_attempt`) one `Attempt` record
per delivery attempt, for the caller to store.

Configuration (a mapping such as `app.config`, keys NOTIFY_* and STAFF_BASE_URL, defaults in DEFAULTS)
and the webhook request (body, X-Delivery-Id, X-Timestamp, X-Signature: sha256=HMAC over
"TIMESTAMP.BODY"; `verify_signature()` is the receiver's check) are described in docs/notifications.md.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from questionnaire.operations.webhook_signature import signature

EVENT = "submission.flagged"
NOTIFY_LEVELS = frozenset({"urgent", "discuss_before_booking"})
LEVEL_LABELS = {"urgent": "Urgent", "discuss_before_booking": "Discuss before booking"}
USER_AGENT = "ozone-questionnaire-notify/1"
MIN_SECRET_LENGTH = 16
DEFAULTS: dict[str, Any] = {
    "NOTIFY_SMTP_STARTTLS": True,
    "NOTIFY_SMTP_SSL": False,
    "NOTIFY_ATTEMPTS": 5,
    "NOTIFY_RETRY_BASE_SECONDS": 2.0,
    "NOTIFY_RETRY_MAX_SECONDS": 60.0,
    "NOTIFY_TIMEOUT_SECONDS": 10.0,
}


class NotifyConfigError(ValueError):
    """Notification settings that cannot work; the message lists every problem."""


@dataclass(frozen=True)
class Flagged:
    """What the notifications say: nothing but the level, the reference, the staff link and the time."""

    reference: str
    level: str
    url: str
    created_at: datetime


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt, as the caller stores it (no health data, no secrets, no URL paths)."""

    channel: str  # "email" | "webhook"
    delivery_id: str  # one per channel and submission; the webhook's X-Delivery-Id
    reference: str
    level: str
    number: int  # 1, 2, ... within this delivery
    at: datetime  # when the attempt started (UTC)
    waited_seconds: float  # back-off slept before this attempt
    duration_ms: int
    outcome: str  # "delivered" | "retry" (another attempt follows) | "failed" (given up)
    status: int | None  # HTTP status or SMTP reply code, when there was one
    error: str | None  # short reason when not delivered
    target: str  # smtp://host:port or scheme://host:port of the webhook

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out


# --- configuration ---------------------------------------------------------------------------


def _get(config: Mapping[str, Any], key: str) -> Any:
    value = config.get(key)
    return DEFAULTS.get(key) if value is None or value == "" else value


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _recipients(config: Mapping[str, Any]) -> list[str]:
    raw = config.get("NOTIFY_EMAIL_TO") or []
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return [str(r).strip() for r in items if str(r).strip()]


def email_enabled(config: Mapping[str, Any]) -> bool:
    return bool(config.get("NOTIFY_SMTP_HOST")) and bool(_recipients(config))


def webhook_enabled(config: Mapping[str, Any]) -> bool:
    return bool(config.get("NOTIFY_WEBHOOK_URL"))


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_config(config: Mapping[str, Any]) -> list[str]:
    """Every problem with the notification settings (empty when fine or when both channels are off).

    Call it at start-up so that a bad setting stops the app instead of a notification failing later.
    """
    problems: list[str] = []
    email, webhook = email_enabled(config), webhook_enabled(config)
    if bool(config.get("NOTIFY_SMTP_HOST")) != bool(_recipients(config)):
        problems.append("NOTIFY_SMTP_HOST and NOTIFY_EMAIL_TO go together: set both for email, or neither")
    if email:
        if "@" not in parseaddr(str(config.get("NOTIFY_EMAIL_FROM") or ""))[1]:
            problems.append("NOTIFY_EMAIL_FROM must be an email address")
        for r in _recipients(config):
            if "@" not in parseaddr(r)[1]:
                problems.append(f"NOTIFY_EMAIL_TO: {r!r} is not an email address")
        if bool(config.get("NOTIFY_SMTP_USER")) != bool(config.get("NOTIFY_SMTP_PASSWORD")):
            problems.append("NOTIFY_SMTP_USER and NOTIFY_SMTP_PASSWORD go together")
        tls = _bool(_get(config, "NOTIFY_SMTP_STARTTLS")) or _bool(_get(config, "NOTIFY_SMTP_SSL"))
        if config.get("NOTIFY_SMTP_USER") and not tls:
            problems.append(
                "NOTIFY_SMTP_USER needs NOTIFY_SMTP_STARTTLS or NOTIFY_SMTP_SSL: the password must not travel in clear"
            )
    if webhook:
        parts = urllib.parse.urlsplit(str(config["NOTIFY_WEBHOOK_URL"]))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append("NOTIFY_WEBHOOK_URL must be an http:// or https:// URL")
        elif _bool(config.get("PRODUCTION")) and parts.scheme != "https" and not _is_loopback(parts.hostname):
            problems.append("NOTIFY_WEBHOOK_URL must use https in production")
        if len(str(config.get("NOTIFY_WEBHOOK_SECRET") or "")) < MIN_SECRET_LENGTH:
            problems.append(f"NOTIFY_WEBHOOK_SECRET must be set, at least {MIN_SECRET_LENGTH} characters")
    if email or webhook:
        base = urllib.parse.urlsplit(str(config.get("STAFF_BASE_URL") or ""))
        if base.scheme not in ("http", "https") or not base.hostname:
            problems.append("STAFF_BASE_URL must be the staff site's address, such as https://clinic.example")
    try:
        if not 1 <= int(_get(config, "NOTIFY_ATTEMPTS")) <= 10:
            problems.append("NOTIFY_ATTEMPTS must be between 1 and 10")
        if float(_get(config, "NOTIFY_RETRY_BASE_SECONDS")) < 0 or float(_get(config, "NOTIFY_RETRY_MAX_SECONDS")) < 0:
            problems.append("NOTIFY_RETRY_BASE_SECONDS and NOTIFY_RETRY_MAX_SECONDS cannot be negative")
        if float(_get(config, "NOTIFY_TIMEOUT_SECONDS")) <= 0:
            problems.append("NOTIFY_TIMEOUT_SECONDS must be more than 0")
    except (TypeError, ValueError):
        problems.append("NOTIFY_ATTEMPTS, NOTIFY_RETRY_*_SECONDS and NOTIFY_TIMEOUT_SECONDS must be numbers")
    return problems


def staff_url(config: Mapping[str, Any], reference: str) -> str:
    return str(config.get("STAFF_BASE_URL") or "").rstrip("/") + "/staff/submissions/" + urllib.parse.quote(reference)


def should_notify(level: str) -> bool:
    return level in NOTIFY_LEVELS


def _utc(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _iso(value: datetime) -> str:
    return _utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- retries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    ok: bool
    status: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None


def backoff(config: Mapping[str, Any], number: int) -> float:
    """Seconds to wait before attempt `number` (1-based): 0, base, 2 base, 4 base, ... capped."""
    if number <= 1:
        return 0.0
    base = float(_get(config, "NOTIFY_RETRY_BASE_SECONDS"))
    return min(float(_get(config, "NOTIFY_RETRY_MAX_SECONDS")), base * 2.0 ** (number - 2))


def _deliver(
    channel: str,
    flagged: Flagged,
    config: Mapping[str, Any],
    target: str,
    delivery_id: str,
    attempt: Callable[[], _Result],
    sleep: Callable[[float], None],
    on_attempt: Callable[[Attempt], None] | None,
) -> list[Attempt]:
    records: list[Attempt] = []
    total = int(_get(config, "NOTIFY_ATTEMPTS"))
    wait = 0.0
    for number in range(1, total + 1):
        if wait > 0:
            sleep(wait)
        at, start = datetime.now(UTC), time.monotonic()
        try:
            result = attempt()
        except Exception as exc:  # noqa: BLE001 - a notification must never take the caller down
            result = _Result(False, error=_describe(exc), retryable=False)
        if result.ok:
            outcome = "delivered"
        elif result.retryable and number < total:
            outcome = "retry"
        else:
            outcome = "failed"
        record = Attempt(
            channel,
            delivery_id,
            flagged.reference,
            flagged.level,
            number,
            at,
            round(wait, 3),
            int((time.monotonic() - start) * 1000),
            outcome,
            result.status,
            None if result.ok else (result.error or "failed")[:200],
            target,
        )
        records.append(record)
        if on_attempt is not None:
            on_attempt(record)
        if outcome != "retry":
            break
        cap = float(_get(config, "NOTIFY_RETRY_MAX_SECONDS"))
        wait = max(backoff(config, number + 1), min(result.retry_after or 0.0, cap))
    return records


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason if reason is not None else exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]


# --- email ---------------------------------------------------------------------------------


def email_message(config: Mapping[str, Any], flagged: Flagged) -> EmailMessage:
    """The email: the level and the staff link, nothing else about the patient."""
    label = LEVEL_LABELS.get(flagged.level, flagged.level)
    sender = str(config.get("NOTIFY_EMAIL_FROM") or "")
    msg = EmailMessage()
    msg["Subject"] = f"Questionnaire needs attention: {label}"  # short: a folded subject reads badly
    msg["From"] = sender
    msg["To"] = ", ".join(_recipients(config))
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid("notify", domain=parseaddr(sender)[1].rpartition("@")[2] or "localhost")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        "A pre-consultation questionnaire was sent and needs attention.\n"
        "\n"
        f"Level: {label}\n"
        "\n"
        "Open it in the staff area (you will need to sign in):\n"
        f"{flagged.url}\n"
        "\n"
        "This email has no answers or contact details in it. Please do not reply to it.\n"
    )
    return msg


def _smtp_result(exc: BaseException) -> _Result:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _m in exc.recipients.values()]
        return _Result(
            False,
            codes[0] if codes else None,
            f"all {len(codes)} recipients refused",
            retryable=bool(codes) and all(400 <= c < 500 for c in codes),
        )
    if isinstance(exc, (smtplib.SMTPNotSupportedError, smtplib.SMTPAuthenticationError, ssl.SSLCertVerificationError)):
        return _Result(False, code, _describe(exc), retryable=False)
    if isinstance(exc, smtplib.SMTPResponseException):
        message = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        )
        return _Result(False, exc.smtp_code, f"{exc.smtp_code} {message}"[:200], retryable=400 <= exc.smtp_code < 500)
    # Connection refused or reset, timeouts, a server that hung up: try again later.
    return _Result(False, code, _describe(exc), retryable=isinstance(exc, (OSError, smtplib.SMTPException)))


def send_email(
    config: Mapping[str, Any],
    flagged: Flagged,
    *,
    ssl_context: ssl.SSLContext | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> list[Attempt]:
    """Send the email, retrying temporary failures (4xx replies, connection problems) with back-off."""
    host = str(config["NOTIFY_SMTP_HOST"])
    use_ssl = _bool(_get(config, "NOTIFY_SMTP_SSL"))
    starttls = _bool(_get(config, "NOTIFY_SMTP_STARTTLS")) and not use_ssl
    port = int(config.get("NOTIFY_SMTP_PORT") or (465 if use_ssl else 587 if starttls else 25))
    timeout = float(_get(config, "NOTIFY_TIMEOUT_SECONDS"))
    user, password = config.get("NOTIFY_SMTP_USER"), config.get("NOTIFY_SMTP_PASSWORD")
    message = email_message(config, flagged)
    context = ssl_context or ssl.create_default_context()

    def attempt() -> _Result:
        try:
            smtp: smtplib.SMTP
            if use_ssl:
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
            with smtp:
                if starttls:
                    smtp.starttls(context=context)
                if user:
                    if not (starttls or use_ssl):
                        return _Result(False, error="refusing to send the SMTP password without TLS")
                    smtp.login(str(user), str(password or ""))
                refused = smtp.send_message(message)
            if refused:
                return _Result(True, 250, f"{len(refused)} of the recipients refused")
            return _Result(True, 250)
        except (smtplib.SMTPException, OSError) as exc:
            return _smtp_result(exc)

    return _deliver("email", flagged, config, f"smtp://{host}:{port}", uuid.uuid4().hex, attempt, sleep, on_attempt)


# --- webhook -------------------------------------------------------------------------------


def webhook_body(flagged: Flagged) -> bytes:
    """The exact JSON body that is signed and sent."""
    return json.dumps(
        {
            "event": EVENT,
            "level": flagged.level,
            "reference": flagged.reference,
            "url": flagged.url,
            "created_at": _iso(flagged.created_at),
        },
        separators=(",", ":"),
    ).encode("utf-8")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: the signed body is never re-sent to another address."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def send_webhook(
    config: Mapping[str, Any],
    flagged: Flagged,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> list[Attempt]:
    """POST the signed JSON body; retry connection errors, timeouts, 408, 429 and 5xx with back-off."""
    url = str(config["NOTIFY_WEBHOOK_URL"])
    secret = str(config.get("NOTIFY_WEBHOOK_SECRET") or "")
    timeout = float(_get(config, "NOTIFY_TIMEOUT_SECONDS"))
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise NotifyConfigError("NOTIFY_WEBHOOK_URL must be an http:// or https:// URL")
    target = f"{parts.scheme}://{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    body = webhook_body(flagged)
    delivery_id = uuid.uuid4().hex
    opener = urllib.request.build_opener(_NoRedirects)

    def attempt() -> _Result:
        timestamp = str(int(clock()))
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-Event": EVENT,
                "X-Delivery-Id": delivery_id,
                "X-Timestamp": timestamp,
                "X-Signature": signature(secret, timestamp, body),
            },
        )
        try:
            with opener.open(request, timeout=timeout) as response:
                response.read(65536)
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            with exc:
                status = exc.code
                retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            if 300 <= status < 400:
                return _Result(False, status, f"HTTP {status}: redirects are not followed")
            return _Result(
                False,
                status,
                f"HTTP {status}",
                retryable=status in (408, 429) or status >= 500,
                retry_after=retry_after,
            )
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            return _Result(False, None, _describe(exc), retryable=True)
        if 200 <= status < 300:
            return _Result(True, status)
        return _Result(False, status, f"HTTP {status}")

    return _deliver("webhook", flagged, config, target, delivery_id, attempt, sleep, on_attempt)


# --- the entry point -------------------------------------------------------------------------


def notify(
    config: Mapping[str, Any],
    *,
    reference: str,
    level: str,
    created_at: datetime,
    ssl_context: ssl.SSLContext | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> list[Attempt]:
    """Announce a flagged submission on every configured channel; [] for other levels or no channel.

    Raises NotifyConfigError for settings that cannot work (check_config() at start-up avoids it);
    delivery failures are never raised, only recorded.
    """
    if not should_notify(level) or not (email_enabled(config) or webhook_enabled(config)):
        return []
    problems = check_config(config)
    if problems:
        raise NotifyConfigError("notification settings:\n  " + "\n  ".join(problems))
    flagged = Flagged(reference, level, staff_url(config, reference), _utc(created_at))
    records: list[Attempt] = []
    if email_enabled(config):
        records += send_email(config, flagged, ssl_context=ssl_context, sleep=sleep, on_attempt=on_attempt)
    if webhook_enabled(config):
        records += send_webhook(config, flagged, sleep=sleep, on_attempt=on_attempt)
    return records


def summary(records: Sequence[Attempt]) -> dict[str, str]:
    """The final outcome per channel, e.g. {"email": "delivered", "webhook": "failed"}."""
    return {r.channel: r.outcome for r in records if r.outcome != "retry"}
