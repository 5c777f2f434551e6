"""The compute proxy: availability zones from the pods, flavors from a pod, servers routed.

A server's id is the pod's id (no translation): the routing row maps it to its pod. A
create writes the routing first (`pending-...` top id, no bottom id), tags the server with
the routing id in its metadata, forwards, then completes the routing with the new id; a
gateway killed in between leaves a routing that names the pod and a tagged server, which
the routing reconciler adopts or cleans.
"""

import concurrent.futures
import json
import logging
import re
import urllib.parse
import uuid

import webob

from multisite.clients import gateway as pod_client
from multisite.gateway import faults, neutron, proxy
from multisite.objects import pods, routings

LOG = logging.getLogger(__name__)

SERVICE_TYPE = "compute"
SERVICE = "Nova"
SERVER = "server"
ROUTING_TAG = routings.ROUTING_TAG
ID = r"(?P<server_id>[^/]+)"


# -- plumbing -------------------------------------------------------------------------------
def _json(body, status=200, headers=None):
    resp = webob.Response(body=json.dumps(body).encode(), status=status,
                          content_type="application/json", charset="UTF-8")
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def _answer(answer):
    """The pod's answer as the caller's response (status, body, kept headers)."""
    resp = webob.Response(body=answer.body, status=answer.status)
    for key, value in answer.headers.items():
        resp.headers[key] = value
    if not answer.body:
        del resp.content_type
    return resp


def _forward(conf, pod, req, path, *, method=None, body=None, query=None):
    return proxy.forward(conf, pod, SERVICE_TYPE, req, path, method=method, body=body,
                         query=query)


def _get(conf, pod, req, path, query=""):
    """A GET of the pod on the caller's behalf (same token and microversion)."""
    return _forward(conf, pod, req, path, method="GET", body=b"", query=query)


def _bottom_pods(conf):
    return [p for p in pods.list_pods(conf) if p["az_name"]]


def _any_pod(conf):
    found = _bottom_pods(conf)
    if not found:
        raise faults.Fault(503, "No pod is registered: register pods with POST /v1.0/pods")
    return found[0]


def _server_pod(conf, call, server_id):
    """The pod a server is routed to; 404 (Nova's message) for a server of no routing."""
    found = routings.find(conf, top_id=server_id, resource_type=SERVER,
                          project_id=None if call.is_admin else call.project_id)
    if not found:
        raise faults.Fault(404, f"Instance {server_id} could not be found.")
    return pods.get(conf, found[0]["pod_id"]), found[0]


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


def _rewrite(answer, conf, pod, base):
    root = pod_client.forwarder(conf).endpoint(pod["pod_name"], SERVICE_TYPE)
    return _answer(pod_client.Answer(answer.status, answer.headers,
                                     answer.body.replace(root.encode(), base.encode())))


# -- servers --------------------------------------------------------------------------------
def _requested_zone(server, conf, call):
    zone = server.get("availability_zone")
    if zone is not None and not isinstance(zone, str):
        raise faults.Fault(400, "Invalid input: availability_zone must be a string")
    zones = sorted({p["az_name"] for p in _bottom_pods(conf)})
    if not zone:
        bound = {p["az_name"] for p in pods.bindings_of(conf, call.project_id)}
        if len(bound) == 1:
            return bound.pop()
        raise faults.Fault(400, "Give an availability zone (--availability-zone): one of "
                                + (", ".join(zones) or "none registered"))
    zone = zone.split(":", 1)[0]
    if zone not in zones:
        raise faults.Fault(400, f"Availability zone {zone!r} is not a pod's zone: one of "
                                + (", ".join(zones) or "none registered"))
    return zone


def create_server(conf, req, call, base):
    try:
        body = json.loads(req.body or b"null")
        server = body["server"]
        if not isinstance(server, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise faults.Fault(400, "Invalid request body: expected {\"server\": {...}}") from None
    if not isinstance(server.get("metadata", {}), dict):
        raise faults.Fault(400, "Invalid input: metadata must be an object")
    zone = _requested_zone(server, conf, call)
    pod = pods.bind(conf, project_id=call.project_id, az_name=zone)
    neutron.bottom_networks(conf, req, call, pod, server)
    routing = routings.create(conf, top_id=f"pending-{uuid.uuid4()}", pod_id=pod["pod_id"],
                              project_id=call.project_id, resource_type=SERVER)
    if pod["pod_az_name"]:
        server["availability_zone"] = pod["pod_az_name"]
    else:
        server.pop("availability_zone", None)
    server.setdefault("metadata", {})[ROUTING_TAG] = str(routing["id"])
    LOG.info("Creating server: project=%s az=%s pod=%s routing=%s", call.project_id, zone,
             pod["pod_name"], routing["id"])
    try:
        answer = _forward(conf, pod, req, "/servers", body=json.dumps(body).encode())
    except faults.Fault:
        # unknown whether the pod created it: the routing stays for the reconciler
        raise
    if answer.status >= 400:
        routings.delete(conf, routing["id"])
        return _answer(answer)
    server_id = answer.json()["server"]["id"]
    routings.update(conf, routing["id"], {"top_id": server_id, "bottom_id": server_id})
    return _rewrite(answer, conf, pod, base)


def _project_pods(conf, call, query):
    if call.is_admin and query.get("all_tenants") not in (None, "0", "false", "False"):
        return _bottom_pods(conf)
    return pods.bindings_of(conf, call.project_id)


def _read_pod(conf, pod, req, path, query, cap):
    """Every server the pod lists for the query (its own pages followed), up to `cap`."""
    found, params = [], dict(query)
    while True:
        answer = _get(conf, pod, req, path, urllib.parse.urlencode(params))
        if answer.status >= 400:
            raise faults.Fault(answer.status, f"Pod {pod['pod_name']} answered "
                                              f"{answer.status}: {answer.body[:200]!r}")
        body = answer.json()
        found += body["servers"]
        if not body.get("servers_links") or not body["servers"] or len(found) >= cap:
            return found[:cap]
        params["marker"] = body["servers"][-1]["id"]


def _unknown(routing, detail):
    """A server of a pod that did not answer, as Nova lists one of a down cell (2.69)."""
    item = {"id": routing["top_id"], "status": "UNKNOWN", "links": []}
    if detail:
        item.update({"tenant_id": routing["project_id"],
                     "created": routing["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ")})
    return item


def list_servers(conf, req, call, base, detail):
    query = dict(req.GET.items())
    limit = query.pop("limit", None)
    marker = query.pop("marker", None)
    if limit is not None and (not limit.isdigit() or int(limit) < 0):
        raise faults.Fault(400, f"limit must be a non-negative integer, not {limit!r}")
    path = "/servers/detail" if detail else "/servers"
    targets = _project_pods(conf, call, query)
    cap = conf.gateway.list_max_per_pod
    merged, down = [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        futures = {pool.submit(_read_pod, conf, pod, req, "/servers/detail", query, cap): pod
                   for pod in targets}
        for future, pod in futures.items():
            try:
                merged += future.result()
            except faults.Fault as exc:
                LOG.warning("Pod missing from a server list: pod=%s error=%s",
                            pod["pod_name"], exc.message)
                down.append(pod)
    for pod in down:
        filters = {"pod_id": pod["pod_id"], "resource_type": SERVER}
        if not (call.is_admin and query.get("all_tenants")):
            filters["project_id"] = call.project_id
        merged += [_unknown(r, True) for r in routings.list_routings(conf, filters=filters)[0]
                   if r["bottom_id"]]
    # Nova's default order: newest first (created, then id), across the pods
    merged.sort(key=lambda s: (s.get("created", ""), s["id"]), reverse=True)
    if marker is not None:
        ids = [s["id"] for s in merged]
        if marker not in ids:
            raise faults.Fault(400, f"marker [{marker}] not found")
        merged = merged[ids.index(marker) + 1:]
    body = {}
    if limit is not None and len(merged) > int(limit):
        merged = merged[:int(limit)]
        params = dict(req.GET.items(), marker=merged[-1]["id"]) if merged else None
        if params:
            body["servers_links"] = [{"rel": "next", "href": f"{base}{path}?"
                                      + urllib.parse.urlencode(params)}]
    if not detail:
        merged = [{"id": s["id"], "name": s.get("name"), "links": s.get("links", [])}
                  if s.get("status") != "UNKNOWN" else {"id": s["id"], "status": "UNKNOWN",
                                                        "links": []} for s in merged]
    body["servers"] = merged
    text = json.dumps(body)
    for pod in targets:
        try:
            root = pod_client.forwarder(conf).endpoint(pod["pod_name"], SERVICE_TYPE)
        except pod_client.RegionError:
            continue
        text = text.replace(root, base)
    return _json(json.loads(text))


def server(conf, req, call, base, server_id, rest):
    """Show, update, delete, actions and sub-resources of one routed server."""
    pod, routing = _server_pod(conf, call, server_id)
    ports = neutron.server_ports(conf, req, pod, server_id, rest)
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
    (r"/servers", ("POST",), lambda c, r, k, b, m: create_server(c, r, k, b)),
    (r"/servers", ("GET",), lambda c, r, k, b, m: list_servers(c, r, k, b, detail=False)),
    (r"/servers/detail", ("GET",),
     lambda c, r, k, b, m: list_servers(c, r, k, b, detail=True)),
    (r"/servers/" + ID + r"(?P<rest>/.*)?", ("GET", "PUT", "DELETE", "POST"),
     lambda c, r, k, b, m: server(c, r, k, b, m["server_id"], m["rest"] or "")),
]
COMPILED = [(re.compile(f"^{pattern}$"), methods, handler)
            for pattern, methods, handler in ROUTES]


def dispatch(conf, req, call, path, *, base):
    """Answer one compute call; anything not routed is a 501 naming it."""
    for regex, methods, handler in COMPILED:
        found = regex.match(path)
        if found and req.method in methods:
            return handler(conf, req, call, base, found.groupdict())
    raise faults.not_implemented(req.method, path or "/", SERVICE)
