"""A third network in a third pod updates the routes of all three (issue 17), on an API-only
devcloud with RegionOne the top and three pods: RegionTwo (az1), RegionThree (az2) and
RegionFour (az3, registered by the test). The shared API devcloud has two pods: there the
test skips, saying so; run it on a 4-region devcloud of your own:

    multisite-devcloud --base DIR up --regions 4 --port-offset 300
    MULTISITE_DEVCLOUD_BASE=DIR MULTISITE_DEVCLOUD_PORT_OFFSET=300 MULTISITE_DEVCLOUD_KEEP=1 \\
        pytest tests/integration/test_net_router_three_pods.py

Interfaces are added and removed through the gateway; the router's jobs are run by a
controller of the `net_router` kind (test_net_router.run); each pod's own Neutron is read.
"""

import time

import pytest

from multisite.objects import bridges, jobs, pods
from multisite.reconcilers import net_router
from tests.integration.test_gateway import gateway  # noqa: F401  (fixture)
from tests.integration.test_gateway_neutron import member_network, nconf  # noqa: F401
from tests.integration.test_net_router import (  # noqa: F401
    cleanup_pods,
    drop_router,
    lconf,
    run,
)

pytestmark = pytest.mark.integration

TOP = "RegionOne"


def pod_view(devcloud, pod, router_id, project_id):
    """(bottom router, bridge network) of a pod, read from its own Neutron."""
    admin = devcloud.admin_connection(pod).network
    routers = list(admin.routers(name=router_id))
    bridge = list(admin.networks(name=net_router.bridge_name(project_id)))
    return (routers[0] if routers else None), (bridge[0] if bridge else None)


def test_a_third_pod_updates_the_routes_of_all_three(
        devcloud, fresh_project, gateway, lconf):  # noqa: F811
    regions = [r for r in devcloud.regions if r != TOP]
    if len(regions) < 3:
        pytest.skip(f"the third-pod test needs a devcloud with a top and 3 pods "
                    f"(`up --regions 4`): this one has {len(regions)} pods "
                    f"({', '.join(regions)}); test_net_router.py covers two")
    third = regions[2]
    pods.create(lconf, name=third, az_name="az3")     # the gateway registered two
    cidrs = {regions[0]: "10.0.1.0/24", regions[1]: "10.0.2.0/24", third: "10.0.3.0/24"}
    zones = {regions[0]: "az1", regions[1]: "az2", third: "az3"}
    sdk = member_network(devcloud, fresh_project, gateway)
    project = fresh_project.id
    nets, subnets, router = {}, {}, None
    try:
        for pod, cidr in cidrs.items():
            nets[pod] = sdk.network.create_network(name=f"net-{pod}",
                                                   availability_zone_hints=[zones[pod]])
            subnets[pod] = sdk.network.create_subnet(network_id=nets[pod].id, cidr=cidr,
                                                     ip_version=4, name=f"sub-{pod}")
        router = sdk.network.create_router(name="three-pods")
        for pod in regions[:2]:
            sdk.network.add_interface_to_router(router, subnet_id=subnets[pod].id)
        status, writes = run(lconf, router.id)
        assert status == "DONE" and writes == {regions[0]: 8, regions[1]: 8}, writes
        # the third network's interface: its pod gets the whole sequence, the two others
        # their routes only
        started = time.monotonic()
        sdk.network.add_interface_to_router(router, subnet_id=subnets[third].id)
        (job,) = jobs.list_jobs(lconf, project_id=project, status="NEW")[0]
        third_pod = next(p for p in pods.list_pods(lconf) if p["pod_name"] == third)
        assert (job["type"], job["resource"]["pod_id"]) == ("router_setup",
                                                            third_pod["pod_id"])
        added = time.monotonic()
        status, writes = run(lconf, router.id)
        assert status == "DONE" and jobs.get(lconf, job["id"])["status"] == "SUCCESS"
        assert writes == {regions[0]: 1, regions[1]: 1, third: 8}, writes
        seg = bridges.segment(lconf, project)
        seen = {pod: pod_view(devcloud, pod, router.id, project) for pod in cidrs}
        hops = {pod: bottom.external_gateway_info["external_fixed_ips"][0]["ip_address"]
                for pod, (bottom, _) in seen.items()}
        assert len(set(hops.values())) == 3
        for pod, (bottom, bridge) in seen.items():
            assert bridge.provider_segmentation_id == seg       # one segment, every pod
            assert sorted((r["destination"], r["nexthop"]) for r in bottom.routes) == \
                sorted((cidrs[o], hops[o]) for o in cidrs if o != pod), (pod, bottom.routes)
        print(f"\nnet17 three pods: third interface added through the gateway "
              f"{added - started:.2f} s, one run converged all three "
              f"{time.monotonic() - added:.2f} s, writes {writes}")
        status, writes = run_redo(lconf, project, router.id)
        assert status == "DONE" and writes == {}, writes
        # the third interface removed: its pod loses everything, the others' routes follow
        sdk.network.remove_interface_from_router(router, subnet_id=subnets[third].id)
        status, writes = run(lconf, router.id)
        assert status == "DONE"
        # routes [], interface, router, bridge network in the third; routes in the others
        assert writes == {regions[0]: 1, regions[1]: 1, third: 4}, writes
        assert pod_view(devcloud, third, router.id, project) == (None, None)
        for pod, other in ((regions[0], regions[1]), (regions[1], regions[0])):
            bottom, _ = pod_view(devcloud, pod, router.id, project)
            assert [(r["destination"], r["nexthop"]) for r in bottom.routes] == [
                (cidrs[other], hops[other])]
        # teardown through the gateway: nothing of the router left in any pod
        for pod in regions[:2]:
            sdk.network.remove_interface_from_router(router, subnet_id=subnets[pod].id)
        sdk.network.delete_router(router)
        status, _ = run(lconf, router.id)
        assert status == "DONE"
        assert [pod_view(devcloud, pod, router.id, project) for pod in cidrs] == [
            (None, None)] * 3
    finally:
        if router is not None:
            drop_router(sdk, router, subnets.values())
        cleanup_pods(devcloud, project, router.id if router else "-",
                     [n.id for n in nets.values()], regions=tuple(cidrs))
        for net in nets.values():
            sdk.network.delete_network(net, ignore_missing=True)


def run_redo(conf, project_id, router_id):
    """A new job on a converged router (what a redo is): run, no write expected."""
    jobs.create(conf, project_id=project_id, job_type="configure_route",
                resource={"router_id": router_id})
    return run(conf, router_id)
