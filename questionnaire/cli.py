"""Command-line tools: `flask rules check|test|evaluate`, `flask purge`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .rules import DEFAULT_PATH, RulesFileError, Ruleset, answer_problems, load_ruleset

rules_cli = AppGroup("rules", help="Check, test and try the rules file.")


def _load(path: str | None) -> Ruleset:
    try:
        return load_ruleset(Path(path) if path else Path(current_app.config.get("RULES_PATH") or DEFAULT_PATH))
    except RulesFileError as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(exc.errors)} error(s): the rules file was refused.", err=True)
        sys.exit(1)


@rules_cli.command("check")
@click.argument("path", required=False)
def check(path: str | None) -> None:
    """Validate a rules file (default: the one the app uses)."""
    rs = _load(path)
    status = f"signed off by {rs.sign_off_by} on {rs.sign_off_date}" if rs.signed_off else "NOT clinically signed off"
    click.echo(f"{rs.path}: OK: {rs.name} version {rs.version} ({rs.status}, {status}): "
               f"{len(rs.rules)} rules, {len(rs.levels)} levels, {len(rs.examples)} examples, sha256 {rs.sha256[:12]}")


@rules_cli.command("test")
@click.argument("path", required=False)
def test(path: str | None) -> None:
    """Run the example cases in a rules file (a failing example is reported with its line)."""
    rs = _load(path)   # loading runs every example and refuses the file if one does not hold
    for ex in rs.examples:
        result = rs.evaluate(ex["answers"])
        click.echo(f"ok  {ex['name']}  ->  {result.level}: {', '.join(result.rule_ids) or '-'}")
    click.echo(f"{len(rs.examples)} passed, 0 failed")


@rules_cli.command("evaluate")
@click.argument("answers_file", type=click.File("r"))
@click.option("--rules", "path", help="Use this rules file instead of the app's.")
def evaluate(answers_file: click.utils.LazyFile, path: str | None) -> None:
    """Evaluate answers (a JSON object of question ids; '-' reads stdin) and print the result as JSON."""
    rs = _load(path) if path else current_app.extensions["ruleset"]
    try:
        answers = json.loads(answers_file.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        click.echo(f"error: the answers are not valid JSON: {exc}", err=True)
        sys.exit(2)
    problems = answer_problems(answers, rs.questionnaire)
    if problems:
        for p in problems:
            click.echo(f"error: {p}", err=True)
        sys.exit(2)
    click.echo(json.dumps(rs.evaluate(answers).summary()))


def init_app(app: Flask) -> None:
    app.cli.add_command(rules_cli)
