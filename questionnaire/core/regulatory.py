"""The regulatory notice patients read on the start page and every outcome page (clinical-content.md
R8, B4 cfg_jurisdiction), chosen by the clinic's market.

US, CA and AU have built-in texts taken from the sources (English msgids, translated through the
catalogues like every other patient text). Any other market (an ISO 3166-1 two-letter country code)
uses the clinic's own text, one per language, which its lawyer has reviewed. A notice never says the
treatment is legal, approved or safe: clinic texts are checked against the banned clearance wording
(wording.py) and the words below before the app starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from questionnaire.core.wording import banned_wording


def N_(text: str) -> str:
    """Marks a msgid for extraction (babel.cfg); translated when the page is rendered."""
    return text


# The specification's exact English (R8); sources S1, S3 and S4 of clinical-content.md.
BUILT_IN: dict[str, str] = {
    "US": N_(
        "In the United States, the FDA says ozone is a toxic gas with no known useful medical use (21 CFR 801.415)."
    ),
    "CA": N_("Health Canada has not licensed ozone devices for these treatments and has warned the public about them."),
    "AU": N_("In Australia, health complaint bodies have acted against ozone therapy providers."),
}

# ISO 3166-1 alpha-2: a market without a built-in text must still be a real country code, so that a
# typo ("USA", "UK") stops the app instead of silently asking for a clinic text.
COUNTRY_CODES = frozenset(
    """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI
FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE
YT ZA ZM ZW
""".split()
)

# Beyond the clearance wording every patient text avoids: a notice about the law must not say the
# treatment is lawful either (negated forms count, as everywhere in wording.py).
LEGALITY_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("legal", "legally", "lawful", "lawfully", "legalised", "legalized", "legitimate"),
    "es": (
        "legal",
        "legales",
        "legalmente",
        "lícito",
        "lícita",
        "lícitos",
        "lícitas",
        "legalizado",
        "legalizada",
        "legítimo",
        "legítima",
    ),
}
_LEGALITY_RE = re.compile(
    r"(?<!\w)(" + "|".join(map(re.escape, sorted({w for ws in LEGALITY_WORDS.values() for w in ws}))) + r")(?!\w)",
    re.IGNORECASE,
)

MARKET_SETTING = "FLASK_REGULATORY_MARKET"
NOTICE_SETTING = "FLASK_REGULATORY_NOTICE"


class NoticeError(ValueError):
    """A market or clinic text the app must not start with; the message names the setting."""


@dataclass(frozen=True)
class Notice:
    """The notice a clinic shows: a built-in msgid (translated when rendered), or its own text per
    language. An empty Notice (no market) shows nothing; production refuses it (config.py)."""

    market: str = ""
    msgid: str = ""
    texts: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.market)

    def text(self, language: str, gettext: Callable[[str], str]) -> str:
        """The notice in `language` ("en", "es"); `gettext` translates a built-in msgid into it."""
        if self.msgid:
            return gettext(self.msgid)
        return self.texts.get(language.split("_")[0].split("-")[0].lower(), "")


def forbidden_wording(text: str) -> list[str]:
    """The clearance and legality wording found in a notice, in any language."""
    return banned_wording(text) + [m.group(0) for m in _LEGALITY_RE.finditer(text)]


def build(market: Any, texts: Any, languages: Iterable[str]) -> Notice:
    """The notice for these settings (REGULATORY_MARKET, REGULATORY_NOTICE), or NoticeError naming
    the setting to fix. Nothing set gives an empty Notice."""
    languages = list(languages)
    code = str(market or "").strip().upper()
    given = _clinic_texts(texts)
    if not code:
        if given:
            raise NoticeError(
                f"{NOTICE_SETTING} is set but {MARKET_SETTING} is not: set the market the "
                "clinic's text is for (a two-letter country code, e.g. GB)"
            )
        return Notice()
    if code in BUILT_IN:
        if given:
            raise NoticeError(
                f"{MARKET_SETTING}={code} uses the built-in notice, but {NOTICE_SETTING} is set "
                f"too: unset {NOTICE_SETTING}, or use the clinic's text for another market"
            )
        return Notice(code, msgid=BUILT_IN[code])
    if code not in COUNTRY_CODES:
        raise NoticeError(
            f"{MARKET_SETTING}={str(market).strip()!r} is not a known market: use US, CA or AU "
            "for the built-in notice, or another two-letter country code (ISO 3166-1, e.g. GB) "
            f"with the clinic's own text in {NOTICE_SETTING}"
        )
    problems = [
        f"{NOTICE_SETTING} has no text for language {lang!r}: market {code} has no built-in notice, "
        f"so the clinic's lawyer-reviewed text is needed in every language ({', '.join(languages)})"
        for lang in languages
        if not given.get(lang)
    ]
    problems += [
        f"{NOTICE_SETTING} has a text for {lang!r}, which is not one of the app's languages ({', '.join(languages)})"
        for lang in given
        if lang not in languages
    ]
    for lang in languages:
        found = forbidden_wording(given.get(lang, ""))
        if found:
            problems.append(
                f"{NOTICE_SETTING} ({lang}) must never say the treatment is cleared, approved, "
                f"legal or safe; it says: {', '.join(dict.fromkeys(found))}"
            )
    if problems:
        raise NoticeError("\n  ".join(problems))
    return Notice(code, texts={lang: given[lang] for lang in languages})


def _clinic_texts(texts: Any) -> dict[str, str]:
    """REGULATORY_NOTICE as {language: text}: a JSON object in the environment
    (FLASK_REGULATORY_NOTICE='{"en": "...", "es": "..."}') or one variable per language
    (FLASK_REGULATORY_NOTICE__en, FLASK_REGULATORY_NOTICE__es, which Flask nests)."""
    if texts is None or texts == "" or texts == {}:
        return {}
    if not isinstance(texts, Mapping) or not all(isinstance(k, str) for k in texts):
        raise NoticeError(
            f'{NOTICE_SETTING} must be a JSON object of texts by language, e.g. {{"en": "...", "es": "..."}}'
        )
    out: dict[str, str] = {}
    for lang, text in texts.items():
        if text is not None and not isinstance(text, str):
            raise NoticeError(f"{NOTICE_SETTING} ({lang}) must be a text")
        if text and text.strip():
            out[lang.strip().lower()] = " ".join(text.split())
    return out
