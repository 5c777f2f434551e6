"""Restores of a checkpoint into RegionTwo of the full devcloud, by the real restore kind
(multisite/reconcilers/dr/restore.py) and DR client: a drill of the issue's 3-server VNF
(db-1 and db-2 with a data volume each, then app-1; its RTO printed), and the issue's
failover with RegionOne's APIs stopped.

The checkpoint's state is made by hand as the checkpoint would leave it (the checkpoint
kind has its own devcloud test): real volumes in RegionOne (boot volumes marked bootable,
the dbs' data volumes), backed up, their records exported there and imported into
RegionTwo; the plan's discovery (servers, ports with fixed IPs and MACs, their security
group with its rules, the network, keypair, flavor) is written as discovery records it.
The VNF's project is the devcloud's `demo` project, its user `demo`: every resource the
restore creates (volumes, network, subnet, ports, servers, security group) must belong to
`demo`, not to the service's project (admin), and the keypair must be the demo user's.
A drill never calls the source region (the fake-region tests check it call by call); the
failover test stops RegionOne's APIs for less than 3 minutes.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import time
import uuid

import pytest
import requests

from multisite.clients import dr as dr_client
from multisite.objects import checkpoints, protection_plans, restores
from tests.integration.dr_vnf import delete_restore, dr_conf, run_restore, unlimited_volumes
from tests.integration.usage import unique
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]
R1, R2 = "RegionOne", "RegionTwo"


@pytest.fixture
def full_conf(devcloud_full, db):
    return dr_conf(db, devcloud_full, poll_interval=1.0)


def _wait(get, want, what, timeout=600):
    def check():
        status = get()
        assert status not in ("error", "ERROR", "error_restoring"), f"{what}: {status}"
        return status == want or None
    wait_for(check, timeout=timeout, what=f"{what} {want}", interval=2)


def _checkpoint(devcloud_full, full_conf, source, target, tag, made_r1, *, dbs, app, mac):
    """A completed checkpoint of a VNF of the demo project in two groups (the dbs: boot and
    data volume each; app: boot volume), made by hand as the checkpoint would leave it."""
    admin1 = devcloud_full.connect(None, R1)
    project = admin1.identity.find_project("demo", ignore_missing=False).id
    user = admin1.identity.find_user("demo", ignore_missing=False).id
    volumes = {}
    for server, kind in (*((db, k) for db in dbs for k in ("boot", "data")), (app, "boot")):
        body = {"size": 1, "name": f"{tag}-{server}-{kind}"}
        vid = source._cinder.post("/volumes", json={"volume": body}).json()["volume"]["id"]
        made_r1.append(("volume", vid))
        volumes[(server, kind)] = vid
    for (_server, kind), vid in volumes.items():
        _wait(lambda v=vid: source.volume(v)["status"], "available", f"volume {vid}")
        if kind == "boot":   # FakeDriver reads no disk: a bootable flag is enough
            source._cinder.post(f"/volumes/{vid}/action",
                                json={"os-set_bootable": {"bootable": True}})
    records = {}
    for key, vid in volumes.items():
        bid = source._cinder.post("/backups", json={"backup": {
            "volume_id": vid, "name": f"{tag}-{vid}"}}).json()["backup"]["id"]
        made_r1.append(("backup", bid))
        _wait(lambda b=bid: source.backup(b)["status"], "available", f"backup {bid}")
        record = source.export_backup(bid)
        records[key] = (record, target.import_backup(record))
    for _record, imported in records.values():
        _wait(lambda b=imported: (target.backup(b) or {}).get("status"), "available",
              f"imported backup {imported}")

    key = admin1.compute.create_keypair(name=f"{tag}-key")
    made_r1.append(("keypair", key.name))
    # the ports' security group in the demo project, with a rule naming itself
    sg = source._neutron.post("/v2.0/security-groups", json={"security_group": {
        "name": f"{tag}-db", "description": "db tier", "project_id": project}}).json()[
        "security_group"]
    made_r1.append(("security_group", sg["id"]))
    source._neutron.post("/v2.0/security-group-rules", json={"security_group_rule": {
        "security_group_id": sg["id"], "direction": "ingress", "ethertype": "IPv4",
        "protocol": "tcp", "port_range_min": 5432, "port_range_max": 5432,
        "remote_group_id": sg["id"], "project_id": project}})
    recorded_group = source.security_group(sg["id"])
    net = {"id": "src-net", "name": f"{tag}-net", "mtu": 1400, "shared": False,
           "external": False,
           "subnets": [{"id": "src-sub", "name": f"{tag}-sub", "cidr": "10.61.0.0/24",
                        "ip_version": 4, "gateway_ip": "10.61.0.1", "enable_dhcp": True,
                        "allocation_pools": []}]}
    flavor = {"name": "devcloud.tiny", "vcpus": 1, "ram": 64, "disk": 1, "ephemeral": 0,
              "swap": 0, "extra_specs": {}}
    servers = []
    for index, (name, group) in enumerate([*((db, 0) for db in dbs), (app, 1)]):
        servers.append({
            "id": str(uuid.uuid4()), "name": name, "status": "ACTIVE", "group": group,
            "project_id": project, "user_id": user, "key_name": key.name,
            "flavor": flavor, "image_id": None, "metadata": {},
            "volumes": [v for (s, _k), v in volumes.items() if s == name],
            "ports": [{"id": str(uuid.uuid4()), "network_id": "src-net",
                       "mac_address": f"fa:16:3e:{mac}:00:{index + 11:02x}",
                       "fixed_ips": [{"subnet_id": "src-sub",
                                      "ip_address": f"10.61.0.{index + 11}"}],
                       "security_groups": [sg["id"]]}]})
    discovered = {"servers": servers, "networks": [net],
                  "security_groups": [recorded_group],
                  "keypairs": [{"name": key.name, "public_key": key.public_key,
                                "type": "ssh", "user_id": user}],
                  "flavors": ["devcloud.tiny"], "images": [],
                  "volumes": [{"id": v, "server_id": None, "bootable": k == "boot",
                               "device": "/dev/vda" if k == "boot" else "/dev/vdb",
                               "size": 1} for (_s, k), v in volumes.items()]}
    plan = protection_plans.create(
        full_conf, project_id=project, user_id=user, name=tag, source_region=R1,
        backup_region=R2, groups=[list(dbs), [app]], method="pause", retention=3)
    protection_plans.record_discovery(full_conf, plan["id"], resources=discovered,
                                      problems=[])
    cp = checkpoints.create(full_conf, plan["id"])
    by_id = {s["id"]: s["name"] for s in servers}
    checkpoints.save(full_conf, cp["id"], phase="retention", status="running", resources={
        "plan": discovered,
        "servers": [{"id": s["id"], "name": s["name"], "group": s["group"],
                     "position": i, "pause": "unpaused"} for i, s in enumerate(servers)],
        "volumes": [{"id": v, "server": s, "server_id": None, "bootable": k == "boot",
                     "device": "/dev/vda" if k == "boot" else "/dev/vdb", "size": 1,
                     "status": "exported", "record": records[(s, k)][0],
                     "imported_backup_id": records[(s, k)][1]}
                    for (s, k), v in volumes.items()]})
    checkpoints.finish(full_conf, cp["id"], ok=True)
    del by_id
    return {"checkpoint_id": cp["id"], "key": key, "project": project, "user": user}


def _check(target, done, made, *, tag, prefix, dbs, app):
    """Every server ACTIVE in RegionTwo from its restored volumes (the dbs' data volumes
    attached), same MACs and fixed IPs, keypair present, all of it in the demo project,
    the security group recreated with its rule and the ports in it."""
    key, project, user = made["key"], made["project"], made["user"]
    assert done["status"] == "completed", done["error"]
    report = done["resources"]
    assert [s["name"] for s in report["servers"]] == [prefix + n for n in (*dbs, app)]
    for server in report["servers"]:
        observed = target.server(server["id"])
        assert observed["status"] == "ACTIVE"
        # booted from (and attached to) the volumes the restore made from the backups
        assert set(observed["volumes"]) <= {v["volume_id"] for v in report["volumes"]}
        wanted = 2 if server["source_name"] in dbs else 1
        assert len(observed["volumes"]) == wanted, observed
        port = server["ports"][0]
        assert port["same_address"], port
        ports = target.ports(server["id"])
        assert [(p["mac_address"], p["fixed_ips"][0]["ip_address"]) for p in ports] == [
            (port["mac_address"], port["fixed_ips"][0]["ip_address"])]
        assert observed["key_name"] == key.name
        assert observed["project_id"] == project, observed
        for raw in target._neutron.get(f"/v2.0/ports?device_id={server['id']}").json()[
                "ports"]:
            assert raw["project_id"] == project, raw
    for volume in report["volumes"]:
        raw = target._cinder.get(f"/volumes/{volume['volume_id']}").json()["volume"]
        assert raw["os-vol-tenant-attr:tenant_id"] == project, raw
    for net in report["networks"]:
        raw = target._neutron.get(f"/v2.0/networks/{net['id']}").json()["network"]
        assert raw["project_id"] == project, raw
        for sub in net["subnets"]:
            raw = target._neutron.get(f"/v2.0/subnets/{sub['id']}").json()["subnet"]
            assert raw["project_id"] == project, raw
    assert report["scope"]["project_id"] == project
    # the security group recreated in demo with its rules, the ports in it
    restored = target._neutron.get(
        f"/v2.0/security-groups?name={prefix}{tag}-db&project_id={project}").json()[
        "security_groups"]
    assert len(restored) == 1, restored
    assert [(r["protocol"], r["port_range_min"], r["remote_group_id"])
            for r in restored[0]["security_group_rules"] if r["direction"] == "ingress"
            ] == [("tcp", 5432, restored[0]["id"])]
    for server in report["servers"]:
        for raw in target._neutron.get(
                f"/v2.0/ports?device_id={server['id']}").json()["ports"]:
            assert raw["security_groups"] == [restored[0]["id"]], raw
    data = [v for v in report["volumes"] if not v["bootable"]]
    assert len(data) == len(dbs)
    assert {target.volume(v["volume_id"])["status"] for v in data} == {"in-use"}
    assert target.keypair(key.name, user_id=user)["public_key"] == key.public_key
    assert done["rto_seconds"] > 0


def test_drill_restore_on_the_full_devcloud(devcloud_full, full_conf):
    source, target = dr_client.DrClient(full_conf, R1), dr_client.DrClient(full_conf, R2)
    tag = unique("drr")
    made_r1, restore_id = [], None
    try:
        made = _checkpoint(devcloud_full, full_conf, source, target, tag, made_r1,
                           dbs=("db-1", "db-2"), app="app-1", mac="61")
        restore_id = restores.create(full_conf, made["checkpoint_id"], region=R2,
                                     mode="drill")["id"]
        done = run_restore(full_conf, restore_id)
        _check(target, done, made, tag=tag, prefix=f"drill-{restore_id[:8]}-",
               dbs=("db-1", "db-2"), app="app-1")
        print(f"drill RTO {done['rto_seconds']} s")   # noqa: T201 (the issue's figure)
    finally:
        _cleanup(full_conf, target, source, restore_id, made_r1)


def _source_state(source, made_r1):
    """What the source region holds of the VNF (volumes, backups, security group and its
    rules, keypair), to compare before and after a drill."""
    state = {}
    for kind, ident in made_r1:
        if kind == "volume":
            raw = source._cinder.get(f"/volumes/{ident}").json()["volume"]
            state[ident] = {k: raw[k] for k in ("status", "updated_at", "attachments",
                                                 "bootable", "os-vol-tenant-attr:tenant_id")}
        elif kind == "backup":
            raw = source._cinder.get(f"/backups/{ident}").json()["backup"]
            state[ident] = {k: raw[k] for k in ("status", "updated_at")}
        elif kind == "security_group":
            raw = source._neutron.get(f"/v2.0/security-groups/{ident}").json()[
                "security_group"]
            state[ident] = {"updated_at": raw["updated_at"], "rules": sorted(
                r["id"] for r in raw["security_group_rules"])}
        elif kind == "keypair":
            state[ident] = source._nova.get(f"/os-keypairs/{ident}").json()["keypair"][
                "public_key"]
    return state


def _plan_project_in(target, project):
    """The plan's project's servers, volumes, networks and ports in the target region."""
    return {
        "servers": sorted(s["id"] for s in target._nova.get(
            f"/servers?all_tenants=1&project_id={project}").json()["servers"]),
        "volumes": sorted(v["id"] for v in target._cinder.get(
            f"/volumes?all_tenants=1&project_id={project}").json()["volumes"]),
        "networks": sorted(n["id"] for n in target._neutron.get(
            f"/v2.0/networks?project_id={project}").json()["networks"]),
        "ports": sorted(p["id"] for p in target._neutron.get(
            f"/v2.0/ports?project_id={project}").json()["ports"])}


def test_drill_into_a_project_of_its_own(devcloud_full, full_conf):
    """The issue's "a drill restores into a separate project ... without touching the
    source": a drill named into a new project makes everything there (volumes, network,
    ports, servers, security group), nothing in the plan's project, and the source
    region's volumes, backups, security group and keypair are as they were."""
    source, target = dr_client.DrClient(full_conf, R1), dr_client.DrClient(full_conf, R2)
    tag = unique("drp")
    made_r1, restore_id = [], None
    drills = devcloud_full.create_project(unique("drills"))
    try:
        unlimited_volumes(devcloud_full, drills.id, regions=(R2,))
        made = _checkpoint(devcloud_full, full_conf, source, target, tag, made_r1,
                           dbs=("db-1",), app="app-1", mac="63")
        before = _source_state(source, made_r1)
        plan_project_before = _plan_project_in(target, made["project"])
        restore_id = restores.create(full_conf, made["checkpoint_id"], region=R2,
                                     mode="drill", target_project_id=drills.id)["id"]
        done = run_restore(full_conf, restore_id)
        assert done["target_project_id"] == drills.id
        assert done["project_id"] == made["project"]
        _check(target, done, dict(made, project=drills.id), tag=tag,
               prefix=f"drill-{restore_id[:8]}-", dbs=("db-1",), app="app-1")
        assert _source_state(source, made_r1) == before
        assert _plan_project_in(target, made["project"]) == plan_project_before
        print(f"drill into project {drills.id}: RTO {done['rto_seconds']} s")  # noqa: T201
    finally:
        _cleanup(full_conf, target, source, restore_id, made_r1)
        devcloud_full.delete_project(drills)


# RegionOne's API services, stopped (SIGSTOP of each service's process group: master and
# workers keep their state, accept connections and never answer) and resumed (SIGCONT)
R1_APIS = ("nova", "cinder", "neutron", "glance", "placement")
R1_DOWN_MAX = 150    # seconds: the shared devcloud's RegionOne is down for less than 3 min


@contextlib.contextmanager
def _region_one_down(base):
    """RegionOne's APIs unavailable inside the block, resumed in any case after it. While
    they are down, `<base>-regionone-down` (next to the base) says so to the other users
    of a shared devcloud."""
    base = pathlib.Path(base)
    flag = base.parent / f"{base.name}-regionone-down"
    pids = [int((base / "run" / f"r1-{svc}.pid").read_text()) for svc in R1_APIS]
    flag.write_text(f"RegionOne APIs ({', '.join(R1_APIS)}) stopped by "
                    f"tests/integration/test_dr_restore.py (pid {os.getpid()}) at "
                    f"{time.strftime('%H:%M:%S')} UTC for at most {R1_DOWN_MAX} s\n")
    stopped = []
    try:
        for pid in pids:
            os.killpg(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGCONT)
        flag.unlink(missing_ok=True)


def test_failover_with_region_one_down(devcloud_full, full_conf):
    """The issue's failover test: RegionOne unavailable, a failover (refused without its
    confirmation) restores the VNF in RegionTwo under its own names."""
    source, target = dr_client.DrClient(full_conf, R1), dr_client.DrClient(full_conf, R2)
    tag = unique("drf")
    db, app = f"{tag}-db-1", f"{tag}-app-1"
    made_r1, restore_id = [], None
    nova1 = devcloud_full.connect(None, R1).session.get_endpoint(
        service_type="compute", interface="public", region_name=R1)
    try:
        made = _checkpoint(devcloud_full, full_conf, source, target, tag, made_r1,
                           dbs=(db,), app=app, mac="62")
        with pytest.raises(restores.ConfirmationRequired) as first:
            restores.create(full_conf, made["checkpoint_id"], region=R2, mode="failover")
        assert restores.list_restores(full_conf, checkpoint_id=made["checkpoint_id"])[0] == []
        started = time.monotonic()
        with _region_one_down(devcloud_full.base):
            with pytest.raises(requests.exceptions.RequestException):
                requests.get(nova1, timeout=3)
            restore_id = restores.create(full_conf, made["checkpoint_id"], region=R2,
                                         mode="failover", confirm=first.value.token)["id"]
            done = run_restore(full_conf, restore_id, timeout=R1_DOWN_MAX - 10)
            down_for = time.monotonic() - started
        _check(target, done, made, tag=tag, prefix="", dbs=(db,), app=app)
        print(f"failover RTO {done['rto_seconds']} s, RegionOne down "  # noqa: T201
              f"{down_for:.1f} s")
    finally:
        _cleanup(full_conf, target, source, restore_id, made_r1)


def _cleanup(conf, target, source, restore_id, made_r1):
    if restore_id:
        delete_restore(conf, target, restore_id)
    for kind, ident in reversed(made_r1):
        with contextlib.suppress(Exception):
            if kind == "backup":
                source.delete_backup(ident)
                wait_for(lambda b=ident: source.backup(b) is None or None, timeout=120,
                         what="backup deleted", interval=2)
            elif kind == "volume":
                source._cinder.delete(f"/volumes/{ident}", raise_exc=False)
            elif kind == "security_group":
                source._neutron.delete(f"/v2.0/security-groups/{ident}", raise_exc=False)
            elif kind == "keypair":
                source._nova.delete(f"/os-keypairs/{ident}", raise_exc=False)
