"""Notifications (questionnaire/operations/notify.py) against a real SMTP server and a real HTTP receiver, both on
loopback: aiosmtpd's threaded Controller, and http.server in a thread on 127.0.0.1 with port 0."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from questionnaire.operations import notify, webhook_signature

from ..helpers import PERSONAS

SECRET = "webhook-secret-for-tests-0123456789"
CREATED = dt.datetime(2026, 11, 29, 9, 30, 12, tzinfo=dt.UTC)
BASE = "https://clinic.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- a real SMTP server ------------------------------------------------------------------------


@dataclass
class Mailbox:
    """aiosmtpd handler: keeps each message; refuses the first `refuse` DATA commands with `code`."""

    refuse: int = 0
    code: str = "451 4.3.0 Try again later"
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    data_commands: int = 0
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_commands += 1
        if self.data_commands <= self.refuse:
            return self.code
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"desk" and auth_data.password == b"s3cret-pass")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: Any) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and the CA file a client trusts it with)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def start_smtp(mailbox: Mailbox, **kwargs: Any) -> Controller:
    for _ in range(5):  # a free port may be taken between finding it and binding it: try another
        controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), ready_timeout=5, **kwargs)
        try:
            controller.start()
            return controller
        except (OSError, RuntimeError):
            continue
    raise RuntimeError("could not start the SMTP server")


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = start_smtp(mailbox)
    yield controller, mailbox
    controller.stop()


def email_config(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "STAFF_BASE_URL": BASE + "/",
        "NOTIFY_SMTP_HOST": "127.0.0.1",
        "NOTIFY_SMTP_PORT": port,
        "NOTIFY_SMTP_STARTTLS": False,
        "NOTIFY_EMAIL_FROM": "Questionnaire <noreply@clinic.example>",
        "NOTIFY_EMAIL_TO": "desk@clinic.example, nurse@clinic.example",
        "NOTIFY_ATTEMPTS": 3,
        "NOTIFY_RETRY_BASE_SECONDS": 0.05,
        "NOTIFY_TIMEOUT_SECONDS": 5,
        **extra,
    }


# --- a real HTTP receiver ----------------------------------------------------------------------


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes


class Receiver:
    """An HTTP server on 127.0.0.1 that answers each POST with the next status of `statuses`
    (then 204), after `delay` seconds, and keeps what it received."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.headers: dict[int, dict[str, str]] = {}
        self.delay = 0.0
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(Received(time.monotonic(), dict(self.headers.items()), body))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                for k, v in receiver.headers.get(status, {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/flagged?token=abc"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def webhook_config(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "STAFF_BASE_URL": BASE,
        "NOTIFY_WEBHOOK_URL": url,
        "NOTIFY_WEBHOOK_SECRET": SECRET,
        "NOTIFY_ATTEMPTS": 4,
        "NOTIFY_RETRY_BASE_SECONDS": 0.05,
        "NOTIFY_RETRY_MAX_SECONDS": 1,
        "NOTIFY_TIMEOUT_SECONDS": 2,
        **extra,
    }


# Everything about the patient that must never appear in a notification.
HEALTH_AND_CONTACT = sorted(
    {
        str(v)
        for p in PERSONAS.values()
        for v in p.values()
        if isinstance(v, (str, int)) and len(str(v)) > 3 and str(v) not in ("none", "patient", "not_applicable")
    }
    | {"Alex Example", "0161 496 0001", "warfarin", "blood_thinner", "faint", "chest"}
)


def assert_no_health_data(text: str) -> None:
    lowered = text.lower()
    for value in HEALTH_AND_CONTACT:
        assert value.lower() not in lowered, value
    assert "r_" not in lowered  # no rule ids


# --- email -------------------------------------------------------------------------------------


def test_a_discuss_before_booking_submission_sends_an_email_with_only_the_level_and_the_link(
    smtp: tuple[Controller, Mailbox],
) -> None:
    controller, mailbox = smtp
    records = notify.notify(
        email_config(controller.port), reference="ABCD-EFGH", level="discuss_before_booking", created_at=CREATED
    )
    assert [(r.channel, r.outcome, r.number, r.status) for r in records] == [("email", "delivered", 1, 250)]
    ((sender, recipients, raw),) = mailbox.messages
    assert sender == "noreply@clinic.example"
    assert recipients == ["desk@clinic.example", "nurse@clinic.example"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "Questionnaire needs attention: Discuss before booking"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content().replace("\r\n", "\n")
    assert body == (
        "A pre-consultation questionnaire was sent and needs attention.\n\n"
        "Level: Discuss before booking\n\n"
        "Open it in the staff area (you will need to sign in):\n"
        "https://clinic.example/staff/submissions/ABCD-EFGH\n\n"
        "This email has no answers or contact details in it. Please do not reply to it.\n"
    )
    assert_no_health_data(raw.decode("utf-8"))


def test_an_urgent_submission_sends_an_email_too(smtp: tuple[Controller, Mailbox]) -> None:
    controller, mailbox = smtp
    records = notify.notify(email_config(controller.port), reference="WXYZ-2345", level="urgent", created_at=CREATED)
    assert notify.summary(records) == {"email": "delivered"}
    message = email.message_from_bytes(mailbox.messages[0][2], policy=email.policy.default)
    assert message["Subject"] == "Questionnaire needs attention: Urgent"
    assert "https://clinic.example/staff/submissions/WXYZ-2345" in message.get_content()
    assert_no_health_data(mailbox.messages[0][2].decode("utf-8"))


@pytest.mark.parametrize("level", ["mention_at_consultation", "none"])
def test_nothing_is_sent_for_lower_levels(level: str, smtp: tuple[Controller, Mailbox], receiver: Receiver) -> None:
    controller, mailbox = smtp
    config = {**email_config(controller.port), **webhook_config(receiver.url)}
    assert notify.notify(config, reference="ABCD-EFGH", level=level, created_at=CREATED) == []
    time.sleep(0.1)
    assert mailbox.messages == [] and mailbox.data_commands == 0
    assert receiver.received == []


def test_nothing_is_sent_when_no_channel_is_configured() -> None:
    assert notify.notify({"STAFF_BASE_URL": BASE}, reference="ABCD-EFGH", level="urgent", created_at=CREATED) == []
    assert notify.check_config({}) == []


def test_a_temporary_smtp_refusal_is_retried_with_back_off() -> None:
    mailbox = Mailbox(refuse=2)
    controller = start_smtp(mailbox)
    try:
        records = notify.notify(
            email_config(controller.port), reference="ABCD-EFGH", level="urgent", created_at=CREATED
        )
    finally:
        controller.stop()
    assert [(r.number, r.outcome, r.status) for r in records] == [
        (1, "retry", 451),
        (2, "retry", 451),
        (3, "delivered", 250),
    ]
    assert [r.waited_seconds for r in records] == [0, 0.05, 0.1]
    assert "451" in (records[0].error or "")
    assert len(mailbox.messages) == 1
    assert len({r.delivery_id for r in records}) == 1


def test_a_permanent_smtp_refusal_is_not_retried() -> None:
    mailbox = Mailbox(refuse=5, code="550 5.7.1 Not allowed")
    controller = start_smtp(mailbox)
    try:
        records = notify.notify(
            email_config(controller.port), reference="ABCD-EFGH", level="urgent", created_at=CREATED
        )
    finally:
        controller.stop()
    assert [(r.number, r.outcome, r.status) for r in records] == [(1, "failed", 550)]
    assert mailbox.data_commands == 1


def test_email_over_starttls_with_a_login(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    mailbox = Mailbox()
    controller = start_smtp(
        mailbox,
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=mailbox.authenticator,
    )
    try:
        config = email_config(
            controller.port, NOTIFY_SMTP_STARTTLS=True, NOTIFY_SMTP_USER="desk", NOTIFY_SMTP_PASSWORD="s3cret-pass"
        )
        assert notify.check_config(config) == []
        client_tls = ssl.create_default_context(cafile=str(cert))
        records = notify.notify(
            config, reference="ABCD-EFGH", level="urgent", created_at=CREATED, ssl_context=client_tls
        )
        assert notify.summary(records) == {"email": "delivered"}
        assert mailbox.logins == [(b"desk", b"s3cret-pass")]
        assert len(mailbox.messages) == 1
        # An untrusted certificate is a permanent failure: no retry, no password sent.
        mailbox.logins.clear()
        records = notify.notify(config, reference="ABCD-EFGH", level="urgent", created_at=CREATED)
        assert [(r.number, r.outcome) for r in records] == [(1, "failed")]
        assert "CERTIFICATE_VERIFY_FAILED" in (records[0].error or "")
        assert mailbox.logins == []
    finally:
        controller.stop()


def test_email_over_implicit_tls(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    mailbox = Mailbox()
    controller = start_smtp(mailbox, ssl_context=server_tls)
    try:
        config = email_config(controller.port, NOTIFY_SMTP_SSL=True)
        records = notify.notify(
            config,
            reference="ABCD-EFGH",
            level="urgent",
            created_at=CREATED,
            ssl_context=ssl.create_default_context(cafile=str(cert)),
        )
    finally:
        controller.stop()
    assert notify.summary(records) == {"email": "delivered"}
    assert records[0].target == f"smtp://127.0.0.1:{controller.port}"
    assert len(mailbox.messages) == 1


def test_an_unreachable_smtp_server_is_retried_then_given_up() -> None:
    port = free_port()
    records = notify.notify(email_config(port), reference="ABCD-EFGH", level="urgent", created_at=CREATED)
    assert [(r.number, r.outcome) for r in records] == [(1, "retry"), (2, "retry"), (3, "failed")]
    assert all("ConnectionRefusedError" in (r.error or "") for r in records)


# --- webhook -----------------------------------------------------------------------------------


def test_the_webhook_is_signed_retried_with_back_off_and_every_attempt_is_recorded(receiver: Receiver) -> None:
    receiver.statuses = [500, 500]
    seen: list[notify.Attempt] = []
    records = notify.notify(
        webhook_config(receiver.url), reference="ABCD-EFGH", level="urgent", created_at=CREATED, on_attempt=seen.append
    )
    assert [(r.channel, r.number, r.outcome, r.status) for r in records] == [
        ("webhook", 1, "retry", 500),
        ("webhook", 2, "retry", 500),
        ("webhook", 3, "delivered", 204),
    ]
    assert seen == records
    assert [r.waited_seconds for r in records] == [0, 0.05, 0.1]
    assert [r.error for r in records] == ["HTTP 500", "HTTP 500", None]
    # Back-off really happened between the requests the receiver saw: at least base, then twice that.
    gaps = [b.at - a.at for a, b in zip(receiver.received, receiver.received[1:])]
    assert len(receiver.received) == 3 and gaps[0] >= 0.05 and gaps[1] >= 0.1
    bodies = {r.body for r in receiver.received}
    assert len(bodies) == 1
    body = bodies.pop()
    assert json.loads(body) == {
        "event": "submission.flagged",
        "level": "urgent",
        "reference": "ABCD-EFGH",
        "url": "https://clinic.example/staff/submissions/ABCD-EFGH",
        "created_at": "2026-11-29T09:30:12Z",
    }
    for got in receiver.received:
        headers = {k.lower(): v for k, v in got.headers.items()}
        assert headers["content-type"] == "application/json"
        assert headers["x-event"] == "submission.flagged"
        assert webhook_signature.verify_signature(SECRET, got.body, headers["x-timestamp"], headers["x-signature"])
        assert not webhook_signature.verify_signature(
            "another-secret-0123456789", got.body, headers["x-timestamp"], headers["x-signature"]
        )
        assert headers["x-delivery-id"] == records[0].delivery_id
    assert_no_health_data(body.decode("utf-8"))
    # The record keeps no path, query or token of the webhook URL, and stores as JSON.
    assert {r.target for r in records} == {f"http://127.0.0.1:{receiver.server.server_address[1]}"}
    stored = json.loads(json.dumps([r.as_dict() for r in records]))
    assert stored[0]["reference"] == "ABCD-EFGH" and stored[0]["outcome"] == "retry"
    assert "token" not in json.dumps(stored)


def test_a_webhook_that_keeps_failing_is_given_up_after_the_last_attempt(receiver: Receiver) -> None:
    receiver.statuses = [503] * 10
    started = time.monotonic()
    records = notify.notify(
        webhook_config(receiver.url, NOTIFY_ATTEMPTS=3),
        reference="ABCD-EFGH",
        level="discuss_before_booking",
        created_at=CREATED,
    )
    assert [(r.number, r.outcome, r.status) for r in records] == [
        (1, "retry", 503),
        (2, "retry", 503),
        (3, "failed", 503),
    ]
    assert len(receiver.received) == 3
    assert time.monotonic() - started < 5
    assert notify.summary(records) == {"webhook": "failed"}


def test_retry_after_is_honoured_up_to_the_maximum_delay(receiver: Receiver) -> None:
    receiver.statuses = [429]
    receiver.headers = {429: {"Retry-After": "30"}}
    records = notify.notify(
        webhook_config(receiver.url, NOTIFY_RETRY_MAX_SECONDS=0.3),
        reference="ABCD-EFGH",
        level="urgent",
        created_at=CREATED,
    )
    assert [(r.outcome, r.status, r.waited_seconds) for r in records] == [("retry", 429, 0), ("delivered", 204, 0.3)]


@pytest.mark.parametrize("status", [400, 401, 404, 302])
def test_client_errors_and_redirects_are_not_retried(receiver: Receiver, status: int) -> None:
    receiver.statuses = [status]
    receiver.headers = {302: {"Location": "http://127.0.0.1:9/elsewhere"}}
    records = notify.notify(webhook_config(receiver.url), reference="ABCD-EFGH", level="urgent", created_at=CREATED)
    assert [(r.outcome, r.status) for r in records] == [("failed", status)]
    assert len(receiver.received) == 1


def test_a_slow_receiver_times_out_and_is_retried(receiver: Receiver) -> None:
    receiver.delay = 0.6
    records = notify.notify(
        webhook_config(receiver.url, NOTIFY_TIMEOUT_SECONDS=0.2, NOTIFY_ATTEMPTS=2),
        reference="ABCD-EFGH",
        level="urgent",
        created_at=CREATED,
    )
    assert [r.outcome for r in records] == ["retry", "failed"]
    assert all("timed out" in (r.error or "") for r in records)
    assert all(r.duration_ms < 1000 for r in records)


def test_an_unreachable_receiver_is_retried_then_given_up() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    records = notify.notify(
        webhook_config(url, NOTIFY_ATTEMPTS=3), reference="ABCD-EFGH", level="urgent", created_at=CREATED
    )
    assert [(r.number, r.outcome, r.status) for r in records] == [
        (1, "retry", None),
        (2, "retry", None),
        (3, "failed", None),
    ]
    assert all("Connection refused" in (r.error or "") for r in records)


def test_both_channels_are_used_when_both_are_configured(smtp: tuple[Controller, Mailbox], receiver: Receiver) -> None:
    controller, mailbox = smtp
    config = {**email_config(controller.port), **webhook_config(receiver.url)}
    records = notify.notify(config, reference="ABCD-EFGH", level="urgent", created_at=CREATED)
    assert notify.summary(records) == {"email": "delivered", "webhook": "delivered"}
    assert len(mailbox.messages) == 1 and len(receiver.received) == 1


# --- signatures and settings -------------------------------------------------------------------


def test_a_signature_is_refused_for_another_body_an_old_timestamp_or_a_bad_header() -> None:
    body = b'{"event":"submission.flagged"}'
    now = 1_800_000_000
    good = webhook_signature.signature(SECRET, str(now), body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert webhook_signature.verify_signature(SECRET, body, str(now), good, now=now + 10)
    assert not webhook_signature.verify_signature(SECRET, body + b" ", str(now), good, now=now)
    assert not webhook_signature.verify_signature(SECRET, body, str(now + 1), good, now=now)  # the timestamp is signed
    assert not webhook_signature.verify_signature(SECRET, body, str(now), good, now=now + 301)  # too old
    assert not webhook_signature.verify_signature(SECRET, body, str(now), good.removeprefix("sha256="), now=now)
    assert not webhook_signature.verify_signature(SECRET, body, None, good, now=now)
    assert not webhook_signature.verify_signature(SECRET, body, "soon", good, now=now)


def test_back_off_doubles_up_to_the_cap() -> None:
    config = {"NOTIFY_RETRY_BASE_SECONDS": 2, "NOTIFY_RETRY_MAX_SECONDS": 10}
    assert [notify.backoff(config, n) for n in range(1, 7)] == [0, 2, 4, 8, 10, 10]
    assert [notify.backoff({}, n) for n in range(1, 4)] == [0, 2, 4]  # defaults


@pytest.mark.parametrize(
    "settings, problem",
    [
        ({"NOTIFY_SMTP_HOST": "smtp.example", "NOTIFY_EMAIL_TO": "desk@clinic.example"}, "NOTIFY_EMAIL_FROM"),
        ({"NOTIFY_SMTP_HOST": "smtp.example"}, "go together"),
        (
            {"NOTIFY_SMTP_HOST": "smtp.example", "NOTIFY_EMAIL_TO": "desk", "NOTIFY_EMAIL_FROM": "a@b.c"},
            "'desk' is not an email address",
        ),
        (
            {
                "NOTIFY_SMTP_HOST": "smtp.example",
                "NOTIFY_EMAIL_TO": "d@c.e",
                "NOTIFY_EMAIL_FROM": "a@b.c",
                "NOTIFY_SMTP_USER": "u",
                "NOTIFY_SMTP_PASSWORD": "p",
                "NOTIFY_SMTP_STARTTLS": False,
            },
            "in clear",
        ),
        ({"NOTIFY_WEBHOOK_URL": "file:///etc/passwd", "NOTIFY_WEBHOOK_SECRET": SECRET}, "http:// or https://"),
        ({"NOTIFY_WEBHOOK_URL": "https://hooks.example/x"}, "NOTIFY_WEBHOOK_SECRET"),
        ({"NOTIFY_WEBHOOK_URL": "https://hooks.example/x", "NOTIFY_WEBHOOK_SECRET": "short"}, "at least 16"),
        (
            {"NOTIFY_WEBHOOK_URL": "http://hooks.example/x", "NOTIFY_WEBHOOK_SECRET": SECRET, "PRODUCTION": True},
            "https in production",
        ),
        (
            {"NOTIFY_WEBHOOK_URL": "https://hooks.example/x", "NOTIFY_WEBHOOK_SECRET": SECRET, "NOTIFY_ATTEMPTS": 50},
            "between 1 and 10",
        ),
    ],
)
def test_settings_that_cannot_work_are_reported(settings: dict[str, Any], problem: str) -> None:
    config = {"STAFF_BASE_URL": BASE, **settings}
    problems = notify.check_config(config)
    assert any(problem in p for p in problems), problems
    if notify.email_enabled(config) or notify.webhook_enabled(config):
        with pytest.raises(notify.NotifyConfigError, match="notification settings"):
            notify.notify(config, reference="ABCD-EFGH", level="urgent", created_at=CREATED)


def test_a_channel_needs_the_staff_base_url_for_its_link() -> None:
    problems = notify.check_config({"NOTIFY_WEBHOOK_URL": "https://hooks.example/x", "NOTIFY_WEBHOOK_SECRET": SECRET})
    assert any("STAFF_BASE_URL" in p for p in problems)
    assert (
        notify.check_config(
            {
                "NOTIFY_WEBHOOK_URL": "http://127.0.0.1:9/x",
                "NOTIFY_WEBHOOK_SECRET": SECRET,
                "STAFF_BASE_URL": BASE,
                "PRODUCTION": True,
            }
        )
        == []
    )  # loopback may be http
    assert (
        notify.staff_url({"STAFF_BASE_URL": "https://clinic.example/"}, "ABCD-EFGH")
        == "https://clinic.example/staff/submissions/ABCD-EFGH"
    )
