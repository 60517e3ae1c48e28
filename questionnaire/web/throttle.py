"""Sign-in throttling that stops guessing without locking an account's owner out.

ASVS 4.0.3 V2.2.1 and NIST SP 800-63B 5.2.2: a hard lock after a few wrong passwords lets anyone who
knows an email address keep its owner out. Instead, every password or code check for an account is
counted, atomically and before the check (so that a burst of parallel requests cannot slip through):

- per address, all accounts together (STAFF_SIGN_IN_LIMIT, when rate limits are on): floods;
- per account and address (STAFF_SIGN_IN_PAIR_LIMIT): one address guessing at one account;
- per account, from addresses it has never fully signed in from (STAFF_DELAY_AFTER free checks,
  then one check per 1, 2, 4 ... up to STAFF_DELAY_MAX_SECONDS): many addresses guessing together.

An address the account fully signed in from in the last STAFF_KNOWN_ADDRESS_DAYS skips the per-account
delay, so its owner signs in from their usual computer while someone guesses from elsewhere. Checks that
succeed are given back; a full sign-in also forgets its address's count.

The counters live in the rate-limit store (Redis in production, shared by every instance; memory on
one machine and in tests), under hashed email addresses, never the addresses themselves. An unknown
email is counted the same way as an account, so the throttle does not tell which emails exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from flask import Flask, current_app
from limits import parse
from limits.storage import Storage, storage_from_string

from questionnaire.extensions import limiter

EXTENSION = "sign_in_throttle"
# How long the count of checks from unfamiliar addresses is kept (from its first check).
ACCOUNT_WINDOW_SECONDS = 3600
# The clear() generation outlives every counter it invalidates.
GENERATION_SECONDS = 400 * 86400


class Unavailable(Exception):
    """The rate-limit store does not answer: sign-in refuses to run (fails closed)."""


@dataclass
class Ticket:
    """A check the throttle let through: the counters it took, given back if the check succeeds."""

    account: str
    generation: int
    address: str
    taken: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Refusal:
    """Not checked: too many checks. `first` is the first refusal of its kind in its window (audited)."""

    reason: str  # "address", "account from this address" or "account"
    first: bool


def account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class SignInThrottle:
    def __init__(self, app: Flask) -> None:
        options = dict(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})
        storage = storage_from_string(str(app.config["RATELIMIT_STORAGE_URI"]), **options)
        if not isinstance(storage, Storage):
            raise TypeError("FLASK_RATELIMIT_STORAGE_URI must name a synchronous store (redis://, memory://)")
        self.storage: Storage = storage
        self.prefix = f"{app.config.get('RATELIMIT_KEY_PREFIX') or ''}/sign-in"

    # --- keys -----------------------------------------------------------------------------------

    def _key(self, *parts: object) -> str:
        return "/".join([self.prefix, *(str(p) for p in parts)])

    def _generation(self, account: str) -> int:
        return int(self.storage.get(self._key("generation", account)))

    # --- the check ------------------------------------------------------------------------------

    def admit(self, email: str, address: str) -> Ticket | Refusal:
        """Count one password or code check for `email` from `address`, or refuse it (Unavailable
        when the store does not answer)."""
        try:
            return self._admit(email, address)
        except Unavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - any store failure: sign-in fails closed
            raise Unavailable(str(type(exc).__name__)) from exc

    def _admit(self, email: str, address: str) -> Ticket | Refusal:
        cfg = current_app.config
        account = account_key(email)
        ticket = Ticket(account, self._generation(account), address)
        if cfg.get("RATELIMIT_ENABLED", True):
            limit = parse(str(cfg["STAFF_SIGN_IN_LIMIT"]))
            if not self._take(ticket, self._key("address", address), limit.amount, limit.get_expiry()):
                return self._refuse(ticket, "address", self._key("refused-address", address), limit.get_expiry())
        pair = parse(str(cfg["STAFF_SIGN_IN_PAIR_LIMIT"]))
        if not self._take(ticket, self._pair_key(ticket), pair.amount, pair.get_expiry()):
            return self._refuse(
                ticket,
                "account from this address",
                self._key("refused-pair", account, ticket.generation, address),
                pair.get_expiry(),
                account_wide=True,
            )
        if not self.known(account, address):
            free = int(cfg["STAFF_DELAY_AFTER"])
            counted = self._key("unfamiliar", account, ticket.generation)
            checks = self.storage.incr(counted, ACCOUNT_WINDOW_SECONDS)
            ticket.taken.append((counted, ACCOUNT_WINDOW_SECONDS))
            if checks > free:
                delay = int(min(2 ** min(checks - free - 1, 30), int(cfg["STAFF_DELAY_MAX_SECONDS"])))
                # One check per `delay` seconds: whoever takes the gate first; the others wait.
                if self.storage.incr(self._key("gate", account, ticket.generation), max(delay, 1)) > 1:
                    return self._refuse(
                        ticket,
                        "account",
                        self._key("refused-account", account, ticket.generation),
                        ACCOUNT_WINDOW_SECONDS,
                        account_wide=True,
                    )
        return ticket

    def _pair_key(self, ticket: Ticket) -> str:
        return self._key("pair", ticket.account, ticket.generation, ticket.address)

    def _take(self, ticket: Ticket, key: str, amount: int, expiry: int) -> bool:
        if self.storage.incr(key, expiry) > amount:
            self.storage.incr(key, expiry, amount=-1)
            return False
        ticket.taken.append((key, expiry))
        return True

    def _refuse(
        self, ticket: Ticket, reason: str, refused_key: str, window: int, *, account_wide: bool = False
    ) -> Refusal:
        self.give_back(ticket)
        if account_wide:  # for the administrators' page: this account is being throttled
            self.storage.incr(self._key("refused", ticket.account, ticket.generation), ACCOUNT_WINDOW_SECONDS)
        return Refusal(reason, first=self.storage.incr(refused_key, window) == 1)

    def give_back(self, ticket: Ticket) -> None:
        """The check succeeded (or was refused): it does not count against anyone."""
        try:
            for key, expiry in ticket.taken:
                if self.storage.get(key) > 0:
                    self.storage.incr(key, expiry, amount=-1)
        except Exception:  # noqa: BLE001 - the check's outcome stands; the count expires by itself
            pass
        ticket.taken.clear()

    # --- outcomes -------------------------------------------------------------------------------

    def signed_in(self, email: str, address: str) -> None:
        """A full sign-in (password and code): this address is the account's own from now on, and its
        count starts again."""
        cfg = current_app.config
        account = account_key(email)
        try:
            ticket = Ticket(account, self._generation(account), address)
            self.storage.clear(self._pair_key(ticket))
            known = self._key("known", account, address)
            self.storage.clear(known)
            self.storage.incr(known, int(cfg["STAFF_KNOWN_ADDRESS_DAYS"]) * 86400)
        except Exception:  # noqa: BLE001 - signed in all the same; the counts expire by themselves
            pass

    def known(self, account: str, address: str) -> bool:
        return self.storage.get(self._key("known", account, address)) > 0

    def clear(self, email: str) -> None:
        """An administrator lifts the throttle: every count of this account, from every address, starts
        again (addresses it signed in from stay known). Unavailable when the store does not answer."""
        try:
            self.storage.incr(self._key("generation", account_key(email)), GENERATION_SECONDS)
        except Exception as exc:  # noqa: BLE001
            raise Unavailable(str(type(exc).__name__)) from exc

    def throttled(self, email: str) -> bool:
        """Whether checks for this account were refused, or are being delayed, in the last hour (shown
        to administrators, who can clear it)."""
        account = account_key(email)
        try:
            generation = self._generation(account)
            if self.storage.get(self._key("refused", account, generation)) > 0:
                return True
            return self.storage.get(self._key("unfamiliar", account, generation)) > int(
                current_app.config["STAFF_DELAY_AFTER"]
            )
        except Exception:  # noqa: BLE001 - the page shows what it can
            return False

    def available(self) -> bool:
        try:
            return bool(self.storage.check())
        except Exception:  # noqa: BLE001
            return False


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = SignInThrottle(app)


def throttle() -> SignInThrottle:
    found: SignInThrottle = current_app.extensions[EXTENSION]
    return found


def storage_ok() -> bool:
    """Whether rate limits can be enforced: switched off (nothing to store), or the store answers.
    Sign-in refuses to run without it (fail closed); /readyz reports it."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    try:
        return bool(limiter.storage.check()) and throttle().available()
    except Exception:  # noqa: BLE001 - a broken store is simply "not ok"
        return False
