"""Resource sync rows: per-row force flag and the target object id written before a create.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("resource_sync") as batch:
        batch.add_column(sa.Column("force", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        # The id (or name) a row is about to create in the target, recorded before
        # the create call: a retry after a crash recognises its own object by it.
        batch.add_column(sa.Column("target_id", sa.String(255), nullable=True))


def downgrade():
    with op.batch_alter_table("resource_sync") as batch:
        batch.drop_column("target_id")
        batch.drop_column("force")
