"""Identity: the last key-repository drift seen on each Keystone node; credential key rotations.

Revision ID: 0015_identity2
Revises: 0009_identity (the lead chains the branches' migrations at merge)
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_identity2"
down_revision = "0013_dr"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("identity_nodes") as batch:
        batch.add_column(sa.Column("drift_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("drift_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("drift_repaired", sa.Boolean(), nullable=True))
    with op.batch_alter_table("identity_key_rotations") as batch:
        batch.add_column(sa.Column("repository", sa.String(16), nullable=False,
                                   server_default="fernet"))


def downgrade():
    with op.batch_alter_table("identity_key_rotations") as batch:
        batch.drop_column("repository")
    with op.batch_alter_table("identity_nodes") as batch:
        batch.drop_column("drift_repaired")
        batch.drop_column("drift_hash")
        batch.drop_column("drift_at")
