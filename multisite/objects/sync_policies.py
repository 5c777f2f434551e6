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


_P, _T = _POLICY.__table__, _TARGET.__table__
_TARGET_COLUMNS = (_T.c.policy_id, _T.c.region, _T.c.state, _T.c.detail, _T.c.managed,
                   _T.c.audited_at, _T.c.repaired_at)
# What an audit pass reads of a project: its policies, then their targets' state (no
# timestamps: parsing them is most of the cost of reading thousands of targets).
_OF_PROJECT = sa.select(_P).where(_P.c.project_id == sa.bindparam("project_id"))
_TARGETS_OF_PROJECT = (
    sa.select(_T.c.policy_id, _T.c.region, _T.c.state, _T.c.detail, _T.c.managed)
    .where(_T.c.policy_id.in_(sa.select(_P.c.id).where(
        _P.c.project_id == sa.bindparam("project_id")).scalar_subquery())))


def of_project(conf, project_id):
    """Every policy of a project with its per-target state ({region: target}: state,
    detail, managed), as an audit pass reads them: two statements, plain rows.

    A JSON text held by several targets is decoded once: the lists are shared, read-only."""
    with db_api.get_engine(conf).connect() as connection:
        params = {"project_id": project_id}
        policies = {row.id: dict(_policy(row), targets_state={})
                    for row in connection.execute(_OF_PROJECT, params)}
        targets = connection.execute(_TARGETS_OF_PROJECT, params).all()
    decoded = {None: []}
    for policy_id, region, state, *texts in targets:
        policy = policies.get(policy_id)
        if policy is None:
            continue                      # created between the two reads
        detail, managed = (decoded[t] if t in decoded else decoded.setdefault(
            t, json.loads(t)) for t in texts)
        policy["targets_state"][region] = {"region": region, "state": state,
                                           "detail": detail, "managed": managed}
    return sorted(policies.values(), key=lambda p: p["id"])


def set_managed(conf, *, policy_id, region, managed):
    """Record before creating that the policy owns these names in `region` (crash safety:
    an audit after a crash adopts its own half-made objects)."""
    _upsert(conf, policy_id, region, managed=json.dumps(sorted(set(managed))))


_STAMP = (sa.update(_T).where(_T.c.policy_id.in_(sa.bindparam("ids", expanding=True)))
          .where(_T.c.region.in_(sa.bindparam("regions", expanding=True)))
          .values(audited_at=sa.bindparam("now")))


def record_pass(conf, records, *, previous=None):
    """The outcome of one audit pass, in one transaction: every audited target gets its
    `audited_at`; state, detail and managed are written only where they changed.
    Records of policies deleted meanwhile are skipped.

    previous: {(policy_id, region): target} as of_project() returned them at the start
    of the pass (compared with, instead of read again); None reads them here. A pass
    that changed nothing is then one UPDATE statement."""
    if not records:
        return
    now = models.utcnow()
    ids = sorted({r["policy_id"] for r in records})
    with db_api.get_engine(conf).begin() as connection:
        if previous is None:
            previous = {(t.policy_id, t.region): _target(t) for t in connection.execute(
                sa.select(*_TARGET_COLUMNS).where(_T.c.policy_id.in_(ids)))}
        inserts, updates = _changes(records, previous, now)
        if inserts or updates:
            alive = set(connection.scalars(sa.select(_P.c.id).where(_P.c.id.in_(ids))))
            inserts = [r for r in inserts if r["policy_id"] in alive]
            updates = [r for r in updates if r["b_policy_id"] in alive]
        if inserts:
            # rows made during the pass (set_managed before a repair) are updated
            made = set(connection.execute(sa.select(_T.c.policy_id, _T.c.region).where(
                _T.c.policy_id.in_({r["policy_id"] for r in inserts}))).tuples())
            late = [r for r in inserts if (r["policy_id"], r["region"]) in made]
            inserts = [r for r in inserts if (r["policy_id"], r["region"]) not in made]
            updates += [{k: v for k, v in r.items() if k not in ("policy_id", "region")}
                        | {"b_policy_id": r["policy_id"], "b_region": r["region"]}
                        for r in late]
        for chunk in _same_keys(updates):
            connection.execute(
                sa.update(_T).where(_T.c.policy_id == sa.bindparam("b_policy_id"))
                .where(_T.c.region == sa.bindparam("b_region")), chunk)
        for chunk in _same_keys(inserts):
            connection.execute(sa.insert(_T), chunk)
        # one statement stamps every target audited in this pass
        connection.execute(_STAMP, {"ids": ids, "regions": sorted({r["region"]
                                                                   for r in records}),
                                    "now": now})


def _changes(records, previous, now):
    """(rows to insert, rows to update: changed columns only) of a pass's records."""
    inserts, updates = [], []
    for record in records:
        detail = record["detail"] or []
        values = {"state": record["state"], "detail": detail}
        if record.get("managed") is not None:
            values["managed"] = sorted(set(record["managed"]))
        old = previous.get((record["policy_id"], record["region"]))
        if old is not None:
            values = {k: v for k, v in values.items() if old[k] != v}
        if record.get("repaired"):
            values["repaired_at"] = now
        if old is not None and not values:
            continue
        row = {k: _encoded(k, v) for k, v in values.items()}
        if old is None:
            inserts.append(dict(row, policy_id=record["policy_id"],
                                region=record["region"], audited_at=now))
        else:
            updates.append(dict(row, b_policy_id=record["policy_id"],
                                b_region=record["region"]))
    return inserts, updates


def _encoded(column, value):
    if column in ("detail", "managed"):
        return json.dumps(value) if value else None
    return value


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
