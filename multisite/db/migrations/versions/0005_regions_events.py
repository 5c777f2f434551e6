"""Regions at a glance: probe results per region service, capacity figures, the event feed.

Revision ID: 0005_regions_events
Revises: 0004_work_items (0003 as first written; chained after the engine's 0004 when
the engine branch was merged)
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_regions_events"
down_revision = "0004_work_items"
branch_labels = None
depends_on = None

EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "events",
        sa.Column("id", EVENT_ID, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("region", sa.String(255), nullable=True),
        sa.Column("project_id", sa.String(64), nullable=True),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("resource_id", sa.String(255), nullable=True),
        sa.Column("publisher_id", sa.String(255), nullable=True),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("generated_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.UniqueConstraint("message_id", name="uniq_events0message_id"),
    )
    # Every filter of GET /v2/events walks its index in id order (newest first).
    op.create_index("ix_events_project_id_id", "events", ["project_id", "id"])
    op.create_index("ix_events_region_id", "events", ["region", "id"])
    op.create_index("ix_events_event_type_id", "events", ["event_type", "id"])
    op.create_index("ix_events_resource_id", "events", ["resource_id"])
    op.create_index("ix_events_generated_at", "events", ["generated_at"])
    op.create_table(
        "region_services",
        sa.Column("region", sa.String(255), primary_key=True),
        sa.Column("service", sa.String(32), primary_key=True),
        sa.Column("url", sa.String(1024), nullable=True),
        sa.Column("reachable", sa.Boolean(), nullable=True),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("probed_at", sa.DateTime(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("services", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "region_capacity",
        sa.Column("region", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("figures", sa.Text(), nullable=True),
        sa.Column("collected_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_at", sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_table("region_capacity")
    op.drop_table("region_services")
    op.drop_table("events")
