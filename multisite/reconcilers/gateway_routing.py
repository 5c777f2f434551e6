"""Interrupted gateway creates: adopt the pod's server (volume, snapshot), or forget the
routing.

A gateway create writes its routing (`pending-...`, no bottom id) before asking the pod,
and tags the server (volume, snapshot) with the routing id in its metadata. Keys are pods
holding such routings; each pass reads the pod's tagged items of each type and `plan()`
decides, purely: a routing older than the grace with a tagged item is completed with it
(the oldest, the others deleted: a retried create must not leave two), one with none is
forgotten (the pod never created it). A routing younger than the grace is a create in
flight and is left alone.

With `[gateway] forget_deleted`, keys are also the pods holding complete routings, and a
pass forgets the routings whose item the pod no longer lists and answers 404 for (deleted
through the gateway or in the pod; otherwise only a later GET through the gateway would
forget them, and `DELETE /v1.0/pods` would refuse the pod for items long gone).
"""

import dataclasses
import datetime
import logging

from multisite import reconcilers
from multisite.objects import pods, routings

LOG = logging.getLogger(__name__)

KIND = "gateway_routing"
SERVER = "server"
# what the gateway creates, routed and tagged (a transfer has no metadata: its pending
# routing is forgotten after the grace; a transfer the pod made then stays unknown)
TYPES = (SERVER, "volume", "snapshot", "backup", "transfer")
# the types whose deleted items' routings a pass forgets (a transfer's routing goes at its
# delete or accept through the gateway)
LISTED = (SERVER, "volume", "snapshot", "backup")


@dataclasses.dataclass
class Plan:
    adopt: list        # (routing id, server id)
    delete: list       # server ids (duplicates of an adopted create)
    forget: list       # routing ids whose pod holds no server


def plan(pending, servers, *, now, grace):
    """pending: incomplete routings of one pod ({"id", "created_at"}); servers: the pod's
    tagged servers ({"id", "created", "tag"}, tag = a routing id as text)."""
    decided = Plan([], [], [])
    by_tag = {}
    for server in sorted(servers, key=lambda s: (s["created"], s["id"])):
        by_tag.setdefault(server["tag"], []).append(server["id"])
    for routing in sorted(pending, key=lambda r: r["id"]):
        if now - routing["created_at"] < datetime.timedelta(seconds=grace):
            continue
        tagged = by_tag.get(str(routing["id"]), [])
        if tagged:
            decided.adopt.append((routing["id"], tagged[0]))
            decided.delete += tagged[1:]
        else:
            decided.forget.append(routing["id"])
    return decided


def stale(done, present, *, now, grace):
    """done: complete routings of one pod ({"id", "bottom_id", "created_at"}); present: the
    ids the pod lists. The (routing id, bottom id) whose item is not listed, older than the
    grace (a create just completed may not be listed yet): to confirm one by one."""
    return [(r["id"], r["bottom_id"]) for r in sorted(done, key=lambda r: r["id"])
            if r["bottom_id"] not in present
            and now - r["created_at"] >= datetime.timedelta(seconds=grace)]


def keys(janitor):
    conf, found = janitor.conf, set()
    for resource_type in TYPES:
        found.update(routings.pods_with_incomplete(conf, resource_type))
        if conf.gateway.forget_deleted and resource_type in LISTED:
            found.update(routings.pods_with_routings(conf, resource_type))
    return [reconcilers.Key(KIND, pod, pod) for pod in sorted(found)]


def reconcile(key, env):
    conf, janitor = env.conf, env.shared
    pod = key.id
    ids = [p["pod_id"] for p in pods.list_pods(conf) if p["pod_name"] == pod]
    results = {}
    for resource_type in TYPES:
        pending = routings.incomplete(conf, pod_id=ids[0],
                                      resource_type=resource_type) if ids else []
        if pending:
            results[resource_type] = dataclasses.asdict(
                _converge(conf, janitor, pod, resource_type, pending))
        if ids and conf.gateway.forget_deleted and resource_type in LISTED:
            forgotten = _forget_deleted(conf, janitor, pod, ids[0], resource_type)
            if forgotten:
                results.setdefault(resource_type, {})["forgotten_deleted"] = forgotten
    return reconcilers.Outcome.done(result=results or None)


def _forget_deleted(conf, janitor, pod, pod_id, resource_type):
    done = routings.completed(conf, pod_id=pod_id, resource_type=resource_type)
    if not done:
        return []
    try:
        present = janitor.present(pod, resource_type)
        candidates = stale(done, present, now=_utcnow(), grace=conf.gateway.adopt_grace)
        gone = [(rid, item) for rid, item in candidates
                if not janitor.exists(pod, resource_type, item)]
    except Exception as exc:   # the pod is down: try again next pass
        raise reconcilers.TemporaryError(f"{pod}: {exc}") from exc
    for routing_id, item_id in gone:
        routings.delete(conf, routing_id)
        LOG.info("Forgot the routing of a deleted item: pod=%s type=%s id=%s routing=%s",
                 pod, resource_type, item_id, routing_id)
    return [item_id for _, item_id in gone]


def _converge(conf, janitor, pod, resource_type, pending):
    try:
        tagged = janitor.tagged(pod, resource_type, routings.ROUTING_TAG)
    except Exception as exc:   # the pod is down: try again next pass
        raise reconcilers.TemporaryError(f"{pod}: {exc}") from exc
    decided = plan(pending, tagged, now=_utcnow(), grace=conf.gateway.adopt_grace)
    for item_id in decided.delete:
        janitor.delete(pod, resource_type, item_id)
        LOG.warning("Deleted a duplicate of an interrupted create: pod=%s type=%s id=%s",
                    pod, resource_type, item_id)
    for routing_id, item_id in decided.adopt:
        routings.update(conf, routing_id, {"top_id": item_id, "bottom_id": item_id})
        LOG.warning("Adopted an interrupted create: pod=%s type=%s id=%s routing=%s", pod,
                    resource_type, item_id, routing_id)
    for routing_id in decided.forget:
        routings.delete(conf, routing_id)
        LOG.info("Forgot an interrupted create the pod never made: pod=%s type=%s "
                 "routing=%s", pod, resource_type, routing_id)
    return decided


def _utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
