"""What an outcome page says, composed from the rule set and the fired rules (no Flask).

An outcome page shows the level's text, then each fired rule's own extra sentences (clinical-content.md
R5): a rule's generic message (MSG_D, MSG_M) is what the level's text already says, so it is not
repeated, and no sentence appears twice, whichever messages it comes from. An urgent stop has two
kinds: an emergency (call the emergency number now) and same-day care (medical advice today); when
both fire, the emergency wins and the same-day sentences are not shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from questionnaire.core.rules import Level, Ruleset
from questionnaire.core.sentences import sentences_once


@dataclass(frozen=True)
class Outcome:
    level: Level  # the title and outcome to show (a same-day variant where it applies)
    message_ids: tuple[str, ...]  # the fired rules' own messages to show after it, each once
    same_day: bool = False


def _is_same_day(fired: Mapping[str, Any], rs: Ruleset) -> bool:
    if "same_day" in fired:
        return bool(fired["same_day"])
    rule = next((r for r in rs.rules if r.id == fired.get("id")), None)  # stored before the flag was kept
    return rule is not None and rule.same_day


def compose(rs: Ruleset, level_id: str, fired: Sequence[Mapping[str, Any]]) -> Outcome:
    """The level text and the messages for a submission judged at `level_id` with these fired rules
    (as stored: {"id", "level", "message_ids", "same_day"?})."""
    level = rs.level(level_id) if level_id in [lv.id for lv in rs.levels] else rs.no_flags
    shown = list(fired)
    same_day = False
    if level.stops_form:
        # The stop page says only what this level's rules say: "we will contact you before you
        # book" from a lower flag would contradict "do not wait for the clinic to contact you".
        shown = [f for f in fired if f.get("level") == level.id]
        emergency = [f for f in shown if not _is_same_day(f, rs)]
        if shown and not emergency and level.same_day is not None:
            level, same_day = level.same_day, True
        elif emergency:
            shown = emergency
    generic = {lv.message for lv in rs.levels if lv.message}
    ids: dict[str, None] = {}
    for f in shown:
        for m in f.get("message_ids", ()):
            if m not in generic and m in rs.messages:
                ids[m] = None
    return Outcome(level, tuple(ids), same_day)


def paragraphs(outcome: Outcome, rs: Ruleset, translate: Callable[[str], str], **values: Any) -> list[str]:
    """The outcome's text as paragraphs in the patient's language, each sentence once: the level's
    outcome (one paragraph per line, with its {placeholders} filled in), then the messages."""
    level_text = translate(outcome.level.outcome).format(**values)
    parts = [p for p in level_text.split("\n") if p.strip()]
    parts += [translate(rs.messages[m]) for m in outcome.message_ids]
    return sentences_once(parts)
