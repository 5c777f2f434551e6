"""Pods of the big region, resource routings, project-to-pod bindings and async jobs.

Revision ID: 0012_pods
Revises: 0009_identity (the lead re-chains at merge)
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_pods"
down_revision = "0011_images"
branch_labels = None
depends_on = None

ROUTING_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "pods",
        sa.Column("pod_id", sa.String(36), primary_key=True),
        sa.Column("pod_name", sa.String(255), nullable=False, unique=True),
        sa.Column("pod_az_name", sa.String(255), nullable=False),
        sa.Column("dc_name", sa.String(255), nullable=False),
        sa.Column("az_name", sa.String(255), nullable=False),
        sa.Column("is_top", sa.Boolean(), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_pods_az_name", "pods", ["az_name"])
    op.create_table(
        "resource_routings",
        sa.Column("id", ROUTING_ID, primary_key=True, autoincrement=True),
        sa.Column("top_id", sa.String(127), nullable=False),
        sa.Column("bottom_id", sa.String(127), nullable=True),
        sa.Column("pod_id", sa.String(36), sa.ForeignKey("pods.pod_id"), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=True),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("top_id", "pod_id", "resource_type",
                            name="uniq_resource_routings0top0pod0type"),
    )
    op.create_index("ix_resource_routings_bottom_id", "resource_routings", ["bottom_id"])
    op.create_index("ix_resource_routings_pod_id", "resource_routings", ["pod_id"])
    op.create_index("ix_resource_routings_project", "resource_routings",
                    ["project_id", "resource_type"])
    op.create_table(
        "pod_bindings",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("az_name", sa.String(255), primary_key=True),
        sa.Column("pod_id", sa.String(36), sa.ForeignKey("pods.pod_id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_pod_bindings_pod_id", "pod_bindings", ["pod_id"])
    op.create_table(
        "async_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resource_id", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_async_jobs_project", "async_jobs", ["project_id", "id"])
    op.create_index("ix_async_jobs_timestamp", "async_jobs", ["timestamp"])


def downgrade():
    op.drop_table("async_jobs")
    op.drop_table("pod_bindings")
    op.drop_table("resource_routings")
    op.drop_table("pods")
