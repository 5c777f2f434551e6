"""Who may call what: every persona against every endpoint (spec 2.8, policies/).

Admin (a role in the list, any case) may do everything; a member or reader of
a project may read its limits and nothing more; anyone else gets 403; no
identity gets 401. In keystone mode a token the identity service cannot
confirm is a JSON 401, never a 500.
"""

import json
import uuid

import pytest
import webob
from keystoneauth1 import loading

from multisite.api import app as api_app
from multisite.api import routes
from tests.functional.api import endpoints

PROJECT = str(uuid.UUID(int=1))
OTHER = str(uuid.UUID(int=2))
ADMIN_PROJECT = str(uuid.UUID(int=3))

# name: (token project or None, roles)
PERSONAS = {
    "admin": (ADMIN_PROJECT, "admin,member,reader"),
    "admin-uppercase-single-role": (ADMIN_PROJECT, "Admin"),
    "member": (PROJECT, "member"),
    "legacy-member": (PROJECT, "_member_"),
    "member-of-other-project": (OTHER, "member,reader"),
    "reader": (PROJECT, "reader"),
    "no-role": (PROJECT, ""),
    "no-identity": (None, None),
}


def expected_status(persona, endpoint):
    project, roles = PERSONAS[persona]
    if endpoint.public:
        return 200
    if project is None:
        return 401
    if "admin" in roles.lower().split(","):
        return endpoint.ok
    if endpoint.write or endpoint.admin_only or not roles:
        return 403
    if project == PROJECT or endpoint.caller_scoped:
        return 200
    return endpoint.foreign[0] if endpoint.foreign else 403


def call(app, method, url, *, headers=None, body=None):
    req = webob.Request.blank(url, method=method, headers=headers or {})
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = "application/json"
    return req.get_response(app)


def identity(project, roles):
    if project is None:
        return {}
    return {"X-Project-Id": project, "X-User-Id": f"user-of-{project}", "X-Roles": roles}


def assert_error(resp, status, code=None):
    assert resp.status_int == status, resp.body
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    error = json.loads(resp.body)["error"]
    assert set(error) == {"code", "message"}
    if code is not None:
        assert error["code"] == code


ERROR_CODES = {401: "auth.unauthenticated", 403: "policy.forbidden"}


def outcome(resp):
    """(status, error code or None): what a matrix cell compares."""
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    if resp.status_int < 400:
        return resp.status_int, None
    error = json.loads(resp.body)["error"]
    assert set(error) == {"code", "message"}
    return resp.status_int, error["code"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_persona_matrix(wsgi_app, db, persona):
    """One row of the matrix: this persona against every endpoint, all differences at once."""
    project, roles = PERSONAS[persona]
    wrong = []
    for endpoint in endpoints.ENDPOINTS:
        endpoints.seed(db, PROJECT)
        url = endpoint.url(caller=project or PROJECT, target=PROJECT)
        resp = call(wsgi_app, endpoint.method, url, headers=identity(project, roles),
                    body=endpoint.body)
        status = expected_status(persona, endpoint)
        want = (status, ERROR_CODES.get(status))
        if endpoint.foreign and status == endpoint.foreign[0]:
            want = endpoint.foreign
        if outcome(resp) != want:
            wrong.append(f"{endpoint.name}: want {want}, got {outcome(resp)} {resp.body[:200]}")
    assert not wrong, "\n".join(wrong)


V10_PRIVATE = [e for e in endpoints.ENDPOINTS if e.path.startswith("/v1.0/")]


def test_foreign_url_project_is_forbidden(wsgi_app):
    """Kingbird said 400 'Invalid request URL'; a project that is not yours is a 403."""
    for endpoint in V10_PRIVATE:
        url = endpoint.url(caller=OTHER, target=PROJECT)
        resp = call(wsgi_app, endpoint.method, url,
                    headers=identity(PROJECT, "member,reader"), body=endpoint.body)
        assert outcome(resp) == (403, "request.project_mismatch"), endpoint.name


# Handler modules whose routes have their own persona tests, and where.
COVERED_ELSEWHERE = {
    "multisite.api.handlers.sync_jobs": "tests/functional/test_sync_jobs_api.py",
    "multisite.api.handlers.sync_policies": "tests/functional/test_sync_policies_api.py",
    "multisite.api.handlers.images": "tests/functional/test_images_api.py",
    "multisite.api.handlers.protection_plans": "tests/functional/test_protection_plans_api.py",
    "multisite.api.handlers.restores": "tests/functional/test_restores_api.py",
    "multisite.api.handlers.sessions": "tests/functional/test_dashboard.py and "
                                       "tests/integration/test_dashboard_sessions.py",
    "multisite.api.handlers.pods": "tests/functional/test_pods_api.py",
    "multisite.api.handlers.routings": "tests/functional/test_pods_api.py",
    "multisite.api.handlers.jobs": "tests/functional/test_pods_api.py",
    "multisite.api.handlers.routers": "tests/functional/test_routers_api.py",
}


def test_matrix_covers_every_route():
    """A new route must join the catalogue, and so the matrix (or name its own suite)."""
    called = {routes.match(e.method, e.url(caller=PROJECT, target=PROJECT).split("?")[0]
                           .rstrip("/"))[0] for e in endpoints.ENDPOINTS}
    every = {handler for _method, _pattern, handler in routes.ROUTES
             if handler.__module__ not in COVERED_ELSEWHERE}
    assert called == every


def test_public_routes_are_only_the_version_document_and_the_login():
    assert {f"{h.__module__}.{h.__qualname__}" for h in routes.PUBLIC} == {
        "multisite.api.handlers.root.versions", "multisite.api.handlers.sessions.create"}


def test_handler_without_policy_check_is_a_500(db, monkeypatch):
    """The Router fails closed: a non-public handler that checked nothing never answers 200."""
    from multisite.api import wsgi

    def unchecked(req, project_id):
        return wsgi.json_response({"leak": project_id})

    monkeypatch.setattr(routes, "COMPILED", routes.COMPILED + [
        routes.Route("GET", r"/v1\.0/(?P<project_id>[^/]+)/unchecked", unchecked)])
    app = api_app.build_app(db)
    resp = call(app, "GET", f"/v1.0/{PROJECT}/unchecked",
                headers=identity(ADMIN_PROJECT, "admin"))
    assert_error(resp, 500, "internal_error")
    assert b"leak" not in resp.body


def test_body_too_large(wsgi_app, db):
    big = {"quota_set": {"cores": 1}, "pad": "x" * db.api_request_max_body_size}
    resp = call(wsgi_app, "PUT", f"/v1.0/{ADMIN_PROJECT}/os-quota-sets/{PROJECT}",
                headers=identity(ADMIN_PROJECT, "admin"), body=big)
    assert_error(resp, 413, "request.too_large")


KEYSTONE_CONF = """
[DEFAULT]
auth_strategy = keystone
transport_url = fake://
[database]
connection = {connection}
[keystone_authtoken]
# Nothing listens on port 9: every token validation fails to connect.
www_authenticate_uri = http://127.0.0.1:9/v3
auth_url = http://127.0.0.1:9/v3
auth_type = password
username = multisite
password = secret
project_name = service
user_domain_name = Default
project_domain_name = Default
http_connect_timeout = 1
http_request_max_retries = 0
"""


@pytest.fixture
def keystone_app(db, engine, tmp_path, request):
    # Indirect parametrization may swap the identity section (e.g. Kingbird's names).
    text = getattr(request, "param", KEYSTONE_CONF)
    path = tmp_path / "keystone.conf"
    path.write_text(text.format(connection=db.database.connection))
    db(["--config-file", str(path)], project="multisite", default_config_files=[])
    db.clear_override("auth_strategy")
    assert db.auth_strategy == "keystone"
    yield api_app.build_app(db)
    # auth_token registers the password plugin's options (auth_url is required)
    # on first use; left behind they would fail every later CONF([]) parse.
    db.reset()
    db.unregister_opts(
        loading.get_auth_plugin_conf_options(loading.get_plugin_loader("password")),
        group="keystone_authtoken")


KEYSTONE_CALLERS = {
    "invalid-token": {"X-Auth-Token": "bogus-token"},
    "no-token": {},
    # Identity headers a client made up are stripped by auth_token, not trusted.
    "spoofed-identity": {"X-Identity-Status": "Confirmed", "X-Roles": "admin",
                         "X-Project-Id": ADMIN_PROJECT, "X-Auth-Token": "bogus"},
}


@pytest.mark.parametrize("caller", KEYSTONE_CALLERS)
def test_keystone_mode_rejects_unconfirmed_tokens(keystone_app, caller):
    """Observed with an unreachable identity service: a JSON 401 (never 500 or 503)."""
    for endpoint in endpoints.ENDPOINTS:
        url = endpoint.url(caller=PROJECT, target=PROJECT)
        resp = call(keystone_app, endpoint.method, url, headers=KEYSTONE_CALLERS[caller],
                    body=endpoint.body)
        if endpoint.public:
            assert resp.status_int == 200, resp.body
            continue
        assert outcome(resp) == (401, "auth.unauthenticated"), endpoint.name
        assert resp.headers["WWW-Authenticate"].startswith("Keystone uri=")


def _auth_protocol(app):
    """The keystonemiddleware layer of the middleware list."""
    from keystonemiddleware import auth_token

    while not isinstance(app, auth_token.AuthProtocol):
        app = getattr(app, "app", None) or app.application
    return app


def test_keystone_mode_builds_no_service_catalog_header(keystone_app):
    """Nothing behind the middleware reads X-Service-Catalog: not built per request."""
    assert _auth_protocol(keystone_app)._include_service_catalog is False


@pytest.mark.parametrize("keystone_app", [KEYSTONE_CONF + "include_service_catalog = true\n"],
                         indirect=True)
def test_keystone_mode_service_catalog_header_when_the_operator_asks(keystone_app):
    assert _auth_protocol(keystone_app)._include_service_catalog is True


# A value distinct from auth_url, so the header can only come from auth_uri.
KINGBIRD_AUTH_URI_CONF = KEYSTONE_CONF.replace(
    "www_authenticate_uri = http://127.0.0.1:9/v3", "auth_uri = http://127.0.0.2:9/v3")


@pytest.mark.parametrize("keystone_app", [KINGBIRD_AUTH_URI_CONF], indirect=True)
def test_kingbird_auth_uri_is_still_advertised(keystone_app):
    """kingbird.conf's [keystone_authtoken] auth_uri feeds WWW-Authenticate."""
    resp = call(keystone_app, "GET", f"/v1.0/{PROJECT}/os-quota-sets/defaults",
                headers={"X-Auth-Token": "bogus"})
    assert outcome(resp) == (401, "auth.unauthenticated")
    assert resp.headers["WWW-Authenticate"] == 'Keystone uri="http://127.0.0.2:9/v3"'


def test_root_is_served_without_auth_even_when_keystone_is_misconfigured(db):
    """The version document never depends on the identity service."""
    db.set_override("auth_strategy", "keystone")
    app = api_app.build_app(db)
    assert api_app.auth_config_problem(db).startswith("auth_strategy = keystone")
    resp = call(app, "GET", "/")
    assert resp.status_int == 200
    assert json.loads(resp.body)["versions"][0]["id"] == "v1.0"
