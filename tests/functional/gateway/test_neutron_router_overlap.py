"""An interface whose subnet overlaps a subnet already on the top router is refused by the
gateway with a 409 before the top is asked (issue 17, failures): no job is registered, the
top router keeps its interfaces; a subnet that does not overlap is added."""

from multisite.objects import jobs
from tests.functional.gateway.test_neutron_gateway import (  # noqa: F401  (fixtures)
    PROJECT,
    call,
    cloud,
    gateway,
    make_network,
)


def test_an_overlapping_subnet_on_the_router_is_a_409_and_registers_no_job(
        gateway, cloud, db):  # noqa: F811
    _, first = make_network(gateway, hints=("az1",), cidr="10.7.0.0/24")
    _, overlap = make_network(gateway, hints=("az2",), cidr="10.7.0.128/25")
    _, other = make_network(gateway, hints=("az2",), cidr="10.8.0.0/24")
    resp, body = call(gateway, "POST", "/network/v2.0/routers", {"router": {"name": "r"}})
    router = body["router"]["id"]
    path = f"/network/v2.0/routers/{router}/add_router_interface"
    resp, body = call(gateway, "PUT", path, {"subnet_id": first["id"]})
    assert resp.status_int == 200, body
    top = cloud["net"]["RegionOne"]
    asked = len(top.requests)
    resp, body = call(gateway, "PUT", path, {"subnet_id": overlap["id"]})
    assert resp.status_int == 409, body
    message = body["conflictingRequest"]["message"]
    assert f"Subnet {overlap['id']} (10.7.0.128/25) overlaps subnet {first['id']} " \
           f"(10.7.0.0/24) already on router {router}" in message, message
    assert not [r for r in top.requests[asked:] if r[0] == "PUT"]     # the top not asked
    assert [p["fixed_ips"][0]["subnet_id"] for p in top.of("ports", device_id=router)] == [
        first["id"]]
    assert len(jobs.list_jobs(db, project_id=PROJECT)[0]) == 1
    # through a port of the overlapping subnet: the same refusal
    resp, body = call(gateway, "POST", "/network/v2.0/ports", {"port": {
        "network_id": overlap["network_id"]}})
    assert resp.status_int == 201, body
    resp, body = call(gateway, "PUT", path, {"port_id": body["port"]["id"]})
    assert resp.status_int == 409, body
    resp, body = call(gateway, "PUT", path, {"subnet_id": other["id"]})
    assert resp.status_int == 200, body
    assert len(jobs.list_jobs(db, project_id=PROJECT)[0]) == 2
