"""The central event feed: stored notifications of every region and Multisite's own actions.

Events are stored once per message id (a unique key): a redelivered or replayed
notification is skipped by the insert itself, so listeners may restart freely.
"""

import datetime
import json
import logging
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from multisite import project_ids
from multisite.db import api as db_api
from multisite.db import models

LOG = logging.getLogger(__name__)

REGION = "region"
MULTISITE = "multisite"
# Largest stored payload (JSON text); a larger one is replaced by a note of its size.
MAX_PAYLOAD = 16384
_COLUMNS = ("message_id", "origin", "region", "project_id", "user_id", "request_id",
            "event_type", "resource_id", "publisher_id", "priority", "generated_at",
            "received_at", "payload")
_LIMITS = {"message_id": 64, "region": 255, "project_id": 64, "user_id": 64,
           "request_id": 64, "event_type": 255, "resource_id": 255, "publisher_id": 255,
           "priority": 16}


def _payload_text(payload):
    text = json.dumps(payload, default=str, separators=(",", ":"))
    if len(text) > MAX_PAYLOAD:
        return json.dumps({"truncated": True, "size": len(text)})
    return text


def _row(event, now):
    row = {name: event.get(name) for name in _COLUMNS}
    for name, size in _LIMITS.items():
        if isinstance(row[name], str) and len(row[name]) > size:
            row[name] = row[name][:size]
    row["priority"] = (row["priority"] or "INFO").upper()[:16]
    row["origin"] = row["origin"] or REGION
    row["generated_at"] = row["generated_at"] or now
    row["received_at"] = now
    row["payload"] = _payload_text(event.get("payload"))
    return row


def _insert_ignoring_duplicates(connection):
    name = connection.dialect.name
    table = models.Event.__table__
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["message_id"])
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["message_id"])
    if name in ("mysql", "mariadb"):
        return mysql.insert(table).prefix_with("IGNORE")
    return sa.insert(table)


def store(conf, events):
    """Store event dicts (see _COLUMNS); returns how many were new (duplicates skipped)."""
    if not events:
        return 0
    with db_api.get_engine(conf).begin() as connection:
        return store_with(connection, events)


def store_with(connection, events):
    """store() in the caller's transaction."""
    now = models.utcnow()
    rows = list({e["message_id"]: _row(e, now) for e in events}.values())
    result = connection.execute(_insert_ignoring_duplicates(connection), rows)
    stored = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else None
    return len(rows) if stored is None else stored


def database_answers(conf):
    """Whether the database answers a trivial query now (to tell a failing database
    from one event it refuses)."""
    try:
        with db_api.get_engine(conf).connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception:
        LOG.warning("The database does not answer", exc_info=True)
        return False
    return True


def record_action(conf, ctx, event_type, *, project_id=None, region=None, resource_id=None,
                  payload=None, priority="INFO", message_id=None):
    """A Multisite action into the feed, with who did it (user, project, request id).

    `ctx`: a request context, or anything with user_id, project_id and request_id.
    `message_id`: for an action that may be recorded twice (an engine retrying, two
    engines settling the same job), a name of its own: the second one is skipped.
    Never raises: the action already happened, and the feed must not undo it.
    """
    initiator = {"user_id": getattr(ctx, "user_id", None),
                 "project_id": getattr(ctx, "project_id", None),
                 "request_id": getattr(ctx, "request_id", None)}
    event = {"message_id": message_id or str(uuid.uuid4()), "origin": MULTISITE,
             "region": region,
             "project_id": project_id, "user_id": initiator["user_id"],
             "request_id": initiator["request_id"], "event_type": event_type,
             "resource_id": resource_id, "publisher_id": "multisite", "priority": priority,
             "payload": dict(payload or {}, initiator=initiator)}
    try:
        store(conf, [event])
    except Exception:
        LOG.exception("Could not record event event_type=%s project=%s region=%s",
                      event_type, project_id, region)


def initiator_of(conf, event_type, resource_id):
    """Who did a recorded Multisite action ({"user_id", "project_id", "request_id"}), or
    None when the feed has no such action (pruned, or recording it failed)."""
    table = models.Event.__table__
    query = (sa.select(table.c.payload)
             .where(table.c.resource_id == resource_id, table.c.event_type == event_type,
                    table.c.origin == MULTISITE)
             .order_by(table.c.id).limit(1))
    try:
        with db_api.get_engine(conf).connect() as connection:
            text = connection.execute(query).scalar()
        initiator = json.loads(text).get("initiator") if text else None
    except Exception:
        LOG.exception("Could not read the initiator of %s %s", event_type, resource_id)
        return None
    return initiator if isinstance(initiator, dict) else None


def _parse_time(value):
    """oslo.messaging stamps str(datetime.utcnow()); ISO forms are accepted too."""
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


def _first(*values):
    return next((v for v in values if isinstance(v, str) and v), None)


def _subject(event_type, payload):
    """The payload's main object: Nova's versioned payload data, Neutron's {"network":
    {...}}, or the payload itself."""
    if not isinstance(payload, dict):
        return {}
    if isinstance(payload.get("nova_object.data"), dict):
        return payload["nova_object.data"]
    noun = event_type.split(".")[0] if event_type else ""
    inner = payload.get(noun)
    return inner if isinstance(inner, dict) else payload


def from_notification(region, message, *, priority="INFO"):
    """The event of one oslo.messaging notification (a batch listener's message dict:
    ctxt, publisher_id, event_type, payload, metadata), or None without a message id."""
    metadata = message.get("metadata") or {}
    message_id = metadata.get("message_id")
    if not message_id:
        return None
    ctxt = message.get("ctxt") or {}
    event_type = str(message.get("event_type") or "unknown")
    payload = message.get("payload")
    subject = _subject(event_type, payload)
    noun = event_type.split(".")[0]
    flat = payload if isinstance(payload, dict) else {}
    project = _first(ctxt.get("project_id"), ctxt.get("tenant"), ctxt.get("project"),
                     subject.get("project_id"), subject.get("tenant_id"),
                     flat.get("project_id"), flat.get("tenant_id"))
    resource = _first(subject.get("uuid"), subject.get("id") if subject is not flat else None,
                      flat.get(f"{noun}_id"), flat.get("resource_info"), flat.get("id"),
                      flat.get("instance_id"), flat.get("volume_id"), flat.get("key_name"),
                      subject.get("name") if noun == "keypair" else None)
    return {"message_id": str(message_id), "origin": REGION, "region": region,
            "project_id": project_ids.fold(project) if project else None,
            "user_id": _first(ctxt.get("user_id"), ctxt.get("user"),
                              subject.get("user_id"), flat.get("user_id")),
            "request_id": _first(ctxt.get("request_id"), ctxt.get("global_request_id")),
            "event_type": event_type, "resource_id": resource,
            "publisher_id": message.get("publisher_id"), "priority": priority,
            "generated_at": _parse_time(metadata.get("timestamp")), "payload": payload}


def _dict(row):
    return {"id": row.id, "message_id": row.message_id, "origin": row.origin,
            "region": row.region, "project_id": row.project_id, "user_id": row.user_id,
            "request_id": row.request_id, "event_type": row.event_type,
            "resource_id": row.resource_id, "publisher_id": row.publisher_id,
            "priority": row.priority, "generated_at": row.generated_at,
            "received_at": row.received_at,
            "payload": json.loads(row.payload) if row.payload else None}


def _filtered(query, *, project_id, region, event_type, resource_id, since, until):
    event = models.Event
    if project_id is not None:
        query = query.where(event.project_id == project_id)
    if region is not None:
        query = query.where(event.region == region)
    if event_type is not None:
        if event_type.endswith("*"):
            prefix = event_type[:-1].replace("\\", "\\\\").replace("%", "\\%")
            query = query.where(event.event_type.like(prefix.replace("_", "\\_") + "%",
                                                      escape="\\"))
        else:
            query = query.where(event.event_type == event_type)
    if resource_id is not None:
        query = query.where(event.resource_id == resource_id)
    if since is not None:
        query = query.where(event.generated_at >= since)
    if until is not None:
        query = query.where(event.generated_at < until)
    return query


def list_events(conf, *, project_id=None, region=None, event_type=None,
                resource_id=None, since=None, until=None, limit=100, marker=None,
                newest_first=True):
    """(events, more): events in arrival (id) order after the id `marker`."""
    event = models.Event
    # Core rows (no ORM objects): a page of 100 events is read in a fraction of the
    # time an ORM load takes (bench/events.py query).
    query = _filtered(sa.select(*event.__table__.c), project_id=project_id, region=region,
                      event_type=event_type, resource_id=resource_id, since=since,
                      until=until)
    if marker is not None:
        query = query.where(event.id < marker if newest_first else event.id > marker)
    query = query.order_by(event.id.desc() if newest_first else event.id.asc())
    with db_api.get_engine(conf).connect() as connection:
        rows = connection.execute(query.limit(limit + 1)).all()
    return [_dict(r) for r in rows[:limit]], len(rows) > limit


def get(conf, event_id, *, project_id=None):
    """One event, or None when it does not exist or belongs to another project."""
    query = sa.select(models.Event).where(models.Event.id == event_id)
    if project_id is not None:
        query = query.where(models.Event.project_id == project_id)
    with db_api.session_scope(conf) as session:
        row = session.scalars(query).first()
    return _dict(row) if row is not None else None


def prune(conf, *, max_age, max_count, batch=10000):
    """Delete events older than `max_age` seconds and beyond the newest `max_count`.

    Deletes in id batches so a large backlog never holds one long transaction.
    Returns the number deleted.
    """
    event = models.Event
    deleted = 0
    engine = db_api.get_engine(conf)
    with engine.connect() as connection:
        floor = None
        if max_count:
            floor = connection.execute(sa.select(event.id).order_by(event.id.desc())
                                       .offset(max_count).limit(1)).scalar()
        if max_age:
            cutoff = models.utcnow() - datetime.timedelta(seconds=max_age)
            aged = connection.execute(sa.select(sa.func.max(event.id))
                                      .where(event.received_at < cutoff)).scalar()
            floor = max(f for f in (floor, aged) if f is not None) if (
                floor is not None or aged is not None) else None
    if floor is None:
        return 0
    while True:
        with engine.begin() as connection:
            low = connection.execute(sa.select(sa.func.min(event.id))).scalar()
            if low is None or low > floor:
                return deleted
            upper = min(floor, low + batch - 1)
            deleted += connection.execute(
                sa.delete(event).where(event.id <= upper)).rowcount or 0
