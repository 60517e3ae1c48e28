"""drafts.previous_token_hash, token_renewed_at: the token a renewal retired, for a few seconds

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("token_renewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_drafts_previous_token_hash", ["previous_token_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index("ix_drafts_previous_token_hash")
        batch_op.drop_column("token_renewed_at")
        batch_op.drop_column("previous_token_hash")
