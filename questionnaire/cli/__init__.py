"""Command-line tools: `flask rules check|test|evaluate`, `flask keys generate|rotate`, `flask purge`,
`flask submission delete`; `flask staff ...` is in staff.py."""

from __future__ import annotations

import json
import sys
from datetime import UTC
from pathlib import Path
from typing import IO

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from questionnaire.core.rules import DEFAULT_PATH, Ruleset, RulesFileError, answer_problems, load_ruleset

rules_cli = AppGroup("rules", help="Check, test and try the rules file.")


def _load(path: str | None, *, translations: bool = False) -> Ruleset:
    """The rules file (default: the app's), or exit 1 listing its faults. With `translations`, the
    same translation check as at start-up: every patient-facing text translated into each of the
    app's LANGUAGES, without clearance wording."""
    target = Path(path) if path else Path(current_app.config.get("RULES_PATH") or DEFAULT_PATH)
    languages = (current_app.config.get("LANGUAGES") or ()) if translations else ()
    try:
        return load_ruleset(
            target, languages=languages, translations=current_app.config.get("BABEL_TRANSLATION_DIRECTORIES")
        )
    except RulesFileError as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(exc.errors)} error(s): the rules file was refused.", err=True)
        sys.exit(1)


@rules_cli.command("check")
@click.argument("path", required=False)
def check(path: str | None) -> None:
    """Validate a rules file (default: the one the app uses).

    An approved file is checked against the content hash its sign-off recorded: a rule changed
    after the sign-off is an error, as it is when the app starts; so is a patient-facing text
    without a translation into one of the app's languages.
    """
    rs = _load(path, translations=True)
    status = (
        f"signed off by {rs.sign_off_by} on {rs.sign_off_date} for exactly this content"
        if rs.signed_off
        else "NOT clinically signed off"
    )
    click.echo(
        f"{rs.path}: OK: {rs.name} version {rs.version} ({rs.status}, {status}): "
        f"{len(rs.rules)} rules, {len(rs.levels)} levels, {len(rs.examples)} examples, sha256 {rs.sha256[:12]}, "
        f"content sha256 {rs.content_sha256[:12]}"
    )


@rules_cli.command("test")
@click.argument("path", required=False)
def test(path: str | None) -> None:
    """Run the example cases in a rules file (a failing example is reported with its line)."""
    rs = _load(path, translations=True)  # loading runs every example and refuses the file if one does not hold
    for ex in rs.examples:
        result = rs.evaluate(ex["answers"])
        click.echo(f"ok  {ex['name']}  ->  {result.level}: {', '.join(result.rule_ids) or '-'}")
    click.echo(f"{len(rs.examples)} passed, 0 failed")


@rules_cli.command("evaluate")
@click.argument("answers_file", type=click.File("r"))
@click.option("--rules", "path", help="Use this rules file instead of the app's.")
def evaluate(answers_file: IO[str], path: str | None) -> None:
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


@rules_cli.command("replay")
@click.argument("candidate")
@click.option("--since", help="Only submissions received on or after this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def replay_command(candidate: str, since: str | None, as_json: bool) -> None:
    """Show which stored submissions a candidate rules file would judge differently (no health data)."""
    from datetime import datetime

    from questionnaire.core import replay
    from questionnaire.data import store

    start = None
    if since:
        try:
            start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise click.BadParameter("use YYYY-MM-DD", param_hint="--since") from None
    report = replay.replay(
        store.submissions_for_export(start, None), current_app.extensions["ruleset"], _load(candidate)
    )
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else replay.format_report(report))


@rules_cli.command("sign-off")
@click.option("--by", "by", required=True, help="The clinician who reviewed and approves the rules.")
@click.option("--date", "date", help="The date of the review (YYYY-MM-DD; default today).")
@click.argument("path", required=False)
def sign_off_command(by: str, date: str | None, path: str | None) -> None:
    """Record a clinical sign-off in the rules file (status approved, by whom, when, and the sha256 of
    the content approved: any later change to the rules needs a new sign-off)."""
    from questionnaire.core import replay
    from questionnaire.data import store

    target = Path(path) if path else Path(current_app.config.get("RULES_PATH") or DEFAULT_PATH)
    try:
        rs = replay.sign_off(target, by=by, date=date)
    except RulesFileError as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        sys.exit(1)
    except replay.SignOffError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    store.audit(
        "rules_signed_off",
        actor="cli",
        detail=f"version {rs.version} by {by}, content sha256 {rs.content_sha256}"[:500],
    )
    click.echo(
        f"{target}: version {rs.version} signed off by {rs.sign_off_by} on {rs.sign_off_date} "
        f"(content sha256 {rs.content_sha256[:12]}). Restart the app to use it."
    )


keys_cli = AppGroup("keys", help="Encryption keys for answers, contact details and notes.")


@keys_cli.command("generate")
def generate_key() -> None:
    """Print a new random key to add to FLASK_ENCRYPTION_KEYS."""
    from questionnaire.data.crypto import new_key

    click.echo(new_key())


@keys_cli.command("rotate")
@click.option("--batch", default=200, show_default=True, help="Rows per column per transaction.")
def rotate(batch: int) -> None:
    """Re-encrypt every stored value with the current key (FLASK_ENCRYPTION_KEY_ID); safe to stop and rerun."""
    from questionnaire.data import store
    from questionnaire.data.crypto import KeyError_, keyring

    current = keyring().current
    total = 0
    while True:
        try:
            n = store.reencrypt_batch(current, max(1, batch))
        except KeyError_ as exc:
            click.echo(f"error: {exc}; {total} values were re-encrypted before it (run again once fixed)", err=True)
            sys.exit(1)
        if n == 0:
            break
        total += n
        click.echo(f"re-encrypted {total} values so far")
    store.audit("keys_rotated", actor="cli", detail=f"{total} values now under key {current}")
    click.echo(f"Done: {total} values re-encrypted; every stored value uses key {current}.")


@click.command("purge")
@click.option("--batch", default=500, show_default=True)
@with_appcontext
def purge(batch: int) -> None:
    """Delete expired drafts and submissions past their retention; idempotent, audited without personal data."""
    from questionnaire.data import store

    drafts = store.purge_expired_drafts(batch=batch)
    removed = store.purge_old_submissions(current_app.config["RETENTION_DAYS"], batch=batch)
    detail = f"drafts={drafts} " + " ".join(f"{status}={n}" for status, n in sorted(removed.items()))
    store.audit("purge", actor="cli", detail=detail.strip())
    click.echo(
        f"Purged {drafts} expired drafts and {sum(removed.values())} submissions past retention "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(removed.items())) or 'none'})."
    )


submission_cli = AppGroup("submission", help="One submission: deletion on a patient's request.")


@submission_cli.command("delete")
@click.argument("reference")
@click.option("--by", "admin_email", required=True, help="The email of the administrator who deletes it.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_submission_command(reference: str, admin_email: str, yes: bool) -> None:
    """Delete one submission (answers, notes, draft) on the patient's request; audited without personal data."""
    from questionnaire.data import store
    from questionnaire.data.enums import StaffRole
    from questionnaire.operations import submissions

    admin = store.staff_by_email(admin_email)
    if admin is None or admin.role != StaffRole.ADMIN or not admin.active:
        raise click.ClickException(f"{admin_email} is not an active administrator account")
    sub = store.submission_by_reference(reference)
    if sub is None:
        raise click.ClickException(f"no submission with reference {reference.strip().upper()}")
    if not yes:
        click.confirm(f"Delete submission {sub.reference} and its notes for good?", abort=True)
    ref = submissions.delete_submission(sub, actor=admin.email)
    click.echo(f"Deleted submission {ref}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(rules_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(purge)
    app.cli.add_command(submission_cli)
    from questionnaire.cli.staff import staff_cli

    app.cli.add_command(staff_cli)
