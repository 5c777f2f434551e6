"""North-south for the router jobs (kind `net_router`, issue 17): the top router's gateway
on an external network bound to a pod, and its floating IPs (docs/networking.md).

In the external network's pod the bottom router's gateway is the pod's copy of the
external network (the top's gateway IP, its SNAT flag) and the bridge network becomes an
interface at the router's bridge IP (east-west unchanged); the other pods route 0.0.0.0/0
to that bridge IP. A floating IP of the top router is made in the external pod with the
top's address, on the port's bottom copy there or, for a port living in another pod, on a
shadow port (the port's IP and MAC, `compute:shadow`) on a shadow copy of its network,
whose subnet is an interface of the bottom router (Neutron wants it to associate).

Pure parts: `routes`, `early` and `late` (the steps of plan()); the rest reads the top and
a pod, and applies the steps.
"""

from multisite.objects import pods, routings

SHADOW_OWNER = "compute:shadow"


def shadow_text(kind, top_id, router_id):
    """The description that marks a shadow item of `router_id` (how a run finds them)."""
    return f"multisite: shadow of top {kind} {top_id} (router {router_id})"


def fip_text(top_id):
    return f"multisite: top floating IP {top_id}"


def _top_of(text, prefix):
    """The top id a marking description names (None if not ours)."""
    if not text or not text.startswith(prefix):
        return None
    return text[len(prefix):].split(" ")[0]


# -- pure: what plan() adds -------------------------------------------------------------------
def external_pod(desired):
    return (desired.external or {}).get("pod")


def routes(desired, pod):
    """The default route of a pod other than the external one: via its bridge IP."""
    ext = external_pod(desired)
    if ext is None or ext == pod or ext not in desired.pods:
        return []
    return [("0.0.0.0/0", desired.pods[ext]["bridge_ip"])]


def wanted_fips(desired, pod):
    """top floating IP -> its spec, for the external pod (else {})."""
    return dict(desired.floatingips) if external_pod(desired) == pod else {}


def _shadows(desired, pod):
    """(top port -> spec) of the floating IPs whose port lives in another pod."""
    return {f["port"]: f for f in wanted_fips(desired, pod).values() if f["port_pod"] != pod}


def _fip_ok(found, spec, seen):
    if spec["port_pod"] != seen.get("_pod"):
        shadow = (seen.get("shadow_ports") or {}).get(spec["port"]) or {}
        port = shadow.get("id") if _shadow_port_ok(shadow, spec, seen) else None
    else:
        port = spec.get("bottom_port")
    return (found.get("floating_ip_address") == spec["address"]
            and found.get("fixed_ip_address") == spec["fixed_ip"]
            and port is not None and found.get("port_id") == port)


def stale_fips(seen, desired, pod):
    """Bottom floating IPs (top id -> bottom item) that go (gone at the top, or changed)."""
    wanted = wanted_fips(desired, pod)
    seen = dict(seen, _pod=pod)
    return {top: found for top, found in (seen.get("floatingips") or {}).items()
            if top not in wanted or not _fip_ok(found, wanted[top], seen)}


def early(step, pod, seen, desired):
    """Before the gateway step: floating IPs and shadow ports that go, the bridge
    interface of a pod whose router leaves the external network (frees the bridge IP)."""
    steps = []
    for top in sorted(stale_fips(seen, desired, pod)):
        steps.append(step(pod, "delete_fip", seen["floatingips"][top]["id"]))
    shadows = _shadows(desired, pod)
    for port, found in sorted((seen.get("shadow_ports") or {}).items()):
        if port not in shadows or not _shadow_port_ok(found, shadows[port], seen):
            steps.append(step(pod, "delete_shadow_port", found["id"]))
    if external_pod(desired) != pod and seen.get("bridge_subnet") in (
            seen.get("interfaces") or ()):
        steps.append(step(pod, "remove_interface", seen["bridge_subnet"]))
    if external_pod(desired) == pod:
        if not seen.get("ext_network"):
            steps.append(step(pod, "ext_network"))
        if not seen.get("ext_subnet"):
            steps.append(step(pod, "ext_subnet"))
    return steps


def _shadow_port_ok(found, spec, seen):
    subnet = (seen.get("shadow_subnets") or {}).get(spec["subnet"])
    return (found.get("mac_address") == spec["mac"] and
            [(ip.get("subnet_id"), ip.get("ip_address")) for ip in found.get("fixed_ips")
             or []] == [(subnet, spec["fixed_ip"])])


def gateway_ok(router, seen, desired):
    ext = desired.external
    info = (router or {}).get("external_gateway_info") or {}
    return (info.get("network_id") == seen.get("ext_network") is not None
            and info.get("enable_snat") is ext["snat"]
            and any(ip.get("ip_address") == ext["ip"]
                    for ip in info.get("external_fixed_ips") or []))


def gateway(step, pod, seen, desired, router):
    """The external pod's gateway steps (instead of the bridge gateway)."""
    steps = []
    if router is None or not gateway_ok(router, seen, desired):
        steps.append(step(pod, "ext_gateway"))
    if router is None or seen.get("bridge_subnet") not in (seen.get("interfaces") or ()):
        steps.append(step(pod, "bridge_interface", desired.pods[pod]["bridge_ip"]))
    return steps


def kept_interfaces(seen, desired, pod):
    """Bottom subnets on the router that east-west must not remove (the bridge subnet is
    the external pod's interface, removed by early() elsewhere)."""
    kept = {seen["bridge_subnet"]} if seen.get("bridge_subnet") else set()  # see early()
    shadow_subnets = seen.get("shadow_subnets") or {}
    kept |= {shadow_subnets[s["subnet"]] for s in _shadows(desired, pod).values()
             if s["subnet"] in shadow_subnets}
    return kept


def late(step, pod, seen, desired, router):
    """After the routes: shadow copies and ports, the floating IPs; shadow networks no
    longer needed go last (their interfaces were removed by then)."""
    steps = []
    shadows = _shadows(desired, pod)
    networks = seen.get("shadow_networks") or {}
    subnets = seen.get("shadow_subnets") or {}
    interfaces = seen.get("interfaces") or ()
    for network in sorted({s["network"] for s in shadows.values()} - set(networks)):
        steps.append(step(pod, "shadow_network", network))
    for subnet in sorted({s["subnet"] for s in shadows.values()}):
        if subnet not in subnets:
            steps.append(step(pod, "shadow_subnet", subnet))
        if router is None or subnets.get(subnet) not in interfaces:
            steps.append(step(pod, "shadow_interface", subnet))
    ports = seen.get("shadow_ports") or {}
    for port, spec in sorted(shadows.items()):
        if port not in ports or not _shadow_port_ok(ports[port], spec, seen):
            steps.append(step(pod, "shadow_port", port))
    stale = stale_fips(seen, desired, pod)
    for top in sorted(wanted_fips(desired, pod)):
        if top not in (seen.get("floatingips") or {}) or top in stale:
            steps.append(step(pod, "fip", top))
    steps += teardown_networks(step, pod, seen, {s["network"] for s in shadows.values()})
    return steps


def teardown(step, pod, seen):
    """A pod no longer wanted: its floating IPs and shadow ports first."""
    return ([step(pod, "delete_fip", f["id"]) for _, f in
             sorted((seen.get("floatingips") or {}).items())] +
            [step(pod, "delete_shadow_port", p["id"]) for _, p in
             sorted((seen.get("shadow_ports") or {}).items())])


def teardown_networks(step, pod, seen, keep=frozenset()):
    return [step(pod, "delete_shadow_network", bottom_id) for top, bottom_id in
            sorted((seen.get("shadow_networks") or {}).items()) if top not in keep]


# -- reading the top and a pod ----------------------------------------------------------------
def gather(conf, client, top, found, desired, pod_of):
    """Fill desired.external and desired.floatingips from the top router `found.router`
    (`pod_of(network)`: the pod a top network is bound to); the top items the shadow copies
    are made from go into `found`."""
    info = found.router.get("external_gateway_info") or {}
    network = client.get(top, "networks", info["network_id"]) if info.get(
        "network_id") else None
    pod = pod_of(network) if network else None
    ips = info.get("external_fixed_ips") or []
    if pod is None or not ips:
        return
    found.external_network = network
    found.external_subnet = client.get(top, "subnets", ips[0]["subnet_id"])
    desired.external = {"pod": pod, "network": network["id"], "subnet": ips[0]["subnet_id"],
                        "ip": ips[0]["ip_address"], "snat": info.get("enable_snat", True)}
    desired.pods.setdefault(pod, {"subnets": {}, "bridge_ip": None})
    fips = [f for f in client.find(top, "floatingips", router_id=desired.router_id)
            if f.get("port_id")]
    ports = {p["id"]: p for p in client.find_many(top, "ports", "id",
                                                  sorted({f["port_id"] for f in fips}))}
    names = {p["pod_id"]: p["pod_name"] for p in pods.list_pods(conf)}
    for fip in fips:
        port = ports.get(fip["port_id"])
        where = {names.get(r["pod_id"]): r["bottom_id"] for r in routings.find(
            conf, top_id=fip["port_id"], resource_type="port") if r["bottom_id"]}
        where.pop(None, None)
        subnet = next((ip["subnet_id"] for ip in (port or {}).get("fixed_ips") or []
                       if ip["ip_address"] == fip["fixed_ip_address"]), None)
        if port is None or not where or subnet is None:
            continue            # a port in no pod yet: nothing to associate there
        port_pod = pod if pod in where else sorted(where)[0]
        desired.floatingips[fip["id"]] = {
            "address": fip["floating_ip_address"], "fixed_ip": fip["fixed_ip_address"],
            "port": port["id"], "subnet": subnet, "network": port["network_id"],
            "mac": port["mac_address"], "port_pod": port_pod,
            "bottom_port": where.get(pod)}
    missing = sorted({f["subnet"] for f in desired.floatingips.values()} - set(found.subnets))
    found.subnets.update({s["id"]: s for s in client.find_many(top, "subnets", "id", missing)})
    missing = sorted({f["network"] for f in desired.floatingips.values()} - set(found.networks))
    found.networks.update({n["id"]: n for n in client.find_many(top, "networks", "id",
                                                                missing)})


def _marked(items, kind, router_id):
    """top id -> item, for the items whose description marks them as this router's."""
    prefix = f"multisite: shadow of top {kind} "
    found = {}
    for item in items:
        top = _top_of(item.get("description"), prefix)
        if top and item["description"] == shadow_text(kind, top, router_id):
            found[top] = item
    return found


def observe(client, region, seen, desired):
    """Add to `seen` the pod's floating IPs on the bottom router and this router's shadow
    networks, subnets and ports."""
    project, router_id = desired.project_id, desired.router_id
    seen["shadow_ports"] = _marked(client.find(region, "ports", device_owner=SHADOW_OWNER,
                                               project_id=project), "port", router_id)
    networks = _marked(client.find(region, "networks", project_id=project), "network",
                       router_id)
    seen["shadow_networks"] = {top: n["id"] for top, n in networks.items()}
    subnets = client.find(region, "subnets", network_id=sorted(
        seen["shadow_networks"].values())) if networks else []
    seen["shadow_subnets"] = {top: s["id"] for top, s in _marked(subnets, "subnet",
                                                                 router_id).items()}
    seen["floatingips"] = {}
    if seen.get("router"):
        for fip in client.find(region, "floatingips", router_id=seen["router"]["id"]):
            top = _top_of(fip.get("description"), "multisite: top floating IP ")
            if top:
                seen["floatingips"][top] = fip
    return seen


# -- applying ------------------------------------------------------------------------------------
def apply(client, region, step, ids, desired, top):
    """One north-south step in `region` (ids: the pod's bottom ids known so far, updated)."""
    project, router_id = desired.project_id, desired.router_id
    if step.op == "ext_gateway":
        client.update_router(region, ids["router"], {"external_gateway_info": {
            "network_id": ids["ext_network"], "enable_snat": desired.external["snat"],
            "external_fixed_ips": [{"subnet_id": ids["ext_subnet"],
                                    "ip_address": desired.external["ip"]}]}})
    elif step.op == "bridge_interface":
        port = client.create(region, "ports", {
            "name": f"bridge-{router_id}", "network_id": ids["bridge_network"],
            "project_id": project, "fixed_ips": [{"subnet_id": ids["bridge_subnet"],
                                                  "ip_address": step.arg}],
            "description": f"multisite: bridge interface of router {router_id}"})
        client.router_port_interface(region, ids["router"], port["id"])
    elif step.op == "delete_fip":
        client.delete(region, "floatingips", step.arg)
    elif step.op in ("delete_shadow_port", "delete_shadow_network"):
        client.delete(region, "ports" if step.op == "delete_shadow_port" else "networks",
                      step.arg)
    elif step.op == "shadow_network":
        ids["shadow_networks"][step.arg] = client.create(region, "networks", {
            "name": f"shadow-{step.arg}", "project_id": project,
            "description": shadow_text("network", step.arg, router_id)})["id"]
    elif step.op == "shadow_subnet":
        subnet = top.subnets[step.arg]
        body = {k: v for k, v in subnet.items() if k in (
            "ip_version", "cidr", "gateway_ip", "allocation_pools")}
        ids["shadow_subnets"][step.arg] = client.create(region, "subnets", dict(
            body, name=f"shadow-{step.arg}", project_id=project, enable_dhcp=False,
            network_id=ids["shadow_networks"][subnet["network_id"]],
            description=shadow_text("subnet", step.arg, router_id)))["id"]
    elif step.op == "shadow_interface":
        client.router_interface(region, ids["router"], ids["shadow_subnets"][step.arg],
                                add=True)
    elif step.op == "shadow_port":
        spec = next(f for f in desired.floatingips.values() if f["port"] == step.arg)
        ids["shadow_ports"][step.arg] = client.create(region, "ports", {
            "name": f"shadow-{step.arg}", "project_id": project,
            "network_id": ids["shadow_networks"][spec["network"]],
            "mac_address": spec["mac"], "device_owner": SHADOW_OWNER,
            "fixed_ips": [{"subnet_id": ids["shadow_subnets"][spec["subnet"]],
                           "ip_address": spec["fixed_ip"]}],
            "description": shadow_text("port", step.arg, router_id)})["id"]
    elif step.op == "fip":
        spec = desired.floatingips[step.arg]
        port = spec["bottom_port"] if spec["port_pod"] == region else \
            ids["shadow_ports"][spec["port"]]
        client.create(region, "floatingips", {
            "floating_network_id": ids["ext_network"], "project_id": project,
            "floating_ip_address": spec["address"], "port_id": port,
            "fixed_ip_address": spec["fixed_ip"], "description": fip_text(step.arg)})
    else:
        raise ValueError(f"unknown step {step.op}")
