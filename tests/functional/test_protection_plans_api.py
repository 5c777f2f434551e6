"""/v2/protection-plans and /v2/checkpoints against the in-process app and engine, regions
in memory (tests/unit/reconcilers/fake_dr.py): a plan discovered by the engine, a checkpoint
taken through the API and followed to completion, and who may do what (personas)."""

from __future__ import annotations

import pytest

from tests.functional.test_sync_jobs_api import call
from tests.polling import wait_for
from tests.unit.reconcilers.fake_dr import PROJECT, FakeSites

R1, R2 = "RegionOne", "RegionTwo"
OTHER = "0b7e3c9d5a1f4e2b8c6d0f9a3e5b7c1d"  # fixed: it names parametrized tests (xdist)


@pytest.fixture
def sites(conf, monkeypatch):
    conf.set_override("scan_interval", 0.1, group="dr")
    conf.set_override("poll_interval", 0.05, group="dr")
    sites = FakeSites().install(monkeypatch)
    sites.add_server(R1, "db-1", data_volume=True)
    sites.add_server(R1, "db-2", data_volume=True)
    sites.add_server(R1, "app-1")
    yield sites
    conf.clear_override("scan_interval", group="dr")
    conf.clear_override("poll_interval", group="dr")


@pytest.fixture
def app(sites, wsgi_app):
    return wsgi_app


def _body(**kw):
    spec = {"name": "vnf", "source_region": R1, "backup_region": R2,
            "groups": [["db-1", "db-2"], ["app-1"]]}
    spec.update(kw)
    return {"protection_plan": spec}


def _wait_plan(app, plan_id, project=PROJECT):
    def ready():
        status, body = call(app, "GET", f"/v2/protection-plans/{plan_id}", project=project)
        assert status == 200, body
        plan = body["protection_plan"]
        return plan if plan["status"] != "discovering" else None
    return wait_for(ready, timeout=20, what="plan discovery")


def test_plan_and_checkpoint_story(app, sites):
    status, body = call(app, "POST", "/v2/protection-plans", _body(), project=PROJECT)
    assert status == 202, body
    plan = _wait_plan(app, body["protection_plan"]["id"])
    assert plan["status"] == "ready" and plan["problems"] == []
    assert [s["name"] for s in plan["resources"]["servers"]] == ["db-1", "db-2", "app-1"]

    status, body = call(app, "POST", f"/v2/protection-plans/{plan['id']}/checkpoints",
                        project=PROJECT)
    assert status == 202 and body["checkpoint"]["status"] == "pending", body
    cp_id = body["checkpoint"]["id"]
    status, again = call(app, "POST", f"/v2/protection-plans/{plan['id']}/checkpoints",
                         project=PROJECT)
    assert status == 409 and again["error"]["code"] == "protection_plan.busy", again

    def finished():
        status, body = call(app, "GET", f"/v2/checkpoints/{cp_id}", project=PROJECT,
                            roles="reader")
        assert status == 200, body
        found = body["checkpoint"]
        return found if found["status"] in ("completed", "failed") else None

    cp = wait_for(finished, timeout=30, what="checkpoint")
    assert cp["status"] == "completed", cp["error"]
    assert cp["window"]["seconds"] >= cp["window"]["slowest_snapshot_seconds"]
    assert [s["pause"] for s in cp["resources"]["servers"]] == ["unpaused"] * 3
    assert all("record" not in v for v in cp["resources"]["volumes"])
    assert set(sites.statuses(R1).values()) == {"ACTIVE"}
    status, body = call(app, "GET", f"/v2/checkpoints?plan_id={plan['id']}", project=PROJECT)
    assert [c["id"] for c in body["checkpoints"]] == [cp_id]
    assert call(app, "GET", f"/v2/checkpoints/{cp_id}", project=OTHER)[0] == 404
    status, body = call(app, "GET", "/v2/checkpoints?all_projects=true", project=OTHER,
                        roles="admin")
    assert status == 200 and cp_id in [c["id"] for c in body["checkpoints"]]
    status, body = call(app, "DELETE", f"/v2/protection-plans/{plan['id']}", project=PROJECT)
    assert status == 200
    assert call(app, "GET", f"/v2/checkpoints/{cp_id}", project=PROJECT)[0] == 404


def test_a_quiesce_checkpoint_runs_through_the_api(app, sites):
    for volume in sites.volumes[R1].values():
        if volume["bootable"]:
            volume["image_metadata"] = {"hw_qemu_guest_agent": "yes"}
    status, body = call(app, "POST", "/v2/protection-plans", _body(method="quiesce"),
                        project=PROJECT)
    assert status == 202, body
    plan = _wait_plan(app, body["protection_plan"]["id"])
    assert plan["status"] == "ready", plan["problems"]
    status, body = call(app, "POST", f"/v2/protection-plans/{plan['id']}/checkpoints",
                        project=PROJECT)
    assert status == 202, body        # was 409 checkpoint.method_not_supported
    cp_id = body["checkpoint"]["id"]

    def finished():
        found = call(app, "GET", f"/v2/checkpoints/{cp_id}", project=PROJECT)[1]["checkpoint"]
        return found if found["status"] in ("completed", "failed") else None

    cp = wait_for(finished, timeout=30, what="checkpoint")
    assert cp["status"] == "completed", cp["error"]
    assert [g["servers"] for g in cp["window"]["groups"]] == [["db-1", "db-2"], ["app-1"]]
    assert all(s["image"] == "available" and "quiesced" in s
               for s in cp["resources"]["servers"])
    assert {v["status"] for v in cp["resources"]["volumes"]} == {"exported"}
    assert not [c for _r, c, _i in sites.log if c == "pause"]


def test_discovery_names_every_unprotectable_resource(app, sites):
    sites.add_server(R1, "legacy", boot_volume=False, image="img-1")
    status, body = call(app, "POST", "/v2/protection-plans",
                        _body(groups=[["db-1", "nowhere"], ["legacy"]], method="quiesce"),
                        project=PROJECT)
    assert status == 202, body
    plan = _wait_plan(app, body["protection_plan"]["id"])
    assert plan["status"] == "invalid"
    reasons = {(p["resource"].split(" (")[0], p["reason"].split(":")[0].split(" (")[0])
               for p in plan["problems"]}
    assert ("server nowhere", f"not found in {R1}") in reasons
    assert ("server legacy", "boots from image img-1") in reasons
    assert ("server legacy", "has no volume to protect") in reasons
    assert any(r == "server db-1" and "hw_qemu_guest_agent" in why
               for r, why in ((p["resource"].split(" (")[0], p["reason"])
                              for p in plan["problems"]))
    status, body = call(app, "POST", f"/v2/protection-plans/{plan['id']}/checkpoints",
                        project=PROJECT)
    assert status == 409 and body["error"]["code"] == "protection_plan.not_ready"


def test_pagination(app, sites):
    ids = []
    for i in range(3):
        status, body = call(app, "POST", "/v2/protection-plans", _body(name=f"p{i}"),
                            project=PROJECT)
        ids.append(body["protection_plan"]["id"])
    status, body = call(app, "GET", "/v2/protection-plans?limit=2", project=PROJECT)
    assert len(body["protection_plans"]) == 2 and body["links"][0]["rel"] == "next"
    status, rest = call(app, "GET", body["links"][0]["href"].split("localhost")[-1],
                        project=PROJECT)
    assert len(rest["protection_plans"]) == 1 and rest["links"] == []
    assert sorted(p["id"] for p in body["protection_plans"] + rest["protection_plans"]) == \
        sorted(ids)


# who may do what: (roles, token project, expected status) per operation
PERSONAS = [
    ("admin", OTHER), ("member", PROJECT), ("_member_", PROJECT), ("reader", PROJECT),
    ("", PROJECT), ("member,reader", OTHER)]


@pytest.mark.parametrize("roles,project", PERSONAS)
def test_personas(app, sites, roles, project):
    # a plan that never becomes ready (its server does not exist): a checkpoint is a 409
    owner_plan = call(app, "POST", "/v2/protection-plans", _body(groups=[["nowhere"]]),
                      project=PROJECT)[1]["protection_plan"]["id"]
    admin = roles == "admin"
    writer = bool({"member", "_member_"} & set(roles.split(",")))    # in its own project
    outsider = project != PROJECT and not admin                      # sees a 404, not a 403
    reads = admin or bool(roles)
    status, _ = call(app, "POST", "/v2/protection-plans", _body(), project=project,
                     roles=roles)
    assert status == (202 if admin or writer else 403)
    status, _ = call(app, "GET", "/v2/protection-plans", project=project, roles=roles)
    assert status == (200 if reads else 403)
    status, _ = call(app, "GET", f"/v2/protection-plans/{owner_plan}", project=project,
                     roles=roles)
    assert status == (403 if not reads else 404 if outsider else 200)
    status, _ = call(app, "GET", "/v2/protection-plans?all_projects=true", project=project,
                     roles=roles)
    assert status == (200 if admin else 403)
    for method, path, ok in (("POST", "/discover", 202), ("POST", "/checkpoints", 409),
                             ("DELETE", "", 200)):
        status, _ = call(app, method, f"/v2/protection-plans/{owner_plan}{path}",
                         project=project, roles=roles)
        # a reader may not write; an outsider with write rights learns nothing (404)
        assert status == (403 if not (admin or writer) else 404 if outsider else ok), \
            (method, path)


def test_no_identity_is_401(app, sites):
    import webob

    resp = webob.Request.blank("/v2/protection-plans").get_response(app)
    assert resp.status_int == 401


def test_replicate_needs_a_period_and_shows_the_recovery_point_per_volume(app, sites):
    status, body = call(app, "POST", "/v2/protection-plans", _body(method="replicate"),
                        project=PROJECT)
    assert status == 400 and body["error"]["code"] == "protection_plan.invalid", body
    assert "replication period" in body["error"]["message"]
    status, body = call(app, "POST", "/v2/protection-plans",
                        _body(method="replicate", schedule={"interval": 60}),
                        project=PROJECT)
    assert status == 202, body
    plan = _wait_plan(app, body["protection_plan"]["id"])
    assert plan["status"] == "ready", plan["problems"]
    assert len(plan["recovery_points"]) == 5       # every protected volume listed

    def replicated():
        status, body = call(app, "GET", f"/v2/protection-plans/{plan['id']}",
                            project=PROJECT, roles="reader")
        assert status == 200, body
        points = body["protection_plan"]["recovery_points"]
        return points if all(p["checkpoint_id"] for p in points) else None

    # a cycle asked for by hand (the schedule's are unit-tested: tests here run no
    # periodic kinds); it never pauses
    status, body = call(app, "POST", f"/v2/protection-plans/{plan['id']}/checkpoints",
                        project=PROJECT)
    assert status == 202, body
    points = wait_for(replicated, timeout=30, what="first replication cycle")
    assert all(p["age_seconds"] >= 0 and p["recovery_point"].endswith("Z") for p in points)
    assert not [c for _, c, _ in sites.log if c in ("pause", "unpause")]
    status, body = call(app, "GET", f"/v2/checkpoints/{points[0]['checkpoint_id']}",
                        project=PROJECT)
    assert body["checkpoint"]["status"] == "completed"
    assert body["checkpoint"]["method"] == "replicate"
