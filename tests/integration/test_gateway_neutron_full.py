"""A server booted through multisite-gateway on a top network goes ACTIVE in its pod on
the bottom port that carries the top port's IP and MAC (devcloud `full` profile: RegionOne
the top, RegionTwo the pod of az1). Deleting it through the gateway and one pass of the
gateway_ports kind leave neither port behind."""

import contextlib
import uuid

import openstack
import pytest

from multisite.clients import gateway_network
from multisite.engine import controller
from multisite.reconcilers import Key, gateway_ports
from tests.integration.test_gateway import gateway  # noqa: F401  (fixture)
from tests.integration.test_gateway_neutron import nconf  # noqa: F401  (fixture)
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]

POD = "RegionTwo"


@pytest.fixture
def devcloud(devcloud_full):
    """The gateway and fresh_project fixtures on the full devcloud."""
    return devcloud_full


def test_a_server_boots_active_on_its_bottom_port(devcloud, fresh_project, gateway,  # noqa: F811
                                                  nconf):  # noqa: F811
    sdk = openstack.connection.Connection(
        session=devcloud.session(fresh_project.credentials), region_name="RegionOne",
        identity_api_version="3", network_endpoint_override=gateway["url"] + "/network",
        compute_endpoint_override=gateway["compute"])
    pod_admin = devcloud.admin_connection(POD)
    image = next(i for i in pod_admin.image.images() if i.name == "devcloud-image")
    flavor = next(f for f in pod_admin.compute.flavors() if f.name == "devcloud.tiny")
    net = sdk.network.create_network(name="gw-full", availability_zone_hints=["az1"])
    server_id = None
    try:
        sdk.network.create_subnet(network_id=net.id, ip_version=4, name="gw-full-sub",
                                  cidr=f"10.{uuid.uuid4().int % 200 + 20}.1.0/24")
        answer = sdk.compute.post("/servers", json={"server": {
            "name": "gw-full-vm", "imageRef": image.id, "flavorRef": flavor.id,
            "availability_zone": "az1", "networks": [{"uuid": net.id}]}})
        assert answer.status_code == 202, answer.text + gateway["log"].read_text()[-3000:]
        server_id = answer.json()["server"]["id"]

        def status():
            server = pod_admin.compute.get_server(server_id)
            assert server.status != "ERROR", server.fault
            return server.status == "ACTIVE"
        wait_for(status, timeout=300, what=f"server {server_id} ACTIVE in {POD}")
        (top_port,) = list(sdk.network.ports(network_id=net.id))
        (bottom,) = list(pod_admin.network.ports(device_id=server_id))
        assert bottom.name == top_port.id and bottom.mac_address == top_port.mac_address
        assert [ip["ip_address"] for ip in bottom.fixed_ips] == [
            ip["ip_address"] for ip in top_port.fixed_ips]
        shown = sdk.compute.get(f"/servers/{server_id}").json()["server"]
        assert shown["status"] == "ACTIVE"
        assert [a["addr"] for nets in shown["addresses"].values() for a in nets] == [
            top_port.fixed_ips[0]["ip_address"]]
        # deleted through the gateway: the port made for it goes, top and bottom
        assert sdk.compute.delete(f"/servers/{server_id}").status_code == 204
        assert pod_admin.network.find_port(bottom.id) is None
        assert list(sdk.network.ports(network_id=net.id)) == []
        wait_for(lambda: pod_admin.compute.find_server(server_id) is None, timeout=120,
                 what="server gone from the pod")
        server_id = None
        # and the gateway_ports pass after it finds nothing to do
        nconf.set_override("adopt_grace", 0, group="gateway")
        client = gateway_network.PodNetwork(nconf)
        outcome = gateway_ports.reconcile(
            Key(gateway_ports.KIND, POD, POD),
            controller.Env(shared=client, conf=nconf, engine_id="it"))
        assert outcome.status == "done"
    finally:
        nconf.clear_override("adopt_grace", group="gateway")
        if server_id:
            with contextlib.suppress(Exception):
                pod_admin.compute.delete_server(server_id)
                pod_admin.compute.wait_for_delete(pod_admin.compute.get_server(server_id))
        for bnet in pod_admin.network.networks(name=net.id):
            for port in pod_admin.network.ports(network_id=bnet.id):
                pod_admin.network.delete_port(port, ignore_missing=True)
            pod_admin.network.delete_network(bnet, ignore_missing=True)
        for group in pod_admin.network.security_groups(project_id=fresh_project.id):
            with contextlib.suppress(Exception):
                pod_admin.network.delete_security_group(group, ignore_missing=True)
        for port in sdk.network.ports(network_id=net.id):
            sdk.network.delete_port(port, ignore_missing=True)
        sdk.network.delete_network(net, ignore_missing=True)
