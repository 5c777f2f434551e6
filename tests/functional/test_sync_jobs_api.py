"""os-sync stories against the in-process app and engine, with an in-memory cloud at the
clients/ boundary: create/list/active/detail/delete, codes, validation before rows,
visibility, pagination, and the engine's durability."""

import json
import re
import time
import uuid

import pytest
import sqlalchemy as sa
import webob

from multisite.db import api as db_api
from multisite.db import models
from multisite.engine import sync_manager
from multisite.objects import sync_jobs
from tests.unit.reconcilers.fake_regions import FakeCloud

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")
USER = uuid.uuid4().hex


@pytest.fixture
def cloud(monkeypatch, conf):
    for name, value in (("scan_interval", 0.05), ("retry_delay", 0.05), ("lease", 5),
                        ("max_attempts", 3)):
        conf.set_override(name, value, group="sync")
    yield FakeCloud().install(monkeypatch)
    for name in ("scan_interval", "retry_delay", "lease", "max_attempts", "handoff_lease"):
        conf.clear_override(name, group="sync")


@pytest.fixture
def app(cloud, wsgi_app):
    return wsgi_app


def call(app, method, path, body=None, *, project, user=USER, roles="member"):
    req = webob.Request.blank(path, method=method, headers={
        "X-Project-Id": project, "X-User-Id": user, "X-Roles": roles})
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = "application/json"
    resp = req.get_response(app)
    return resp.status_int, (json.loads(resp.body) if resp.body else None)


def sync_body(resources, *, rtype="keypair", source=R1, target=(R2, R3), force="True"):
    return {"resource_set": {"resource_type": rtype, "resources": list(resources),
                             "source": source, "target": list(target), "force": force}}


def wait_done(app, project, job_id, *, timeout=10, **kw):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = call(app, "GET", f"/v1.0/{project}/os-sync/{job_id}?verbose=true",
                            project=project, **kw)
        assert status == 200, body
        rows = body["job_set"]
        if all(r["sync_status"] != "IN_PROGRESS" for r in rows):
            time.sleep(0.1)  # let the parent settle (same transaction as the last row)
            return rows
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still running: {rows}")


def job_status(app, project, job_id, **kw):
    _, body = call(app, "GET", f"/v1.0/{project}/os-sync?all_projects=false", project=project,
                   **kw)
    return {j["id"]: j for j in body["job_set"]}[job_id]


def count_jobs(conf):
    with db_api.session_scope(conf) as s:
        return (s.scalar(sa.select(sa.func.count()).select_from(models.SyncJob)),
                s.scalar(sa.select(sa.func.count()).select_from(models.ResourceSync)))


def test_keypair_job_lifecycle(app, cloud, project_id, conf):
    cloud.add_keypair(R1, USER, "k1", "ssh-ed25519 AAAA one", "ssh")
    cloud.add_keypair(R1, USER, "k2", "ssh-rsa AAAA two", "x509")
    status, body = call(app, "POST", f"/v1.0/{project_id}/os-sync/", sync_body(["k1", "k2"]),
                        project=project_id)
    assert status == 200, body
    job = body["job_status"]
    assert set(job) == {"id", "status", "created_at"}
    assert job["status"] == "IN_PROGRESS" and TIME.match(job["created_at"])
    rows = wait_done(app, project_id, job["id"])
    assert len(rows) == 4 and {r["sync_status"] for r in rows} == {"SUCCESS"}
    for region in (R2, R3):
        assert cloud.keypairs[region][(USER, "k2")]["type"] == "x509"
        assert cloud.keypairs[region][(USER, "k1")]["public_key"] == "ssh-ed25519 AAAA one"
    listed = job_status(app, project_id, job["id"])
    assert set(listed) == {"id", "sync_status", "created_at", "updated_at"}
    assert listed["sync_status"] == "SUCCESS"
    assert TIME.match(listed["created_at"]) and TIME.match(listed["updated_at"])
    _, detail = call(app, "GET", f"/v1.0/{project_id}/os-sync/{job['id']}", project=project_id)
    row = detail["job_set"][0]
    assert set(row) == {"id", "target_region", "source_region", "resource", "resource_type",
                        "sync_status", "created_at", "updated_at"}
    assert {r["resource"] for r in detail["job_set"]} == {"k1", "k2"}
    assert {r["resource_type"] for r in detail["job_set"]} == {"keypair"}
    status, body = call(app, "DELETE", f"/v1.0/{project_id}/os-sync/{job['id']}",
                        project=project_id)
    assert (status, body) == (200, f"job {job['id']} deleted from the database.")
    status, body = call(app, "DELETE", f"/v1.0/{project_id}/os-sync/{job['id']}",
                        project=project_id)
    assert status == 404 and body["error"]["code"] == "sync_job.not_found"
    assert count_jobs(conf) == (0, 0)


def test_keypair_rows_use_what_validation_read_and_start_on_the_cast(app, cloud, project_id,
                                                                      conf):
    """One source read per job (validation), one create per target, no scan needed."""
    conf.set_override("scan_interval", 3600, group="sync")  # only the cast can start rows
    cloud.add_keypair(R1, USER, "k1", "ssh-ed25519 AAAA one", "ssh")
    cloud.calls.clear()
    status, body = call(app, "POST", f"/v1.0/{project_id}/os-sync/", sync_body(["k1"]),
                        project=project_id)
    assert status == 200, body
    rows = wait_done(app, project_id, body["job_status"]["id"])
    assert {r["sync_status"] for r in rows} == {"SUCCESS"}
    assert sorted(cloud.calls) == sorted([(R1, "get keypair k1"), (R2, "create keypair k1"),
                                          (R3, "create keypair k1")])


@pytest.mark.parametrize("force", ["False", False])
def test_force_false_twice_fails_rows(app, cloud, project_id, force):
    cloud.add_keypair(R1, USER, "k1")
    cloud.add_keypair(R1, USER, "k2")
    body = sync_body(["k1", "k2"], target=[R2], force=force)
    first = call(app, "POST", f"/v1.0/{project_id}/os-sync", body, project=project_id)[1]
    assert {r["sync_status"] for r in wait_done(app, project_id,
                                                 first["job_status"]["id"])} == {"SUCCESS"}
    second = call(app, "POST", f"/v1.0/{project_id}/os-sync", body, project=project_id)[1]
    job_id = second["job_status"]["id"]
    rows = wait_done(app, project_id, job_id)
    assert [r["sync_status"] for r in rows] == ["FAILURE", "FAILURE"]
    assert all("already exists" in r["error"] for r in rows)
    assert job_status(app, project_id, job_id)["sync_status"] == "FAILURE"


@pytest.mark.parametrize("force", ["True", True])
def test_force_true_recreates_keypair(app, cloud, project_id, force):
    cloud.add_keypair(R1, USER, "k1", "ssh-ed25519 AAAA new")
    cloud.add_keypair(R2, USER, "k1", "ssh-ed25519 AAAA old")
    job = call(app, "POST", f"/v1.0/{project_id}/os-sync",
               sync_body(["k1"], target=[R2], force=force), project=project_id)[1]
    rows = wait_done(app, project_id, job["job_status"]["id"])
    assert rows[0]["sync_status"] == "SUCCESS"
    assert cloud.keypairs[R2][(USER, "k1")]["public_key"] == "ssh-ed25519 AAAA new"


def test_every_source_and_template_entry_is_processed(app, cloud, project_id):
    cloud.add_keypair(R1, USER, "a")
    cloud.add_keypair(R2, USER, "b")
    cloud.add_keypair(R1, USER, "b")
    body = {"resource_set": {"Sync": [
        {"resource_type": "keypair", "resources": ["b"], "source": [R1, R2], "target": [R3],
         "force": "True"},
        {"resource_type": "keypair", "resources": ["a"], "source": R1, "target": [R2, R3]},
    ]}}
    job = call(app, "POST", f"/v1.0/{project_id}/os-sync", body, project=project_id)[1]
    rows = wait_done(app, project_id, job["job_status"]["id"])
    pairs = {(r["resource"], r["source_region"], r["target_region"]) for r in rows}
    assert pairs == {("b", R1, R3), ("b", R2, R3), ("a", R1, R2), ("a", R1, R3)}
    assert {r["sync_status"] for r in rows} == {"SUCCESS"}


@pytest.mark.parametrize("body,status", [
    (None, 400),
    ({}, 400),
    ({"resource_set": {}}, 400),
    (sync_body(["k1"], target=R2), 400),                  # a string target (as Kingbird)
    (sync_body([]), 400),
    (sync_body(["k1"], rtype="volume"), 400),
    (sync_body(["k1"], force="yes"), 400),
    ({"resource_set": {"resource_type": "keypair", "resources": ["k1"], "target": [R2]}}, 400),
    (sync_body(["k1"], source="RegionNine"), 400),
    (sync_body(["k1"], target=["RegionNine"]), 400),
    (sync_body(["k1"], source=R1, target=[R1]), 400),
    (sync_body(["missing"]), 404),
    (sync_body(["k1", "missing"]), 404),
    (sync_body(["no-such-image"], rtype="image"), 404),
    ({"resource_set": {"Sync": [sync_body(["k1"])["resource_set"],
                                sync_body(["missing"])["resource_set"]]}}, 404),
])
def test_rejected_requests_leave_nothing_behind(app, cloud, project_id, conf, body, status):
    cloud.add_keypair(R1, USER, "k1")
    got, answer = call(app, "POST", f"/v1.0/{project_id}/os-sync", body, project=project_id)
    assert got == status, answer
    assert set(answer["error"]) == {"code", "message"}
    assert count_jobs(conf) == (0, 0)


def test_flavor_sync_needs_admin(app, cloud, project_id, conf):
    cloud.add_flavor(R1, "f1")
    status, body = call(app, "POST", f"/v1.0/{project_id}/os-sync",
                        sync_body(["f1"], rtype="flavor"), project=project_id)
    assert status == 403, body
    status, body = call(app, "POST", f"/v1.0/{project_id}/os-sync",
                        sync_body(["missing"], rtype="flavor"), project=project_id,
                        roles="admin")
    assert status == 404
    assert count_jobs(conf) == (0, 0)


def test_flavor_sync_copies_everything_without_leaking_access(app, cloud, project_id):
    private = cloud.add_flavor(R1, "private", is_public=False, specs={"hw:cpu_policy": "x"},
                               access=["p1", "p2"], rxtx_factor=3.0)
    public = cloud.add_flavor(R1, "public", specs={"quota:disk_read_bytes_sec": "1"})
    job = call(app, "POST", f"/v1.0/{project_id}/os-sync",
               sync_body(["private", "public"], rtype="flavor", force="False"),
               project=project_id, roles="admin")[1]
    rows = wait_done(app, project_id, job["job_status"]["id"], roles="admin")
    assert {r["sync_status"] for r in rows} == {"SUCCESS"}, rows
    for region in (R2, R3):
        copy = cloud.flavors[region][private["id"]]
        assert {k: copy[k] for k in private} == private
        assert cloud.specs[region][private["id"]] == {"hw:cpu_policy": "x"}
        assert sorted(cloud.access[region][private["id"]]) == ["p1", "p2"]
        assert cloud.flavors[region][public["id"]]["is_public"] is True
        assert cloud.access[region].get(public["id"], []) == []
    again = call(app, "POST", f"/v1.0/{project_id}/os-sync",
                 sync_body(["private", "public"], rtype="flavor", force="False"),
                 project=project_id, roles="admin")[1]
    rows = wait_done(app, project_id, again["job_status"]["id"], roles="admin")
    assert {r["sync_status"] for r in rows} == {"FAILURE"}
    forced = call(app, "POST", f"/v1.0/{project_id}/os-sync",
                  sync_body(["public"], rtype="flavor", target=[R2]),
                  project=project_id, roles="admin")[1]
    rows = wait_done(app, project_id, forced["job_status"]["id"], roles="admin")
    assert rows[0]["sync_status"] == "SUCCESS"
    named = [f for f in cloud.flavors[R2].values() if f["name"] == "public"]
    assert len(named) == 1 and named[0]["id"] != public["id"]  # force: a new id


def test_image_sync_ids_formats_and_dependencies(app, cloud, project_id):
    kernel = cloud.add_image(R1, owner=project_id, disk_format="aki", container_format="aki")
    ramdisk = cloud.add_image(R1, owner=project_id, disk_format="ari", container_format="ari")
    ami = cloud.add_image(R1, owner=project_id, disk_format="ami", container_format="ami",
                          kernel_id=kernel["id"], ramdisk_id=ramdisk["id"], architecture="arm")
    raw = cloud.add_image(R1, owner=project_id, disk_format="raw", data=b"r" * 300_000,
                          hypervisor_type="qemu")
    vmdk = cloud.add_image(R1, owner=project_id, disk_format="vmdk", visibility="shared")
    job = call(app, "POST", f"/v1.0/{project_id}/os-sync",
               sync_body([ami["id"], raw["id"], vmdk["id"]], rtype="image", force="False"),
               project=project_id)[1]
    rows = wait_done(app, project_id, job["job_status"]["id"])
    assert {r["sync_status"] for r in rows} == {"SUCCESS"}, rows
    for region in (R2, R3):
        copy = cloud.images[region][ami["id"]]
        assert (copy["kernel_id"], copy["ramdisk_id"]) == (kernel["id"], ramdisk["id"])
        assert copy["architecture"] == "arm" and copy["disk_format"] == "ami"
        assert cloud.images[region][raw["id"]]["hypervisor_type"] == "qemu"
        assert cloud.images[region][raw["id"]]["checksum"] == raw["checksum"]
        assert cloud.images[region][vmdk["id"]]["visibility"] == "shared"
    again = call(app, "POST", f"/v1.0/{project_id}/os-sync",
                 sync_body([raw["id"]], rtype="image", target=[R2], force="False"),
                 project=project_id)[1]
    rows = wait_done(app, project_id, again["job_status"]["id"])
    assert rows[0]["sync_status"] == "FAILURE" and "409" in rows[0]["error"]
    forced = call(app, "POST", f"/v1.0/{project_id}/os-sync",
                  sync_body([raw["id"]], rtype="image", target=[R2]), project=project_id)[1]
    rows = wait_done(app, project_id, forced["job_status"]["id"])
    assert rows[0]["sync_status"] == "SUCCESS"
    named = [i for i in cloud.images[R2].values() if i["name"] == raw["name"]]
    assert len(named) == 2 and {i["checksum"] for i in named} == {raw["checksum"]}


def test_other_projects_private_image_is_not_found(app, cloud, project_id, conf):
    other = cloud.add_image(R1, owner=uuid.uuid4().hex)
    status, _ = call(app, "POST", f"/v1.0/{project_id}/os-sync",
                     sync_body([other["id"]], rtype="image"), project=project_id)
    assert status == 404
    assert count_jobs(conf) == (0, 0)


def test_active_delete_406_and_target_down(app, cloud, project_id, conf):
    conf.set_override("max_attempts", 1000, group="sync")
    cloud.add_keypair(R1, USER, "k1")
    cloud.down.add(R3)
    job_id = call(app, "POST", f"/v1.0/{project_id}/os-sync", sync_body(["k1"]),
                  project=project_id)[1]["job_status"]["id"]
    status, active = call(app, "GET", f"/v1.0/{project_id}/os-sync/active", project=project_id)
    assert status == 200 and [j["id"] for j in active["job_set"]] == [job_id]
    assert active["job_set"][0]["sync_status"] == "IN_PROGRESS"
    assert active["job_set"][0]["updated_at"] is None
    status, body = call(app, "DELETE", f"/v1.0/{project_id}/os-sync/{job_id}",
                        project=project_id)
    assert status == 406 and body["error"]["code"] == "sync_job.in_progress"
    time.sleep(0.5)
    assert job_status(app, project_id, job_id)["sync_status"] == "IN_PROGRESS"
    conf.set_override("max_attempts", 3, group="sync")
    rows = {r["target_region"]: r for r in wait_done(app, project_id, job_id)}
    assert rows[R2]["sync_status"] == "SUCCESS" and rows[R2]["error"] is None
    assert rows[R3]["sync_status"] == "FAILURE"
    assert "RegionThree" in rows[R3]["error"] and "unreachable" in rows[R3]["error"]
    assert job_status(app, project_id, job_id)["sync_status"] == "FAILURE"
    assert call(app, "GET", f"/v1.0/{project_id}/os-sync/active",
                project=project_id)[1] == {"job_set": []}
    assert call(app, "DELETE", f"/v1.0/{project_id}/os-sync/{job_id}",
                project=project_id)[0] == 200


def test_visibility_all_projects_and_pagination(app, cloud, project_id):
    cloud.add_keypair(R1, USER, "k1")
    ids = []
    for _ in range(5):
        ids.append(call(app, "POST", f"/v1.0/{project_id}/os-sync",
                        sync_body(["k1"], target=[R2]), project=project_id)[1]
                   ["job_status"]["id"])
    other_user = uuid.uuid4().hex
    listed = call(app, "GET", f"/v1.0/{project_id}/os-sync", project=project_id,
                  user=other_user, roles="reader")[1]["job_set"]
    assert [j["id"] for j in listed] == ids  # every member sees the project's jobs
    assert call(app, "GET", f"/v1.0/{project_id}/os-sync/{ids[0]}", project=project_id,
                user=other_user, roles="reader")[0] == 200
    stranger = uuid.uuid4().hex
    assert call(app, "GET", f"/v1.0/{stranger}/os-sync", project=stranger)[1] == {"job_set": []}
    assert call(app, "GET", f"/v1.0/{stranger}/os-sync/{ids[0]}", project=stranger)[0] == 404
    assert call(app, "GET", f"/v1.0/{stranger}/os-sync?all_projects=true",
                project=stranger)[0] == 403
    admin = call(app, "GET", f"/v1.0/{stranger}/os-sync?all_projects=true", project=stranger,
                 roles="admin")[1]["job_set"]
    assert {j["id"] for j in admin} >= set(ids)
    assert {j["project_id"] for j in admin if j["id"] in ids} == {project_id}
    page = call(app, "GET", f"/v1.0/{project_id}/os-sync?limit=2", project=project_id)[1]
    assert [j["id"] for j in page["job_set"]] == ids[:2]
    assert page["job_set_links"][0]["rel"] == "next"
    page = call(app, "GET", f"/v1.0/{project_id}/os-sync?limit=2&marker={ids[1]}",
                project=project_id)[1]
    assert [j["id"] for j in page["job_set"]] == ids[2:4]
    page = call(app, "GET", f"/v1.0/{project_id}/os-sync?limit=2&marker={ids[3]}",
                project=project_id)[1]
    assert [j["id"] for j in page["job_set"]] == ids[4:] and "job_set_links" not in page
    assert call(app, "GET", f"/v1.0/{project_id}/os-sync?marker={uuid.uuid4()}",
                project=project_id)[0] == 400
    assert call(app, "GET", f"/v1.0/{project_id}/os-sync?limit=x", project=project_id)[0] == 400


@pytest.mark.parametrize("path,method,status", [
    ("/os-sync/not-a-uuid", "GET", 400),
    ("/os-sync/not-a-uuid", "DELETE", 400),
    ("/os-sync/5d0c4b7e-8d7c-4b65-9a57-0d3f1b2c9e11", "GET", 404),
    ("/os-sync/9a1f3c52-6e0b-4f7d-b8c4-2e5d7a9f0c33", "DELETE", 404),
    ("/os-sync", "DELETE", 405),
    ("/os-sync/active/", "GET", 200),
])
def test_urls(app, project_id, path, method, status):
    assert call(app, method, f"/v1.0/{project_id}{path}", project=project_id)[0] == status


def test_lost_wakeup_and_dead_engine_do_not_strand_jobs(app, cloud, project_id, conf,
                                                        monkeypatch):
    from multisite.rpc import client as rpc_client

    cloud.add_keypair(R1, USER, "k1")

    def broken_cast(self, ctxt, job_id, **kwargs):
        raise RuntimeError("broker down")

    monkeypatch.setattr(rpc_client.EngineClient, "sync_job_created", broken_cast)
    conf.set_override("scan_interval", 3600, group="sync")  # only a wake-up would help now
    conf.set_override("handoff_lease", 1.0, group="sync")
    job_id = call(app, "POST", f"/v1.0/{project_id}/os-sync", sync_body(["k1"]),
                  project=project_id)[1]["job_status"]["id"]
    # The rows were written claimed by the validating engine (whose cast was lost) for 1 s.
    assert sync_jobs.claim(conf, engine_id="dead-engine", lease=1, limit=10,
                           max_attempts=3) == []
    time.sleep(1.1)
    # A dead engine claimed both rows a moment ago; its lease runs out after 1 s.
    claimed = sync_jobs.claim(conf, engine_id="dead-engine", lease=1, limit=10,
                              max_attempts=3)
    assert len(claimed) == 2
    conf.set_override("scan_interval", 0.05, group="sync")
    manager = sync_manager.SyncManager(conf, engine_id="rescuer")
    manager.start()
    try:
        rows = wait_done(app, project_id, job_id)
    finally:
        manager.stop()
    assert {r["sync_status"] for r in rows} == {"SUCCESS"}
    assert job_status(app, project_id, job_id)["sync_status"] == "SUCCESS"


def feed(app, project, job_id, *, user=USER):
    """The job's events in /v2/events as its project's member sees them, oldest first."""
    status, body = call(app, "GET", f"/v2/events?resource_id={job_id}&sort_dir=asc",
                        project=project, user=user)
    assert status == 200, body
    return body["events"]


def test_job_start_and_end_are_in_the_event_feed(app, cloud, project_id, conf):
    cloud.add_keypair(R1, USER, "k1")
    req = webob.Request.blank(f"/v1.0/{project_id}/os-sync", method="POST", headers={
        "X-Project-Id": project_id, "X-User-Id": USER, "X-Roles": "member"})
    req.body = json.dumps(sync_body(["k1"])).encode()
    req.content_type = "application/json"
    resp = req.get_response(app)
    assert resp.status_int == 200, resp.body
    request_id = resp.headers["x-openstack-request-id"]
    job_id = resp.json["job_status"]["id"]
    wait_done(app, project_id, job_id)
    start, end = feed(app, project_id, job_id)
    initiator = {"user_id": USER, "project_id": project_id, "request_id": request_id}
    assert start["event_type"] == sync_jobs.JOB_START
    assert (start["origin"], start["project_id"], start["user_id"], start["request_id"]) == (
        "multisite", project_id, USER, request_id)
    assert start["payload"] == {
        "status": "IN_PROGRESS", "rows": 2, "resource_types": ["keypair"],
        "resources": ["k1"], "resource_count": 1, "sources": [R1], "targets": sorted([R2, R3]),
        "initiator": initiator}
    # the engine ended it; who asked for it is the start's initiator (same request id)
    assert end["event_type"] == sync_jobs.JOB_END and end["priority"] == "INFO"
    assert (end["project_id"], end["user_id"], end["request_id"]) == (
        project_id, USER, request_id)
    assert end["payload"]["initiator"] == initiator
    assert {k: end["payload"][k] for k in ("status", "rows", "failed")} == {
        "status": "SUCCESS", "rows": 2, "failed": 0}
    assert TIME.match(end["payload"]["started_at"]) and TIME.match(end["payload"]["ended_at"])
    # another project's member does not see them
    other = uuid.uuid4().hex
    assert feed(app, other, job_id, user=uuid.uuid4().hex) == []
    # settling again (a second engine, the repair pass) records no second end
    with db_api.session_scope(conf) as session:
        job = session.get(models.SyncJob, job_id)
        job.sync_status = sync_jobs.IN_PROGRESS
    assert sync_jobs.settle_all(conf) == [job_id]
    assert [e["event_type"] for e in feed(app, project_id, job_id)] == [
        sync_jobs.JOB_START, sync_jobs.JOB_END]


def test_failed_job_ends_in_the_feed_as_an_error(app, cloud, project_id):
    cloud.add_keypair(R1, USER, "k1")
    body = sync_body(["k1"], target=[R2], force="False")
    first = call(app, "POST", f"/v1.0/{project_id}/os-sync", body, project=project_id)[1]
    wait_done(app, project_id, first["job_status"]["id"])
    job_id = call(app, "POST", f"/v1.0/{project_id}/os-sync", body,
                  project=project_id)[1]["job_status"]["id"]
    wait_done(app, project_id, job_id)
    end = feed(app, project_id, job_id)[-1]
    assert (end["event_type"], end["priority"]) == (sync_jobs.JOB_END, "ERROR")
    assert {k: end["payload"][k] for k in ("status", "rows", "failed")} == {
        "status": "FAILURE", "rows": 1, "failed": 1}
