"""Real multisite-api / multisite-engine processes on loopback (test_api_process, bench/)."""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import sqlalchemy as sa

from multisite.db import api as db_api

BIN = os.path.dirname(sys.executable)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def write_config(directory, *, connection, workers=1, transport_url="fake://", port=None):
    """A config file for both services; returns (path, port)."""
    port = port or free_port()
    path = os.path.join(directory, "multisite.conf")
    with open(path, "w") as f:
        f.write(f"""[DEFAULT]
bind_host = 127.0.0.1
bind_port = {port}
api_workers = {workers}
auth_strategy = noauth
transport_url = {transport_url}
host = {socket.gethostname()}
[database]
connection = {connection}
[scheduler]
periodic_enable = false
[coordination]
backend_url = file://{os.path.join(directory, "locks")}
""")
    return path, port


def manage(config, *args):
    subprocess.run([os.path.join(BIN, "multisite-manage"), "--config-file", config, *args],
                   check=True, capture_output=True, timeout=120)


def start(binary, config, log_dir):
    """Start a console script with its output in log_dir/<binary>.log."""
    log = open(os.path.join(log_dir, f"{binary}.log"), "ab")  # noqa: SIM115 (closed by stop)
    proc = subprocess.Popen([os.path.join(BIN, binary), "--config-file", config],
                            stdout=log, stderr=subprocess.STDOUT)
    proc.log = log
    return proc


def start_uwsgi(config, log_dir, port, *, processes=1, threads=8):
    """The API under uWSGI (multisite.wsgi.api), as a deployment beside devstack's APIs."""
    log = open(os.path.join(log_dir, "uwsgi.log"), "ab")  # noqa: SIM115 (closed by stop)
    proc = subprocess.Popen(
        [os.path.join(BIN, "uwsgi"), "--http11-socket", f"127.0.0.1:{port}",
         "--processes", str(processes), "--threads", str(threads), "--lazy-apps",
         "--master", "--die-on-term", "--need-app", "--disable-logging",
         "--http-keepalive",
         "--module", "multisite.wsgi.api:application"],
        stdout=log, stderr=subprocess.STDOUT,
        env=dict(os.environ, MULTISITE_CONFIG_FILE=config))
    proc.log = log
    return proc


def stop(proc, *, timeout=30):
    """SIGTERM, wait; SIGKILL if it hangs. Returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.log.close()
    return proc.returncode


def wait_ready(proc, port, *, timeout=120):
    """Until GET / answers 200; fails early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}; see {proc.log.name}")
        if port_open(port):
            with contextlib.suppress(OSError, http.client.HTTPException):
                if Client(port).request("GET", "/")[0] == 200:
                    return
        time.sleep(0.1)
    raise TimeoutError(f"API on port {port} not ready after {timeout}s")


def wait_engine(proc, connection, *, timeout=120):
    """Until the engine has reported in the service table (its RPC server is up by then)."""
    engine = sa.create_engine(db_api.normalize_url(connection))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"engine exited with {proc.returncode}; see {proc.log.name}")
            with engine.connect() as conn:
                if conn.execute(sa.text("SELECT COUNT(*) FROM service")).scalar():
                    return
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise TimeoutError(f"engine not registered after {timeout}s")


class Client:
    """A keep-alive JSON client with the noauth identity of an admin."""

    def __init__(self, port, *, project_id=None, roles="admin"):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"X-Project-Id": project_id or str(uuid.uuid4()), "X-Roles": roles,
                        "X-User-Id": "client", "Content-Type": "application/json"}

    def request(self, method, path, body=None):
        """(status, headers, decoded JSON body)."""
        data = None if body is None else json.dumps(body)
        self.conn.request(method, path, body=data, headers=self.headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, dict(resp.getheaders()), json.loads(raw) if raw else None

    def close(self):
        self.conn.close()
