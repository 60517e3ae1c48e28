"""The checks of the rules file's texts for the front desk: a title and `front_desk` words on every
rule, a `label` and `front_desk` on every level and on no_flags. Plain words for people who are not
clinicians, read on the staff pages only (in the clinic's language: no translations), so held to the
patient texts' standard: no clearance wording (wording.banned_wording) and no rule id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from questionnaire.core.rules.checks import Checks
from questionnaire.core.rules.model import FRONT_DESK_KEYS, LABEL_LENGTH, RULE_ID_IN_TEXT, FrontDesk
from questionnaire.core.rules.reader import line_of
from questionnaire.core.wording import banned_wording


class FrontDeskChecks(Checks):
    """The front-desk texts of a rule, a level and no_flags."""

    def desk_text(self, obj: Mapping[str, Any], key: str, rule: str | None, what: str) -> str:
        """A required text for the front desk ("" when missing or faulty, with the fault recorded)."""
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            if key in obj:
                self.error(line_of(obj, key), rule, f"{what} must be non-empty text")
            return ""
        banned = banned_wording(value, lang="en")
        if banned:
            self.error(
                line_of(obj, key),
                rule,
                f"{what} uses clearance wording no one may say to a patient: " + ", ".join(repr(b) for b in banned),
            )
        ids = RULE_ID_IN_TEXT.findall(value)
        if ids:
            self.error(
                line_of(obj, key),
                rule,
                f"{what} names a rule by its id ({', '.join(ids)}): "
                "the front desk reads flags in words, by their title",
            )
        return value.strip()

    def rule_desk(self, item: Mapping[str, Any], rid: str) -> tuple[str, FrontDesk]:
        """A rule's title and front_desk words (missing keys are reported by the rule's key check)."""
        title = self.desk_text(item, "title", rid, "title") if "title" in item else ""
        raw = item.get("front_desk")
        if (
            "front_desk" not in item
            or not self.keys(raw, FRONT_DESK_KEYS, FRONT_DESK_KEYS, "front_desk", rid)
            or not isinstance(raw, Mapping)
        ):
            return title, FrontDesk("", "", "")
        return title, FrontDesk(
            *(
                self.desk_text(raw, key, rid, f"front_desk {key}") if key in raw else ""
                for key in ("say", "do_not_say", "goes_to")
            )
        )

    def level_desk(self, obj: Mapping[str, Any], what: str) -> str:
        """The front_desk text of a level or of no_flags (a missing key is reported by the key check)."""
        return self.desk_text(obj, "front_desk", None, f"{what} front_desk") if "front_desk" in obj else ""

    def level_label(self, obj: Mapping[str, Any], what: str) -> str:
        """The label of a level or of no_flags: its name on the staff pages, one short line (a missing
        key is reported by the key check)."""
        if "label" not in obj:
            return ""
        label = self.desk_text(obj, "label", None, f"{what} label")
        if "\n" in label or len(label) > LABEL_LENGTH:
            self.error(
                line_of(obj, "label"),
                None,
                f'{what} label must be one short line (at most {LABEL_LENGTH} characters), like "Urgent"',
            )
        return label

    def labels_apart(self, levels: Any, no_flags: Any) -> None:
        """No two levels (no_flags among them) share a label: staff tell the levels apart by it."""
        seen: dict[str, str] = {}
        for obj in [*(levels if isinstance(levels, list) else ()), no_flags]:
            label = obj.get("label") if isinstance(obj, Mapping) else None
            if not isinstance(label, str) or not label.strip():
                continue
            what = "no_flags" if obj is no_flags else f"level {obj.get('id')}"
            key = " ".join(label.split()).casefold()
            if key in seen:
                self.error(
                    line_of(obj, "label"), None, f"{what} label {label.strip()!r} is already the label of {seen[key]}"
                )
            seen.setdefault(key, what)
