"""Durable engine work items: add, claim with a lease, renew, requeue (not-before), finish.

One table for every kind whose work must survive an engine's death (jobs, rollouts): an
item is WAITING until an outcome is terminal (DONE / FAILED). Engines claim WAITING items
whose lease lapsed and whose not-before time passed, so a lost wake-up or a dead engine
never strands one; an item tried `max_attempts` times is failed instead of claimed again.

Items of a job (parent_id) whose own record must follow them, like an os-sync job's status
(objects/sync_jobs.py), pass `parents`: an object with `lock(session, parent_id)`, called
before an item's terminal write, and `settle(session, parent_id)`, called after it in the
same transaction, which returns None or a function to call once that transaction committed.
"""

import datetime
import json
import uuid

import sqlalchemy as sa

from multisite.db import api as db_api
from multisite.db import models

WAITING = "WAITING"
DONE = "DONE"
FAILED = "FAILED"
MAX_ERROR = 4000

_ITEM = models.WorkItem


def _dict(row):
    return {"id": row.id, "kind": row.kind, "key_id": row.key_id, "region": row.region,
            "parent_id": row.parent_id, "status": row.status, "attempts": row.attempts,
            "payload": json.loads(row.payload) if row.payload else None,
            "claimed_by": row.claimed_by, "last_error": row.last_error}


def add(conf, *, kind, key_id, region=None, parent_id=None, payload=None):
    """Record an item to do; if the same (kind, key, region) is still waiting, that one.

    Returns the item's id.
    """
    with db_api.session_scope(conf) as session:
        found = session.scalar(sa.select(_ITEM.id).where(
            _ITEM.kind == kind, _ITEM.key_id == key_id, _ITEM.status == WAITING,
            _ITEM.region.is_(None) if region is None else _ITEM.region == region))
        if found is not None:
            return found
        item_id = str(uuid.uuid4())
        session.add(_ITEM(id=item_id, kind=kind, key_id=key_id, region=region,
                          parent_id=parent_id, status=WAITING, attempts=0,
                          payload=None if payload is None else json.dumps(payload),
                          created_at=models.utcnow()))
        return item_id


def wake(conf, *, kind, key_id):
    """Make the waiting item of (kind, key) claimable now (its retry delay dropped)."""
    with db_api.session_scope(conf) as session:
        done = session.execute(sa.update(_ITEM).where(
            _ITEM.kind == kind, _ITEM.key_id == key_id, _ITEM.status == WAITING).values(
                not_before=None))
        return bool(done.rowcount)


def get(conf, item_id):
    with db_api.session_scope(conf) as session:
        row = session.get(_ITEM, item_id)
        return None if row is None else _dict(row)


def list_items(conf, *, kind, parent_id=None):
    with db_api.session_scope(conf) as session:
        query = sa.select(_ITEM).where(_ITEM.kind == kind)
        if parent_id is not None:
            query = query.where(_ITEM.parent_id == parent_id)
        return [_dict(r) for r in session.scalars(query.order_by(_ITEM.created_at, _ITEM.id))]


def _claimable(now):
    return sa.and_(_ITEM.status == WAITING,
                   sa.or_(_ITEM.claimed_until.is_(None), _ITEM.claimed_until < now),
                   sa.or_(_ITEM.not_before.is_(None), _ITEM.not_before <= now))


def _after(settled):
    if settled is not None:
        settled()


def claim(conf, *, kind, engine_id, lease, limit, max_attempts=None, parent_id=None,
          now=None, parents=None):
    """Claim up to `limit` claimable items of `kind` (of one parent); returns them.

    One read picks the candidates, one UPDATE claims them (an item another engine took
    meanwhile no longer matches it). attempts counts the claims, the crashed ones too.
    `now` (every function here): the time to use, for tests in virtual time. `parents`:
    see the module's docstring (an item given up on here is terminal).
    """
    now = now or models.utcnow()
    eligible = sa.and_(_ITEM.kind == kind, _claimable(now))
    with db_api.session_scope(conf) as session:
        query = sa.select(_ITEM.id, _ITEM.attempts, _ITEM.last_error,
                          _ITEM.parent_id).where(eligible)
        if parent_id is not None:
            query = query.where(_ITEM.parent_id == parent_id)
        candidates = session.execute(query.order_by(_ITEM.created_at).limit(limit)).all()
    spent = [c for c in candidates if max_attempts is not None and c.attempts >= max_attempts]
    for item_id, attempts, last_error, parent in spent:
        reason = f"gave up after {attempts} attempts" + (f": {last_error}" if last_error else "")
        settled = None
        with db_api.session_scope(conf) as session:
            if parents is not None:
                parents.lock(session, parent)
            done = session.execute(sa.update(_ITEM).where(_ITEM.id == item_id, eligible).values(
                status=FAILED, last_error=reason[:MAX_ERROR], claimed_by=None,
                claimed_until=None, updated_at=now))
            if done.rowcount and parents is not None:
                settled = parents.settle(session, parent)
        _after(settled)
    fresh = [c.id for c in candidates if c not in spent]
    if not fresh:
        return []
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(_ITEM).where(_ITEM.id.in_(fresh), eligible).values(
            claimed_by=engine_id, claimed_until=now + datetime.timedelta(seconds=lease),
            attempts=_ITEM.attempts + 1))
        taken = session.scalars(sa.select(_ITEM).where(
            _ITEM.id.in_(fresh), _ITEM.claimed_by == engine_id, _ITEM.status == WAITING)
            .order_by(_ITEM.created_at))
        return [_dict(r) for r in taken]


def _held(item_ids, engine_id):
    return sa.and_(_ITEM.id.in_(list(item_ids)), _ITEM.claimed_by == engine_id,
                   _ITEM.status == WAITING)


def renew(conf, *, engine_id, item_ids, lease, now=None):
    """Extend the leases this engine holds."""
    if not item_ids:
        return
    until = (now or models.utcnow()) + datetime.timedelta(seconds=lease)
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(_ITEM).where(_held(item_ids, engine_id))
                        .values(claimed_until=until))


def requeue(conf, *, item_id, engine_id, delay, error=None, attempt=True, now=None):
    """Give an item back, claimable again after `delay` s; False if the lease was lost.

    attempt=False (a requeue-after that is no failure) does not count the claim.
    """
    now = now or models.utcnow()
    values = {"claimed_by": None, "claimed_until": None, "last_error": error and error[:MAX_ERROR],
              "not_before": now + datetime.timedelta(seconds=delay or 0), "updated_at": now}
    if not attempt:
        values["attempts"] = _ITEM.attempts - 1
    with db_api.session_scope(conf) as session:
        done = session.execute(sa.update(_ITEM).where(_held([item_id], engine_id))
                               .values(**values))
        return bool(done.rowcount)


def finish(conf, *, item_id, engine_id, ok, error=None, parent_id=None, parents=None):
    """Record a terminal outcome; False if the lease was lost (its new holder decides).

    With `parents` (see the module's docstring), the parent `parent_id` is locked first,
    so that concurrent finishers of one job's items see each other, and settled after.
    """
    settled = None
    with db_api.session_scope(conf) as session:
        if parents is not None:
            parents.lock(session, parent_id)
        done = session.execute(sa.update(_ITEM).where(_held([item_id], engine_id)).values(
            status=DONE if ok else FAILED, last_error=(error or None) and error[:MAX_ERROR],
            claimed_by=None, claimed_until=None, updated_at=models.utcnow()))
        if not done.rowcount:
            return False
        if parents is not None:
            settled = parents.settle(session, parent_id)
    _after(settled)
    return True


def set_payload(conf, *, item_id, engine_id, payload):
    """Replace the payload of an item this engine holds (e.g. what it is about to create)."""
    with db_api.session_scope(conf) as session:
        done = session.execute(sa.update(_ITEM).where(
            _ITEM.id == item_id, _ITEM.claimed_by == engine_id).values(
                payload=json.dumps(payload, sort_keys=True)))
        return bool(done.rowcount)
