"""os-sync rows become work items: resource_sync is moved into work_items, ids kept.

Each resource_sync row becomes a work item of kind "sync" with the same id (key_id too),
its job as parent, its target region as region; its resource, type, source region, force
flag and target id, with the job's user and project, go into the payload. Its status maps
IN_PROGRESS/SUCCESS/FAILURE -> WAITING/DONE/FAILED; attempts, lease (claimed_by,
claimed_until), error and timestamps are copied as they are, so os-sync answers the same
JSON and a row claimed before the upgrade stays claimed until its lease lapses. The
downgrade moves them back.

Revision ID: 0016_work_items
Revises: 0015_identity2 (the lead chains the branches' migrations at merge)
Create Date: 2026-12-03
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0016_work_items"
down_revision = "0015_identity2"
branch_labels = None
depends_on = None

KIND = "sync"
BATCH = 1000
TO_ITEM = {"IN_PROGRESS": "WAITING", "SUCCESS": "DONE", "FAILURE": "FAILED"}
TO_ROW = {item: row for row, item in TO_ITEM.items()}
PAYLOAD = ("resource_type", "resource", "source_region", "force", "target_id")

resource_sync = sa.table(
    "resource_sync", sa.column("resource_sync_id", sa.String), sa.column("job_id", sa.String),
    sa.column("source_region", sa.String), sa.column("target_region", sa.String),
    sa.column("resource", sa.String), sa.column("resource_type", sa.String),
    sa.column("sync_status", sa.String), sa.column("error", sa.Text),
    sa.column("attempts", sa.Integer), sa.column("claimed_by", sa.String),
    sa.column("claimed_until", sa.DateTime), sa.column("force", sa.Boolean),
    sa.column("target_id", sa.String), sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime))
sync_job = sa.table("sync_job", sa.column("job_id", sa.String),
                    sa.column("user_id", sa.String), sa.column("project_id", sa.String))
work_items = sa.table(
    "work_items", sa.column("id", sa.String), sa.column("kind", sa.String),
    sa.column("key_id", sa.String), sa.column("region", sa.String),
    sa.column("parent_id", sa.String), sa.column("payload", sa.Text),
    sa.column("status", sa.String), sa.column("attempts", sa.Integer),
    sa.column("claimed_by", sa.String), sa.column("claimed_until", sa.DateTime),
    sa.column("not_before", sa.DateTime), sa.column("last_error", sa.Text),
    sa.column("created_at", sa.DateTime), sa.column("updated_at", sa.DateTime))


def _batches(bind, query, id_column):
    """The rows of `query` in batches of BATCH, by increasing id (keyset pagination)."""
    last = None
    while True:
        page = query if last is None else query.where(id_column > last)
        rows = bind.execute(page.order_by(id_column).limit(BATCH)).mappings().all()
        if not rows:
            return
        yield rows
        last = rows[-1][id_column.name]


def _item(row):
    payload = {name: row[name] for name in PAYLOAD}
    payload["force"] = bool(payload["force"])
    payload.update(user_id=row["user_id"], project_id=row["project_id"])
    return {"id": row["resource_sync_id"], "kind": KIND, "key_id": row["resource_sync_id"],
            "region": row["target_region"], "parent_id": row["job_id"],
            "payload": json.dumps(payload, sort_keys=True),
            "status": TO_ITEM.get(row["sync_status"], row["sync_status"]),
            "attempts": row["attempts"], "claimed_by": row["claimed_by"],
            "claimed_until": row["claimed_until"], "not_before": None,
            "last_error": row["error"], "created_at": row["created_at"],
            "updated_at": row["updated_at"]}


def upgrade():
    bind = op.get_bind()
    rows = sa.select(resource_sync, sync_job.c.user_id, sync_job.c.project_id).select_from(
        resource_sync.outerjoin(sync_job, sync_job.c.job_id == resource_sync.c.job_id))
    for batch in _batches(bind, rows, resource_sync.c.resource_sync_id):
        bind.execute(work_items.insert(), [_item(row) for row in batch])
    op.drop_table("resource_sync")      # its index and foreign key with it


def _row(item):
    payload = json.loads(item["payload"] or "{}")
    until = [t for t in (item["claimed_until"], item["not_before"]) if t is not None]
    return {"resource_sync_id": item["id"], "job_id": item["parent_id"],
            "source_region": payload.get("source_region") or "",
            "target_region": item["region"] or "", "resource": payload.get("resource") or "",
            "resource_type": payload.get("resource_type") or "",
            "sync_status": TO_ROW.get(item["status"], item["status"]),
            "error": item["last_error"], "attempts": item["attempts"],
            "claimed_by": item["claimed_by"],
            # a requeued row waited on claimed_until before 0016
            "claimed_until": max(until) if until else None,
            "force": bool(payload.get("force")), "target_id": payload.get("target_id"),
            "created_at": item["created_at"], "updated_at": item["updated_at"]}


def downgrade():
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
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("force", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("target_id", sa.String(255), nullable=True),
    )
    op.create_index("ix_resource_sync_job_id", "resource_sync", ["job_id"])
    bind = op.get_bind()
    # rows whose job is gone cannot come back (the foreign key); they were deleted with it
    items = sa.select(work_items).where(
        work_items.c.kind == KIND,
        work_items.c.parent_id.in_(sa.select(sync_job.c.job_id)))
    for batch in _batches(bind, items, work_items.c.id):
        bind.execute(resource_sync.insert(), [_row(item) for item in batch])
    bind.execute(work_items.delete().where(work_items.c.kind == KIND))
