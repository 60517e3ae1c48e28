"""submission_rules.rule_id and patients' addresses in the audit log stored keyed, never in plaintext

The rule index holds `KEY_ID:HMAC-SHA256` of each rule id (crypto.Keyring.keyed); the `ip` of
existing `submission_created` audit rows becomes a keyed hash (crypto.Keyring.keyed_ip). The audit
log is append-only: this migration, run by the owner role, is the one place that rewrites audit rows,
with the append-only trigger lifted for the statement and put back in the same transaction.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from questionnaire.data import crypto
from questionnaire.data.models import AUDIT_APPEND_ONLY

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

RULES = sa.table("submission_rules", sa.column("submission_id", sa.Integer()), sa.column("rule_id", sa.String()))
AUDIT = sa.table(
    "audit_events", sa.column("id", sa.Integer()), sa.column("action", sa.String()), sa.column("ip", sa.String())
)


def _lift_append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")


def _restore_append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
    else:
        for statement in AUDIT_APPEND_ONLY["sqlite"]:
            op.execute(statement)


def upgrade() -> None:
    with op.batch_alter_table("submission_rules", schema=None) as batch_op:
        batch_op.alter_column(
            "rule_id", existing_type=sa.String(length=80), type_=sa.String(length=100), existing_nullable=False
        )
    ring = crypto.keyring()
    bind = op.get_bind()
    # Plain rule ids have no ":" (the rules file allows letters, digits and "_"); keyed values do.
    for sub_id, rule_id in bind.execute(
        sa.select(RULES.c.submission_id, RULES.c.rule_id).where(~RULES.c.rule_id.contains(":"))
    ).all():
        bind.execute(
            sa.update(RULES)
            .where(RULES.c.submission_id == sub_id, RULES.c.rule_id == rule_id)
            .values(rule_id=ring.keyed("rule", rule_id))
        )
    rows = bind.execute(
        sa.select(AUDIT.c.id, AUDIT.c.ip).where(
            AUDIT.c.action == "submission_created", AUDIT.c.ip.is_not(None), ~AUDIT.c.ip.startswith("h:")
        )
    ).all()
    if rows:
        dialect = bind.dialect.name
        _lift_append_only(dialect)
        for event_id, ip in rows:
            bind.execute(sa.update(AUDIT).where(AUDIT.c.id == event_id).values(ip=ring.keyed_ip(ip)))
        _restore_append_only(dialect)


def downgrade() -> None:
    # A keyed value cannot be reversed: the rule ids come back from the submissions' fired rules; the
    # patients' addresses stay hashed (they were never meant to be kept).
    import json

    ring = crypto.keyring()
    bind = op.get_bind()
    subs = sa.table("submissions", sa.column("id", sa.Integer()), sa.column("fired", sa.Text()))
    for sub_id, rule_id in bind.execute(
        sa.select(RULES.c.submission_id, RULES.c.rule_id).where(RULES.c.rule_id.contains(":"))
    ).all():
        sealed = bind.execute(sa.select(subs.c.fired).where(subs.c.id == sub_id)).scalar_one()
        kid = rule_id.split(":", 1)[0]
        plain = next(
            str(f["id"]) for f in json.loads(ring.decrypt(sealed)) if ring.keyed("rule", str(f["id"]), kid) == rule_id
        )
        bind.execute(
            sa.update(RULES).where(RULES.c.submission_id == sub_id, RULES.c.rule_id == rule_id).values(rule_id=plain)
        )
    with op.batch_alter_table("submission_rules", schema=None) as batch_op:
        batch_op.alter_column(
            "rule_id", existing_type=sa.String(length=100), type_=sa.String(length=80), existing_nullable=False
        )
