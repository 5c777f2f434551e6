"""One service session per engine process, whatever the number of kinds.

Each kind's env (the quota kind's cloud, the probe kinds' probers, the capacity reads,
the address audit, the sync adapters) used to build its own keystoneauth session: one
password authentication per kind when an engine started, and as many again after each
timeout. With [health] enabled that was two more per engine, all at once, against a
Keystone whose costly call is exactly that (the password hash); the quota kind's own
authentication and calls then timed out behind them (the head-of-line wait seen in CI).
These tests count the password authentications a real HTTP Keystone receives.
"""

import http.server
import threading
import uuid

import pytest

from multisite import clients
from multisite.clients import keystone, prober
from multisite.clients import session as session_mod
from tests.unit.engine.json_handler import JsonHandler


class _Keystone(JsonHandler):
    """POST /v3/auth/tokens: counted; slow enough that concurrent callers overlap."""

    server_version = "fake-keystone"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        server = self.server
        with server.lock:
            server.auths += 1
            server.inflight += 1
            server.max_inflight = max(server.max_inflight, server.inflight)
        server.release.wait(10)          # held until every caller has asked
        with server.lock:
            server.inflight -= 1
        if server.refuse:
            self._answer(504, {"error": {"code": 504, "message": "busy"}})
            return
        body = {"token": {
            "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
            "issued_at": "2026-01-01T00:00:00.000000Z",
            "user": {"id": "u", "name": "admin", "domain": {"id": "default",
                                                            "name": "Default"}},
            "project": {"id": "p", "name": "admin", "domain": {"id": "default",
                                                               "name": "Default"}},
            "roles": [{"id": "r", "name": "admin"}], "catalog": []}}
        self._answer(201, body, token=uuid.uuid4().hex)



@pytest.fixture
def fake_keystone(conf):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Keystone)
    server.lock, server.auths, server.refuse = threading.Lock(), 0, False
    server.inflight = server.max_inflight = 0
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v3"
    for name, value in (("auth_uri", url), ("admin_username", "admin"),
                        ("admin_password", "pw"), ("admin_tenant", "admin"),
                        ("region_timeout", 5.0)):
        conf.set_override(name, value, group="cache")
    session_mod.reset()
    yield server
    session_mod.reset()
    server.release.set()
    server.shutdown()
    server.server_close()
    for name in ("auth_uri", "admin_username", "admin_password", "admin_tenant",
                 "region_timeout"):
        conf.clear_override(name, group="cache")


def _start_kinds(conf):
    """What an engine builds for its kinds, each asking for its session at once."""
    envs = [clients.get_cloud(conf),                 # quota
            clients.get_cloud(conf),                 # address audit
            prober.Prober(conf).cloud,               # region_health
            prober.Prober(conf).cloud]               # region_capacity
    got, errors = [], []

    def ask(get):
        try:
            got.append(get())
        except Exception as exc:   # noqa: BLE001 (recorded for the assertion)
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(lambda c=c: c.session,)) for c in envs]
    threads.append(threading.Thread(target=ask,
                                    args=(lambda: session_mod.service_session(conf),)))
    for t in threads:
        t.start()
    return threads, got, errors


def test_every_kind_of_an_engine_shares_one_authentication(fake_keystone, conf):
    threads, got, errors = _start_kinds(conf)
    # every caller is waiting (one in Keystone, the others for its answer) before Keystone
    # answers: without sharing, each would be in Keystone with its own password
    for t in threads:
        t.join(0.5)
    fake_keystone.release.set()
    for t in threads:
        t.join(10)
    assert errors == []
    assert len(got) == 5 and len({id(s) for s in got}) == 1
    assert fake_keystone.auths == 1


def test_a_failure_is_shared_by_the_callers_that_waited_for_it(fake_keystone, conf):
    fake_keystone.refuse = True
    threads, got, errors = _start_kinds(conf)
    for t in threads:
        t.join(0.5)
    fake_keystone.release.set()
    for t in threads:
        t.join(20)
    assert got == [] and len(errors) == 5
    # the callers that waited took the failure of the one attempt in flight: they did
    # not each try again after it (the quota kind would have waited behind every retry)
    assert fake_keystone.auths == 1 and fake_keystone.max_inflight == 1
    # the next caller starts a new attempt
    fake_keystone.refuse = False
    assert keystone.shared_session(conf) is not None
    assert fake_keystone.auths == 2
    assert keystone.shared_session(conf) is keystone.shared_session(conf)
