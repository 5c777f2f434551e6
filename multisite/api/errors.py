"""Map domain exceptions to HTTP statuses and stable error codes; build error bodies."""

import json

import webob

from multisite import exception
from multisite.api import policy


class HTTPError(Exception):
    """An error a handler raises directly: status, stable code and message."""

    def __init__(self, status, code, message, *, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(code, message):
    return HTTPError(400, code, message)


def not_found(code, message):
    return HTTPError(404, code, message)


def forbidden(message="Forbidden", code="policy.forbidden"):
    return HTTPError(403, code, message)


_STATUS_BY_EXCEPTION = (
    (policy.PolicyNotAuthorized, 403),
    (exception.NotFound, 404),
    (exception.Invalid, 400),
    (exception.JobInProgress, 406),
    (exception.Conflict, 409),
    (exception.EngineError, 400),
    (exception.EngineUnavailable, 503),
    (exception.Unauthenticated, 401),
    (exception.IdentityUnavailable, 503),
)


def from_domain(exc):
    """The HTTPError for a domain exception, or None if it is not a known one."""
    for exc_type, status in _STATUS_BY_EXCEPTION:
        if isinstance(exc, exc_type):
            return HTTPError(status, exc.code, str(exc))
    return None


def error_response(status, code, message, *, headers=None):
    body = json.dumps({"error": {"code": code, "message": message}})
    response = webob.Response(body=body.encode(), status=status, charset="UTF-8",
                              content_type="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
