"""A pod's Neutron down during router setup (issue 17, failures) on the API-only devcloud's
real Neutrons: RegionThree's (Pod2's) neutron-server is killed after the interfaces were
added at the top; the router's run FAILs its jobs naming the pod while RegionTwo (Pod1) is
configured; neutron-server started again and the jobs redone, the run converges RegionThree
(its writes only: RegionTwo is not written again); a new job on the converged router writes
nothing in any pod (the client counts every Neutron write).

The topology read (engine/net_topology.py) is checked at each stage.

This test kills a devcloud service: run it on a devcloud of your own (or CI's), never on a
shared one. neutron-server is started again in a `finally`, whatever happened.
"""

import contextlib
import signal
import time

import pytest

from multisite.devcloud import layout as L
from multisite.devcloud import services as S
from multisite.engine import net_topology
from multisite.objects import jobs, work_items
from multisite.reconcilers import net_router
from tests.integration.test_gateway import gateway  # noqa: F401  (fixture)
from tests.integration.test_gateway_neutron import member_network, nconf  # noqa: F401
from tests.integration.test_net_router import (  # noqa: F401
    CIDRS,
    ZONES,
    cleanup_pods,
    drop_router,
    lconf,
    run,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration

DOWN = "RegionThree"       # Pod2
UP = "RegionTwo"           # Pod1


def _neutron(devcloud, region):
    name = f"r{L.region_index(region)}-neutron"
    return next(s for s in S.known_services(devcloud.layout) if s.name == name)


@contextlib.contextmanager
def neutron_killed(devcloud, region):
    """`region`'s neutron-server killed (its process group) inside the block; started
    again on leaving it (normal exit or not) and waited for until it answers."""
    svc = _neutron(devcloud, region)
    assert svc.is_running(), f"{svc.name} is not running before the test"
    state = {"down": False}

    def start_again():
        if state["down"]:
            svc.start()
            svc.wait_ready(time.monotonic() + 180)
            state["down"] = False

    svc.signal(signal.SIGKILL)
    state["down"] = True
    wait_for(lambda: not S.http_answers(svc.url, timeout=2), timeout=30,
             what=f"{svc.name} stopped")
    try:
        yield start_again
    finally:
        start_again()


def _bottom(devcloud, region, router_id):
    admin = devcloud.admin_connection(region).network
    found = list(admin.routers(name=router_id))
    return admin, (found[0] if found else None)


def test_a_pod_down_fails_its_jobs_the_other_pod_is_configured_and_a_redo_converges(
        devcloud, fresh_project, gateway, lconf):  # noqa: F811
    sdk = member_network(devcloud, fresh_project, gateway)
    nets, subnets, router = {}, {}, None
    try:
        for pod, cidr in CIDRS.items():
            nets[pod] = sdk.network.create_network(
                name=f"net-{pod}", availability_zone_hints=[ZONES[pod]])
            subnets[pod] = sdk.network.create_subnet(network_id=nets[pod].id, cidr=cidr,
                                                     ip_version=4, name=f"sub-{pod}")
        router = sdk.network.create_router(name="pod-down")
        for pod in CIDRS:
            sdk.network.add_interface_to_router(router, subnet_id=subnets[pod].id)
        made, _ = jobs.list_jobs(lconf, project_id=fresh_project.id)
        assert len(made) == 2
        with neutron_killed(devcloud, DOWN) as start_again:
            status, writes = run(lconf, router.id)
            # a temporary failure: the item waits for its retry, the jobs FAIL with why
            assert status == "WAITING", status
            for job in made:
                failed = jobs.get(lconf, job["id"])
                assert failed["status"] == "FAIL", failed
                assert failed["error"].startswith(f"pod {DOWN}: "), failed["error"]
            (item,) = work_items.list_items(lconf, kind=net_router.KIND)
            assert item["key_id"] == router.id and DOWN in item["last_error"], item
            assert writes.get(DOWN, 0) == 0 and writes[UP] == 8, writes
            # Pod1 is configured: interface, gateway on the bridge, the route to Pod2
            admin, bottom = _bottom(devcloud, UP, router.id)
            assert bottom is not None
            info = bottom.external_gateway_info
            assert info and info["enable_snat"] is False
            assert [r["destination"] for r in bottom.routes] == [CIDRS[DOWN]]
            (bsub,) = list(admin.subnets(name=subnets[UP].id))
            assert [p.fixed_ips[0]["subnet_id"] for p in admin.ports(
                device_id=bottom.id, device_owner="network:router_interface")] == [bsub.id]
            # the topology read: Pod1 in sync, Pod2 unreadable
            seen = {p["pod"]: p for p in net_topology.read(
                lconf, router.id, fresh_project.id)["pods"]}
            assert seen[UP]["in_sync"] is True, seen[UP]
            assert seen[DOWN]["in_sync"] is False and seen[DOWN]["error"], seen[DOWN]
            start_again()
            seen = {p["pod"]: p for p in net_topology.read(
                lconf, router.id, fresh_project.id)["pods"]}
            assert seen[DOWN]["router_id"] is None and "router" in seen[DOWN]["drift"]
        # Neutron back: redo the failed jobs; only the pod that was down is written
        for job in made:
            assert jobs.redo(lconf, job["id"])["status"] == "NEW"
        status, writes = run(lconf, router.id)
        assert status == "DONE"
        assert writes == {DOWN: 8}, writes
        assert [jobs.get(lconf, j["id"])["status"] for j in made] == ["SUCCESS"] * 2
        bridge_ips = {}
        for pod in CIDRS:
            _, bottom = _bottom(devcloud, pod, router.id)
            bridge_ips[pod] = bottom.external_gateway_info["external_fixed_ips"][0][
                "ip_address"]
        for pod, other in ((UP, DOWN), (DOWN, UP)):
            _, bottom = _bottom(devcloud, pod, router.id)
            assert bottom.routes == [{"destination": CIDRS[other],
                                      "nexthop": bridge_ips[other]}]
        found = net_topology.read(lconf, router.id, fresh_project.id)
        assert found["in_sync"] is True, found
        # the same job redone again: a SUCCESS is not redone (409); a new job on the
        # converged router (what a redo is) makes no Neutron write
        with pytest.raises(jobs.JobSucceeded):
            jobs.redo(lconf, made[0]["id"])
        again = jobs.create(lconf, project_id=fresh_project.id, job_type="configure_route",
                            resource={"router_id": router.id})
        status, writes = run(lconf, router.id)
        assert status == "DONE" and writes == {}, writes
        assert jobs.get(lconf, again["id"])["status"] == "SUCCESS"
        # teardown through the gateway, then the job: nothing left in the pods
        for pod in CIDRS:
            sdk.network.remove_interface_from_router(router, subnet_id=subnets[pod].id)
        sdk.network.delete_router(router)
        status, _ = run(lconf, router.id)
        assert status == "DONE"
        for pod in CIDRS:
            assert _bottom(devcloud, pod, router.id)[1] is None
    finally:
        if router is not None:
            drop_router(sdk, router, subnets.values())
        cleanup_pods(devcloud, fresh_project.id, router.id if router else "-",
                     [n.id for n in nets.values()])
        for net in nets.values():
            sdk.network.delete_network(net, ignore_missing=True)
