"""Bottom ports of the big region kept in step with the top's ports (docs/gateway.md).

Keys are pods holding port routings. Each pass reads the routed top ports (the top
region's Neutron) and their bottom ports (the pod's), and `plan()` decides, purely, for
each routing older than `[gateway] adopt_grace` (a boot in flight is never touched):

- top port gone (deleted at the top, not through the gateway): delete the bottom port;
- bottom port gone: forget the routing;
- a top port the gateway made for a boot whose bottom port no server holds any more
  (the server was deleted, or its create failed): delete both, as Nova deletes a port it
  made;
- incomplete routing (a gateway killed while making the bottom port): adopt the bottom
  port named after the top port, or delete it if the top port is gone, or forget.
"""

import dataclasses
import datetime
import logging

from multisite import reconcilers
from multisite.clients import gateway_network
from multisite.objects import pods, routings

LOG = logging.getLogger(__name__)

KIND = "gateway_ports"
PORT = "port"


@dataclasses.dataclass
class Plan:
    delete_bottom: list   # bottom port ids
    delete_top: list      # top port ids (made by the gateway for a boot)
    forget: list          # routing ids
    adopt: list           # (routing id, bottom port id)


def plan(routed, top_ports, bottom_ports, named, *, now, grace):
    """routed: the pod's port routings; top_ports / bottom_ports: id -> port as the top /
    the pod list them; named: the pod's ports named after an incompletely routed top id."""
    decided = Plan([], [], [], [])
    for routing in sorted(routed, key=lambda r: r["id"]):
        if now - routing["created_at"] < datetime.timedelta(seconds=grace):
            continue
        top = top_ports.get(routing["top_id"])
        if routing["bottom_id"] is None:
            found = sorted(p["id"] for p in named if p["name"] == routing["top_id"])
            if top is not None and found:
                decided.adopt.append((routing["id"], found[0]))
                decided.delete_bottom += found[1:]
            else:
                decided.delete_bottom += found
                decided.forget.append(routing["id"])
            continue
        bottom = bottom_ports.get(routing["bottom_id"])
        made = top is not None and top.get("description") == gateway_network.MADE_FOR_BOOT
        if top is None or (made and not (bottom or {}).get("device_id")):
            if bottom is not None:
                decided.delete_bottom.append(bottom["id"])
            if made:
                decided.delete_top.append(top["id"])
            decided.forget.append(routing["id"])
        elif bottom is None:
            decided.forget.append(routing["id"])
    return decided


def keys(client):
    found = routings.list_routings(client.conf, filters={"resource_type": PORT})[0]
    names = {p["pod_id"]: p["pod_name"] for p in pods.list_pods(client.conf)}
    return [reconcilers.Key(KIND, pod, pod)
            for pod in sorted({names[r["pod_id"]] for r in found if r["pod_id"] in names})]


def reconcile(key, env):
    conf, client = env.conf, env.shared
    everything = pods.list_pods(conf)
    pod = next((p for p in everything if p["pod_name"] == key.id), None)
    top = next((p for p in everything if not p["az_name"]), None)
    if pod is None or top is None:
        return reconcilers.Outcome.done()
    routed = routings.list_routings(conf, filters={"resource_type": PORT,
                                                   "pod_id": pod["pod_id"]})[0]
    if not routed:
        return reconcilers.Outcome.done()
    try:
        top_ports = {p["id"]: p for p in client.find_many(
            top["pod_name"], "ports", "id", [r["top_id"] for r in routed])}
        bottom_ports = {p["id"]: p for p in client.find_many(
            key.id, "ports", "id", [r["bottom_id"] for r in routed if r["bottom_id"]])}
        named = client.find_many(key.id, "ports", "name",
                                 [r["top_id"] for r in routed if not r["bottom_id"]])
    except gateway_network.RegionError as exc:   # a region down: next pass
        raise reconcilers.TemporaryError(f"{key.id}: {exc}") from exc
    decided = plan(routed, top_ports, bottom_ports, named, now=_utcnow(),
                   grace=conf.gateway.adopt_grace)
    for port_id in decided.delete_bottom:
        client.delete(key.id, "ports", port_id)
        LOG.warning("Deleted a bottom port whose top port is gone: pod=%s port=%s", key.id,
                    port_id)
    for port_id in decided.delete_top:
        client.delete(top["pod_name"], "ports", port_id)
        LOG.info("Deleted the top port of a finished boot: pod=%s port=%s", key.id, port_id)
    for routing_id, port_id in decided.adopt:
        routings.complete(conf, routing_id, port_id)
        LOG.warning("Adopted a bottom port: pod=%s port=%s routing=%s", key.id, port_id,
                    routing_id)
    for routing_id in decided.forget:
        routings.delete(conf, routing_id)
    return reconcilers.Outcome.done(result=dataclasses.asdict(decided))


def _utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
