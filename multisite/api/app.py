"""The WSGI application: one middleware list, then the route table."""

import logging
import time

import webob
import webob.dec
from oslo_middleware import request_id

from multisite import context as ms_context
from multisite.api import cookies, dashboard, errors, routes

LOG = logging.getLogger(__name__)
ACCESS_LOG = logging.getLogger("multisite.api.access")


class Router:
    """Dispatches to handlers; turns domain and HTTP errors into JSON 4xx."""

    def __init__(self, conf):
        self.conf = conf

    @webob.dec.wsgify
    def __call__(self, req):
        path = req.path_info.rstrip("/") if req.path_info != "/" else ""
        handler, kwargs, allowed = routes.match(req.method, path)
        if handler is None:
            if allowed:
                return errors.error_response(
                    405, "request.method_not_allowed",
                    f"Method {req.method} not allowed on {req.path_info}",
                    headers={"Allow": ", ".join(allowed)})
            return errors.error_response(404, "request.not_found",
                                         f"No such resource: {req.path_info}")
        req.environ["multisite.conf"] = self.conf
        if handler not in routes.PUBLIC and req.environ.get("multisite.context") is None:
            return errors.error_response(
                401, "auth.unauthenticated",
                "Authentication required: missing or invalid token")
        if req.content_length and req.content_length > self.conf.api_request_max_body_size:
            return errors.error_response(413, "request.too_large", "Request body too large")
        try:
            response = handler(req, **kwargs)
        except errors.HTTPError as exc:
            return errors.error_response(exc.status, exc.code, exc.message,
                                         headers=exc.headers)
        except Exception as exc:
            mapped = errors.from_domain(exc)
            if mapped is None:
                raise
            return errors.error_response(mapped.status, mapped.code, mapped.message)
        if handler not in routes.PUBLIC and not req.environ["multisite.context"].policy_checks:
            # Fail closed: every non-public handler must run a policy check.
            raise RuntimeError(f"handler {handler.__qualname__} ran no policy check")
        return response


class ContextMiddleware:
    """Builds the request context from the identity headers of the auth layer."""

    def __init__(self, app, conf):
        self.app = app
        self.conf = conf

    def __call__(self, environ, start_response):
        environ.pop("multisite.context", None)
        if self.conf.auth_strategy == "keystone":
            status = environ.get("HTTP_X_IDENTITY_STATUS")
            if status == "Confirmed":
                environ["multisite.context"] = ms_context.RequestContext.from_environ(environ)
        else:
            if environ.get("HTTP_X_PROJECT_ID") or environ.get("HTTP_X_TENANT_ID"):
                environ["multisite.context"] = ms_context.RequestContext.from_environ(environ)
        return self.app(environ, start_response)


class SessionCookie:
    """Dashboard sessions: the cookie's token becomes X-Auth-Token, and a write sent with
    the cookie needs the session's CSRF token in X-CSRF-Token (else 403)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        token = cookies.from_environ(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        login = method == "POST" and environ.get("PATH_INFO", "").rstrip("/") == routes.SESSION
        if token is None or environ.get("HTTP_X_AUTH_TOKEN") or login:
            # An explicit token wins; a new login does not need the old session.
            return self.app(environ, start_response)
        if method not in cookies.SAFE_METHODS and not cookies.csrf_valid(
                token, environ.get("HTTP_X_CSRF_TOKEN")):
            response = errors.error_response(
                403, "auth.csrf_invalid",
                f"A write authenticated by the session cookie needs the session's "
                f"{cookies.CSRF_HEADER} header")
            return response(environ, start_response)
        environ["HTTP_X_AUTH_TOKEN"] = token
        return self.app(environ, start_response)


class FaultWrapper:
    """The catch-all: anything unexpected is logged and becomes a JSON 500."""

    def __init__(self, app):
        self.app = app

    @webob.dec.wsgify
    def __call__(self, req):
        started = time.monotonic()
        try:
            response = req.get_response(self.app)
        except Exception:
            LOG.exception("Unexpected error on %s %s", req.method, req.path)
            response = errors.error_response(500, "internal_error",
                                             "Internal error; see the API log")
        ctx = req.environ.get("multisite.context")
        ACCESS_LOG.info(
            "method=%s path=%s status=%s duration_ms=%.1f request_id=%s project=%s user=%s",
            req.method, req.path_qs, response.status_int,
            (time.monotonic() - started) * 1000.0,
            req.environ.get(request_id.ENV_REQUEST_ID, "-"),
            getattr(ctx, "project_id", None) or "-", getattr(ctx, "user_id", None) or "-")
        return response


def _auth(app, conf):
    if conf.auth_strategy == "noauth":
        LOG.warning("auth_strategy=noauth: identity headers (X-Project-Id, X-User-Id, "
                    "X-Roles) are TRUSTED WITHOUT VERIFICATION. Never use this in production.")
        return app
    from keystonemiddleware import auth_token

    # Decisions are ours (JSON 401s, public version document), so let the
    # middleware only annotate the request.
    local_conf = {"delay_auth_decision": True, "oslo_config_config": conf}
    group = conf.keystone_authtoken
    if group.auth_uri and not group.www_authenticate_uri:
        # kingbird.conf files say auth_uri; keystonemiddleware now calls it
        # www_authenticate_uri.
        local_conf["www_authenticate_uri"] = group.auth_uri
    problem = auth_config_problem(conf)
    if problem:
        LOG.error("%s", problem)
    return auth_token.AuthProtocol(app, local_conf)


def auth_config_problem(conf):
    """Why the configured auth cannot validate tokens, or None."""
    if conf.auth_strategy != "keystone":
        return None
    from keystonemiddleware import auth_token  # noqa: F401 (registers its options)

    if not conf.keystone_authtoken.auth_type:
        return ("auth_strategy = keystone but [keystone_authtoken] auth_type is not set, so "
                "tokens cannot be validated. Set auth_type = password with auth_url, "
                "username, password, project_name, user_domain_name and "
                "project_domain_name of a service user.")
    return None


class PublicRoot:
    """Serves the version document without going through authentication."""

    def __init__(self, app, root):
        self.app = app
        self.root = root

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "") in ("", "/"):
            return self.root(environ, start_response)
        return self.app(environ, start_response)


def build_app(conf):
    """The middleware list, outermost first: request id, fault/access log, public root,
    dashboard page, session cookie (keystone), auth, context."""
    router = Router(conf)
    app = ContextMiddleware(router, conf)
    app = _auth(app, conf)
    if conf.auth_strategy == "keystone":
        app = SessionCookie(app)
    if conf.dashboard.enabled:
        app = dashboard.StaticPages(app, conf)
    app = PublicRoot(app, router)
    app = FaultWrapper(app)
    app = request_id.RequestId(app)
    return app
