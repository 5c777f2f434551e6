"""Engine work items: one durable table of keys, leases, attempts and not-before times.

Revision ID: 0004_work_items
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_work_items"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "work_items",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(36), nullable=False),
        sa.Column("key_id", sa.String(255), nullable=False),
        sa.Column("region", sa.String(255), nullable=True),
        # the job (or other item) this one belongs to, for jobs of several items
        sa.Column("parent_id", sa.String(36), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        # WAITING until an outcome is terminal: DONE or FAILED
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("not_before", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_work_items_parent_id", "work_items", ["parent_id"])
    op.create_index("ix_work_items_claimable", "work_items", ["kind", "status"])


def downgrade():
    op.drop_index("ix_work_items_claimable", table_name="work_items")
    op.drop_index("ix_work_items_parent_id", table_name="work_items")
    op.drop_table("work_items")
