"""The seed README's big-region scenario on the FULL devcloud (servers go ACTIVE, volumes
attach), with the real `openstack` CLI against the top region (RegionOne; its compute and
block-storage endpoints the gateway): pods RegionTwo (az1) and RegionThree (az2).

Networks are not routed yet (the Neutron part of issue 16 is another branch): the servers
boot with `--nic none` (microversion 2.37). The flavor and the image are made with the same
id in every region, which is what the flavor and image syncs keep; this test does not run
those syncs.
"""

import contextlib
import json
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from multisite.objects import pods, routings
from tests.integration.test_gateway import openstack_cli, run_gateway
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]

PODS = {"az1": "RegionTwo", "az2": "RegionThree"}


def cli(cloud, gateway, *args, ok=True):
    out = openstack_cli(cloud, gateway, "--os-compute-api-version", "2.37", *args)
    if ok:
        assert out.returncode == 0, (args, out.stderr, gateway["log"].read_text()[-3000:])
    return out


def cli_json(cloud, gateway, *args):
    return json.loads(cli(cloud, gateway, *args, "-f", "json").stdout)


@pytest.fixture
def big_region(devcloud_full, conf, tmp_path):
    if len(devcloud_full.regions) < 3:
        pytest.skip("the big-region scenario needs 3 regions (top + 2 pods) in the full "
                    "devcloud (FULL_REGIONS)")
    with run_gateway(devcloud_full, conf, tmp_path, extra="pod_timeout = 8\n") as gateway:
        yield gateway


@pytest.fixture
def image_and_flavor(devcloud_full):
    """A flavor and an image with the same ids in every region (each pod's Nova reads its
    own Glance; the top region's Glance is the one the CLI resolves names in)."""
    image_id, flavor_id = str(uuid.uuid4()), str(uuid.uuid4())
    name = f"gw-{flavor_id[:8]}"
    for region in devcloud_full.regions:
        image = devcloud_full.admin_connection(region).image
        image.create_image(name=name, id=image_id, data=b"\0" * 1024, disk_format="raw",
                           container_format="bare", visibility="public",
                           allow_duplicates=True)
    for region in PODS.values():
        devcloud_full.admin_connection(region).compute.create_flavor(
            name=name, ram=64, vcpus=1, disk=1, id=flavor_id)
    yield image_id, flavor_id, name
    for region in devcloud_full.regions:
        conn = devcloud_full.admin_connection(region)
        with contextlib.suppress(Exception):
            conn.compute.delete_flavor(flavor_id)
        with contextlib.suppress(Exception):
            conn.image.delete_image(image_id)


def pod_get(cloud, region, path):
    """A GET of a pod's own API (not through the gateway)."""
    return cloud.admin_connection(region).compute.get(path) if path.startswith("/servers") \
        else cloud.admin_connection(region).block_storage.get(path)


@contextlib.contextmanager
def paused(cloud, service):
    """The pod's API process and its workers stopped (SIGSTOP), then resumed: a pod that
    does not answer, for a few seconds, on the shared devcloud."""
    from multisite.devcloud import services as S

    (svc,) = [s for s in S.known_services(cloud.layout) if s.name == service]
    master = svc.pid()
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    pids = [master, *map(int, children)]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def test_big_region_scenario_with_the_openstack_cli(devcloud_full, big_region, conf,
                                                    image_and_flavor):
    cloud, gw = devcloud_full, big_region
    image_id, flavor_id, flavor_name = image_and_flavor
    # pods registered (by the fixture), zones listed from them
    assert {p["pod_name"]: p["az_name"] for p in pods.list_pods(conf)} == {
        "RegionOne": "", "RegionTwo": "az1", "RegionThree": "az2"}
    for kind in ("--compute", "--volume"):
        out = cli(cloud, gw, "availability", "zone", "list", kind, "-f", "value",
                  "-c", "Zone Name")
        assert out.stdout.split() == ["az1", "az2"], kind
    assert cli_json(cloud, gw, "flavor", "show", flavor_name)["id"] == flavor_id
    servers, volumes = {}, {}
    try:
        for zone in PODS:
            t0 = time.monotonic()
            made = cli_json(cloud, gw, "server", "create", "--availability-zone", zone,
                            "--image", image_id, "--flavor", flavor_name, "--nic", "none",
                            "--wait", f"gw-{zone}")
            servers[zone] = made["id"]
            print(f"{zone}: server ACTIVE through the gateway in "
                  f"{time.monotonic() - t0:.1f} s")
            assert made["status"] == "ACTIVE"
        for zone, pod in PODS.items():
            direct = pod_get(cloud, pod, f"/servers/{servers[zone]}")
            assert direct.status_code == 200 and direct.json()["server"]["status"] == \
                "ACTIVE", (pod, direct.text)
            (routing,) = routings.find(conf, top_id=servers[zone], resource_type="server")
            assert pods.get(conf, routing["pod_id"])["pod_name"] == pod
        listed = {s["ID"]: s for s in cli_json(cloud, gw, "server", "list")}
        assert {listed[s]["Status"] for s in servers.values()} == {"ACTIVE"}

        # volumes in each AZ, attached to the server of their pod
        for zone in PODS:
            made = cli_json(cloud, gw, "volume", "create", "--size", "1",
                            "--availability-zone", zone, f"gw-vol-{zone}")
            volumes[zone] = made["id"]
        for zone, pod in PODS.items():
            wait_for(lambda z=zone: cli_json(cloud, gw, "volume", "show",
                                             volumes[z])["status"] == "available",
                     timeout=180, interval=2, what=f"volume {zone} available")
            direct = pod_get(cloud, pod, f"/volumes/{volumes[zone]}")
            assert direct.status_code == 200, (pod, direct.text)
        listed = {v["ID"] for v in cli_json(cloud, gw, "volume", "list")}
        assert set(volumes.values()) <= listed
        for zone in PODS:
            cli(cloud, gw, "server", "add", "volume", servers[zone], volumes[zone])
        for zone, pod in PODS.items():
            wait_for(lambda z=zone, p=pod: pod_get(cloud, p, f"/volumes/{volumes[z]}")
                     .json()["volume"]["status"] == "in-use",
                     timeout=180, interval=2, what=f"volume {zone} in-use in its pod")
        # across pods: a clear 400
        out = cli(cloud, gw, "server", "add", "volume", servers["az1"], volumes["az2"],
                  ok=False)
        assert out.returncode != 0 and "one pod" in out.stderr, out.stderr

        # a pod down: 503 naming it for its server, UNKNOWN in the list, the other pod fine
        with paused(cloud, "r3-nova"):
            out = cli(cloud, gw, "server", "show", servers["az2"], ok=False)
            assert out.returncode != 0 and "Pod RegionThree is unavailable" in out.stderr, \
                out.stderr
            listed = {s["ID"]: s["Status"] for s in cli_json(cloud, gw, "server", "list")}
            assert listed[servers["az2"]] == "UNKNOWN"
            assert listed[servers["az1"]] == "ACTIVE"
            assert cli_json(cloud, gw, "server", "show", servers["az1"])["status"] == \
                "ACTIVE"

        # the detach is forwarded (202), but on the full devcloud a detach never leaves
        # "detaching" in the pod (FakeDriver and os-brick's NFS disconnect): the pods'
        # own admin resets the volumes below, then they are deleted through the gateway
        for zone in PODS:
            cli(cloud, gw, "server", "remove", "volume", servers[zone], volumes[zone])
    finally:
        for server_id in servers.values():
            openstack_cli(cloud, gw, "server", "delete", "--wait", server_id)
        for zone, volume_id in volumes.items():
            with contextlib.suppress(Exception):
                cloud.admin_connection(PODS[zone]).block_storage.post(
                    f"/volumes/{volume_id}/action", json={"os-reset_status": {
                        "status": "available", "attach_status": "detached"}})
            openstack_cli(cloud, gw, "volume", "delete", volume_id)
    # gone from the pods, as the pods' own APIs say
    for zone, pod in PODS.items():
        wait_for(lambda z=zone, p=pod: pod_get(cloud, p, f"/servers/{servers[z]}")
                 .status_code == 404, timeout=120, what=f"server {zone} gone from {pod}")
        wait_for(lambda z=zone, p=pod: pod_get(cloud, p, f"/volumes/{volumes[z]}")
                 .status_code == 404, timeout=120, what=f"volume {zone} gone from {pod}")
