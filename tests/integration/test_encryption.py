"""Field-level encryption: planted canary values never appear in the raw database (SQLite file and
write-ahead log, or a pg_dump of PostgreSQL); look-up by reference still works; keys rotate in
resumable batches while old values keep decrypting; production refuses to start without keys."""

from __future__ import annotations

import base64
import re
import secrets
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Text, create_engine, select, text, type_coerce, update
from sqlalchemy.engine import make_url

from questionnaire import create_app
from questionnaire.config import ConfigError
from questionnaire.data import crypto, store
from questionnaire.data.models import Clock, Draft, Note, StaffSession, Submission
from questionnaire.extensions import db

from ..helpers import EVERY_PAGE, Patient, session_data
from ..staff_factory import add_submissions, audit_rows
from ..staff_helpers import PASSWORD, current_code, make_staff, token_of
from .test_production_config import good

pytestmark = pytest.mark.usefixtures("cheap_hashing")

KEY1 = "dGVzdC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMtISE="  # tests.conftest.test_settings: "test1"
KEY2 = base64.b64encode(b"rotation-test-key-2-thirty-two!!").decode()


# --- planting canaries through the real flows -----------------------------------------------------


@dataclass
class Planted:
    """What a full run put in: canary values (must never be readable at rest or in logs) and secrets."""

    canaries: dict[str, str]
    reference: str
    draft_reference: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)


def canary_answers(tag: str) -> tuple[dict[str, Any], dict[str, str]]:
    digits = "".join(secrets.choice("0123456789") for _ in range(7))
    canaries = {
        "contact_name": f"Zebedee Quux{tag}name",
        "contact_phone": f"07700 9{digits}",
        "contact_email": f"canary{tag}@mail.example",
        "injection_body_area": f"Left knee CANARY{tag}site",
        "medicines_list": f"Canarymedicine{tag} 20 mg",
        "other_concerns": f"Worried about CANARY{tag}concern ñandú 猫",
        "blood_thinner_name": f"Thinnerol{tag}",
        "prior_ozone_problem_details": f"A rash CANARY{tag}rash",
    }
    return {**EVERY_PAGE, **canaries}, canaries


def staff_sign_in(client: FlaskClient, email: str, secret: str, planted: Planted) -> None:
    page = client.get("/staff/sign-in")
    response = client.post(
        "/staff/sign-in",
        data={"csrf_token": token_of(page.get_data(as_text=True)), "email": email, "password": PASSWORD},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    page = client.get(response.location)
    code = current_code(secret)
    response = client.post(response.location, data={"csrf_token": token_of(page.get_data(as_text=True)), "code": code})
    assert response.status_code == 302
    planted.secrets["totp_code"] = code
    cookie = client.get_cookie("oq_staff", path="/staff")
    assert cookie is not None
    planted.secrets["staff_session"] = cookie.value


def plant(app: Flask, clock: Clock | None = None) -> Planted:
    """A patient sends canary answers, another keeps an unsent canary draft, staff add a canary note,
    change the status, and (with a clock) leave a canary note pending across an idle timeout."""
    tag = uuid.uuid4().hex[:10]
    answers, canaries = canary_answers(tag)
    patient = Patient(app.test_client())
    page = patient.complete(answers)
    assert page.status_code == 200
    sub = store_reference(app)
    planted = Planted(canaries=dict(canaries), reference=sub)
    patient_cookie = patient.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert patient_cookie is not None
    planted.secrets["patient_session"] = patient_cookie.value
    planted.secrets["draft_token"] = session_data(patient.client)["draft"]

    # An unsent draft with its own canaries (drafts hold answers too).
    draft_answers, draft_canaries = canary_answers(tag + "d")
    unsent = Patient(app.test_client())
    unsent.complete(draft_answers, send=False)
    planted.canaries.update({f"draft_{k}": v for k, v in draft_canaries.items()})

    secret = make_staff(app, "clinician@clinic.example", "clinician")
    staff = app.test_client()
    staff_sign_in(staff, "clinician@clinic.example", secret, planted)
    planted.secrets["password"] = PASSWORD
    detail = staff.get(f"/staff/submissions/{sub}")
    assert detail.status_code == 200
    html = detail.get_data(as_text=True)
    assert canaries["contact_name"] in html and canaries["other_concerns"] in html  # it decrypts for staff
    token = token_of(html)
    note = f"Called back, CANARY{tag}note"
    planted.canaries["note"] = note
    assert staff.post(f"/staff/submissions/{sub}/notes", data={"csrf_token": token, "body": note}).status_code == 303
    version = html.split('name="version" value="')[1].split('"')[0]
    assert (
        staff.post(
            f"/staff/submissions/{sub}/status", data={"csrf_token": token, "status": "contacted", "version": version}
        ).status_code
        == 303
    )
    if clock is not None:
        # Idle past the timeout while writing a note: the note is kept (encrypted) for after sign-in.
        clock.offset += timedelta(minutes=int(app.config["STAFF_IDLE_MINUTES"]) + 1)
        pending = f"Pending note CANARY{tag}pending"
        planted.canaries["pending_note"] = pending
        response = staff.post(f"/staff/submissions/{sub}/notes", data={"csrf_token": token, "body": pending})
        assert response.status_code == 303 and "/staff/sign-in" in response.location
        with app.app_context():
            rows = db.session.scalars(select(StaffSession).where(StaffSession.pending.is_not(None))).all()
            assert [r.pending["form"]["body"] for r in rows] == [pending]
    return planted


def store_reference(app: Flask) -> str:
    with app.app_context():
        refs = db.session.scalars(select(Submission.reference).order_by(Submission.id.desc())).all()
        return refs[0]


# --- reading the database raw ----------------------------------------------------------------------


def raw_database(app: Flask) -> bytes:
    """Every byte the database keeps: the SQLite file with its WAL and shared memory, or a pg_dump."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        data = b""
        for suffix in ("", "-wal", "-shm", "-journal"):
            part = Path(str(path) + suffix)
            if part.exists():
                data += part.read_bytes()
        assert data, f"no database file at {path}"
        return data
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run(["/usr/bin/pg_dump", "--no-owner", libpq], capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def forms_of(value: str) -> list[bytes]:
    """The ways a value could be written: UTF-8 as typed, JSON-escaped, digits only for phones."""
    import json

    out = {value.encode("utf-8"), json.dumps(value).encode("ascii")[1:-1]}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 8:
        out.add(digits.encode())
    # The distinctive part alone, in case of any re-spacing or case change.
    for word in re.findall(r"[A-Za-z0-9]*[0-9a-f]{10}[A-Za-z0-9]*", value):
        out.add(word.encode())
        out.add(word.lower().encode())
    return sorted(out)


def assert_no_canary(raw: bytes, planted: Planted) -> None:
    lowered = raw.lower()
    for name, value in planted.canaries.items():
        for form in forms_of(value):
            assert form.lower() not in lowered, f"{name} ({form!r}) is readable in the raw database"


def raw_values(app: Flask) -> list[tuple[str, str | None]]:
    """(column, raw stored text) of every encrypted column of every row."""
    out: list[tuple[str, str | None]] = []
    with app.app_context():
        for model, attr in store.ENCRYPTED_COLUMNS:
            table = model.__table__
            for (value,) in db.session.execute(select(type_coerce(table.c[attr], Text))):
                out.append((f"{table.name}.{attr}", value))
    return out


def test_canaries_never_appear_in_the_raw_database(app: Flask, clock: Clock) -> None:
    planted = plant(app, clock)
    raw = raw_database(app)
    # A positive control: we did read the live data (the reference number is stored in clear).
    assert planted.reference.encode() in raw
    assert b"v1:test1:" in raw
    assert_no_canary(raw, planted)
    values = raw_values(app)
    assert {c for c, v in values if v} >= {
        "drafts.answers",
        "submissions.answers",
        "submissions.fired",
        "notes.body",
        "staff_sessions.pending",
    }
    for column, value in values:
        assert value is None or re.fullmatch(r"v1:test1:[A-Za-z0-9+/=]+", value), (column, value[:40])


def test_lookup_by_reference_still_works(app: Flask) -> None:
    planted = plant(app)
    secret = make_staff(app, "desk@clinic.example", "front_desk")
    client = app.test_client()
    from ..staff_helpers import sign_in

    sign_in(client, "desk@clinic.example", secret)
    response = client.get("/staff/", query_string={"ref": planted.reference.lower().replace("-", "-")})
    assert response.status_code == 302 and response.location.endswith(f"/staff/submissions/{planted.reference}")
    with app.app_context():
        sub = store.submission_by_reference(f"  {planted.reference.lower()} ")
        assert sub is not None and sub.answers["contact_name"] == planted.canaries["contact_name"]


def test_the_same_answers_encrypt_differently_every_time(app: Flask) -> None:
    add_submissions(app, [{"persona": "none"}, {"persona": "none"}])
    with app.app_context():
        stored = db.session.execute(select(type_coerce(Submission.answers, Text))).scalars().all()
    assert len(stored) == 2 and stored[0] != stored[1]


def test_a_tampered_value_is_refused_with_a_plain_error_page(make_app: Any) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    (reference,) = add_submissions(app, [{"persona": "discuss_before_booking"}])
    with app.app_context():
        value = db.session.execute(select(type_coerce(Submission.answers, Text))).scalar_one()
        prefix, kid, body = value.split(":", 2)
        raw = bytearray(base64.b64decode(body))
        raw[20] ^= 0x01
        forged = f"{prefix}:{kid}:{base64.b64encode(bytes(raw)).decode()}"
        db.session.execute(update(Submission.__table__).values(answers=type_coerce(forged, Text)))
        db.session.commit()
        with pytest.raises(crypto.KeyError_):
            store.submission_by_reference(reference)
        db.session.rollback()
    client = app.test_client()
    from ..staff_helpers import sign_in

    sign_in(client, "desk@clinic.example", make_staff(app))
    response = client.get(f"/staff/submissions/{reference}")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "KeyError" not in body and "decrypt" not in body and "warfarin" not in body


# --- key rotation ----------------------------------------------------------------------------------


def rotation_data(app: Flask, clock: Clock) -> Planted:
    planted = plant(app, clock)
    clock.offset = timedelta(0)
    add_submissions(app, [{"persona": "none"}, {"persona": "urgent"}, {"persona": "discuss_before_booking"}])
    return planted


def decrypted_everything(app: Flask) -> dict[str, list[Any]]:
    with app.app_context():
        db.session.expire_all()
        return {
            "drafts": sorted(str(d.answers) for d in db.session.scalars(select(Draft))),
            "submissions": sorted(str((s.answers, s.fired)) for s in db.session.scalars(select(Submission))),
            "notes": sorted(n.body for n in db.session.scalars(select(Note))),
            "pending": sorted(str(s.pending) for s in db.session.scalars(select(StaffSession))),
        }


def key_ids(app: Flask) -> list[str]:
    return [v.split(":")[1] for _c, v in raw_values(app) if v is not None]


def test_rotation_re_encrypts_everything_in_resumable_batches(make_app: Any, clock: Clock) -> None:
    old = make_app()
    rotation_data(old, clock)
    before = decrypted_everything(old)
    total = len(key_ids(old))
    assert total >= 9 and set(key_ids(old)) == {"test1"}

    # The new key is added and made current; the old one stays for reading.
    new = make_app(ENCRYPTION_KEYS={"test1": KEY1, "test2": KEY2}, ENCRYPTION_KEY_ID="test2")
    with new.app_context():
        # Interrupted after a few batches of one value per column ...
        for _ in range(2):
            assert store.reencrypt_batch("test2", batch=1) > 0
    ids = key_ids(new)
    assert 0 < ids.count("test2") < total and "test1" in ids
    # ... old and new values both decrypt meanwhile, and new writes use the new key.
    assert decrypted_everything(new) == before
    (fresh,) = add_submissions(new, [{"persona": "none"}])
    with new.app_context():
        stored = db.session.execute(
            select(type_coerce(Submission.answers, Text)).where(Submission.reference == fresh)
        ).scalar_one()
    assert stored.startswith("v1:test2:")

    # The command finishes the job in batches, then finds nothing left to do.
    runner = new.test_cli_runner()
    result = runner.invoke(args=["keys", "rotate", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.count("re-encrypted") >= 3
    assert set(key_ids(new)) == {"test2"}
    for _column, value in raw_values(new):
        assert value is None or value.startswith("v1:test2:")
    again = runner.invoke(args=["keys", "rotate"])
    assert again.exit_code == 0 and "Done: 0 values" in again.output
    assert [e.detail for e in audit_rows(new, "keys_rotated")][-1] == "0 values now under key test2"

    # The old key can go now.
    only_new = make_app(ENCRYPTION_KEYS={"test2": KEY2}, ENCRYPTION_KEY_ID="test2")
    after = decrypted_everything(only_new)
    assert after["drafts"] == before["drafts"] and after["notes"] == before["notes"]
    assert set(before["submissions"]) <= set(after["submissions"])


def test_rotation_never_overwrites_a_change_made_while_it_runs(
    make_app: Any, database_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = make_app()
    patient = Patient(old.test_client())
    patient.complete({**EVERY_PAGE, "other_concerns": "first version"}, send=False)
    new = make_app(ENCRYPTION_KEYS={"test1": KEY1, "test2": KEY2}, ENCRYPTION_KEY_ID="test2")
    ring = new.extensions["keyring"]
    engine = create_engine(new.config["SQLALCHEMY_DATABASE_URI"])
    real_decrypt = crypto.Keyring.decrypt
    changed: list[str] = []

    def decrypt_while_a_patient_saves(self: crypto.Keyring, stored: str) -> str:
        plain = real_decrypt(self, stored)
        if not changed and "first version" in plain:
            # Between the rotation's read and its write, the patient saves a new answer elsewhere.
            newer = ring.encrypt(plain.replace("first version", "second version"))
            with engine.begin() as conn:
                conn.execute(text("UPDATE drafts SET answers = :v"), {"v": newer})
            changed.append(newer)
        return plain

    monkeypatch.setattr(crypto.Keyring, "decrypt", decrypt_while_a_patient_saves)
    with new.app_context():
        while store.reencrypt_batch("test2", batch=10):
            pass
    monkeypatch.undo()
    engine.dispose()
    assert changed
    with new.app_context():
        draft = db.session.scalars(select(Draft)).one()
        assert draft.answers["other_concerns"] == "second version"


def test_rotation_stops_cleanly_on_a_value_it_cannot_read(make_app: Any) -> None:
    old = make_app()
    add_submissions(old, [{"persona": "none"}])
    # A deployment that forgot the old key: the value is not lost, the command says what is wrong.
    new = make_app(ENCRYPTION_KEYS={"test2": KEY2}, ENCRYPTION_KEY_ID="test2")
    result = new.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 1
    assert "no key 'test1'" in result.output and "Traceback" not in result.output
    assert set(key_ids(new)) == {"test1"}


def test_two_apps_in_one_process_each_use_their_own_keys(make_app: Any) -> None:
    first = make_app()
    make_app(ENCRYPTION_KEYS={"test2": KEY2}, ENCRYPTION_KEY_ID="test2")  # created later
    add_submissions(first, [{"persona": "none"}])
    assert set(key_ids(first)) == {"test1"}


def test_keys_generate_prints_a_usable_key(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["keys", "generate"])
    key = result.output.strip()
    assert result.exit_code == 0 and len(base64.b64decode(key, validate=True)) == 32
    ring = crypto.Keyring(crypto.parse_keys({"k": key}), "k")
    assert ring.decrypt(ring.encrypt("x")) == "x"


# --- production refuses to start without keys --------------------------------------------------------


def production_settings(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return good(tmp_path, **{"ENCRYPTION_KEYS": {"k1": KEY1}, **extra})


def test_production_refuses_to_start_without_encryption_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FLASK_ENCRYPTION_KEYS"):
        create_app(production_settings(tmp_path, ENCRYPTION_KEYS=None, ENCRYPTION_KEY_ID=None))
    assert not (tmp_path / "encryption_keys.json").exists()


@pytest.mark.parametrize(
    "keys, current, message",
    [
        ({"k1": base64.b64encode(b"short").decode()}, "k1", "must be 32 bytes"),
        ({"k1": "not base64!"}, "k1", "not valid base64"),
        ({"k1": KEY1}, "k9", "not one of the configured keys"),
        ("{not json", "k1", "JSON object"),
        ({"bad id!": KEY1}, "bad id!", "1-32 letters"),
    ],
)
def test_unusable_keys_are_refused_with_the_setting_named(
    tmp_path: Path, keys: Any, current: str, message: str
) -> None:
    with pytest.raises(ConfigError, match="FLASK_ENCRYPTION_KEYS") as caught:
        create_app(production_settings(tmp_path, ENCRYPTION_KEYS=keys, ENCRYPTION_KEY_ID=current))
    assert message in str(caught.value)


def test_production_starts_with_keys(tmp_path: Path) -> None:
    app = create_app(production_settings(tmp_path))
    assert app.extensions["keyring"].current == "k1"


def test_every_encrypted_column_is_covered_by_rotation() -> None:
    from questionnaire.data.models import Encrypted

    found = {(t.name, c.name) for t in db.metadata.sorted_tables for c in t.columns if isinstance(c.type, Encrypted)}
    assert found == {(m.__tablename__, attr) for m, attr in store.ENCRYPTED_COLUMNS}


# --- TOTP secrets (issue 17, item 4) -----------------------------------------------------------------


def raw_otp_secrets(app: Flask) -> list[str | None]:
    from questionnaire.data.models import Staff

    with app.app_context():
        values = list(db.session.execute(select(type_coerce(Staff.otp_secret, Text)).order_by(Staff.id)).scalars())
        db.session.remove()
        return values


def signs_in(app: Flask, email: str, secret: str) -> bool:
    from ..staff_helpers import sign_in

    client = app.test_client()
    done = sign_in(client, email, secret)
    return done.status_code == 302 and done.location == "/staff/" and client.get("/staff/").status_code == 200


def test_totp_secrets_are_encrypted_at_rest_and_sign_in_with_a_code_still_works(app: Flask) -> None:
    secret = make_staff(app, "desk@clinic.example")
    (stored,) = raw_otp_secrets(app)
    assert stored is not None and re.fullmatch(r"v1:test1:[A-Za-z0-9+/=]+", stored), stored
    raw = raw_database(app)
    assert b"v1:test1:" in raw
    # The base32 secret is in no form an attacker could read from the database file or a dump.
    assert secret.encode() not in raw and secret.lower().encode() not in raw
    assert signs_in(app, "desk@clinic.example", secret)


def test_totp_secrets_are_re_encrypted_by_key_rotation_and_sign_in_still_works(make_app: Any, clock: Clock) -> None:
    old = make_app()
    secret = make_staff(old, "desk@clinic.example")
    assert [v.split(":")[1] for v in raw_otp_secrets(old) if v] == ["test1"]
    new = make_app(ENCRYPTION_KEYS={"test1": KEY1, "test2": KEY2}, ENCRYPTION_KEY_ID="test2")
    result = new.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    (stored,) = raw_otp_secrets(new)
    assert stored is not None and stored.startswith("v1:test2:") and secret not in stored
    # Once rotation is done the old key can go: the secret still makes codes that sign in.
    only_new = make_app(ENCRYPTION_KEYS={"test2": KEY2}, ENCRYPTION_KEY_ID="test2")
    assert signs_in(only_new, "desk@clinic.example", secret)


# --- fired rules and patients' addresses are keyed (issue 17, item 1) ----------------------------------

PATIENT_IP = "203.0.113.77"
FLAGGED = {"g6pd_deficiency": "yes", "faint_with_needles": "yes"}


def flagged_submission(app: Flask) -> tuple[str, list[str]]:
    """A patient from PATIENT_IP sends answers that fire rules; their reference and the rules fired."""
    from ..helpers import NO_FLAGS

    answers = {**NO_FLAGS, **FLAGGED}
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PATIENT_IP
    assert Patient(client).complete(answers).status_code == 200
    fired = list(app.extensions["ruleset"].evaluate(answers).rule_ids)
    assert len(fired) >= 2, fired
    return store_reference(app), fired


def raw_keyed_values(app: Flask) -> tuple[list[str], list[str | None]]:
    """The rule index and the patients' audit addresses, as stored."""
    with app.app_context():
        rules = list(db.session.execute(text("SELECT rule_id FROM submission_rules")).scalars())
        ips = list(
            db.session.execute(text("SELECT ip FROM audit_events WHERE action = 'submission_created'")).scalars()
        )
        db.session.remove()
    return rules, ips


def rule_filter(app: Flask, rule: str) -> list[str]:
    """The references the staff queue lists when filtered by `rule` (any status)."""
    from ..staff_factory import queue_references
    from ..staff_helpers import sign_in

    email = f"desk{uuid.uuid4().hex[:6]}@clinic.example"
    client = app.test_client()
    sign_in(client, email, make_staff(app, email))
    page = client.get("/staff/", query_string={"rule": rule, "status": "any"})
    assert page.status_code == 200
    return queue_references(page.get_data(as_text=True))


def test_fired_rules_and_patient_addresses_are_not_readable_at_rest_and_the_rule_filter_still_works(app: Flask) -> None:
    reference, fired = flagged_submission(app)
    rules, ips = raw_keyed_values(app)
    assert len(rules) == len(fired) and not set(rules) & set(fired)
    assert all(re.fullmatch(r"test1:[0-9a-f]{64}", r) for r in rules), rules
    (ip,) = ips
    assert ip is not None and re.fullmatch(r"h:test1:[0-9a-f]{24}", ip) and PATIENT_IP not in ip
    raw = raw_database(app)
    assert reference.encode() in raw  # a positive control: this is the live data
    for rule in fired:
        assert rule.encode() not in raw, f"{rule} is readable in the raw database"
    assert PATIENT_IP.encode() not in raw
    # Staff still filter by rule and count per rule.
    for rule in fired:
        assert rule_filter(app, rule) == [reference]
    unfired = next(r.id for r in app.extensions["ruleset"].rules if r.id not in fired)
    assert rule_filter(app, unfired) == []
    with app.app_context():
        assert store.rule_counts([r.id for r in app.extensions["ruleset"].rules]) == {r: 1 for r in fired}


def test_the_rule_filter_keeps_working_during_and_after_key_rotation(make_app: Any) -> None:
    old = make_app()
    first, fired = flagged_submission(old)
    # The new key is current, the old one still configured: rows keyed under either are found.
    new = make_app(ENCRYPTION_KEYS={"test1": KEY1, "test2": KEY2}, ENCRYPTION_KEY_ID="test2")
    second, _ = flagged_submission(new)
    rules, _ips = raw_keyed_values(new)
    assert {r.split(":")[0] for r in rules} == {"test1", "test2"}
    assert rule_filter(new, fired[0]) == [first, second]
    result = new.test_cli_runner().invoke(args=["keys", "rotate", "--batch", "1"])
    assert result.exit_code == 0, result.output
    rules, ips = raw_keyed_values(new)
    assert {r.split(":")[0] for r in rules} == {"test2"} and not set(rules) & set(fired)
    # The old key removed: the filter and the counts still find both submissions.
    only_new = make_app(ENCRYPTION_KEYS={"test2": KEY2}, ENCRYPTION_KEY_ID="test2")
    for rule in fired:
        assert rule_filter(only_new, rule) == [first, second]
    with only_new.app_context():
        assert store.rule_counts(fired) == {r: 2 for r in fired}
    assert all(ip and PATIENT_IP not in ip for ip in ips)
