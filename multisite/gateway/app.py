"""The gateway's WSGI application: request id, auth, then one proxy per service prefix."""

import dataclasses
import json
import logging
import uuid

import webob

from multisite.gateway import cinder, faults, neutron, nova

LOG = logging.getLogger(__name__)

# path prefix -> (service module, what the catalog calls the service)
SERVICES = {"/compute/v2.1": nova, "/volume/v3": cinder, "/network": neutron}


@dataclasses.dataclass
class Caller:
    """Who calls, as the token (keystone) or the trusted headers (noauth) say."""

    project_id: str
    roles: tuple
    token: str | None
    request_id: str
    user_id: str | None = None

    @property
    def is_admin(self):
        return "admin" in (r.lower() for r in self.roles)


def caller(req, request_id):
    project = req.headers.get("X-Project-Id")
    if req.environ.get("HTTP_X_IDENTITY_STATUS", "Confirmed") != "Confirmed" or not project:
        raise faults.Fault(401, "Authentication required")
    roles = tuple(r.strip() for r in req.headers.get("X-Roles", "").split(",") if r.strip())
    return Caller(project_id=project.replace("-", "").lower(), roles=roles,
                  token=req.headers.get("X-Auth-Token"), request_id=request_id,
                  user_id=req.headers.get("X-User-Id"))


def _versions(req):
    body = {"services": [{"prefix": prefix, "service": module.SERVICE_TYPE,
                          "href": req.host_url + prefix} for prefix, module in SERVICES.items()]}
    return webob.Response(body=json.dumps(body).encode(), content_type="application/json",
                          charset="UTF-8")


class Gateway:
    def __init__(self, conf):
        self.conf = conf

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        request_id = f"req-{uuid.uuid4()}"
        try:
            resp = self._dispatch(req, request_id)
        except faults.Fault as fault:
            resp = faults.response(fault.status, fault.message, headers=fault.headers)
        except Exception:  # never a proxy stack trace to the caller
            LOG.exception("Gateway error: request_id=%s method=%s path=%s", request_id,
                          req.method, req.path_info)
            resp = faults.response(500, f"Internal gateway error (request {request_id})")
        resp.headers.setdefault("x-openstack-request-id", request_id)
        resp.headers["x-multisite-request-id"] = request_id
        LOG.info("method=%s path=%s status=%s request_id=%s pod_request_id=%s", req.method,
                 req.path_qs, resp.status_int, request_id,
                 resp.headers.get("x-openstack-request-id"))
        return resp(environ, start_response)

    def _dispatch(self, req, request_id):
        path = req.path_info.rstrip("/")
        if path == "":
            return _versions(req)
        for prefix, module in SERVICES.items():
            if path == prefix or path.startswith(prefix + "/"):
                call = caller(req, request_id)
                base = req.host_url + req.script_name + prefix
                return module.dispatch(self.conf, req, call, path[len(prefix):], base=base)
        raise faults.Fault(404, f"No such gateway path: {req.path_info}")


def build_app(conf):
    app = Gateway(conf)
    if conf.auth_strategy == "keystone":
        from keystonemiddleware import auth_token

        # the middleware only annotates (X-Identity-Status); `caller` refuses what is not
        # Confirmed with a 401, and the root document stays public
        app = auth_token.AuthProtocol(app, {"oslo_config_config": conf,
                                            "delay_auth_decision": True})
    return app
