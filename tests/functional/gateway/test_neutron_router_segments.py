"""A conflicting segmentation id is refused by the gateway with a 409 before the top is
asked (issue 17, failures): a network asking, on the bridges' provider network, the
segmentation id of a tenant's bridge network (another tenant's or its own) or an id that
`[network] bridge_vlan_ranges` keeps for the bridges; and a network about to be routed
(an interface's, a router gateway's) that holds one, made at the top without the gateway.
The 409 names both sides; no job is registered; other physical networks, ids outside the
ranges and networks without provider attributes are the top's to judge."""

import uuid

import pytest

from multisite.objects import bridges, jobs
from tests.functional.gateway import test_neutron_gateway as base
from tests.functional.gateway.test_neutron_gateway import cloud, gateway  # noqa: F401

PROJECT, call = base.PROJECT, base.call
OTHER = uuid.uuid4().hex


@pytest.fixture
def segs(db):
    db.set_override("bridge_physical_network", "physnet1", group="network")
    db.set_override("bridge_vlan_ranges", ["2000:2009"], group="network")
    # two tenants' bridges: another tenant's first, then this project's
    return {"other": bridges.segment(db, OTHER), "own": bridges.segment(db, PROJECT)}


def vlan(seg, physnet="physnet1", **more):
    return dict({"name": "prov", "provider:network_type": "vlan",
                 "provider:physical_network": physnet, "provider:segmentation_id": seg},
                **more)


def posts(fake, since):
    return [r for r in fake.requests[since:] if r[0] in ("POST", "PUT")]


@pytest.mark.parametrize("asked, says", [
    ("other", f"segmentation id 2000 on physnet1 (vlan), the segmentation id of bridge "
              f"network bridge-{OTHER} of project {OTHER}"),
    ("own", f"segmentation id 2001 on physnet1 (vlan), the segmentation id of bridge "
            f"network bridge-{PROJECT} of project {PROJECT}"),
    (2007, "segmentation id 2007 on physnet1 (vlan), which [network] bridge_vlan_ranges "
           "(2000:2009) keeps for the tenants' bridge networks"),
])
def test_a_network_asking_a_bridge_segment_is_a_409_before_the_top_is_asked(
        gateway, cloud, db, segs, asked, says):  # noqa: F811
    seg = segs.get(asked, asked)
    top = cloud["net"]["RegionOne"]
    since = len(top.requests)
    resp, body = call(gateway, "POST", "/network/v2.0/networks", {"network": vlan(seg)})
    assert resp.status_int == 409, body
    message = body["conflictingRequest"]["message"]
    assert message.startswith(f"Network 'prov' asks {says}"), message
    # as one of the segments of a multi-provider network: the same
    resp, body = call(gateway, "POST", "/network/v2.0/networks", {"network": {
        "name": "multi", "segments": [vlan(100, physnet="physnet2"), vlan(seg)]}})
    assert resp.status_int == 409, body
    assert f"Network 'multi' asks {says}" in body["conflictingRequest"]["message"]
    assert posts(top, since) == [] and top.of("networks") == []
    assert jobs.list_jobs(db)[0] == []


def test_an_update_asking_a_bridge_segment_is_a_409(gateway, cloud, db, segs):  # noqa: F811
    resp, body = call(gateway, "POST", "/network/v2.0/networks", {"network": vlan(2100)})
    assert resp.status_int == 201, body
    net = body["network"]["id"]
    resp, body = call(gateway, "PUT", f"/network/v2.0/networks/{net}",
                      {"network": {"provider:segmentation_id": segs["other"],
                                   "provider:network_type": "vlan",
                                   "provider:physical_network": "physnet1"}})
    assert resp.status_int == 409, body
    assert body["conflictingRequest"]["message"].startswith(
        f"Network {net} asks segmentation id {segs['other']} on physnet1 (vlan), the "
        f"segmentation id of bridge network bridge-{OTHER}")
    assert cloud["net"]["RegionOne"].items["networks"][net][
        "provider:segmentation_id"] == 2100


@pytest.mark.parametrize("network", [
    vlan(2100),                                   # outside the ranges
    vlan(2000, physnet="physnet2"),               # another physical network
    {"name": "prov", "provider:network_type": "vxlan", "provider:segmentation_id": 2000},
    {"name": "plain"},                            # no provider attributes
])
def test_other_segments_are_the_tops_to_judge(gateway, cloud, segs, network):  # noqa: F811
    resp, body = call(gateway, "POST", "/network/v2.0/networks", {"network": network})
    assert resp.status_int == 201, body


def routed_network(gateway, cloud, seg, *, external=False, hints=("az1",)):  # noqa: F811
    """A network holding `seg` on physnet1, made at the top without the gateway (as an
    admin could), with a subnet, through the gateway."""
    net, subnet = base.make_network(gateway, hints=hints, cidr="10.9.0.0/24")
    cloud["net"]["RegionOne"].items["networks"][net["id"]].update(
        vlan(seg, **{"router:external": external}))
    return net, subnet


def test_an_interface_on_a_network_holding_the_bridge_segment_is_a_409(
        gateway, cloud, db, segs):  # noqa: F811
    net, subnet = routed_network(gateway, cloud, segs["own"])
    _, fine = base.make_network(gateway, hints=("az2",), cidr="10.8.0.0/24")
    resp, body = call(gateway, "POST", "/network/v2.0/routers", {"router": {"name": "r"}})
    router = body["router"]["id"]
    path = f"/network/v2.0/routers/{router}/add_router_interface"
    top = cloud["net"]["RegionOne"]
    since = len(top.requests)
    resp, body = call(gateway, "PUT", path, {"subnet_id": subnet["id"]})
    assert resp.status_int == 409, body
    assert body["conflictingRequest"]["message"].startswith(
        f"Network {net['id']} (subnet {subnet['id']} on router {router}) asks segmentation "
        f"id {segs['own']} on physnet1 (vlan), the segmentation id of bridge network "
        f"bridge-{PROJECT} of project {PROJECT}"), body
    # through a port of that network: the same
    resp, made = call(gateway, "POST", "/network/v2.0/ports", {"port": {
        "network_id": net["id"]}})
    assert resp.status_int == 201, made
    since = len(top.requests)
    resp, body = call(gateway, "PUT", path, {"port_id": made["port"]["id"]})
    assert resp.status_int == 409, body
    assert [r for r in top.requests[since:] if r[0] == "PUT"] == []    # the top not asked
    assert top.of("ports", device_id=router) == [] and jobs.list_jobs(db)[0] == []
    resp, body = call(gateway, "PUT", path, {"subnet_id": fine["id"]})
    assert resp.status_int == 200, body
    assert len(jobs.list_jobs(db, project_id=PROJECT)[0]) == 1


def test_a_router_gateway_on_a_network_holding_a_bridge_segment_is_a_409(
        gateway, cloud, db, segs):  # noqa: F811
    ext, _ = routed_network(gateway, cloud, segs["other"], external=True, hints=("az2",))
    resp, body = call(gateway, "POST", "/network/v2.0/routers", {"router": {"name": "r"}})
    router = body["router"]["id"]
    resp, body = call(gateway, "PUT", f"/network/v2.0/routers/{router}", {"router": {
        "external_gateway_info": {"network_id": ext["id"]}}})
    assert resp.status_int == 409, body
    assert body["conflictingRequest"]["message"].startswith(
        f"Network {ext['id']} (the gateway of router {router}) asks segmentation id "
        f"{segs['other']} on physnet1 (vlan), the segmentation id of bridge network "
        f"bridge-{OTHER}"), body
    assert cloud["net"]["RegionOne"].items["routers"][router][
        "external_gateway_info"] is None
    assert jobs.list_jobs(db)[0] == []
