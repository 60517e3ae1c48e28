"""queue counts, rule index with the queue's sort key, notification deliveries

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submission_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level_rank", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index("ix_submission_rules_rule")
    op.execute(
        "UPDATE submission_rules SET level_rank = (SELECT s.level_rank FROM submissions s "
        "WHERE s.id = submission_rules.submission_id), created_at = (SELECT s.created_at FROM submissions s "
        "WHERE s.id = submission_rules.submission_id)"
    )
    with op.batch_alter_table("submission_rules", schema=None) as batch_op:
        batch_op.alter_column("created_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column("level_rank", existing_type=sa.Integer(), server_default=None)
        batch_op.create_index(
            "ix_submission_rules_queue", ["rule_id", "level_rank", "created_at", "submission_id"], unique=False
        )

    op.create_table(
        "queue_counts",
        sa.Column("level", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("level", "status"),
    )
    op.execute(
        "INSERT INTO queue_counts (level, status, n) SELECT level, status, COUNT(*) FROM submissions "
        "GROUP BY level, status"
    )

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("delivery_id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waited_seconds", sa.Float(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id", "number"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_reference"), ["reference"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_submission_id"), ["submission_id"], unique=False)


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("queue_counts")
    with op.batch_alter_table("submission_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_rules_queue")
        batch_op.drop_column("created_at")
        batch_op.drop_column("level_rank")
        batch_op.create_index("ix_submission_rules_rule", ["rule_id", "submission_id"], unique=False)
