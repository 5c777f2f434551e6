"""Counts for the metrics scrape: small GROUP BY queries, nothing per project."""

import sqlalchemy as sa

from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import sync_jobs


def _grouped(connection, column, *where):
    return dict(connection.execute(
        sa.select(column, sa.func.count()).where(*where).group_by(column)).all())


def _sync_rows(connection):
    """The os-sync rows (work items of kind sync) by their status on the wire."""
    item = models.WorkItem
    return {sync_jobs.wire_status(status): n for status, n in _grouped(
        connection, item.status, item.kind == sync_jobs.KIND).items()}


def snapshot(conf):
    """{"services": [row...], "capacity": [row...], "sync_jobs": {status: n},
    "sync_rows": {status: n}, "events_last_id": n, "events_oldest": datetime or None}.

    Nothing here scans a table that grows with the projects (quota limits, quota sync
    status): a scrape with 10,000 projects x 50 regions stays as fast as with one.
    """
    # Core rows read as mappings: an ORM session and Row._asdict() cost more than the
    # queries themselves at 50 regions (300 service and 200 capacity rows a scrape).
    with db_api.get_engine(conf).connect() as connection:
        svc, cap = models.RegionService, models.RegionCapacity
        services = connection.execute(sa.select(
            svc.region, svc.service, svc.reachable, svc.latency_ms, svc.failures)
        ).mappings().all()
        capacity = connection.execute(sa.select(
            cap.region, cap.kind, cap.figures, cap.collected_at)).mappings().all()
        event = models.Event
        last_id = connection.scalar(sa.select(sa.func.max(event.id))) or 0
        oldest = connection.scalar(sa.select(event.received_at).order_by(event.id).limit(1))
        return {
            "services": services, "capacity": capacity,
            "sync_jobs": _grouped(connection, models.SyncJob.sync_status),
            "sync_rows": _sync_rows(connection),
            "events_last_id": last_id, "events_oldest": oldest,
        }


def pool_status(conf):
    """The database pool of this process: size, checked out, overflow (None if n/a)."""
    pool = db_api.get_engine(conf).pool
    return {name: getattr(pool, name)() if callable(getattr(pool, name, None)) else None
            for name in ("size", "checkedout", "overflow")}
