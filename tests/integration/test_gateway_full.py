"""The seed README's big-region scenario (issue 16) on the FULL devcloud (servers go
ACTIVE, volumes attach), with the real `openstack` CLI of a project member against the top
region, RegionOne, whose compute, block-storage and network endpoints are a
multisite-gateway this test starts (clouds.yaml endpoint overrides: the shared devcloud's
catalog is not switched). Pods: RegionTwo (az1) and RegionThree (az2), registered through
a real multisite-api's `/v1.0/pods`.

Every wait is bounded and says what it waited for; the pods' own APIs (admin, not through
the gateway) are the witnesses. The flavor and the image are made with the same id in
every region (what the flavor and image syncs keep; this test does not run the syncs:
each pod's Nova reads its own Glance on the full devcloud).

A pod down: RegionThree's nova-api (the pod that is neither RegionOne nor RegionTwo, which
the DR tests use) is SIGSTOPped for a few seconds (at most POD_DOWN_MAX, always resumed)
while a second gateway on the same database, with a 5 s pod timeout, is asked for its
server (503 naming the pod), the list (its server UNKNOWN, az1's ACTIVE) and az1's server.
"""

import contextlib
import ipaddress
import json
import os
import pathlib
import signal
import time
import urllib.request
import uuid

import pytest
import yaml

from multisite.db import migration
from multisite.devcloud import layout as L
from multisite.devcloud import multisite_conf
from multisite.objects import routings
from tests.functional.api import servers as procs
from tests.functional.test_api_process import rabbit_vhost  # noqa: F401 (fixture)
from tests.integration.test_gateway import run_gateway
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]

PODS = {"az1": "RegionTwo", "az2": "RegionThree"}
TOP = "RegionOne"
CLI_TIMEOUT = 240
POD_DOWN = "az2"     # RegionThree: the DR tests on the shared devcloud use RegionOne/Two
POD_DOWN_MAX = 60    # seconds a pod's nova-api may stay stopped


@pytest.fixture
def devcloud(devcloud_full):
    """`fresh_project` (a member of a new project) on the full devcloud."""
    if len(devcloud_full.regions) < 3:
        pytest.skip("the big-region scenario needs 3 regions (top + 2 pods) in the full "
                    "devcloud (FULL_REGIONS)")
    return devcloud_full


def _api_call(origin, token, method, path, body=None):
    req = urllib.request.Request(origin + path, method=method, headers={
        "X-Auth-Token": token, "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def big_region(devcloud, conf, tmp_path, rabbit_vhost):  # noqa: F811 (fixture)
    """multisite-api and multisite-engine (which reads Keystone's catalog for the pods
    API) on the test's database, Keystone auth, RPC on a private vhost: the pods registered
    through `POST /v1.0/pods` with the devcloud admin's token; then multisite-gateway on
    the same database."""
    migration.db_sync(conf)
    state = tmp_path / "api"
    state.mkdir()
    port = procs.free_port()
    config = state / "multisite.conf"
    config.write_text(multisite_conf.render(
        state, port=port, periodic_enable=False, keystone_url=devcloud.keystone_url,
        transport_url=f"rabbit://guest:guest@127.0.0.1:5672/{rabbit_vhost}",
    ).replace(f"sqlite:///{state}/multisite.sqlite", conf.database.connection))
    engine = procs.start("multisite-engine", str(config), str(state))
    api = procs.start("multisite-api", str(config), str(state))
    origin = f"http://127.0.0.1:{port}"
    try:
        procs.wait_engine(engine, conf.database.connection, timeout=90)
        procs.wait_ready(api, port, timeout=90)
        token = devcloud.token()
        for body in ({"pod_name": TOP}, {"pod_name": "RegionTwo", "az_name": "az1"},
                     {"region_name": "RegionThree", "az_name": "az2"}):
            status, answer = _api_call(origin, token, "POST", "/v1.0/pods", {"pod": body})
            assert status == 200, (body, status, answer)
        status, answer = _api_call(origin, token, "POST", "/v1.0/pods", {"pod": {
            "pod_name": "NoSuchRegion", "az_name": "az9"}})
        assert status == 400, (status, answer)
        with run_gateway(devcloud, conf, tmp_path, extra="pod_timeout = 60\n") as gateway:
            gateway["api"], gateway["token"] = origin, token
            yield gateway
    finally:
        procs.stop(api)
        procs.stop(engine)


@pytest.fixture
def image_and_flavor(devcloud):
    """A tiny image with the same id in every region and a flavor with the same id in both
    pods (what the image and flavor syncs keep)."""
    image_id, flavor_id = str(uuid.uuid4()), str(uuid.uuid4())
    name = f"gw16-{flavor_id[:8]}"
    try:
        for region in devcloud.regions:
            devcloud.admin_connection(region).image.create_image(
                name=name, id=image_id, data=b"\0" * 1024, disk_format="raw",
                container_format="bare", visibility="public", allow_duplicates=True)
        for region in PODS.values():
            devcloud.admin_connection(region).compute.create_flavor(
                name=name, ram=64, vcpus=1, disk=1, id=flavor_id)
        yield image_id, flavor_id, name
    finally:
        for region in devcloud.regions:
            conn = devcloud.admin_connection(region)
            if region in PODS.values():
                with contextlib.suppress(Exception):
                    conn.compute.delete_flavor(flavor_id)
            with contextlib.suppress(Exception):
                conn.image.delete_image(image_id)


@pytest.fixture
def sweep(devcloud, fresh_project):
    """After the test, whatever of the project is left in any region is deleted by the
    regions' admin (the shared devcloud stays clean even when the test failed); the
    scenario's own cleanup goes through the gateway and is asserted by the test."""
    yield
    for region in devcloud.regions:
        admin = devcloud.admin_connection(region)
        for server in admin.compute.servers(all_projects=True, project_id=fresh_project.id):
            with contextlib.suppress(Exception):
                admin.compute.delete_server(server)
                admin.compute.wait_for_delete(server, wait=120)
        for volume in admin.block_storage.volumes(all_projects=True,
                                                  project_id=fresh_project.id):
            with contextlib.suppress(Exception):
                admin.block_storage.post(f"/volumes/{volume.id}/action", json={
                    "os-reset_status": {"status": "available", "attach_status": "detached"}})
                admin.block_storage.delete_volume(volume, force=True)
        net = admin.network
        for port in net.ports(project_id=fresh_project.id):
            with contextlib.suppress(Exception):
                net.delete_port(port, ignore_missing=True)
        for network in net.networks(project_id=fresh_project.id):
            with contextlib.suppress(Exception):
                net.delete_network(network, ignore_missing=True)
        for group in net.security_groups(project_id=fresh_project.id):
            with contextlib.suppress(Exception):
                net.delete_security_group(group, ignore_missing=True)


class Cli:
    """The devcloud's `openstack` as the project's member, in the top region, its compute,
    block-storage and network endpoints the gateway."""

    def __init__(self, devcloud, project, gateway):
        self.gateway = gateway
        cloud = {"auth": project.credentials.auth_dict(devcloud.keystone_url),
                 "identity_api_version": 3, "interface": "public", "region_name": TOP,
                 "compute_endpoint_override": gateway["compute"],
                 "block_storage_endpoint_override": f"{gateway['volume']}/{project.id}",
                 "network_endpoint_override": gateway["url"] + "/network"}
        path = gateway["log"].parent / "clouds-member.yaml"
        path.write_text(yaml.safe_dump({"clouds": {"big-region": cloud}}))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        self.env.update(OS_CLIENT_CONFIG_FILE=str(path), OS_CLOUD="big-region")
        self.binary = str(L.Layout(devcloud.base).venv / "bin" / "openstack")
        self.session = devcloud.session(project.credentials)
        self.volume_url = cloud["block_storage_endpoint_override"]

    def gone(self, url):
        """A GET through the gateway, as the member, answers 404 (the gateway then forgets
        the routing: it keeps a deleted item's routing until a read finds it gone)."""
        answer = self.session.get(url, raise_exc=False)
        assert answer.status_code == 404, (url, answer.status_code, answer.text[:300])

    def run(self, *args, ok=True, timeout=CLI_TIMEOUT):
        import subprocess

        t0 = time.monotonic()
        out = subprocess.run([self.binary, *args], env=self.env, capture_output=True,
                             text=True, timeout=timeout)
        if ok:
            assert out.returncode == 0, (
                f"`openstack {' '.join(args)}` failed after {time.monotonic() - t0:.1f} s: "
                f"{out.stderr}\n--- gateway log:\n"
                f"{self.gateway['log'].read_text()[-3000:]}")
        return out

    def json(self, *args):
        return json.loads(self.run(*args, "-f", "json").stdout)


def pod_server(devcloud, pod, server_id):
    """The server as its pod's own Nova says (admin), or None when it is gone."""
    answer = devcloud.admin_connection(pod).compute.get(f"/servers/{server_id}")
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, (pod, answer.status_code, answer.text)
    return answer.json()["server"]


def pod_volume(devcloud, pod, volume_id):
    answer = devcloud.admin_connection(pod).block_storage.get(f"/volumes/{volume_id}")
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, (pod, answer.status_code, answer.text)
    return answer.json()["volume"]


def wait_status(read, wanted, *, timeout, what, failed=("error", "ERROR")):
    """Until read() has `status` wanted; fails at once on an error status, and at the
    deadline with the last status seen."""
    seen = {}

    def check():
        item = read()
        seen["last"] = item and {k: item.get(k) for k in (
            "status", "OS-EXT-STS:task_state", "attachments", "fault", "migration_status")
            if k in item}
        assert item is not None, f"{what}: gone"
        assert item["status"] not in failed, f"{what}: {seen['last']}"
        return item["status"] == wanted

    try:
        return wait_for(check, timeout=timeout, interval=1, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc} (last seen: {seen.get('last')})") from None


@contextlib.contextmanager
def nova_api_down(base, pod):
    """The pod's nova-api stopped inside the block (SIGSTOP of its process group: master and
    worker accept connections and never answer), resumed (SIGCONT) in any case after it; a
    flag next to the devcloud's base says so to its other users meanwhile."""
    base = pathlib.Path(base)
    short = {"RegionTwo": "r2", "RegionThree": "r3"}[pod]
    pid = int((base / "run" / f"{short}-nova.pid").read_text())
    flag = base.parent / f"{base.name}-{short}-nova-down"
    flag.write_text(f"{pod} nova-api stopped by tests/integration/test_gateway_full.py (pid "
                    f"{os.getpid()}) at {time.strftime('%H:%M:%S')} UTC for at most "
                    f"{POD_DOWN_MAX} s\n")
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGCONT)
        flag.unlink(missing_ok=True)


def pod_down(cloud, project, conf, tmp_path, servers):
    """The issue's pod-down check with a real Nova stopped; the seconds it was stopped."""
    place = tmp_path / "pod-down"
    place.mkdir()
    pod, up_zone = PODS[POD_DOWN], next(z for z in PODS if z != POD_DOWN)
    with run_gateway(cloud, conf, place, extra="pod_timeout = 5\n") as quick:
        member = cloud.session(project.credentials)
        compute = quick["compute"]
        cli = Cli(cloud, project, quick)
        # the gateway's catalog and the member's token are read while the pod is up
        assert member.get(f"{compute}/servers/{servers[POD_DOWN]}",
                          raise_exc=False).status_code == 200
        started = time.monotonic()
        with nova_api_down(cloud.base, pod):
            down = member.get(f"{compute}/servers/{servers[POD_DOWN]}", raise_exc=False)
            listed = member.get(f"{compute}/servers/detail", raise_exc=False)
            other = member.get(f"{compute}/servers/{servers[up_zone]}", raise_exc=False)
            out = cli.run("server", "list", "-f", "json", ok=False, timeout=30)
            down_for = round(time.monotonic() - started, 1)
        back = member.get(f"{compute}/servers/{servers[POD_DOWN]}", raise_exc=False)
    assert down.status_code == 503, (down.status_code, down.text)
    assert f"Pod {pod} is unavailable" in down.json()["serviceUnavailable"]["message"]
    assert down.headers["x-multisite-request-id"].startswith("req-")
    assert listed.status_code == 200, listed.text
    statuses = {s["id"]: s["status"] for s in listed.json()["servers"]}
    assert statuses == {servers[up_zone]: "ACTIVE", servers[POD_DOWN]: "UNKNOWN"}, statuses
    assert other.status_code == 200 and other.json()["server"]["status"] == "ACTIVE"
    assert out.returncode == 0, out.stderr
    shown = {s["ID"]: s["Status"] for s in json.loads(out.stdout)}
    assert shown == {servers[up_zone]: "ACTIVE", servers[POD_DOWN]: "UNKNOWN"}, shown
    assert back.status_code == 200, back.text   # resumed: the pod answers again
    print(f"pod down: {pod} nova-api stopped {down_for} s")  # noqa: T201
    return down_for


def test_big_region_scenario_with_the_openstack_cli(devcloud, fresh_project, sweep,
                                                    big_region, image_and_flavor, conf,
                                                    tmp_path):
    cloud, gw = devcloud, big_region
    cli = Cli(cloud, fresh_project, gw)
    image_id, flavor_id, flavor_name = image_and_flavor
    suffix = uuid.uuid4().hex[:6]
    times = {}

    # the pods, as the pods API lists them; the zones, as the CLI sees them
    status, listed = _api_call(gw["api"], gw["token"], "GET", "/v1.0/pods")
    assert status == 200, listed
    assert sorted((p["pod_name"], p["az_name"]) for p in listed["pods"]) == [
        ("RegionOne", ""), ("RegionThree", "az2"), ("RegionTwo", "az1")]
    for kind in ("--compute", "--volume"):
        out = cli.run("availability", "zone", "list", kind, "-f", "value", "-c", "Zone Name")
        assert out.stdout.split() == ["az1", "az2"], kind
    assert cli.json("flavor", "show", flavor_name)["id"] == flavor_id

    # a top network for both zones, one subnet: the top's one IPAM
    net = cli.json("network", "create", "--availability-zone-hint", "az1",
                   "--availability-zone-hint", "az2", f"gw16-net-{suffix}")
    assert sorted(net["availability_zone_hints"]) == ["az1", "az2"], net
    cidr = f"10.{uuid.uuid4().int % 200 + 20}.{uuid.uuid4().int % 250}.0/24"
    subnet = cli.json("subnet", "create", "--network", net["id"], "--subnet-range", cidr,
                      f"gw16-sub-{suffix}")
    servers, volumes = {}, {}
    try:
        for zone in PODS:
            made = cli.json("server", "create", "--availability-zone", zone,
                            "--image", image_id, "--flavor", flavor_name,
                            "--nic", f"net-id={net['id']}", f"gw16-{zone}-{suffix}")
            servers[zone] = made["id"]
        t0 = time.monotonic()
        for zone, pod in PODS.items():
            wait_status(lambda p=pod, z=zone: pod_server(cloud, p, servers[z]), "ACTIVE",
                        timeout=300, what=f"server {servers[zone]} ({zone}) ACTIVE in {pod}")
            times[f"{zone} ACTIVE"] = round(time.monotonic() - t0, 1)
            (routing,) = routings.find(conf, top_id=servers[zone], resource_type="server")
            assert routing["bottom_id"] == servers[zone]
        for zone in PODS:
            assert cli.json("server", "show", servers[zone])["status"] == "ACTIVE"
        listed = {s["ID"]: s["Status"] for s in cli.json("server", "list")}
        assert listed == {servers["az1"]: "ACTIVE", servers["az2"]: "ACTIVE"}, listed
        times["pod down"] = pod_down(cloud, fresh_project, conf, tmp_path, servers)

        # the two servers' top ports: different addresses of the subnet; their bottom
        # ports carry them, and the MACs
        top_ports = {p["ID"]: p for p in cli.json("port", "list", "--network", net["id"],
                                                   "--long")}
        assert len(top_ports) == 2, top_ports
        addresses = set()
        for zone, pod in PODS.items():
            (bottom,) = list(cloud.admin_connection(pod).network.ports(
                device_id=servers[zone]))
            top = top_ports[bottom.name]
            top_ips = [ip["ip_address"] for ip in top["Fixed IP Addresses"]]
            assert [ip["ip_address"] for ip in bottom.fixed_ips] == top_ips, (zone, bottom)
            assert bottom.mac_address == top["MAC Address"], (zone, bottom)
            assert bottom.project_id == fresh_project.id
            assert ipaddress.ip_address(top_ips[0]) in ipaddress.ip_network(cidr)
            addresses.update(top_ips)
            shown = cli.json("server", "show", servers[zone])["addresses"]
            assert top_ips[0] in json.dumps(shown), (zone, shown)
        assert len(addresses) == 2, addresses

        # a volume in each zone, attached to the server of its pod
        for zone in PODS:
            volumes[zone] = cli.json("volume", "create", "--size", "1",
                                     "--availability-zone", zone,
                                     f"gw16-vol-{zone}-{suffix}")["id"]
        for zone, pod in PODS.items():
            wait_status(lambda p=pod, z=zone: pod_volume(cloud, p, volumes[z]), "available",
                        timeout=180, what=f"volume {volumes[zone]} ({zone}) available in {pod}")
        listed = {v["ID"] for v in cli.json("volume", "list")}
        assert listed == set(volumes.values()), listed
        out = cli.run("server", "add", "volume", servers["az1"], volumes["az2"], ok=False)
        assert out.returncode != 0 and "one pod" in out.stderr, out.stderr
        t0 = time.monotonic()
        for zone in PODS:
            cli.run("server", "add", "volume", servers[zone], volumes[zone])
        for zone, pod in PODS.items():
            wait_status(lambda p=pod, z=zone: pod_volume(cloud, p, volumes[z]), "in-use",
                        timeout=300, what=f"volume {volumes[zone]} ({zone}) in-use in {pod}")
            times[f"{zone} attached"] = round(time.monotonic() - t0, 1)
            attached = pod_volume(cloud, pod, volumes[zone])["attachments"]
            assert [a["server_id"] for a in attached] == [servers[zone]], attached
        print("times (s):", times)
    finally:
        cleanup(cloud, cli, servers, volumes, net, subnet)
    # gone from the pods, as the pods' own APIs say
    for zone, pod in PODS.items():
        assert pod_server(cloud, pod, servers[zone]) is None, (zone, pod)
        assert pod_volume(cloud, pod, volumes[zone]) is None, (zone, pod)
        admin = cloud.admin_connection(pod).network
        assert list(admin.ports(project_id=fresh_project.id)) == [], pod
        assert list(admin.networks(project_id=fresh_project.id)) == [], pod
        assert list(admin.subnets(project_id=fresh_project.id)) == [], pod
    for kind in ("server", "volume", "port", "network", "subnet"):
        assert routings.list_routings(conf, filters={"resource_type": kind})[0] == [], kind


def sends_service_token(cloud, pod):
    """Whether the pod's Nova sends a service token with its Cinder calls (devclouds
    started before it was configured do not: Cinder then refuses Nova's detach)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(cloud.layout.service_dir("nova", L.region_index(pod)) / "nova.conf")
    return parser.getboolean("service_user", "send_service_user_token", fallback=False)


def cleanup(cloud, cli, servers, volumes, net, subnet):
    """Everything deleted through the gateway, each step waited for in the pods (bounded);
    a step that fails does not stop the others, the failures are raised at the end.

    Volumes: detached through the gateway first where the pod's Nova sends service tokens;
    on a devcloud whose Nova does not, Cinder refuses Nova's attachment delete
    (ConflictNovaUsingAttachment) and the volume stays in-use after its server's delete:
    once Nova no longer knows the server, Cinder lets the pod's admin remove that
    attachment (os-detach), and the volume is then deleted through the gateway."""
    errors = []

    def step(what, fn):
        try:
            fn()
            return True
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(f"{what}: {exc}")
            return False

    def available(zone, volume_id):
        wait_status(lambda: pod_volume(cloud, PODS[zone], volume_id), "available",
                    timeout=180, what=f"volume {volume_id} ({zone}) available in {PODS[zone]}")

    strict = {zone: sends_service_token(cloud, PODS[zone]) for zone in volumes}
    for zone, volume_id in volumes.items():
        if strict[zone] and zone in servers:
            if step(f"volume {zone} detach", lambda z=zone, v=volume_id: cli.run(
                    "server", "remove", "volume", servers[z], v)):
                step(f"volume {zone} detached", lambda z=zone, v=volume_id: available(z, v))
    deleted = {zone: step(f"server {zone} delete", lambda s=server_id: cli.run(
        "server", "delete", s)) for zone, server_id in servers.items()}
    for zone, server_id in servers.items():
        if deleted[zone]:
            step(f"server {zone} gone", lambda z=zone, s=server_id: wait_for(
                lambda: pod_server(cloud, PODS[z], s) is None, timeout=180, interval=1,
                what=f"server {s} gone from {PODS[z]}"))
            # as `server delete --wait` does: the gateway's 404 forgets the routing
            step(f"server {zone} 404 through the gateway", lambda s=server_id: cli.gone(
                f"{cli.gateway['compute']}/servers/{s}"))
    for zone, volume_id in volumes.items():
        if not strict[zone]:
            print(f"{PODS[zone]}'s Nova sends no service token: its attachment of volume "
                  f"{volume_id} removed by the pod's admin after the server's delete")
            step(f"volume {zone} leftover attachment", lambda z=zone, v=volume_id:
                 _detach_leftover(cloud, PODS[z], v))
        if step(f"volume {zone} available", lambda z=zone, v=volume_id: available(z, v)) \
                and step(f"volume {zone} delete", lambda v=volume_id: cli.run(
                    "volume", "delete", v)):
            step(f"volume {zone} gone", lambda z=zone, v=volume_id: wait_for(
                lambda: pod_volume(cloud, PODS[z], v) is None, timeout=180, interval=1,
                what=f"volume {v} gone from {PODS[z]}"))
            step(f"volume {zone} 404 through the gateway", lambda v=volume_id: cli.gone(
                f"{cli.volume_url}/volumes/{v}"))
    step("subnet delete", lambda: cli.run("subnet", "delete", subnet["id"]))
    step("network delete", lambda: cli.run("network", "delete", net["id"]))
    if errors:
        raise AssertionError("cleanup through the gateway: " + "; ".join(errors))


def _detach_leftover(cloud, pod, volume_id):
    volume = pod_volume(cloud, pod, volume_id)
    for attachment in volume["attachments"] if volume else []:
        answer = cloud.admin_connection(pod).block_storage.post(
            f"/volumes/{volume_id}/action",
            json={"os-detach": {"attachment_id": attachment["attachment_id"]}})
        assert answer.status_code == 202, (pod, answer.status_code, answer.text)
