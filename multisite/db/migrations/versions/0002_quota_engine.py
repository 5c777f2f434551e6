"""Quota engine: per-project settings (policy, opt-in) and last known region limits.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "project_settings",
        sa.Column("project_id", sa.String(64), primary_key=True),
        # NULL: the [DEFAULT] quota_policy applies.
        sa.Column("quota_policy", sa.String(36), nullable=True),
        # NULL: rebalanced if it has Multisite limits (or [scheduler] sync_all_projects);
        # true: always rebalanced (opted in); false: never (opted out).
        sa.Column("quota_sync", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    )
    with op.batch_alter_table("project_sync_status") as batch:
        # The region's limits as last read or written (JSON): what an unreachable region
        # is assumed to hold, so the strict policy can keep the global sum.
        batch.add_column(sa.Column("limits", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("project_sync_status") as batch:
        batch.drop_column("limits")
    op.drop_table("project_settings")
