"""Disaster recovery: the project a restore creates its resources in (a drill into a
project other than the plan's; NULL: the plan's project).

Revision ID: 0025_dr_drill_project
Revises: 0024_net17_bridges
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_dr_drill_project"
down_revision = "0024_net17_bridges"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("dr_restores") as batch:
        batch.add_column(sa.Column("target_project_id", sa.String(64), nullable=True))


def downgrade():
    with op.batch_alter_table("dr_restores") as batch:
        batch.drop_column("target_project_id")
