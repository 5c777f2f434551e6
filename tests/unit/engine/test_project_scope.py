"""The restore's project scope: the service user's token scoped to a plan's project, the role
grant that allows it, and the DR env's clients per (region, project), against a small real
HTTP Keystone."""

import http.server
import json
import threading
import types
import uuid

import pytest
from keystoneauth1 import exceptions as ks_exc

from multisite.clients import errors, keystone
from multisite.clients import session as session_mod
from multisite.engine import dr as dr_env
from tests.unit.engine.json_handler import JsonHandler

PROJECT = "b" * 32


class _Keystone(JsonHandler):
    """Password auth (scoped to the asked project if the user has a role there), role
    lookup by name, role grants; every request is recorded."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.server.calls.append(("POST", self.path, body))
        scope = body["auth"].get("scope", {}).get("project", {})
        project = scope.get("id") or "admin-project"
        if scope.get("id") and scope["id"] not in self.server.granted:
            self._answer(401, {"error": {"code": 401, "message": "no role on project"}})
            return
        token = {"methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
                 "issued_at": "2026-01-01T00:00:00.000000Z",
                 "user": {"id": "svc-user", "name": "admin",
                          "domain": {"id": "default", "name": "Default"}},
                 "project": {"id": project, "name": project,
                             "domain": {"id": "default", "name": "Default"}},
                 "roles": [{"id": "r-admin", "name": "admin"}], "catalog": []}
        self._answer(201, {"token": token}, token=uuid.uuid4().hex)

    def do_GET(self):
        self.server.calls.append(("GET", self.path, None))
        roles = [{"id": "r-admin", "name": "admin"}] if "name=admin" in self.path else []
        self._answer(200, {"roles": roles})

    def do_PUT(self):
        self.server.calls.append(("PUT", self.path, None))
        self.server.granted.add(self.path.split("/")[3])
        self._answer(204, None)



@pytest.fixture
def fake_keystone(conf):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Keystone)
    server.calls, server.granted = [], set()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v3"
    for name, value in (("auth_uri", url), ("admin_username", "admin"),
                        ("admin_password", "pw"), ("admin_tenant", "admin"),
                        ("region_timeout", 5.0)):
        conf.set_override(name, value, group="cache")
    session_mod.reset()
    yield server
    session_mod.reset()
    server.shutdown()
    server.server_close()
    for name in ("auth_uri", "admin_username", "admin_password", "admin_tenant",
                 "region_timeout"):
        conf.clear_override(name, group="cache")


def _auths(server):
    return [body["auth"] for method, path, body in server.calls
            if method == "POST" and path.endswith("/auth/tokens")]


def test_grant_then_a_token_scoped_to_the_project(conf, fake_keystone):
    service = session_mod.service_session(conf)
    assert keystone.grant_service_role(conf, service, PROJECT, "admin") == "svc-user"
    assert ("PUT", f"/v3/projects/{PROJECT}/users/svc-user/roles/r-admin", None) in (
        fake_keystone.calls)
    scoped = session_mod.project_session(conf, PROJECT)
    assert scoped.get_project_id() == PROJECT
    assert session_mod.project_session(conf, PROJECT) is scoped       # one per project
    asked = [a["scope"]["project"] for a in _auths(fake_keystone)
             if a["scope"]["project"].get("id") == PROJECT]
    assert asked == [{"id": PROJECT}]
    password = _auths(fake_keystone)[-1]["identity"]["password"]["user"]
    assert (password["name"], password["password"]) == ("admin", "pw")


def test_a_project_without_the_role_is_a_clear_rejection(conf, fake_keystone):
    with pytest.raises(errors.RegionRejected) as refused:
        session_mod.project_session(conf, PROJECT)
    assert f"cannot scope a token to project {PROJECT}" in str(refused.value)


def test_an_unknown_role_is_not_granted(conf, fake_keystone):
    with pytest.raises(ks_exc.NotFound):
        keystone.grant_service_role(conf, session_mod.service_session(conf), PROJECT,
                                    "no-such-role")
    assert not [c for c in fake_keystone.calls if c[0] == "PUT"]


def test_dr_env_keeps_one_client_per_region_and_project(conf):
    made = []

    def factory(c, region, project_id=None):
        made.append((region, project_id))
        return types.SimpleNamespace(region=region, project_id=project_id)

    env = dr_env.DrEnv(conf, client_factory=factory, regions=lambda: ["RegionTwo"])
    service = env.client("RegionTwo")
    tenant = env.client("RegionTwo", project_id=PROJECT)
    assert env.client("RegionTwo") is service
    assert env.client("RegionTwo", project_id=PROJECT) is tenant
    assert made == [("RegionTwo", None), ("RegionTwo", PROJECT)]
    env.pool.shutdown()
