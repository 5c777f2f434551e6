"""The address index kept fresh by notifications, in a running `multisite-engine` process.

The engine listens to RegionOne's and RegionTwo's notification buses (the devcloud's
per-region RabbitMQ vhosts, its own listener pool) and audits every region once at start;
the audit period is an hour, so what happens afterwards is the notifications' doing:
ports made with the real `openstack` client (`port.create.end`) wake their region's
address_audit key (Manager.notify), the index and the conflict follow within seconds,
and `port.delete.end` clears the conflict.
"""

import subprocess
import sys
import uuid

import pytest

from multisite.devcloud import layout as L
from multisite.objects import address_conflicts
from multisite.objects import addresses as index
from tests.integration.test_addresses import CACHE, cleanup, osc
from tests.integration.usage import unique, wait_for

pytestmark = pytest.mark.integration

R1, R2 = "RegionOne", "RegionTwo"
IP = "10.0.0.50"


def _engine(tmp_path, conf, pool):
    layout = L.Layout(L.default_base())
    urls = "\n".join(f"region_transport_url = {region}={layout.transport_url(i)}"
                     for i, region in ((1, R1), (2, R2)))
    cache = "\n".join(f"{k} = {v}" for k, v in CACHE.items())
    path = tmp_path / "engine.conf"
    path.write_text(f"""[DEFAULT]
transport_url = fake://
host = it-address-engine
report_interval = 1
[database]
connection = {conf.database.connection}
[cache]
{cache}
[addresses]
audit_enable = true
audit_interval = 3600
[notifications]
{urls}
pool = {pool}
batch_timeout = 0.2
[scheduler]
periodic_enable = false
[coordination]
backend_url = file://{tmp_path}/locks
""")
    log = open(tmp_path / "engine.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "multisite.cmd.engine", "--config-file",
                             str(path)], stdout=log, stderr=subprocess.STDOUT)
    return proc, layout


def _conflict(db, project_id):
    return [c for c in address_conflicts.search(db, project_id=project_id, limit=1000)
            if c["kind"] == "ip" and c["address"] == IP]


def _region_net(devcloud, region, project_id, made):
    net = osc(devcloud, region, "network", "create", "--project", project_id, unique("ntf"))
    made[region].append(("network", net["id"]))
    subnet = osc(devcloud, region, "subnet", "create", "--project", project_id, "--network",
                 net["id"], "--subnet-range", "10.0.0.0/24", unique("ntf4"))
    return net, subnet


def test_port_notifications_update_the_index_and_conflicts_in_a_running_engine(
        db, devcloud, tmp_path):
    pool = f"multisite-it-{uuid.uuid4().hex[:8]}"
    engine, layout = _engine(tmp_path, db, pool)
    project = devcloud.create_project()
    made = {R1: [], R2: []}
    try:
        # the audit kind inside the engine process: its first full audit at start, of every
        # region (RegionThree's too, or the comparison below would take it for a re-read)
        wait_for(lambda: {a["region"] for a in index.audits(db) if a["ok"]}
                 >= set(devcloud.regions), timeout=180, interval=1,
                 what="the engine's first full address audit of every region")
        started = {a["region"]: a["audited_at"] for a in index.audits(db)}
        ports = {}
        for region in (R1, R2):
            net, subnet = _region_net(devcloud, region, project.id, made)
            port = osc(devcloud, region, "port", "create", "--project", project.id,
                       "--network", net["id"], "--fixed-ip",
                       f"subnet={subnet['id']},ip-address={IP}", unique("ntfp"))
            ports[region] = port["id"]
            made[region].insert(0, ("port", port["id"]))
        wait_for(lambda: _conflict(db, project.id), timeout=60, interval=0.5,
                 what="the IP conflict raised from port.create.end")
        conflict = _conflict(db, project.id)[0]
        assert sorted((s["region"], s["port_id"]) for s in conflict["sides"]) == [
            (R1, ports[R1]), (R2, ports[R2])]
        hits = index.search(db, ip=IP, project_id=project.id)
        assert {(e["kind"], e["region"]) for e in hits} >= {("fixed_ip", R1),
                                                           ("fixed_ip", R2)}
        refreshed = {a["region"]: a["audited_at"] for a in index.audits(db)}
        # RegionThree (no bus configured here) was not re-read: no full audit happened
        others = set(devcloud.regions) - {R1, R2}
        assert others and {r: refreshed[r] for r in others} == {r: started[r] for r in others}

        osc(devcloud, R2, "port", "delete", ports[R2])
        wait_for(lambda: not _conflict(db, project.id), timeout=60, interval=0.5,
                 what="the IP conflict cleared by port.delete.end")
        assert {e["region"] for e in index.search(db, ip=IP, project_id=project.id)
                if e["kind"] == "fixed_ip"} == {R1}
        assert engine.poll() is None, "the engine process died"
    finally:
        engine.terminate()
        engine.wait(30)
        for region, objects in made.items():
            cleanup(devcloud, region, objects)
        devcloud.delete_project(project)
        for i in (1, 2):
            subprocess.run(["rabbitmqctl", "delete_queue", "-p", layout.vhost(i), pool],
                           capture_output=True, timeout=60, check=False)
