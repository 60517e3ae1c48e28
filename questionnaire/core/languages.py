"""The languages a patient can read the questionnaire in, named once.

NAMES: each language as the staff pages name it (the staff area is in English); NATIVE_NAMES: as the
patient's language switcher names it, in the language itself. The app's LANGUAGES setting lists the
codes it serves (config.py: these, by default); each needs a compiled catalogue (make translations).
"""

from __future__ import annotations

from collections.abc import Mapping

NAMES: Mapping[str, str] = {"en": "English", "es": "Spanish"}
NATIVE_NAMES: Mapping[str, str] = {"en": "English", "es": "Español"}


def name(code: str | None) -> str:
    """A language's English name ("es" -> "Spanish"); a code without one as it is."""
    return NAMES.get(code or "", code or "")


def native_name(code: str) -> str:
    """A language's name in the language itself ("es" -> "Español"); a code without one as it is."""
    return NATIVE_NAMES.get(code, code)
