"""`flask staff ...`: staff accounts from the command line, through the same operations as the
administration pages (web/staff_admin.py), audited with the actor "cli"."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from questionnaire.data import store
from questionnaire.data.enums import StaffRole
from questionnaire.data.models import Staff
from questionnaire.operations import staff_accounts
from questionnaire.web.throttle import Unavailable, throttle

staff_cli = AppGroup("staff", help="Manage staff accounts.")
ACTOR = "cli"


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in StaffRole]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_command(email: str, role: str, password_stdin: bool) -> None:
    """Create a staff account (the password is asked for with a hidden prompt)."""
    try:
        email = staff_accounts.check_new_email(email)  # before the password is asked for
    except staff_accounts.NotAnEmail:
        raise click.UsageError("EMAIL must be an email address") from None
    except staff_accounts.Refused as exc:
        raise click.ClickException(str(exc)) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        staff_accounts.create(email, StaffRole(role), actor=ACTOR, password=password)
    except staff_accounts.Refused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {email} ({role}). They set up their one-time code at first sign-in.")


def account(email: str) -> Staff:
    staff = store.staff_by_email(email)
    if staff is None:
        raise click.ClickException(f"no account for {email}")
    return staff


@staff_cli.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """Stop an account from signing in, and sign it out everywhere now."""
    staff = account(email)
    try:
        staff_accounts.deactivate(staff, actor=ACTOR)
    except staff_accounts.LastAdministrator:
        raise click.ClickException(
            f"{staff.email} is the only active administrator, so it stays active: create "
            "another one first (flask staff create EMAIL --role admin)"
        ) from None
    click.echo(f"Deactivated {staff.email} and ended its sessions.")


@staff_cli.command("reset-otp")
@click.argument("email")
def reset_otp_command(email: str) -> None:
    """Make an account set up its one-time code again at the next sign-in."""
    staff = account(email)
    staff_accounts.reset_otp(staff, actor=ACTOR)
    click.echo(f"{staff.email} will set up a new one-time code at the next sign-in.")


@staff_cli.command("unlock")
@click.argument("email")
def unlock_command(email: str) -> None:
    """Clear the sign-in throttling of an account (every address's count of failed attempts)."""
    staff = account(email)
    try:
        staff_accounts.unlock(staff, throttle().clear, actor=ACTOR)
    except Unavailable:
        raise click.ClickException("the rate-limit store (FLASK_RATELIMIT_STORAGE_URI) does not answer") from None
    click.echo(f"{staff.email} can sign in again: its sign-in throttling is cleared.")


@staff_cli.command("reset-password")
@click.argument("email")
def reset_password_command(email: str) -> None:
    """Give an account a new one-time password (printed once), to be changed at the next sign-in."""
    staff = account(email)
    password = staff_accounts.reset_password(staff, actor=ACTOR, nbytes=15)
    days = current_app.config["ONE_TIME_PASSWORD_DAYS"]
    click.echo(f"One-time password for {staff.email} (shown only now, valid for {days} days): {password}")


@staff_cli.command("bootstrap")
@click.option("--email", default="admin@clinic.invalid", show_default=True)
def bootstrap_command(email: str) -> None:
    """On a database with no staff, create one administrator and print a one-time password once."""
    password = staff_accounts.bootstrap(email)
    if password is None:
        return
    click.echo("No staff accounts existed, so one administrator was created.")
    click.echo(f"  Sign in at /staff/ as {email} with this one-time password (shown only now): {password}")
    click.echo("  You will choose a new password and set up a one-time code at first sign-in.")
    click.echo(
        f"  It works for {current_app.config['ONE_TIME_PASSWORD_DAYS']} days; after that, "
        f"`flask staff reset-password {email}` gives a new one."
    )
