"""Disaster recovery: restores (drill, failover) of checkpoints and their confirmation tokens.

Revision ID: 0023_dr_restore
Revises: 0019_addresses
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_dr_restore"
down_revision = "0019_addresses"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dr_restores",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("checkpoint_id", sa.String(36), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("region", sa.String(255), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("active_key", sa.String(300), nullable=True, unique=True),
        sa.Column("resources", sa.Text(), nullable=True),
        sa.Column("rto_seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_dr_restores_project_id", "dr_restores", ["project_id", "id"])
    op.create_index("ix_dr_restores_checkpoint_id", "dr_restores", ["checkpoint_id"])
    op.create_table(
        "dr_restore_tokens",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("checkpoint_id", sa.String(36), nullable=False),
        sa.Column("region", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade():
    op.drop_table("dr_restore_tokens")
    op.drop_table("dr_restores")
