"""Engine liveness registry."""

import datetime

import sqlalchemy as sa

from multisite.db import api as db_api
from multisite.db import models


def report(conf, *, service_id, host, binary, topic):
    """Create or refresh a service row (its updated_at is the liveness mark)."""
    with db_api.session_scope(conf) as session:
        row = session.get(models.Service, service_id)
        if row is None:
            session.add(models.Service(id=service_id, host=host, binary=binary, topic=topic,
                                       report_count=1, updated_at=models.utcnow()))
        else:
            row.report_count += 1
            row.updated_at = models.utcnow()


def remove(conf, service_id):
    with db_api.session_scope(conf) as session:
        session.execute(sa.delete(models.Service).where(models.Service.id == service_id))


def list_services(conf):
    with db_api.session_scope(conf) as session:
        return [
            {"id": row.id, "host": row.host, "binary": row.binary, "topic": row.topic,
             "disabled": row.disabled, "report_count": row.report_count,
             "updated_at": row.updated_at or row.created_at}
            for row in session.scalars(sa.select(models.Service).order_by(models.Service.host))
        ]


def cleanup_stale(conf, *, max_age):
    """Forget services that have not reported for `max_age` seconds."""
    cutoff = models.utcnow() - datetime.timedelta(seconds=max_age)
    with db_api.session_scope(conf) as session:
        result = session.execute(sa.delete(models.Service).where(
            sa.func.coalesce(models.Service.updated_at, models.Service.created_at) < cutoff))
        return result.rowcount


def live_ids(conf, *, binary, within):
    """Ids of the enabled services of `binary` that reported in the last `within` seconds."""
    cutoff = models.utcnow() - datetime.timedelta(seconds=within)
    return sorted(row["id"] for row in list_services(conf)
                  if row["binary"] == binary and not row["disabled"]
                  and row["updated_at"] is not None and row["updated_at"] >= cutoff)
