"""kill -9 of a real multisite-gateway process in the middle of a server create (the
test-only hook [gateway] test_pause_at stops it there), a fake Nova pod over HTTP: after
a restart the gateway_routing kind adopts the pod's server or forgets the routing, and no
server of the pod stays unknown to the routing table.

The gateway process finds the fake pods through a patched Forwarder.endpoint (no Keystone
catalog here); everything else is the real multisite-gateway command."""

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid

import pytest

from multisite.engine import controller
from multisite.objects import routings
from multisite.reconcilers import Key, gateway_routing
from tests.functional.api.servers import free_port
from tests.functional.gateway import test_nova_gateway as nova_tests
from tests.functional.gateway.fake_nova import FakeNova
from tests.polling import wait_for

PROJECT = uuid.uuid4().hex
LAUNCH = ("import json, os, sys\n"
          "from multisite.clients import gateway as g\n"
          "urls = json.loads(os.environ['TEST_POD_URLS'])\n"
          "def endpoint(self, pod, service_type):\n"
          "    if service_type == 'image':  # the fake pods run no Glance\n"
          "        raise g.UnknownRegion(pod, 'no image endpoint')\n"
          "    return urls[pod]\n"
          "g.Forwarder.endpoint = endpoint\n"
          "from multisite.cmd import gateway\n"
          "sys.exit(gateway.main(sys.argv[1:]))\n")


class Janitor:
    """The routing reconciler's view of the fake pods (what ServerJanitor reads)."""

    def __init__(self, conf, novas):
        self.conf, self.novas, self.deleted = conf, novas, []

    def tagged(self, pod, resource_type, tag):
        if resource_type != "server":
            return []
        return [{"id": s["id"], "created": s["created"], "tag": s["metadata"][tag]}
                for s in self.novas[pod].servers.values() if tag in s["metadata"]]

    def present(self, pod, resource_type):
        return set(self.novas[pod].servers) if resource_type == "server" else set()

    def exists(self, pod, resource_type, item_id):
        return item_id in self.present(pod, resource_type)

    def delete(self, pod, resource_type, server_id):
        self.deleted.append(server_id)
        self.novas[pod].servers.pop(server_id, None)


class Gateway:
    """A multisite-gateway process on the test's database (noauth), the fake pods."""

    def __init__(self, db, tmp_path, novas, pause_at=""):
        self.port = free_port()
        conf = tmp_path / f"gateway-{self.port}.conf"
        conf.write_text(f"[DEFAULT]\nauth_strategy = noauth\nbind_host = 127.0.0.1\n"
                        f"[database]\nconnection = {db.database.connection}\n"
                        f"[gateway]\nbind_port = {self.port}\nworkers = 1\n"
                        f"test_pause_at = {pause_at}\n")
        self.log = tmp_path / f"gateway-{self.port}.log"
        env = dict(os.environ, TEST_POD_URLS=json.dumps({n: v.url for n, v in novas.items()}))
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "--config-file", str(conf)],
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        wait_for(self.answers, timeout=60, what="multisite-gateway answering")

    def answers(self):
        assert self.proc.poll() is None, self.log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2):
                return True
        except OSError:
            return False

    def call(self, method, path, body=None, timeout=30):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/compute/v2.1{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"X-Project-Id": PROJECT, "X-Roles": "member",
                     "X-Auth-Token": f"token-of-{PROJECT}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def kill9(self):
        os.killpg(self.proc.pid, signal.SIGKILL)   # the master and its worker, as a crash
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture
def novas(db):
    made = {"RegionTwo": FakeNova("RegionTwo"), "RegionThree": FakeNova("RegionThree")}
    nova_tests.register_pods(db)
    yield made
    for nova in made.values():
        nova.stop()


@pytest.mark.parametrize("pause_at, adopted", [("after_pod", True), ("before_pod", False)])
def test_kill_9_mid_create_then_restart_adopts_or_forgets(db, tmp_path, novas, pause_at,
                                                          adopted):
    first = Gateway(db, tmp_path, novas, pause_at=pause_at)
    spec = {"server": {"name": "vm", "imageRef": "i", "flavorRef": "f1",
                       "availability_zone": "az1"}}
    caller = threading.Thread(target=lambda: _ignore(first.call, "POST", "/servers", spec),
                              daemon=True)
    try:
        caller.start()
        wait_for(lambda: "TEST HOOK: paused" in first.log.read_text(), timeout=60,
                 what="the gateway paused mid-create")
        first.kill9()
    finally:
        first.stop()
    caller.join(timeout=30)
    (pending,) = routings.incomplete(db)
    made = list(novas["RegionTwo"].servers.values())
    if adopted:
        assert [s["metadata"] for s in made] == [{"multisite_routing": str(pending["id"])}]
    else:
        assert made == []
    second = Gateway(db, tmp_path, novas)
    try:
        db.set_override("adopt_grace", 0, group="gateway")
        janitor = Janitor(db, novas)
        key = Key(gateway_routing.KIND, "RegionTwo", "RegionTwo")
        assert gateway_routing.keys(janitor) == [key]
        gateway_routing.reconcile(key, controller.Env(shared=janitor, conf=db, engine_id="e"))
        assert routings.incomplete(db) == [] and janitor.deleted == []
        if adopted:
            server_id = made[0]["id"]
            (routing,) = routings.find(db, top_id=server_id, resource_type="server")
            assert routing["id"] == pending["id"] and routing["bottom_id"] == server_id
            status, body = second.call("GET", f"/servers/{server_id}")
            assert status == 200 and body["server"]["id"] == server_id
        else:
            assert routings.list_routings(db)[0] == []
        # every server of the pod is known to the routing table
        for server in novas["RegionTwo"].servers.values():
            assert routings.find(db, top_id=server["id"], resource_type="server")
    finally:
        db.clear_override("adopt_grace", group="gateway")
        second.stop()


def _ignore(fn, *args):
    try:
        fn(*args, timeout=120)
    except OSError:
        pass  # the gateway was killed under the call
