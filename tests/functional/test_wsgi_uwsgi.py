"""The REST API as a WSGI application (multisite.wsgi.api) under a real uWSGI process."""

import http.client
import json
import os
import shutil
import time
import uuid

import psutil
import pytest

from tests.functional.api import servers

pytestmark = pytest.mark.skipif(
    not shutil.which("uwsgi", path=servers.BIN),
    reason="uWSGI is not installed in this environment (the test extra installs pyuwsgi)")


@pytest.fixture
def config(tmp_path):
    path, port = servers.write_config(
        str(tmp_path), connection=f"sqlite:///{tmp_path / 'api.sqlite'}")
    servers.manage(path, "db_sync")
    return path, port


def _edit(path, old, new):
    with open(path) as f:
        text = f.read()
    assert old in text
    with open(path, "w") as f:
        f.write(text.replace(old, new))


def _apps_ready(log_dir):
    with open(os.path.join(log_dir, "multisite-api.log"), errors="replace") as f:
        return f.read().count("WSGI app 0 (mountpoint='') ready")


def test_the_api_under_uwsgi_answers_on_one_keep_alive_connection(config, tmp_path):
    path, port = config
    proc = servers.start_uwsgi(path, str(tmp_path), port)
    try:
        servers.wait_ready(proc, port, timeout=60)
        project = uuid.uuid4().hex
        client = servers.Client(port, project_id=project)
        base = f"/v1.0/{project}/os-quota-sets/{project}"
        status, headers, body = client.request("PUT", base, {"quota_set": {"cores": 7}})
        assert status == 200, body
        assert body == {project: {"cores": 7}}   # Kingbird's answer to a PUT
        assert headers["x-openstack-request-id"].startswith("req-")
        sock = client.conn.sock
        status, _, body = client.request("GET", base)
        assert status == 200 and body["quota_set"]["cores"] == 7
        assert client.conn.sock is sock   # the same connection: keep-alive
        # bad input: the API's own 4xx JSON error, as under multisite-api
        status, _, body = client.request("PUT", base, {"quota_set": {"cores": "many"}})
        assert status == 400 and set(body["error"]) >= {"code", "message"}, body
        client.conn.request("PUT", base, body=b"{not json", headers=client.headers)
        resp = client.conn.getresponse()
        assert resp.status == 400 and json.loads(resp.read())["error"]["code"]
        client.close()
    finally:
        assert servers.stop(proc) is not None


def test_noauth_on_a_public_address_is_refused_under_uwsgi_too(config, tmp_path):
    path, port = config
    _edit(path, "bind_host = 127.0.0.1", "bind_host = 0.0.0.0")
    proc = servers.start_uwsgi(path, str(tmp_path), port)
    try:
        # --need-app: the worker cannot load the application, uWSGI stops
        assert proc.wait(timeout=60) != 0
    finally:
        servers.stop(proc)
    with open(os.path.join(tmp_path, "uwsgi.log")) as f:
        log = f.read()
    assert "bind_host = 0.0.0.0 is not a loopback address" in log
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=2).connect()


def test_multisite_api_with_api_server_uwsgi_runs_its_workers_under_uwsgi(config, tmp_path):
    path, port = config
    _edit(path, "api_workers = 1", "api_workers = 2\napi_server = uwsgi")
    proc = servers.start("multisite-api", path, str(tmp_path))
    try:
        servers.wait_ready(proc, port, timeout=60)
        # multisite-api became the uWSGI master (exec): its 2 workers are its children
        assert "uwsgi" in " ".join(psutil.Process(proc.pid).cmdline())
        # both workers have loaded the application (--lazy-apps: each on its own; a worker
        # still importing when SIGTERM comes lingers until uWSGI's mercy timeout)
        deadline = time.monotonic() + 60
        while _apps_ready(tmp_path) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _apps_ready(tmp_path) == 2
        assert len(psutil.Process(proc.pid).children()) == 2
        project = uuid.uuid4().hex
        status, _, body = servers.Client(port, project_id=project).request(
            "GET", f"/v1.0/{project}/os-quota-sets/{project}")
        assert status == 200 and body["quota_set"]["cores"] == 20, body
    finally:
        status = servers.stop(proc)
    assert status == 0   # uWSGI ended on SIGTERM, workers included: not SIGKILLed by stop()
    assert not servers.port_open(port)
