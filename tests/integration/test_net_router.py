"""East-west L3 between pods (issue 17) on the API-only devcloud's real Neutrons: a top
router (RegionOne's Neutron, through the gateway) with interfaces on net1 (10.0.1.0/24,
az1 = RegionTwo) and net2 (10.0.2.0/24, az2 = RegionThree). The gateway registers the
router jobs; a controller of the registry's `net_router` kind claims the router's work
item and runs it, as an engine does (in-process, Multisite's service credentials), and the
test reads each pod's own Neutron.

The devcloud's ML2 knows VLANs on physnet1 and physnet2 (ids 100-200): an admin's
provider network may use any id 1-4094 on a known physical network, so the
bridge networks are VLANs on physnet1 here, with ids from a range of this run.
"""

import contextlib
import random
import time

import openstack
import pytest

from multisite.clients import router_network
from multisite.engine import controller, queue, registry
from multisite.objects import bridges, jobs, pods, routings, work_items
from multisite.reconcilers import net_router
from tests.integration.test_gateway import gateway  # noqa: F401  (fixture)
from tests.integration.test_gateway_neutron import member_network, nconf  # noqa: F401
from tests.polling import wait_for

pytestmark = pytest.mark.integration

CIDRS = {"RegionTwo": "10.0.1.0/24", "RegionThree": "10.0.2.0/24"}
ZONES = {"RegionTwo": "az1", "RegionThree": "az2"}


@pytest.fixture
def lconf(nconf):  # noqa: F811
    first = random.randrange(2000, 3990)
    values = {"bridge_physical_network": "physnet1", "bridge_network_type": "vlan",
              "bridge_vlan_ranges": [f"{first}:{first + 9}"]}
    for name, value in values.items():
        nconf.set_override(name, value, group="network")
    yield nconf
    for name in values:
        nconf.clear_override(name, group="network")


def run(conf, router_id):
    """The router's work item claimed and run by a controller of the registry's net_router
    kind, as an engine does (its lease, then finished); (item status, writes per pod)."""
    client = router_network.RouterNetwork(conf)
    kind = next(k for k in registry.KINDS if k.name == net_router.KIND)
    ctl = controller.Controller(kind, conf=conf, engine_id="test", queue=queue.WorkQueue(),
                                shared=client, leases=kind.leases(conf, "test"))
    try:
        (item,) = ctl.leases.claim(limit=5)
        assert item["key_id"] == router_id
        assert ctl.hand([item]) == [item]
        wait_for(lambda: work_items.get(conf, item["id"])["claimed_by"] is None,
                 timeout=120, what="the router's work item run")
    finally:
        ctl.stop()
    return work_items.get(conf, item["id"])["status"], dict(client.writes)


def drop_router(sdk, router, subnets):
    """The top router's interfaces on `subnets` (any left) removed, then the router."""
    for subnet in subnets:
        with contextlib.suppress(Exception):
            sdk.network.remove_interface_from_router(router, subnet_id=subnet.id)
    sdk.network.delete_router(router, ignore_missing=True)


def cleanup_pods(devcloud, project_id, router_id, top_networks, regions=tuple(CIDRS)):
    for pod in regions:
        admin = devcloud.admin_connection(pod).network
        for router in admin.routers(name=router_id):
            with contextlib.suppress(Exception):
                admin.update_router(router, routes=[])
            for port in admin.ports(device_id=router.id,
                                    device_owner="network:router_interface"):
                with contextlib.suppress(Exception):
                    admin.remove_interface_from_router(
                        router, subnet_id=port.fixed_ips[0]["subnet_id"])
            admin.delete_router(router, ignore_missing=True)
        for name in [net_router.bridge_name(project_id), *top_networks]:
            for net in admin.networks(name=name):
                for port in admin.ports(network_id=net.id):
                    with contextlib.suppress(Exception):
                        admin.delete_port(port, ignore_missing=True)
                admin.delete_network(net, ignore_missing=True)


def test_two_pods_are_routed_through_the_bridge_network(
        devcloud, fresh_project, gateway, lconf):  # noqa: F811
    sdk = member_network(devcloud, fresh_project, gateway)
    nets, subnets, router = {}, {}, None
    try:
        for pod, cidr in CIDRS.items():
            nets[pod] = sdk.network.create_network(
                name=f"net-{pod}", availability_zone_hints=[ZONES[pod]])
            subnets[pod] = sdk.network.create_subnet(network_id=nets[pod].id, cidr=cidr,
                                                     ip_version=4, name=f"sub-{pod}")
        router = sdk.network.create_router(name="east-west")
        started = time.monotonic()
        for pod in CIDRS:
            sdk.network.add_interface_to_router(router, subnet_id=subnets[pod].id)
        # the gateway registered one router_setup job per interface, naming its pod
        made, _ = jobs.list_jobs(lconf, project_id=fresh_project.id)
        pod_ids = {p["pod_name"]: p["pod_id"] for p in pods.list_pods(lconf)}
        assert sorted((j["type"], j["status"], j["resource"]["pod_id"]) for j in made) == \
            sorted(("router_setup", "NEW", pod_ids[p]) for p in CIDRS)
        ran = time.monotonic()
        status, writes = run(lconf, router.id)      # both jobs: one run of the router
        assert status == "DONE"
        print(f"\nnet17 timing: 2 interfaces added through the gateway {ran - started:.2f} s, "
              f"one run (both jobs) converged both pods {time.monotonic() - ran:.2f} s")
        assert [jobs.get(lconf, j["id"])["status"] for j in made] == ["SUCCESS"] * 2
        # the minimum sequence per pod: bridge net, bridge subnet, tenant net, subnet,
        # router, gateway, interface, routes
        assert writes == {"RegionTwo": 8, "RegionThree": 8}, writes
        seg = bridges.segment(lconf, fresh_project.id)
        bridge_ips, bottoms = {}, {}
        for pod in CIDRS:
            admin = devcloud.admin_connection(pod).network
            (bottom,) = list(admin.routers(name=router.id))
            bottoms[pod] = bottom
            (bridge,) = list(admin.networks(name=net_router.bridge_name(fresh_project.id)))
            assert (bridge.provider_network_type, bridge.provider_segmentation_id) == (
                "vlan", seg)
            assert bridge.is_router_external
            info = bottom.external_gateway_info
            assert info["network_id"] == bridge.id and info["enable_snat"] is False
            bridge_ips[pod] = info["external_fixed_ips"][0]["ip_address"]
            (bsub,) = list(admin.subnets(name=subnets[pod].id))
            assert bsub.cidr == CIDRS[pod]
            interfaces = [p for p in admin.ports(device_id=bottom.id,
                                                  device_owner="network:router_interface")]
            assert [p.fixed_ips[0]["subnet_id"] for p in interfaces] == [bsub.id]
            assert bottom.project_id == fresh_project.id
            (routed,) = [r for r in routings.find(lconf, top_id=router.id,
                                                   resource_type="router")
                         if r["pod_id"] == pod_ids[pod]]
            assert routed["bottom_id"] == bottom.id
        assert len(set(bridge_ips.values())) == 2
        for pod, other in (("RegionTwo", "RegionThree"), ("RegionThree", "RegionTwo")):
            assert bottoms[pod].routes == [{"destination": CIDRS[other],
                                            "nexthop": bridge_ips[other]}]
        # an overlapping CIDR on the router is refused by the gateway with a 409 (the
        # top Neutron's own check would be a 400)
        nets["overlap"] = sdk.network.create_network(name="net-overlap",
                                                     availability_zone_hints=["az2"])
        overlap = sdk.network.create_subnet(network_id=nets["overlap"].id, ip_version=4,
                                            cidr="10.0.1.128/25", name="sub-overlap")
        with pytest.raises(openstack.exceptions.ConflictException, match="overlaps"):
            sdk.network.add_interface_to_router(router, subnet_id=overlap.id)
        assert len(jobs.list_jobs(lconf, project_id=fresh_project.id)[0]) == 2
        # a new job on the converged router (what a redo is) writes nothing
        again = jobs.create(lconf, project_id=fresh_project.id, job_type="configure_route",
                            resource={"router_id": router.id})
        ran = time.monotonic()
        status, writes = run(lconf, router.id)
        assert status == "DONE" and writes == {}, writes
        print(f"net17 timing: redo (no writes) {time.monotonic() - ran:.2f} s")
        assert jobs.get(lconf, again["id"])["status"] == "SUCCESS"
        # teardown through the gateway: interfaces removed, router deleted, then the job
        for pod in CIDRS:
            sdk.network.remove_interface_from_router(router, subnet_id=subnets[pod].id)
        sdk.network.delete_router(router)
        (teardown,) = [j for j in jobs.list_jobs(lconf, project_id=fresh_project.id,
                                                 status="NEW")[0]]
        assert teardown["type"] == "configure_route"
        status, writes = run(lconf, router.id)
        assert status == "DONE"
        for pod in CIDRS:
            admin = devcloud.admin_connection(pod).network
            assert list(admin.routers(name=router.id)) == []
            assert list(admin.networks(name=net_router.bridge_name(fresh_project.id))) == []
        assert routings.find(lconf, top_id=router.id, resource_type="router") == []
    finally:
        if router is not None:
            drop_router(sdk, router, subnets.values())
        cleanup_pods(devcloud, fresh_project.id, router.id if router else "-",
                     [n.id for n in nets.values()])
        for net in nets.values():
            sdk.network.delete_network(net, ignore_missing=True)


def test_a_network_holding_the_tenants_bridge_segment_is_a_409(
        devcloud, fresh_project, gateway, lconf):  # noqa: F811
    """The top Neutron knows no bridge (they live in the pods): it would make a VLAN
    network on the bridges' physical network with the tenant's bridge segment. Through the
    gateway, the create is a 409; the same network made at the top directly cannot be
    routed (add_router_interface is a 409); both name the bridge. No job."""
    project = fresh_project.id
    seg = bridges.segment(lconf, project)      # what the tenant's first router job takes
    admin = openstack.connection.Connection(
        session=devcloud.session(), region_name="RegionOne", identity_api_version="3",
        network_endpoint_override=gateway["url"] + "/network")
    provider = {"provider_network_type": "vlan", "provider_physical_network": "physnet1",
                "provider_segmentation_id": seg}
    top = devcloud.admin_connection("RegionOne").network
    sdk = member_network(devcloud, fresh_project, gateway)
    made, router = [], None
    try:
        with pytest.raises(openstack.exceptions.ConflictException) as refused:
            made.append(admin.network.create_network(name="h17-seg", project_id=project,
                                                      **provider))
        assert f"asks segmentation id {seg} on physnet1 (vlan), the segmentation id of " \
               f"bridge network bridge-{project} of project {project}" in str(refused.value)
        assert list(top.networks(name="h17-seg")) == []
        made.append(top.create_network(name="h17-seg-top", project_id=project, **provider))
        subnet = sdk.network.create_subnet(network_id=made[-1].id, cidr="10.0.9.0/24",
                                           ip_version=4)
        router = sdk.network.create_router(name="h17-seg")
        with pytest.raises(openstack.exceptions.ConflictException) as refused:
            sdk.network.add_interface_to_router(router, subnet_id=subnet.id)
        assert f"Network {made[-1].id} (subnet {subnet.id} on router {router.id}) asks " \
               f"segmentation id {seg} on physnet1" in str(refused.value)
        assert list(top.ports(device_id=router.id)) == []
        assert jobs.list_jobs(lconf, project_id=project)[0] == []
    finally:
        if router is not None:
            sdk.network.delete_router(router, ignore_missing=True)
        for net in made:
            top.delete_network(net, ignore_missing=True)
