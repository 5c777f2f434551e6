"""East-west L3 between pods (issue 17): the router jobs of /v1.0/jobs, run by the engine.

Kind `net_router`: one durable work item per top router (two runs for one router never
overlap: one engine holds its lease), added when a job of it (`router_setup`,
`configure_route`) is created or redone. Whatever the jobs' types, a run converges the
whole top router, level-triggered (one pod's routes depend on every other pod), and
settles every open job of the router:

1. read the top router and its interfaces from the top region's Neutron: each interface
   subnet's network is bound to a pod (the pod its bottom copy is routed to, else the
   first pod of its first zone);
2. read, per pod, what exists: the tenant's bridge network and subnet (named
   `bridge-<project>`), the bottom router (routed, named after the top router), its
   gateway, interfaces and routes, and the bottom copies of the interface subnets;
3. `plan(observed, desired)`, pure: the steps that make each pod match, in order;
4. apply them, every pod at once (a pod that fails is recorded, the others still done).

The jobs go NEW -> RUNNING -> SUCCESS, or FAIL with every failing pod's reason, retried
with the kind's backoff (a redo with PUT re-runs them at once). A run where nothing changed
asks no write of any Neutron.
"""

import concurrent.futures
import dataclasses
import ipaddress
import logging

from multisite import reconcilers
from multisite.clients import router_network
from multisite.gateway import bottom as bodies
from multisite.objects import bridges, jobs, pods, routings
from multisite.reconcilers import net_north_south as north_south

LOG = logging.getLogger(__name__)

KIND = jobs.WORK_KIND
ROUTER = "router"
INTERFACE_OWNERS = ["network:router_interface", "network:router_interface_distributed"]


def bridge_name(project_id):
    return f"bridge-{project_id}"


@dataclasses.dataclass
class Desired:
    """What the top says: per pod, the interface subnets (top id -> CIDR) and the bottom
    router's bridge IP; the top networks and subnets (for bodies of missing copies)."""

    router_id: str
    project_id: str
    segmentation_id: int | None
    bridge_cidr: str
    pods: dict                      # pod -> {"subnets": {top subnet: cidr}, "bridge_ip": ip}
    subnet_network: dict = dataclasses.field(default_factory=dict)   # top subnet -> net
    # north-south (net_north_south): the top router's gateway {"pod", "network", "subnet",
    # "ip", "snat"} or None; top floating IP -> {"address", "fixed_ip", "port", "subnet",
    # "network", "mac", "port_pod", "bottom_port"}
    external: dict | None = None
    floatingips: dict = dataclasses.field(default_factory=dict)

    def routes(self, pod):
        """The extra routes of `pod`'s bottom router: every other pod's CIDRs via that
        pod's bridge IP (a CIDR the pod has itself is not routed away)."""
        own = set(self.pods[pod]["subnets"].values())
        found = set()
        for other, wanted in self.pods.items():
            if other == pod:
                continue
            for cidr in wanted["subnets"].values():
                if cidr not in own:
                    found.add((cidr, wanted["bridge_ip"]))
        return sorted(found | set(north_south.routes(self, pod)))


@dataclasses.dataclass(frozen=True)
class Step:
    pod: str
    op: str          # see plan()
    arg: object = None


def _routes(router):
    return sorted((r["destination"], r["nexthop"]) for r in router.get("routes") or [])


def _gateway_ok(router, bridge_network, bridge_ip):
    info = router.get("external_gateway_info") or {}
    return (info.get("network_id") == bridge_network and info.get("enable_snat") is False
            and any(ip.get("ip_address") == bridge_ip
                    for ip in info.get("external_fixed_ips") or []))


def overlaps(desired):
    """(cidr, cidr) pairs of two different pods that overlap (a conflict: not routable)."""
    found = []
    seen = sorted((pod, cidr) for pod, wanted in desired.pods.items()
                  for cidr in wanted["subnets"].values())
    for i, (pod_a, a) in enumerate(seen):
        for pod_b, b in seen[i + 1:]:
            if pod_a != pod_b and a != b and ipaddress.ip_network(a).overlaps(
                    ipaddress.ip_network(b)):
                found.append((a, b))
    return found


def foreign_bridges(observed, desired):
    """pod -> error for a pod whose bridge network holds another segmentation id than the
    tenant's (made by hand, or before [network] bridge_vlan_ranges changed): its L2 segment
    is not the other pods' (not routable); nothing is written there until it is fixed."""
    return {pod: f"bridge network {bridge_name(desired.project_id)} has segmentation id "
                 f"{seen['bridge_segment']}, the project's is {desired.segmentation_id} in "
                 f"every pod: delete it (with the router gateways on it) or give it that id"
            for pod, seen in observed.items()
            if desired.segmentation_id is not None and pod in desired.pods
            and seen.get("bridge_segment") not in (None, desired.segmentation_id)}


def plan(observed, desired):
    """The steps, in order, that make the pods match the top. Pure.

    observed: pod -> {"router": the bottom router or None, "interfaces": bottom subnet ids
    on it, "bridge_network": id or None, "bridge_subnet": id or None, "networks": top
    network -> bottom id, "subnets": top subnet -> bottom id, "bridge_shared": another
    router of the tenant uses the pod's bridge network}. Ops: bridge_network,
    bridge_subnet, network (top id), subnet (top id), router, gateway, add_interface (top
    subnet), remove_interface (bottom subnet), routes (list of (cidr, nexthop)), and for
    a pod no longer wanted: routes [], remove_interface..., delete_router, and
    delete_bridge (the bridge network, its subnet with it) unless another router of the
    tenant uses it.
    """
    steps = []
    for pod in sorted(desired.pods):
        seen = observed.get(pod) or {}
        wanted = desired.pods[pod]
        router = seen.get("router")
        if not seen.get("bridge_network"):
            steps.append(Step(pod, "bridge_network"))
        if not seen.get("bridge_subnet"):
            steps.append(Step(pod, "bridge_subnet"))
        networks = seen.get("networks") or {}
        subnets = seen.get("subnets") or {}
        for network in sorted({desired.subnet_network[s] for s in wanted["subnets"]}):
            if network not in networks:
                steps.append(Step(pod, "network", network))
        for subnet in sorted(wanted["subnets"]):
            if subnet not in subnets:
                steps.append(Step(pod, "subnet", subnet))
        if router is None:
            steps.append(Step(pod, "router"))
        steps += north_south.early(Step, pod, seen, desired)
        if north_south.external_pod(desired) == pod:
            steps += north_south.gateway(Step, pod, seen, desired, router)
        elif router is None or not seen.get("bridge_network") or not _gateway_ok(
                router, seen["bridge_network"], wanted["bridge_ip"]):
            steps.append(Step(pod, "gateway", wanted["bridge_ip"]))
        have = set(seen.get("interfaces") or ())
        for subnet in sorted(wanted["subnets"]):
            if router is None or subnets.get(subnet) not in have:
                steps.append(Step(pod, "add_interface", subnet))
        keep = {subnets[s] for s in wanted["subnets"] if s in subnets}
        keep |= north_south.kept_interfaces(seen, desired, pod)
        for bottom_subnet in sorted(have - keep):
            steps.append(Step(pod, "remove_interface", bottom_subnet))
        routes = desired.routes(pod)
        if router is None or _routes(router) != routes:
            steps.append(Step(pod, "routes", routes))
        steps += north_south.late(Step, pod, seen, desired, router)
    for pod in sorted(set(observed) - set(desired.pods)):
        router = observed[pod].get("router")
        if router is None:
            continue
        steps += north_south.teardown(Step, pod, observed[pod])
        if _routes(router):
            steps.append(Step(pod, "routes", []))
        for bottom_subnet in sorted(observed[pod].get("interfaces") or ()):
            steps.append(Step(pod, "remove_interface", bottom_subnet))
        steps.append(Step(pod, "delete_router"))
        steps += north_south.teardown_networks(Step, pod, observed[pod])
        if observed[pod].get("bridge_network") and not observed[pod].get("bridge_shared"):
            steps.append(Step(pod, "delete_bridge"))
    return steps


# -- reading the top and the pods ----------------------------------------------------------
class Gathered:
    """The top's view of one router (top objects kept for the bodies of missing copies)."""

    def __init__(self):
        self.router = None
        self.networks = {}
        self.subnets = {}
        self.external_network = self.external_subnet = None     # north-south


def _pod_of(conf, network, pods_by_zone, routed):
    """The pod a top network is bound to: where it is routed, else its first zone's pod."""
    if routed:
        return sorted(routed)[0]
    for zone in bodies.zones_of(network):
        if pods_by_zone.get(zone):
            return sorted(pods_by_zone[zone])[0]
    return None


def gather_top(conf, client, top, router_id, project_id):
    """(Gathered, Desired) of the top router; Desired.pods empty if the router is gone."""
    found = Gathered()
    desired = Desired(router_id=router_id, project_id=project_id, segmentation_id=None,
                      bridge_cidr=conf.network.bridge_cidr, pods={})
    found.router = client.get(top, "routers", router_id)
    if found.router is None:
        return found, desired
    desired.project_id = found.router.get("project_id") or project_id   # the router's own
    ports = client.find(top, "ports", device_id=router_id, device_owner=INTERFACE_OWNERS)
    subnet_ids = sorted({ip["subnet_id"] for p in ports for ip in p.get("fixed_ips") or []})
    found.subnets = {s["id"]: s for s in client.find_many(top, "subnets", "id", subnet_ids)}
    found.networks = {n["id"]: n for n in client.find_many(
        top, "networks", "id", sorted({s["network_id"] for s in found.subnets.values()}))}
    everything = pods.list_pods(conf)
    names = {p["pod_id"]: p["pod_name"] for p in everything}
    by_zone = {}
    for pod in everything:
        if pod["az_name"]:
            by_zone.setdefault(pod["az_name"], []).append(pod["pod_name"])
    for subnet in found.subnets.values():
        network = found.networks.get(subnet["network_id"])
        if network is None:
            continue
        routed = {names[r["pod_id"]] for r in routings.find(
            conf, top_id=network["id"], resource_type="network") if r["pod_id"] in names}
        pod = _pod_of(conf, network, by_zone, routed)
        if pod is None:
            continue      # a network bound to no pod: nothing to route
        desired.pods.setdefault(pod, {"subnets": {}, "bridge_ip": None})
        desired.pods[pod]["subnets"][subnet["id"]] = subnet["cidr"]
        desired.subnet_network[subnet["id"]] = network["id"]

    def pod_of(network):
        routed = {names[r["pod_id"]] for r in routings.find(
            conf, top_id=network["id"], resource_type="network") if r["pod_id"] in names}
        return _pod_of(conf, network, by_zone, routed)
    north_south.gather(conf, client, top, found, desired, pod_of)
    return found, desired


def _routed(conf, pod_id, top_id, kind):
    return next((r for r in routings.find(conf, top_id=top_id, resource_type=kind)
                 if r["pod_id"] == pod_id), None)


def _bottom_id(conf, client, pod, top_id, kind, collection):
    """The bottom copy of a top item in `pod`: routed, else named after the top id."""
    routing = _routed(conf, pod["pod_id"], top_id, kind)
    if routing is not None and routing["bottom_id"]:
        if client.get(pod["pod_name"], collection, routing["bottom_id"]) is not None:
            return routing["bottom_id"]
    named = client.find(pod["pod_name"], collection, name=top_id)
    return named[0]["id"] if named else None


def observe_pod(conf, client, pod, desired):
    region = pod["pod_name"]
    seen = {"router": None, "interfaces": set(), "networks": {}, "subnets": {}}
    bridge = client.find(region, "networks", name=bridge_name(desired.project_id))
    seen["bridge_network"] = bridge[0]["id"] if bridge else None
    seen["bridge_segment"] = bridge[0].get("provider:segmentation_id") if bridge else None
    seen["bridge_subnet"] = None
    if bridge:
        subnet = client.find(region, "subnets", network_id=bridge[0]["id"])
        seen["bridge_subnet"] = subnet[0]["id"] if subnet else None
    seen["bridge_shared"] = any(r != desired.router_id for r in bridges.pod_routers(
        conf, desired.project_id, region))
    wanted = desired.pods.get(region, {"subnets": {}})
    for network in sorted({desired.subnet_network[s] for s in wanted["subnets"]}):
        found = _bottom_id(conf, client, pod, network, "network", "networks")
        if found:
            seen["networks"][network] = found
    for subnet in sorted(wanted["subnets"]):
        found = _bottom_id(conf, client, pod, subnet, "subnet", "subnets")
        if found:
            seen["subnets"][subnet] = found
    router_id = _bottom_id(conf, client, pod, desired.router_id, ROUTER, "routers")
    if router_id is not None:
        seen["router"] = client.get(region, "routers", router_id)
        ports = client.find(region, "ports", device_id=router_id,
                            device_owner=INTERFACE_OWNERS)
        seen["interfaces"] = {ip["subnet_id"] for p in ports for ip in p.get("fixed_ips") or []}
    if north_south.external_pod(desired) == region:
        seen["ext_network"] = _bottom_id(conf, client, pod, desired.external["network"],
                                         "network", "networks")
        seen["ext_subnet"] = _bottom_id(conf, client, pod, desired.external["subnet"],
                                        "subnet", "subnets")
    return north_south.observe(client, region, seen, desired)


# -- applying -------------------------------------------------------------------------------
def _routed_create(conf, client, pod, kind, collection, top_id, project_id, body):
    """Create a bottom item, its routing written first and completed after."""
    routing = _routed(conf, pod["pod_id"], top_id, kind)
    if routing is None:
        routing = routings.create(conf, top_id=top_id, pod_id=pod["pod_id"],
                                  project_id=project_id, resource_type=kind)
    made = client.create(pod["pod_name"], collection, body)
    routings.complete(conf, routing["id"], made["id"])
    return made


def apply_pod(conf, client, pod, steps, seen, desired, top):
    """Run one pod's steps in order; returns what it did (for the job's result)."""
    region, project = pod["pod_name"], desired.project_id
    ids = {"bridge_network": seen.get("bridge_network"),
           "bridge_subnet": seen.get("bridge_subnet"),
           "router": (seen.get("router") or {}).get("id"),
           "ext_network": seen.get("ext_network"), "ext_subnet": seen.get("ext_subnet"),
           "shadow_networks": dict(seen.get("shadow_networks") or {}),
           "shadow_subnets": dict(seen.get("shadow_subnets") or {}),
           "shadow_ports": {t: p["id"] for t, p in (seen.get("shadow_ports") or {}).items()}}
    networks = dict(seen.get("networks") or {})
    subnets = dict(seen.get("subnets") or {})
    done = []
    for step in steps:
        if step.op == "bridge_network":
            ids["bridge_network"] = client.create(region, "networks", {
                "name": bridge_name(project), "project_id": project,
                "provider:network_type": conf.network.bridge_network_type,
                "provider:physical_network": conf.network.bridge_physical_network,
                "provider:segmentation_id": desired.segmentation_id,
                "router:external": True,
                "description": f"multisite: bridge network of project {project}"})["id"]
        elif step.op == "bridge_subnet":
            ids["bridge_subnet"] = client.create(region, "subnets", {
                "name": bridge_name(project), "project_id": project, "ip_version": 4,
                "network_id": ids["bridge_network"], "cidr": desired.bridge_cidr,
                "enable_dhcp": False, "gateway_ip": None,
                "description": f"multisite: bridge subnet of project {project}"})["id"]
        elif step.op == "network":
            networks[step.arg] = _routed_create(
                conf, client, pod, "network", "networks", step.arg, project,
                bodies.network_body(top.networks[step.arg]))["id"]
        elif step.op == "subnet":
            top_subnet = top.subnets[step.arg]
            subnets[step.arg] = _routed_create(
                conf, client, pod, "subnet", "subnets", step.arg, project,
                bodies.subnet_body(top_subnet, networks[top_subnet["network_id"]]))["id"]
        elif step.op == "router":
            ids["router"] = _routed_create(
                conf, client, pod, ROUTER, "routers", desired.router_id, project,
                {"name": desired.router_id, "project_id": project,
                 "description": f"multisite: bottom router of top router "
                                f"{desired.router_id}"})["id"]
        elif step.op == "gateway":
            client.update_router(region, ids["router"], {"external_gateway_info": {
                "network_id": ids["bridge_network"], "enable_snat": False,
                "external_fixed_ips": [{"subnet_id": ids["bridge_subnet"],
                                        "ip_address": step.arg}]}})
        elif step.op == "add_interface":
            client.router_interface(region, ids["router"], subnets[step.arg], add=True)
        elif step.op == "remove_interface":
            client.router_interface(region, ids["router"], step.arg, add=False)
        elif step.op == "routes":
            client.update_router(region, ids["router"], {"routes": [
                {"destination": cidr, "nexthop": hop} for cidr, hop in step.arg]})
        elif step.op == "delete_router":
            client.delete(region, "routers", ids["router"])
            routing = _routed(conf, pod["pod_id"], desired.router_id, ROUTER)
            if routing is not None:
                routings.delete(conf, routing["id"])
            bridges.release(conf, desired.router_id, region)
        elif step.op == "delete_bridge":       # its subnet goes with it
            client.delete(region, "networks", ids["bridge_network"])
        elif step.op == "ext_network":
            ids["ext_network"] = _routed_create(
                conf, client, pod, "network", "networks", desired.external["network"],
                project, bodies.external_network_body(top.external_network))["id"]
        elif step.op == "ext_subnet":
            ids["ext_subnet"] = _routed_create(
                conf, client, pod, "subnet", "subnets", desired.external["subnet"], project,
                bodies.subnet_body(top.external_subnet, ids["ext_network"]))["id"]
        else:
            north_south.apply(client, region, step, ids, desired, top)
        done.append(step.op if step.arg is None or step.op == "routes" else
                    f"{step.op} {step.arg}")
    return done


def converge(conf, client, router_id, project_id):
    """Make every pod match the top router; returns (result, {pod: error})."""
    everything = pods.list_pods(conf)
    top = next((p for p in everything if not p["az_name"]), None)
    if top is None:
        raise reconcilers.PermanentError("no top region is registered (POST /v1.0/pods)")
    by_name = {p["pod_name"]: p for p in everything if p["az_name"]}
    gathered, desired = gather_top(conf, client, top["pod_name"], router_id, project_id)
    project_id = desired.project_id
    conflicts = overlaps(desired)
    if conflicts:
        raise reconcilers.PermanentError("overlapping CIDRs in different pods cannot be "
                                         "routed: " + ", ".join(f"{a} and {b}"
                                                                for a, b in conflicts))
    if desired.pods:
        desired.segmentation_id = bridges.segment(conf, project_id)
    for pod in desired.pods:
        desired.pods[pod]["bridge_ip"] = bridges.address(conf, project_id, router_id, pod)
    names = {p["pod_id"]: n for n, p in by_name.items()}
    involved = set(desired.pods) | set(bridges.addresses(conf, router_id)) | {
        names.get(r["pod_id"]) for r in routings.find(conf, top_id=router_id,
                                                      resource_type=ROUTER)}
    involved = sorted(p for p in involved if p in by_name)
    if gathered.router is None:     # gone at the top: its routing to the top region too
        for routing in routings.find(conf, top_id=router_id, resource_type=ROUTER):
            if routing["pod_id"] == top["pod_id"]:
                routings.delete(conf, routing["id"])
    errors, observed, result = {}, {}, {"pods": {}, "segmentation_id":
                                        desired.segmentation_id}

    def each(work):
        """work(name) for every involved pod at once; a pod's RegionError is its error."""
        with concurrent.futures.ThreadPoolExecutor(max(1, len(involved)),
                                                   thread_name_prefix="net-router") as pool:
            futures = {name: pool.submit(work, name) for name in involved
                       if name not in errors}
        found = {}
        for name, future in futures.items():
            try:
                found[name] = future.result()
            except router_network.RegionError as exc:
                errors[name] = str(exc)
        return found

    observed = each(lambda name: observe_pod(conf, client, by_name[name], desired))
    errors.update(foreign_bridges(observed, desired))
    steps = plan(observed, desired)
    result["pods"] = each(lambda name: apply_pod(
        conf, client, by_name[name], [s for s in steps if s.pod == name], observed[name],
        desired, gathered))
    return result, errors


def _settle(conf, job_ids, status, error=None):
    for job_id in job_ids:
        try:
            jobs.set_status(conf, job_id, status, error)
        except jobs.JobNotFound:
            pass                                # deleted meanwhile


def reconcile(key, env):
    """key.id: a top router. Its open jobs go RUNNING, then SUCCESS or FAIL together."""
    conf, client = env.conf, env.shared
    running = jobs.open_router_jobs(conf, key.id)
    if not running:
        return reconcilers.Outcome.done()
    ids = [j["id"] for j in running]
    _settle(conf, ids, jobs.RUNNING)
    try:
        result, errors = converge(conf, client, key.id, running[0]["project_id"])
    except router_network.RegionError as exc:
        _settle(conf, ids, jobs.FAIL, f"top region: {exc}")
        raise reconcilers.TemporaryError(f"top region: {exc}") from exc
    except reconcilers.PermanentError as exc:
        _settle(conf, ids, jobs.FAIL, str(exc))
        raise
    except Exception as exc:
        _settle(conf, ids, jobs.FAIL, f"internal error: {type(exc).__name__}")
        raise
    if errors:
        reason = "; ".join(f"pod {pod}: {error}" for pod, error in sorted(errors.items()))
        _settle(conf, ids, jobs.FAIL, reason)
        raise reconcilers.TemporaryError(reason)
    _settle(conf, ids, jobs.SUCCESS)
    LOG.info("Router converged: router=%s jobs=%s steps=%s", key.id, ids, result["pods"])
    if any(j["status"] == jobs.NEW for j in jobs.open_router_jobs(conf, key.id)):
        # a job registered while this ran (its item was this one): run again now
        return reconcilers.Outcome.requeue_after(0, result=result)
    return reconcilers.Outcome.done(result=result)
