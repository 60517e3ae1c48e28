"""A patient stopped by an urgent answer leaves a number for the clinic to call later: stored
encrypted on the submission (and found by the contact search), with its audit row, in one transaction."""

from __future__ import annotations

from questionnaire.data import store
from questionnaire.data.crypto import keyring
from questionnaire.data.models import Submission


def leave_callback_number(sub: Submission, phone: str, *, ip: str | None = None) -> None:
    """The number (encrypted) and its audit row (no number, the patient's address keyed), or neither."""
    ref = sub.reference
    with store.transaction():
        store.set_callback_phone(sub, phone)
        store.audit("callback_number_left", actor="patient", reference=ref, ip=keyring().keyed_ip(ip) if ip else None)
