"""Issue 16: the front desk finds a patient who phones by name, phone digits, email or reference,
through a keyed blind index (never a decrypt of every submission), on SQLite and PostgreSQL, during
and after key rotation; the index is kept in step by the store and by migration 0010."""

from __future__ import annotations

from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from questionnaire import create_app
from questionnaire.core import search
from questionnaire.data import store
from questionnaire.data.models import SubmissionSearch
from questionnaire.extensions import db

from ..conftest import test_settings
from ..helpers import NO_FLAGS
from ..staff_factory import add_submissions, at, audit_rows, queue_references
from ..staff_helpers import make_staff, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")

KEY1 = "dGVzdC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMtISE="
KEY2 = "cm90YXRpb24tdGVzdC1rZXktMi10aGlydHktdHdvISE="

PEOPLE = [
    {
        "contact_name": "María José García-Pérez",
        "contact_phone": "+34 600 123 456",
        "contact_email": "MJ.Garcia@Example.ES",
    },
    {"contact_name": "Alex Example", "contact_phone": "0161 496 0001"},
    {"contact_name": "Ana Garcia", "contact_phone": "", "contact_email": "ana@example.com"},
]


def stored(app: Flask) -> list[str]:
    return add_submissions(app, [{"answers": {**NO_FLAGS, **p}, "created_at": at(i)} for i, p in enumerate(PEOPLE)])


def found(app: Flask, text_: str) -> list[str]:
    with app.app_context():
        return [s.reference for s in store.search_submissions(search.parse_query(text_))]


def signed_in(app: Flask, role: str = "front_desk") -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, f"{role}@clinic.example", make_staff(app, f"{role}@clinic.example", role)).status_code == 302
    return client


# --- the terms (pure) ---------------------------------------------------------------------------------


def test_terms_fold_case_and_accents_and_keep_the_last_6_to_9_digits() -> None:
    assert search.name_words("María José  GARCÍA-Pérez") == ["maria", "jose", "garcia", "perez"]
    assert search.phone_terms("+34 600 123 456") == [
        "phone6:123456",
        "phone7:0123456",
        "phone8:00123456",
        "phone9:600123456",
    ]
    assert search.parse_query("0034 600-123-456") == search.Query("phone", ("phone9:600123456",))
    assert search.parse_query("123 456") == search.Query("phone", ("phone6:123456",))
    assert search.parse_query(" MJ.Garcia@example.es ").terms == ("email:mj.garcia@example.es",)
    assert search.parse_query("garcía maría").terms == ("name:garcia", "name:maria")
    assert search.parse_query("12 34").message == "Enter at least 6 digits of the phone number"
    assert search.parse_query("").message and search.parse_query("@").message
    assert search.describe(("name:a", "name:b", "phone9:1")) == "name x2, phone"


# --- the store: found, kept in step, nothing readable ---------------------------------------------------


def test_a_patient_is_found_by_phone_digits_any_spacing_or_country_code_by_name_word_and_by_email(app: Flask) -> None:
    maria, alex, ana = stored(app)
    for typed in ("600123456", "+34600123456", "0034 600 123 456", "600 12 34 56", "123456", "0123456"):
        assert found(app, typed) == [maria], typed
    assert found(app, "+44 161 496 0001") == [alex]  # stored as 0161 ...: the last 9 digits meet
    assert found(app, "garcia") == [ana, maria]  # newest first; accents folded
    assert found(app, "GARCÍA") == [ana, maria]
    assert found(app, "josé") == [maria]
    assert found(app, "perez maria") == [maria]  # every word typed, in any order
    assert found(app, "ana maria") == []
    assert found(app, "mj.garcia@example.es") == [maria]
    assert found(app, "ana@example.com") == [ana]
    assert found(app, "999999999") == [] and found(app, "nobody") == []


def test_the_index_holds_only_keyed_values_and_goes_with_the_submission(app: Flask) -> None:
    maria, _alex, _ana = stored(app)
    with app.app_context():
        terms = list(db.session.scalars(select(SubmissionSearch.term)))
        assert terms and all(t.startswith("test1:") and len(t) == len("test1:") + 64 for t in terms)
        raw = " ".join(terms).lower()
        for secret in ("garcia", "maria", "600123456", "123456", "example", "alex"):
            assert secret not in raw
        store.delete_submission(store.submission_by_reference(maria))
        assert found(app, "garcia") != [] and found(app, "600123456") == []
    with app.app_context():
        removed = store.purge_old_submissions({"new": 1}, now=at(60 * 24 * 30))
        assert removed == {"new": 2}
        assert db.session.scalar(select(SubmissionSearch.term).limit(1)) is None


def test_search_keeps_working_during_and_after_key_rotation(make_app: Any) -> None:
    old = make_app()
    maria, _alex, _ana = stored(old)
    new = make_app(ENCRYPTION_KEYS={"test1": KEY1, "test2": KEY2}, ENCRYPTION_KEY_ID="test2")
    (later,) = add_submissions(
        new,
        [
            {
                "answers": {**NO_FLAGS, "contact_name": "Maria Nueva", "contact_phone": "600 999 888"},
                "created_at": at(10),
            }
        ],
    )
    # Both keys configured: rows under either key are found.
    assert found(new, "maria") == [later, maria]
    with new.app_context():
        assert store.reencrypt_batch("test2", batch=1) > 0  # part-way
    assert found(new, "maria") == [later, maria] and found(new, "600123456") == [maria]
    result = new.test_cli_runner().invoke(args=["keys", "rotate", "--batch", "1"])
    assert result.exit_code == 0, result.output
    with new.app_context():
        assert {t.split(":")[0] for t in db.session.scalars(select(SubmissionSearch.term))} == {"test2"}
    # The old key removed: still found.
    only_new = make_app(ENCRYPTION_KEYS={"test2": KEY2}, ENCRYPTION_KEY_ID="test2")
    assert found(only_new, "maria") == [later, maria]
    assert found(only_new, "+34 600 123 456") == [maria]
    assert found(only_new, "mj.garcia@example.es") == [maria]


# --- the staff pages ------------------------------------------------------------------------------------


def test_the_queue_has_the_search_box_and_results_link_to_the_submissions(app: Flask) -> None:
    maria, _alex, ana = stored(app)
    client = signed_in(app)
    queue = client.get("/staff/").get_data(as_text=True)
    assert 'action="/staff/search"' in queue and "Name, phone, email or reference" in queue
    page = client.get("/staff/search?q=600+123+456")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert queue_references(html) == [maria] and "María José García-Pérez" in html
    assert queue_references(client.get("/staff/search?q=Garcia").get_data(as_text=True)) == [ana, maria]
    # A reference, however it is typed, finds its submission.
    assert queue_references(
        client.get(f"/staff/search?q={maria.lower().replace('-', ' ')}").get_data(as_text=True)
    ) == [maria]
    none = client.get("/staff/search?q=nobody").get_data(as_text=True)
    assert "Nobody matches" in none and queue_references(none) == []
    # Searches are audited without what was typed.
    details = [e.detail for e in audit_rows(app, "search_submissions")]
    assert details == ["phone: 1 found", "name: 2 found", "reference: 1 found", "name: 0 found"]


def test_a_query_that_cannot_be_searched_says_why(app: Flask) -> None:
    client = signed_in(app)
    page = client.get("/staff/search?q=12+34")
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "Enter at least 6 digits of the phone number" in html
    assert 'href="#q"' in html and "<title>Error:" in html
    assert client.get("/staff/search?q=").status_code == 400


def test_the_search_is_for_signed_in_staff_only(app: Flask) -> None:
    response = app.test_client().get("/staff/search?q=garcia")
    assert response.status_code == 302 and "/staff/sign-in" in response.location


# --- migration 0010 ------------------------------------------------------------------------------------


def test_migration_0010_builds_the_index_of_submissions_stored_before(fresh_database: str) -> None:
    app = create_app(test_settings(fresh_database))
    with app.app_context():
        flask_migrate.upgrade()
    maria, _alex, ana = stored(app)
    with app.app_context():
        flask_migrate.downgrade(revision="0008")
        flask_migrate.upgrade()
        assert db.session.scalar(text("SELECT count(*) FROM submission_search")) > 0
        db.session.remove()
    assert found(app, "garcia") == [ana, maria] and found(app, "600123456") == [maria]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
