"""submission_search (the contact search's keyed blind index), built for the submissions stored
before; submissions.callback_phone (encrypted), the number left on the urgent page

Revision ID: 0010
Revises: 0009
"""

import json

import sqlalchemy as sa
from alembic import op

from questionnaire.core import search
from questionnaire.data import crypto

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_phone", sa.Text(), nullable=True))
    op.create_table(
        "submission_search",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("submission_id", "term"),
    )
    with op.batch_alter_table("submission_search", schema=None) as batch_op:
        batch_op.create_index("ix_submission_search_term", ["term", "created_at", "submission_id"], unique=False)
    _build_index()


def _build_index() -> None:
    """The terms of every submission stored before, keyed under the current key, in batches by id."""
    ring = crypto.keyring()
    bind = op.get_bind()
    subs = sa.table(
        "submissions",
        sa.column("id", sa.Integer()),
        sa.column("answers", sa.Text()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    terms = sa.table(
        "submission_search",
        sa.column("submission_id", sa.Integer()),
        sa.column("term", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(subs.c.id, subs.c.answers, subs.c.created_at)
            .where(subs.c.id > last)
            .order_by(subs.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        values = [
            {"submission_id": sub_id, "term": ring.keyed("search", term), "created_at": created_at}
            for sub_id, sealed, created_at in rows
            for term in sorted(search.index_terms(json.loads(ring.decrypt(sealed)) if sealed else {}))
        ]
        if values:
            bind.execute(sa.insert(terms), values)
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("submission_search", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_search_term")
    op.drop_table("submission_search")
    # Not a batch (on SQLite a batch copies the table and drops the old one, and the drop's ON DELETE
    # CASCADE would empty the rule index and the notes): both databases drop a column in place.
    op.execute("ALTER TABLE submissions DROP COLUMN callback_phone")
