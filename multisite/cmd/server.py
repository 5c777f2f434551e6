"""A multi-process WSGI server (gunicorn) for the API."""

import json
import logging
import uuid

from gunicorn import util
from gunicorn.app import base
from gunicorn.http import errors as http_errors
from gunicorn.workers import gthread

LOG = logging.getLogger(__name__)
ACCESS_LOG = logging.getLogger("multisite.api.access")

# What gunicorn refuses before the application sees the request, and how we answer it.
_EARLY = (
    (http_errors.LimitRequestLine, 414, "URI Too Long", "request.uri_too_long"),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large",
     "request.headers_too_large"),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented",
     "request.unsupported_transfer_coding"),
    (http_errors.ParseException, 400, "Bad Request", "request.malformed"),
)


def early_error(exc):
    """(status, reason, code) of an error gunicorn raised while reading a request."""
    for exc_type, status, reason, code in _EARLY:
        if isinstance(exc, exc_type):
            return status, reason, code
    return 500, "Internal Server Error", "internal_error"


class JSONErrorWorker(gthread.ThreadWorker):
    """gunicorn's threaded worker, answering the requests it cannot parse in JSON.

    gunicorn answers those itself (an HTML page, no request id); these answers have the
    API's error body, a request id and an access-log line.
    """

    def handle_error(self, req, client, addr, exc):
        status, reason, code = early_error(exc)
        request_id = f"req-{uuid.uuid4()}"
        if status >= 500:
            LOG.error("Error handling request: request_id=%s error=%r", request_id, exc)
            message = "Internal error; see the API log"
        else:
            message = f"Invalid HTTP request: {exc}"[:500]
        ACCESS_LOG.info("method=%s path=%s status=%s request_id=%s peer=%s early=%s",
                        getattr(req, "method", "-"), getattr(req, "uri", "-"), status,
                        request_id, (addr or ("-",))[0], exc.__class__.__name__)
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                f"x-openstack-request-id: {request_id}\r\n\r\n").encode("latin-1")
        try:
            util.write_nonblock(client, head + body)
        except OSError:
            LOG.debug("Could not send the early error: request_id=%s", request_id)


class APIServer(base.BaseApplication):
    """gunicorn with `api_workers` processes on `bind_host:bind_port`."""

    def __init__(self, conf, app_factory, *, post_worker_init=None, worker_exit=None):
        self.conf = conf
        self.app_factory = app_factory
        self.hooks = {"post_worker_init": post_worker_init, "worker_exit": worker_exit}
        super().__init__()

    def load_config(self):
        settings = {
            "bind": f"{self.conf.bind_host}:{self.conf.bind_port}",
            "workers": self.conf.api_workers,
            "worker_class": "multisite.cmd.server.JSONErrorWorker",
            "threads": 8,
            "timeout": 120,
            "graceful_timeout": 10,
            "accesslog": None,
            "loglevel": "info",
            "proc_name": "multisite-api",
            "control_socket_disable": True,
        }
        for name, hook in self.hooks.items():
            if hook is not None:
                settings[name] = hook
        for key, value in settings.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        return self.app_factory()
