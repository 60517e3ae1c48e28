"""Translations: the Babel extractor for the rules file, fresh extraction, and text_in() for staff views.

Everything a patient reads is an English msgid translated at render time: question texts from
questions.py (marked with N_()), strings in the patient templates, and the level titles, outcome
wording and patient messages in rules/contraindications.yaml. `make translations` extracts them
all (babel.cfg), updates the Spanish catalogue and compiles it.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.support import NullTranslations, Translations
from flask import current_app, g, has_request_context, request, session
from flask_babel import get_translations

from questionnaire.core import languages, rules
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import Questionnaire

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS_DIR = Path(__file__).resolve().parents[1] / "translations"
MAPPING_FILE = ROOT / "babel.cfg"
DOMAIN = "messages"


# --- the rules file ----------------------------------------------------------------------------


def rule_texts(ruleset: rules.Ruleset) -> list[tuple[str, str]]:
    """Every patient-facing text of a loaded rule set, as (where, text), exactly as the app has it."""
    out: list[tuple[str, str]] = []
    for level in ruleset.levels:
        out += [(f"level {level.id} title", level.title), (f"level {level.id} outcome", level.outcome)]
        if level.same_day is not None:
            out += [
                (f"level {level.id} same_day title", level.same_day.title),
                (f"level {level.id} same_day outcome", level.same_day.outcome),
            ]
    out += [("no_flags title", ruleset.no_flags.title), ("no_flags outcome", ruleset.no_flags.outcome)]
    out += [(f"message {key}", text) for key, text in ruleset.messages.items()]
    return [(where, text) for where, text in out if text]


def _load(raw: bytes, name: str) -> rules.Ruleset:
    """The rule set as the app's loader builds it."""
    path = Path(name)
    if path.is_file() and path.read_bytes() == raw:
        # The very loader the app starts with; extracting texts needs no valid sign-off (after editing
        # an approved file, the texts are translated before a clinician signs it off again).
        return rules.load_ruleset(path, verify_sign_off=False)
    return rules.load_ruleset_bytes(raw, name)  # a file object with no file behind it


def extract_rules(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel extractor (entry point `ozone_rules`) for rules/contraindications.yaml.

    Yields every level title and outcome, the no_flags title and outcome, and every patient
    message, stripped exactly as questionnaire.core.rules stores them (so the msgid is the very string
    the templates pass to gettext). A rules file with faults stops the extraction.
    """
    raw = fileobj.read()
    name = str(getattr(fileobj, "name", "rules.yaml"))
    ruleset = _load(raw, name)
    lines = rules.text_lines(raw, name)
    for where, text in rule_texts(ruleset):
        yield lines.get(where, 1), None, text, [f"Rules file: {where}"]


# --- extraction through Babel's API (tests, and anyone without the pybabel command) ------------


def extract_catalog(root: Path = ROOT, mapping_file: Path = MAPPING_FILE) -> Catalog:
    """A fresh extraction of every patient-facing msgid, as `make translations` does it."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with mapping_file.open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(mapping_file))  # type: ignore[no-untyped-call]
    catalog = Catalog(project="ozone-questionnaire", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), method_map, options_map, keywords=DEFAULT_KEYWORDS, comment_tags=()
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def questionnaire_texts(qn: Questionnaire = QUESTIONNAIRE) -> list[tuple[str, str]]:
    """Every text of the questionnaire definition that a patient can read, as (where, text)."""
    out: list[tuple[str, str]] = []
    for page in qn.pages:
        out.append((f"page {page.id} title", page.title))
        if page.intro:
            out.append((f"page {page.id} intro", page.intro))
        for q in page.questions:
            out.append((f"{q.id} text", q.text))
            if q.error:
                out.append((f"{q.id} error", q.error))
            out += [(f"{q.id} hint", h) for h in q.hints]
            if q.why:
                out.append((f"{q.id} why", q.why))
            if q.suffix:
                out.append((f"{q.id} suffix", q.suffix))
            out += [(f"{q.id} choice {c.value}", c.label) for c in q.choices]
    return out


# --- a msgid in a given language, outside the request's own locale --------------------------------


def _directories() -> tuple[str, ...]:
    try:
        from flask import current_app

        configured = current_app.config.get("BABEL_TRANSLATION_DIRECTORIES")
        root = Path(current_app.root_path)
    except RuntimeError:  # no application context: the package's own catalogues
        return (str(TRANSLATIONS_DIR),)
    if not configured:
        return (str(TRANSLATIONS_DIR),)
    return tuple(str(root / d) for d in str(configured).split(";") if d)


@lru_cache(maxsize=16)
def _catalogue(directories: tuple[str, ...], language: str) -> NullTranslations:
    merged: NullTranslations | None = None
    for directory in directories:
        found = Translations.load(directory, [language], DOMAIN)
        if merged is None:
            merged = found
        elif isinstance(merged, Translations) and isinstance(found, Translations):
            merged.merge(found)
    return merged if merged is not None else NullTranslations()


def text_in(language: str | None, msgid: str | None) -> str:
    """`msgid` translated into `language` (say "es"), whatever the current request's locale is.

    For the staff views: the question text the patient saw, in the patient's language. English,
    an unknown language or a msgid without a translation give the msgid itself.
    """
    if not msgid:
        return msgid or ""
    code = (language or "en").replace("-", "_")
    if code.split("_")[0] == "en":
        return msgid
    return _catalogue(_directories(), code).ugettext(msgid)


# --- the request's own language, looked up once per request ---------------------------------------

STAFF_BLUEPRINTS = ("auth", "staff", "interop")


def select_language() -> str:
    """Flask-Babel's locale selector: the staff area is in English; patients get the language they
    chose, else their browser's."""
    if request.blueprint in STAFF_BLUEPRINTS:
        return "en"
    chosen = session.get("lang")
    languages = current_app.config["LANGUAGES"]
    if chosen in languages:
        return str(chosen)
    return str(request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"])


def language_choices() -> list[tuple[str, str]]:
    """The language switcher's choices: each of the app's LANGUAGES, as (code, its name in itself)."""
    return [(code, languages.native_name(code)) for code in current_app.config["LANGUAGES"]]


def current_language() -> str:
    """This request's language code ("en", "es"), as select_language() gives it to Flask-Babel."""
    language: str | None = g.get("language")
    if language is None:
        language = g.language = select_language() if has_request_context() else "en"
    return language


def request_translations() -> NullTranslations:
    """This request's catalogue. Flask-Babel's own template callables look the locale and the
    catalogue up again on every call, and a page makes dozens of them."""
    translations: NullTranslations | None = g.get("translations")
    if translations is None:
        translations = g.translations = get_translations()
    return translations


def install_template_gettext(env: Any) -> None:
    """`_`, `gettext` and `ngettext` in templates translate with request_translations(); autoescaping
    and %(name)s formatting stay Jinja's own (newstyle gettext)."""
    env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
    )
