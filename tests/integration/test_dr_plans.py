"""Protection plans against the devcloud's real Keystone, Nova, Cinder and Neutron.

The API and an engine run in this process (noauth headers with the real project and user
ids, fake:// RPC); the engine discovers each plan with the real DR client (service
credentials, compute microversion 2.47). The API-only profile builds no server: nova-api
keeps it in BUILD, with no network (that profile's Nova cannot create ports). What is
checked here is the discovery's real calls and its verdicts. Checkpoints need servers with
attached volumes: the full profile (docs/dr.md, "On the devcloud").
"""

import contextlib
import json

import openstack
import pytest
import webob

from tests.integration.test_sync_jobs import _cache_overrides
from tests.integration.usage import create_image, create_keypair, unique
from tests.polling import wait_for

pytestmark = pytest.mark.integration
R1, R2 = "RegionOne", "RegionTwo"


@pytest.fixture
def stack(devcloud, conf, request):
    _cache_overrides(conf)
    conf.set_override("scan_interval", 0.2, group="dr")
    yield request.getfixturevalue("wsgi_app")
    conf.clear_override("scan_interval", group="dr")


def _call(app, project, method, path, body=None):
    req = webob.Request.blank(path, method=method, headers={
        "X-Project-Id": project.id, "X-User-Id": project.user_id, "X-Roles": "member"})
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = "application/json"
    resp = req.get_response(app)
    return resp.status_int, json.loads(resp.body)


def _discovered(app, project, spec):
    status, body = _call(app, project, "POST", "/v2/protection-plans", {"protection_plan": spec})
    assert status == 202, body
    plan_id = body["protection_plan"]["id"]

    def done():
        status, body = _call(app, project, "GET", f"/v2/protection-plans/{plan_id}")
        assert status == 200, body
        plan = body["protection_plan"]
        return plan if plan["status"] != "discovering" else None

    return wait_for(done, timeout=60, what="plan discovery", interval=0.5)


def test_discovery_names_what_cannot_be_protected(devcloud, stack, fresh_project):
    conn = fresh_project.connect(R1)
    admin = devcloud.admin_connection(R1)
    keypair = create_keypair(conn, name=unique("key"))
    image = create_image(conn)
    flavor = admin.compute.create_flavor(name=unique("flv"), ram=64, vcpus=1, disk=1)
    server = None
    try:
        server = conn.compute.create_server(name=unique("vnf-db"), flavor_id=flavor.id,
                                            image_id=image.id, key_name=keypair.name,
                                            networks="none")
        missing = unique("no-such-server")
        plan = _discovered(stack, fresh_project, {
            "name": "vnf", "source_region": R1, "backup_region": R2,
            "groups": [[server.name], [missing]]})
        assert plan["status"] == "invalid"
        problems = [(p["resource"], p["reason"]) for p in plan["problems"]]
        label = f"server {server.name} ({server.id})"
        assert (f"server {missing}", f"not found in {R1} (project {fresh_project.id})") \
            in problems
        assert any(r == label and why.startswith("is BUILD") for r, why in problems)
        assert any(r == label and why.startswith(f"boots from image {image.id}")
                   for r, why in problems)
        assert (label, "has no volume to protect") in problems
        # the keypair exists (read as the server's user): no problem about it
        assert not any(r.startswith("keypair") for r, _ in problems)
        found = plan["resources"]["servers"]
        assert [(s["id"], s["key_name"], s["user_id"]) for s in found] == [
            (server.id, keypair.name, fresh_project.user_id)]
        assert found[0]["flavor"]["name"] == flavor.name and found[0]["flavor"]["ram"] == 64
        assert plan["resources"]["keypairs"][0]["public_key"] == keypair.public_key
        status, body = _call(stack, fresh_project, "POST",
                             f"/v2/protection-plans/{plan['id']}/checkpoints")
        assert status == 409 and body["error"]["code"] == "protection_plan.not_ready"

        # the same server by id, with a backup region the catalog does not have
        plan = _discovered(stack, fresh_project, {
            "name": "vnf2", "source_region": R1, "backup_region": "Atlantis",
            "groups": [[server.id]]})
        resources = [p["resource"] for p in plan["problems"]]
        assert resources[0] == "region Atlantis" and label in resources
    finally:
        if server is not None:
            # the API profile's Nova answers 500 to deleting a server it never built (it
            # calls Neutron/Cinder without credentials); the project is deleted anyway
            with contextlib.suppress(openstack.exceptions.HttpException):
                conn.compute.delete_server(server, ignore_missing=True)
        admin.compute.delete_flavor(flavor, ignore_missing=True)
        admin.image.delete_image(image, ignore_missing=True)
