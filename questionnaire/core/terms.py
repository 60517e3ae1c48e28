"""Named term lists from the rules file, matched against free text (no Flask): "is Sintrom in the list?".

Matching folds case and accents ("Acenocumarol" = "acenocumarol", "ácido" = "acido") and compares
whole words, or whole runs of words for a multi-word term ("acetylsalicylic acid"): a term never
matches part of a word, so "April" is not a "-pril" medicine and "insulinoma" is not "insulin".

A list matches in one of two ways:
- `words` (the default): the text *mentions* a term somewhere (medicines typed in a list);
- `whole_answer`: the whole text *is* one of the terms ("no", "N/A", "nada": nothing to add).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MATCHES = ("words", "whole_answer")
_WORD = re.compile(r"[^\W_]+")
# A term of a `words` list: letters or digits, with single spaces, hyphens, apostrophes or dots
# between them; it starts and ends with a letter or digit (never "-pril" or "insulin*").
_TERM = re.compile(r"^[^\W_]+(?:[ '.\-][^\W_]+)*$")


def fold(text: str) -> str:
    """Lower case without accents, as people type names: "Fenprocumón" -> "fenprocumon"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> tuple[str, ...]:
    """The folded words of a text, in order; punctuation and spacing separate them."""
    return tuple(_WORD.findall(fold(text)))


def term_problem(term: object, match: str) -> str | None:
    """Why `term` cannot be in a list matched this way, or None when it can."""
    if not isinstance(term, str) or not term.strip():
        return "a term must be non-empty text"
    if match == "words" and not _TERM.match(term.strip()):
        return (
            f"term {term!r} is not a word or words: write whole names (letters and digits, with spaces, "
            "hyphens or apostrophes between them), never a part such as '-pril' or a pattern"
        )
    return None


@dataclass(frozen=True)
class TermList:
    name: str
    title: str
    terms: tuple[str, ...]  # as written in the rules file (shown to staff)
    sources: tuple[str, ...] = ()
    match: str = "words"
    # Folded words of each term -> the term as written; and the term lengths, longest first.
    keyed: Mapping[tuple[str, ...], str] = field(init=False, repr=False, compare=False)
    lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keyed: dict[tuple[str, ...], str] = {}
        for term in self.terms:
            keyed.setdefault(words(term), term)
        object.__setattr__(self, "keyed", keyed)
        object.__setattr__(self, "lengths", tuple(sorted({len(k) for k in keyed if k}, reverse=True)))

    def found(self, text: object) -> tuple[str, ...]:
        """The terms a `words` list finds in `text`, each once, in the order they appear in the text."""
        if not isinstance(text, str) or not text.strip():
            return ()
        keyed, lengths = self.keyed, self.lengths
        seq = words(text)
        hits: dict[str, None] = {}
        for start in range(len(seq)):
            for n in lengths:
                term = keyed.get(seq[start : start + n])
                if term is not None:
                    hits[term] = None
                    break
        return tuple(hits)

    def says_only(self, text: object) -> bool:
        """Whether the whole text is one of the terms (case, accents, spacing and punctuation aside);
        text that is only punctuation ("-", ".") matches a list that holds such a term."""
        if not isinstance(text, str) or not text.strip():
            return False
        return words(text) in self.keyed


def all_found(lists: Iterable[TermList], text: object) -> tuple[str, ...]:
    """Every term of these lists found in the text, each once."""
    return tuple(dict.fromkeys(t for tl in lists for t in tl.found(text)))
