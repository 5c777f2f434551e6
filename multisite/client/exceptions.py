"""Typed errors carrying the server's JSON error code and message."""


class ClientException(Exception):
    """Base of every error the Multisite client raises."""

    status = None

    def __init__(self, message, *, status=None, code=None, request_id=None):
        super().__init__(message)
        self.message = message
        self.status = status if status is not None else self.status
        self.code = code
        self.request_id = request_id

    def __str__(self):
        head = f"{self.message}"
        if self.status:
            head += f" (HTTP {self.status}"
            head += f", {self.code})" if self.code else ")"
        return head


class ConnectionFailed(ClientException):
    """The endpoint could not be reached."""


class EndpointNotFound(ClientException):
    """No synchronization endpoint in the catalog and no override given."""


class HTTPError(ClientException):
    """An error status from the server."""


class BadRequest(HTTPError):
    status = 400


class Unauthorized(HTTPError):
    status = 401


class Forbidden(HTTPError):
    status = 403


class NotFound(HTTPError):
    status = 404


class MethodNotAllowed(HTTPError):
    status = 405


class Conflict(HTTPError):
    """409, and Kingbird's 406 for deleting a job that is still running."""

    status = 409


class JobInProgress(Conflict):
    status = 406


class RequestTooLarge(HTTPError):
    status = 413


class ServerError(HTTPError):
    status = 500


class ServiceUnavailable(ServerError):
    status = 503


_BY_STATUS = {cls.status: cls for cls in (
    BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, JobInProgress, Conflict,
    RequestTooLarge, ServiceUnavailable)}


def from_response(status, body, *, request_id=None):
    """The typed error for an HTTP status and its (JSON or text) body."""
    code, message = None, None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        message = body["error"].get("message")
    elif isinstance(body, str) and body.strip():
        message = body.strip()
    if not message:
        message = f"HTTP {status}"
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else HTTPError
    error = cls(message, status=status, code=code, request_id=request_id)
    # the whole body, for errors that carry more than code and message (a failover's
    # confirmation token)
    error.body = body if isinstance(body, dict) else None
    return error
