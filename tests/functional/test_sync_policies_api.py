"""/v2/sync-policies against the in-process app and engine, regions in memory: create,
list, show with per-target state, audit now, delete, and the 4xx answers."""

import uuid

import pytest

from multisite.clients import network
from tests.functional.test_sync_jobs_api import call
from tests.unit.reconcilers.fake_network import FakeNeutron
from tests.unit.reconcilers.fake_regions import FakeCloud

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
USER = uuid.uuid4().hex
KEY = "ssh-ed25519 AAAA policy"


@pytest.fixture
def cloud(monkeypatch):
    cloud = FakeCloud().install(monkeypatch)
    neutron = FakeNeutron()
    monkeypatch.setattr(network, "for_region", lambda conf, region: neutron.client(region))
    cloud.neutron = neutron
    return cloud


@pytest.fixture
def app(cloud, wsgi_app):
    return wsgi_app


def _body(**kw):
    spec = {"resource_type": "keypair", "resources": ["k1"], "source": R1, "targets": "all",
            "on_drift": "enforce"}
    spec.update(kw)
    return {"sync_policy": spec}


def test_policy_story(app, cloud):
    project = uuid.uuid4().hex
    cloud.add_keypair(R1, USER, "k1", KEY)
    status, body = call(app, "POST", "/v2/sync-policies", _body(), project=project, user=USER)
    assert status == 200, body
    policy = body["sync_policy"]
    assert policy["targets"] == "all" and policy["on_drift"] == "enforce"
    assert policy["targets_state"] == []
    status, body = call(app, "POST", f"/v2/sync-policies/{policy['id']}/audit",
                        project=project, user=USER)
    assert status == 200, body
    states = {t["region"]: t for t in body["sync_policy"]["targets_state"]}
    assert {r: t["state"] for r, t in states.items()} == {R2: "in_sync", R3: "in_sync"}
    assert states[R2]["audited_at"].endswith("Z") and states[R2]["repaired_at"]
    assert cloud.keypairs[R3][(USER, "k1")]["public_key"] == KEY
    status, body = call(app, "GET", "/v2/sync-policies", project=project, roles="reader")
    assert status == 200 and [p["id"] for p in body["sync_policies"]] == [policy["id"]]
    other = uuid.uuid4().hex
    assert call(app, "GET", f"/v2/sync-policies/{policy['id']}", project=other)[0] == 404
    assert call(app, "DELETE", f"/v2/sync-policies/{policy['id']}", project=other)[0] == 404
    assert call(app, "GET", "/v2/sync-policies", project=other)[1]["sync_policies"] == []
    status, body = call(app, "DELETE", f"/v2/sync-policies/{policy['id']}", project=project)
    assert status == 200
    status, body = call(app, "GET", f"/v2/sync-policies/{policy['id']}", project=project)
    assert status == 404 and body["error"]["code"] == "sync_policy.not_found"


def test_flavor_policies_are_an_admins_and_image_policies_copy_the_projects_images(app,
                                                                                   cloud):
    project = uuid.uuid4().hex
    cloud.add_flavor(R1, "m1.policy", flavor_id="f-pol", specs={"hw:mem_page_size": "large"})
    flavor = _body(resource_type="flavor", resources=["m1.policy"], targets=[R2])
    status, body = call(app, "POST", "/v2/sync-policies", flavor, project=project)
    assert status == 403, body
    status, body = call(app, "POST", "/v2/sync-policies", flavor, project=project,
                        roles="admin")
    assert status == 200, body
    status, body = call(app, "POST", f"/v2/sync-policies/{body['sync_policy']['id']}/audit",
                        project=project, roles="admin")
    assert status == 200, body
    assert [t["state"] for t in body["sync_policy"]["targets_state"]] == ["in_sync"]
    assert cloud.specs[R2]["f-pol"] == {"hw:mem_page_size": "large"}

    image = cloud.add_image(R1, owner=project, name="cirros", data=b"c" * 4096)
    status, body = call(app, "POST", "/v2/sync-policies",
                        _body(resource_type="image", resources="all", targets=[R3]),
                        project=project)
    assert status == 200, body
    status, body = call(app, "POST", f"/v2/sync-policies/{body['sync_policy']['id']}/audit",
                        project=project)
    assert status == 200, body
    assert [t["state"] for t in body["sync_policy"]["targets_state"]] == ["in_sync"]
    assert cloud.data[R3][image["id"]] == b"c" * 4096


@pytest.mark.parametrize("body,code", [
    (_body(resource_type="volume"), "sync_policy.invalid"),
    (_body(on_drift="maybe"), "sync_policy.invalid"),
    (_body(targets=[]), "sync_policy.invalid"),
    (_body(extra=1), "sync_policy.invalid"),
    (_body(targets=["Nowhere"]), "sync_policy.unknown_region"),
    (_body(targets=[R1]), "sync_policy.invalid"),
    ({"sync_policy": []}, "sync_policy.invalid"),
])
def test_bad_requests_are_400_and_write_nothing(app, body, code):
    project = uuid.uuid4().hex
    status, answer = call(app, "POST", "/v2/sync-policies", body, project=project)
    assert status == 400 and answer["error"]["code"] == code, answer
    assert call(app, "GET", "/v2/sync-policies", project=project)[1]["sync_policies"] == []


def test_personas(app, cloud):
    """member: create/audit/delete its own; reader: read only; another project: 404;
    admin: every project with all_projects=true; no role: 403."""
    project = uuid.uuid4().hex
    cloud.add_keypair(R1, USER, "k1", KEY)
    assert call(app, "POST", "/v2/sync-policies", _body(), project=project,
                roles="reader")[0] == 403
    assert call(app, "POST", "/v2/sync-policies", _body(), project=project, roles="")[0] == 403
    status, body = call(app, "POST", "/v2/sync-policies", _body(), project=project, user=USER)
    pid = body["sync_policy"]["id"]
    assert call(app, "GET", f"/v2/sync-policies/{pid}", project=project,
                roles="reader")[0] == 200
    for method, path in (("POST", f"/{pid}/audit"), ("DELETE", f"/{pid}")):
        assert call(app, method, "/v2/sync-policies" + path, project=project,
                    roles="reader")[0] == 403
    assert call(app, "GET", "/v2/sync-policies?all_projects=true", project=project)[0] == 403
    status, body = call(app, "GET", "/v2/sync-policies?all_projects=true",
                        project=uuid.uuid4().hex, roles="admin")
    assert status == 200 and pid in [p["id"] for p in body["sync_policies"]]
    assert call(app, "GET", f"/v2/sync-policies/{pid}", project=uuid.uuid4().hex,
                roles="admin")[0] == 200
