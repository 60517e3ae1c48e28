"""The app starts only on a valid rules file, and the outcome page shows a message that depends on
the answers only for that answer (the rules file through the web)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from questionnaire.core.rules import DEFAULT_PATH, RulesFileError, load_ruleset

from ..helpers import NO_FLAGS, Patient, visible_text
from ..unit.test_rules import write_broken

TEXT = Path(DEFAULT_PATH).read_text(encoding="utf-8")
RULESET = load_ruleset(DEFAULT_PATH)
PRIVATE = "MSG_CONTACT_PRIVATELY"


def test_the_app_refuses_to_start_on_a_broken_rules_file(tmp_path: Path) -> None:
    from questionnaire import create_app

    path, line = write_broken(tmp_path, "{q: g6pd_deficiency, eq: yes}", "{q: g6pd_deficency, eq: yes}")
    with pytest.raises(RulesFileError) as caught:
        create_app(
            {"RULES_PATH": str(path), "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40, "TESTING": True}
        )
    assert f"{path}:{line}: rule r_g6pd_known: unknown question 'g6pd_deficency'" in str(caught.value)


def test_the_app_starts_on_a_valid_copy_of_the_rules_file(tmp_path: Path) -> None:
    from questionnaire import create_app

    copy = tmp_path / "rules.yaml"
    copy.write_text(TEXT, encoding="utf-8")
    app = create_app(
        {"RULES_PATH": str(copy), "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40, "TESTING": True}
    )
    assert app.extensions["ruleset"].sha256 == RULESET.sha256


@pytest.mark.parametrize(("answer", "private"), [("yes", False), ("prefer_private", True)])
def test_the_outcome_page_shows_the_private_message_only_for_the_private_answer(
    client: Any, app: Flask, answer: str, private: bool
) -> None:
    page = Patient(client).complete(NO_FLAGS | {"pregnant": answer})
    text = visible_text(page.get_data(as_text=True))
    # The level's outcome says what MSG_D says, so the page does not repeat MSG_D (R5).
    assert RULESET.level("discuss_before_booking").outcome.split(" We will")[0] in text
    assert RULESET.messages["MSG_D"] not in text
    assert (RULESET.messages[PRIVATE] in text) is private
