"""North-south (issue 17) on the full-profile devcloud: the story of
test_net_north_south with a real server booted through the gateway on the top port in
RegionTwo (az1), ACTIVE there, its floating IP held by a shadow port in RegionThree."""

import openstack
import pytest

from tests.integration.test_gateway import gateway  # noqa: F401  (fixture)
from tests.integration.test_gateway_neutron import nconf  # noqa: F401  (fixture)
from tests.integration.test_net_north_south import scenario
from tests.integration.test_net_router import lconf  # noqa: F401  (fixture)
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]


@pytest.fixture
def devcloud(devcloud_full):
    return devcloud_full


def test_a_floating_ip_of_a_server_in_another_pod(devcloud, fresh_project, gateway,  # noqa: F811
                                                  lconf):  # noqa: F811
    sdk = openstack.connection.Connection(
        session=devcloud.session(fresh_project.credentials), region_name="RegionOne",
        identity_api_version="3", compute_endpoint_override=gateway["compute"])
    pod = devcloud.admin_connection("RegionTwo")
    image = next(i for i in pod.image.images() if i.name == "devcloud-image")
    flavor = next(f for f in pod.compute.flavors() if f.name == "devcloud.tiny")

    def place(port):
        answer = sdk.compute.post("/servers", json={"server": {
            "name": "h17n-vm", "imageRef": image.id, "flavorRef": flavor.id,
            "availability_zone": "az1", "networks": [{"port": port["id"]}]}})
        assert answer.status_code == 202, answer.text + gateway["log"].read_text()[-3000:]
        server_id = answer.json()["server"]["id"]

        def active():
            server = pod.compute.get_server(server_id)
            assert server.status != "ERROR", server.fault
            return server.status == "ACTIVE"
        wait_for(active, timeout=300, what=f"server {server_id} ACTIVE in RegionTwo")
        (bottom,) = list(pod.network.ports(device_id=server_id))

        def unplace():
            assert sdk.compute.delete(f"/servers/{server_id}").status_code == 204
            wait_for(lambda: pod.compute.find_server(server_id) is None, timeout=300,
                     what=f"server {server_id} gone")
        return bottom.id, unplace
    scenario(devcloud, fresh_project, gateway, lconf, place)
