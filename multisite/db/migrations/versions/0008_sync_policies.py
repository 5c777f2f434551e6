"""Continuous sync policies and the per-target state of their last audit.

Revision ID: 0008_sync_policies
Revises: 0006_addresses (re-chained after 0006 when the branches were merged: one head)
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_sync_policies"
down_revision = "0006_addresses"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sync_policies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("resources", sa.Text(), nullable=True),
        sa.Column("source_region", sa.String(255), nullable=False),
        sa.Column("targets", sa.Text(), nullable=True),
        sa.Column("on_drift", sa.String(16), nullable=False),
        sa.Column("propagate_deletes", sa.Boolean(), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_sync_policies_project_id", "sync_policies", ["project_id", "id"])
    op.create_table(
        "sync_policy_targets",
        sa.Column("policy_id", sa.String(36),
                  sa.ForeignKey("sync_policies.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("region", sa.String(255), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("managed", sa.Text(), nullable=True),
        sa.Column("audited_at", sa.DateTime(), nullable=True),
        sa.Column("repaired_at", sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_table("sync_policy_targets")
    op.drop_index("ix_sync_policies_project_id", table_name="sync_policies")
    op.drop_table("sync_policies")
