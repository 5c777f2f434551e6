"""multisite-api as a real process (2 workers) beside multisite-engine over RabbitMQ."""

import subprocess
import time
import uuid

import psutil
import pytest

from tests.conftest import require_service
from tests.functional.api import servers

RABBIT = "rabbit://guest:guest@127.0.0.1:5672/{vhost}"


def _rabbitmqctl(*args):
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def rabbit_vhost():
    """A private RabbitMQ vhost: the engine topic queue is global to a vhost, so on the
    shared "/" another test's engines would consume (and answer) our RPC calls."""
    require_service("RabbitMQ", servers.port_open(5672), "nothing listens on 127.0.0.1:5672")
    vhost = f"ms-test-{uuid.uuid4().hex[:12]}"
    try:
        made = _rabbitmqctl("add_vhost", vhost)
        ok = made.returncode == 0 and _rabbitmqctl(
            "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*").returncode == 0
        why = made.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        ok, why = False, str(exc)
    require_service("RabbitMQ vhost management (rabbitmqctl)", ok, why)
    yield vhost
    _rabbitmqctl("delete_vhost", vhost)


def _workers(pid, count, timeout=30):
    """The worker processes of the API's master, once `count` of them have started."""
    deadline = time.monotonic() + timeout
    while True:
        children = psutil.Process(pid).children()
        if len(children) >= count or time.monotonic() > deadline:
            return children
        time.sleep(0.1)


@pytest.mark.rabbit
def test_api_and_engine_processes(tmp_path, rabbit_vhost):
    connection = f"sqlite:///{tmp_path / 'multisite.sqlite'}"
    config, port = servers.write_config(str(tmp_path), connection=connection, workers=2,
                                        transport_url=RABBIT.format(vhost=rabbit_vhost))
    servers.manage(config, "db_sync")
    engine = servers.start("multisite-engine", config, str(tmp_path))
    api = servers.start("multisite-api", config, str(tmp_path))
    try:
        servers.wait_ready(api, port)
        servers.wait_engine(engine, connection)
        workers = _workers(api.pid, 2)
        assert len(workers) == 2, workers

        project = str(uuid.uuid4())
        client = servers.Client(port, project_id=project)
        base = f"/v1.0/{project}/os-quota-sets"
        status, headers, body = client.request("GET", f"{base}/defaults")
        assert status == 200 and body["quota_set"]["ram"] == 51200
        assert headers["x-openstack-request-id"].startswith("req-")
        assert client.request("PUT", f"{base}/{project}",
                              {"quota_set": {"cores": 7}})[2] == {project: {"cores": 7}}
        # Many requests on one connection and new ones: each worker sees the same database.
        for _ in range(20):
            assert servers.Client(port, project_id=project).request(
                "GET", f"{base}/{project}")[2]["quota_set"]["cores"] == 7
        # detail is an RPC call to the engine process over RabbitMQ.
        status, _, body = client.request("GET", f"{base}/{project}/detail")
        assert status == 200, body
        assert body["quota_set"]["limits"]["cores"] == 7
        assert set(body["quota_set"]["usage"]) == set(body["quota_set"]["limits"])
        status, _, body = client.request("PUT", f"{base}/{project}/sync")
        assert (status, body) == (200, f"triggered quota sync for {project}")
        status, _, body = client.request("GET", "/nowhere")
        assert (status, body["error"]["code"]) == (404, "request.not_found")
        client.close()
    finally:
        api_status = servers.stop(api)
        engine_status = servers.stop(engine)
    assert api_status == 0, (tmp_path / "multisite-api.log").read_text()[-3000:]
    assert engine_status == 0, (tmp_path / "multisite-engine.log").read_text()[-3000:]
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in workers)
