"""The key agent's HTTPS server: mutual TLS, JSON in and out, one lock around writes."""

from __future__ import annotations

import http.server
import json
import logging
import shlex
import ssl
import subprocess
import threading
import time
import urllib.parse

from multisite.keyagent import repository

LOG = logging.getLogger(__name__)
HANDSHAKE_TIMEOUT = 10.0


def server_context(*, cert_file: str, key_file: str, ca_file: str) -> ssl.SSLContext:
    """TLS 1.2+ server context that requires a client certificate signed by ``ca_file``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    ctx.load_verify_locations(cafile=ca_file)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _subject(cert: dict | None) -> str:
    for rdn in (cert or {}).get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                return value
    return "?"


class AgentServer(http.server.ThreadingHTTPServer):
    """Serves the repositories named in ``repositories`` (name -> directory)."""

    daemon_threads = True

    def __init__(self, address, *, context: ssl.SSLContext, repositories: dict[str, str],
                 owner: tuple[int, int] | None = None, max_body: int = 65536,
                 migrate_command: str | None = None, migrate_timeout: float = 600.0):
        self.context = context
        self.repositories = dict(repositories)
        # Keystone's `keystone-manage credential_migrate` for this node (None: refused)
        self.migrate_command = shlex.split(migrate_command) if migrate_command else None
        self.migrate_timeout = migrate_timeout
        self.owner = owner
        self.max_body = max_body
        self.write_lock = threading.Lock()
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = super().get_request()
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        # the handshake runs in the request's thread, so a slow client never blocks accept()
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            LOG.warning("Key agent refused a client: peer=%s reason=%s",
                        client_address[0], getattr(exc, "reason", None) or type(exc).__name__)
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        LOG.exception("Key agent request failed: peer=%s", client_address[0])


class Handler(http.server.BaseHTTPRequestHandler):
    server: AgentServer
    server_version = "multisite-keyagent"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass  # one structured line per request is written by _send instead

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        LOG.info("Key agent request: method=%s path=%s status=%d client=%s",
                 self.command, self.path.split("?")[0], status,
                 _subject(self.request.getpeercert()))

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(status, {"error": {"code": code, "message": message}})

    def _route(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        return parts, urllib.parse.parse_qs(url.query)

    def _state(self, name: str, *, with_keys: bool = False) -> dict:
        keys = repository.read(self.server.repositories[name])
        out = {"name": name, **repository.describe(keys)}
        if with_keys:
            out["keys"] = {str(i): k for i, k in sorted(keys.items())}
        return out

    def do_GET(self):
        parts, query = self._route()
        if parts == ["v1", "health"]:
            return self._send(200, {"status": "ok"})
        if parts == ["v1", "repositories"]:
            return self._send(200, {"repositories": [
                self._state(name) for name in sorted(self.server.repositories)]})
        if len(parts) == 3 and parts[:2] == ["v1", "repositories"]:
            if parts[2] not in self.server.repositories:
                return self._error(404, "repository.not_found", f"No repository {parts[2]!r}")
            with_keys = query.get("keys", ["false"])[0].lower() in ("1", "true", "yes")
            return self._send(200, self._state(parts[2], with_keys=with_keys))
        return self._error(404, "request.not_found", "No such resource")

    def _read_json(self):
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise repository.MalformedRepository("a Content-Length is required")
        if int(length) > self.server.max_body:
            raise repository.MalformedRepository(
                f"body larger than {self.server.max_body} bytes")
        try:
            return json.loads(self.rfile.read(int(length)) or b"null")
        except (ValueError, UnicodeDecodeError):
            raise repository.MalformedRepository("body is not JSON") from None

    def do_PUT(self):
        parts, _ = self._route()
        if len(parts) != 3 or parts[:2] != ["v1", "repositories"]:
            return self._error(404, "request.not_found", "No such resource")
        name = parts[2]
        if name not in self.server.repositories:
            return self._error(404, "repository.not_found", f"No repository {name!r}")
        try:
            body = self._read_json()
            if not isinstance(body, dict) or set(body) != {"keys"}:
                raise repository.MalformedRepository('body must be {"keys": {...}}')
            keys = repository.parse(body["keys"])
        except repository.MalformedRepository as exc:
            LOG.warning("Key agent refused a repository: repository=%s reason=%s", name, exc)
            self.close_connection = True
            return self._error(400, "repository.malformed", str(exc))
        with self.server.write_lock:
            changed = repository.write(self.server.repositories[name], keys,
                                       owner=self.server.owner)
            state = self._state(name)
        LOG.info("Key agent repository %s: repository=%s hash=%s indexes=%s",
                 "written" if changed else "unchanged", name, state["hash"][:12],
                 state["indexes"])
        return self._send(200, {**state, "changed": changed})

    def do_POST(self):
        parts, _ = self._route()
        if parts != ["v1", "repositories", "credential", "migrate"]:
            return self._error(404, "request.not_found", "No such resource")
        if "credential" not in self.server.repositories:
            return self._error(404, "repository.not_found", "No repository 'credential'")
        if not self.server.migrate_command:
            return self._error(409, "credential_migrate.not_configured",
                               "[keyagent] credential_migrate_command is not set on this node")
        self._drain()
        with self.server.write_lock:  # never while a repository is being written
            started = time.monotonic()
            try:
                proc = subprocess.run(self.server.migrate_command, stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=self.server.migrate_timeout,
                                      check=False)
                returncode = proc.returncode
            except subprocess.TimeoutExpired:
                returncode = None
            except OSError as exc:
                LOG.error("Credential migration could not start: reason=%s", exc)
                return self._error(500, "credential_migrate.failed", f"could not start: {exc}")
            try:
                digest = self._state("credential")["hash"]
            except OSError:
                digest = None  # no repository here: Keystone's command said what it found
        took = time.monotonic() - started
        # the command's output is not logged (it is Keystone's; only its outcome matters here)
        LOG.info("Credential migration: returncode=%s seconds=%.1f hash=%s", returncode, took,
                 (digest or "-")[:12])
        if returncode != 0:
            reason = "timed out" if returncode is None else f"exit status {returncode}"
            return self._error(500, "credential_migrate.failed",
                               f"credential migration failed: {reason}")
        return self._send(200, {"migrated": True, "hash": digest,
                                "seconds": round(took, 3)})

    def _drain(self):
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and 0 < int(length) <= self.server.max_body:
            self.rfile.read(int(length))
