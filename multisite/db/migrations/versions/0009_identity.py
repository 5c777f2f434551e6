"""Identity: the Keystone nodes whose keys Multisite manages, and Fernet key rotations.

Revision ID: 0009_identity
Revises: 0008_sync_policies (re-chained when the branches were merged: one head)
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_identity"
down_revision = "0008_sync_policies"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "identity_nodes",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("region", sa.String(255), nullable=False),
        sa.Column("keystone_url", sa.String(255), nullable=False),
        sa.Column("agent_url", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("fernet_hash", sa.String(64), nullable=True),
        sa.Column("credential_hash", sa.String(64), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("last_rotation_id", sa.String(36), nullable=True),
        sa.Column("last_rotation_at", sa.DateTime(), nullable=True),
        sa.Column("last_verification", sa.Text(), nullable=True),
        sa.Column("last_verified_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "identity_key_rotations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        # 1 while the rotation runs, NULL once it ended: one rotation at a time
        sa.Column("active", sa.Integer(), nullable=True, unique=True),
        sa.Column("reason", sa.String(16), nullable=False, server_default="request"),
        sa.Column("base_node", sa.String(64), nullable=True),
        sa.Column("staged_keys", sa.Text(), nullable=True),
        sa.Column("final_keys", sa.Text(), nullable=True),
        sa.Column("staged_hash", sa.String(64), nullable=True),
        sa.Column("final_hash", sa.String(64), nullable=True),
        sa.Column("nodes", sa.Text(), nullable=True),
        sa.Column("verification", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_table("identity_key_rotations")
    op.drop_table("identity_nodes")
