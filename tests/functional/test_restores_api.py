"""POST /v2/checkpoints/{id}/restore and /v2/restores against the in-process app and engine,
regions in memory (fake_dr.py, fake_regions.py): a checkpoint taken through the API, a drill
and a confirmed failover followed to completion, and who may do what (personas)."""

from __future__ import annotations

import pytest

from tests.functional.test_protection_plans_api import OTHER, R1, R2, _body, _wait_plan
from tests.functional.test_sync_jobs_api import call
from tests.polling import wait_for
from tests.unit.reconcilers.fake_dr import PROJECT, FakeSites
from tests.unit.reconcilers.fake_regions import FakeCloud


@pytest.fixture
def sites(conf, monkeypatch):
    conf.set_override("scan_interval", 0.1, group="dr")
    conf.set_override("poll_interval", 0.05, group="dr")
    cloud = FakeCloud(regions=(R1, R2)).install(monkeypatch)
    sites = FakeSites().install(monkeypatch)
    sites.has_keypair = lambda region, name, user: (user, name) in cloud.keypairs[region]
    sites.add_server(R1, "db-1", data_volume=True, ip="10.60.0.11")
    sites.add_server(R1, "db-2", data_volume=True, ip="10.60.0.12")
    sites.add_server(R1, "app-1", ip="10.60.0.13")
    yield sites
    conf.clear_override("scan_interval", group="dr")
    conf.clear_override("poll_interval", group="dr")


@pytest.fixture
def checkpoint(sites, wsgi_app):
    status, body = call(wsgi_app, "POST", "/v2/protection-plans", _body(), project=PROJECT)
    assert status == 202, body
    plan = _wait_plan(wsgi_app, body["protection_plan"]["id"])
    status, body = call(wsgi_app, "POST", f"/v2/protection-plans/{plan['id']}/checkpoints",
                        project=PROJECT)
    assert status == 202, body
    return _wait(wsgi_app, f"/v2/checkpoints/{body['checkpoint']['id']}", "checkpoint")


def _wait(app, path, noun):
    def finished():
        status, body = call(app, "GET", path, project=PROJECT, roles="reader")
        assert status == 200, body
        found = body[noun]
        return found if found["status"] in ("completed", "failed") else None
    found = wait_for(finished, timeout=30, what=noun)
    assert found["status"] == "completed", found["error"]
    return found


def _restore(region=R2, mode="drill", confirm=None, target_project_id=None):
    spec = {"region": region, "mode": mode}
    if confirm:
        spec["confirm"] = confirm
    if target_project_id:
        spec["target_project_id"] = target_project_id
    return {"restore": spec}


DRILLS = "d" * 32        # a project kept for drills


def test_an_admin_drills_into_another_project(app, sites, checkpoint):
    path = f"/v2/checkpoints/{checkpoint['id']}/restore"
    # a member of the plan's project may not make things in another project
    status, body = call(app, "POST", path, _restore(target_project_id=DRILLS),
                        project=PROJECT)
    assert status == 403, body
    status, body = call(app, "POST", path, _restore(target_project_id=DRILLS),
                        project=OTHER, roles="admin")
    assert status == 202, body
    assert body["restore"]["target_project_id"] == DRILLS
    assert body["restore"]["project_id"] == PROJECT
    drill = _wait(app, f"/v2/restores/{body['restore']['id']}", "restore")
    assert drill["resources"]["scope"]["project_id"] == DRILLS
    assert {s["project_id"] for s in sites.servers[R2].values()} == {DRILLS}
    # the plan's project sees its drill
    status, body = call(app, "GET", f"/v2/restores/{drill['id']}", project=PROJECT)
    assert status == 200 and body["restore"]["target_project_id"] == DRILLS


def test_a_failover_names_no_target_project(app, sites, checkpoint):
    path = f"/v2/checkpoints/{checkpoint['id']}/restore"
    status, body = call(app, "POST", path,
                        _restore(mode="failover", target_project_id=DRILLS),
                        project=OTHER, roles="admin")
    assert status == 400, body
    assert body["error"]["code"] == "restore.target_project_not_for_failover", body
    status, body = call(app, "POST", path, _restore(target_project_id="../x"),
                        project=OTHER, roles="admin")
    assert status == 400 and body["error"]["code"] == "restore.invalid", body


def test_drill_then_confirmed_failover_story(app, sites, checkpoint):
    path = f"/v2/checkpoints/{checkpoint['id']}/restore"
    status, body = call(app, "POST", path, _restore(), project=PROJECT)
    assert status == 202 and body["restore"]["mode"] == "drill", body
    drill = _wait(app, f"/v2/restores/{body['restore']['id']}", "restore")
    assert drill["rto_seconds"] >= 0
    assert [s["status"] for s in drill["resources"]["servers"]] == ["active"] * 3
    assert all(s["name"].startswith("drill-") for s in drill["resources"]["servers"])
    assert {s["status"] for s in sites.servers[R1].values()} == {"ACTIVE"}

    status, first = call(app, "POST", path, _restore(mode="failover"), project=PROJECT)
    assert status == 409, first
    assert first["error"]["code"] == "restore.confirmation_required"
    assert first["confirmation"]["restore"]["servers"] == ["db-1", "db-2", "app-1"]
    token = first["confirmation"]["token"]
    status, wrong = call(app, "POST", path, _restore(mode="failover", confirm="x" * 32),
                         project=PROJECT)
    assert status == 409 and wrong["error"]["code"] == "restore.confirmation_required"
    sites.down.add(R1)            # the source region is gone
    status, body = call(app, "POST", path, _restore(mode="failover", confirm=token),
                        project=PROJECT)
    assert status == 202, body
    failover = _wait(app, f"/v2/restores/{body['restore']['id']}", "restore")
    assert sorted(s["name"] for s in failover["resources"]["servers"]) == [
        "app-1", "db-1", "db-2"]
    ips = sorted(ip for s in failover["resources"]["servers"] for p in s["ports"]
                 for ip in p["restored_ips"])
    assert ips == ["10.60.0.11", "10.60.0.12", "10.60.0.13"]

    status, body = call(app, "GET", f"/v2/restores?checkpoint_id={checkpoint['id']}",
                        project=PROJECT)
    assert sorted(r["id"] for r in body["restores"]) == sorted([drill["id"], failover["id"]])
    assert call(app, "GET", f"/v2/restores/{drill['id']}", project=OTHER)[0] == 404


def test_refusals(app, sites, checkpoint):
    path = f"/v2/checkpoints/{checkpoint['id']}/restore"
    status, body = call(app, "POST", path, _restore(region=R1), project=PROJECT)
    assert status == 409 and body["error"]["code"] == "restore.wrong_region", body
    status, body = call(app, "POST", path, _restore(mode="everything"), project=PROJECT)
    assert status == 400 and body["error"]["code"] == "restore.invalid", body
    status, body = call(app, "POST", path, _restore(), project=OTHER)
    assert status == 404 and body["error"]["code"] == "checkpoint.not_found", body


@pytest.fixture
def app(sites, wsgi_app):
    return wsgi_app


# (roles, token project)
PERSONAS = [
    ("admin", OTHER), ("member", PROJECT), ("_member_", PROJECT), ("reader", PROJECT),
    ("", PROJECT), ("member,reader", OTHER)]


@pytest.mark.parametrize("roles,project", PERSONAS)
def test_personas(app, sites, roles, project):
    # no checkpoint: a writer of the project meets a 404, everyone else a 403 first
    admin = roles == "admin"
    writer = bool({"member", "_member_"} & set(roles.split(",")))
    reads = admin or bool(roles)
    for mode in ("drill", "failover"):
        status, _ = call(app, "POST", "/v2/checkpoints/nothing/restore", _restore(mode=mode),
                         project=project, roles=roles)
        assert status == (404 if admin or writer else 403), mode
    status, _ = call(app, "POST", "/v2/checkpoints/nothing/restore",
                     _restore(target_project_id=DRILLS), project=project, roles=roles)
    assert status == (404 if admin else 403)
    status, _ = call(app, "GET", "/v2/restores", project=project, roles=roles)
    assert status == (200 if reads else 403)
    status, _ = call(app, "GET", "/v2/restores/nothing", project=project, roles=roles)
    assert status == (404 if reads else 403)
    status, _ = call(app, "GET", "/v2/restores?all_projects=true", project=project,
                     roles=roles)
    assert status == (200 if admin else 403)
