"""Plain language, measured: the English patient text of every question and every rules message.

Issue 7 and clinical-content.md (A, "reading age 11-12"; S51, S52): a Flesch-Kincaid grade of 8 or
lower on average, and no sentence over 25 words. Measured with textstat. The exceptions below are
the only ones allowed, each with its reason; an exception that is no longer needed fails too, so
the list stays true.
"""

from __future__ import annotations

import re
from statistics import mean

import pytest

from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.rules import load_ruleset
from questionnaire.web import i18n

textstat = pytest.importorskip("textstat")  # a dev extra (setup.cfg); CI fails any skip

MAX_AVERAGE_GRADE = 8.0
MAX_SENTENCE_WORDS = 25
# The "Why we ask" texts are ours, not the specification's: each one must be plain on its own.
MAX_WHY_GRADE = 8.0

# Scored as one short word: patients know these names from their medicine packs and letters, and
# they must match what is written there, so they cannot be made simpler.
MEDICINE_NAMES = (
    "warfarin",
    "apixaban",
    "rivaroxaban",
    "dabigatran",
    "edoxaban",
    "heparin",
    "enoxaparin",
    "clopidogrel",
    "ticagrelor",
    "aspirin",
    "ramipril",
    "lisinopril",
    "enalapril",
    "perindopril",
    "captopril",
    "gliclazide",
    "glipizide",
    "lidocaine",
    "chlorhexidine",
    "insulin",
    "adrenaline",
    "epinephrine",
)
# Also scored as one short word: the name a doctor will have used, given in brackets after the
# plain words so that the patient recognises it (clinical-content.md A: "a plain explanation in
# brackets for any medical term").
MEDICAL_NAMES = (
    "G6PD deficiency",
    "favism",
    "haemolytic anaemia",
    "anaemia",
    "haemophilia",
    "von Willebrand disease",
    "anaphylaxis",
    "hyperthyroidism",
    "Graves' disease",
    "patent foramen ovale",
    "PFO",
    "ASD",
    "COPD",
    "emphysema",
    "bronchitis",
    "major autohemotherapy",
    "MAH",
    "TIA",
    "epilepsy",
)
# Sentences allowed over MAX_SENTENCE_WORDS, by where they are, with the reason.
LONG_SENTENCES = {
    "stroke_signs_now": "the specification's wording (clinical-content.md A2, with PAR-Q+ and FAST): the "
    "three stroke signs stay in one urgent question so that one answer covers them all"
}

SENTENCE_END = re.compile(r"(?<=[.?!])\s+|(?<=[.?!][)\"”'])\s+")
_NAMES = re.compile(
    r"(?<![\w-])("
    + "|".join(map(re.escape, sorted(MEDICINE_NAMES + MEDICAL_NAMES, key=len, reverse=True)))
    + r")(?![\w-])",
    re.IGNORECASE,
)


def scored(text: str) -> str:
    """The text as it is scored: each allowed name counts as one short word."""
    return _NAMES.sub("name", text)


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(text.strip()) if s.strip()]


def grade(text: str) -> float:
    return float(textstat.flesch_kincaid_grade(scored(text)))


def ended(text: str) -> str:
    return text if text.rstrip().endswith((".", "?", "!", ".)", "?)")) else text.rstrip() + "."


def question_texts() -> list[tuple[str, list[str]]]:
    """(where, parts): each question's text, hints and "why"; each page's introduction."""
    out = [(q.id, [q.text, *q.hints] + ([q.why] if q.why else [])) for q in QUESTIONNAIRE.questions.values()]
    out += [(f"page {p.id} intro", [p.intro]) for p in QUESTIONNAIRE.pages if p.intro]
    return out


def rules_texts() -> list[tuple[str, list[str]]]:
    """Outcome wording and patient messages from the rules file (titles are headings, not prose)."""
    return [(where, [text]) for where, text in i18n.rule_texts(load_ruleset()) if not where.endswith(" title")]


ITEMS = question_texts() + rules_texts()


def test_the_average_flesch_kincaid_grade_is_8_or_lower() -> None:
    grades = {where: grade(" ".join(ended(p) for p in parts)) for where, parts in ITEMS}
    assert len(grades) > 80
    average = mean(grades.values())
    worst = sorted(grades.items(), key=lambda kv: -kv[1])[:8]
    assert average <= MAX_AVERAGE_GRADE, (
        f"average grade {average:.1f} > {MAX_AVERAGE_GRADE}; hardest texts: "
        + "; ".join(f"{w} {g:.1f}" for w, g in worst)
    )


def test_no_sentence_is_over_25_words_except_the_listed_ones() -> None:
    long: dict[str, list[str]] = {}
    for where, parts in ITEMS:
        for part in parts:
            for sentence in sentences(part):
                if textstat.lexicon_count(sentence) > MAX_SENTENCE_WORDS:
                    long.setdefault(where, []).append(sentence)
    unexpected = {w: s for w, s in long.items() if w not in LONG_SENTENCES}
    assert not unexpected, f"sentences over {MAX_SENTENCE_WORDS} words (split them): {unexpected}"
    stale = sorted(set(LONG_SENTENCES) - set(long))
    assert not stale, f"these exceptions are no longer needed: remove them from LONG_SENTENCES: {stale}"


def test_each_why_we_ask_text_is_plain_on_its_own() -> None:
    hard = {
        q.id: round(grade(q.why), 1) for q in QUESTIONNAIRE.questions.values() if q.why and grade(q.why) > MAX_WHY_GRADE
    }
    assert not hard, f'simplify these "Why we ask" texts (grade over {MAX_WHY_GRADE}): {hard}'


def test_the_exceptions_only_take_out_the_listed_names() -> None:
    assert scored("Do you take warfarin or aspirin every day?") == "Do you take name or name every day?"
    assert scored("Has a doctor told you that you have G6PD deficiency?") == "Has a doctor told you that you have name?"
    assert scored("Heparinised or insulin-like words stay") == "Heparinised or insulin-like words stay"
    assert sentences("One. Two? (Three.) Four") == ["One.", "Two?", "(Three.)", "Four"]
    # The measure itself: plain text scores low, dense text scores high.
    assert grade("We will call you. Please do not book yet.") < 4
    assert (
        grade(
            "Contemporaneous pharmacological anticoagulation necessitates individualised "
            "periprocedural haemostatic evaluation."
        )
        > 14
    )
