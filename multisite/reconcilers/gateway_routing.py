"""Interrupted gateway creates: adopt the pod's server (volume, snapshot), or forget the
routing.

A gateway create writes its routing (`pending-...`, no bottom id) before asking the pod,
and tags the server (volume, snapshot) with the routing id in its metadata. Keys are pods
holding such routings; each pass reads the pod's tagged items of each type and `plan()`
decides, purely: a routing older than the grace with a tagged item is completed with it
(the oldest, the others deleted: a retried create must not leave two), one with none is
forgotten (the pod never created it). A routing younger than the grace is a create in
flight and is left alone.
"""

import dataclasses
import datetime
import logging

from multisite import reconcilers
from multisite.objects import pods, routings

LOG = logging.getLogger(__name__)

KIND = "gateway_routing"
SERVER = "server"
TYPES = (SERVER, "volume", "snapshot")   # what the gateway creates, routed and tagged


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


def keys(janitor):
    found = set()
    for resource_type in TYPES:
        found.update(routings.pods_with_incomplete(janitor.conf, resource_type))
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
    return reconcilers.Outcome.done(result=results or None)


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
