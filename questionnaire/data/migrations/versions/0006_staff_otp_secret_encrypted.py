"""staff.otp_secret encrypted like answers (AES-256-GCM with key ids); plaintext secrets converted

Revision ID: 0006
Revises: 0005
"""

import json

import sqlalchemy as sa
from alembic import op

from questionnaire.data import crypto

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STAFF = sa.table("staff", sa.column("id", sa.Integer()), sa.column("otp_secret", sa.Text()))


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.alter_column("otp_secret", existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=True)
    ring = crypto.keyring()
    bind = op.get_bind()
    rows = bind.execute(sa.select(STAFF.c.id, STAFF.c.otp_secret).where(STAFF.c.otp_secret.is_not(None))).all()
    for staff_id, secret in rows:
        if str(secret).startswith(f"{crypto.PREFIX}:"):
            continue  # already encrypted (a rerun)
        sealed = ring.encrypt(json.dumps(secret))
        bind.execute(sa.update(STAFF).where(STAFF.c.id == staff_id).values(otp_secret=sealed))


def downgrade() -> None:
    ring = crypto.keyring()
    bind = op.get_bind()
    rows = bind.execute(sa.select(STAFF.c.id, STAFF.c.otp_secret).where(STAFF.c.otp_secret.is_not(None))).all()
    for staff_id, sealed in rows:
        secret = json.loads(ring.decrypt(sealed))
        bind.execute(sa.update(STAFF).where(STAFF.c.id == staff_id).values(otp_secret=secret))
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.alter_column("otp_secret", existing_type=sa.Text(), type_=sa.String(length=64), existing_nullable=True)
