"""The dashboard's static page and its session endpoint, in process (no browser).

Serving: the page and its assets, cache headers, CSP, nothing external. Session: the
noauth answers, and the session-cookie middleware (CSRF on every write) on its own.
The Keystone side of the session endpoint is in tests/integration/test_dashboard_sessions.py.
"""

import json
import re
import uuid

import pytest
import webob

from multisite.api import app as api_app
from multisite.api import cookies, dashboard, routes
from multisite.objects import sync_status

PROJECT = str(uuid.UUID(int=7))
ADMIN = {"X-Project-Id": PROJECT, "X-User-Id": "u1", "X-Roles": "admin"}


def call(app, method, path, *, headers=None, body=None):
    req = webob.Request.blank(path, method=method, headers=headers or {})
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = "application/json"
    return req.get_response(app)


@pytest.fixture
def app(db):
    return api_app.build_app(db)


def _asset_urls(page):
    return [u for u in re.findall(r'(?:src|href)="([^"]+)"', page) if not u.startswith("#")]


def test_page_and_assets_with_cache_headers_and_csp(app):
    moved = call(app, "GET", "/dashboard")
    assert moved.status_int == 301 and moved.location.endswith("/dashboard/")
    page = call(app, "GET", "/dashboard/")
    assert page.status_int == 200 and page.content_type == "text/html"
    assert page.headers["Cache-Control"] == "no-cache"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["x-openstack-request-id"].startswith("req-")
    text = page.text
    assert '<meta name="multisite-auth" content="noauth">' in text
    assert "{{" not in text
    assert "<script>" not in text and "style=" not in text  # nothing inline: CSP forbids it
    assets = _asset_urls(text)
    # the icon, the stylesheet and every module in one script (one request, no waves)
    assert {a.split("/static/", 1)[1].split("/", 1)[1] for a in assets} == {
        "favicon.svg", "style.css", dashboard.BUNDLE}
    assert 'rel="modulepreload"' not in text
    script_url = [a for a in assets if a.endswith(dashboard.BUNDLE)][0]
    assert f'<script type="module" src="{script_url}">' in text
    for url in assets:
        got = call(app, "GET", url)
        assert got.status_int == 200, url
        assert got.headers["Cache-Control"] == dashboard.IMMUTABLE
        assert got.headers["Content-Security-Policy"] == dashboard.CSP
    script = call(app, "GET", script_url)
    assert script.content_type == "text/javascript"
    modules = {p.relative_to(dashboard.STATIC_DIR).as_posix()
               for p in dashboard.STATIC_DIR.rglob("*.js")}
    for rel in modules:  # every module in it, and still served on its own
        assert f'__multisiteModules["{rel}"] = ' in script.text, rel
        version = script_url.split("/static/", 1)[1].split("/", 1)[0]
        assert call(app, "GET", f"/dashboard/static/{version}/{rel}").status_int == 200
    again = call(app, "GET", "/dashboard/", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_int == 304 and not again.body


def test_every_module_import_resolves_and_nothing_is_external(app, db):
    """The page works air-gapped: no URL outside this origin in any static file."""
    files, version = dashboard.load()
    for rel, (data, _kind, _etag) in files.items():
        text = re.sub(r'xmlns="[^"]*"', "", data.decode())  # a name, never fetched
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), rel
        for target in re.findall(r'from "(\.[^"]+)"', text):
            base = rel.rsplit("/", 1)[0] if "/" in rel else ""
            parts = [p for p in (base + "/" + target).split("/") if p not in ("", ".")]
            resolved = []
            for part in parts:
                if part == "..":
                    resolved.pop()
                else:
                    resolved.append(part)
            path = "/".join(resolved)
            assert path in files, f"{rel} imports {target}"
            assert call(app, "GET", f"/dashboard/static/{version}/{path}").status_int == 200


def test_page_falls_back_to_modules_when_they_cannot_be_bundled(db, tmp_path):
    for path in dashboard.STATIC_DIR.rglob("*"):
        if path.is_file():
            (tmp_path / path.relative_to(dashboard.STATIC_DIR)).parent.mkdir(exist_ok=True)
            (tmp_path / path.relative_to(dashboard.STATIC_DIR)).write_bytes(path.read_bytes())
    (tmp_path / "ui.js").write_text((tmp_path / "ui.js").read_text() + "export default 1;\n")
    pages = dashboard.StaticPages(None, db, directory=tmp_path)
    assert dashboard.BUNDLE not in pages.files
    text = call(pages, "GET", "/dashboard/").text
    modules = [p for p in pages.files if p.endswith(".js")]
    assert text.count('rel="modulepreload"') == len(modules) and len(modules) > 5
    assert re.search(r'<script type="module" src="[^"]+/static/\w+/app\.js">', text)


def test_unknown_files_old_versions_and_writes(app):
    files, version = dashboard.load()
    missing = call(app, "GET", f"/dashboard/static/{version}/nope.js")
    assert missing.status_int == 404 and missing.json["error"]["code"] == "request.not_found"
    assert call(app, "GET", f"/dashboard/static/{version}/index.html").status_int == 404
    assert call(app, "GET", "/dashboard/other").status_int == 404
    old = call(app, "GET", "/dashboard/static/0123456789ab/app.js")
    assert old.status_int == 200 and old.headers["Cache-Control"] == "no-cache"
    post = call(app, "POST", "/dashboard/")
    assert post.status_int == 405 and post.json["error"]["code"] == "request.method_not_allowed"


def test_dashboard_can_be_switched_off(db):
    db.set_override("enabled", False, group="dashboard")
    try:
        resp = call(api_app.build_app(db), "GET", "/dashboard/")
        assert resp.status_int == 404
    finally:
        db.clear_override("enabled", group="dashboard")


def test_noauth_session(app):
    resp = call(app, "GET", "/auth/session", headers=ADMIN)
    assert resp.status_int == 200 and resp.headers["Cache-Control"] == "no-store"
    session = resp.json["session"]
    assert session["auth_strategy"] == "noauth" and session["is_admin"] is True
    # the one project-id spelling (issue 10): 32 lowercase hex digits
    assert session["project"]["id"] == uuid.UUID(PROJECT).hex and session["csrf_token"] is None
    member = call(app, "GET", "/auth/session", headers=dict(ADMIN, **{"X-Roles": "member"}))
    assert member.json["session"]["is_admin"] is False
    assert call(app, "GET", "/auth/session").status_int == 401
    login = call(app, "POST", "/auth/session",
                 body={"session": {"username": "a", "password": "b", "project": "c"}})
    assert login.status_int == 400 and login.json["error"]["code"] == "auth.login_unused"
    out = call(app, "DELETE", "/auth/session", headers=ADMIN)
    assert out.status_int == 200
    assert f"{cookies.NAME}=;" in out.headers["Set-Cookie"]
    assert "Max-Age=0" in out.headers["Set-Cookie"]


def test_sync_status_carries_region_usage_and_limits(db):
    sync_status.record_many(db, PROJECT, {
        "RegionOne": {"ok": True, "usage": {"cores": 3}, "limits": {"cores": 10}},
        "RegionTwo": {"ok": False, "error": "boom", "backoff": 5}})
    rows = {r["region"]: r for r in sync_status.list_for_project(db, PROJECT)}
    assert rows["RegionOne"]["usage"] == {"cores": 3} and rows["RegionOne"]["limits"] == {
        "cores": 10}
    assert rows["RegionTwo"]["usage"] is None and rows["RegionTwo"]["error"] == "boom"


class Recorder:
    def __init__(self):
        self.seen = None

    def __call__(self, environ, start_response):
        self.seen = dict(environ)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]


TOKEN = "gAAAAABtoken-value_1"


def _through_cookie(method, path="/v1.0/x/os-quota-sets/y", headers=None):
    inner = Recorder()
    req = webob.Request.blank(path, method=method, headers=headers or {})
    req.headers["Cookie"] = f"{cookies.NAME}={TOKEN}"
    resp = req.get_response(api_app.SessionCookie(inner))
    return resp, inner.seen


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH"])
def test_cookie_write_needs_the_csrf_token(method):
    resp, seen = _through_cookie(method)
    assert resp.status_int == 403 and seen is None
    assert resp.json["error"]["code"] == "auth.csrf_invalid"
    resp, seen = _through_cookie(method, headers={"X-CSRF-Token": "wrong"})
    assert resp.status_int == 403 and seen is None
    resp, seen = _through_cookie(method, headers={"X-CSRF-Token": cookies.csrf_token(TOKEN)})
    assert resp.status_int == 200 and seen["HTTP_X_AUTH_TOKEN"] == TOKEN


def test_cookie_read_login_and_explicit_token():
    resp, seen = _through_cookie("GET")
    assert resp.status_int == 200 and seen["HTTP_X_AUTH_TOKEN"] == TOKEN
    # a new login does not present the old session; an explicit token wins over the cookie
    resp, seen = _through_cookie("POST", path=routes.SESSION)
    assert resp.status_int == 200 and "HTTP_X_AUTH_TOKEN" not in seen
    resp, seen = _through_cookie("PUT", headers={"X-Auth-Token": "other"})
    assert resp.status_int == 200 and seen["HTTP_X_AUTH_TOKEN"] == "other"


def test_csrf_token_is_bound_to_the_session():
    assert cookies.csrf_token(TOKEN) == cookies.csrf_token(TOKEN)
    assert cookies.csrf_token(TOKEN) != cookies.csrf_token(TOKEN + "x")
    assert TOKEN not in cookies.csrf_token(TOKEN)
    assert not cookies.csrf_valid(TOKEN, "") and not cookies.csrf_valid(TOKEN, None)
