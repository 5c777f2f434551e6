"""The gateway's north-south part (issue 17) against fake Neutrons over real HTTP: an
external network with a zone hint (and its subnet) is made in that zone's pod at once, as
the top made it; a pod that cannot make it undoes the top's; a router's gateway set or
cleared registers a router job."""

import pytest

from multisite.objects import jobs, routings
from tests.functional.gateway import test_neutron_gateway as base
from tests.functional.gateway.test_neutron_gateway import cloud, gateway  # noqa: F401

PROJECT, call = base.PROJECT, base.call

EXT = {"name": "public", "router:external": True, "provider:network_type": "vlan",
       "provider:physical_network": "physnet2", "provider:segmentation_id": 3001,
       "availability_zone_hints": ["az2"]}


def test_an_external_network_and_its_subnet_are_made_in_their_pod(gateway, cloud, db):  # noqa: F811
    resp, body = call(gateway, "POST", "/network/v2.0/networks", {"network": dict(EXT)})
    assert resp.status_int == 201, body
    net = body["network"]
    assert net["availability_zone_hints"] == ["az2"]
    (bottom,) = cloud["net"]["RegionThree"].of("networks", name=net["id"])
    assert (bottom["router:external"], bottom["provider:physical_network"],
            bottom["provider:segmentation_id"]) == (True, "physnet2", 3001)
    assert cloud["net"]["RegionTwo"].of("networks") == []
    resp, body = call(gateway, "POST", "/network/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "198.51.100.0/24", "ip_version": 4,
        "enable_dhcp": False}})
    assert resp.status_int == 201, body
    (sub,) = cloud["net"]["RegionThree"].of("subnets", name=body["subnet"]["id"])
    assert (sub["cidr"], sub["network_id"]) == ("198.51.100.0/24", bottom["id"])
    assert [r["bottom_id"] for r in routings.find(db, top_id=body["subnet"]["id"],
                                                  resource_type="subnet")] == [sub["id"]]
    # a tenant network (not external) is still made lazily, at a boot
    resp, body = call(gateway, "POST", "/network/v2.0/networks", {"network": {
        "name": "net1", "availability_zone_hints": ["az2"]}})
    assert resp.status_int == 201
    assert cloud["net"]["RegionThree"].of("networks", name=body["network"]["id"]) == []


def test_a_pod_that_cannot_make_it_undoes_the_top_network(gateway, cloud, db):  # noqa: F811
    cloud["net"]["RegionThree"].stop()
    resp, body = call(gateway, "POST", "/network/v2.0/networks", {"network": dict(EXT)})
    assert resp.status_int == 503, body
    assert "RegionThree" in str(body)
    assert cloud["net"]["RegionOne"].of("networks") == []


@pytest.mark.parametrize("gateway_info", [{"network_id": "ext"}, None])
def test_a_router_gateway_set_or_cleared_registers_a_job(gateway, db, gateway_info):  # noqa: F811
    resp, body = call(gateway, "POST", "/network/v2.0/routers", {"router": {"name": "r"}})
    router = body["router"]["id"]
    resp, body = call(gateway, "PUT", f"/network/v2.0/routers/{router}",
                      {"router": {"name": "renamed"}})
    assert resp.status_int == 200 and jobs.list_jobs(db)[0] == []
    resp, body = call(gateway, "PUT", f"/network/v2.0/routers/{router}",
                      {"router": {"external_gateway_info": gateway_info}})
    assert resp.status_int == 200, body
    (job,) = jobs.list_jobs(db, project_id=PROJECT)[0]
    assert (job["type"], job["resource"]) == ("configure_route", {"router_id": router})


def test_a_port_deleted_with_a_floating_ip_registers_a_job_for_its_router(gateway, cloud,  # noqa: F811
                                                                           db):
    net, _ = base.make_network(gateway)
    port, other = (call(gateway, "POST", "/network/v2.0/ports", {"port": {
        "network_id": net["id"]}})[1]["port"] for _ in range(2))
    cloud["net"]["RegionOne"].items["floatingips"]["f1"] = {
        "id": "f1", "port_id": port["id"], "router_id": "r1", "project_id": PROJECT}
    assert call(gateway, "DELETE", f"/network/v2.0/ports/{other['id']}")[0].status_int == 204
    assert jobs.list_jobs(db)[0] == []
    assert call(gateway, "DELETE", f"/network/v2.0/ports/{port['id']}")[0].status_int == 204
    (job,) = jobs.list_jobs(db, project_id=PROJECT)[0]
    assert (job["type"], job["resource"]) == ("configure_route", {"router_id": "r1"})


def test_a_boot_on_a_port_with_a_floating_ip_registers_a_job_for_its_router(gateway, cloud,  # noqa: F811
                                                                             db):
    net, _ = base.make_network(gateway)
    port = call(gateway, "POST", "/network/v2.0/ports", {"port": {
        "network_id": net["id"]}})[1]["port"]
    cloud["net"]["RegionOne"].items["floatingips"]["f1"] = {
        "id": "f1", "port_id": port["id"], "router_id": "r1", "project_id": PROJECT}
    resp, body = base.boot(gateway, "az1", [{"port": port["id"]}])
    assert resp.status_int == 202, body
    (job,) = [j for j in jobs.list_jobs(db, project_id=PROJECT)[0]
              if j["type"] == "configure_route"]     # (a group copied: a job of its own)
    assert (job["type"], job["resource"]) == ("configure_route", {"router_id": "r1"})
