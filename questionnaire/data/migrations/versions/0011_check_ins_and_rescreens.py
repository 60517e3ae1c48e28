"""check_ins (check-in on the day, encrypted answers, one-time token hash); drafts.rescreen_of_id and
submissions.rescreen_of_id (a rescreen's link to the earlier submission)

Revision ID: 0011
Revises: 0008 (written beside 0009 and 0010 on other branches: when they are merged, set
down_revision to the newest of them, '0010', so that the chain stays linear)
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'check_ins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('started_by', sa.String(length=254), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=True),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('answers', sa.Text(), nullable=True),
        sa.Column('fired', sa.Text(), nullable=True),
        sa.Column('level', sa.String(length=40), nullable=True),
        sa.Column('ruleset_version', sa.String(length=40), nullable=True),
        sa.Column('ruleset_sha256', sa.String(length=64), nullable=True),
        sa.Column('rescreen_started_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.create_index('ix_check_ins_submission_id', ['submission_id'], unique=False)
        batch_op.create_index('ix_check_ins_completed_at', ['completed_at'], unique=False)
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rescreen_of_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_drafts_rescreen_of_id', 'submissions', ['rescreen_of_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rescreen_of_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_submissions_rescreen_of_id', 'submissions', ['rescreen_of_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index('ix_submissions_rescreen_of_id', ['rescreen_of_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_rescreen_of_id')
        batch_op.drop_constraint('fk_submissions_rescreen_of_id', type_='foreignkey')
        batch_op.drop_column('rescreen_of_id')
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_drafts_rescreen_of_id', type_='foreignkey')
        batch_op.drop_column('rescreen_of_id')
    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.drop_index('ix_check_ins_completed_at')
        batch_op.drop_index('ix_check_ins_submission_id')
    op.drop_table('check_ins')
