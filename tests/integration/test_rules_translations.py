"""The loader refuses a rules file whose patient-facing texts lack a translation (product.md, the
rules file): each of the app's non-English LANGUAGES needs a non-empty translation of every level
title and outcome, the no-flags wording and every message, with the same {placeholders} and no
clearance wording of that language. The app starts, and `flask rules check` runs, with this check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from questionnaire.core.rules import (
    DEFAULT_PATH,
    TRANSLATIONS_DIR,
    RuleError,
    RulesFileError,
    load_ruleset,
    translation_directories,
)

from ..conftest import test_settings

TEXT = Path(DEFAULT_PATH).read_text(encoding="utf-8")
PO = TRANSLATIONS_DIR / "es" / "LC_MESSAGES" / "messages.po"
OLD_MESSAGE = "MSG_BRING_INHALER: Please bring your inhaler to your visit."
NEW_MESSAGE = "MSG_BRING_INHALER: Please bring your inhalers and spacer to your visit."


def copy(tmp_path: Path, old: str = "", new: str = "") -> tuple[Path, int]:
    """A copy of the rules file with `old` replaced by `new`; the line of `new` in it."""
    text = TEXT.replace(old, new, 1) if old else TEXT
    assert not old or new in text
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text[: text.index(new)].count("\n") + 1 if new else 0


def catalogue(tmp_path: Path, change: dict[str, str]) -> Path:
    """A compiled Spanish catalogue like the committed one, with some translations replaced."""
    with PO.open("rb") as fh:
        cat = read_po(fh)
    for msgid, msgstr in change.items():
        entry = cat.get(msgid)
        assert entry is not None, msgid
        entry.string = msgstr
    directory = tmp_path / "translations"
    mo = directory / "es" / "LC_MESSAGES" / "messages.mo"
    mo.parent.mkdir(parents=True)
    with mo.open("wb") as fh:
        write_mo(fh, cat)
    return directory


def refusal(path: Path, **kwargs: Any) -> list[RuleError]:
    with pytest.raises(RulesFileError) as caught:
        load_ruleset(path, **kwargs)
    return caught.value.errors


RS = load_ruleset(DEFAULT_PATH)


# --- the loader ------------------------------------------------------------------------------


def test_the_committed_rules_file_has_every_text_translated() -> None:
    rs = load_ruleset(DEFAULT_PATH, languages=["en", "es"])
    assert rs.sha256 == RS.sha256


def test_a_reworded_message_without_a_spanish_translation_is_refused_on_its_line(tmp_path: Path) -> None:
    path, line = copy(tmp_path, OLD_MESSAGE, NEW_MESSAGE)
    [error] = refusal(path, languages=["en", "es"])
    assert (error.file, error.line, error.rule) == (str(path), line, "MSG_BRING_INHALER")
    assert error.message.startswith("message MSG_BRING_INHALER has no 'es' translation")
    assert str(error).startswith(f"{path}:{line}: rule MSG_BRING_INHALER: message MSG_BRING_INHALER has no 'es'")


def test_without_languages_the_reworded_file_loads(tmp_path: Path) -> None:
    """The Babel extractor must read a file whose new texts are not translated yet."""
    path, _ = copy(tmp_path, OLD_MESSAGE, NEW_MESSAGE)
    assert load_ruleset(path).messages["MSG_BRING_INHALER"] == NEW_MESSAGE.split(": ", 1)[1]
    assert load_ruleset(path, languages=["en"]).messages["MSG_BRING_INHALER"]  # English needs no catalogue


def test_a_reworded_level_title_is_refused_on_its_line(tmp_path: Path) -> None:
    path, line = copy(tmp_path, "    title: Get medical help now\n", "    title: Get medical help right now\n")
    [error] = refusal(path, languages=["es"])
    assert (error.line, error.rule) == (line, None)
    assert error.message.startswith("level urgent title has no 'es' translation")


def test_a_spanish_translation_with_clearance_wording_is_refused(tmp_path: Path) -> None:
    msgid = RS.messages["MSG_M"]
    directory = catalogue(tmp_path, {msgid: "Gracias. Es seguro: se lo diremos al clínico en su visita."})
    [error] = refusal(Path(DEFAULT_PATH), languages=["es"], translations=directory)
    assert error.rule == "MSG_M"
    assert error.line == TEXT[: TEXT.index("  MSG_M:")].count("\n") + 1
    assert error.message == (
        "the 'es' translation of message MSG_M uses clearance wording a patient must never read: 'seguro'"
    )


def test_an_empty_translation_is_refused(tmp_path: Path) -> None:
    directory = catalogue(tmp_path, {RS.no_flags.title: ""})
    [error] = refusal(Path(DEFAULT_PATH), languages=["es"], translations=str(directory))
    assert error.message.startswith("no_flags title has no 'es' translation")


def test_a_translation_that_drops_a_placeholder_is_refused(tmp_path: Path) -> None:
    outcome = RS.level("discuss_before_booking").outcome
    directory = catalogue(tmp_path, {outcome: "Gracias. Le llamaremos pronto. Esto no es un diagnóstico."})
    [error] = refusal(Path(DEFAULT_PATH), languages=["es"], translations=[directory])
    assert error.message == (
        "the 'es' translation of level discuss_before_booking outcome must have the "
        "placeholders {working_days} (it has none)"
    )


def test_a_language_without_a_compiled_catalogue_is_refused(tmp_path: Path) -> None:
    [error] = refusal(Path(DEFAULT_PATH), languages=["en", "es", "fr"])
    assert error.line == 1 and "no compiled 'fr' catalogue" in error.message


def test_catalogue_directories_are_read_as_flask_babel_reads_them(tmp_path: Path) -> None:
    assert translation_directories(None) == [TRANSLATIONS_DIR]
    assert translation_directories("translations") == [TRANSLATIONS_DIR]  # relative to the package
    assert translation_directories(f"{tmp_path};translations") == [tmp_path, TRANSLATIONS_DIR]
    # The first directory that has a translation wins; the others fill in.
    directory = catalogue(tmp_path, {RS.messages["MSG_M"]: ""})
    load_ruleset(DEFAULT_PATH, languages=["es"], translations=f"{TRANSLATIONS_DIR};{directory}")
    refusal(Path(DEFAULT_PATH), languages=["es"], translations=f"{directory}")


# --- start-up and the command line -------------------------------------------------------------


def test_the_app_refuses_to_start_on_a_message_without_a_translation(tmp_path: Path) -> None:
    from questionnaire import create_app

    path, line = copy(tmp_path, OLD_MESSAGE, NEW_MESSAGE)
    with pytest.raises(RulesFileError) as caught:
        create_app(test_settings("sqlite://", RULES_PATH=str(path)))
    assert f"{path}:{line}: rule MSG_BRING_INHALER: message MSG_BRING_INHALER has no 'es' translation" in str(
        caught.value
    )


def test_an_english_only_app_starts_on_it(tmp_path: Path) -> None:
    from questionnaire import create_app

    path, _ = copy(tmp_path, OLD_MESSAGE, NEW_MESSAGE)
    app = create_app(test_settings("sqlite://", RULES_PATH=str(path), LANGUAGES=["en"]))
    assert app.extensions["ruleset"].path == str(path)


def test_the_app_reads_the_catalogues_it_is_configured_with(tmp_path: Path) -> None:
    from questionnaire import create_app

    directory = catalogue(tmp_path, {RS.messages["MSG_M"]: "Gracias. Todo en orden."})
    with pytest.raises(RulesFileError, match="clearance wording a patient must never read: 'Todo en orden'"):
        create_app(test_settings("sqlite://", BABEL_TRANSLATION_DIRECTORIES=str(directory)))


def test_check_runs_the_translation_check(runner: Any, tmp_path: Path) -> None:
    path, line = copy(tmp_path, OLD_MESSAGE, NEW_MESSAGE)
    result = runner.invoke(args=["rules", "check", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:{line}: rule MSG_BRING_INHALER: message MSG_BRING_INHALER has no 'es' translation (a reworded "
        "text needs a new one: run `make translations` and translate it)",
        "1 error(s): the rules file was refused.",
    ]


def test_check_accepts_the_committed_file_with_its_translations(runner: Any) -> None:
    result = runner.invoke(args=["rules", "check"])
    assert result.exit_code == 0, result.output
