"""Error answers of the gateway, in the fault format of the service being spoken (Nova's
`{"itemNotFound": {"code": 404, "message": ...}}`), which every OpenStack client reads."""

import json

import webob

NAMES = {400: "badRequest", 403: "forbidden", 404: "itemNotFound", 409: "conflictingRequest",
         413: "overLimit", 501: "notImplemented", 503: "serviceUnavailable"}


class Fault(Exception):
    def __init__(self, status, message, *, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def response(status, message, *, headers=None):
    name = NAMES.get(status, "computeFault")
    body = json.dumps({name: {"code": status, "message": message}}).encode()
    resp = webob.Response(body=body, status=status, content_type="application/json",
                          charset="UTF-8")
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def not_implemented(method, path, service):
    return Fault(501, f"The Multisite gateway does not support {method} {path} of "
                      f"{service} (see docs/gateway.md for what is routed)")


def pod_unavailable(pod, detail):
    return Fault(503, f"Pod {pod} is unavailable: {detail}")
