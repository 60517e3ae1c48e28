"""Sign-in throttling instead of an account lock (ASVS 4.0.3 V2.2.1, NIST SP 800-63B 5.2.2): guessing is
stopped per account and address and slowed per account, but nobody can keep an account's owner out.

The counters are in the rate-limit store: memory here, real Redis in the tests of parallel bursts."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from questionnaire.data import store
from questionnaire.web import auth

from ..conftest import unavailable
from ..helpers import visible_text
from ..servers import delete_redis_keys, redis_answers, shared_redis_url
from ..staff_factory import audit_rows, csrf
from ..staff_helpers import PASSWORD, current_code, make_staff, sign_in, token_of

pytestmark = pytest.mark.usefixtures("cheap_hashing")

DESK = "desk@clinic.example"
OWNER_ADDRESS = "198.51.100.7"  # the front-desk computer
ATTACKER_ADDRESS = "203.0.113.66"


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def password_step(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/staff/sign-in", data={"csrf_token": csrf(client), "email": email, "password": password})


def full_sign_in(client: FlaskClient, email: str, secret: str, step_offset: int = 0) -> Any:
    first = password_step(client, email)
    if first.status_code != 302:
        return first
    page = client.get(first.location).get_data(as_text=True)
    return client.post(first.location, data={"csrf_token": token_of(page), "code": current_code(secret, step_offset)})


def signed_in(client: FlaskClient) -> bool:
    return client.get("/staff/").status_code == 200


def test_the_owner_signs_in_from_their_own_address_while_someone_guesses_from_another(make_app: Any) -> None:
    """The lock-out this replaces: five wrong passwords from anyone kept the owner out for 15 minutes,
    again and again. Now the guesser is stopped, and the owner is not."""
    app = make_app()
    secret = make_staff(app, DESK)
    owner = client_at(app, OWNER_ADDRESS)
    assert full_sign_in(owner, DESK, secret).status_code == 302  # the account's usual address
    owner.post("/staff/sign-out")

    attacker = client_at(app, ATTACKER_ADDRESS)
    statuses = [password_step(attacker, DESK, f"guess number {n}").status_code for n in range(12)]
    assert statuses == [400] * 5 + [429] * 7
    # The attacker's own address is stopped even with the right password.
    refused = password_step(attacker, DESK)
    assert refused.status_code == 429 and auth.THROTTLED in visible_text(refused.get_data(as_text=True))
    # Guesses spread over many addresses are slowed for the whole account: after the free ones, one
    # check per growing delay, so a new address with the right password waits too ...
    for n in range(6):
        password_step(client_at(app, f"192.0.2.{n + 1}"), DESK, f"spread guess {n}")
    assert password_step(client_at(app, "192.0.2.200"), DESK).status_code == 429

    # ... but the owner, at their own address, with the right password and code, gets in.
    assert full_sign_in(owner, DESK, secret, step_offset=1).status_code == 302
    assert signed_in(owner)
    assert [e.ip for e in audit_rows(app, "sign_in")] == [OWNER_ADDRESS, OWNER_ADDRESS]
    throttled = {(e.ip, e.detail) for e in audit_rows(app, "sign_in_throttled")}
    # Audited once per kind and window, not once per refused request.
    assert throttled == {(ATTACKER_ADDRESS, "account from this address"), ("192.0.2.2", "account")}


def test_a_throttled_address_is_throttled_for_that_account_only(make_app: Any) -> None:
    app = make_app(STAFF_SIGN_IN_PAIR_LIMIT="3 per 15 minutes")
    secret = make_staff(app, DESK)
    other = make_staff(app, "other@clinic.example")
    shared = client_at(app, ATTACKER_ADDRESS)  # say, a shared office address
    for n in range(3):
        assert password_step(shared, DESK, f"wrong {n}").status_code == 400
    assert password_step(shared, DESK).status_code == 429
    assert full_sign_in(client_at(app, ATTACKER_ADDRESS), "other@clinic.example", other).status_code == 302
    # From an address not yet stopped (and within the account's free checks), the owner gets in.
    assert full_sign_in(client_at(app, "198.51.100.99"), DESK, secret).status_code == 302


def test_unknown_emails_are_throttled_the_same_way(make_app: Any) -> None:
    """The refusal says nothing about whether an account exists."""
    app = make_app(STAFF_SIGN_IN_PAIR_LIMIT="2 per 15 minutes")
    make_staff(app, DESK)
    client = client_at(app, ATTACKER_ADDRESS)
    replies = {}
    for email in (DESK, "nobody@clinic.example"):
        statuses = [password_step(client, email, "a wrong guess").status_code for _ in range(3)]
        assert statuses == [400, 400, 429], email
        replies[email] = visible_text(password_step(client, email, "a wrong guess").get_data(as_text=True))
    assert replies[DESK] == replies["nobody@clinic.example"]


def test_the_delay_per_account_grows_and_lets_one_check_through_per_step(make_app: Any) -> None:
    app = make_app(STAFF_DELAY_AFTER=2)
    make_staff(app, DESK)
    address = iter(f"192.0.2.{n}" for n in range(1, 250))

    def attempt() -> int:
        return int(password_step(client_at(app, next(address)), DESK, "a wrong guess").status_code)

    assert [attempt(), attempt()] == [400, 400]  # the free checks
    assert [attempt(), attempt()] == [400, 429]  # then one check, and the next waits 1 s
    time.sleep(1.1)
    assert [attempt(), attempt()] == [400, 429]  # one more, and the next waits 2 s
    time.sleep(1.1)
    assert attempt() == 429  # 1 s is not enough now
    time.sleep(1.0)
    assert attempt() == 400
    assert len(audit_rows(app, "sign_in_failed")) == 5


def test_wrong_codes_count_even_when_the_password_is_right(make_app: Any) -> None:
    """Knowing the password must not give unlimited guesses at the code."""
    app = make_app(STAFF_SIGN_IN_PAIR_LIMIT="3 per 15 minutes")
    secret = make_staff(app, DESK)
    client = client_at(app, ATTACKER_ADDRESS)
    wrong = "123456" if current_code(secret) != "123456" else "654321"
    for _attempt in range(3):
        location = password_step(client, DESK).location
        page = client.get(location).get_data(as_text=True)
        assert client.post(location, data={"csrf_token": token_of(page), "code": wrong}).status_code == 400
    assert password_step(client, DESK).status_code == 429
    assert not signed_in(client)


def test_guessing_the_current_password_is_throttled(make_app: Any) -> None:
    """Someone at a screen left signed in cannot guess the current password for long."""
    app = make_app(STAFF_SIGN_IN_PAIR_LIMIT="3 per 15 minutes")
    secret = make_staff(app, DESK)
    client = client_at(app, OWNER_ADDRESS)
    full_sign_in(client, DESK, secret)
    token = token_of(client.get("/staff/password").get_data(as_text=True))
    new = {"password": "a fine new password", "confirm": "a fine new password"}
    for n in range(3):
        guess = client.post("/staff/password", data={"csrf_token": token, "current": f"a wrong guess {n}", **new})
        assert guess.status_code == 400
    right = client.post("/staff/password", data={"csrf_token": token, "current": PASSWORD, **new})
    assert right.status_code == 429 and auth.THROTTLED in visible_text(right.get_data(as_text=True))
    assert password_step(client_at(app, OWNER_ADDRESS), DESK).status_code == 429
    assert len(audit_rows(app, "password_change_failed")) == 3


def test_an_administrator_sees_and_clears_the_throttling_of_an_account_audited(make_app: Any) -> None:
    app = make_app(STAFF_SIGN_IN_PAIR_LIMIT="3 per 15 minutes")
    secret = make_staff(app, DESK)
    attacker = client_at(app, ATTACKER_ADDRESS)
    for n in range(4):
        password_step(attacker, DESK, f"someone else's guess {n}")
    assert password_step(attacker, DESK).status_code == 429
    admin = client_at(app, OWNER_ADDRESS)
    sign_in(admin, "admin@clinic.example", make_staff(app, "admin@clinic.example", "admin"))
    with app.app_context():
        desk_id = store.staff_by_email(DESK).id  # type: ignore[union-attr]
    page = admin.get("/staff/admin/staff").get_data(as_text=True)
    assert "sign-in throttled after failed attempts" in visible_text(page) and f"/{desk_id}/unlock" in page
    done = admin.post(f"/staff/admin/staff/{desk_id}/unlock", data={"csrf_token": token_of(page)})
    assert done.status_code == 303
    assert f"/{desk_id}/unlock" not in admin.get("/staff/admin/staff").get_data(as_text=True)
    assert full_sign_in(client_at(app, ATTACKER_ADDRESS), DESK, secret).status_code == 302
    (event,) = audit_rows(app, "staff_unlock")
    assert (event.actor, event.detail) == ("admin@clinic.example", DESK)


def test_the_cli_clears_the_throttling_too_audited(make_app: Any) -> None:
    app = make_app(STAFF_SIGN_IN_PAIR_LIMIT="2 per 15 minutes")
    secret = make_staff(app, DESK)
    for n in range(3):
        password_step(app.test_client(), DESK, f"wrong {n}")
    assert password_step(app.test_client(), DESK).status_code == 429
    result = app.test_cli_runner().invoke(args=["staff", "unlock", DESK])
    assert result.exit_code == 0 and "can sign in again" in result.output
    assert full_sign_in(app.test_client(), DESK, secret).status_code == 302
    assert [(e.actor, e.detail) for e in audit_rows(app, "staff_unlock")] == [("cli", DESK)]


# --- parallel bursts against real Redis ----------------------------------------------------------


@pytest.fixture
def redis_settings() -> Iterator[dict[str, Any]]:
    url = shared_redis_url()
    if not redis_answers(url):
        unavailable(f"Redis at {url} does not answer")
    prefix = f"oqtest-throttle-{uuid.uuid4().hex[:12]}"
    yield {"RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": prefix}
    delete_redis_keys(url, f"*{prefix}*")


def burst(app: Flask, attempts: list[tuple[str, str]]) -> Counter[int]:
    """All `attempts` (address, email) sent at once, each by its own thread; the statuses counted."""
    clients = []
    for address, email in attempts:
        client = client_at(app, address)
        clients.append((client, csrf(client), email))
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def one(client: FlaskClient, token: str, email: str) -> None:
        start.wait()
        reply = client.post("/staff/sign-in", data={"csrf_token": token, "email": email, "password": "a wrong guess"})
        statuses.append(reply.status_code)

    threads = [threading.Thread(target=one, args=c) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return Counter(statuses)


def test_a_burst_of_parallel_sign_ins_from_one_address_gets_exactly_the_limit_checked(
    make_app: Any, redis_settings: dict[str, Any]
) -> None:
    """40 at once got 13 passwords checked where the limit is 10: the check and the count were two steps."""
    app = make_app(**redis_settings, RATELIMIT_ENABLED=True, STAFF_SIGN_IN_LIMIT="10 per 10 minutes")
    statuses = burst(app, [(ATTACKER_ADDRESS, f"guess{n}@clinic.example") for n in range(40)])
    assert statuses == Counter({400: 10, 429: 30})
    assert len(audit_rows(app, "sign_in_failed")) == 10


def test_a_burst_at_one_account_from_one_address_gets_exactly_the_pair_limit_checked(
    make_app: Any, redis_settings: dict[str, Any]
) -> None:
    app = make_app(**redis_settings, STAFF_SIGN_IN_PAIR_LIMIT="5 per 15 minutes")
    make_staff(app, DESK)
    assert burst(app, [(ATTACKER_ADDRESS, DESK)] * 40) == Counter({400: 5, 429: 35})


def test_a_burst_at_one_account_from_many_addresses_gets_the_free_checks_and_one_more(
    make_app: Any, redis_settings: dict[str, Any]
) -> None:
    app = make_app(**redis_settings, STAFF_DELAY_AFTER=5)
    make_staff(app, DESK)
    assert burst(app, [(f"192.0.2.{n + 1}", DESK) for n in range(40)]) == Counter({400: 6, 429: 34})


def test_sign_in_fails_closed_when_the_rate_limit_store_is_down(make_app: Any) -> None:
    """Nothing listens on port 9 (discard): every password or code check is refused with a 503."""
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0", RATELIMIT_ENABLED=True)
    make_staff(app, DESK)
    assert password_step(app.test_client(), DESK).status_code == 503
