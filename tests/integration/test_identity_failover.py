"""Token validation failover: keystonemiddleware with `auth_type = multisite_failover` against
real Keystones (one killed, frozen, restarted), counted in each Keystone's access log."""

import os
import signal
import time

import pytest
import webob
from keystonemiddleware import auth_token
from oslo_config import cfg

from multisite.keyagent import repository
from tests.integration.keystones import KeystonePair
from tests.polling import wait_for

pytestmark = pytest.mark.integration
DEAD = "http://127.0.0.1:30599/v3"  # nothing listens there


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ.get("HTTP_X_IDENTITY_STATUS", "").encode()]


def middleware(tmp_path, *, auth_type, auth_url, failover_urls="", user=("nova", "novapw",
               "service"), read_timeout=10.0, retry_after=2.0):
    username, password, project = user
    conf_file = tmp_path / f"authtoken-{time.monotonic_ns()}.conf"
    lines = ["[keystone_authtoken]", f"auth_type = {auth_type}", f"auth_url = {auth_url}",
             f"username = {username}", f"password = {password}", f"project_name = {project}",
             "user_domain_name = Default", "project_domain_name = Default",
             "token_cache_time = -1", "http_connect_timeout = 5",
             "http_request_max_retries = 0"]
    if auth_type == "multisite_failover":
        lines += [f"failover_urls = {failover_urls}", "failover_connect_timeout = 1",
                  f"failover_read_timeout = {read_timeout}",
                  f"failover_retry_after = {retry_after}"]
    conf_file.write_text("\n".join(lines) + "\n")
    conf = cfg.ConfigOpts()
    conf(["--config-file", str(conf_file)], project="failover-test")
    return auth_token.AuthProtocol(_app, {"oslo_config_config": conf})


def call(app, token):
    started = time.monotonic()
    resp = webob.Request.blank("/", headers={"X-Auth-Token": token}).get_response(app)
    return resp.status_int, resp.text, time.monotonic() - started


def test_devcloud_keystone_behind_a_dead_local_one(devcloud, tmp_path):
    token = devcloud.token()
    stock = middleware(tmp_path, auth_type="password", auth_url=DEAD)
    assert call(stock, token)[0] == 503  # keystonemiddleware alone: no failover
    app = middleware(tmp_path, auth_type="multisite_failover", auth_url=DEAD,
                     failover_urls=devcloud.keystone_url)
    status, body, _ = call(app, token)
    assert (status, body) == (200, "Confirmed")
    status, body, took = call(app, token)
    assert (status, body) == (200, "Confirmed") and took < 1.0
    assert call(app, "not-a-token")[0] == 401  # a bad token stays bad


@pytest.fixture(scope="module")
def pair(devcloud, tmp_path_factory):
    keystones = KeystonePair(devcloud.base / "venv", tmp_path_factory.mktemp("failover"),
                             offset=5).setup()
    ks1, ks2 = keystones.keystones
    repository.write(str(ks2.fernet), repository.read(str(ks1.fernet)))  # as after a rotation
    keystones.start()
    yield keystones
    keystones.stop()


def _gets(ks):
    if not ks.access_log.exists():
        return 0
    return sum(1 for line in ks.access_log.read_text().splitlines()
               if '"GET /v3/auth/tokens' in line)


def test_local_keystone_down_then_back(pair, tmp_path):
    ks1, ks2 = pair.keystones  # the service is in ks2's region: ks2 is its local Keystone
    app = middleware(tmp_path, auth_type="multisite_failover", auth_url=ks2.url,
                     failover_urls=ks1.url, user=("admin", "adminpw", "admin"),
                     read_timeout=30.0, retry_after=2.0)
    token = ks1.token()
    before = (_gets(ks1), _gets(ks2))
    assert call(app, token)[:2] == (200, "Confirmed")
    # (gunicorn writes the access log line after the response: wait for it)
    wait_for(lambda: _gets(ks2) == before[1] + 1, timeout=5, what="ks2's access log")
    assert _gets(ks1) == before[0]                                   # validated locally

    ks2.stop(signal.SIGKILL)  # down: connection refused
    fresh = ks1.token()
    direct = pair.direct_validation_seconds(ks1, fresh)
    before = (_gets(ks1), _gets(ks2))
    status, body, took = call(app, fresh)
    assert (status, body) == (200, "Confirmed")
    # at most the connect timeout (1 s; a refusal is immediate) on top of the validation
    assert took < 1.0 + 2 * direct + 0.5, (took, direct)
    for _ in range(3):
        assert call(app, token)[:2] == (200, "Confirmed")
    wait_for(lambda: _gets(ks1) == before[0] + 4, timeout=5, what="access log lines")
    assert _gets(ks2) == before[1]

    ks2.start()
    time.sleep(2.1)  # retry_after: the next request tries the local one again
    before = (_gets(ks1), _gets(ks2))
    for _ in range(3):
        assert call(app, token)[:2] == (200, "Confirmed")
    wait_for(lambda: _gets(ks2) == before[1] + 3, timeout=5, what="access log lines")
    assert _gets(ks1) == before[0]                                   # back to the local one


def test_frozen_local_keystone_costs_at_most_the_timeout(pair, tmp_path):
    ks1, ks2 = pair.keystones
    app = middleware(tmp_path, auth_type="multisite_failover", auth_url=ks2.url,
                     failover_urls=ks1.url, user=("admin", "adminpw", "admin"),
                     read_timeout=5.0, retry_after=60.0)
    token = ks1.token()
    assert call(app, token)[:2] == (200, "Confirmed")
    direct = pair.direct_validation_seconds(ks1, token)
    os.killpg(ks2.proc.pid, signal.SIGSTOP)  # master and worker: accepts, never answers
    try:
        status, body, took = call(app, token)
        assert (status, body) == (200, "Confirmed")
        # the read timeout, then the other Keystone's answer
        assert 5.0 <= took < 5.0 + 2 * direct + 0.5, (took, direct)
        status, _, took = call(app, token)
        assert status == 200 and took < 2 * direct + 0.5  # breaker open: straight to ks1
    finally:
        os.killpg(ks2.proc.pid, signal.SIGCONT)
