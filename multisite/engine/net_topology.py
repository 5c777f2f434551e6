"""What a top router is in every pod, read live, and whether it matches the top (issue 17:
`multisite network topology show`, `GET /v2/routers/{id}/topology`).

The router jobs' own reads (reconcilers/net_router.py: `gather_top`, `observe_pod`) and
their pure `plan()`: a pod is in sync when plan() has no step for it. Nothing is written:
a bridge IP or segmentation id never allocated shows as missing, not allocated here.
"""

import concurrent.futures

from multisite.clients import router_network
from multisite.objects import bridges, pods, routings
from multisite.reconcilers import net_router


def _interfaces(seen, desired, pod):
    """The bottom router's interfaces, each with its top subnet and CIDR where known."""
    tops = {bottom: top for top, bottom in (seen.get("subnets") or {}).items()}
    cidrs = desired.pods.get(pod, {}).get("subnets", {})
    return [{"bottom_subnet_id": b, "top_subnet_id": tops.get(b),
             "cidr": cidrs.get(tops.get(b))} for b in sorted(seen.get("interfaces") or ())]


def _pod_view(client, name, seen, desired, steps):
    router = seen.get("router") or {}
    info = router.get("external_gateway_info") or {}
    segment = None
    if seen.get("bridge_network"):
        bridge = client.get(name, "networks", seen["bridge_network"]) or {}
        segment = bridge.get("provider:segmentation_id")
    wanted = desired.pods.get(name)
    return {
        "pod": name, "router_id": router.get("id"),
        "bridge_network_id": seen.get("bridge_network"), "segmentation_id": segment,
        "bridge_ip": next((ip.get("ip_address") for ip in info.get("external_fixed_ips")
                           or []), None),
        "expected_bridge_ip": wanted["bridge_ip"] if wanted else None,
        "interfaces": _interfaces(seen, desired, name),
        "routes": [{"destination": d, "nexthop": n}
                   for d, n in net_router._routes(router)],
        "expected_routes": [{"destination": d, "nexthop": n}
                            for d, n in (desired.routes(name) if wanted else [])],
        "wanted": wanted is not None,
        "in_sync": not steps,
        "drift": [s.op if s.arg is None or s.op == "routes" else f"{s.op} {s.arg}"
                  for s in steps],
        "error": None,
    }


def read(conf, router_id, project_id, *, client=None):
    """{"router_id", "project_id", "exists_at_top", "in_sync", "pods": [...]}."""
    client = client or router_network.RouterNetwork(conf)
    everything = pods.list_pods(conf)
    top = next((p for p in everything if not p["az_name"]), None)
    if top is None:
        return {"router_id": router_id, "project_id": project_id, "exists_at_top": False,
                "in_sync": False, "pods": [], "error": "no top region is registered"}
    by_name = {p["pod_name"]: p for p in everything if p["az_name"]}
    gathered, desired = net_router.gather_top(conf, client, top["pod_name"], router_id,
                                              project_id)
    ips = bridges.addresses(conf, router_id)
    for name, wanted in desired.pods.items():
        wanted["bridge_ip"] = ips.get(name)
    names = {p["pod_id"]: n for n, p in by_name.items()}
    involved = sorted(p for p in set(desired.pods) | set(ips) | {
        names.get(r["pod_id"]) for r in routings.find(conf, top_id=router_id,
                                                      resource_type=net_router.ROUTER)}
        if p in by_name)

    def observe(name):
        try:
            return net_router.observe_pod(conf, client, by_name[name], desired)
        except router_network.RegionError as exc:
            return exc

    with concurrent.futures.ThreadPoolExecutor(max(1, len(involved)),
                                               thread_name_prefix="net-topology") as pool:
        observed = dict(zip(involved, pool.map(observe, involved), strict=True))
    steps = net_router.plan({n: s for n, s in observed.items()
                             if not isinstance(s, Exception)}, desired)
    views = []
    for name, seen in observed.items():
        if isinstance(seen, Exception):
            views.append({"pod": name, "in_sync": False, "error": str(seen),
                          "wanted": name in desired.pods})
            continue
        try:
            views.append(_pod_view(client, name, seen, desired,
                                   [s for s in steps if s.pod == name]))
        except router_network.RegionError as exc:
            views.append({"pod": name, "in_sync": False, "error": str(exc),
                          "wanted": name in desired.pods})
    return {"router_id": router_id, "project_id": desired.project_id,
            "exists_at_top": gathered.router is not None,
            "in_sync": all(v["in_sync"] for v in views), "pods": views, "error": None}
