"""Load a rules file: read it, validate it against the questionnaire and build its compiled Ruleset."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from questionnaire.core.checkin import RULES_QUESTIONNAIRE
from questionnaire.core.questions import Questionnaire
from questionnaire.core.rules.catalogue import translation_directories
from questionnaire.core.rules.evaluator import Ruleset
from questionnaire.core.rules.model import DEFAULT_PATH, RuleError, RulesFileError
from questionnaire.core.rules.reader import line_of, read_yaml
from questionnaire.core.rules.validator import Validator


def load_ruleset(
    path: str | Path = DEFAULT_PATH,
    questionnaire: Questionnaire = RULES_QUESTIONNAIRE,
    *,
    verify_sign_off: bool = True,
    languages: Iterable[str] = (),
    translations: str | Path | Iterable[str | Path] | None = None,
) -> Ruleset:
    """Read, validate and compile a rules file; raise RulesFileError with every fault found.

    An approved file must carry the content hash its sign-off recorded (content_sha256()); if the
    rules changed since, the file is refused. `verify_sign_off=False` skips only that check (for
    `flask rules sign-off`, which records a new one).

    With `languages` (the app's LANGUAGES), every patient-facing text of the file (level titles and
    outcomes, the no-flags title and outcome, every message) must have a non-empty translation in
    each non-English language's compiled catalogue (found in `translations`, as for
    translation_directories()), with the same {placeholders} and no clearance wording of that
    language (wording.banned_wording). The app starts with this check; the Babel extractor, which
    must read a file whose new texts are not translated yet, loads without it.
    """
    path = Path(path)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RulesFileError([RuleError(shown, 0, None, f"cannot read the file: {exc.strerror}")]) from exc
    return load_ruleset_bytes(
        raw, shown, questionnaire, verify_sign_off=verify_sign_off, languages=languages, translations=translations
    )


def load_ruleset_bytes(
    raw: bytes,
    name: str,
    questionnaire: Questionnaire = RULES_QUESTIONNAIRE,
    *,
    verify_sign_off: bool = True,
    languages: Iterable[str] = (),
    translations: str | Path | Iterable[str | Path] | None = None,
) -> Ruleset:
    """load_ruleset() of a file's content already read (`name`: the file, as faults name it)."""
    data = read_yaml(raw, name)
    wanted = [lang for lang in dict.fromkeys(str(x) for x in languages) if lang.replace("-", "_").split("_")[0] != "en"]
    return Validator(
        name,
        hashlib.sha256(raw).hexdigest(),
        questionnaire,
        verify_sign_off=verify_sign_off,
        languages=wanted,
        directories=translation_directories(translations),
    ).run(data)


def text_lines(raw: bytes, name: str) -> dict[str, int]:
    """The line of each patient-facing text of a rules file, by where it is: "level ID title",
    "level ID same_day outcome", "no_flags title", "message ID" (for the Babel extractor)."""
    tree: Any = read_yaml(raw, name)
    lines: dict[str, int] = {}
    for lv in tree.get("levels") or []:
        if isinstance(lv, dict):
            for key in ("title", "outcome"):
                lines[f"level {lv.get('id')} {key}"] = line_of(lv, key)
            if isinstance(lv.get("same_day"), dict):
                for key in ("title", "outcome"):
                    lines[f"level {lv.get('id')} same_day {key}"] = line_of(lv["same_day"], key)
    no_flags = tree.get("no_flags")
    if isinstance(no_flags, dict):
        for key in ("title", "outcome"):
            lines[f"no_flags {key}"] = line_of(no_flags, key)
    messages = tree.get("messages")
    if isinstance(messages, dict):
        for key in messages:
            lines[f"message {key}"] = line_of(messages, key)
    return lines
