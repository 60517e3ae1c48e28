"""The fixed sets of values the staff side stores: submission statuses, staff roles, session stages.

StrEnums: each member is the very string stored in the database and used in URLs and forms, so
`row.status == SubmissionStatus.NEW` holds for a row read back as plain text.
"""

from __future__ import annotations

from enum import StrEnum


class SubmissionStatus(StrEnum):
    """Where the clinic is with a submission (the queue's filter, the status form)."""

    NEW = "new"
    CONTACTED = "contacted"
    WITH_CLINICIAN = "with_clinician"
    DISCUSSED = "discussed"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    SubmissionStatus.NEW: "New",
    SubmissionStatus.CONTACTED: "Contacted",
    SubmissionStatus.WITH_CLINICIAN: "With clinician",
    SubmissionStatus.DISCUSSED: "Discussed",
    SubmissionStatus.CLOSED: "Closed",
}


class StaffRole(StrEnum):
    """What a staff account may see and do: the front desk sees contacts and flags, clinicians the
    full answers, administrators also accounts, the audit log and exports."""

    FRONT_DESK = "front_desk"
    CLINICIAN = "clinician"
    ADMIN = "admin"


class SessionStage(StrEnum):
    """How far a staff session has come: the password was right (the one-time code, or its enrolment,
    is still to come), or signed in."""

    PASSWORD = "password"
    FULL = "full"
