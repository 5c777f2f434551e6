"""Resource sync jobs and their (resource, source, target) rows: the durable work record.

The API writes a job and all of its rows in one transaction; the rows are work items of
kind "sync" (objects/work_items.py: the one lease implementation), the job is their
parent. Engines claim rows with a lease, so a lost wake-up message or a dead engine never
strands a row. A job's status is computed only when none of its rows is IN_PROGRESS.

On the wire (Kingbird v1.0) a row is as it always was: its id, regions, resource, type,
status IN_PROGRESS / SUCCESS / FAILURE (the work item's WAITING / DONE / FAILED) and error.
"""

import datetime
import json
import types
import uuid

import sqlalchemy as sa

from multisite import exception, project_ids
from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import events, work_items

IN_PROGRESS = "IN_PROGRESS"
SUCCESS = "SUCCESS"
FAILURE = "FAILURE"

KIND = "sync"        # the rows' kind in the work-item table
# A row's status on the wire, from its work item's.
_WIRE_STATUS = {work_items.WAITING: IN_PROGRESS, work_items.DONE: SUCCESS,
                work_items.FAILED: FAILURE}
# What a row keeps in its item's payload (besides the job's user and project).
_PAYLOAD = ("resource_type", "resource", "source_region", "force", "target_id")

# The event feed's entries of a job: its start (the API, with the caller's context) and its
# end (the engine that settles it). Each has a message id named after the job, so an end
# settled twice (two engines, a repair pass) is stored once.
JOB_START = "multisite.sync_job.start"
JOB_END = "multisite.sync_job.end"
# Resources named in a start event (a template may hold thousands; the count is exact).
EVENT_RESOURCES = 20

# The one timestamp format of os-sync (lists and rows alike); Kingbird's job lists used it.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
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


def wire_status(status):
    return _WIRE_STATUS.get(status, status)


def _row_dict(row):
    payload = json.loads(row.payload)
    return {"id": row.id, "target_region": row.region,
            "source_region": payload["source_region"], "resource": payload["resource"],
            "resource_type": payload["resource_type"], "sync_status": wire_status(row.status),
            "created_at": fmt_time(row.created_at), "updated_at": fmt_time(row.updated_at),
            "error": row.last_error}


def _row_order(row):
    """Rows in the order os-sync lists them: creation, resource, source, target."""
    return (row["created_at"] or "", row["resource"], row["source_region"],
            row["target_region"])


def _payload(item):
    return dict({name: item[name] for name in _PAYLOAD}, user_id=item["user_id"],
                project_id=item["project_id"])


def _engine_item(item):
    """The engine's view of a claimed row (work item dict -> flat row item)."""
    payload = item["payload"]
    return {"id": item["id"], "kind": KIND, "key_id": item["key_id"], "region": item["region"],
            "job_id": item["parent_id"], "target_region": item["region"],
            **{name: payload[name] for name in _PAYLOAD}, "attempts": item["attempts"],
            "user_id": payload["user_id"], "project_id": payload["project_id"]}


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
            item = {"id": row_id, "kind": KIND, "key_id": row_id, "region": row["target"],
                    "job_id": job_id, "resource_type": row["resource_type"],
                    "resource": row["resource"], "source_region": row["source"],
                    "target_region": row["target"], "force": row["force"], "attempts": 1,
                    "target_id": None, "user_id": user_id, "project_id": project_id}
            session.add(models.WorkItem(
                id=row_id, kind=KIND, key_id=row_id, region=row["target"], parent_id=job_id,
                payload=json.dumps(_payload(item), sort_keys=True), status=work_items.WAITING,
                **dict({"attempts": 0}, **claim), created_at=now))
            if claim:
                item["handoff_until"] = (claim["claimed_until"] - _EPOCH).total_seconds()
                items.append(item)
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
        rows = session.scalars(sa.select(models.WorkItem).where(
            models.WorkItem.kind == KIND, models.WorkItem.parent_id == job_id))
        return sorted((_row_dict(r) for r in rows), key=_row_order)


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
        # its rows (work items have no foreign key to the job)
        session.execute(sa.delete(models.WorkItem).where(
            models.WorkItem.kind == KIND, models.WorkItem.parent_id == job_id))


# -- engine side ------------------------------------------------------------------------------

def _settle_parent(session, job_id):
    """Set the job's status once none of its rows is IN_PROGRESS (FAILURE if any failed).

    Returns what the end event needs when this call settled the job, else None.
    """
    job = session.scalars(sa.select(models.SyncJob).where(models.SyncJob.job_id == job_id)
                          .with_for_update()).first()
    if job is None or job.sync_status != IN_PROGRESS:
        return None
    counts = {wire_status(status): n for status, n in session.execute(
        sa.select(models.WorkItem.status, sa.func.count())
        .where(models.WorkItem.kind == KIND, models.WorkItem.parent_id == job_id)
        .group_by(models.WorkItem.status)).all()}
    if counts.get(IN_PROGRESS) or not counts:
        return None
    job.sync_status = FAILURE if counts.get(FAILURE) else SUCCESS
    job.updated_at = _now()
    return {"job_id": job.job_id, "status": job.sync_status, "user_id": job.user_id,
            "project_id": job.project_id, "rows": sum(counts.values()),
            "failed": counts.get(FAILURE, 0), "created_at": job.created_at,
            "updated_at": job.updated_at}


class _Jobs:
    """The rows' parents for work_items: lock the job first, settle it after a row ends."""

    def __init__(self, conf):
        self.conf = conf

    @staticmethod
    def lock(session, job_id):
        session.scalars(sa.select(models.SyncJob).where(models.SyncJob.job_id == job_id)
                        .with_for_update()).first()

    def settle(self, session, job_id):
        settled = _settle_parent(session, job_id)
        return None if settled is None else (lambda: _record_ends(self.conf, [settled]))


def claim(conf, *, engine_id, lease, limit, max_attempts, job_id=None):
    """Claim up to `limit` unfinished rows whose lease expired; returns their work items.

    work_items.claim: one read picks the candidates and one UPDATE claims them all, so a
    job of N rows costs two statements, not N transactions. A row already tried
    `max_attempts` times is failed instead of claimed again (and its job settled), so a
    row that kills its engine cannot loop for ever.
    """
    taken = work_items.claim(conf, kind=KIND, engine_id=engine_id, lease=lease, limit=limit,
                             max_attempts=max_attempts, parent_id=job_id,
                             parents=_Jobs(conf))
    return [_engine_item(item) for item in taken]


def renew(conf, *, engine_id, row_ids, lease):
    """Extend the leases of the rows this engine is working on."""
    work_items.renew(conf, engine_id=engine_id, item_ids=row_ids, lease=lease)


def set_target_id(conf, *, item, engine_id, target_id):
    """Record what the row is about to create, before creating it."""
    work_items.set_payload(conf, item_id=item["id"], engine_id=engine_id,
                           payload=_payload(dict(item, target_id=target_id)))


def finish(conf, *, item, engine_id, status, error=None):
    """Record a row's final status; the job's status follows when it was the last row."""
    return work_items.finish(conf, item_id=item["id"], engine_id=engine_id,
                             ok=status == SUCCESS, error=error, parent_id=item["job_id"],
                             parents=_Jobs(conf))


def requeue(conf, *, row_id, engine_id, delay, error):
    """Give a row back after a temporary error; it is eligible again after `delay`."""
    work_items.requeue(conf, item_id=row_id, engine_id=engine_id, delay=delay,
                       error=error or None)


def settle_all(conf):
    """Repair pass: settle every IN_PROGRESS job whose rows have all finished."""
    with db_api.session_scope(conf) as session:
        running = sa.select(models.WorkItem.parent_id).where(
            models.WorkItem.kind == KIND, models.WorkItem.status == work_items.WAITING)
        job_ids = list(session.scalars(sa.select(models.SyncJob.job_id).where(
            models.SyncJob.sync_status == IN_PROGRESS,
            models.SyncJob.job_id.not_in(running))))
    for job_id in job_ids:
        with db_api.session_scope(conf) as session:
            settled = _settle_parent(session, job_id)
        _record_ends(conf, [settled] if settled else [])
    return job_ids
