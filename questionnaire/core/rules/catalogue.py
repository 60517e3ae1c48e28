"""The compiled translation catalogues, read with the standard library only (no Babel, no Flask)."""

from __future__ import annotations

import gettext
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from questionnaire.core.rules.model import TRANSLATION_DOMAIN, TRANSLATIONS_DIR

# A msgid's translation, or "" when the catalogue has none.
Lookup = Callable[[str], str]


class _Untranslated(gettext.NullTranslations):
    """The last fallback of a catalogue chain: a msgid it reaches has no translation."""

    def gettext(self, message: str) -> str:
        return ""


def translation_directories(translations: str | Path | Iterable[str | Path] | None = None) -> list[Path]:
    """Catalogue directories as Flask-Babel reads BABEL_TRANSLATION_DIRECTORIES: ';'-separated text,
    relative ones from the package folder (the app's root_path); None gives TRANSLATIONS_DIR."""
    if translations is None:
        return [TRANSLATIONS_DIR]
    items: Iterable[str | Path] = (
        translations.split(";")
        if isinstance(translations, str)
        else [translations]
        if isinstance(translations, Path)
        else translations
    )
    return [TRANSLATIONS_DIR.parent / d for d in items if str(d).strip()]


def catalogue_lookup(language: str, directories: Sequence[Path]) -> Lookup | None:
    """The compiled catalogues of `language` in these directories (the first has priority), as a
    lookup; None when none of them has one. Only the standard library: no Babel, no Flask."""
    chain: gettext.NullTranslations | None = None
    for directory in directories:
        found = gettext.find(TRANSLATION_DOMAIN, str(directory), [language])
        if not found:
            continue
        with open(found, "rb") as fh:
            catalogue = gettext.GNUTranslations(fh)
        if chain is None:
            chain = catalogue
        else:
            chain.add_fallback(catalogue)
    if chain is None:
        return None
    chain.add_fallback(_Untranslated())
    return chain.gettext
