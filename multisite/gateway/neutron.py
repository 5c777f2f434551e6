"""The network proxy: the top region's own Neutron is the big region's Neutron (its one
IPAM), and a pod gets bottom copies of what a server boot needs there, lazily.

`/network/...` is forwarded to the top region's Neutron with the caller's token, for
networks, subnets, ports, security groups and their rules (anything else is a 501).
Neutron checks `availability_zone_hints` against its own DHCP agents' zones, which the
top has none of: the gateway checks the hints against the pods' zones instead, keeps them
as tags `multisite-az:<zone>` of the top network and shows them back as the hints.

At a server create (`bottom_networks`, called by the compute proxy once the pod is
chosen) each requested network or port is realised in the pod: the bottom network,
subnets and security groups (named after their top ids, same CIDR, pools, gateway and
DHCP flag), then the bottom port with the top port's fixed IPs and MAC. Each routing row
is written before the pod is asked; the pod's Nova gets `{"port": <bottom port>}`.
"""

import json
import logging
import re
import time

import webob

from multisite.clients import gateway as pod_client
from multisite.clients import gateway_network
from multisite.gateway import bottom, faults, proxy
from multisite.objects import bridges, jobs, pods, routings

LOG = logging.getLogger(__name__)

SERVICE_TYPE = "network"
SERVICE = "Neutron"
ROUTED = ("networks", "subnets", "ports", "security-groups", "security-group-rules",
          "routers", "extensions", "floatingips")
# router calls after which the router's pods are converged by a job (docs/networking.md)
INTERFACE_ACTIONS = ("/add_router_interface", "/remove_router_interface")
ROUTER_PORT_OWNERS = ["network:router_interface", "network:router_interface_distributed"]
# seconds a boot waits for another gateway worker realising the same resource
WAIT_OTHER = 20.0


# -- plumbing -------------------------------------------------------------------------------
def _top(conf):
    found = [p for p in pods.list_pods(conf) if not p["az_name"]]
    if not found:
        raise faults.Fault(503, "No top region is registered: POST /v1.0/pods "
                                "{\"pod\": {\"pod_name\": <top region>}}")
    return found[0]


def _forward(conf, top, req, path, *, method=None, body=None, query=None):
    return proxy.forward(conf, top, req, path, service_type=SERVICE_TYPE, method=method,
                         body=body, query=query)


def _failure(answer, what):
    """The top's refusal of a boot's request as the boot's error: a missing network or
    port is Nova's 400, a top that fails a 503, the top's message kept."""
    try:
        message = next(v["message"] for v in answer.json().values() if "message" in v)
    except (ValueError, TypeError, AttributeError, StopIteration):
        message = answer.body[:200].decode("utf-8", "replace")
    status = 400 if answer.status == 404 else answer.status if answer.status < 500 else 503
    return faults.Fault(status, f"{what}: HTTP {answer.status} {message}")


def _top_get(conf, top, req, collection, item_id):
    """One top item, as the caller sees it (their token): 400 if they cannot."""
    answer = _forward(conf, top, req, f"/v2.0/{collection}/{item_id}", method="GET",
                      body=b"", query="")
    if answer.status >= 400:
        raise _failure(answer, f"{gateway_network.SINGULAR[collection]} {item_id} of the "
                               f"top region")
    return answer.json()[gateway_network.SINGULAR[collection]]


def _json(body, status, headers):
    resp = webob.Response(body=json.dumps(body).encode(), status=status,
                          content_type="application/json", charset="UTF-8")
    for key, value in headers.items():
        if key.lower() != "content-type":
            resp.headers[key] = value
    return resp


def _answer(answer, conf, top, base):
    root = pod_client.forwarder(conf).endpoint(top["pod_name"], SERVICE_TYPE)
    body = answer.body.replace(root.encode(), base.encode())
    resp = webob.Response(body=body, status=answer.status)
    for key, value in answer.headers.items():
        resp.headers[key] = value
    if not body:
        del resp.content_type
    return resp


# -- the forwarded API ----------------------------------------------------------------------
def _with_hints(network):
    zones = bottom.zones_of(network)
    if zones:
        network["availability_zone_hints"] = zones
    return network


def _network_write(conf, req, call, top, base, path):
    """POST/PUT of a network: the hints checked against the pods' zones and kept as tags."""
    try:
        body = json.loads(req.body or b"null")
        network = body["network"]
        hints = network.pop("availability_zone_hints", None)
    except (ValueError, KeyError, TypeError, AttributeError):
        return _answer(_forward(conf, top, req, path), conf, top, base)  # Neutron says why
    if isinstance(network, dict):
        _refuse_segment(conf, network, what=f"Network {path.rpartition('/')[2]}"
                        if req.method == "PUT" else f"Network {network.get('name')!r}")
    zones = {p["az_name"] for p in pods.list_pods(conf) if p["az_name"]}
    if hints is not None:
        if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
            raise faults.Fault(400, "availability_zone_hints must be a list of zone names")
        unknown = sorted(set(hints) - zones)
        if unknown:
            raise faults.Fault(400, f"availability zone {unknown[0]!r} is not a pod's zone: "
                                    f"one of {', '.join(sorted(zones)) or 'none registered'}")
    answer = _forward(conf, top, req, path, body=json.dumps(body).encode())
    if answer.status >= 400 or hints is None:
        return _answer(answer, conf, top, base)
    made = answer.json()["network"]
    tags = [t for t in made.get("tags") or [] if not t.startswith(bottom.AZ_TAG)]
    tags += [bottom.AZ_TAG + h for h in hints]
    tagged = _forward(conf, top, req, f"/v2.0/networks/{made['id']}/tags", method="PUT",
                      body=json.dumps({"tags": tags}).encode(), query="")
    if tagged.status >= 400:
        raise faults.Fault(tagged.status, f"could not keep the zone hints of network "
                                          f"{made['id']}: {tagged.body[:200]!r}")
    made["tags"] = tags
    made["availability_zone_hints"] = hints
    if req.method == "POST" and made.get("router:external"):
        _realise_external(conf, req, call, top, made, undo=f"/v2.0/networks/{made['id']}")
    return _json({"network": made}, answer.status, answer.headers)


# -- north-south: external networks and floating IPs (docs/networking.md) -------------------
def _realise_external(conf, req, call, top, network, *, subnet=None, undo):
    """An external network with a zone (or its subnet) made in its pod at once, as the
    top made it (its provider network is the pod's); if the pod cannot, the top's item is
    deleted again (`undo`) and the caller gets the pod's error."""
    pod = network_pod(conf, network)
    if pod is None:
        return
    try:
        _, bottom_net = _ensure(conf, call, pod, kind="network", collection="networks",
                                top_id=network["id"],
                                make=lambda: bottom.external_network_body(network))
        if subnet is not None:
            _ensure(conf, call, pod, kind="subnet", collection="subnets", top_id=subnet["id"],
                    make=lambda: bottom.subnet_body(subnet, bottom_net))
    except faults.Fault:
        _forward(conf, top, req, undo, method="DELETE", body=b"", query="")
        if subnet is None:
            forget_bottom(conf, "networks", network["id"])
        raise


def _create_subnet(conf, req, call, top, base, path):
    """A subnet of an external network with a zone is made in the network's pod too."""
    answer = _forward(conf, top, req, path)
    if answer.status >= 300:
        return _answer(answer, conf, top, base)
    made = answer.json().get("subnet")
    if made:
        network = _top_get(conf, top, req, "networks", made["network_id"])
        if network.get("router:external") and bottom.zones_of(network):
            _realise_external(conf, req, call, top, network, subnet=made,
                              undo=f"/v2.0/subnets/{made['id']}")
    return _answer(answer, conf, top, base)


def _router_job(conf, project, router_id, why):
    job = jobs.create(conf, project_id=project, job_type="configure_route",
                      resource={"router_id": router_id})
    LOG.info("Router job registered: router=%s job=%s type=configure_route (%s) project=%s",
             router_id, job["id"], why, project)


def _update_router(conf, req, call, top, base, path, router_id):
    """A top router's gateway set or cleared: a job converges its pods (the bottom router
    in the external network's pod gets the gateway)."""
    try:
        info = json.loads(req.body or b"{}").get("router", {})
        asked = "external_gateway_info" in info
        network_id = (info["external_gateway_info"] or {}).get("network_id") if asked else None
    except (ValueError, AttributeError, TypeError):
        asked, network_id = False, None     # not a router body: Neutron says why
    if isinstance(network_id, str):
        _refuse_routed_segment(conf, top, network_id, why=f"the gateway of router "
                                                          f"{router_id}")
    answer = _forward(conf, top, req, path)
    if answer.status < 300 and asked:
        done = answer.json()["router"]
        _router_job(conf, done.get("project_id") or call.project_id, router_id, "gateway")
    return _answer(answer, conf, top, base)


def _floatingip(conf, req, call, top, base, path, item):
    """A floating IP created, (dis)associated or deleted at the top: a job converges the
    router it was and the router it is associated through (the external network's pod
    gets it, on a shadow port if the port lives in another pod)."""
    before = None
    if item:
        seen = _forward(conf, top, req, f"/v2.0/floatingips/{item}", method="GET", body=b"",
                        query="")
        if seen.status == 200:
            before = seen.json()["floatingip"]
    answer = _forward(conf, top, req, path)
    if answer.status >= 300:
        return _answer(answer, conf, top, base)
    after = answer.json().get("floatingip") if answer.body else None
    for fip in (before, after):
        if fip and fip.get("router_id"):
            _router_job(conf, fip.get("project_id") or call.project_id, fip["router_id"],
                        f"floating IP {fip['id']}")
    return _answer(answer, conf, top, base)


def forget_bottoms(conf, port_id):
    """Delete the bottom copies of top port `port_id` and forget their routings (one a
    pod refuses stays for the port reconciler)."""
    client = gateway_network.PodNetwork(conf)
    for routing in routings.find(conf, top_id=port_id, resource_type="port"):
        pod = pods.get(conf, routing["pod_id"])
        try:
            for bottom in ([routing["bottom_id"]] if routing["bottom_id"] else
                           [p["id"] for p in client.find(pod["pod_name"], "ports",
                                                         name=port_id)]):
                client.delete(pod["pod_name"], "ports", bottom)
        except gateway_network.RegionError as exc:
            LOG.warning("Bottom port left for the reconciler: pod=%s port=%s error=%s",
                        pod["pod_name"], port_id, exc)
            continue
        routings.delete(conf, routing["id"])


def _delete_port(conf, req, call, top, base, port_id):
    """A top port's delete also deletes its bottom copies (and, as Neutron disassociates
    its floating IPs, registers a job for their routers: the external pod's copies go)."""
    routers = fip_routers(conf, top, req, port_id)
    answer = _forward(conf, top, req, f"/v2.0/ports/{port_id}")
    if answer.status < 300:
        forget_bottoms(conf, port_id)
        for project, router_id in routers:
            _router_job(conf, project or call.project_id, router_id, f"port {port_id} gone")
    return _answer(answer, conf, top, base)


def fip_routers(conf, top, req, port_id):
    """(project, router) of the floating IPs associated to a top port (read before the
    port's delete: Neutron disassociates them then)."""
    answer = _forward(conf, top, req, "/v2.0/floatingips", method="GET", body=b"",
                      query=f"port_id={port_id}")
    if answer.status != 200:
        return []
    return sorted({(f.get("project_id"), f["router_id"])
                   for f in answer.json().get("floatingips") or [] if f.get("router_id")})


KIND_OF = {"networks": "network", "subnets": "subnet", "security-groups": "security_group"}


def forget_bottom(conf, collection, top_id):
    """Delete the bottom copies of top item `top_id` (a network, subnet or security group)
    in every pod and forget their routings; a copy a pod refuses or cannot be asked about
    keeps its routing (logged)."""
    client = gateway_network.PodNetwork(conf)
    for routing in routings.find(conf, top_id=top_id, resource_type=KIND_OF[collection]):
        pod = pods.get(conf, routing["pod_id"])
        try:
            for bottom_id in ([routing["bottom_id"]] if routing["bottom_id"] else
                              [i["id"] for i in client.find(pod["pod_name"], collection,
                                                            name=top_id)]):
                client.delete(pod["pod_name"], collection, bottom_id)
        except gateway_network.RegionError as exc:
            LOG.warning("Bottom %s left in its pod: pod=%s top=%s error=%s",
                        KIND_OF[collection], pod["pod_name"], top_id, exc)
            continue
        routings.delete(conf, routing["id"])


def _delete_with_bottoms(conf, req, call, top, base, collection, item):
    """A top network's, subnet's or security group's delete also deletes the bottom copies
    the pods got (a network's subnets first: the top deleted them with it)."""
    answer = _forward(conf, top, req, f"/v2.0/{collection}/{item}")
    if answer.status < 300:
        if collection == "networks":
            client = gateway_network.PodNetwork(conf)
            for routing in routings.find(conf, top_id=item, resource_type="network"):
                if not routing["bottom_id"]:
                    continue
                pod = pods.get(conf, routing["pod_id"])
                try:
                    held = client.find(pod["pod_name"], "subnets",
                                       network_id=routing["bottom_id"])
                except gateway_network.RegionError as exc:
                    LOG.warning("Bottom subnets not read: pod=%s network=%s error=%s",
                                pod["pod_name"], item, exc)
                    continue
                for subnet in held:
                    forget_bottom(conf, "subnets", subnet["name"])
        forget_bottom(conf, collection, item)
    return _answer(answer, conf, top, base)


def _read(conf, req, top, base, path):
    answer = _forward(conf, top, req, path)
    if answer.status >= 400 or not path.startswith("/v2.0/networks"):
        return _answer(answer, conf, top, base)
    body = answer.json()
    for network in body.get("networks") or [body.get("network") or {}]:
        _with_hints(network)
    text = json.dumps(body).replace(
        pod_client.forwarder(conf).endpoint(top["pod_name"], SERVICE_TYPE), base)
    return _json(json.loads(text), answer.status, answer.headers)


def network_pod(conf, network):
    """The pod a top network is bound to: where its bottom copy is routed, else the first
    pod (by name) of its first zone; None for a network of no zone."""
    everything = pods.list_pods(conf)
    routed = {r["pod_id"] for r in routings.find(conf, top_id=network["id"],
                                                  resource_type="network")}
    found = sorted(p["pod_name"] for p in everything if p["pod_id"] in routed)
    for zone in bottom.zones_of(network):
        found = found or sorted(p["pod_name"] for p in everything if p["az_name"] == zone)
    return next((p for p in everything if found and p["pod_name"] == found[0]), None)


def _list(conf, top, req, collection, **filters):
    """A top list as the caller sees it ([] if the top refuses it: Neutron then says why
    on the forwarded call)."""
    query = "&".join(f"{k}={v}" for k, values in filters.items()
                     for v in (values if isinstance(values, list) else [values]))
    answer = _forward(conf, top, req, f"/v2.0/{collection}", method="GET", body=b"",
                      query=query)
    return answer.json()[collection.replace("-", "_")] if answer.status == 200 else []


def _interface_subnet(conf, req, top):
    """The top subnet an add_router_interface names (by subnet_id or port_id), as the
    caller sees it; None if it names none (the top's 400 says why)."""
    try:
        asked = json.loads(req.body or b"null")
        subnet_id, port_id = asked.get("subnet_id"), asked.get("port_id")
    except (ValueError, AttributeError):
        return None
    if port_id and not subnet_id and isinstance(port_id, str):
        ports = _list(conf, top, req, "ports", id=port_id)
        subnet_id = next((ip["subnet_id"] for p in ports for ip in p["fixed_ips"]), None)
    if not isinstance(subnet_id, str):
        return None
    found = _list(conf, top, req, "subnets", id=subnet_id)
    return found[0] if found else None


def _refuse_overlap(conf, req, top, router_id, subnet):
    """409 before the top is asked: the new interface's subnet overlaps a subnet already
    on the router (the router's subnets are routed together across pods, the pods' extra
    routes could not tell them apart; Neutron's own answer would be a 400 for one pod)."""
    held = _list(conf, top, req, "ports", device_id=router_id,
                 device_owner=ROUTER_PORT_OWNERS)
    ids = sorted({ip["subnet_id"] for p in held for ip in p.get("fixed_ips") or []})
    others = _list(conf, top, req, "subnets", id=ids) if ids else []
    clash = ", ".join(f"subnet {o['id']} ({o['cidr']})"
                      for o in bottom.overlapping(subnet, others))
    if clash:
        raise faults.Fault(409, f"Subnet {subnet['id']} ({subnet['cidr']}) overlaps {clash} "
                                f"already on router {router_id}: the subnets of one router "
                                f"are routed together across pods, their CIDRs must not "
                                f"overlap (docs/networking.md)")


def _refuse_segment(conf, network, *, what):
    """409 before the top is asked: `network` (a top network or the body of its create or
    update) asks a segmentation id on the bridges' provider network that a tenant's bridge
    network holds, or that `[network] bridge_vlan_ranges` keeps for one: in the pods the
    two would be one L2 segment (docs/networking.md)."""
    physnet, kind = conf.network.bridge_physical_network, conf.network.bridge_network_type
    seg = bottom.bridge_segment(network, network_type=kind, physical_network=physnet)
    if seg is None:
        return
    asked = f"{what} asks segmentation id {seg} on {physnet} ({kind})"
    holder = bridges.holder(conf, seg)
    if holder is not None:
        raise faults.Fault(409, f"{asked}, the segmentation id of bridge network "
                                f"bridge-{holder} of project {holder} in every pod: a "
                                f"tenant's bridge segment is never shared with another "
                                f"network (docs/networking.md)")
    if bridges.reserved(conf, seg):
        ranges = ",".join(conf.network.bridge_vlan_ranges)
        raise faults.Fault(409, f"{asked}, which [network] bridge_vlan_ranges ({ranges}) "
                                f"keeps for the tenants' bridge networks: a tenant's bridge "
                                f"segment is never shared with another network "
                                f"(docs/networking.md)")


def _refuse_routed_segment(conf, top, network_id, *, why):
    """The segment check for a network about to be routed (an interface's, a router
    gateway's): its provider attributes read as Multisite's service user (an admin's, a
    member does not see them)."""
    try:
        found = gateway_network.PodNetwork(conf).find(top["pod_name"], "networks",
                                                      id=network_id)
    except gateway_network.RegionError as exc:
        raise faults.Fault(503, f"network {network_id} of the top region could not be "
                                f"read: {exc}") from None
    for network in found:
        _refuse_segment(conf, network, what=f"Network {network_id} ({why})")


def _router_interface(conf, req, call, top, base, path, router_id):
    """An interface added to (removed from) a top router: once the top has done it, a job
    converges the router's pods (router_setup naming the network's pod, or configure_route
    for a removal or a network of no pod)."""
    subnet = _interface_subnet(conf, req, top) if path.endswith(
        "/add_router_interface") else None
    if subnet is not None:
        _refuse_overlap(conf, req, top, router_id, subnet)
        _refuse_routed_segment(conf, top, subnet["network_id"],
                               why=f"subnet {subnet['id']} on router {router_id}")
    answer = _forward(conf, top, req, path)
    if answer.status >= 300:
        return _answer(answer, conf, top, base)
    done = answer.json()
    project = done.get("project_id") or done.get("tenant_id") or call.project_id
    pod = None
    if path.endswith("/add_router_interface") and done.get("network_id"):
        pod = network_pod(conf, _top_get(conf, top, req, "networks", done["network_id"]))
    if pod is not None:
        job = jobs.create(conf, project_id=project, job_type="router_setup",
                          resource={"pod_id": pod["pod_id"], "router_id": router_id,
                                    "network_id": done["network_id"]})
    else:
        job = jobs.create(conf, project_id=project, job_type="configure_route",
                          resource={"router_id": router_id})
    LOG.info("Router job registered: router=%s job=%s type=%s project=%s", router_id,
             job["id"], job["type"], project)
    return _answer(answer, conf, top, base)


def _create_router(conf, req, call, top, base, path):
    """A top router made: routed to the top region (its own id), so that a router job can
    be posted for it (`POST /v1.0/jobs` wants the router routed in the project)."""
    answer = _forward(conf, top, req, path)
    if answer.status < 300:
        made = answer.json()["router"]
        try:
            routings.create(conf, top_id=made["id"], pod_id=top["pod_id"],
                            bottom_id=made["id"], resource_type="router",
                            project_id=made.get("project_id") or call.project_id)
        except routings.RoutingExists:
            pass
    return _answer(answer, conf, top, base)


def _delete_router(conf, req, call, top, base, path, router_id):
    """A top router deleted: a configure_route job removes its bottom routers."""
    answer = _forward(conf, top, req, path)
    if answer.status < 300 and routings.is_routed(conf, router_id, "router"):
        job = jobs.create(conf, project_id=call.project_id, job_type="configure_route",
                          resource={"router_id": router_id})
        LOG.info("Router job registered: router=%s job=%s type=configure_route (deleted)",
                 router_id, job["id"])
    return _answer(answer, conf, top, base)


def _groups_job(conf, project_id, why):
    """A seg_rule_setup job for the project if one of its groups has a copy in a pod: the
    engine makes the copies match the top (docs/networking.md)."""
    if not routings.list_routings(conf, filters={"resource_type": "security_group",
                                                 "project_id": project_id}, limit=1)[0]:
        return None
    job = jobs.create(conf, project_id=project_id, job_type="seg_rule_setup",
                      resource={"project_id": project_id})
    LOG.info("Security group job registered: project=%s job=%s (%s)", project_id,
             job["id"], why)
    return job


def _group_change(conf, req, call, top, base, path):
    """A rule created or deleted, or a group updated, at the top: the pods' copies follow
    through a job."""
    answer = _forward(conf, top, req, path)
    if answer.status < 300:
        project = call.project_id
        if answer.body:
            made = next(iter(answer.json().values()), None)
            items = made if isinstance(made, list) else [made]
            project = next((i.get("project_id") for i in items if isinstance(i, dict)
                            and i.get("project_id")), project)
        _groups_job(conf, project, f"{req.method} {path}")
    return _answer(answer, conf, top, base)


PATH = re.compile(r"^/v2\.0/(?P<collection>[a-z-]+)(?:/(?P<item>[^/]+))?(?P<rest>/.*)?$")


def dispatch(conf, req, call, path, *, base):
    """Answer one network call: forwarded to the top Neutron, or a 501 naming it."""
    top = _top(conf)
    if path in ("", "/v2.0") and req.method == "GET":
        return _answer(_forward(conf, top, req, path), conf, top, base)
    found = PATH.match(path)
    if not found or found["collection"] not in ROUTED:
        raise faults.not_implemented(req.method, path or "/", SERVICE)
    collection, item, rest = found["collection"], found["item"], found["rest"]
    if collection == "networks" and not rest and (
            (req.method == "POST" and not item) or (req.method == "PUT" and item)):
        return _network_write(conf, req, call, top, base, path)
    if collection == "ports" and item and not rest and req.method == "DELETE":
        return _delete_port(conf, req, call, top, base, item)
    if collection == "routers" and item and rest in INTERFACE_ACTIONS and req.method == "PUT":
        return _router_interface(conf, req, call, top, base, path, item)
    if collection == "routers" and item and not rest and req.method == "PUT":
        return _update_router(conf, req, call, top, base, path, item)
    if collection == "floatingips" and not rest and req.method in (
            ("PUT", "DELETE") if item else ("POST",)):
        return _floatingip(conf, req, call, top, base, path, item)
    if collection == "subnets" and not item and req.method == "POST":
        return _create_subnet(conf, req, call, top, base, path)
    if collection == "routers" and not item and req.method == "POST":
        return _create_router(conf, req, call, top, base, path)
    if collection == "routers" and item and not rest and req.method == "DELETE":
        return _delete_router(conf, req, call, top, base, path, item)
    if not rest and ((collection == "security-group-rules" and (
            (req.method == "POST" and not item) or (req.method == "DELETE" and item))) or (
            collection == "security-groups" and item and req.method == "PUT")):
        return _group_change(conf, req, call, top, base, path)
    if collection in KIND_OF and item and not rest and req.method == "DELETE":
        return _delete_with_bottoms(conf, req, call, top, base, collection, item)
    if req.method == "GET":
        return _read(conf, req, top, base, path)
    return _answer(_forward(conf, top, req, path), conf, top, base)


# -- lazy realisation in a pod --------------------------------------------------------------
def _ensure(conf, call, pod, *, kind, collection, top_id, make):
    """The bottom id of top `top_id` in `pod`: routed already, or made now (the routing
    written first; a bottom item named after the top id is adopted, never duplicated).
    Returns (bottom item or None if it was routed already, bottom id)."""
    client = gateway_network.PodNetwork(conf)
    deadline = time.monotonic() + WAIT_OTHER
    while True:
        mine = [r for r in routings.find(conf, top_id=top_id, resource_type=kind)
                if r["pod_id"] == pod["pod_id"]]
        if mine and mine[0]["bottom_id"]:
            return None, mine[0]["bottom_id"]
        if mine and time.monotonic() < deadline:
            time.sleep(0.2)   # another worker is making it: wait for its bottom id
            continue
        if mine:
            routing = mine[0]   # an interrupted create: adopt or make
        else:
            try:
                routing = routings.create(conf, top_id=top_id, pod_id=pod["pod_id"],
                                          project_id=call.project_id, resource_type=kind)
            except routings.RoutingExists:
                continue
        break
    region = pod["pod_name"]
    try:
        existing = client.find(region, collection, name=top_id)
        item = existing[0] if existing else client.create(region, collection, make())
    except gateway_network.RegionError as exc:
        raise faults.Fault(503 if exc.status is None or exc.status >= 500 else 400,
                           f"Pod {region}: could not realise {kind} {top_id}: {exc}") from None
    routings.complete(conf, routing["id"], item["id"])
    LOG.info("Realised in a pod: pod=%s %s=%s bottom=%s project=%s", region, kind, top_id,
             item["id"], call.project_id)
    return item, item["id"]


def _realise_group(conf, req, call, pod, top, group_id):
    group = _top_get(conf, top, req, "security-groups", group_id)
    made, bottom_id = _ensure(conf, call, pod, kind="security_group",
                              collection="security-groups", top_id=group_id,
                              make=lambda: bottom.group_body(group))
    if made is not None:
        client = gateway_network.PodNetwork(conf)
        for rule in bottom.missing_rules(group, made):
            client.create(pod["pod_name"], "security-group-rules", rule)
        # its rules naming other groups need those groups in the pod: a job does them
        _groups_job(conf, group["project_id"], f"group {group_id} copied to "
                                               f"{pod['pod_name']}")
    return bottom_id


def realise_port(conf, req, call, pod, top, port):
    """The bottom port of top `port` in `pod` (its network, subnets, groups first)."""
    network = _top_get(conf, top, req, "networks", port["network_id"])
    zones = bottom.zones_of(network)
    if zones and pod["az_name"] not in zones:
        raise faults.Fault(400, f"Network {network['id']} is not available in zone "
                                f"{pod['az_name']} (its zones: {', '.join(zones)})")
    _, bottom_net = _ensure(conf, call, pod, kind="network", collection="networks",
                            top_id=network["id"], make=lambda: bottom.network_body(network))
    subnets = {}
    for subnet_id in sorted({ip["subnet_id"] for ip in port["fixed_ips"]}):
        subnet = _top_get(conf, top, req, "subnets", subnet_id)
        _, subnets[subnet_id] = _ensure(conf, call, pod, kind="subnet", collection="subnets",
                                        top_id=subnet_id,
                                        make=lambda s=subnet: bottom.subnet_body(s, bottom_net))
    groups = {}
    if port.get("port_security_enabled") is not False:
        for group_id in port.get("security_groups") or []:
            groups[group_id] = _realise_group(conf, req, call, pod, top, group_id)
    _, bottom_port = _ensure(conf, call, pod, kind="port", collection="ports",
                             top_id=port["id"],
                             make=lambda: bottom.port_body(port, bottom_net, subnets, groups))
    return bottom_port


def _top_port(conf, req, top, entry):
    """A port on the top network (the top allocates its IP and MAC) for a boot."""
    spec = {"network_id": entry["uuid"], "description": gateway_network.MADE_FOR_BOOT}
    if entry.get("fixed_ip"):
        spec["fixed_ips"] = [{"ip_address": entry["fixed_ip"]}]
    answer = _forward(conf, top, req, "/v2.0/ports", method="POST", query="",
                      body=json.dumps({"port": spec}).encode())
    if answer.status >= 400:
        raise _failure(answer, f"a port on top network {entry['uuid']}")
    return answer.json()["port"]


def bottom_networks(conf, req, call, pod, server):
    """Replace the server's requested top networks/ports by bottom ports of `pod`, made
    now if needed (mutates and returns `server`)."""
    entries = bottom.requested(server.get("networks"))
    if not entries:
        return server
    top = _top(conf)
    made, ports = [], []
    try:
        for entry in entries:
            if entry.get("port"):
                port = _top_get(conf, top, req, "ports", entry["port"])
            else:
                port = _top_port(conf, req, top, entry)
                made.append(port["id"])
            wanted = {"port": realise_port(conf, req, call, pod, top, port)}
            for project, router_id in fip_routers(conf, top, req, port["id"]):
                # a floating IP associated before the boot: now it has a port to hold it
                _router_job(conf, project or call.project_id, router_id, "boot")
            if "tag" in entry:
                wanted["tag"] = entry["tag"]
            ports.append(wanted)
    except Exception:
        for port_id in made:   # the top's addresses of a failed boot go back to the pool
            forget_bottoms(conf, port_id)
            _forward(conf, top, req, f"/v2.0/ports/{port_id}", method="DELETE", body=b"",
                     query="")
        raise
    server["networks"] = ports
    return server


# -- a server's delete ----------------------------------------------------------------------
def server_ports(conf, req, pod, server_id, rest):
    """Before a server's DELETE: the routed bottom ports the server holds in its pod
    (asked then: once deleted, Nova unbinds them)."""
    if req.method != "DELETE" or rest:
        return []
    try:
        held = gateway_network.PodNetwork(conf).find(pod["pod_name"], "ports",
                                                     device_id=server_id)
    except gateway_network.RegionError as exc:   # the gateway_ports kind frees them later
        LOG.warning("Ports of a deleted server left for the reconciler: pod=%s server=%s "
                    "error=%s", pod["pod_name"], server_id, exc)
        return []
    return [p for p in held if any(r["bottom_id"] == p["id"] for r in routings.find(
        conf, top_id=p["name"], resource_type="port"))]


def release_ports(conf, req, ports):
    """After the DELETE: the ports the gateway made for the server's boot go (top and
    bottom, as Nova deletes the ports it made); the user's own ports stay."""
    if not ports:
        return
    top = _top(conf)
    for port in ports:
        answer = _forward(conf, top, req, f"/v2.0/ports/{port['name']}", method="GET",
                          body=b"", query="")
        if answer.status != 200 or answer.json()["port"].get(
                "description") != gateway_network.MADE_FOR_BOOT:
            continue
        routers = fip_routers(conf, top, req, port["name"])
        forget_bottoms(conf, port["name"])
        gone = _forward(conf, top, req, f"/v2.0/ports/{port['name']}", method="DELETE",
                        body=b"", query="")
        for project, router_id in routers if gone.status < 300 else []:
            _router_job(conf, project, router_id, f"port {port['name']} gone")
