"""os-sync against the devcloud: real Keystone, Nova and Glance in 3 regions.

The API and an engine run in this process (noauth identity headers carrying the real
user and project ids; fake:// RPC); the engine reaches the regions with the devcloud
admin as its [cache] service user. The crash and memory tests run the engine as a
separate `multisite-engine` process sharing the database.
"""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
import webob

from multisite.devcloud import layout as L
from tests.integration.usage import PUBLIC_KEY, region_down, unique, wait_for

pytestmark = pytest.mark.integration
R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
MIB = 1024 * 1024


def _keystone_url():
    """The devcloud's Keystone (port offset included: MULTISITE_DEVCLOUD_PORT_OFFSET or the
    offset its state records)."""
    return L.Layout(L.default_base()).keystone_url


def _cache_overrides(conf):
    for name, value in (("auth_uri", _keystone_url()), ("admin_username", "admin"),
                        ("admin_password", "adminpw"), ("admin_tenant", "admin")):
        conf.set_override(name, value, group="cache")


@pytest.fixture
def stack(devcloud, conf, request):
    _cache_overrides(conf)
    conf.set_override("scan_interval", 0.2, group="sync")
    conf.set_override("retry_delay", 0.2, group="sync")
    conf.set_override("max_attempts", 3, group="sync")
    app = request.getfixturevalue("wsgi_app")
    yield app
    conf.clear_override("scan_interval", group="sync")
    conf.clear_override("retry_delay", group="sync")
    conf.clear_override("max_attempts", group="sync")


class Api:
    def __init__(self, app, project, *, roles="member"):
        self.app, self.project, self.roles = app, project, roles

    def __call__(self, method, path, body=None, roles=None):
        req = webob.Request.blank(f"/v1.0/{self.project.id}/os-sync{path}", method=method,
                                  headers={"X-Project-Id": self.project.id,
                                           "X-User-Id": self.project.user_id,
                                           "X-Roles": roles or self.roles})
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = "application/json"
        resp = req.get_response(self.app)
        return resp.status_int, json.loads(resp.body) if resp.body else None

    def create(self, rtype, resources, *, targets=(R2, R3), force="False", source=R1):
        status, body = self("POST", "/", {"resource_set": {
            "resource_type": rtype, "resources": list(resources), "source": source,
            "target": list(targets), "force": force}})
        assert status == 200, body
        return body["job_status"]["id"]

    def wait(self, job_id, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self("GET", f"/{job_id}?verbose=true")[1]["job_set"]
            if all(r["sync_status"] != "IN_PROGRESS" for r in rows):
                time.sleep(0.2)
                return rows
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} not finished: {rows}")

    def job(self, job_id):
        return {j["id"]: j for j in self("GET", "")[1]["job_set"]}[job_id]


@contextlib.contextmanager
def cleanup_keypairs(project, name):
    try:
        yield
    finally:
        for region in (R1, R2, R3):
            with contextlib.suppress(Exception):
                project.connect(region).compute.delete_keypair(name, ignore_missing=True)


def test_keypair_sync_with_and_without_force(stack, fresh_project):
    api = Api(stack, fresh_project)
    names = [unique("kp"), unique("kp")]
    conn = fresh_project.connect(R1)
    with cleanup_keypairs(fresh_project, names[0]), cleanup_keypairs(fresh_project, names[1]):
        for name in names:
            conn.compute.create_keypair(name=name, public_key=PUBLIC_KEY)
        job_id = api.create("keypair", names)
        assert api("GET", "/active")[0] == 200
        rows = api.wait(job_id)
        assert {r["sync_status"] for r in rows} == {"SUCCESS"}, rows
        for region in (R2, R3):
            got = fresh_project.connect(region).compute.get_keypair(names[0])
            assert got.public_key == PUBLIC_KEY
        assert api.job(job_id)["sync_status"] == "SUCCESS"
        assert api("DELETE", f"/{job_id}")[0] == 200
        assert api("DELETE", f"/{job_id}")[0] == 404
        again = api.create("keypair", names)
        rows = api.wait(again)
        assert [r["sync_status"] for r in rows] == ["FAILURE"] * 4, rows
        forced = api.create("keypair", names, force="True")
        assert {r["sync_status"] for r in api.wait(forced)} == {"SUCCESS"}


def test_flavor_sync_admin(stack, fresh_project, devcloud):
    api = Api(stack, fresh_project)
    name = unique("fl")
    admin = devcloud.admin_connection(R1)
    flavor = admin.compute.create_flavor(name=name, ram=512, vcpus=1, disk=10, ephemeral=10,
                                         swap=1024, rxtx_factor=2.0, is_public=False)
    try:
        admin.compute.create_flavor_extra_specs(flavor, {"hw:cpu_policy": "dedicated"})
        admin.compute.flavor_add_tenant_access(flavor, fresh_project.id)
        assert api("POST", "/", {"resource_set": {
            "resource_type": "flavor", "resources": [name], "source": R1,
            "target": [R2]}})[0] == 403
        job_id = Api(stack, fresh_project, roles="admin").create("flavor", [name])
        rows = Api(stack, fresh_project, roles="admin").wait(job_id)
        assert {r["sync_status"] for r in rows} == {"SUCCESS"}, rows
        for region in (R2, R3):
            conn = devcloud.admin_connection(region)
            copy = conn.compute.get_flavor(flavor.id)
            for attr in ("name", "ram", "vcpus", "disk", "ephemeral", "swap", "rxtx_factor",
                         "is_public"):
                assert getattr(copy, attr) == getattr(flavor, attr), attr
            assert conn.compute.fetch_flavor_extra_specs(copy).extra_specs == {
                "hw:cpu_policy": "dedicated"}
            access = [a["tenant_id"] for a in conn.compute.get_flavor_access(copy)]
            assert access == [fresh_project.id]
    finally:
        for region in (R1, R2, R3):
            conn = devcloud.admin_connection(region)
            for f in list(conn.compute.flavors(is_public=None)):
                if f.name == name:
                    conn.compute.delete_flavor(f)


def _image(conn, name, data, **kw):
    return conn.image.create_image(name=name, data=io.BytesIO(data), allow_duplicates=True,
                                   validate_checksum=False, **kw)


def _delete_images(devcloud, ids_or_names):
    for region in (R1, R2, R3):
        conn = devcloud.admin_connection(region)
        for img in list(conn.image.images()):
            if img.id in ids_or_names or img.name in ids_or_names:
                with contextlib.suppress(Exception):
                    conn.image.delete_image(img)


def test_image_sync_force_no_force_and_ami(stack, fresh_project, devcloud):
    api = Api(stack, fresh_project)
    conn = fresh_project.connect(R1)
    name = unique("img")
    raw = _image(conn, name, os.urandom(2 * MIB), disk_format="raw", container_format="bare",
                 architecture="arm", hypervisor_type="qemu")
    raw = conn.image.get_image(raw.id)
    names = [name]
    try:
        job_id = api.create("image", [raw.id])
        assert {r["sync_status"] for r in api.wait(job_id)} == {"SUCCESS"}
        for region in (R2, R3):
            copy = fresh_project.connect(region).image.get_image(raw.id)
            assert (copy.checksum, copy.disk_format, copy.visibility) == (
                raw.checksum, "raw", raw.visibility)
            assert copy.properties.get("architecture", copy.architecture) == "arm"
        rows = api.wait(api.create("image", [raw.id], targets=[R2]))
        assert rows[0]["sync_status"] == "FAILURE" and "409" in rows[0]["error"]
        rows = api.wait(api.create("image", [raw.id], targets=[R2], force="True"))
        assert rows[0]["sync_status"] == "SUCCESS", rows
        copies = [i for i in fresh_project.connect(R2).image.images() if i.name == name]
        assert len(copies) == 2 and len({i.id for i in copies}) == 2
        kernel = _image(conn, unique("aki"), os.urandom(4096), disk_format="aki",
                        container_format="aki")
        ramdisk = _image(conn, unique("ari"), os.urandom(4096), disk_format="ari",
                         container_format="ari")
        ami = _image(conn, unique("ami"), os.urandom(8192), disk_format="ami",
                     container_format="ami", kernel_id=kernel.id, ramdisk_id=ramdisk.id)
        names += [kernel.name, ramdisk.name, ami.name]
        rows = api.wait(api.create("image", [ami.id]))
        assert {r["sync_status"] for r in rows} == {"SUCCESS"}, rows
        copy = fresh_project.connect(R3).image.get_image(ami.id)
        assert (copy.kernel_id, copy.ramdisk_id) == (kernel.id, ramdisk.id)
    finally:
        _delete_images(devcloud, names)


def test_target_region_down_fails_only_its_rows(stack, fresh_project):
    """RegionThree's Nova process is killed (SIGKILL) for the job, then restarted."""
    api = Api(stack, fresh_project)
    name = unique("kp")
    with cleanup_keypairs(fresh_project, name):
        fresh_project.connect(R1).compute.create_keypair(name=name, public_key=PUBLIC_KEY)
        with region_down(R3, services=("nova",)):
            job_id = api.create("keypair", [name])
            rows = {r["target_region"]: r for r in api.wait(job_id)}
        assert rows[R2]["sync_status"] == "SUCCESS"
        assert rows[R3]["sync_status"] == "FAILURE"
        assert "gave up after 3 attempts" in rows[R3]["error"], rows[R3]
        assert R3 in rows[R3]["error"] and "unreachable" in rows[R3]["error"], rows[R3]
        assert api.job(job_id)["sync_status"] == "FAILURE"
        assert fresh_project.connect(R2).compute.find_keypair(name) is not None
        # the region is back: the same sync now succeeds there
        rows = {r["target_region"]: r for r in api.wait(api.create("keypair", [name],
                                                                   targets=[R3]))}
        assert rows[R3]["sync_status"] == "SUCCESS", rows


def test_rejected_requests_leave_no_job(stack, fresh_project):
    api = Api(stack, fresh_project)
    for body, status in (
        ({"resource_set": {"resource_type": "keypair", "resources": ["nope"], "source": R1,
                           "target": [R2]}}, 404),
        ({"resource_set": {"resource_type": "image", "resources": [str(uuid.uuid4())],
                           "source": R1, "target": [R2]}}, 404),
        ({"resource_set": {"resource_type": "keypair", "resources": ["x"], "source": R1,
                           "target": "RegionTwo"}}, 400),
        ({"resource_set": {"resource_type": "keypair", "resources": ["x"], "source": R1,
                           "target": ["RegionNowhere"]}}, 400),
    ):
        assert api("POST", "/", body)[0] == status
    assert api("GET", "")[1] == {"job_set": []}


# -- a separate engine process: killed mid-job, and its memory while copying 100 MiB --------

def _engine_conf(tmp_path, conf, pause_after=0, name="engine.conf"):
    path = tmp_path / name
    path.write_text(f"""[DEFAULT]
transport_url = fake://
host = it-engine
[database]
connection = {conf.database.connection}
[cache]
auth_uri = {_keystone_url()}
admin_username = admin
admin_password = adminpw
admin_tenant = admin
[sync]
scan_interval = 0.5
lease = 6
retry_delay = 0.5
[image_distribution]
test_pause_after_bytes = {pause_after}
[scheduler]
periodic_enable = false
[coordination]
backend_url = file://{tmp_path}/locks
""")
    return path


def _start_engine(tmp_path, conf, log_name, pause_after=0):
    log = open(tmp_path / log_name, "wb")  # noqa: SIM115
    path = _engine_conf(tmp_path, conf, pause_after, name=f"{log_name}.conf")
    return subprocess.Popen(
        [sys.executable, "-m", "multisite.cmd.engine", "--config-file", str(path)],
        stdout=log, stderr=subprocess.STDOUT)


def _rss(pid):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@pytest.fixture
def api_only(stack, engine):
    """The in-process engine validates requests (its RPC server runs) but leaves the rows
    to other processes: its manager, which runs every kind's work, is stopped (the sync
    kind's own stop does nothing on a manager it shares). The rows the API hands to it
    are claimed by another engine once their short handoff lease lapses."""
    engine.engine.stop()
    assert not engine.sync._running()
    return stack


def test_engine_killed_mid_job_and_memory_of_100mib_copy(api_only, fresh_project, devcloud,
                                                         conf, tmp_path):
    api = Api(api_only, fresh_project)
    conn = fresh_project.connect(R1)
    name = unique("big")
    blob = tmp_path / "blob"
    with open(blob, "wb") as fh:
        for _ in range(100):
            fh.write(os.urandom(MIB))
    with open(blob, "rb") as fh:
        big = conn.image.create_image(name=name, data=fh, disk_format="raw",
                                      container_format="bare", validate_checksum=False)
    blob.unlink()
    big = conn.image.get_image(big.id)
    warm = unique("kp")
    first = _start_engine(tmp_path, conf, "engine1.log")
    second = None
    try:
        with cleanup_keypairs(fresh_project, warm):
            conn.compute.create_keypair(name=warm, public_key=PUBLIC_KEY)
            assert {r["sync_status"] for r in api.wait(api.create("keypair", [warm]))} == {
                "SUCCESS"}  # also warms the engine up (imports, sessions) before measuring
        baseline = _rss(first.pid)
        peak = [baseline]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                with contextlib.suppress(OSError):
                    peak[0] = max(peak[0], _rss(first.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        job_id = api.create("image", [big.id])
        rows = api.wait(job_id, timeout=300)
        stop.set()
        sampler.join()
        assert {r["sync_status"] for r in rows} == {"SUCCESS"}, rows
        growth = peak[0] - baseline
        print(f"\nengine RSS while copying 100 MiB to 2 regions: baseline "
              f"{baseline / MIB:.1f} MiB, peak {peak[0] / MIB:.1f} MiB, growth "
              f"{growth / MIB:.1f} MiB")
        assert growth < 64 * MIB

        # Kill an engine in the middle of a second copy (force: new ids), start another.
        # The engine that copies is held mid-upload by the test hook (after 16 MiB of a
        # copy): a fast machine copies the whole 100 MiB between two looks.
        first.terminate()
        first.wait(timeout=30)
        first = _start_engine(tmp_path, conf, "engine1-held.log", pause_after=16 * MIB)
        forced = api.create("image", [big.id], force="True")
        held = tmp_path / "engine1-held.log"
        wait_for(lambda: b"TEST HOOK: paused" in held.read_bytes(), timeout=120,
                 interval=0.2, what="a copy paused mid-upload")
        rows = api("GET", f"/{forced}?verbose=true")[1]["job_set"]
        assert {r["sync_status"] for r in rows} == {"IN_PROGRESS"}, rows
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = _start_engine(tmp_path, conf, "engine2.log")
        rows = api.wait(forced, timeout=300)
        assert {r["sync_status"] for r in rows} == {"SUCCESS"}, rows
        assert api.job(forced)["sync_status"] == "SUCCESS"
        for region in (R2, R3):
            copies = [i for i in fresh_project.connect(region).image.images()
                      if i.name == name and i.id != big.id]
            assert len(copies) == 1, copies  # the restarted row resumed, no duplicate
            assert copies[0].checksum == big.checksum
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        _delete_images(devcloud, [name])
