"""Continuous sync policies and the per-target state their audits record."""

import json
import uuid

import sqlalchemy as sa

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models

RESOURCE_TYPES = ("keypair", "security_group", "flavor", "image")
OBSERVE, ENFORCE = "observe", "enforce"
IN_SYNC, MISSING, DRIFTED, CONFLICT, FAILED = ("in_sync", "missing", "drifted", "conflict",
                                               "failed")
STATES = (IN_SYNC, MISSING, DRIFTED, CONFLICT, FAILED)

_POLICY = models.SyncPolicy
_TARGET = models.SyncPolicyTarget


class PolicyNotFound(exception.NotFound):
    code = "sync_policy.not_found"
    message = "Sync policy not found: %(policy_id)s"


def _loads(text):
    return None if text is None else json.loads(text)


def _policy(row):
    return {"id": row.id, "project_id": row.project_id, "user_id": row.user_id,
            "resource_type": row.resource_type, "resources": _loads(row.resources),
            "source": row.source_region, "targets": _loads(row.targets),
            "on_drift": row.on_drift, "propagate_deletes": row.propagate_deletes,
            "force": row.force, "created_at": row.created_at, "updated_at": row.updated_at}


def _target(row):
    return {"region": row.region, "state": row.state, "detail": _loads(row.detail) or [],
            "managed": _loads(row.managed) or [], "audited_at": row.audited_at,
            "repaired_at": row.repaired_at}


def create(conf, *, project_id, user_id, resource_type, resources, source, targets,
           on_drift, propagate_deletes=False, force=False):
    row = _POLICY(id=str(uuid.uuid4()), project_id=project_id, user_id=user_id,
                  resource_type=resource_type,
                  resources=None if resources is None else json.dumps(resources),
                  source_region=source, targets=None if targets is None else json.dumps(targets),
                  on_drift=on_drift, propagate_deletes=propagate_deletes, force=force,
                  created_at=models.utcnow())
    with db_api.session_scope(conf) as session:
        session.add(row)
        session.flush()
        return dict(_policy(row), targets_state=[])


def list_policies(conf, *, project_id=None, limit=None, marker=None):
    """(policies, more) in id order, of one project (None: every project)."""
    with db_api.session_scope(conf) as session:
        query = sa.select(_POLICY).order_by(_POLICY.id)
        if project_id is not None:
            query = query.where(_POLICY.project_id == project_id)
        if marker is not None:
            query = query.where(_POLICY.id > marker)
        if limit is not None:
            query = query.limit(limit + 1)
        rows = session.scalars(query).all()
        more = limit is not None and len(rows) > limit
        return [_policy(r) for r in rows[:limit]], more


def get(conf, policy_id, *, project_id=None):
    """The policy with `targets_state` (every target audited so far); None if unknown."""
    with db_api.session_scope(conf) as session:
        row = session.get(_POLICY, policy_id)
        if row is None or (project_id is not None and row.project_id != project_id):
            return None
        targets = session.scalars(sa.select(_TARGET).where(_TARGET.policy_id == policy_id)
                                  .order_by(_TARGET.region)).all()
        return dict(_policy(row), targets_state=[_target(t) for t in targets])


def delete(conf, policy_id, *, project_id=None):
    with db_api.session_scope(conf) as session:
        row = session.get(_POLICY, policy_id)
        if row is None or (project_id is not None and row.project_id != project_id):
            raise PolicyNotFound(policy_id=policy_id)
        session.execute(sa.delete(_TARGET).where(_TARGET.policy_id == policy_id))
        session.delete(row)


def projects(conf):
    """Ids of the projects that have policies (the audit's keys)."""
    with db_api.session_scope(conf) as session:
        return sorted(session.scalars(sa.select(_POLICY.project_id).distinct()).all())


def of_project(conf, project_id):
    """Every policy of a project with its per-target state ({region: target})."""
    with db_api.session_scope(conf) as session:
        rows = session.scalars(sa.select(_POLICY).where(_POLICY.project_id == project_id)
                               .order_by(_POLICY.id)).all()
        ids = [r.id for r in rows]
        # plain rows: an audit pass reads every target of the project
        targets = session.execute(
            sa.select(_TARGET.policy_id, _TARGET.region, _TARGET.state, _TARGET.detail,
                      _TARGET.managed, _TARGET.audited_at, _TARGET.repaired_at)
            .where(_TARGET.policy_id.in_(ids))).all() if ids else []
        by_policy = {}
        for target in targets:
            by_policy.setdefault(target.policy_id, {})[target.region] = _target(target)
        return [dict(_policy(r), targets_state=by_policy.get(r.id, {})) for r in rows]


def set_managed(conf, *, policy_id, region, managed):
    """Record before creating that the policy owns these names in `region` (crash safety:
    an audit after a crash adopts its own half-made objects)."""
    _upsert(conf, policy_id, region, managed=json.dumps(sorted(set(managed))))


def record_pass(conf, records):
    """The outcome of one audit pass, in one transaction: every audited target gets its
    `audited_at`; state, detail and managed are written only where they changed.
    Records of policies deleted meanwhile are skipped."""
    if not records:
        return
    now = models.utcnow()
    ids = sorted({r["policy_id"] for r in records})
    columns = ("state", "detail", "managed")
    with db_api.session_scope(conf) as session:
        alive = set(session.scalars(sa.select(_POLICY.id).where(_POLICY.id.in_(ids))).all())
        # plain rows, not ORM objects: a pass of thousands of targets mostly changes nothing
        rows = {(t.policy_id, t.region): t for t in session.execute(
            sa.select(_TARGET.policy_id, _TARGET.region, *(getattr(_TARGET, c)
                                                           for c in columns))
            .where(_TARGET.policy_id.in_(alive)))} if alive else {}
        inserts, updates = [], []
        for record in records:
            if record["policy_id"] not in alive:
                continue
            values = {"state": record["state"],
                      "detail": json.dumps(record["detail"]) if record["detail"] else None}
            if record.get("managed") is not None:
                values["managed"] = json.dumps(sorted(set(record["managed"])))
            if record.get("repaired"):
                values["repaired_at"] = now
            key = {"policy_id": record["policy_id"], "region": record["region"]}
            row = rows.get((record["policy_id"], record["region"]))
            if row is None:
                inserts.append(dict(key, audited_at=now, **values))
                continue
            changed = {k: v for k, v in values.items()
                       if k not in columns or getattr(row, k) != v}
            if changed:
                updates.append(dict(key, **changed))
        for chunk in _same_keys(updates):     # ORM bulk UPDATE by primary key
            session.execute(sa.update(_TARGET), chunk)
        for chunk in _same_keys(inserts):
            session.execute(sa.insert(_TARGET), chunk)
        # one statement stamps every target audited in this pass
        session.execute(sa.update(_TARGET).where(_TARGET.policy_id.in_(alive))
                        .where(_TARGET.region.in_({r["region"] for r in records}))
                        .values(audited_at=now)
                        .execution_options(synchronize_session=False))


def _same_keys(rows):
    """Rows grouped by their set of keys (one executemany per shape)."""
    groups = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return groups.values()


def _upsert(conf, policy_id, region, **values):
    with db_api.session_scope(conf) as session:
        if session.get(_POLICY, policy_id) is None:
            return
        row = session.get(_TARGET, (policy_id, region))
        if row is None:
            row = _TARGET(policy_id=policy_id, region=region, state=values.pop(
                "state", MISSING))
            session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
