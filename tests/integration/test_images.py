"""Image distribution against the devcloud's real Glance in 3 regions (docs/images.md).

The API and an engine run in this process (noauth headers with the real project and user
ids, fake:// RPC), reaching the regions with the devcloud admin as [cache] service user;
the crash test runs engines as separate `multisite-engine` processes sharing the
database. Images are made with the `openstack` client or openstacksdk as the project's
member, as a user would.
"""

import concurrent.futures
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import webob

from multisite.clients import image as image_client
from multisite.objects import images as image_rows
from tests.integration.test_sync_jobs import _cache_overrides, _keystone_url
from tests.integration.test_sync_policies import openstack
from tests.integration.usage import unique, wait_for

pytestmark = pytest.mark.integration
R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
MIB = 1024 * 1024
FAST = (("scan_interval", 0.2), ("rollout_poll", 0.2), ("gate_retry", 0.2),
        ("audit_interval", 2.0))


@pytest.fixture
def stack(devcloud, conf, request):
    _cache_overrides(conf)
    for name, value in FAST:
        conf.set_override(name, value, group="image_distribution")
    conf.set_override("report_interval", 1)
    yield request.getfixturevalue("wsgi_app")
    for name, _ in FAST:
        conf.clear_override(name, group="image_distribution")
    conf.clear_override("report_interval")


class V2:
    def __init__(self, app, project):
        self.app, self.project = app, project

    def __call__(self, method, path, body=None):
        req = webob.Request.blank(path, method=method, headers={
            "X-Project-Id": self.project.id, "X-User-Id": self.project.user_id,
            "X-Roles": "member"})
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = "application/json"
        resp = req.get_response(self.app)
        return resp.status_int, json.loads(resp.body)

    def mode(self, mode, image="default", **spec):
        status, body = self("PUT", f"/v2/image-distributions/{image}",
                            {"image_distribution": {"mode": mode, "source": R1, **spec}})
        assert status == 200, body
        return body["image_distribution"]

    def rollout(self, image_id, **spec):
        status, body = self("POST", "/v2/image-rollouts", {"image_rollout": {
            "image_id": image_id, "source": R1, "waves": [[R2], [R3]], **spec}})
        assert status == 202, body
        return body["image_rollout"]["id"]

    def wait_rollout(self, rollout_id, states=("succeeded", "rolled_back"), timeout=180):
        def ended():
            status, body = self("GET", f"/v2/image-rollouts/{rollout_id}")
            assert status == 200, body
            return body["image_rollout"] if body["image_rollout"]["state"] in states else None
        return wait_for(ended, timeout=timeout, interval=0.3, what=f"rollout in {states}")


def _all_images(devcloud, project_id, region):
    """Every image of the project in a region, the hidden ones too (as admin)."""
    conn = devcloud.admin_connection(region)
    return list(conn.image.images(owner=project_id)) + list(
        conn.image.images(owner=project_id, is_hidden=True))


@contextlib.contextmanager
def cleanup_images(devcloud, project):
    try:
        yield
    finally:
        for region in (R1, R2, R3):
            conn = devcloud.admin_connection(region)
            for img in _all_images(devcloud, project.id, region):
                with contextlib.suppress(Exception):
                    conn.image.delete_image(img, ignore_missing=True)


def _upload(conn, name, data, **props):
    import io
    made = conn.image.create_image(name=name, data=io.BytesIO(data), disk_format="raw",
                                   container_format="bare", allow_duplicates=True, **props)
    return conn.image.get_image(made.id)


def _active(conn, image_id):
    with contextlib.suppress(Exception):
        found = conn.image.get_image(image_id)
        return found if found.status == "active" else None
    return None


def _prop(image, key):
    """An image property, whether openstacksdk maps it to an attribute or not."""
    value = getattr(image, key, None)
    return value if value is not None else (image.properties or {}).get(key)


def _named(conn, name):
    """What a user gets under the name (hidden images are not listed)."""
    return sorted(i.id for i in conn.image.images(name=name))


# -- auto ----------------------------------------------------------------------------------------
def test_auto_image_uploaded_with_openstack_reaches_every_region(stack, fresh_project,
                                                                 devcloud, tmp_path):
    api = V2(stack, fresh_project)
    name = unique("auto")
    api.mode("auto")
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(3 * MIB))
    with cleanup_images(devcloud, fresh_project):
        made = json.loads(openstack(
            devcloud, fresh_project, R1, "image", "create", "--file", str(blob),
            "--disk-format", "raw", "--container-format", "bare", "--property",
            "os_distro=cirros", "--property", "hw_disk_bus=scsi", "-f", "json", name))
        source = fresh_project.connect(R1).image.get_image(made["id"])
        copies = {r: wait_for(lambda r=r: _active(fresh_project.connect(r), source.id),
                              timeout=120, interval=0.5, what=f"the copy in {r}")
                  for r in (R2, R3)}
        for copy in copies.values():
            assert copy.checksum == source.checksum and copy.size == source.size
            assert copy.hash_value == source.hash_value
            assert copy.name == name and copy.disk_format == "raw"
            assert _prop(copy, "os_distro") == "cirros"
            assert _prop(copy, "hw_disk_bus") == "scsi"
        assert _prop(fresh_project.connect(R1).image.get_image(source.id),
                     "multisite_distribution") == "auto"
        # a property changed with the openstack client reaches the copies (next audit)
        openstack(devcloud, fresh_project, R1, "image", "set", "--property",
                  "os_distro=debian", source.id)
        for region in (R2, R3):
            wait_for(lambda r=region: _prop(fresh_project.connect(r).image.get_image(
                source.id), "os_distro") == "debian", timeout=60,
                interval=0.5, what=f"the property in {region}")
        for region in (R2, R3):
            assert len([i for i in _all_images(devcloud, fresh_project.id, region)
                        if i.name == name]) == 1


@pytest.fixture
def audit_passes(monkeypatch):
    """Times of every periodic audit pass (its key listing) of the engines started after
    this fixture: patched on the class, so the start-up pass is seen whenever it runs."""
    from multisite.engine import images as engine_images
    passes = []
    real = engine_images.ImageEnv.audit_keys
    monkeypatch.setattr(engine_images.ImageEnv, "audit_keys",
                        lambda self: passes.append(time.monotonic()) or real(self))
    return passes


@pytest.fixture
def with_events(devcloud, conf, request, audit_passes):
    """The engine's event feed on the devcloud's region buses, in a pool of its own (other
    listeners of the shared devcloud keep their messages), and no periodic audit after
    the start-up one."""
    urls = [f"{r}={devcloud.transport_url(r)}" for r in (R1, R2, R3)]
    conf.set_override("region_transport_url", urls, group="notifications")
    conf.set_override("pool", f"ms-images-it-{uuid.uuid4().hex[:8]}", group="notifications")
    conf.set_override("batch_timeout", 0.1, group="notifications")
    _cache_overrides(conf)
    for name, value in FAST:
        conf.set_override(name, value, group="image_distribution")
    conf.set_override("audit_interval", 3600.0, group="image_distribution")
    conf.set_override("report_interval", 1)
    app = request.getfixturevalue("wsgi_app")
    feed = request.getfixturevalue("engine").feed
    wait_for(lambda: all(lst.state == "listening" for lst in feed.listeners.values()),
             timeout=60, what="the event listeners")
    yield app
    for name in ("region_transport_url", "pool", "batch_timeout"):
        conf.clear_override(name, group="notifications")
    conf.clear_override("report_interval")
    for name, _ in FAST:
        conf.clear_override(name, group="image_distribution")


def test_auto_is_woken_by_the_image_activate_event(with_events, fresh_project, devcloud,
                                                  engine, audit_passes):
    """The periodic audit runs once at start, then every hour: with no pass from the
    upload to the copies, only the image.* events can have made them."""
    # the start-up pass comes report_interval after the engine started: let it go by
    # first (on a loaded machine it came after the upload, and could have made the copies)
    wait_for(lambda: audit_passes, timeout=60, what="the engine's start-up audit pass")
    passes = audit_passes
    api = V2(with_events, fresh_project)
    api.mode("auto")
    name = unique("evt")
    with cleanup_images(devcloud, fresh_project):
        started = time.monotonic()
        source = _upload(fresh_project.connect(R1), name, os.urandom(2 * MIB))
        active_at = time.monotonic()
        for region in (R2, R3):
            wait_for(lambda r=region: _active(fresh_project.connect(r), source.id),
                     timeout=90, interval=0.2, what=f"the copy in {region}")
        done = time.monotonic()
        assert not [t for t in passes if t >= started]     # no periodic pass meanwhile
        print(f"\nauto via image.activate: upload {active_at - started:.2f} s, source active "
              f"-> active in 2 targets {done - active_at:.2f} s (2 MiB, no periodic audit)")


# -- lazy ----------------------------------------------------------------------------------------
def test_lazy_ensure_copies_once_and_only_where_asked(stack, fresh_project, devcloud):
    api = V2(stack, fresh_project)
    api.mode("lazy")
    name = unique("lazy")
    with cleanup_images(devcloud, fresh_project):
        source = _upload(fresh_project.connect(R1), name, os.urandom(8 * MIB))
        creates = image_client.creates(R2)

        def ensure(_):
            return api("POST", f"/v2/images/{source.id}/ensure",
                       {"region": R2, "wait": True, "timeout": 120})

        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(ensure, range(20)))
        assert {s for s, _ in answers} == {200}, answers
        assert {b["image_copy"]["id"] for _, b in answers} != set()
        assert len({b["image_copy"]["id"] for _, b in answers}) == 1
        assert {b["image_copy"]["state"] for _, b in answers} == {"active"}, answers
        assert image_client.creates(R2) - creates == 1           # one Glance create
        copies = [i for i in _all_images(devcloud, fresh_project.id, R2) if i.name == name]
        assert len(copies) == 1 and copies[0].checksum == source.checksum
        assert copies[0].id == source.id                         # same id as the source
        assert not [i for i in _all_images(devcloud, fresh_project.id, R3) if i.name == name]
        status, body = api("POST", f"/v2/images/{source.id}/ensure", {"region": R2})
        assert status == 200 and body["image_copy"]["state"] == "active"
        assert image_client.creates(R2) - creates == 1


def _members(devcloud, region, image_id):
    """{member project: status} of an image, as Glance's admin sees them."""
    return {m.member_id: m.status
            for m in devcloud.admin_connection(region).image.members(image_id)}


def test_members_of_a_shared_image_follow_its_copies(stack, fresh_project, devcloud):
    """Lazy: the copy gets the source's members with their status; auto: a member removed
    and a status changed in the source reach the copies."""
    api = V2(stack, fresh_project)
    name = unique("shared")
    accepted, pending, rejected = (uuid.uuid4().hex for _ in range(3))
    with cleanup_images(devcloud, fresh_project):
        owner = fresh_project.connect(R1)
        admin = devcloud.admin_connection(R1)
        source = _upload(owner, name, os.urandom(MIB), visibility="shared")
        for member in (accepted, pending, rejected):
            owner.image.add_member(source.id, member_id=member)
        # a member's answer is the member's (or an admin's) to give, never the owner's
        admin.image.update_member(accepted, source.id, status="accepted")
        admin.image.update_member(rejected, source.id, status="rejected")
        wanted = {accepted: "accepted", pending: "pending", rejected: "rejected"}
        assert _members(devcloud, R1, source.id) == wanted
        status, body = api("POST", f"/v2/images/{source.id}/ensure",
                           {"region": R2, "source": R1, "wait": True, "timeout": 120})
        assert status == 200 and body["image_copy"]["state"] == "active", body
        assert body["image_copy"]["reason"] is None, body
        assert _members(devcloud, R2, source.id) == wanted
        api.mode("auto", image=source.id)
        wait_for(lambda: _active(fresh_project.connect(R3), source.id), timeout=120,
                 interval=0.5, what="the auto copy in RegionThree")
        assert _members(devcloud, R3, source.id) == wanted
        owner.image.remove_member(accepted, source.id)
        admin.image.update_member(pending, source.id, status="accepted")
        changed = {pending: "accepted", rejected: "rejected"}
        for region in (R2, R3):
            wait_for(lambda r=region: _members(devcloud, r, source.id) == changed,
                     timeout=60, interval=0.5, what=f"the members in {region}")


# -- controlled ----------------------------------------------------------------------------------
def _old_and_new(project, name):
    old = {r: _upload(project.connect(r), name, os.urandom(MIB)).id for r in (R2, R3)}
    new = _upload(project.connect(R1), name, os.urandom(2 * MIB))
    return old, new


def test_rollout_corrupted_in_wave_one_rolls_back_then_a_clean_one_promotes_both(
        stack, fresh_project, devcloud, engine):
    api = V2(stack, fresh_project)
    name = unique("os")
    with cleanup_images(devcloud, fresh_project):
        old, new = _old_and_new(fresh_project, name)
        env = engine.engine.controllers["image_copy"].shared
        env.corrupt.add(R2)                     # the test hook: damage R2's upload
        try:
            failed = api.wait_rollout(api.rollout(new.id))
        finally:
            env.corrupt.discard(R2)
        assert failed["state"] == "rolled_back", failed
        assert "wave 1 failed" in failed["reason"], failed
        assert "verification failed" in failed["reason"], failed
        assert failed["waves"][1]["state"] == "pending"
        assert _named(fresh_project.connect(R2), name) == [old[R2]]
        assert _named(fresh_project.connect(R3), name) == [old[R3]]
        assert not [i for i in _all_images(devcloud, fresh_project.id, R3)
                    if i.id not in (old[R3],) and i.name == name]       # R3 never changed

        done = api.wait_rollout(api.rollout(new.id))
        assert done["state"] == "succeeded", done
        for region in (R2, R3):
            conn = fresh_project.connect(region)
            visible = _named(conn, name)
            assert len(visible) == 1 and visible[0] != old[region]
            assert conn.image.get_image(visible[0]).checksum == new.checksum
            assert conn.image.get_image(old[region]).is_hidden is True
        # R2's first copy failed verification and was deleted: Glance keeps its id, so
        # the second rollout's copy there has the copy row's next id
        assert _named(fresh_project.connect(R3), name) == [new.id]

        status, body = api("POST", f"/v2/image-rollouts/{done['id']}/rollback",
                           {"reason": "boot failures"})
        assert status == 202, body
        back = api.wait_rollout(done["id"], states=("rolled_back",))
        assert "boot failures" in back["reason"]
        for region in (R2, R3):
            assert _named(fresh_project.connect(region), name) == [old[region]]


def test_source_unreachable_pauses_the_rollout_with_the_reason(stack, fresh_project,
                                                               devcloud, engine):
    """The engine's RegionOne Glance client points at a closed port (the shared devcloud
    keeps running): the rollout shows why it waits, and finishes once R1 answers again."""
    api = V2(stack, fresh_project)
    name = unique("os")
    with cleanup_images(devcloud, fresh_project):
        old, new = _old_and_new(fresh_project, name)
        env = engine.engine.controllers["image_rollout"].shared
        client = env.regions.image(R1)
        real = client._url("")
        client._base = "http://127.0.0.1:9/v2"           # nothing listens on port 9
        try:
            rollout_id = api.rollout(new.id)
            paused = wait_for(lambda: (b := api("GET", f"/v2/image-rollouts/{rollout_id}")[1][
                "image_rollout"])["paused_reason"] and b, timeout=60, interval=0.3,
                what="the paused reason")
            assert paused["state"] == "running"
            assert "source region RegionOne unreachable" in paused["paused_reason"], paused
        finally:
            client._base = real
        done = api.wait_rollout(rollout_id)
        assert done["state"] == "succeeded" and done["paused_reason"] is None, done
        assert _named(fresh_project.connect(R3), name) == [new.id]


# -- kill -9 -------------------------------------------------------------------------------------
def _engine_conf(tmp_path, conf, pause_after=0, name="engine.conf"):
    path = tmp_path / name
    path.write_text(f"""[DEFAULT]
transport_url = fake://
host = it-images
report_interval = 1
[database]
connection = {conf.database.connection}
[cache]
auth_uri = {_keystone_url()}
admin_username = admin
admin_password = adminpw
admin_tenant = admin
[image_distribution]
scan_interval = 0.3
lease = 6
rollout_poll = 0.3
audit_interval = 3600
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


def test_engine_killed_mid_rollout_resumes_without_a_duplicate(devcloud, db, fresh_project,
                                                               tmp_path):
    """The rollout row is written as the API writes it; engine 1 is killed (SIGKILL) while
    it copies 60 MiB to RegionTwo (held after 16 MiB by the test hook: a fast machine copies
    the whole image between two looks); engine 2 resumes after the lease: one copy per
    region."""
    name = unique("big")
    conn = fresh_project.connect(R1)
    blob = tmp_path / "blob"
    with open(blob, "wb") as fh:
        for _ in range(60):
            fh.write(os.urandom(MIB))
    first = second = None
    with cleanup_images(devcloud, fresh_project):
        with open(blob, "rb") as fh:
            made = conn.image.create_image(name=name, data=fh, disk_format="raw",
                                           container_format="bare", validate_checksum=False)
        blob.unlink()
        source = conn.image.get_image(made.id)
        rollout = image_rows.create_rollout(db, project_id=fresh_project.id,
                                            image_id=source.id, source=R1,
                                            waves=[[R2], [R3]])
        try:
            first = _start_engine(tmp_path, db, "engine1.log", pause_after=16 * MIB)
            wait_for(lambda: b"TEST HOOK: paused" in (tmp_path / "engine1.log").read_bytes(),
                     timeout=120, interval=0.1, what="the copy to RegionTwo paused mid-upload")
            first.send_signal(signal.SIGKILL)
            first.wait()
            assert image_rows.find_copy(db, source.id, R2)["state"] == "copying"
            second = _start_engine(tmp_path, db, "engine2.log")
            done = wait_for(lambda: (r := image_rows.get_rollout(db, rollout["id"]))[
                "state"] in ("succeeded", "rolled_back") and r, timeout=300, interval=0.5,
                what="the rollout to end")
            assert done["state"] == "succeeded", (done, (tmp_path / "engine2.log").read_text()[
                -3000:])
            for region in (R2, R3):
                copies = [i for i in _all_images(devcloud, fresh_project.id, region)
                          if i.name == name]
                assert len(copies) == 1, copies
                assert copies[0].checksum == source.checksum and copies[0].id == source.id
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait(timeout=30)
