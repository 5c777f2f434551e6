"""The WSGI application: one middleware list, then the route table."""

import ipaddress
import logging
import time
import urllib.parse

import webob
import webob.dec
from oslo_middleware import request_id

from multisite import context as ms_context
from multisite.api import cookies, dashboard, errors, ratelimit, routes, wsgi
from multisite.api.handlers import common

LOG = logging.getLogger(__name__)
ACCESS_LOG = logging.getLogger("multisite.api.access")


class Router:
    """Dispatches to handlers; turns domain and HTTP errors into JSON 4xx."""

    def __init__(self, conf):
        self.conf = conf
        self.login_limiter = ratelimit.LoginLimiter(conf)

    @webob.dec.wsgify
    def __call__(self, req):
        try:
            path_info = req.path_info
        except UnicodeDecodeError:
            return errors.error_response(400, "request.invalid_url",
                                         "Invalid request URL: the path is not UTF-8")
        path = path_info.rstrip("/") if path_info != "/" else ""
        handler, kwargs, allowed = routes.match(req.method, path)
        if handler is None:
            if allowed:
                return errors.error_response(
                    405, "request.method_not_allowed",
                    f"Method {req.method} not allowed on {path_info}",
                    headers={"Allow": ", ".join(allowed)})
            return errors.error_response(404, "request.not_found",
                                         f"No such resource: {path_info}")
        req.environ["multisite.conf"] = self.conf
        req.environ["multisite.login_limiter"] = self.login_limiter
        try:
            if handler not in routes.PUBLIC:
                if req.environ.get("multisite.context") is None:
                    return errors.error_response(
                        401, "auth.unauthenticated",
                        "Authentication required: missing or invalid token")
            # the body limit holds for public routes with a body too (the dashboard login)
            wsgi.read_body(req, self.conf.api_request_max_body_size)
            req.environ["multisite.ids_as_sent"] = dict(kwargs)
            for name, spell in routes.ID_VARIABLES.items():
                if name in kwargs:
                    kwargs[name] = spell(kwargs[name])
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
            identified = environ.get("HTTP_X_IDENTITY_STATUS") == "Confirmed"
        else:
            identified = bool(environ.get("HTTP_X_PROJECT_ID") or environ.get("HTTP_X_TENANT_ID"))
        if identified:
            ctx = ms_context.RequestContext.from_environ(environ)
            # the token's project in the one spelling the URLs are brought to
            ctx.project_id = common.same_project_spelling(ctx.project_id)
            environ["multisite.context"] = ctx
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

    def __call__(self, environ, start_response):
        started = time.monotonic()
        # this request's id in every log line of this thread, and nothing of the last one
        ms_context.RequestContext(request_id=environ.get(request_id.ENV_REQUEST_ID),
                                  overwrite=True)
        try:
            response = self._respond(webob.Request(environ))
            ctx = environ.get("multisite.context")
            ACCESS_LOG.info(
                "method=%s path=%s status=%s duration_ms=%.1f request_id=%s project=%s "
                "user=%s", environ.get("REQUEST_METHOD"), _raw_path(environ),
                response.status_int, (time.monotonic() - started) * 1000.0,
                environ.get(request_id.ENV_REQUEST_ID, "-"),
                getattr(ctx, "project_id", None) or "-", getattr(ctx, "user_id", None) or "-")
        finally:
            ms_context.clear_store()
        return response(environ, start_response)

    def _respond(self, req):
        try:
            return req.get_response(self.app)
        except Exception:
            LOG.exception("Unexpected error on %s %s", req.environ.get("REQUEST_METHOD"),
                          _raw_path(req.environ))
            return errors.error_response(500, "internal_error",
                                         "Internal error; see the API log")


def _raw_path(environ):
    """The path and query as they came (percent-encoded), whatever bytes they hold."""
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    # WSGI hands the path bytes over as latin-1 characters; never decode them as UTF-8
    path = urllib.parse.quote(path.encode("latin-1", "replace"), safe="/:@!$&'()*+,;=-._~")
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def _auth(app, conf):
    if conf.auth_strategy == "noauth":
        LOG.warning("auth_strategy=noauth: identity headers (X-Project-Id, X-User-Id, "
                    "X-Roles) are TRUSTED WITHOUT VERIFICATION. Never use this in production. "
                    "bind_host=%s loopback=%s", conf.bind_host, is_loopback(conf.bind_host))
        return app
    from keystonemiddleware import auth_token
    from keystonemiddleware import opts as authtoken_opts

    # Nothing behind the middleware reads X-Service-Catalog, and building it is a JSON dump
    # of the token's whole catalog on every request (a tenth of a GET with a cached token):
    # off unless the operator sets [keystone_authtoken] include_service_catalog.
    for group, options in authtoken_opts.list_auth_token_opts():
        conf.register_opts(options, group=group)
    conf.set_default("include_service_catalog", False, group="keystone_authtoken")
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


def is_loopback(host):
    """True for 'localhost' and loopback addresses (127.0.0.0/8, ::1); False otherwise."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False   # a host name: it may resolve to anything


def auth_config_problem(conf, bind=None):
    """Why the configured auth cannot validate tokens or is unsafe to serve, or None.

    `bind`: (option name, host) of the address the process serves on; default the API's
    `bind_host` (the gateway passes its own `[gateway] bind_host`)."""
    option, host = bind or ("bind_host", conf.bind_host)
    if conf.auth_strategy == "noauth":
        if is_loopback(host) or conf.noauth_insecure_allow_remote_bind:
            return None
        return (f"auth_strategy = noauth trusts any X-Roles header, and {option} = "
                f"{host} is not a loopback address: anyone who can reach it "
                f"would be admin. Bind to 127.0.0.1, use auth_strategy = keystone, or set "
                f"noauth_insecure_allow_remote_bind = true if you really mean it.")
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
