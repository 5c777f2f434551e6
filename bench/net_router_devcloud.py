"""bench.net_router's devcloud mode (see bench/net_router.py): the router steps on an API-only
devcloud's real Neutrons, the interfaces added through a multisite-gateway process, with
the direct calls measured in the same run."""

import contextlib
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import openstack

from bench.gateway import start_gateway
from multisite.clients import router_network
from multisite.conf import CONF
from multisite.engine import controller
from multisite.objects import jobs, pods
from multisite.reconcilers import Key, net_router
from tests.integration.test_net_router import drop_router
from tests.integration.usage import DevCloud

TOP = "RegionOne"


def run_router(router_id):
    """One run of the router's work item, as an engine runs it: writes per pod."""
    client = router_network.RouterNetwork(CONF)
    env = controller.Env(shared=client, conf=CONF, engine_id="bench")
    outcome = net_router.reconcile(Key(net_router.KIND, router_id), env)
    assert outcome.status == "done", outcome
    return dict(client.writes)


def check_converged(admins, router_id, cidrs):
    """Every pod of `cidrs` (pod -> its CIDRs) routes every other pod's CIDRs via that
    pod's bridge IP, read from each pod's own Neutron."""
    bottoms = {}
    for pod in cidrs:
        (bottoms[pod],) = list(admins[pod].network.routers(name=router_id))
    hops = {pod: r.external_gateway_info["external_fixed_ips"][0]["ip_address"]
            for pod, r in bottoms.items()}
    for pod, bottom in bottoms.items():
        want = sorted((c, hops[o]) for o in cidrs if o != pod for c in cidrs[o])
        got = sorted((r["destination"], r["nexthop"]) for r in bottom.routes)
        assert got == want, (pod, got, want)
    return bottoms


def step(via, admins, router, subnets, cidrs):
    """Interfaces added through the gateway, the run, the pods read: seconds and writes."""
    started = time.monotonic()
    for subnet in subnets:
        via.network.add_interface_to_router(router, subnet_id=subnet.id)
    added = time.monotonic()
    writes = run_router(router.id)
    ran = time.monotonic()
    check_converged(admins, router.id, cidrs)
    return {"add": added - started, "run": ran - added, "read": time.monotonic() - ran,
            "total": time.monotonic() - started, "writes": writes}


def direct_add_ms(top, rounds=3):
    """add_router_interface straight to the top's Neutron (a scratch router), p50 ms."""
    router = top.network.create_router(name="bench-net17-direct")
    made, spent = [], []
    try:
        for i in range(rounds):
            net = top.network.create_network(name=f"bench-net17-direct-{i}")
            made.append(net)
            subnet = top.network.create_subnet(network_id=net.id, ip_version=4,
                                               cidr=f"10.254.{i}.0/24")
            started = time.monotonic()
            top.network.add_interface_to_router(router, subnet_id=subnet.id)
            spent.append((time.monotonic() - started) * 1000)
            top.network.remove_interface_from_router(router, subnet_id=subnet.id)
    finally:
        top.network.delete_router(router, ignore_missing=True)
        for net in made:
            top.network.delete_network(net, ignore_missing=True)
    return statistics.median(spent)


def pod_write_ms(admin, bottom, rounds=5):
    """One router write (its routes, unchanged: a PUT all the same) straight to a pod's
    Neutron, p50 ms."""
    spent = []
    for _ in range(rounds):
        started = time.monotonic()
        resp = admin.network.put(f"/routers/{bottom.id}",
                                 json={"router": {"routes": bottom.routes}})
        spent.append((time.monotonic() - started) * 1000)
        assert resp.status_code == 200, resp.text
    return statistics.median(spent)


def size(cloud, via, admins, project, regions, count):
    """first (count pods), +1 pod (if the devcloud has one more), redo; then teardown."""
    used = regions[:count + 1]
    second = random.randrange(100, 200)
    nets, subnets, cidrs, rows, direct = {}, {}, {}, [], {}
    router = None
    try:
        for i, pod in enumerate(used, 1):
            nets[pod] = via.network.create_network(name=f"bench-net17-{pod}",
                                                   availability_zone_hints=[f"az{i}"])
            subnets[pod] = via.network.create_subnet(network_id=nets[pod].id, ip_version=4,
                                                     cidr=f"10.{second}.{i}.0/24")
        router = via.network.create_router(name=f"bench-net17-{count}")
        cidrs = {pod: [subnets[pod].cidr] for pod in used[:count]}
        rows.append(("first", step(via, admins, router, [subnets[p] for p in used[:count]],
                                   cidrs)))
        bottom = check_converged(admins, router.id, cidrs)[used[0]]
        direct["pod_write_ms"] = pod_write_ms(admins[used[0]], bottom)
        if len(used) > count:
            cidrs[used[count]] = [subnets[used[count]].cidr]
            rows.append(("+1 pod", step(via, admins, router, [subnets[used[count]]], cidrs)))
        jobs.create(CONF, project_id=project, job_type="configure_route",
                    resource={"router_id": router.id})
        started = time.monotonic()
        writes = run_router(router.id)
        rows.append(("redo", {"add": 0.0, "run": time.monotonic() - started, "read": 0.0,
                              "total": time.monotonic() - started, "writes": writes}))
        direct["top_add_ms"] = direct_add_ms(cloud.admin_connection(TOP))
        for pod in cidrs:
            via.network.remove_interface_from_router(router, subnet_id=subnets[pod].id)
        via.network.delete_router(router)
        started = time.monotonic()
        writes = run_router(router.id)
        rows.append(("teardown", {"add": 0.0, "run": time.monotonic() - started,
                                  "read": 0.0, "total": time.monotonic() - started,
                                  "writes": writes}))
        router = None
    finally:
        if router is not None:
            drop_router(via, router, subnets.values())
            with contextlib.suppress(Exception):
                run_router(router.id)
        for pod in used:     # the bottom tenant networks stay when the router goes
            for net in nets.values():
                for bottom_net in admins[pod].network.networks(name=net.id):
                    admins[pod].network.delete_network(bottom_net, ignore_missing=True)
        for net in nets.values():
            via.network.delete_network(net, ignore_missing=True)
    return rows, direct


def main(base, counts):
    cloud = DevCloud.from_base(Path(base))
    regions = [r for r in cloud.regions if r != TOP]
    counts = [c for c in counts if c <= len(regions)]
    proc, compute = start_gateway(Path(tempfile.mkdtemp(prefix="bench-net17-")),
                                  cloud.keystone_url)
    first = random.randrange(3000, 3990)       # VLANs no other run of this devcloud holds
    CONF.set_override("bridge_vlan_ranges", [f"{first}:{first + 9}"], group="network")
    for i, region in enumerate(regions, 1):
        if not any(p["pod_name"] == region for p in pods.list_pods(CONF)):
            pods.create(CONF, name=region, az_name=f"az{i}")
    via = openstack.connection.Connection(
        session=cloud.session(), region_name=TOP, identity_api_version="3",
        network_endpoint_override=compute.removesuffix("/compute/v2.1") + "/network")
    admins = {pod: cloud.admin_connection(pod) for pod in regions}
    project = cloud.session().get_project_id()
    print(f"devcloud {cloud.base}: top {TOP}, pods {', '.join(regions)}; "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'pods':>4} {'step':>8} {'add via gw_s':>12} {'run_s':>6} {'read_s':>6} "
          f"{'total_s':>7}  writes per pod")
    try:
        for count in counts:
            rows, direct = size(cloud, via, admins, project, regions, count)
            for name, row in rows:
                writes = ", ".join(f"{p} {n}" for p, n in sorted(row["writes"].items()))
                print(f"{count:>4} {name:>8} {row['add']:>12.2f} {row['run']:>6.2f} "
                      f"{row['read']:>6.2f} {row['total']:>7.2f}  {writes or 'none'}",
                      flush=True)
            per_interface = rows[0][1]["add"] / count * 1000
            print(f"     direct, same run: add_router_interface at the top "
                  f"{direct['top_add_ms']:.0f} ms (through the gateway {per_interface:.0f} "
                  f"ms per interface); one router write in {regions[0]} "
                  f"{direct['pod_write_ms']:.0f} ms; load {os.getloadavg()[0]:.1f}",
                  flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
