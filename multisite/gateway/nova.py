"""The compute proxy: availability zones from the pods, flavors from a pod, servers routed.

A server's id is the pod's id (no translation): the routing row maps it to its pod. A
create writes the routing first (`pending-...` top id, no bottom id), tags the server with
the routing id in its metadata, forwards, then completes the routing with the new id; a
gateway killed in between leaves a routing that names the pod and a tagged server, which
the routing reconciler adopts or cleans.
"""

import functools
import json
import logging
import uuid

from multisite.gateway import faults, images, keypairs, neutron, proxy
from multisite.objects import routings

LOG = logging.getLogger(__name__)

SERVICE_TYPE = "compute"
SERVICE = "Nova"
SERVER = "server"
ROUTING_TAG = routings.ROUTING_TAG
ID = r"(?P<server_id>[^/]+)"


# -- plumbing (shared with the other proxies: proxy.py) ------------------------------------
_json = proxy.json_response
_answer = proxy.answer
_forward = functools.partial(proxy.forward, service_type=SERVICE_TYPE)
_get = functools.partial(proxy.get, service_type=SERVICE_TYPE)
_rewrite = functools.partial(proxy.rewrite, service_type=SERVICE_TYPE)
_bottom_pods = proxy.bottom_pods
_any_pod = proxy.any_pod


def _server_pod(conf, call, server_id):
    """The pod a server is routed to; 404 (Nova's message) for a server of no routing."""
    return proxy.routed(conf, call, server_id, SERVER,
                        f"Instance {server_id} could not be found.")


# -- version, zones, flavors ---------------------------------------------------------------
def version(conf, req, call, base):
    """The v2.1 version document of a pod, its links pointing at the gateway."""
    pod = _any_pod(conf)
    return _rewrite(_get(conf, pod, req, ""), conf, pod, base)


def availability_zones(conf, req, call, base):
    """One zone per pod AZ, for the list and its detail alike (the pods' own zones and
    hosts stay inside the pods)."""
    zones = sorted({p["az_name"] for p in _bottom_pods(conf)})
    info = [{"zoneName": z, "zoneState": {"available": True}, "hosts": None} for z in zones]
    return _json({"availabilityZoneInfo": info})


def flavors(conf, req, call, base, rest):
    """Flavors as one pod has them: the flavor sync keeps every pod's flavors (and ids)
    equal, so any pod answers for all."""
    if req.method != "GET":
        raise faults.not_implemented(req.method, "/flavors" + rest, SERVICE)
    pod = _any_pod(conf)
    return _rewrite(_forward(conf, pod, req, "/flavors" + rest), conf, pod, base)


# -- servers --------------------------------------------------------------------------------
def create_server(conf, req, call, base, *, trust=True):
    """Bind, route, forward; a create the pod refuses after its image was taken on trust
    (images.ensure_in_pod) is made once more with the image read."""
    body, server = proxy.body_of(req, "server")
    if not isinstance(server.get("metadata", {}), dict):
        raise faults.Fault(400, "Invalid input: metadata must be an object")
    pod = proxy.bound_pod(conf, call, server.get("availability_zone"))
    keypairs.ensure_in_pod(conf, req, call, pod, server.get("key_name"))
    trusted = images.ensure_in_pod(conf, req, call, pod, server, service=SERVICE_TYPE,
                                   trust=trust)
    neutron.bottom_networks(conf, req, call, pod, server)
    routing = routings.create(conf, top_id=f"pending-{uuid.uuid4()}", pod_id=pod["pod_id"],
                              project_id=call.project_id, resource_type=SERVER)
    if pod["pod_az_name"]:
        server["availability_zone"] = pod["pod_az_name"]
    else:
        server.pop("availability_zone", None)
    server.setdefault("metadata", {})[ROUTING_TAG] = str(routing["id"])
    LOG.info("Creating server: project=%s az=%s pod=%s routing=%s", call.project_id,
             pod["az_name"], pod["pod_name"], routing["id"])
    proxy.test_pause(conf, "before_pod", routing)
    # a pod that does not answer raises: unknown whether it created the server, the
    # routing stays for the reconciler
    answer = _forward(conf, pod, req, "/servers", body=json.dumps(body).encode())
    proxy.test_pause(conf, "after_pod", routing)
    if answer.status >= 400:
        routings.delete(conf, routing["id"])
        if images.refused_on_trust(pod, call, trusted, answer.status):
            return create_server(conf, req, call, base, trust=False)
        return _answer(answer)
    server_id = answer.json()["server"]["id"]
    routings.update(conf, routing["id"], {"top_id": server_id, "bottom_id": server_id})
    return _rewrite(answer, conf, pod, base)


def _unknown(routing):
    """A server of a pod that did not answer, as Nova lists one of a down cell (2.69);
    with an empty image and flavor, which clients of older microversions read (the
    openstack CLI below 2.69 fails on a server without them)."""
    return {"id": routing["top_id"], "status": "UNKNOWN", "links": [],
            "tenant_id": routing["project_id"],
            "created": routing["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "image": "", "flavor": {"id": "", "original_name": ""}}


def _slim(item):
    if item.get("status") == "UNKNOWN":
        return {"id": item["id"], "status": "UNKNOWN", "links": []}
    return {"id": item["id"], "name": item.get("name"), "links": item.get("links", [])}


def list_servers(conf, req, call, base, detail):
    """Nova's default order, newest first (created, then id), across the pods."""
    return proxy.merged_list(conf, req, call, base, service_type=SERVICE_TYPE,
                             detail_path="/servers/detail",
                             link_path="/servers/detail" if detail else "/servers",
                             key="servers", resource_type=SERVER, created="created",
                             unknown=_unknown, slim=None if detail else _slim)


def _check_attach(conf, req, call, server_id, pod):
    """A volume attaches only to a server of its own pod: 400 naming both pods else."""
    try:
        volume_id = json.loads(req.body)["volumeAttachment"]["volumeId"]
    except (ValueError, KeyError, TypeError):
        return  # the pod answers a malformed body itself
    proxy.volume_in_pod(conf, call, volume_id, pod, other=f"server {server_id}",
                        rule="a volume attaches only within one pod")


def server(conf, req, call, base, server_id, rest):
    """Show, update, delete, actions and sub-resources of one routed server."""
    pod, routing = _server_pod(conf, call, server_id)
    ports = neutron.server_ports(conf, req, pod, server_id, rest)
    if req.method == "POST" and rest == "/os-volume_attachments":
        _check_attach(conf, req, call, server_id, pod)
    answer = _forward(conf, pod, req, f"/servers/{server_id}{rest}")
    if answer.status < 300:
        neutron.release_ports(conf, req, ports)
    if req.method == "GET" and not rest and answer.status == 404:
        routings.delete(conf, routing["id"])  # gone from its pod (deleted): forget it
    return _rewrite(answer, conf, pod, base)


# -- the route table ------------------------------------------------------------------------
ROUTES = [
    (r"", ("GET",), lambda c, r, k, b, m: version(c, r, k, b)),
    (r"/os-availability-zone", ("GET",), lambda c, r, k, b, m: availability_zones(c, r, k, b)),
    (r"/os-availability-zone/detail", ("GET",),
     lambda c, r, k, b, m: availability_zones(c, r, k, b)),
    (r"/flavors(?P<rest>/.*)?", ("GET",),
     lambda c, r, k, b, m: flavors(c, r, k, b, m["rest"] or "")),
    (r"(?P<keypairs>/os-keypairs(?:/[^/]+)?)", ("GET", "POST", "DELETE"),
     lambda c, r, k, b, m: keypairs.forward(c, r, k, b, m["keypairs"])),
    (r"/servers", ("POST",), lambda c, r, k, b, m: create_server(c, r, k, b)),
    (r"/servers", ("GET",), lambda c, r, k, b, m: list_servers(c, r, k, b, detail=False)),
    (r"/servers/detail", ("GET",),
     lambda c, r, k, b, m: list_servers(c, r, k, b, detail=True)),
    (r"/servers/" + ID + r"(?P<rest>/.*)?", ("GET", "PUT", "DELETE", "POST"),
     lambda c, r, k, b, m: server(c, r, k, b, m["server_id"], m["rest"] or "")),
]
COMPILED = proxy.compile_routes(ROUTES)


def dispatch(conf, req, call, path, *, base):
    """Answer one compute call; anything not routed is a 501 naming it."""
    return proxy.dispatch(COMPILED, SERVICE, conf, req, call, path, base=base)
