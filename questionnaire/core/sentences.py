"""Sentences said once: a page that puts several texts together never repeats a sentence
(clinical-content.md R5), in whatever language the texts are."""

from __future__ import annotations

import re
from collections.abc import Iterable

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _key(sentence: str) -> str:
    return " ".join(sentence.casefold().split())


def sentences_once(paragraphs: Iterable[str]) -> list[str]:
    """The paragraphs with every sentence said before left out (and a paragraph left empty dropped)."""
    seen: set[str] = set()
    out: list[str] = []
    for para in paragraphs:
        kept = []
        for sentence in _SENTENCE_END.split(para.strip()):
            key = _key(sentence)
            if key and key not in seen:
                seen.add(key)
                kept.append(sentence)
        if kept:
            out.append(" ".join(kept))
    return out
