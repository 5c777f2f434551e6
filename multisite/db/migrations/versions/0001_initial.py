"""Initial schema: quotas, quota classes, services, sync status and sync jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamps():
    return [
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    ]


def upgrade():
    op.create_table(
        "quotas",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("project_id", "resource", name="uniq_quotas0project0res"),
    )
    op.create_index("ix_quotas_project_id", "quotas", ["project_id"])
    quota_classes = op.create_table(
        "quota_classes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("class_name", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("class_name", "resource", name="uniq_quota_classes0class0res"),
    )
    op.create_index("ix_quota_classes_class_name", "quota_classes", ["class_name"])
    op.create_table(
        "service",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("binary", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("disabled_reason", sa.String(255), nullable=True),
        sa.Column("report_count", sa.Integer(), nullable=False, server_default="0"),
        *_timestamps(),
    )
    op.create_table(
        "project_sync_status",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("region", sa.String(255), nullable=False),
        sa.Column("status", sa.String(36), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("usage", sa.Text(), nullable=True),
        sa.Column("usage_at", sa.DateTime(), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("project_id", "region", name="uniq_project_sync0project0region"),
    )
    op.create_index("ix_project_sync_status_project_id", "project_sync_status", ["project_id"])
    op.create_table(
        "sync_job",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("sync_status", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False, server_default=sa.false()),
        *_timestamps(),
    )
    op.create_index("ix_sync_job_project_id", "sync_job", ["project_id"])
    op.create_table(
        "resource_sync",
        sa.Column("resource_sync_id", sa.String(36), primary_key=True),
        sa.Column("job_id", sa.String(36),
                  sa.ForeignKey("sync_job.job_id", ondelete="CASCADE"), nullable=False),
        sa.Column("source_region", sa.String(255), nullable=False),
        sa.Column("target_region", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.Column("resource_type", sa.String(36), nullable=False),
        sa.Column("sync_status", sa.String(36), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        *_timestamps(),
    )
    op.create_index("ix_resource_sync_job_id", "resource_sync", ["job_id"])

    # Like Kingbird, the 'default' class is seeded with the configured global
    # limits as they are when the schema is created.
    context = op.get_context()
    limits = context.config.attributes.get("default_limits") if context.config else None
    if limits is None:
        from multisite.conf.global_limit import DEFAULT_LIMITS as limits
    op.bulk_insert(quota_classes, [
        {"class_name": "default", "resource": name, "hard_limit": value}
        for name, value in limits.items()
    ])
