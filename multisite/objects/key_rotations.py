"""Fernet key rotations: one row per rotation (phase, targets, per-node progress), one at a time.

The target repositories (key material) are stored only while the rotation runs, so that a
rotation resumes with the same keys after an engine's death; they are cleared when it ends.
"""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import work_items

KIND = "key_rotation"
RUNNING = "running"
WAITING = "waiting"
DONE = "done"
FAILED = "failed"

FERNET = "fernet"
CREDENTIAL = "credential"
REPOSITORIES = (FERNET, CREDENTIAL)

_ROT = models.KeyRotation


class RotationNotFound(exception.NotFound):
    code = "key_rotation.not_found"
    message = "Key rotation not found: %(rotation_id)s"


class RotationInProgress(exception.Conflict):
    code = "key_rotation.in_progress"
    message = "Key rotation %(rotation_id)s is still in progress"


def _fmt(value):
    return value.isoformat() if value is not None else None


def _load(text):
    return json.loads(text) if text else None


def _dict(row, *, with_keys=False) -> dict:
    out = {"id": row.id, "repository": row.repository or FERNET, "phase": row.phase,
           "status": row.status, "reason": row.reason,
           "base_node": row.base_node, "staged_hash": row.staged_hash,
           "final_hash": row.final_hash, "nodes": _load(row.nodes) or {},
           "verification": _load(row.verification), "error": row.error,
           "created_at": _fmt(row.created_at), "updated_at": _fmt(row.updated_at),
           "finished_at": _fmt(row.finished_at)}
    if with_keys:
        out["staged_keys"] = {int(i): k for i, k in (_load(row.staged_keys) or {}).items()}
        out["final_keys"] = {int(i): k for i, k in (_load(row.final_keys) or {}).items()}
    return out


def active(conf) -> dict | None:
    with db_api.session_scope(conf) as session:
        row = session.scalar(sa.select(_ROT).where(_ROT.active == 1))
        return None if row is None else _dict(row)


def create(conf, *, reason="request", repository=FERNET) -> dict:
    """Start a rotation of the nodes' ``repository`` (fernet or credential keys) and its
    durable work item; RotationInProgress if one runs (of either repository)."""
    rotation_id = str(uuid.uuid4())
    try:
        with db_api.session_scope(conf) as session:
            session.add(_ROT(id=rotation_id, phase="prepare", status=RUNNING, active=1,
                             reason=reason, repository=repository, nodes=json.dumps({}),
                             created_at=models.utcnow()))
    except sa_exc.IntegrityError:
        running = active(conf)
        raise RotationInProgress(rotation_id=running["id"] if running else "?") from None
    work_items.add(conf, kind=KIND, key_id=rotation_id)
    return get(conf, rotation_id)


def ensure_item(conf, rotation_id) -> None:
    """The running rotation has a waiting work item (re-added if a crash lost it)."""
    work_items.add(conf, kind=KIND, key_id=rotation_id)


def get(conf, rotation_id, *, with_keys=False) -> dict:
    with db_api.session_scope(conf) as session:
        row = session.get(_ROT, rotation_id)
        if row is None:
            raise RotationNotFound(rotation_id=rotation_id)
        return _dict(row, with_keys=with_keys)


def list_rotations(conf, *, limit=50) -> list[dict]:
    with db_api.session_scope(conf) as session:
        rows = session.scalars(sa.select(_ROT).order_by(_ROT.created_at.desc()).limit(limit))
        return [_dict(r) for r in rows]


def last_final_hash(conf, repository=FERNET) -> str | None:
    """The repository hash every node should hold: the last completed rotation's."""
    with db_api.session_scope(conf) as session:
        return session.scalar(sa.select(_ROT.final_hash).where(
            _ROT.status == DONE, _ROT.repository == repository)
            .order_by(_ROT.finished_at.desc()).limit(1))


def last_started_at(conf, repository=FERNET):
    with db_api.session_scope(conf) as session:
        return session.scalar(sa.select(sa.func.max(_ROT.created_at)).where(
            _ROT.repository == repository))


def save_target(conf, rotation_id, *, base_node, staged, final, staged_hash, final_hash):
    """Record the prepared repositories (once: a second prepare keeps the first)."""
    with db_api.session_scope(conf) as session:
        done = session.execute(sa.update(_ROT).where(
            _ROT.id == rotation_id, _ROT.phase == "prepare").values(
            phase="distribute", base_node=base_node, staged_hash=staged_hash,
            final_hash=final_hash, updated_at=models.utcnow(),
            staged_keys=json.dumps({str(i): k for i, k in staged.items()}),
            final_keys=json.dumps({str(i): k for i, k in final.items()})))
        return bool(done.rowcount)


def update(conf, rotation_id, *, phase, status, nodes, error=None):
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(_ROT).where(_ROT.id == rotation_id, _ROT.active == 1).values(
            phase=phase, status=status, nodes=json.dumps(nodes, sort_keys=True),
            error=error and error[:4000], updated_at=models.utcnow()))


def finish(conf, rotation_id, *, ok, verification=None, error=None, nodes=None):
    """End a rotation: done or failed, key material cleared, the next one allowed."""
    values = {"status": DONE if ok else FAILED, "phase": "done" if ok else "failed",
              "active": None, "staged_keys": None, "final_keys": None,
              "verification": json.dumps(verification, sort_keys=True)
              if verification is not None else None,
              "error": error and error[:4000], "finished_at": models.utcnow(),
              "updated_at": models.utcnow()}
    if nodes is not None:
        values["nodes"] = json.dumps(nodes, sort_keys=True)
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(_ROT).where(_ROT.id == rotation_id).values(**values))
