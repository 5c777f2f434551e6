"""/auth/session: the dashboard's login (Keystone password -> HttpOnly cookie), whoami, logout.

POST {"session": {"username", "password", "project", "domain"}} asks Keystone for a
project-scoped token and keeps it in an HttpOnly, SameSite=Strict cookie that expires
with the token; GET tells the page who it is and the CSRF token its writes must carry;
DELETE revokes the token and clears the cookie.
"""

import datetime

from multisite import context as ms_context
from multisite import exception
from multisite.api import cookies, errors, identity, wsgi
from multisite.api.handlers import common
from multisite.api.policies import sessions as policies
from multisite.api.schemas import sessions as schemas


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _expires_in(expires_at):
    """Seconds until an ISO 8601 expiry; 0 if unreadable or past."""
    try:
        when = datetime.datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return 0
    now = datetime.datetime.now(datetime.UTC)
    return max(0, int((when - now).total_seconds()))


def regions_of(catalog):
    """[{"name", "services": [types]}] of a Keystone v3 catalog, sorted by name."""
    found = {}
    for service in catalog or []:
        for endpoint in service.get("endpoints", []):
            region = endpoint.get("region_id") or endpoint.get("region")
            if region:
                found.setdefault(region, set()).add(service.get("type", "?"))
    return [{"name": name, "services": sorted(types)} for name, types in sorted(found.items())]


def describe(ctx, *, conf, token=None, token_body=None):
    """The session document of a caller (token body as Keystone returned it, if any)."""
    body = token_body or {}
    return {"session": {
        "auth_strategy": conf.auth_strategy,
        "user": {"id": ctx.user_id, "name": ctx.user_name},
        "project": {"id": ctx.project_id, "name": ctx.project_name},
        "roles": sorted(ctx.roles),
        "is_admin": bool(ctx.is_admin_role),
        "expires_at": body.get("expires_at"),
        "csrf_token": cookies.csrf_token(token) if token else None,
        "regions": regions_of(body.get("catalog")),
    }}


def _context_of(token_body):
    user, project = token_body.get("user", {}), token_body.get("project", {})
    return ms_context.RequestContext(
        user_id=user.get("id"), user_name=user.get("name"), project_id=project.get("id"),
        project_name=project.get("name"),
        roles=[role.get("name") for role in token_body.get("roles", [])], overwrite=False)


def create(req):
    conf = req.environ["multisite.conf"]
    if conf.auth_strategy != "keystone":
        raise errors.bad_request(
            "auth.login_unused", "auth_strategy is noauth: send the identity headers "
            "(X-Project-Id, X-User-Id, X-Roles) instead of logging in")
    if req.content_type != "application/json":
        # A cross-site form cannot send this type without a CORS preflight.
        raise errors.HTTPError(415, "request.unsupported_media_type",
                               "A login is a JSON body (Content-Type: application/json)")
    body = wsgi.json_body(req)
    common.validate(schemas.CREATE, body, code="auth.invalid_login", prefix="Invalid login")
    login = body["session"]
    domain = login.get("domain") or "Default"
    limits = req.environ["multisite.login_limiter"]
    user = limits.user_key(login["username"], domain)
    limits.check(req.remote_addr or "?", user)
    try:
        token, token_body = identity.password_token(
            conf, username=login["username"], password=login["password"],
            project=login["project"], domain=domain)
    except exception.InvalidCredentials:
        limits.refused(user)
        raise
    limits.succeeded(user)
    response = wsgi.json_response(describe(_context_of(token_body), conf=conf, token=token,
                                           token_body=token_body), status=201)
    cookies.set_session(response, req, conf, token, _expires_in(token_body.get("expires_at")))
    return _no_store(response)


def _token_body(environ):
    info = environ.get("keystone.token_info") or {}
    return info.get("token", info)


def show(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    ctx.can(policies.SHOW)
    token, body = req.environ.get("HTTP_X_AUTH_TOKEN"), _token_body(req.environ)
    if conf.auth_strategy == "keystone" and token and "catalog" not in body:
        # validated without its catalog (include_service_catalog is off by default):
        # the regions a session shows come from Keystone's catalog of that token
        body = dict(body, catalog=identity.catalog(conf, token))
    return _no_store(wsgi.json_response(describe(ctx, conf=conf, token=token,
                                                 token_body=body)))


def delete(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    ctx.can(policies.DELETE)
    token = req.environ.get("HTTP_X_AUTH_TOKEN")
    if conf.auth_strategy == "keystone" and token:
        identity.revoke(conf, token)
    response = wsgi.json_response({"session": None})
    cookies.clear_session(response, req, conf)
    return _no_store(response)
