"""Cross-pod L3 (issue 17): a job's error text, the tenants' bridge segmentation ids and
the bridge IP of each bottom router.

Revision ID: 0024_net17_bridges
Revises: 0023_dr_restore
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_net17_bridges"
down_revision = "0023_dr_restore"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("async_jobs") as batch:
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
    op.create_table(
        "net_bridge_segments",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("segmentation_id", sa.Integer(), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "net_bridge_ports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("router_id", sa.String(36), nullable=False),
        sa.Column("pod_name", sa.String(255), nullable=False),
        sa.Column("ip_address", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("router_id", "pod_name", name="uq_net_bridge_ports_router_pod"),
        sa.UniqueConstraint("project_id", "ip_address", name="uq_net_bridge_ports_ip"),
    )


def downgrade():
    op.drop_table("net_bridge_ports")
    op.drop_table("net_bridge_segments")
    with op.batch_alter_table("async_jobs") as batch:
        batch.drop_column("error")
