"""Disaster recovery: protection plans and their checkpoints.

Revision ID: 0013_dr
Revises: 0009_identity
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_dr"
down_revision = "0012_pods"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dr_protection_plans",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("source_region", sa.String(255), nullable=False),
        sa.Column("backup_region", sa.String(255), nullable=False),
        sa.Column("groups", sa.Text(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("retention", sa.Integer(), nullable=False),
        sa.Column("schedule_interval", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resources", sa.Text(), nullable=True),
        sa.Column("problems", sa.Text(), nullable=True),
        sa.Column("discovered_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_dr_protection_plans_project_id", "dr_protection_plans",
                    ["project_id", "id"])
    op.create_table(
        "dr_checkpoints",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(36), nullable=True),
        sa.Column("active_plan_id", sa.String(36), nullable=True, unique=True),
        sa.Column("resources", sa.Text(), nullable=True),
        sa.Column("quiesce_window", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_dr_checkpoints_plan_id", "dr_checkpoints", ["plan_id", "created_at"])
    op.create_index("ix_dr_checkpoints_project_id", "dr_checkpoints", ["project_id", "id"])


def downgrade():
    op.drop_table("dr_checkpoints")
    op.drop_table("dr_protection_plans")
