"""submissions: ix_submissions_report (created_at, level, language, id), so that the report reads a date
range's levels and languages from the index alone (and may choose the ids of its sample there)

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_submissions_report", "submissions", ["created_at", "level", "language", "id"])


def downgrade() -> None:
    op.drop_index("ix_submissions_report", table_name="submissions")
