"""The gateway's Neutron on the devcloud's real Neutrons (issue 16): RegionOne's Neutron is
the top (reached through multisite-gateway's /network with a project member's token),
RegionTwo and RegionThree the pods of az1 and az2.

The API-only devcloud has no Nova-Neutron wiring, so the boot's realisation step
(`neutron.realise_port`, what a server create runs once its pod is chosen) is called here
in-process, with the member's token and Multisite's service credentials, as the gateway
does; the full-profile test boots a server through the gateway.
"""

import contextlib
import uuid

import openstack
import pytest
import webob

from multisite.gateway import app as gateway_app
from multisite.gateway import neutron
from multisite.objects import pods, routings
from tests.integration.test_gateway import gateway  # noqa: F401  (fixture)
from tests.polling import wait_for

pytestmark = pytest.mark.integration

POD_OF = {"az1": "RegionTwo", "az2": "RegionThree"}


@pytest.fixture
def nconf(conf, devcloud):
    """The test's conf with Multisite's service credentials (the devcloud's admin)."""
    values = {"auth_uri": devcloud.keystone_url, "admin_username": "admin",
              "admin_password": "adminpw", "admin_tenant": "admin", "region_timeout": 30.0}
    for name, value in values.items():
        conf.set_override(name, value, group="cache")
    yield conf
    for name in values:
        conf.clear_override(name, group="cache")


def member_network(devcloud, project, gateway):  # noqa: F811
    """openstacksdk for the project's member, its network endpoint the gateway."""
    return openstack.connection.Connection(
        session=devcloud.session(project.credentials), region_name="RegionOne",
        identity_api_version="3", network_endpoint_override=gateway["url"] + "/network")


def realise(nconf, devcloud, project, port_id, zone):
    token = devcloud.token(project.credentials)
    req = webob.Request.blank("/", headers={"X-Auth-Token": token})
    call = gateway_app.Caller(project_id=project.id, roles=("member",), token=token,
                              request_id=f"req-{uuid.uuid4()}")
    everything = pods.list_pods(nconf)
    top = next(p for p in everything if not p["az_name"])
    pod = next(p for p in everything if p["az_name"] == zone)
    port = neutron._top_get(nconf, top, req, "ports", port_id)
    return neutron.realise_port(nconf, req, call, pod, top, port)


def test_top_ports_get_different_ips_and_their_bottom_ports_carry_them(
        devcloud, fresh_project, gateway, nconf):  # noqa: F811
    sdk = member_network(devcloud, fresh_project, gateway)
    cidr = f"10.{uuid.uuid4().int % 200 + 20}.0.0/24"
    net = sdk.network.create_network(name="gw-net", availability_zone_hints=["az1", "az2"])
    made_bottom = {pod: [] for pod in POD_OF.values()}
    try:
        assert net.availability_zone_hints == ["az1", "az2"]
        assert sdk.network.get_network(net.id).availability_zone_hints == ["az1", "az2"]
        subnet = sdk.network.create_subnet(network_id=net.id, cidr=cidr, ip_version=4,
                                           name="gw-sub")
        ports = [sdk.network.create_port(network_id=net.id, name=f"p{i}") for i in range(3)]
        addresses = [p.fixed_ips[0]["ip_address"] for p in ports]
        assert len(set(addresses)) == 3, addresses    # the top's one IPAM
        zones = ["az1", "az2", "az1"]
        bottoms = [realise(nconf, devcloud, fresh_project, p.id, z)
                   for p, z in zip(ports, zones, strict=True)]
        for port, zone, bottom_id in zip(ports, zones, bottoms, strict=True):
            pod = POD_OF[zone]
            made_bottom[pod].append(bottom_id)
            admin = devcloud.admin_connection(pod).network
            bottom = admin.get_port(bottom_id)
            assert bottom.mac_address == port.mac_address
            assert [ip["ip_address"] for ip in bottom.fixed_ips] == [
                port.fixed_ips[0]["ip_address"]]
            assert bottom.project_id == fresh_project.id and bottom.name == port.id
            bsub = admin.get_subnet(bottom.fixed_ips[0]["subnet_id"])
            assert (bsub.cidr, bsub.gateway_ip, bsub.allocation_pools) == (
                subnet.cidr, subnet.gateway_ip, subnet.allocation_pools)
            (routing,) = routings.find(nconf, top_id=port.id, resource_type="port")
            assert routing["bottom_id"] == bottom_id
        # one bottom network per pod, reused by the second port in az1
        for pod in POD_OF.values():
            admin = devcloud.admin_connection(pod).network
            assert len(list(admin.networks(name=net.id))) == 1
        # a top port deleted through the gateway takes its bottom port with it
        sdk.network.delete_port(ports[0].id)
        admin = devcloud.admin_connection("RegionTwo").network
        assert admin.find_port(bottoms[0]) is None
        assert routings.find(nconf, top_id=ports[0].id, resource_type="port") == []
        made_bottom["RegionTwo"].remove(bottoms[0])
        # what the gateway does not route is a 501 naming it
        resp = sdk.network.get("/trunks")
        assert resp.status_code == 501 and "/v2.0/trunks" in resp.text
    finally:
        for pod, port_ids in made_bottom.items():
            admin = devcloud.admin_connection(pod).network
            for port_id in port_ids:
                admin.delete_port(port_id, ignore_missing=True)
            for bnet in admin.networks(name=net.id):
                for port in admin.ports(network_id=bnet.id):
                    admin.delete_port(port, ignore_missing=True)
                for group in admin.security_groups(project_id=fresh_project.id):
                    with contextlib.suppress(Exception):
                        admin.delete_security_group(group, ignore_missing=True)
                admin.delete_network(bnet, ignore_missing=True)
        for port in sdk.network.ports(network_id=net.id):
            sdk.network.delete_port(port, ignore_missing=True)
        wait_for(lambda: sdk.network.delete_network(net, ignore_missing=True) is None,
                 timeout=30, what="top network deleted")
