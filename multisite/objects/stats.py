"""Counts for the metrics scrape: small GROUP BY queries, nothing per project."""

import sqlalchemy as sa

from multisite.db import api as db_api
from multisite.db import models


def _grouped(session, column):
    return dict(session.execute(sa.select(column, sa.func.count()).group_by(column)).all())


def snapshot(conf):
    """{"services": [row...], "capacity": [row...], "sync_jobs": {status: n},
    "sync_rows": {status: n}, "quota_regions": {status: n}, "quota_projects": n,
    "events_last_id": n, "events_oldest": datetime or None}."""
    with db_api.session_scope(conf) as session:
        services = [{"region": r.region, "service": r.service, "reachable": r.reachable,
                     "latency_ms": r.latency_ms, "failures": r.failures}
                    for r in session.scalars(sa.select(models.RegionService))]
        capacity = [{"region": r.region, "kind": r.kind, "figures": r.figures,
                     "collected_at": r.collected_at}
                    for r in session.scalars(sa.select(models.RegionCapacity))]
        event = models.Event
        last_id = session.scalar(sa.select(sa.func.max(event.id))) or 0
        oldest = session.scalar(sa.select(event.received_at).order_by(event.id).limit(1))
        return {
            "services": services, "capacity": capacity,
            "sync_jobs": _grouped(session, models.SyncJob.sync_status),
            "sync_rows": _grouped(session, models.ResourceSync.sync_status),
            "quota_regions": _grouped(session, models.ProjectSyncStatus.status),
            "quota_projects": session.scalar(
                sa.select(sa.func.count(sa.distinct(models.Quota.project_id)))) or 0,
            "events_last_id": last_id, "events_oldest": oldest,
        }


def pool_status(conf):
    """The database pool of this process: size, checked out, overflow (None if n/a)."""
    pool = db_api.get_engine(conf).pool
    return {name: getattr(pool, name)() if callable(getattr(pool, name, None)) else None
            for name in ("size", "checkedout", "overflow")}
