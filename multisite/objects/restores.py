"""Restores of checkpoints (drill or failover): one durable, resumable job each (kind
dr_restore), and the confirmation tokens a failover needs (docs/dr.md).

A failover is never started by one call: the first call without a valid token stores a
token (valid `[dr] confirm_ttl` seconds) and answers what would happen; only a second
call with that token starts it. `active_key` is "<plan>/<region>/<mode>" while a restore
runs: one restore of a plan into a region per mode at a time.
"""

from __future__ import annotations

import datetime
import json
import secrets
import uuid

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import checkpoints, protection_plans, work_items

KIND = "dr_restore"
DRILL, FAILOVER = "drill", "failover"
PENDING, RUNNING, COMPLETED, FAILED = "pending", "running", "completed", "failed"

_R = models.Restore
_T = models.RestoreToken


class RestoreNotFound(exception.NotFound):
    code = "restore.not_found"
    message = "Restore not found: %(restore_id)s"


class CheckpointNotRestorable(exception.Conflict):
    code = "restore.checkpoint_not_completed"
    message = "Checkpoint %(checkpoint_id)s is %(status)s: only a completed one is restored"


class WrongRegion(exception.Conflict):
    code = "restore.wrong_region"
    message = ("Checkpoint %(checkpoint_id)s was exported to %(backup_region)s, not "
               "%(region)s: restore it there")


class RestoreBusy(exception.Conflict):
    code = "restore.busy"
    message = "A %(mode)s of this plan into %(region)s is running: %(restore_id)s"


class TargetProjectNotForFailover(exception.Invalid):
    code = "restore.target_project_not_for_failover"
    message = ("A failover restores the VNF into its own project %(project_id)s: only a "
               "drill goes into another project")


class ConfirmationRequired(exception.Conflict):
    """No (valid) token: the caller gets one, with what the failover would do."""

    code = "restore.confirmation_required"
    message = ("A failover needs confirmation: repeat the request with \"confirm\": "
               "\"%(token)s\" before %(expires_at)s (%(reason)s)")

    def __init__(self, *, token, expires_at, reason, summary):
        super().__init__(token=token, expires_at=expires_at, reason=reason)
        self.token, self.expires_at, self.summary = token, expires_at, summary


def _loads(text, default=None):
    return default if text is None else json.loads(text)


def _dict(row) -> dict:
    return {"id": row.id, "checkpoint_id": row.checkpoint_id, "plan_id": row.plan_id,
            "project_id": row.project_id,
            "target_project_id": row.target_project_id or row.project_id,
            "region": row.region, "mode": row.mode,
            "status": row.status, "phase": row.phase, "resources": _loads(row.resources, {}),
            "rto_seconds": row.rto_seconds, "error": row.error, "created_at": row.created_at,
            "updated_at": row.updated_at, "finished_at": row.finished_at}


def summary(checkpoint, plan, *, region, mode) -> dict:
    """What a restore of the checkpoint would create in the region (shown before a failover)."""
    resources = checkpoint["resources"]
    found = resources.get("plan") or plan.get("resources") or {}
    return {"checkpoint_id": checkpoint["id"], "plan_id": plan["id"], "region": region,
            "mode": mode, "source_region": plan["source_region"],
            "checkpoint_created_at": checkpoint["created_at"].isoformat() + "Z",
            "servers": [s["name"] for s in resources.get("servers", [])],
            "volumes": len(resources.get("volumes", [])),
            "networks": [n["name"] for n in found.get("networks", [])],
            "keypairs": [k["name"] for k in found.get("keypairs", [])]}


def _check(session, checkpoint_id, region, project_id):
    cp = session.get(models.Checkpoint, checkpoint_id)
    if cp is None or (project_id is not None and cp.project_id != project_id):
        raise checkpoints.CheckpointNotFound(checkpoint_id=checkpoint_id)
    plan = session.get(models.ProtectionPlan, cp.plan_id)
    if plan is None:
        raise protection_plans.PlanNotFound(plan_id=cp.plan_id)
    if cp.status != checkpoints.COMPLETED:
        raise CheckpointNotRestorable(checkpoint_id=checkpoint_id, status=cp.status)
    if region != plan.backup_region:
        raise WrongRegion(checkpoint_id=checkpoint_id, backup_region=plan.backup_region,
                          region=region)
    return cp, plan


def _confirmed(session, token, *, checkpoint_id, region, now):
    """None if the token is valid for this failover (and consume it), else the reason."""
    if not token:
        return "no confirmation token given"
    row = session.get(_T, token)
    if row is None or row.checkpoint_id != checkpoint_id or row.region != region:
        return "the token is not one issued for this checkpoint and region"
    if row.expires_at < now:
        session.delete(row)
        return "the token expired"
    session.delete(row)
    return None


def target_project(conf, plan_project_id, *, mode, target_project_id=None):
    """The project a restore creates its resources in: the plan's for a failover (naming
    another is refused); for a drill the one asked for, else `[dr] drill_project` if set,
    else the plan's. None stands for the plan's own project."""
    if mode == FAILOVER:
        if target_project_id not in (None, plan_project_id):
            raise TargetProjectNotForFailover(project_id=plan_project_id)
        return None
    chosen = target_project_id or conf.dr.drill_project or None
    return None if chosen == plan_project_id else chosen


def create(conf, checkpoint_id, *, region, mode, confirm=None, project_id=None,
           target_project_id=None) -> dict:
    """Start a restore (its work item in the same transaction), or for a failover without a
    valid token raise ConfirmationRequired carrying a new one. A drill creates its resources
    in `target_project_id` (see target_project())."""
    now = models.utcnow()
    restore_id = str(uuid.uuid4())
    active_key = reason = None
    try:
        with db_api.session_scope(conf) as session:
            cp, plan = _check(session, checkpoint_id, region, project_id)
            plan_id = plan.id
            target = target_project(conf, cp.project_id, mode=mode,
                                    target_project_id=target_project_id)
            if mode == FAILOVER:
                reason = _confirmed(session, confirm, checkpoint_id=checkpoint_id,
                                    region=region, now=now)
            if reason is not None:
                token = secrets.token_hex(16)
                expires = now + datetime.timedelta(seconds=conf.dr.confirm_ttl)
                session.execute(sa.delete(_T).where(_T.expires_at < now))
                session.add(_T(token=token, checkpoint_id=checkpoint_id, region=region,
                               project_id=cp.project_id, expires_at=expires, created_at=now))
            else:
                active_key = f"{plan.id}/{region}/{mode}"
                session.add(_R(id=restore_id, checkpoint_id=checkpoint_id, plan_id=plan.id,
                               project_id=cp.project_id, target_project_id=target,
                               region=region, mode=mode, status=PENDING, phase="import",
                               active_key=active_key, resources=json.dumps({}), created_at=now))
                session.flush()
    except sa_exc.IntegrityError:
        with db_api.session_scope(conf) as session:
            running = session.scalar(sa.select(_R.id).where(_R.active_key == active_key))
        raise RestoreBusy(mode=mode, region=region, restore_id=running or "?") from None
    if reason is not None:
        what = summary(checkpoints.get(conf, checkpoint_id), protection_plans.get(conf, plan_id),
                       region=region, mode=mode)
        raise ConfirmationRequired(token=token, expires_at=expires.isoformat() + "Z",
                                   reason=reason, summary=what)
    work_items.add(conf, kind=KIND, key_id=restore_id, region=region)
    return get(conf, restore_id)


def get(conf, restore_id, *, project_id=None) -> dict | None:
    with db_api.session_scope(conf) as session:
        row = session.get(_R, restore_id)
        if row is None or (project_id is not None and row.project_id != project_id):
            return None
        return _dict(row)


def list_restores(conf, *, project_id=None, checkpoint_id=None, limit=None, marker=None):
    """(restores, more) in id order."""
    with db_api.session_scope(conf) as session:
        query = sa.select(_R).order_by(_R.id)
        if project_id is not None:
            query = query.where(_R.project_id == project_id)
        if checkpoint_id is not None:
            query = query.where(_R.checkpoint_id == checkpoint_id)
        if marker is not None:
            query = query.where(_R.id > marker)
        if limit is not None:
            query = query.limit(limit + 1)
        rows = session.scalars(query).all()
        more = limit is not None and len(rows) > limit
        return [_dict(r) for r in rows[:limit]], more


def save(conf, restore_id, *, phase=None, status=None, resources=None, rto_seconds=None,
         error=None) -> None:
    """Record progress (only the given fields) of a running restore."""
    values = {"updated_at": models.utcnow()}
    for name, value in (("phase", phase), ("status", status), ("rto_seconds", rto_seconds)):
        if value is not None:
            values[name] = value
    if resources is not None:
        values["resources"] = json.dumps(resources, sort_keys=True)
    if error is not None:
        values["error"] = error[:4000]
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(_R).where(_R.id == restore_id).values(**values))


def finish(conf, restore_id, *, ok, error=None) -> None:
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(_R).where(_R.id == restore_id).values(
            status=COMPLETED if ok else FAILED, phase="done" if ok else "failed",
            active_key=None, error=error and error[:4000], finished_at=models.utcnow(),
            updated_at=models.utcnow()))
