"""Asynchronous jobs of the big region (Tricircle's /v1.0/jobs): durable rows with a type,
the ids of the resources they act on, and a status NEW -> RUNNING -> SUCCESS | FAIL."""

import uuid

import sqlalchemy as sa

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import work_items

NEW, RUNNING, SUCCESS, FAIL = "NEW", "RUNNING", "SUCCESS", "FAIL"
STATUSES = (NEW, RUNNING, SUCCESS, FAIL)

# type -> the resource fields it needs, in order (their values, "#"-joined, key the job).
TYPES = {
    "configure_route": ("router_id",),
    "router_setup": ("pod_id", "router_id", "network_id"),
    "port_delete": ("pod_id", "port_id"),
    "seg_rule_setup": ("project_id",),
    "update_network": ("pod_id", "network_id"),
    "subnet_update": ("pod_id", "subnet_id"),
    "shadow_port_setup": ("pod_id", "network_id"),
    "trunk_sync": ("pod_id", "trunk_id"),
    "sfc_sync": ("pod_id", "portchain_id", "network_id"),
    "resource_recycle": ("project_id",),
    "qos_create": ("pod_id", "policy_id", "res_type", "res_id"),
    "qos_update": ("pod_id", "policy_id"),
    "qos_delete": ("pod_id", "policy_id"),
    "sync_qos_rule": ("rule_id", "policy_id"),
}
# type -> (routing resource type, field): the resource must be routed in the job's project
PRIMARY = {
    "configure_route": ("router", "router_id"), "router_setup": ("router", "router_id"),
    "port_delete": ("port", "port_id"), "update_network": ("network", "network_id"),
    "subnet_update": ("subnet", "subnet_id"), "shadow_port_setup": ("network", "network_id"),
    "trunk_sync": ("trunk", "trunk_id"), "sfc_sync": ("port_chain", "portchain_id"),
    "qos_create": ("qos_policy", "policy_id"), "qos_update": ("qos_policy", "policy_id"),
    "qos_delete": ("qos_policy", "policy_id"), "sync_qos_rule": ("qos_policy", "policy_id"),
}
# jobs whose resource names the project: it must be the job's project
PROJECT_TYPES = ("seg_rule_setup", "resource_recycle")
# the types the engine runs (kind `net_router`, docs/networking.md): one work item per top
# router (its runs never overlap), added when a job of it is created or redone; the other
# types are recorded only
EXECUTED = ("router_setup", "configure_route")
WORK_KIND = "net_router"
# the security-group jobs the engine runs (kind `net_secgroup`): one work item per project
SG_EXECUTED = ("seg_rule_setup",)
SG_WORK_KIND = "net_secgroup"
MAX_ERROR = 4000

_JOB = models.AsyncJob


class JobNotFound(exception.NotFound):
    code = "job.not_found"
    message = "Job not found: %(job_id)s"


class JobRunning(exception.Conflict):
    code = "job.running"
    message = "Job %(job_id)s is running; %(action)s it when it has finished"


class JobSucceeded(exception.Conflict):
    code = "job.succeeded"
    message = "Job %(job_id)s has run successfully: nothing to redo"


class InvalidMarker(exception.Invalid):
    code = "request.invalid_marker"
    message = "Marker %(marker)s is an invalid ID"

def _job(row):
    fields = TYPES[row.type]
    return {"id": row.id, "project_id": row.project_id, "type": row.type,
            "status": row.status, "timestamp": row.timestamp, "error": row.error,
            "resource": dict(zip(fields, row.resource_id.split("#"), strict=True))}


def resource_key(job_type, resource):
    return "#".join(resource[name] for name in TYPES[job_type])


def create(conf, *, project_id, job_type, resource):
    """A NEW job; if one of this type on these resources is already NEW, that one."""
    key = resource_key(job_type, resource)
    with db_api.session_scope(conf) as session:
        row = session.scalars(sa.select(_JOB).where(
            _JOB.type == job_type, _JOB.resource_id == key, _JOB.status == NEW)).first()
        if row is None:
            row = _JOB(id=str(uuid.uuid4()), project_id=project_id, type=job_type,
                       status=NEW, resource_id=key, timestamp=models.utcnow())
            session.add(row)
            session.flush()
        created = _job(row)
    _schedule(conf, created)
    return created


def _schedule(conf, job):
    """The work item of a job's router (one still waiting is reused, claimable at once: a
    redo does not wait for the retry's backoff)."""
    if job["type"] in EXECUTED:
        router_id = job["resource"]["router_id"]
        work_items.add(conf, kind=WORK_KIND, key_id=router_id)
        work_items.wake(conf, kind=WORK_KIND, key_id=router_id)
    elif job["type"] in SG_EXECUTED:
        project_id = job["resource"]["project_id"]
        work_items.add(conf, kind=SG_WORK_KIND, key_id=project_id)
        work_items.wake(conf, kind=SG_WORK_KIND, key_id=project_id)


def open_router_jobs(conf, router_id):
    """The router's jobs not yet done (NEW, FAIL, or RUNNING in an engine that died),
    oldest first."""
    with db_api.session_scope(conf) as session:
        rows = session.scalars(sa.select(_JOB).where(
            _JOB.type.in_(EXECUTED), _JOB.status.in_((NEW, RUNNING, FAIL)),
            _JOB.resource_id.contains(router_id)).order_by(_JOB.timestamp, _JOB.id)).all()
        return [j for j in map(_job, rows) if j["resource"]["router_id"] == router_id]


def open_project_jobs(conf, project_id):
    """The project's security-group jobs not yet done (as open_router_jobs), oldest first."""
    with db_api.session_scope(conf) as session:
        rows = session.scalars(sa.select(_JOB).where(
            _JOB.type.in_(SG_EXECUTED), _JOB.status.in_((NEW, RUNNING, FAIL)),
            _JOB.resource_id == project_id).order_by(_JOB.timestamp, _JOB.id)).all()
        return [_job(r) for r in rows]


def get(conf, job_id):
    with db_api.session_scope(conf) as session:
        row = session.get(_JOB, job_id)
        if row is None:
            raise JobNotFound(job_id=job_id)
        return _job(row)


def list_jobs(conf, *, project_id=None, job_type=None, status=None, limit=None,
              marker=None):
    """(jobs, more), newest first (timestamp, then id, descending), after job `marker`."""
    query = sa.select(_JOB).order_by(_JOB.timestamp.desc(), _JOB.id.desc())
    if project_id is not None:
        query = query.where(_JOB.project_id == project_id)
    if job_type is not None:
        query = query.where(_JOB.type == job_type)
    if status is not None:
        query = query.where(_JOB.status == status)
    with db_api.session_scope(conf) as session:
        if marker is not None:
            after = session.get(_JOB, marker)
            if after is None:
                raise InvalidMarker(marker=marker)
            query = query.where(sa.or_(
                _JOB.timestamp < after.timestamp,
                sa.and_(_JOB.timestamp == after.timestamp, _JOB.id < after.id)))
        if limit is not None:
            query = query.limit(limit + 1)
        rows = session.scalars(query).all()
        more = limit is not None and len(rows) > limit
        return [_job(r) for r in rows[:limit]], more


def set_status(conf, job_id, status, error=None):
    """Move a job to `status` (the worker's transitions), with the error of a FAIL."""
    with db_api.session_scope(conf) as session:
        row = session.get(_JOB, job_id)
        if row is None:
            raise JobNotFound(job_id=job_id)
        row.status = status
        row.error = error[:MAX_ERROR] if error else None
        row.updated_at = models.utcnow()
        return _job(row)


def settle(conf, job_ids, status, error=None):
    """set_status of every job of `job_ids` still there (one deleted meanwhile is skipped)."""
    for job_id in job_ids:
        try:
            set_status(conf, job_id, status, error)
        except JobNotFound:
            pass


def redo(conf, job_id):
    """Run a NEW or FAILed job again: back to NEW, its timestamp now."""
    with db_api.session_scope(conf) as session:
        row = session.get(_JOB, job_id, with_for_update=True)
        if row is None:
            raise JobNotFound(job_id=job_id)
        if row.status == RUNNING:
            raise JobRunning(job_id=job_id, action="redo")
        if row.status == SUCCESS:
            raise JobSucceeded(job_id=job_id)
        row.status = NEW
        row.timestamp = row.updated_at = models.utcnow()
        redone = _job(row)
    _schedule(conf, redone)
    return redone


def delete(conf, job_id):
    """Delete a job that is not running (409 while it runs)."""
    with db_api.session_scope(conf) as session:
        row = session.get(_JOB, job_id, with_for_update=True)
        if row is None:
            raise JobNotFound(job_id=job_id)
        if row.status == RUNNING:
            raise JobRunning(job_id=job_id, action="delete")
        session.delete(row)
