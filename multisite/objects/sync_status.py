"""Per project and region outcome of the last quota rebalance."""

import datetime
import json

import sqlalchemy as sa

from multisite import project_ids
from multisite.db import api as db_api
from multisite.db import models

OK = "SUCCESS"
FAILED = "FAILURE"
# The event the API records in the feed when it accepts a `quota sync` of a project: the
# durable trace of when a pass was requested (the engine's queue is in memory).
SYNC_REQUESTED = "multisite.quota.sync"


def _iso(value):
    return value.replace(tzinfo=datetime.UTC).isoformat() if value else None


def list_for_project(conf, project_id):
    with db_api.session_scope(conf) as session:
        rows = session.scalars(
            sa.select(models.ProjectSyncStatus)
            .where(models.ProjectSyncStatus.project_id == project_id)
            .order_by(models.ProjectSyncStatus.region))
        return [
            {"region": row.region, "status": row.status, "error": row.error,
             "last_sync_at": _iso(row.last_sync_at), "usage_at": _iso(row.usage_at),
             "consecutive_failures": row.failures,
             "next_attempt_at": _iso(row.next_attempt_at),
             "usage": json.loads(row.usage) if row.usage else None,
             "limits": json.loads(row.limits) if row.limits else None}
            for row in rows
        ]


def last_request(conf, project_id):
    """When a rebalance of the project was last requested (naive UTC), or None."""
    with db_api.session_scope(conf) as session:
        return session.scalar(
            sa.select(models.Event.generated_at)
            .where(models.Event.project_id == project_ids.fold(project_id),
                   models.Event.event_type == SYNC_REQUESTED)
            .order_by(models.Event.id.desc()).limit(1))


def summary(conf, project_id):
    """The os-quota-sync-status answer: the regions' outcomes, when a pass was last
    requested, and whether that request is still pending (no outcome recorded since)."""
    requested = last_request(conf, project_id)
    with db_api.session_scope(conf) as session:
        recorded = session.scalar(
            sa.select(sa.func.max(models.ProjectSyncStatus.updated_at))
            .where(models.ProjectSyncStatus.project_id == project_id))
    return {"sync_status": list_for_project(conf, project_id),
            "sync_requested_at": _iso(requested),
            "sync_pending": requested is not None and (recorded is None
                                                       or recorded < requested)}


def states(conf, project_id):
    """{region: {...}} of a project: last usage/limits read, failures, next attempt."""
    with db_api.session_scope(conf) as session:
        rows = session.scalars(
            sa.select(models.ProjectSyncStatus)
            .where(models.ProjectSyncStatus.project_id == project_id))
        return {
            row.region: {
                "status": row.status,
                "usage": json.loads(row.usage) if row.usage else None,
                "usage_at": row.usage_at,
                "limits": json.loads(row.limits) if row.limits else None,
                "failures": row.failures or 0,
                "next_attempt_at": row.next_attempt_at,
            }
            for row in rows
        }


def record_many(conf, project_id, outcomes):
    """Store several regions' outcomes of one pass in one transaction.

    outcomes: {region: {"ok": bool, "error": str, "usage": dict, "limits": dict,
    "backoff": seconds}}; usage/limits are stored only when given (read now).

    Core statements, one executemany per shape of row: a pass writes every region of
    every project, and the ORM's unit of work cost about a sixth of an engine's CPU.
    """
    now = models.utcnow()
    table = models.ProjectSyncStatus.__table__
    with db_api.session_scope(conf) as session:
        known = {row.region: (row.id, row.failures or 0) for row in session.execute(
            sa.select(table.c.region, table.c.id, table.c.failures)
            .where(table.c.project_id == project_id)
            .with_for_update())}
        updates, inserts = {}, []
        for region, outcome in outcomes.items():
            row_id, failures = known.get(region, (None, 0))
            values = {"updated_at": now}
            if outcome.get("usage") is not None:
                values["usage"] = json.dumps(outcome["usage"], sort_keys=True)
                values["usage_at"] = now
            if outcome.get("limits") is not None:
                values["limits"] = json.dumps(outcome["limits"], sort_keys=True)
            if outcome["ok"]:
                values.update(status=OK, error=None, failures=0, last_sync_at=now,
                              next_attempt_at=None)
            else:
                values.update(status=FAILED, error=(outcome.get("error") or "")[:4000],
                              failures=failures + 1,
                              next_attempt_at=now + datetime.timedelta(
                                  seconds=outcome.get("backoff") or 0))
            if row_id is None:
                inserts.append(values | {"project_id": project_id, "region": region,
                                         "created_at": now})
            else:
                updates.setdefault(tuple(sorted(values)), []).append(
                    values | {"row_id": row_id})
        for keys, params in updates.items():
            session.execute(
                sa.update(table).where(table.c.id == sa.bindparam("row_id"))
                .values({key: sa.bindparam(key) for key in keys}),
                params)
        columns = ("project_id", "region", "status", "error", "usage", "usage_at", "limits",
                   "last_sync_at", "failures", "next_attempt_at", "created_at",
                   "updated_at")
        if inserts:
            session.execute(sa.insert(table),
                            [{c: row.get(c) for c in columns} for row in inserts])
