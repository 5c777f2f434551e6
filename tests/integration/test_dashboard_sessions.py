"""/auth/session against the devcloud's real Keystone (API in this process, keystone mode).

The cookie's flags and lifetime, the CSRF token required on every write the cookie
authenticates, a wrong password, logout revoking the token, admin and member sessions.
"""

import datetime
import json
import textwrap
import uuid

import pytest
import urllib3
import webob
from keystoneauth1 import loading

from multisite.api import app as api_app
from multisite.api import cookies, routes
from multisite.devcloud import layout as L
from tests.functional.api import endpoints

pytestmark = pytest.mark.integration
OTHER = str(uuid.UUID(int=9))


def _config(connection, keystone_url):
    return textwrap.dedent(f"""\
        [DEFAULT]
        auth_strategy = keystone
        transport_url = fake://
        [database]
        connection = {connection}
        [keystone_authtoken]
        www_authenticate_uri = {keystone_url}
        auth_url = {keystone_url}
        auth_type = password
        username = {L.ADMIN_USER}
        password = {L.ADMIN_PASSWORD}
        project_name = {L.ADMIN_PROJECT}
        user_domain_name = {L.DOMAIN}
        project_domain_name = {L.DOMAIN}
        """)


@pytest.fixture
def app(devcloud, db, engine, tmp_path):
    path = tmp_path / "keystone.conf"
    # the devcloud's Keystone, at its port offset (MULTISITE_DEVCLOUD_PORT_OFFSET)
    path.write_text(_config(db.database.connection, devcloud.keystone_url))
    db(["--config-file", str(path)], project="multisite", default_config_files=[])
    db.clear_override("auth_strategy")
    yield api_app.build_app(db)
    db.reset()
    db.unregister_opts(
        loading.get_auth_plugin_conf_options(loading.get_plugin_loader("password")),
        group="keystone_authtoken")


def call(app, method, path, *, body=None, cookie=None, csrf=None, headers=None,
         content_type="application/json", scheme="http", environ=None):
    req = webob.Request.blank(path, method=method, headers=dict(headers or {}),
                              environ={"wsgi.url_scheme": scheme, **(environ or {})})
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = content_type
    if cookie:
        req.headers["Cookie"] = f"{cookies.NAME}={cookie}"
    if csrf:
        req.headers["X-CSRF-Token"] = csrf
    return req.get_response(app)


def login(app, username=L.ADMIN_USER, password=L.ADMIN_PASSWORD, project=L.ADMIN_PROJECT,
          **kwargs):
    return call(app, "POST", "/auth/session", body={"session": {
        "username": username, "password": password, "project": project,
        "domain": L.DOMAIN}}, **kwargs)


def _token(resp):
    header = resp.headers["Set-Cookie"]
    return header.split(";")[0].split("=", 1)[1]


def test_login_sets_a_strict_httponly_cookie_expiring_with_the_token(app):
    resp = login(app)
    assert resp.status_int == 201, resp.body
    header = resp.headers["Set-Cookie"]
    flags = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age", "expires"} <= flags
    assert "samesite=strict" in header.lower() and "Path=/;" in header + ";"
    assert "secure" not in flags  # plain http on loopback: a Secure cookie would be dropped
    session = resp.json["session"]
    expires = datetime.datetime.fromisoformat(session["expires_at"].replace("Z", "+00:00"))
    left = (expires - datetime.datetime.now(datetime.UTC)).total_seconds()
    max_age = int(header.split("Max-Age=")[1].split(";")[0])
    assert abs(max_age - left) < 30 and max_age > 60
    token = _token(resp)
    assert token not in resp.text  # only in the HttpOnly cookie, never in a body
    assert resp.headers["Cache-Control"] == "no-store"
    assert session["is_admin"] is True and session["user"]["name"] == L.ADMIN_USER
    assert session["csrf_token"] == cookies.csrf_token(token)
    assert {"RegionOne", "RegionTwo"} <= {r["name"] for r in session["regions"]}
    shown = call(app, "GET", "/auth/session", cookie=token)
    assert shown.status_int == 200 and shown.json["session"]["csrf_token"] == session[
        "csrf_token"]
    assert shown.json["session"]["regions"] == session["regions"]


def test_secure_flag_over_https_or_when_forced(app, db):
    assert "; secure" in login(app, scheme="https").headers["Set-Cookie"].lower()
    db.set_override("secure_cookie", "always", group="dashboard")
    try:
        assert "; secure" in login(app).headers["Set-Cookie"].lower()
    finally:
        db.clear_override("secure_cookie", group="dashboard")


def _writes(project):
    """Every write route of the table, with a body it accepts."""
    found = [(e.method, e.url(caller=project, target=project), e.body)
             for e in endpoints.ENDPOINTS if e.write]
    found += [("POST", f"/v1.0/{project}/os-sync", {"resource_set": {
        "resource_type": "keypair", "resources": ["k"], "source": "RegionOne",
        "target": ["RegionTwo"]}}),
              ("DELETE", f"/v1.0/{project}/os-sync/{OTHER}", None),
              ("POST", "/v2/sync-policies", {"sync_policy": {
                  "resource_type": "keypair", "resources": ["k"], "source": "RegionOne",
                  "targets": ["RegionTwo"]}}),
              ("DELETE", f"/v2/sync-policies/{OTHER}", None),
              ("POST", f"/v2/sync-policies/{OTHER}/audit", None),
              ("POST", "/v2/address-conflicts/check", {"cidr": "10.0.0.0/24"}),
              ("PUT", f"/v2/image-distributions/{OTHER}",
               {"image_distribution": {"mode": "auto", "source_region": "RegionOne"}}),
              ("DELETE", f"/v2/image-distributions/{OTHER}", None),
              ("POST", f"/v2/images/{OTHER}/ensure", {"region": "RegionTwo"}),
              ("POST", "/v2/image-rollouts", {"image_rollout": {
                  "image_id": OTHER, "source_region": "RegionOne",
                  "waves": [["RegionTwo"]]}}),
              ("POST", f"/v2/image-rollouts/{OTHER}/promote", None),
              ("POST", f"/v2/image-rollouts/{OTHER}/abort", None),
              ("POST", f"/v2/image-rollouts/{OTHER}/rollback", None),
              ("POST", "/v2/protection-plans", {"protection_plan": {
                  "name": "vnf", "region": "RegionOne", "backup_region": "RegionTwo",
                  "groups": [["db-1"]]}}),
              ("DELETE", f"/v2/protection-plans/{OTHER}", None),
              ("POST", f"/v2/protection-plans/{OTHER}/discover", None),
              ("POST", f"/v2/protection-plans/{OTHER}/checkpoints", {"checkpoint": {}}),
              ("POST", f"/v2/checkpoints/{OTHER}/restore",
               {"restore": {"region": "RegionTwo", "mode": "drill"}}),
              ("POST", "/v1.0/pods", {"pod": {"pod_name": "RegionTwo", "az_name": "az1"}}),
              ("DELETE", f"/v1.0/pods/{OTHER}", None),
              ("POST", "/v1.0/routings", {"routing": {}}),
              ("PUT", "/v1.0/routings/1", {"routing": {}}),
              ("DELETE", "/v1.0/routings/1", None),
              ("POST", "/v1.0/jobs", {"job": {}}),
              ("PUT", f"/v1.0/jobs/{OTHER}", None),
              ("DELETE", f"/v1.0/jobs/{OTHER}", None),
              ("DELETE", routes.SESSION, None)]
    methods = {(m, routes.match(m, p.split("?")[0].rstrip("/"))[0]) for m, p, _b in found}
    table = {(m, h) for m, _pattern, h in routes.ROUTES if m != "GET" and h not in routes.PUBLIC}
    assert methods == table  # a new write route must join this list
    return found


def test_every_cookie_write_needs_the_csrf_token(app):
    resp = login(app)
    token, csrf = _token(resp), resp.json["session"]["csrf_token"]
    project = resp.json["session"]["project"]["id"]
    for method, path, body in _writes(project):
        for presented in (None, "forged", cookies.csrf_token(token + "x")):
            got = call(app, method, path, body=body, cookie=token, csrf=presented)
            assert got.status_int == 403, (method, path, got.body)
            assert got.json["error"]["code"] == "auth.csrf_invalid"
    # with the token the writes go through (the limits really change)
    path = f"/v1.0/{project}/os-quota-sets/{project}"
    got = call(app, "PUT", path, body={"quota_set": {"cores": 77}}, cookie=token, csrf=csrf)
    assert got.status_int == 200, got.body
    assert call(app, "GET", path, cookie=token).json["quota_set"]["cores"] == 77
    # reads need no CSRF token; a header token needs none either (not a cookie)
    assert call(app, "GET", path, cookie=token).status_int == 200
    got = call(app, "PUT", path, body={"quota_set": {"cores": 78}},
               headers={"X-Auth-Token": token})
    assert got.status_int == 200


def test_wrong_password_and_bad_logins(app):
    resp = login(app, password="not-the-password")
    assert resp.status_int == 401 and "Set-Cookie" not in resp.headers
    assert resp.json["error"]["code"] == "auth.invalid_credentials"
    assert "not-the-password" not in resp.text
    assert login(app, project="no-such-project-here").status_int == 401
    form = login(app, content_type="text/plain")
    assert form.status_int == 415
    missing = call(app, "POST", "/auth/session", body={"session": {"username": "a"}})
    assert missing.status_int == 400 and missing.json["error"]["code"] == "auth.invalid_login"
    assert call(app, "GET", "/auth/session").status_int == 401


def test_logout_revokes_the_token(app, db, devcloud):
    resp = login(app)
    token, csrf = _token(resp), resp.json["session"]["csrf_token"]
    out = call(app, "DELETE", "/auth/session", cookie=token, csrf=csrf)
    assert out.status_int == 200
    assert f"{cookies.NAME}=;" in out.headers["Set-Cookie"] and "Max-Age=0" in out.headers[
        "Set-Cookie"]
    # Keystone revoked it: a copy of the old cookie is worth nothing to an API that has
    # not cached the token (keystonemiddleware keeps a validated token for
    # token_cache_time seconds; docs/dashboard.md says so)
    admin = devcloud.token()
    check = urllib3.request("GET", f"{devcloud.keystone_url}/auth/tokens",
                            headers={"X-Auth-Token": admin, "X-Subject-Token": token})
    assert check.status == 404, check.status
    fresh = api_app.build_app(db)
    assert call(fresh, "GET", "/auth/session", cookie=token).status_int == 401


def test_member_session(app, fresh_project):
    creds = fresh_project.credentials
    resp = login(app, username=creds.username, password=creds.password,
                 project=creds.project_name)
    assert resp.status_int == 201, resp.body
    session = resp.json["session"]
    assert session["is_admin"] is False and session["project"]["id"] == fresh_project.id
    token, csrf = _token(resp), session["csrf_token"]
    path = f"/v1.0/{fresh_project.id}/os-quota-sets/{fresh_project.id}"
    denied = call(app, "PUT", path, body={"quota_set": {"cores": 5}}, cookie=token, csrf=csrf)
    assert denied.status_int == 403 and denied.json["error"]["code"] == "policy.forbidden"


def test_login_rate_limits_per_user_and_per_source(app, db):
    """Refused logins of one user (from several addresses) and attempts of one address
    are limited: 429 with Retry-After and the error format, before Keystone is asked
    (the right password is refused too while the limit holds)."""
    failures = db.dashboard.login_failures_per_user
    for n in range(failures):
        resp = login(app, password="wrong", **_source(f"192.0.2.{n}"))
        assert resp.status_int == 401, resp.body
    held = login(app, **_source("192.0.2.200"))
    assert held.status_int == 429, held.body
    assert held.json["error"]["code"] == "auth.rate_limited"
    assert 1 <= int(held.headers["Retry-After"]) <= db.dashboard.login_rate_period
    assert "Set-Cookie" not in held.headers
    # another user is not held back
    assert login(app, username="nobody-" + uuid.uuid4().hex[:8], password="x",
                 **_source("192.0.2.201")).status_int == 401

    db.set_override("login_attempts_per_source", 2, group="dashboard")
    try:
        fresh = api_app.build_app(db)
        assert login(fresh, **_source("198.51.100.1")).status_int == 201
        assert login(fresh, password="wrong", **_source("198.51.100.1")).status_int == 401
        flooded = login(fresh, **_source("198.51.100.1"))
        assert flooded.status_int == 429 and "Retry-After" in flooded.headers
        assert login(fresh, **_source("198.51.100.2")).status_int == 201
    finally:
        db.clear_override("login_attempts_per_source", group="dashboard")


def _source(address):
    return {"environ": {"REMOTE_ADDR": address}}
