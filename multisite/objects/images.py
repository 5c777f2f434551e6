"""Image distribution: modes (project default, per-image overrides), copies and rollouts.

A copy is one image in one target region, unique per (image, region): however many
callers ask for it (an auto audit, 20 concurrent ensures, a rollout), the first insert
wins and only its caller adds the durable work item that makes the copy, in the same
transaction. A rollout is one row plus one work item (docs/images.md).
"""

import json
import uuid

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from multisite.db import api as db_api
from multisite.db import models

MODES = ("none", "auto", "lazy", "controlled")
DEFAULT = "default"
COPY_KIND = "image_copy"
ROLLOUT_KIND = "image_rollout"
PENDING, COPYING, ACTIVE, FAILED = "pending", "copying", "active", "failed"
# rollout states
RUNNING, WAITING, ROLLING_BACK = "running", "waiting", "rolling_back"
SUCCEEDED, ROLLED_BACK = "succeeded", "rolled_back"
ROLLOUT_FINAL = (SUCCEEDED, ROLLED_BACK)

_DIST = models.ImageDistribution
_COPY = models.ImageCopy
_ROLL = models.ImageRollout
_ITEM = models.WorkItem


def _loads(text):
    return None if text is None else json.loads(text)


def _work_item(session, kind, key_id, region=None):
    """A durable work item in the caller's transaction (unless one is still waiting)."""
    found = session.scalar(sa.select(_ITEM.id).where(
        _ITEM.kind == kind, _ITEM.key_id == key_id, _ITEM.status == "WAITING"))
    if found is None:
        session.add(_ITEM(id=str(uuid.uuid4()), kind=kind, key_id=key_id, region=region,
                          status="WAITING", attempts=0, created_at=models.utcnow()))


# -- distribution modes ----------------------------------------------------------------------
def _dist(row):
    return {"project_id": row.project_id,
            "image_id": None if row.image_id == DEFAULT else row.image_id,
            "mode": row.mode, "source": row.source_region, "targets": _loads(row.targets),
            "propagate_deletes": row.propagate_deletes, "created_at": row.created_at,
            "updated_at": row.updated_at}


@db_api.retry_on_conflict(integrity=True)
def set_distribution(conf, *, project_id, image_id, mode, source, targets,
                     propagate_deletes=False):
    """Create or replace the mode of a project (image_id None) or of one image."""
    key = image_id or DEFAULT
    now = models.utcnow()
    with db_api.session_scope(conf) as session:
        row = session.get(_DIST, (project_id, key))
        if row is None:
            row = _DIST(project_id=project_id, image_id=key, created_at=now)
            session.add(row)
        else:
            row.updated_at = now
        row.mode, row.source_region = mode, source
        row.targets = None if targets is None else json.dumps(targets)
        row.propagate_deletes = bool(propagate_deletes)
        session.flush()
        return _dist(row)


def get_distribution(conf, project_id, image_id):
    with db_api.session_scope(conf) as session:
        row = session.get(_DIST, (project_id, image_id or DEFAULT))
        return None if row is None else _dist(row)


def delete_distribution(conf, project_id, image_id):
    with db_api.session_scope(conf) as session:
        done = session.execute(sa.delete(_DIST).where(
            _DIST.project_id == project_id, _DIST.image_id == (image_id or DEFAULT)))
        return bool(done.rowcount)


def marker_of(dist):
    return f"{dist['project_id']}:{dist['image_id'] or DEFAULT}"


def list_distributions(conf, *, project_id=None, limit=None, marker=None):
    """(distributions, more) ordered by project then image ("default" sorts first)."""
    with db_api.session_scope(conf) as session:
        query = sa.select(_DIST).order_by(_DIST.project_id, _DIST.image_id)
        if project_id is not None:
            query = query.where(_DIST.project_id == project_id)
        if marker is not None:
            mp, _, mi = marker.partition(":")
            query = query.where(sa.or_(_DIST.project_id > mp,
                                       sa.and_(_DIST.project_id == mp, _DIST.image_id > mi)))
        if limit is not None:
            query = query.limit(limit + 1)
        rows = session.scalars(query).all()
        more = limit is not None and len(rows) > limit
        return [_dist(r) for r in rows[:limit]], more


def distributions_of(conf, project_id):
    """{image id or None (the default): distribution} of one project."""
    found, _ = list_distributions(conf, project_id=project_id)
    return {d["image_id"]: d for d in found}


def projects(conf):
    """The projects the audit looks at: with a distribution mode (default or per image), or
    with copies (a lazy ensure or a rollout needs no mode; their members are followed)."""
    with db_api.session_scope(conf) as session:
        return list(session.scalars(sa.union(sa.select(_DIST.project_id),
                                             sa.select(_COPY.project_id))
                                    .order_by("project_id")))


# -- copies ----------------------------------------------------------------------------------
def _copy(row):
    return {"id": row.id, "project_id": row.project_id, "image_id": row.image_id,
            "source": row.source_region, "region": row.region, "origin": row.origin,
            "hidden": row.hidden, "state": row.state, "target_id": row.target_id,
            "checksum": row.checksum, "reason": row.reason, "created_at": row.created_at,
            "updated_at": row.updated_at}


def ensure_copy(conf, *, project_id, image_id, source, region, origin, hidden=False,
                retry_failed=True):
    """(copy, started): the copy of `image_id` in `region`, recorded once.

    The first caller inserts the row and its work item in one transaction (started=True);
    a concurrent or later caller gets that row (started=False). A failed copy is started
    again (retry_failed) by one caller only: the reset is conditional on the failed state.
    """
    now = models.utcnow()
    copy_id = str(uuid.uuid4())
    try:
        with db_api.session_scope(conf) as session:
            session.add(_COPY(id=copy_id, project_id=project_id, image_id=image_id,
                              source_region=source, region=region, origin=origin,
                              hidden=hidden, state=PENDING, created_at=now))
            session.flush()
            _work_item(session, COPY_KIND, copy_id, region)
        return get_copy(conf, copy_id), True
    except sa_exc.IntegrityError:
        pass
    found = find_copy(conf, image_id, region)
    if found is None:                       # deleted meanwhile: try once more
        return ensure_copy(conf, project_id=project_id, image_id=image_id, source=source,
                           region=region, origin=origin, hidden=hidden,
                           retry_failed=retry_failed)
    if found["state"] == FAILED and retry_failed:
        return restart_copy(conf, found["id"], hidden=hidden)
    return found, False


def restart_copy(conf, copy_id, *, hidden=None, from_states=(FAILED,)):
    """Start a finished copy again (one caller wins the conditional reset)."""
    values = {"state": PENDING, "reason": None, "updated_at": models.utcnow()}
    if hidden is not None:
        values["hidden"] = hidden
    with db_api.session_scope(conf) as session:
        done = session.execute(sa.update(_COPY).where(
            _COPY.id == copy_id, _COPY.state.in_(from_states)).values(**values))
        if done.rowcount:
            row = session.get(_COPY, copy_id)
            _work_item(session, COPY_KIND, copy_id, row.region)
    return get_copy(conf, copy_id), bool(done.rowcount)


def get_copy(conf, copy_id):
    with db_api.session_scope(conf) as session:
        row = session.get(_COPY, copy_id)
        return None if row is None else _copy(row)


def find_copy(conf, image_id, region):
    with db_api.session_scope(conf) as session:
        row = session.scalar(sa.select(_COPY).where(_COPY.image_id == image_id,
                                                    _COPY.region == region))
        return None if row is None else _copy(row)


def copies_of(conf, *, project_id=None, image_id=None):
    with db_api.session_scope(conf) as session:
        query = sa.select(_COPY).order_by(_COPY.image_id, _COPY.region)
        if project_id is not None:
            query = query.where(_COPY.project_id == project_id)
        if image_id is not None:
            query = query.where(_COPY.image_id == image_id)
        return [_copy(r) for r in session.scalars(query)]


def update_copy(conf, copy_id, **values):
    values["updated_at"] = models.utcnow()
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(_COPY).where(_COPY.id == copy_id).values(**values))


def delete_copy(conf, copy_id):
    with db_api.session_scope(conf) as session:
        session.execute(sa.delete(_COPY).where(_COPY.id == copy_id))


# -- rollouts --------------------------------------------------------------------------------
def _rollout(row):
    return {"id": row.id, "project_id": row.project_id, "image_id": row.image_id,
            "source": row.source_region, "waves": json.loads(row.waves), "pause": row.pause,
            "manual_promote": row.manual_promote, "state": row.state, "wave": row.wave,
            "regions": json.loads(row.regions), "reason": row.reason,
            "paused_reason": row.paused_reason, "next_wave_at": row.next_wave_at,
            "created_at": row.created_at, "updated_at": row.updated_at}


BOOT_TIMEOUT = 300.0


def create_rollout(conf, *, project_id, image_id, source, waves, pause=None,
                   manual_promote=False, boot_check=None):
    """`boot_check`: {region: {"flavor", "network"?, "timeout"?}}, kept in that region's
    state as "boot" (with its own "state": pending, booting, passed, failed)."""
    rollout_id = str(uuid.uuid4())
    regions = {r: {"state": PENDING, "wave": i, "previous": [], "reason": None}
               for i, wave in enumerate(waves) for r in wave}
    for region, check in (boot_check or {}).items():
        regions[region]["boot"] = {"flavor": check["flavor"], "network": check.get("network"),
                                   "timeout": check.get("timeout", BOOT_TIMEOUT),
                                   "state": PENDING}
    with db_api.session_scope(conf) as session:
        session.add(_ROLL(id=rollout_id, project_id=project_id, image_id=image_id,
                          source_region=source, waves=json.dumps(waves), pause=pause,
                          manual_promote=manual_promote, state=RUNNING, wave=0,
                          regions=json.dumps(regions), created_at=models.utcnow()))
        session.flush()
        _work_item(session, ROLLOUT_KIND, rollout_id)
    return get_rollout(conf, rollout_id)


def get_rollout(conf, rollout_id, *, project_id=None):
    with db_api.session_scope(conf) as session:
        row = session.get(_ROLL, rollout_id)
        if row is None or (project_id is not None and row.project_id != project_id):
            return None
        return _rollout(row)


def list_rollouts(conf, *, project_id=None, limit=None, marker=None):
    with db_api.session_scope(conf) as session:
        query = sa.select(_ROLL).order_by(_ROLL.id)
        if project_id is not None:
            query = query.where(_ROLL.project_id == project_id)
        if marker is not None:
            query = query.where(_ROLL.id > marker)
        if limit is not None:
            query = query.limit(limit + 1)
        rows = session.scalars(query).all()
        more = limit is not None and len(rows) > limit
        return [_rollout(r) for r in rows[:limit]], more


def update_rollout(conf, rollout_id, *, from_states=None, wake=False, **values):
    """Write a rollout's fields (only from `from_states`, if given); True if written.

    `wake`: also add its work item (a promote, abort or rollback the engine must act on).
    """
    if "regions" in values:
        values["regions"] = json.dumps(values["regions"])
    values["updated_at"] = models.utcnow()
    with db_api.session_scope(conf) as session:
        query = sa.update(_ROLL).where(_ROLL.id == rollout_id)
        if from_states is not None:
            query = query.where(_ROLL.state.in_(from_states))
        done = session.execute(query.values(**values))
        if done.rowcount and wake:
            _work_item(session, ROLLOUT_KIND, rollout_id)
        return bool(done.rowcount)
