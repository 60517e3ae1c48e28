"""The contact search's terms: what a submission is found by, and what a typed query looks up.

Pure: the data layer keys each term (HMAC, crypto.Keyring.keyed("search", term)) before it is
stored or looked up, so the database holds no name, phone number or email address in the clear.

- A name: each word, case- and accent-folded ("García" and "garcia" are one word).
- A phone number: its last 6, 7, 8 and 9 digits, so a caller is found whether or not they give the
  country code, a leading 0 or spaces ("+34 600 123 456", "0034600123456" and "600123456" meet on
  "600123456"; "123 456" finds it too).
- An email address: the whole address, case-folded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PHONE_TAILS = (6, 7, 8, 9)
MIN_PHONE_DIGITS = PHONE_TAILS[0]
MAX_QUERY_LENGTH = 200
RESULTS = 50  # at most this many results, newest first
WORD = re.compile(r"[^\W_]+")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# What a phone number may be typed with besides digits.
PHONE_CHARACTERS = re.compile(r"^[0-9\s+()./\-‐‑‒–—]+$")


def fold(text: str) -> str:
    """Case- and accent-folded: "Ñúñez" -> "nunez"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def name_words(name: str) -> list[str]:
    """The words of a name, folded, each once, in order ("María José García-Pérez" -> maria, jose, garcia, perez)."""
    seen: list[str] = []
    for word in WORD.findall(fold(name)):
        if word not in seen:
            seen.append(word)
    return seen


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())


def phone_terms(phone: str) -> list[str]:
    """The terms a stored phone number is found by: its last 6 to 9 digits (fewer when it is shorter)."""
    number = digits(phone)
    return [f"phone{n}:{number[-n:]}" for n in PHONE_TAILS if len(number) >= n]


def email_term(email: str) -> str:
    return "email:" + email.strip().casefold()


def index_terms(answers: Mapping[str, Any], callback_phone: str | None = None) -> set[str]:
    """Every term one submission is found by: its contact name, phone and email, and the callback
    number left on the urgent page."""
    terms: set[str] = set()
    name = answers.get("contact_name")
    if isinstance(name, str):
        terms.update("name:" + w for w in name_words(name))
    for phone in (answers.get("contact_phone"), callback_phone):
        if isinstance(phone, str):
            terms.update(phone_terms(phone))
    email = answers.get("contact_email")
    if isinstance(email, str) and email.strip():
        terms.add(email_term(email))
    return terms


@dataclass(frozen=True)
class Query:
    """What a typed query looks up: `kind` (name, phone, email, or "" when it cannot be searched),
    the terms a submission must all have, and a message when the query is refused."""

    kind: str
    terms: tuple[str, ...]
    message: str | None = None


def parse_query(text: str) -> Query:
    """A query as the front desk types it: an email address, a phone number (any spacing, with or
    without the country code: its last 9 digits, or all of them when it has 6 to 8), or words of a name
    (a submission must have every word typed, in any order)."""
    text = text.strip()[:MAX_QUERY_LENGTH]
    if not text:
        return Query("", (), "Enter a name, phone number, email address or reference number")
    if "@" in text:
        if not EMAIL.match(text):
            return Query("", (), "Enter the whole email address, like name@example.com")
        return Query("email", (email_term(text),))
    if PHONE_CHARACTERS.match(text):
        number = digits(text)
        if len(number) < MIN_PHONE_DIGITS:
            return Query("", (), f"Enter at least {MIN_PHONE_DIGITS} digits of the phone number")
        tail = min(len(number), PHONE_TAILS[-1])
        return Query("phone", (f"phone{tail}:{number[-tail:]}",))
    words = name_words(text)
    if not words:
        return Query("", (), "Enter a name, phone number, email address or reference number")
    return Query("name", tuple("name:" + w for w in words[:8]))


def describe(terms: Iterable[str]) -> str:
    """The kinds of terms (never their values), for the audit log: "name x2"."""
    kinds: dict[str, int] = {}
    for term in terms:
        kind = term.split(":", 1)[0].rstrip("0123456789")
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{k} x{n}" if n > 1 else k for k, n in sorted(kinds.items()))
