"""Resource sync jobs and their (resource, source, target) rows: the durable work record.

The API writes a job and all of its rows in one transaction; engines claim rows with a
lease (claimed_by/claimed_until), so a lost wake-up message or a dead engine never
strands a row. A job's status is computed only when none of its rows is IN_PROGRESS.
"""

import datetime
import types
import uuid

import sqlalchemy as sa

from multisite import exception, project_ids
from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import events

IN_PROGRESS = "IN_PROGRESS"
SUCCESS = "SUCCESS"
FAILURE = "FAILURE"

# The event feed's entries of a job: its start (the API, with the caller's context) and its
# end (the engine that settles it). Each has a message id named after the job, so an end
# settled twice (two engines, a repair pass) is stored once.
JOB_START = "multisite.sync_job.start"
JOB_END = "multisite.sync_job.end"
# Resources named in a start event (a template may hold thousands; the count is exact).
EVENT_RESOURCES = 20

# The one timestamp format of os-sync (lists and rows alike); Kingbird's job lists used it.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
MAX_ERROR = 4000
_EPOCH = datetime.datetime(1970, 1, 1)


class SourceResourceNotFound(exception.NotFound):
    code = "sync_job.resource_not_found"
    message = "Resource not found in the source region: %(missing)s"


class InvalidMarker(exception.Invalid):
    code = "request.invalid_marker"
    message = "Marker %(marker)s not found"


def fmt_time(value):
    return value.strftime(TIME_FORMAT) if value is not None else None


def _now():
    return models.utcnow()


def _job_dict(job, *, with_project=False):
    out = {"id": job.job_id, "sync_status": job.sync_status,
           "created_at": fmt_time(job.created_at), "updated_at": fmt_time(job.updated_at)}
    if with_project:
        out["project_id"] = job.project_id
    return out


def _row_dict(row):
    return {"id": row.resource_sync_id, "target_region": row.target_region,
            "source_region": row.source_region, "resource": row.resource,
            "resource_type": row.resource_type, "sync_status": row.sync_status,
            "created_at": fmt_time(row.created_at), "updated_at": fmt_time(row.updated_at),
            "error": row.error}


def create(conf, *, project_id, user_id, rows, job_id=None, handoff_to=None,
           handoff_lease=10.0):
    """Write a job and all of its rows in one transaction; returns (job dict, items).

    rows: dicts with resource_type, resource, source, target and force. `job_id` is
    chosen by the caller when it had to name the job before writing it (validation).
    `handoff_to`: an engine id; the rows are written claimed by it for `handoff_lease`
    seconds (attempt 1); `items` are their work items, for the wake-up cast (else []).
    """
    job_id = job_id or str(uuid.uuid4())
    now = _now()
    items = []
    claim = {}
    if handoff_to is not None:
        # Claimed by the engine that validated, with a short lease, in the same
        # transaction: the cast carries the rows and that engine starts them at once.
        claim = {"claimed_by": handoff_to, "attempts": 1,
                 "claimed_until": now + datetime.timedelta(seconds=handoff_lease)}
    with db_api.session_scope(conf) as session:
        job = models.SyncJob(job_id=job_id, sync_status=IN_PROGRESS, user_id=user_id,
                             project_id=project_id, force=any(r["force"] for r in rows),
                             created_at=now)
        session.add(job)
        session.flush()
        for row in rows:
            row_id = str(uuid.uuid4())
            session.add(models.ResourceSync(
                resource_sync_id=row_id, job_id=job_id,
                source_region=row["source"], target_region=row["target"],
                resource=row["resource"], resource_type=row["resource_type"],
                force=row["force"], sync_status=IN_PROGRESS,
                **dict({"attempts": 0}, **claim), created_at=now))
            if claim:
                items.append({
                    "id": row_id, "job_id": job_id, "resource_type": row["resource_type"],
                    "resource": row["resource"], "source_region": row["source"],
                    "target_region": row["target"], "force": row["force"], "attempts": 1,
                    "target_id": None, "user_id": user_id, "project_id": project_id,
                    "handoff_until": (claim["claimed_until"] - _EPOCH).total_seconds()})
    job = {"id": job_id, "status": IN_PROGRESS, "created_at": fmt_time(now)}
    return job, items


def _event_id(job_id, what):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"multisite:sync_job:{job_id}:{what}"))


def record_start(conf, ctx, *, job_id, project_id, rows):
    """The job's start into the event feed, with who asked for it (never raises)."""
    resources = sorted({row["resource"] for row in rows})
    payload = {"status": IN_PROGRESS, "rows": len(rows),
               "resource_types": sorted({row["resource_type"] for row in rows}),
               "resources": resources[:EVENT_RESOURCES], "resource_count": len(resources),
               "sources": sorted({row["source"] for row in rows}),
               "targets": sorted({row["target"] for row in rows})}
    events.record_action(conf, ctx, JOB_START, project_id=project_ids.fold(project_id),
                         resource_id=job_id, payload=payload,
                         message_id=_event_id(job_id, "start"))


def _record_ends(conf, settled):
    """The end of each job just settled (after its transaction committed).

    The initiator is the start's (user, project and request id of the os-sync request);
    the job's owner when the feed no longer has the start.
    """
    for job in settled:
        initiator = events.initiator_of(conf, JOB_START, job["job_id"]) or {
            "user_id": job["user_id"], "project_id": job["project_id"], "request_id": None}
        payload = {"status": job["status"], "rows": job["rows"], "failed": job["failed"],
                   "started_at": fmt_time(job["created_at"]),
                   "ended_at": fmt_time(job["updated_at"])}
        events.record_action(
            conf, types.SimpleNamespace(**initiator), JOB_END,
            project_id=project_ids.fold(job["project_id"]), resource_id=job["job_id"],
            payload=payload, priority="INFO" if job["status"] == SUCCESS else "ERROR",
            message_id=_event_id(job["job_id"], "end"))


def _visible(query, project_id):
    if project_id is not None:
        query = query.where(models.SyncJob.project_id == project_id)
    return query


def list_jobs(conf, *, project_id=None, active=False, limit=None, marker=None):
    """(jobs, more): jobs in creation order after `marker`, at most `limit` of them."""
    with db_api.session_scope(conf) as session:
        query = _visible(sa.select(models.SyncJob), project_id)
        if active:
            query = query.where(models.SyncJob.sync_status == IN_PROGRESS)
        if marker is not None:
            after = session.scalars(_visible(sa.select(models.SyncJob), project_id)
                                    .where(models.SyncJob.job_id == marker)).first()
            if after is None:
                raise InvalidMarker(marker=marker)
            query = query.where(sa.or_(
                models.SyncJob.created_at > after.created_at,
                sa.and_(models.SyncJob.created_at == after.created_at,
                        models.SyncJob.job_id > after.job_id)))
        query = query.order_by(models.SyncJob.created_at, models.SyncJob.job_id)
        if limit is not None:
            query = query.limit(limit + 1)
        jobs = list(session.scalars(query))
        more = limit is not None and len(jobs) > limit
        jobs = jobs[:limit] if limit is not None else jobs
        return [_job_dict(j, with_project=project_id is None) for j in jobs], more


def _get_job(session, job_id, project_id, *, lock=False):
    query = _visible(sa.select(models.SyncJob), project_id).where(
        models.SyncJob.job_id == job_id)
    if lock:
        query = query.with_for_update()
    job = session.scalars(query).first()
    if job is None:
        raise exception.JobNotFound(job_id=job_id)
    return job


def get_rows(conf, job_id, *, project_id=None):
    """The job's rows; JobNotFound if the job is unknown or not visible."""
    with db_api.session_scope(conf) as session:
        _get_job(session, job_id, project_id)
        rows = session.scalars(
            sa.select(models.ResourceSync).where(models.ResourceSync.job_id == job_id)
            .order_by(models.ResourceSync.created_at, models.ResourceSync.resource,
                      models.ResourceSync.source_region, models.ResourceSync.target_region))
        return [_row_dict(r) for r in rows]


def get_job(conf, job_id, *, project_id=None):
    with db_api.session_scope(conf) as session:
        job = _get_job(session, job_id, project_id)
        return dict(_job_dict(job, with_project=True), user_id=job.user_id)


@db_api.retry_on_conflict()
def delete(conf, job_id, *, project_id=None):
    """Delete a finished job and its rows; JobInProgress (406) while it runs.

    One conditional DELETE decides: of two concurrent deletes only one removes the job
    (the other then finds nothing: 404).
    """
    with db_api.session_scope(conf) as session:
        removed = session.execute(_visible(sa.delete(models.SyncJob), project_id).where(
            models.SyncJob.job_id == job_id,
            models.SyncJob.sync_status != IN_PROGRESS)).rowcount
        if not removed:
            _get_job(session, job_id, project_id)   # JobNotFound if it is not there
            raise exception.JobInProgress()
        # ON DELETE CASCADE removed them already where foreign keys are enforced
        session.execute(sa.delete(models.ResourceSync)
                        .where(models.ResourceSync.job_id == job_id))


# -- engine side ------------------------------------------------------------------------------

def _settle_parent(session, job_id):
    """Set the job's status once none of its rows is IN_PROGRESS (FAILURE if any failed).

    Returns what the end event needs when this call settled the job, else None.
    """
    job = session.scalars(sa.select(models.SyncJob).where(models.SyncJob.job_id == job_id)
                          .with_for_update()).first()
    if job is None or job.sync_status != IN_PROGRESS:
        return None
    counts = dict(session.execute(
        sa.select(models.ResourceSync.sync_status, sa.func.count())
        .where(models.ResourceSync.job_id == job_id)
        .group_by(models.ResourceSync.sync_status)).all())
    if counts.get(IN_PROGRESS) or not counts:
        return None
    job.sync_status = FAILURE if counts.get(FAILURE) else SUCCESS
    job.updated_at = _now()
    return {"job_id": job.job_id, "status": job.sync_status, "user_id": job.user_id,
            "project_id": job.project_id, "rows": sum(counts.values()),
            "failed": counts.get(FAILURE, 0), "created_at": job.created_at,
            "updated_at": job.updated_at}


def claim(conf, *, engine_id, lease, limit, max_attempts, job_id=None):
    """Claim up to `limit` unfinished rows whose lease expired; returns their work items.

    One read picks the candidates and one UPDATE claims them all (a row another engine
    took meanwhile no longer matches it), so a job of N rows costs two statements, not N
    transactions. A row already tried `max_attempts` times is failed instead of claimed
    again, so a row that kills its engine cannot loop for ever.
    """
    now = _now()
    until = now + datetime.timedelta(seconds=lease)
    row = models.ResourceSync
    eligible = sa.and_(row.sync_status == IN_PROGRESS,
                       sa.or_(row.claimed_until.is_(None), row.claimed_until < now))
    with db_api.session_scope(conf) as session:
        query = sa.select(row.resource_sync_id, row.attempts, row.job_id,
                          row.error).where(eligible)
        if job_id is not None:
            query = query.where(row.job_id == job_id)
        candidates = session.execute(query.order_by(row.created_at).limit(limit)).all()
    fresh = [c.resource_sync_id for c in candidates if c.attempts < max_attempts]
    for row_id, attempts, row_job, last_error in candidates:
        if attempts < max_attempts:
            continue
        reason = f"gave up after {attempts} attempts"
        if last_error:
            reason += f": {last_error}"
        settled = None
        with db_api.session_scope(conf) as session:
            done = session.execute(sa.update(row).where(
                row.resource_sync_id == row_id, eligible).values(
                    sync_status=FAILURE, error=reason[:MAX_ERROR], claimed_by=None,
                    claimed_until=None, updated_at=now))
            if done.rowcount:
                settled = _settle_parent(session, row_job)
        _record_ends(conf, [settled] if settled else [])
    if not fresh:
        return []
    with db_api.session_scope(conf) as session:
        # the write comes first in this transaction (SQLite: no stale read to upgrade)
        session.execute(sa.update(row).where(
            row.resource_sync_id.in_(fresh), eligible, row.attempts < max_attempts).values(
                claimed_by=engine_id, claimed_until=until, attempts=row.attempts + 1))
        taken = session.execute(
            sa.select(row, models.SyncJob.user_id, models.SyncJob.project_id)
            .join(models.SyncJob, models.SyncJob.job_id == row.job_id)
            .where(row.resource_sync_id.in_(fresh), row.claimed_by == engine_id,
                   row.sync_status == IN_PROGRESS)
            .order_by(row.created_at)).all()
        return [{
            "id": r.resource_sync_id, "job_id": r.job_id,
            "resource_type": r.resource_type, "resource": r.resource,
            "source_region": r.source_region, "target_region": r.target_region,
            "force": r.force, "attempts": r.attempts, "target_id": r.target_id,
            "user_id": user_id, "project_id": project_id,
        } for r, user_id, project_id in taken]


def renew(conf, *, engine_id, row_ids, lease):
    """Extend the leases of the rows this engine is working on."""
    if not row_ids:
        return
    until = _now() + datetime.timedelta(seconds=lease)
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(models.ResourceSync).where(
            models.ResourceSync.resource_sync_id.in_(list(row_ids)),
            models.ResourceSync.claimed_by == engine_id,
            models.ResourceSync.sync_status == IN_PROGRESS).values(claimed_until=until))


def set_target_id(conf, *, row_id, engine_id, target_id):
    """Record what the row is about to create, before creating it."""
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(models.ResourceSync).where(
            models.ResourceSync.resource_sync_id == row_id,
            models.ResourceSync.claimed_by == engine_id).values(target_id=target_id))


def finish(conf, *, row_id, engine_id, status, error=None):
    """Record a row's final status; the job's status follows when it was the last row."""
    with db_api.session_scope(conf) as session:
        job_id = session.scalar(sa.select(models.ResourceSync.job_id).where(
            models.ResourceSync.resource_sync_id == row_id))
        if job_id is None:
            return False
        # Lock the parent first: concurrent finishers of one job then see each other.
        session.scalars(sa.select(models.SyncJob).where(models.SyncJob.job_id == job_id)
                        .with_for_update()).first()
        done = session.execute(sa.update(models.ResourceSync).where(
            models.ResourceSync.resource_sync_id == row_id,
            models.ResourceSync.claimed_by == engine_id,
            models.ResourceSync.sync_status == IN_PROGRESS).values(
                sync_status=status, error=(error or None) and error[:MAX_ERROR],
                claimed_by=None, claimed_until=None, updated_at=_now()))
        if not done.rowcount:
            return False  # the lease was lost; whoever holds it now decides
        settled = _settle_parent(session, job_id)
    _record_ends(conf, [settled] if settled else [])
    return True


def requeue(conf, *, row_id, engine_id, delay, error):
    """Give a row back after a temporary error; it is eligible again after `delay`."""
    until = _now() + datetime.timedelta(seconds=delay)
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(models.ResourceSync).where(
            models.ResourceSync.resource_sync_id == row_id,
            models.ResourceSync.claimed_by == engine_id,
            models.ResourceSync.sync_status == IN_PROGRESS).values(
                claimed_by=None, claimed_until=until, error=(error or "")[:MAX_ERROR]))


def settle_all(conf):
    """Repair pass: settle every IN_PROGRESS job whose rows have all finished."""
    with db_api.session_scope(conf) as session:
        running = sa.select(models.ResourceSync.job_id).where(
            models.ResourceSync.sync_status == IN_PROGRESS)
        job_ids = list(session.scalars(sa.select(models.SyncJob.job_id).where(
            models.SyncJob.sync_status == IN_PROGRESS,
            models.SyncJob.job_id.not_in(running))))
    for job_id in job_ids:
        with db_api.session_scope(conf) as session:
            settled = _settle_parent(session, job_id)
        _record_ends(conf, [settled] if settled else [])
    return job_ids
