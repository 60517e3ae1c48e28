"""call_attempts (the front desk's call log); submissions.assigned_to, assigned_at ("assign to me")

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("caller", sa.String(length=254), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_call_attempts_submission_id", "call_attempts", ["submission_id"], unique=False)
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_to", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Not batch mode: on SQLite it would copy submissions into a new table and drop the old one, and
    # dropping it (foreign keys on) deletes every row that cascades from it (notes, rule index, calls).
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later, PostgreSQL) leaves the rows alone.
    op.drop_column("submissions", "assigned_at")
    op.drop_column("submissions", "assigned_to")
    op.drop_index("ix_call_attempts_submission_id", table_name="call_attempts")
    op.drop_table("call_attempts")
