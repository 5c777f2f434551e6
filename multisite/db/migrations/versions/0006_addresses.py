"""Address index, per-region audit freshness and address conflicts.

Revision ID: 0006_addresses
Revises: 0005_regions_events (0003 on the branch before the engine and v2regions merges)
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_addresses"
down_revision = "0005_regions_events"
branch_labels = None
depends_on = None


def _text(name, length, **kw):
    return sa.Column(name, sa.String(length), nullable=False, **kw)


def upgrade():
    op.create_table(
        "address_index",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _text("kind", 16), _text("address", 100),
        sa.Column("version", sa.Integer(), nullable=False),
        _text("region", 255), _text("project_id", 64),
        *(_text(name, 64, server_default="")
          for name in ("network_id", "subnet_id", "port_id")),
        _text("device_owner", 255, server_default=""),
        _text("device_id", 255, server_default=""),
        _text("resource_id", 64, server_default=""),
        _text("related", 64, server_default=""),
        _text("domain", 255),
        _text("addr_key", 33, server_default=""),
        _text("addr_end", 33, server_default=""),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_address_index_key", "address_index", ["addr_key"])
    op.create_index("ix_address_index_kind_key", "address_index", ["kind", "addr_key"])
    op.create_index("ix_address_index_address", "address_index", ["address"])
    op.create_index("ix_address_index_region", "address_index", ["region", "project_id"])
    op.create_index("ix_address_index_project", "address_index", ["project_id"])
    op.create_table(
        "address_audit",
        sa.Column("region", sa.String(255), primary_key=True),
        sa.Column("audited_at", sa.DateTime(), nullable=True),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "address_conflicts",
        sa.Column("id", sa.String(36), primary_key=True),
        _text("conflict_key", 400), _text("kind", 16), _text("domain", 255),
        _text("address", 100),
        sa.Column("regions", sa.Text(), nullable=False),
        sa.Column("projects", sa.Text(), nullable=False),
        sa.Column("sides", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_address_conflicts_key", "address_conflicts",
                    ["conflict_key", "cleared_at"])
    op.create_index("ix_address_conflicts_seen", "address_conflicts", ["first_seen"])


def downgrade():
    op.drop_table("address_conflicts")
    op.drop_table("address_audit")
    op.drop_table("address_index")
