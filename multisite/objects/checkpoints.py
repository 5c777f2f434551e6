"""Checkpoints of protection plans: one durable, resumable job each (kind dr_checkpoint).

A checkpoint row holds its phase, the per-server and per-volume progress the engine writes
after every step (so that a resumed job knows what exists), and the measured quiesce window.
`active_plan_id` is the plan's id while the checkpoint runs: one checkpoint per plan at a time.
"""

from __future__ import annotations

import datetime
import json
import uuid

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import protection_plans, work_items

KIND = "dr_checkpoint"
PENDING, RUNNING, COMPLETED, FAILED = "pending", "running", "completed", "failed"

_CP = models.Checkpoint
_PLAN = models.ProtectionPlan


class CheckpointNotFound(exception.NotFound):
    code = "checkpoint.not_found"
    message = "Checkpoint not found: %(checkpoint_id)s"


class PlanNotReady(exception.Conflict):
    code = "protection_plan.not_ready"
    message = ("Protection plan %(plan_id)s is %(status)s: a checkpoint needs a ready plan "
               "(see its problems)")


def _loads(text, default=None):
    return default if text is None else json.loads(text)


def _dict(row) -> dict:
    return {"id": row.id, "plan_id": row.plan_id, "project_id": row.project_id,
            "method": row.method, "status": row.status, "phase": row.phase,
            "parent_id": row.parent_id, "resources": _loads(row.resources, {}),
            "window": _loads(row.quiesce_window), "error": row.error,
            "created_at": row.created_at, "updated_at": row.updated_at,
            "finished_at": row.finished_at}


def create(conf, plan_id, *, project_id=None) -> dict:
    """Start a checkpoint of a ready plan (its work item in the same transaction)."""
    checkpoint_id = str(uuid.uuid4())
    try:
        with db_api.session_scope(conf) as session:
            plan = session.get(_PLAN, plan_id)
            if plan is None or (project_id is not None and plan.project_id != project_id):
                raise protection_plans.PlanNotFound(plan_id=plan_id)
            if plan.status != protection_plans.READY:
                raise PlanNotReady(plan_id=plan_id, status=plan.status)
            parent = session.scalar(sa.select(_CP.id).where(
                _CP.plan_id == plan_id, _CP.status == COMPLETED)
                .order_by(_CP.created_at.desc()).limit(1))
            row = _CP(id=checkpoint_id, plan_id=plan_id, project_id=plan.project_id,
                      method=plan.method, status=PENDING, phase="discover", parent_id=parent,
                      active_plan_id=plan_id, resources=json.dumps({}),
                      created_at=models.utcnow())
            session.add(row)
            session.flush()
            region = plan.source_region
    except sa_exc.IntegrityError:
        running = active(conf, plan_id)
        raise protection_plans.PlanBusy(plan_id=plan_id,
                                        checkpoint_id=running["id"] if running else "?") from None
    work_items.add(conf, kind=KIND, key_id=checkpoint_id, region=region)
    return get(conf, checkpoint_id)


def active(conf, plan_id) -> dict | None:
    with db_api.session_scope(conf) as session:
        row = session.scalar(sa.select(_CP).where(_CP.active_plan_id == plan_id))
        return None if row is None else _dict(row)


def get(conf, checkpoint_id, *, project_id=None) -> dict | None:
    with db_api.session_scope(conf) as session:
        row = session.get(_CP, checkpoint_id)
        if row is None or (project_id is not None and row.project_id != project_id):
            return None
        return _dict(row)


def list_checkpoints(conf, *, project_id=None, plan_id=None, limit=None, marker=None):
    """(checkpoints, more) in id order."""
    with db_api.session_scope(conf) as session:
        query = sa.select(_CP).order_by(_CP.id)
        if project_id is not None:
            query = query.where(_CP.project_id == project_id)
        if plan_id is not None:
            query = query.where(_CP.plan_id == plan_id)
        if marker is not None:
            query = query.where(_CP.id > marker)
        if limit is not None:
            query = query.limit(limit + 1)
        rows = session.scalars(query).all()
        more = limit is not None and len(rows) > limit
        return [_dict(r) for r in rows[:limit]], more


def completed(conf, plan_id) -> list[dict]:
    """The plan's completed checkpoints, oldest first (retention deletes from the front)."""
    with db_api.session_scope(conf) as session:
        rows = session.scalars(sa.select(_CP).where(
            _CP.plan_id == plan_id, _CP.status == COMPLETED).order_by(_CP.created_at)).all()
        return [_dict(r) for r in rows]


def last_started_at(conf, plan_id):
    """When the plan's newest checkpoint was created (None: never)."""
    with db_api.session_scope(conf) as session:
        return session.scalar(sa.select(sa.func.max(_CP.created_at)).where(
            _CP.plan_id == plan_id))


def save(conf, checkpoint_id, *, phase=None, status=None, resources=None, window=None,
         error=None) -> None:
    """Record progress (only the given fields) of a checkpoint still running."""
    values = {"updated_at": models.utcnow()}
    if phase is not None:
        values["phase"] = phase
    if status is not None:
        values["status"] = status
    if resources is not None:
        values["resources"] = json.dumps(resources, sort_keys=True)
    if window is not None:
        values["quiesce_window"] = json.dumps(window, sort_keys=True)
    if error is not None:
        values["error"] = error[:4000]
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(_CP).where(_CP.id == checkpoint_id).values(**values))


def finish(conf, checkpoint_id, *, ok, error=None) -> None:
    """End a checkpoint: completed or failed; the plan may start another."""
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(_CP).where(_CP.id == checkpoint_id).values(
            status=COMPLETED if ok else FAILED, phase="done" if ok else "failed",
            active_plan_id=None, error=error and error[:4000], finished_at=models.utcnow(),
            updated_at=models.utcnow()))


def remove(conf, checkpoint_id) -> None:
    """Forget a checkpoint whose backups retention deleted."""
    with db_api.session_scope(conf) as session:
        session.execute(sa.delete(_CP).where(_CP.id == checkpoint_id))


def _parse_time(text):
    """A Cinder or checkpoint time ("2026-12-04T04:00:00.123456[Z]") as naive UTC."""
    if not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


def recovery_points_of(volumes, completed, now):
    """Per protected volume, its newest restorable copy: the newest completed checkpoint
    whose backup of the volume is imported in the backup region, the copy's point in time
    (the snapshot's Cinder `created_at`, else when the checkpoint was created) and its age
    in seconds at `now`. Pure.

    volumes: [{"id", "server_id"?}] (the plan's discovery); completed: checkpoints oldest
    first. A volume with no restorable copy yet has `checkpoint_id` None.
    """
    out = []
    for volume in volumes:
        point, source = None, None
        for checkpoint in reversed(completed):
            copy = next((v for v in checkpoint["resources"].get("volumes", [])
                         if v["id"] == volume["id"] and v.get("imported_backup_id")), None)
            if copy is not None:
                point = (_parse_time(copy.get("snapshot_created_at"))
                         or checkpoint["created_at"])
                source = checkpoint["id"]
                break
        out.append({"volume_id": volume["id"], "server_id": volume.get("server_id"),
                    "checkpoint_id": source,
                    "recovery_point": point.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if point else None,
                    "age_seconds": (round((now - point).total_seconds(), 1)
                                    if point else None)})
    return out


def recovery_points(conf, plan, *, now=None) -> list[dict]:
    """The plan's recovery point per volume (recovery_points_of on the stored rows)."""
    now = now or models.utcnow()
    volumes = (plan.get("resources") or {}).get("volumes", [])
    return recovery_points_of(volumes, completed(conf, plan["id"]), now)
