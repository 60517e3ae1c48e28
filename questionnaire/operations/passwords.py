"""Passwords and one-time codes: argon2id hashing, the policy for a new password, the checks at sign-in."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn import zxcvbn

from questionnaire.data import store
from questionnaire.data.models import Staff, utcnow

HASHER = PasswordHasher()  # argon2id
# A short list of the most common passwords of 12 characters or more; longer lists belong in
# a breach-checking service, which a clinic's network may not allow.
COMMON_PASSWORDS = frozenset(
    """
123456789012 1234567890123 12345678901234 123456123456 password1234 password12345 passwordpassword
qwertyuiopas qwerty123456 qwertyuiop12 1q2w3e4r5t6y 1qaz2wsx3edc abcdefghijkl abc123abc123
iloveyou1234 letmein12345 welcome12345 welcome123456 administrator admin1234567 adminadmin12
changeme1234 changeme12345 trustno1trustno1 football1234 baseball1234 sunshine1234 princess1234
monkey123456 dragon123456 master123456 superman1234 starwars1234 michael12345 00000000000
000000000000 111111111111 121212121212 aaaaaaaaaaaa passw0rd1234 p@ssw0rd1234 p@ssword1234
correcthorsebatterystaple clinic123456 ozone1234567 ozonetherapy hospital1234 doctor123456
""".split()
)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_problem(password: str, context: Iterable[str] = ()) -> str | None:
    """Why a new password will not do, or None. Besides the length and the short list above, zxcvbn's
    estimate (tens of thousands of common passwords, words, names, dates, keyboard runs and repeats)
    must be its top score (about 10^10 guesses or more), with `context` (the email address, the
    clinic's name) counted as already known."""
    if not 12 <= len(password) <= 128:
        return "Use a password of 12 to 128 characters"
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return "This password is too common. Choose a longer phrase that others would not guess"
    # The first 72 characters (zxcvbn refuses longer ones): plenty to judge a guessable password.
    if zxcvbn(password[:72], user_inputs=[c for c in context if c])["score"] < 4:
        return "This password is too easy to guess. Choose a phrase of several words that others would not guess"
    return None


def password_context(email: str) -> list[str]:
    """What someone trying to guess this account's password would try first: the email address and
    the clinic's name, each as written, joined up ("sectestclinic") and word by word, since zxcvbn
    only matches a known input as a whole (lower case) token."""
    local, _, domain = email.strip().lower().partition("@")
    return known_words(email, local, domain, domain.split(".")[0], str(current_app.config.get("CLINIC_NAME") or ""))


def known_words(*texts: str) -> list[str]:
    """Each text as written, lower case, without its separators, and split into its words."""
    out: dict[str, None] = {}
    for text in texts:
        text = text.strip().lower()
        words = [w for w in re.split(r"[^0-9a-zß-ÿ]+", text) if w]
        for form in (text, "".join(words), *words):
            if form:
                out[form] = None
    return list(out)


def check_password(staff: Staff | None, password: str) -> bool:
    if staff is None:
        # Same work for an unknown email, so timing does not tell which emails exist.
        try:
            HASHER.verify(_DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return HASHER.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = HASHER.hash("not-a-real-password-for-timing")


def verify_code(staff: Staff, code: str) -> bool:
    """A 6-digit code for now (or one step either side), accepted once only."""
    code = "".join(code.split())
    if not staff.otp_secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(staff.otp_secret)
    now = utcnow()
    for drift in (0, -1, 1):
        moment = now + timedelta(seconds=30 * drift)
        if totp.at(moment) == code:
            return store.use_otp_step(staff, int(totp.timecode(moment)))
    return False


def needs_rehash(password_hash: str) -> bool:
    """Stored with older (weaker) hashing settings than HASHER's."""
    return HASHER.check_needs_rehash(password_hash)


def one_time_password(nbytes: int = 12) -> str:
    """A random password for an administrator to hand over once; it must be changed at sign-in."""
    return secrets.token_urlsafe(nbytes)
