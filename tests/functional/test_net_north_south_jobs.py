"""North-south router jobs (issue 17) over the in-memory Neutrons of
test_net_router_jobs: the top router's gateway on an external network of az2
(RegionThree) and a floating IP on a port living in RegionTwo -> the external network
copied to RegionThree, the bottom router's gateway there, a shadow port holding the
floating IP; a redo writes nothing; disassociated at the top, the pods are cleaned."""

import uuid

import pytest

from multisite.objects import jobs, pods, routings
from multisite.reconcilers import net_north_south
from tests.functional import test_net_router_jobs as base
from tests.functional.test_net_router_jobs import PROJECT, seed_top


class Neutrons(base.FakeNeutrons):
    def client(self, conf):
        return Client(self)


class Client(base.FakeClient):
    """Adds what Neutron does for north-south: a port as a router interface, and the
    router a floating IP is associated through."""

    def router_port_interface(self, region, router_id, port_id):
        self._check(region, write=True)
        self.world.items[region]["ports"][port_id].update(
            device_id=router_id, device_owner="network:router_interface")

    def create(self, region, collection, body):
        made = super().create(region, collection, body)
        if collection == "floatingips":
            (router,) = [r for r in self.world.items[region]["routers"].values()
                         if (r.get("external_gateway_info") or {}).get("network_id") ==
                         body["floating_network_id"]]
            self.world.items[region][collection][made["id"]]["router_id"] = router["id"]
            made["router_id"] = router["id"]
        return made


@pytest.fixture
def world(db):
    pods.create(db, name="RegionOne")
    pods.create(db, name="RegionTwo", az_name="az1")
    pods.create(db, name="RegionThree", az_name="az2")
    return Neutrons()


def seed_north_south(db, world):
    """net-az1 on the top router, its gateway on ext (az2), port p1 (in RegionTwo) with
    floating IP f1; returns the router id."""
    router = seed_top(world, [("az1", "10.0.1.0/24")])
    top = world.items["RegionOne"]
    top["networks"]["ext"] = {"id": "ext", "project_id": "admin", "name": "ext",
                              "router:external": True, "tags": ["multisite-az:az2"],
                              "provider:network_type": "vlan",
                              "provider:physical_network": "physnet2",
                              "provider:segmentation_id": 3001}
    top["subnets"]["ext-sub"] = {"id": "ext-sub", "network_id": "ext", "project_id": "admin",
                                 "ip_version": 4, "cidr": "198.51.100.0/24",
                                 "gateway_ip": "198.51.100.1", "enable_dhcp": False}
    top["routers"][router]["external_gateway_info"] = {
        "network_id": "ext", "enable_snat": True,
        "external_fixed_ips": [{"subnet_id": "ext-sub", "ip_address": "198.51.100.5"}]}
    top["ports"]["p1"] = {"id": "p1", "network_id": "net-az1", "project_id": PROJECT,
                          "mac_address": "fa:16:3e:00:00:01", "device_owner": "compute:nova",
                          "device_id": "vm1",
                          "fixed_ips": [{"subnet_id": "sub-az1", "ip_address": "10.0.1.5"}]}
    top["floatingips"]["f1"] = {"id": "f1", "router_id": router, "port_id": "p1",
                                "floating_ip_address": "198.51.100.9",
                                "fixed_ip_address": "10.0.1.5", "project_id": PROJECT}
    two = {p["pod_name"]: p["pod_id"] for p in pods.list_pods(db)}["RegionTwo"]
    real = str(uuid.uuid4())
    world.items["RegionTwo"]["ports"][real] = dict(top["ports"]["p1"], id=real, name="p1")
    routings.create(db, top_id="p1", pod_id=two, project_id=PROJECT, resource_type="port",
                    bottom_id=real)
    return router


def test_a_floating_ip_of_a_port_in_another_pod_is_held_by_a_shadow_port(db, world):
    router = seed_north_south(db, world)
    job = jobs.create(db, project_id=PROJECT, job_type="configure_route",
                      resource={"router_id": router})
    outcome, writes = base.run(db, world, router)
    assert outcome.status == "done" and jobs.get(db, job["id"])["status"] == "SUCCESS"
    # RegionThree: bridge net+subnet, router, external net+subnet, gateway, bridge port +
    # interface, routes, shadow net+subnet+interface+port, floating IP
    assert writes == {"RegionTwo": 8, "RegionThree": 14}, writes
    three = world.items["RegionThree"]
    (ext,) = [n for n in three["networks"].values() if n["name"] == "ext"]
    assert ext["router:external"] and ext["provider:segmentation_id"] == 3001
    (bottom,) = three["routers"].values()
    assert bottom["external_gateway_info"]["network_id"] == ext["id"]
    assert bottom["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == \
        "198.51.100.5"
    (fip,) = three["floatingips"].values()
    shadow = three["ports"][fip["port_id"]]
    assert (shadow["mac_address"], shadow["fixed_ips"][0]["ip_address"],
            shadow["device_owner"]) == ("fa:16:3e:00:00:01", "10.0.1.5",
                                        net_north_south.SHADOW_OWNER)
    assert fip["floating_ip_address"] == "198.51.100.9"
    assert base.routes(world, "RegionTwo") == [("0.0.0.0/0", "100.64.0.2")]
    # redo: nothing written
    jobs.create(db, project_id=PROJECT, job_type="configure_route",
                resource={"router_id": router})
    assert base.run(db, world, router)[1] == {}
    # disassociated at the top: the floating IP, the shadow port and network go
    world.items["RegionOne"]["floatingips"]["f1"].update(port_id=None, router_id=None)
    jobs.create(db, project_id=PROJECT, job_type="configure_route",
                resource={"router_id": router})
    _, writes = base.run(db, world, router)
    assert writes == {"RegionThree": 4}, writes
    assert not three["floatingips"]
    assert [p for p in three["ports"].values()
            if p.get("device_owner") == net_north_south.SHADOW_OWNER] == []
    assert [n["name"] for n in three["networks"].values()
            if n["name"].startswith("shadow-")] == []
    # the router deleted at the top: RegionThree's router and bridge go, ext stays (the
    # gateway deletes it with the top network)
    del world.items["RegionOne"]["routers"][router]
    jobs.create(db, project_id=PROJECT, job_type="configure_route",
                resource={"router_id": router})
    assert base.run(db, world, router)[0].status == "done"
    assert not three["routers"] and not world.items["RegionTwo"]["routers"]
    assert [n["name"] for n in three["networks"].values()] == ["ext"]
