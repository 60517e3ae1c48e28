"""Clearance and reassurance wording that no patient may ever read (clinical-content.md C1).

Two scopes, as the specification sets them: single words are banned in all patient copy,
questions included; phrases are banned in outcome and message strings (questions may say
"passed out" or "a fit (seizure)"). Negated forms count too: "not safe" is as banned as "safe".
Inside a phrase, spaces and hyphens are folded: "no contraindications", "no contra-indications"
and "no contra indications" are one phrase, as are "risk-free", "risk free" and "riskfree".
"""

from __future__ import annotations

import re

WORDS: dict[str, tuple[str, ...]] = {
    "en": ("eligible", "ineligible", "eligibility", "cleared", "clearance", "safe", "safely", "approved", "guaranteed"),
    "es": (
        "elegible",
        "elegibles",
        "inelegible",
        "elegibilidad",
        "apto",
        "apta",
        "aptos",
        "aptas",
        "autorizado",
        "autorizada",
        "aprobado",
        "aprobada",
        "aprobados",
        "aprobadas",
        "seguro",
        "segura",
        "seguros",
        "seguras",
        "seguridad",
        "garantizado",
        "garantizada",
        "garantía",
        "idóneo",
        "idónea",
        "idóneos",
        "idóneas",
    ),
}

PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        "you qualify",
        "candidate",
        "medically cleared",
        "no risk",
        "risk-free",
        "risk free",
        "low risk",
        "fda-approved",
        "government approved",
        "certified",
        "you passed",
        "passed screening",
        "all clear",
        "green light",
        "ok to proceed",
        "good to go",
        "fit for treatment",
        "safe to proceed",
        "no contra-indications",
        "nothing stops you",
        "no medical reason not to",
        "no side effects",
        "can't hurt",
        "cannot hurt",
        "proven to work",
        "you don't need to see a doctor",
        "no need to tell your doctor",
        "you can stop your medicine",
        "you can stop your medicines",
        "fit to proceed",
        "suitable patient",
        "side effects are rare",
        "well tolerated",
        "minimal risk",
    ),
    "es": (
        "sin riesgo",
        "sin riesgos",
        "bajo riesgo",
        "riesgo bajo",
        "libre de riesgo",
        "usted califica",
        "cumple los requisitos",
        "candidato",
        "candidata",
        "luz verde",
        "todo en orden",
        "puede proceder con el tratamiento",
        "sin contraindicaciones",
        "sin efectos secundarios",
        "no tiene efectos secundarios",
        "no hace daño",
        "probado que funciona",
        "eficacia comprobada",
        "certificado",
        "sin peligro",
        "visto bueno",
        "inocuo",
        "inocua",
        "inocuos",
        "inocuas",
        "inofensivo",
        "inofensiva",
        "inofensivos",
        "inofensivas",
        "no necesita ver a un médico",
        "no hace falta decírselo a su médico",
        "puede dejar su medicamento",
        "puede dejar de tomar",
        "no hay riesgo",
        "puede dejar sus medicamentos",
        "los efectos secundarios son raros",
    ),
}

# A tick or check mark styled as a result reads as a clearance badge.
MARKS = ("\u2713", "\u2714", "\u2611", "\u2705", "\U0001f5f8")


_JOIN = re.compile(r"[\s\-\u2010\u2011]+")


def _loose(phrase: str) -> str:
    # Between the parts of a phrase: any spacing or hyphens, or none at all.
    return r"[\s\-\u2010\u2011]*".join(map(re.escape, _JOIN.split(phrase)))


def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # Whole words, but a hyphen joins nothing away: "pre-approved" and "safe-to-proceed" count.
    return re.compile(r"(?<!\w)(" + "|".join(map(_loose, words)) + r")(?!\w)", re.IGNORECASE)


_WORD_RE = {lang: _word_pattern(words) for lang, words in WORDS.items()}
_PHRASE_RE = {lang: _word_pattern(phrases) for lang, phrases in PHRASES.items()}


def banned_wording(text: str, *, phrases: bool = True, lang: str | None = None) -> list[str]:
    """The banned words (and, with phrases=True, phrases and marks) found in a text.

    Without a language, every language's list is checked: a Spanish word in an English page
    is as wrong as in a Spanish one.
    """
    langs = [lang] if lang else list(WORDS)
    found: list[str] = []
    for code in langs:
        found += [m.group(0) for m in _WORD_RE[code].finditer(text)]
        if phrases:
            found += [m.group(0) for m in _PHRASE_RE[code].finditer(text)]
    if phrases:
        found += [m for m in MARKS if m in text]
    return found
