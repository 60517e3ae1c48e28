"""check_ins (check-in on the day, encrypted answers, one-time token hash); drafts.rescreen_of_id and
submissions.rescreen_of_id (a rescreen's link to the earlier submission)

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("started_by", sa.String(length=254), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answers", sa.Text(), nullable=True),
        sa.Column("fired", sa.Text(), nullable=True),
        sa.Column("level", sa.String(length=40), nullable=True),
        sa.Column("ruleset_version", sa.String(length=40), nullable=True),
        sa.Column("ruleset_sha256", sa.String(length=64), nullable=True),
        sa.Column("rescreen_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_check_ins_submission_id", "check_ins", ["submission_id"], unique=False)
    op.create_index("ix_check_ins_completed_at", "check_ins", ["completed_at"], unique=False)
    # Plain columns without a foreign key (the store keeps the link): SQLite adds them in place. A
    # foreign key would make batch mode rebuild `submissions`, and dropping the old table would cascade
    # to submission_rules and notes (the app runs SQLite with foreign_keys=ON).
    op.add_column("drafts", sa.Column("rescreen_of_id", sa.Integer(), nullable=True))
    op.add_column("submissions", sa.Column("rescreen_of_id", sa.Integer(), nullable=True))
    op.create_index("ix_submissions_rescreen_of_id", "submissions", ["rescreen_of_id"], unique=False)


def downgrade() -> None:
    # Native ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL), never a rebuild of `submissions`.
    op.drop_index("ix_submissions_rescreen_of_id", table_name="submissions")
    op.drop_column("submissions", "rescreen_of_id")
    op.drop_column("drafts", "rescreen_of_id")
    op.drop_index("ix_check_ins_completed_at", table_name="check_ins")
    op.drop_index("ix_check_ins_submission_id", table_name="check_ins")
    op.drop_table("check_ins")
