"""Keystone nodes whose keys Multisite manages: the configured list, and what was last seen."""

from __future__ import annotations

import json

import sqlalchemy as sa

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models

_NODE = models.IdentityNode


class NodeNotFound(exception.NotFound):
    code = "identity_node.not_found"
    message = "Identity node not found: %(name)s"


class InvalidNodeConfig(exception.Invalid):
    code = "identity_node.invalid_config"
    message = "[identity] node %(value)r: %(reason)s"


def parse_config(values) -> list[dict]:
    """[identity] node values (NAME|REGION|KEYSTONE_URL|AGENT_URL) as dicts, in order."""
    nodes, seen = [], set()
    for position, value in enumerate(values):
        parts = [p.strip() for p in value.split("|")]
        if len(parts) != 4 or not all(parts):
            raise InvalidNodeConfig(value=value, reason="expected NAME|REGION|KEYSTONE|AGENT")
        name, region, keystone_url, agent_url = parts
        if name in seen:
            raise InvalidNodeConfig(value=value, reason="duplicate name")
        if not agent_url.startswith("https://"):
            raise InvalidNodeConfig(value=value, reason="the agent URL must be https://")
        seen.add(name)
        nodes.append({"name": name, "region": region, "keystone_url": keystone_url.rstrip("/"),
                      "agent_url": agent_url.rstrip("/"), "position": position})
    return nodes


def _fmt(value):
    return value.isoformat() if value is not None else None


def _dict(row) -> dict:
    return {"name": row.name, "region": row.region, "keystone_url": row.keystone_url,
            "agent_url": row.agent_url, "fernet_hash": row.fernet_hash,
            "credential_hash": row.credential_hash, "checked_at": _fmt(row.checked_at),
            "error": row.error, "last_rotation_id": row.last_rotation_id,
            "last_rotation_at": _fmt(row.last_rotation_at),
            "last_verification": json.loads(row.last_verification)
            if row.last_verification else None,
            "last_verified_at": _fmt(row.last_verified_at),
            "drift_at": _fmt(row.drift_at), "drift_hash": row.drift_hash,
            "drift_repaired": row.drift_repaired}


def sync(conf, nodes: list[dict]) -> None:
    """Make the table list exactly ``nodes`` (keeping what was seen of those that stay)."""
    wanted = {n["name"]: n for n in nodes}
    with db_api.session_scope(conf) as session:
        rows = {r.name: r for r in session.scalars(sa.select(_NODE))}
        for name, row in rows.items():
            if name not in wanted:
                session.delete(row)
        for name, node in wanted.items():
            row = rows.get(name)
            if row is None:
                session.add(_NODE(**node))
                continue
            for field in ("region", "keystone_url", "agent_url", "position"):
                if getattr(row, field) != node[field]:
                    setattr(row, field, node[field])


def _blank(node) -> dict:
    return {**{k: None for k in ("fernet_hash", "credential_hash", "checked_at", "error",
                                 "last_rotation_id", "last_rotation_at", "last_verification",
                                 "last_verified_at", "drift_at", "drift_hash",
                                 "drift_repaired")}, **node}


def list_nodes(conf, configured=None) -> list[dict]:
    """The nodes with what was last seen of them. ``configured`` (parse_config's list) is
    the truth for which nodes exist and where; the table adds what the engine observed."""
    with db_api.session_scope(conf) as session:
        rows = {r.name: _dict(r) for r in session.scalars(sa.select(_NODE)
                                                          .order_by(_NODE.position))}
    if configured is None:
        return list(rows.values())
    out = []
    for node in configured:
        seen = rows.get(node["name"]) or _blank({})
        out.append({**seen, **{k: node[k] for k in ("name", "region", "keystone_url",
                                                    "agent_url")}})
    return out


def get(conf, name, configured=None) -> dict:
    for node in list_nodes(conf, configured):
        if node["name"] == name:
            return node
    raise NodeNotFound(name=name)


def record_check(conf, name, *, fernet_hash=None, credential_hash=None, error=None):
    """What the node's agent answered now (hashes), or why it did not (error)."""
    values = {"checked_at": models.utcnow(), "error": error and error[:4000]}
    if error is None:
        values.update(fernet_hash=fernet_hash, credential_hash=credential_hash)
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(_NODE).where(_NODE.name == name).values(**values))


def record_rotation(conf, names, *, rotation_id, matrix, fernet_hash=None,
                    credential_hash=None):
    """A rotation completed on ``names`` (whose agents answered ``fernet_hash`` or
    ``credential_hash``); ``matrix`` maps "issuer->validator" (Fernet: a token issued at one
    Keystone, validated at the other) or "credentials@node" (the node read every credential)
    to a status."""
    now = models.utcnow()
    with db_api.session_scope(conf) as session:
        for name in names:
            mine = {pair: status for pair, status in matrix.items()
                    if name in pair.replace("@", "->").split("->")[-2:]}
            values = {"last_rotation_id": rotation_id, "last_rotation_at": now,
                      "last_verification": json.dumps(mine, sort_keys=True),
                      "last_verified_at": now}
            if fernet_hash:
                values.update(fernet_hash=fernet_hash, checked_at=now, error=None)
            if credential_hash:
                values.update(credential_hash=credential_hash, checked_at=now, error=None)
            session.execute(sa.update(_NODE).where(_NODE.name == name).values(**values))


def record_drift(conf, name, *, fernet_hash, repaired):
    """The node answered ``fernet_hash`` instead of the last rotation's; ``repaired``: the
    audit rewrote its repository."""
    with db_api.session_scope(conf) as session:
        session.execute(sa.update(_NODE).where(_NODE.name == name).values(
            drift_at=models.utcnow(), drift_hash=fernet_hash, drift_repaired=repaired))
