"""multisite-gateway in front of the devcloud's regions, driven by the real `openstack` CLI
and openstacksdk (issue 16): RegionOne is the top region (images, identity), RegionTwo is
the pod of az1, RegionThree the pod of az2; the CLI's compute endpoint is the gateway.

On the API-only devcloud servers stay in BUILD (no conductor): creation, routing, merged
listing, show and delete are real Nova calls; ACTIVE servers need the full profile.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
import uuid
from pathlib import Path

import openstack
import pytest
import yaml

from multisite.clients import gateway as pod_client
from multisite.db import migration
from multisite.devcloud import layout as L
from multisite.devcloud import multisite_conf
from multisite.engine import controller
from multisite.objects import pods, routings
from multisite.reconcilers import Key, gateway_routing
from tests.polling import wait_for

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


CACHE = {"auth_uri": None, "admin_username": "admin", "admin_password": "adminpw",
         "admin_tenant": "admin", "region_timeout": 30.0}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def run_gateway(cloud, conf, tmp_path, extra=""):
    """A multisite-gateway process (keystone auth) on this test's database, pods registered:
    RegionOne the top region, RegionTwo the pod of az1, RegionThree of az2."""
    port = free_port()
    text = multisite_conf.render(tmp_path, keystone_url=cloud.keystone_url)
    text = text.replace(f"sqlite:///{tmp_path}/multisite.sqlite",
                        conf.database.connection)
    text += f"[gateway]\nbind_port = {port}\nworkers = 1\n" + (extra or "pod_timeout = 30\n")
    path = tmp_path / "gateway.conf"
    path.write_text(text)
    migration.db_sync(conf)
    if not pods.list_pods(conf):
        pods.create(conf, name="RegionOne")
        pods.create(conf, name="RegionTwo", az_name="az1")
        pods.create(conf, name="RegionThree", az_name="az2")
    log = open(tmp_path / "gateway.log", "ab")
    proc = subprocess.Popen([str(BIN / "multisite-gateway"), "--config-file", str(path)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def answers():
        assert proc.poll() is None, (tmp_path / "gateway.log").read_text()[-3000:]
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url + "/", timeout=2):
                return True
        return False

    try:
        wait_for(answers, timeout=60, what="multisite-gateway answering")
        yield {"url": url, "compute": url + "/compute/v2.1", "volume": url + "/volume/v3",
               "log": tmp_path / "gateway.log", "proc": proc}
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture
def gateway(devcloud, conf, tmp_path):
    with run_gateway(devcloud, conf, tmp_path) as running:
        yield running


def openstack_cli(devcloud, gateway, *args):
    """The devcloud's `openstack`, in the top region, its compute and block-storage
    endpoints the gateway (a clouds.yaml entry with endpoint overrides: what the catalog of
    `multisite-devcloud up --gateway-port` gives, on a devcloud others share)."""
    clouds = yaml.safe_load(devcloud.clouds_yaml.read_text())
    project_id = devcloud.session().get_project_id()
    cloud = dict(clouds["clouds"]["devcloud-admin"], region_name="RegionOne",
                 compute_endpoint_override=gateway["compute"],
                 block_storage_endpoint_override=f"{gateway['volume']}/{project_id}")
    cloud.pop("regions", None)
    path = gateway["log"].parent / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"big-region": cloud}}))
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(path), OS_CLOUD="big-region")
    for name in [n for n in env if n.startswith("OS_") and n not in (
            "OS_CLIENT_CONFIG_FILE", "OS_CLOUD")]:
        del env[name]
    openstack = L.Layout(devcloud.base).venv / "bin" / "openstack"
    return subprocess.run([str(openstack), *args], env=env, capture_output=True, text=True,
                          timeout=180)


@pytest.fixture
def image_and_flavor(devcloud):
    """A tiny image in RegionOne, and in both pods under the same id (what a lazy copy
    leaves there: the gateway's image hook has nothing to copy; it is tested in
    test_gateway_images.py), and one flavor with the same id in both pods (what the
    flavor sync keeps)."""
    top = devcloud.admin_connection("RegionOne")
    image = top.image.create_image(name=f"gw-{uuid.uuid4().hex[:8]}", data=b"\0" * 1024,
                                   disk_format="raw", container_format="bare",
                                   visibility="public", allow_duplicates=True)
    flavor_id = str(uuid.uuid4())
    name = f"gw-{flavor_id[:8]}"
    for region in ("RegionTwo", "RegionThree"):
        conn = devcloud.admin_connection(region)
        made = conn.image.post("/images", json={
            "id": image.id, "name": image.name, "disk_format": "raw",
            "container_format": "bare", "visibility": "public"})
        assert made.status_code == 201, made.text
        put = conn.image.put(f"/images/{image.id}/file", data=b"\0" * 1024,
                             headers={"Content-Type": "application/octet-stream"})
        assert put.status_code == 204, put.text
        conn.compute.create_flavor(name=name, ram=64, vcpus=1, disk=0, id=flavor_id)
    yield image.id, flavor_id, name
    for region in ("RegionTwo", "RegionThree"):
        with contextlib.suppress(Exception):
            devcloud.admin_connection(region).compute.delete_flavor(flavor_id)
        with contextlib.suppress(Exception):
            devcloud.admin_connection(region).image.delete_image(image.id)
    with contextlib.suppress(Exception):
        top.image.delete_image(image.id)


def test_openstack_cli_zones_and_flavors(devcloud, gateway, image_and_flavor):
    out = openstack_cli(devcloud, gateway, "availability", "zone", "list", "--compute",
                        "-f", "value", "-c", "Zone Name")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["az1", "az2"]
    _, flavor_id, name = image_and_flavor
    out = openstack_cli(devcloud, gateway, "flavor", "show", name, "-f", "value", "-c", "id")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == flavor_id
    out = openstack_cli(devcloud, gateway, "hypervisor", "list")
    assert out.returncode != 0 and "does not support" in out.stderr + out.stdout


def test_openstack_cli_servers_through_the_gateway(devcloud, gateway, image_and_flavor, conf):
    image_id, flavor_id, _ = image_and_flavor
    made = {}
    try:
        for zone, pod in (("az1", "RegionTwo"), ("az2", "RegionThree")):
            out = openstack_cli(devcloud, gateway, "--os-compute-api-version", "2.37",
                                "server", "create", "--availability-zone", zone,
                                "--image", image_id, "--flavor", flavor_id, "--nic", "none",
                                f"gw-{zone}", "-f", "json")
            assert out.returncode == 0, out.stderr + gateway["log"].read_text()[-2000:]
            made[pod] = json.loads(out.stdout)["id"]
        # each server is in its pod, as the pod's own API says
        for pod, server_id in made.items():
            direct = devcloud.admin_connection(pod).compute.get(f"/servers/{server_id}")
            assert direct.status_code == 200, (pod, direct.text)
            (routing,) = routings.find(conf, top_id=server_id, resource_type="server")
            assert pods.get(conf, routing["pod_id"])["pod_name"] == pod
        out = openstack_cli(devcloud, gateway, "server", "list", "-f", "json")
        assert out.returncode == 0, out.stderr
        listed = {s["ID"] for s in json.loads(out.stdout)}
        assert set(made.values()) <= listed
        out = openstack_cli(devcloud, gateway, "server", "show", made["RegionThree"],
                            "-f", "value", "-c", "name")
        assert out.returncode == 0 and out.stdout.strip() == "gw-az2", out.stderr
        # openstacksdk against the same endpoint: one page of one, then the next
        sdk = openstack.connection.Connection(
            session=devcloud.session(), region_name="RegionOne", identity_api_version="3",
            compute_endpoint_override=gateway["compute"])
        assert [z.name for z in sdk.compute.availability_zones()] == ["az1", "az2"]
        first = sdk.compute.get("/servers?limit=1").json()
        assert len(first["servers"]) == 1 and first["servers_links"]
    finally:
        for server_id in made.values():
            openstack_cli(devcloud, gateway, "server", "delete", server_id)
    for pod, server_id in made.items():
        conn = devcloud.admin_connection(pod)
        wait_for(lambda c=conn, s=server_id: c.compute.get(f"/servers/{s}").status_code == 404,
                 timeout=60, what=f"server {server_id} gone from {pod}")


def test_kill_9_mid_create_then_the_routing_kind_adopts_the_server(devcloud, conf, tmp_path,
                                                                   image_and_flavor):
    """The real gateway stopped by the test hook after the pod made the server, kill -9,
    restarted: the gateway_routing kind (real pod reads, service credentials) completes
    the routing with the pod's server, which the gateway then shows."""
    image_id, flavor_id, _ = image_and_flavor
    token = devcloud.token()
    spec = {"server": {"name": "gw-killed", "imageRef": image_id, "flavorRef": flavor_id,
                       "availability_zone": "az1", "networks": "none"}}

    def create(url):
        req = urllib.request.Request(url + "/servers", method="POST",
                                     data=json.dumps(spec).encode(), headers={
                                         "X-Auth-Token": token,
                                         "Content-Type": "application/json",
                                         "OpenStack-API-Version": "compute 2.37"})
        with contextlib.suppress(OSError):
            urllib.request.urlopen(req, timeout=120)

    pod = devcloud.admin_connection("RegionTwo").compute
    server_id = None
    try:
        with run_gateway(devcloud, conf, tmp_path, extra="test_pause_at = after_pod\n") as gw:
            caller = threading.Thread(target=create, args=(gw["compute"],), daemon=True)
            caller.start()
            wait_for(lambda: "TEST HOOK: paused" in gw["log"].read_text(), timeout=120,
                     what="the gateway paused mid-create")
            os.killpg(gw["proc"].pid, signal.SIGKILL)
            gw["proc"].wait(timeout=30)
        caller.join(timeout=30)
        (pending,) = routings.incomplete(conf)
        tagged = [s for s in pod.get("/servers/detail?all_tenants=1").json()["servers"]
                  if s["metadata"].get(routings.ROUTING_TAG) == str(pending["id"])]
        assert len(tagged) == 1, tagged
        server_id = tagged[0]["id"]
        with run_gateway(devcloud, conf, tmp_path) as gw:
            conf.set_override("adopt_grace", 0, group="gateway")
            for name, value in CACHE.items():   # the engine's service credentials
                conf.set_override(name, value, group="cache")
            conf.set_override("auth_uri", devcloud.keystone_url, group="cache")
            janitor = pod_client.ServerJanitor(conf)
            key = Key(gateway_routing.KIND, "RegionTwo", "RegionTwo")
            assert gateway_routing.keys(janitor) == [key]
            outcome = gateway_routing.reconcile(
                key, controller.Env(shared=janitor, conf=conf, engine_id="test"))
            assert outcome.status == "done", outcome
            assert routings.incomplete(conf) == []
            (routing,) = routings.find(conf, top_id=server_id, resource_type="server")
            assert routing["id"] == pending["id"] and routing["bottom_id"] == server_id
            out = openstack_cli(devcloud, gw, "server", "show", server_id, "-f", "value",
                                "-c", "name")
            assert out.returncode == 0 and out.stdout.strip() == "gw-killed", out.stderr
            # the API-only devcloud's Nova deletes the BUILD server but may answer 500 (no
            # placement): the pod's own 404 below is what counts
            openstack_cli(devcloud, gw, "server", "delete", server_id)
            wait_for(lambda: pod.get(f"/servers/{server_id}").status_code == 404,
                     timeout=60, what=f"server {server_id} gone from RegionTwo")
            # deleted with no GET through the gateway since: the next pass forgets the
            # routing ([gateway] forget_deleted: the pod's ids listed, then its 404)
            outcome = gateway_routing.reconcile(
                key, controller.Env(shared=janitor, conf=conf, engine_id="test"))
            assert server_id in outcome.result["server"]["forgotten_deleted"], outcome
            assert routings.find(conf, top_id=server_id, resource_type="server") == []
    finally:
        conf.clear_override("adopt_grace", group="gateway")
        for name in CACHE:
            conf.clear_override(name, group="cache")
        if server_id:
            pod.delete(f"/servers/{server_id}")
    wait_for(lambda: pod.get(f"/servers/{server_id}").status_code == 404, timeout=60,
             what=f"server {server_id} gone from RegionTwo")
