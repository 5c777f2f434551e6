"""Address conflicts: first seen, kept while they last, cleared when they disappear."""

import json
import uuid

import sqlalchemy as sa

from multisite.db import api as db_api
from multisite.db import models

_M = models.AddressConflict


def _as_dict(row):
    return {"id": row.id, "kind": row.kind, "domain": row.domain, "address": row.address,
            "regions": [r for r in row.regions.split(",") if r],
            "project_ids": [p for p in row.projects.split(",") if p],
            "sides": json.loads(row.sides), "first_seen": row.first_seen,
            "last_seen": row.last_seen, "cleared_at": row.cleared_at}


def _joined(values):
    return "," + ",".join(sorted(set(values))) + ","


def reconcile(conf, found, *, now):
    """Store the conflicts that exist now; returns (raised, cleared) as dicts.

    found: {key: {"kind", "domain", "address", "sides": [side dicts with region and
    project_id]}}. An open conflict whose key is not found any more is cleared; one that
    is found again keeps its id and first-seen time (its sides are refreshed).
    """
    raised, cleared = [], []
    with db_api.session_scope(conf) as session:
        open_rows = {row.conflict_key: row for row in session.scalars(
            sa.select(_M).where(_M.cleared_at.is_(None)))}
        for key, conflict in found.items():
            sides = conflict["sides"]
            values = {"regions": _joined(s["region"] for s in sides),
                      "projects": _joined(s["project_id"] for s in sides),
                      "sides": json.dumps(sides, sort_keys=True)}
            row = open_rows.pop(key, None)
            if row is None:
                row = _M(id=str(uuid.uuid4()), conflict_key=key, kind=conflict["kind"],
                         domain=conflict["domain"], address=conflict["address"],
                         first_seen=now, last_seen=now, **values)
                session.add(row)
                raised.append(row)
                continue
            row.last_seen = now
            for name, value in values.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
        for row in open_rows.values():
            row.cleared_at = now
            cleared.append(row)
        session.flush()
        return [_as_dict(r) for r in raised], [_as_dict(r) for r in cleared]


def search(conf, *, project_id=None, region=None, kind=None, address=None,
           include_cleared=False, limit=100, marker=None):
    """Conflicts by first-seen time then id; `marker`: the id of the last one seen."""
    query = sa.select(_M)
    if not include_cleared:
        query = query.where(_M.cleared_at.is_(None))
    if project_id is not None:
        query = query.where(_M.projects.contains(f",{project_id},"))
    if region is not None:
        query = query.where(_M.regions.contains(f",{region},"))
    if kind is not None:
        query = query.where(_M.kind == kind)
    if address is not None:
        query = query.where(_M.address == address)
    with db_api.session_scope(conf) as session:
        if marker is not None:
            last = session.get(_M, marker)
            if last is not None:
                query = query.where(sa.or_(
                    _M.first_seen > last.first_seen,
                    sa.and_(_M.first_seen == last.first_seen, _M.id > last.id)))
        query = query.order_by(_M.first_seen, _M.id).limit(limit)
        return [_as_dict(row) for row in session.scalars(query)]


def get(conf, conflict_id):
    with db_api.session_scope(conf) as session:
        row = session.get(_M, conflict_id)
        return _as_dict(row) if row is not None else None
