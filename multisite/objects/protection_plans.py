"""Protection plans (disaster recovery): a VNF's ordered server groups in a source region,
what the engine discovered they need, and the problems that keep parts of it unprotected."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import work_items

KIND = "dr_plan"
METHODS = ("pause", "quiesce", "none", "vm-snapshot", "replicate")
DISCOVERING, READY, INVALID = "discovering", "ready", "invalid"

_PLAN = models.ProtectionPlan
_CHECKPOINT = models.Checkpoint


class PlanNotFound(exception.NotFound):
    code = "protection_plan.not_found"
    message = "Protection plan not found: %(plan_id)s"


class PlanBusy(exception.Conflict):
    code = "protection_plan.busy"
    message = "Protection plan %(plan_id)s has a checkpoint in progress: %(checkpoint_id)s"


def _loads(text, default=None):
    return default if text is None else json.loads(text)


def _dict(row) -> dict:
    return {"id": row.id, "project_id": row.project_id, "user_id": row.user_id,
            "name": row.name, "source_region": row.source_region,
            "backup_region": row.backup_region, "groups": _loads(row.groups, []),
            "method": row.method, "retention": row.retention,
            "schedule": ({"interval": row.schedule_interval}
                         if row.schedule_interval else None),
            "status": row.status, "resources": _loads(row.resources),
            "problems": _loads(row.problems, []), "discovered_at": row.discovered_at,
            "created_at": row.created_at, "updated_at": row.updated_at}


def create(conf, *, project_id, user_id, name, source_region, backup_region, groups, method,
           retention, schedule_interval=None) -> dict:
    """Store a plan (status discovering) and the engine's work item to discover it."""
    plan_id = str(uuid.uuid4())
    with db_api.session_scope(conf) as session:
        row = _PLAN(id=plan_id, project_id=project_id, user_id=user_id, name=name,
                    source_region=source_region, backup_region=backup_region,
                    groups=json.dumps(groups), method=method, retention=retention,
                    schedule_interval=schedule_interval, status=DISCOVERING,
                    created_at=models.utcnow())
        session.add(row)
        session.flush()
        plan = _dict(row)
    work_items.add(conf, kind=KIND, key_id=plan_id, region=source_region)
    return plan


def rediscover(conf, plan_id) -> None:
    """Ask the engine to discover the plan again (its servers' volumes may have changed)."""
    with db_api.session_scope(conf) as session:
        row = session.get(_PLAN, plan_id)
        if row is None:
            raise PlanNotFound(plan_id=plan_id)
        row.status, row.updated_at = DISCOVERING, models.utcnow()
        region = row.source_region
    work_items.add(conf, kind=KIND, key_id=plan_id, region=region)


def get(conf, plan_id, *, project_id=None) -> dict | None:
    with db_api.session_scope(conf) as session:
        row = session.get(_PLAN, plan_id)
        if row is None or (project_id is not None and row.project_id != project_id):
            return None
        return _dict(row)


def list_plans(conf, *, project_id=None, limit=None, marker=None):
    """(plans, more) in id order, of one project (None: every project)."""
    with db_api.session_scope(conf) as session:
        query = sa.select(_PLAN).order_by(_PLAN.id)
        if project_id is not None:
            query = query.where(_PLAN.project_id == project_id)
        if marker is not None:
            query = query.where(_PLAN.id > marker)
        if limit is not None:
            query = query.limit(limit + 1)
        rows = session.scalars(query).all()
        more = limit is not None and len(rows) > limit
        return [_dict(r) for r in rows[:limit]], more


def delete(conf, plan_id) -> None:
    """Delete a plan that has no checkpoint in progress (its checkpoints' rows go too; the
    backups they made in the backup region stay: they are the operator's data)."""
    with db_api.session_scope(conf) as session:
        row = session.get(_PLAN, plan_id)
        if row is None:
            raise PlanNotFound(plan_id=plan_id)
        running = session.scalar(sa.select(_CHECKPOINT.id).where(
            _CHECKPOINT.active_plan_id == plan_id))
        if running is not None:
            raise PlanBusy(plan_id=plan_id, checkpoint_id=running)
        session.execute(sa.delete(_CHECKPOINT).where(_CHECKPOINT.plan_id == plan_id))
        session.delete(row)


def record_discovery(conf, plan_id, *, resources, problems) -> None:
    """What discovery found: ready when nothing is unprotectable, else invalid."""
    with db_api.session_scope(conf) as session:
        row = session.get(_PLAN, plan_id)
        if row is None:
            return
        now = models.utcnow()
        row.resources = json.dumps(resources, sort_keys=True)
        row.problems = json.dumps(problems)
        row.status = INVALID if problems else READY
        row.discovered_at = row.updated_at = now


def scheduled(conf) -> list[dict]:
    """Ready plans that have a schedule (the scheduler's keys)."""
    with db_api.session_scope(conf) as session:
        rows = session.scalars(sa.select(_PLAN).where(
            _PLAN.schedule_interval.is_not(None), _PLAN.status == READY)).all()
        return [_dict(r) for r in rows]
