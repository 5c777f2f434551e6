"""Image distribution: modes per project/image, copies (one per image and region), rollouts.

Revision ID: 0011_images
Revises: 0009_identity
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_images"
down_revision = "0009_identity"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "image_distributions",
        sa.Column("project_id", sa.String(64), primary_key=True),
        # "default" for the project default, else the image id (an override)
        sa.Column("image_id", sa.String(64), primary_key=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("source_region", sa.String(255), nullable=False),
        sa.Column("targets", sa.Text(), nullable=True),
        sa.Column("propagate_deletes", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "image_copies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("image_id", sa.String(64), nullable=False),
        sa.Column("source_region", sa.String(255), nullable=False),
        sa.Column("region", sa.String(255), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=True),
        sa.Column("checksum", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("image_id", "region", name="uniq_image_copies0image0region"),
    )
    op.create_index("ix_image_copies_project_id", "image_copies", ["project_id", "id"])
    op.create_table(
        "image_rollouts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("image_id", sa.String(64), nullable=False),
        sa.Column("source_region", sa.String(255), nullable=False),
        sa.Column("waves", sa.Text(), nullable=False),
        sa.Column("pause", sa.Float(), nullable=True),
        sa.Column("manual_promote", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("regions", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("next_wave_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_image_rollouts_project_id", "image_rollouts", ["project_id", "id"])


def downgrade():
    op.drop_index("ix_image_rollouts_project_id", table_name="image_rollouts")
    op.drop_table("image_rollouts")
    op.drop_index("ix_image_copies_project_id", table_name="image_copies")
    op.drop_table("image_copies")
    op.drop_table("image_distributions")
