"""Restores of checkpoints (drill, failover) against the in-memory regions of the checkpoint
tests (fake_dr.py for Nova/Cinder/Neutron, fake_regions.py for the sync reconcilers'
keypairs and flavors), on a real database: confirmation, phases, crash at every create."""

from __future__ import annotations

import datetime
import types

import pytest

from multisite.clients import errors as client_errors
from multisite.db import api as db_api
from multisite.db import models
from multisite.engine import dr as dr_env
from multisite.objects import checkpoints, restores
from multisite.reconcilers import Key, PermanentError
from multisite.reconcilers.dr import restore as restore_kind
from tests.unit.reconcilers.fake_dr import PROJECT, SERVICE_USER, USER
from tests.unit.reconcilers.fake_regions import FakeCloud
from tests.unit.reconcilers.test_dr import R1, R2, _ready_plan, _run, env, sites  # noqa: F401

CREATES = ("restore_backup", "create_network", "create_subnet", "create_port",
           "create_server", "attach_volume")


@pytest.fixture
def cloud(monkeypatch):
    return FakeCloud(regions=(R1, R2)).install(monkeypatch)


@pytest.fixture(autouse=True)
def neutron(monkeypatch, sites):  # noqa: F811
    sites.install_network(monkeypatch)
    return sites.neutron


@pytest.fixture
def checkpoint(db, env, sites, cloud):  # noqa: F811
    sites.has_keypair = lambda region, name, user: (user, name) in cloud.keypairs[region]
    plan = _ready_plan(db, env)
    cp = _run(db, env, checkpoints.create(db, plan["id"])["id"])
    assert cp["status"] == "completed", cp["error"]
    return cp


def _fresh(db, sites, factory=None):  # noqa: F811
    return types.SimpleNamespace(shared=dr_env.DrEnv(
        db, client_factory=factory or (lambda conf, region, project_id=None:
                                   sites.client(region, project_id)),
        regions=lambda: sites.regions), attempts=1, item=None)


def _restore(db, env, restore_id):  # noqa: F811
    key = Key(restore_kind.KIND, restore_id, R2)
    for _ in range(40):
        try:
            outcome = restore_kind.reconcile(key, env)
        except PermanentError:
            break
        if outcome.status == "done":
            break
    return restores.get(db, restore_id)


def _creates(sites, region=R2):  # noqa: F811
    return [(c, x) for r, c, x in sites.log if r == region and c in CREATES]


# -- pure pieces ----------------------------------------------------------------------------
@pytest.mark.parametrize("phase,status,expect", [
    ("import", "pending", "import"), ("servers", "running", "servers"),
    ("attach", "running", "attach"), ("done", "completed", None),
    ("volumes", "failed", None),
])
def test_next_phase(phase, status, expect):
    assert restore_kind.next_phase({"phase": phase, "status": status}) == expect


def test_boot_groups_follow_the_plan_order():
    servers = [{"name": "app", "group": 1, "position": 2}, {"name": "db-2", "group": 0,
                                                            "position": 1},
               {"name": "db-1", "group": 0, "position": 0}]
    assert restore_kind.boot_groups(servers) == [["db-1", "db-2"], ["app"]]


@pytest.mark.parametrize("ips,expect", [
    ([{"subnet_id": "s", "ip_address": "10.0.0.5"}], ["10.0.0.5"]),
    ([{"subnet_id": "s", "ip_address": "10.1.0.5"}], []),            # outside the subnet
    ([{"subnet_id": "other", "ip_address": "10.0.0.5"}], []),        # subnet not recorded
    ([{"subnet_id": "s", "ip_address": "10.0.0.5"}, {"subnet_id": "s6",
                                                     "ip_address": "fd00::5"}],
     ["10.0.0.5", "fd00::5"]),
])
def test_fixed_ips_kept_only_inside_a_recorded_subnet(ips, expect):
    subnets = [{"id": "s", "cidr": "10.0.0.0/24"}, {"id": "s6", "cidr": "fd00::/64"}]
    kept = restore_kind.fixed_ips_kept({"fixed_ips": ips}, subnets)
    assert [i["ip_address"] for i in kept] == expect


# -- confirmation ---------------------------------------------------------------------------
def test_failover_needs_a_token_from_a_previous_call(db, checkpoint):
    with pytest.raises(restores.ConfirmationRequired) as first:
        restores.create(db, checkpoint["id"], region=R2, mode="failover")
    assert first.value.summary["servers"] == ["db-1", "db-2", "app-1"]
    assert first.value.summary["source_region"] == R1
    assert "no confirmation token" in str(first.value)
    with pytest.raises(restores.ConfirmationRequired) as wrong:
        restores.create(db, checkpoint["id"], region=R2, mode="failover", confirm="nope")
    assert "not one issued" in str(wrong.value)
    assert restores.list_restores(db)[0] == []

    started = restores.create(db, checkpoint["id"], region=R2, mode="failover",
                              confirm=first.value.token)
    assert started["status"] == "pending" and started["mode"] == "failover"
    with pytest.raises(restores.RestoreBusy):     # one failover of a plan at a time
        restores.create(db, checkpoint["id"], region=R2, mode="failover",
                        confirm=wrong.value.token)
    with pytest.raises(restores.ConfirmationRequired):     # a token is used once
        restores.create(db, checkpoint["id"], region=R2, mode="failover",
                        confirm=first.value.token)


def test_expired_token_is_refused(db, checkpoint):
    with pytest.raises(restores.ConfirmationRequired) as first:
        restores.create(db, checkpoint["id"], region=R2, mode="failover")
    with db_api.session_scope(db) as session:
        row = session.get(models.RestoreToken, first.value.token)
        row.expires_at = models.utcnow() - datetime.timedelta(seconds=1)
    with pytest.raises(restores.ConfirmationRequired) as again:
        restores.create(db, checkpoint["id"], region=R2, mode="failover",
                        confirm=first.value.token)
    assert "expired" in str(again.value)


def test_restore_only_into_the_backup_region_of_a_completed_checkpoint(db, checkpoint):
    with pytest.raises(restores.WrongRegion):
        restores.create(db, checkpoint["id"], region=R1, mode="drill")
    with pytest.raises(checkpoints.CheckpointNotFound):
        restores.create(db, "no-such", region=R2, mode="drill")


# -- reconciled -----------------------------------------------------------------------------
def _check_restored(sites, cloud, restore, *, prefix, project=PROJECT):  # noqa: F811
    assert restore["status"] == "completed", restore["error"]
    servers = {s["name"]: s for s in sites.servers[R2].values()}
    assert sorted(servers) == sorted(prefix + n for n in ("db-1", "db-2", "app-1"))
    assert {s["status"] for s in servers.values()} == {"ACTIVE"}
    volumes = sites.volumes[R2]
    for name, server in servers.items():
        boot, *data = [volumes[v] for v in server["volumes"]]
        assert boot["bootable"] and boot["server_id"] == server["id"]
        assert len(data) == (0 if name.endswith("app-1") else 1)
        assert all(v["status"] == "in-use" and not v["bootable"] for v in data)
        assert server["key_name"] == "vnf-key"
    ports = {p["name"]: p for p in sites.ports[R2][None]}
    assert sorted(ip["ip_address"] for p in ports.values() for ip in p["fixed_ips"]) == [
        "10.60.0.11", "10.60.0.12", "10.60.0.13"]
    assert {p["mac_address"] for p in ports.values()} == {"fa:16:3e:00:00:01"}
    assert all(p["same_address"] for s in restore["resources"]["servers"]
               for p in s["ports"])
    assert (USER, "vnf-key") in cloud.keypairs[R2]
    assert [f["name"] for f in cloud.flavors[R2].values()] == ["devcloud.tiny"]
    assert restore["rto_seconds"] is not None and restore["rto_seconds"] >= 0
    nets = [n for n in sites.networks[R2].values()]
    assert [n["name"] for n in nets] == [prefix + "vnf-net"]
    assert [s["cidr"] for s in nets[0]["subnets"]] == ["10.60.0.0/24"]
    # everything the restore created belongs to the target project, not the service's
    assert {s["project_id"] for s in servers.values()} == {project}
    restored = {v["volume_id"] for v in restore["resources"]["volumes"]}
    assert {volumes[v]["project_id"] for v in restored} == {project}
    assert {n["project_id"] for n in nets} == {project}
    assert {s["project_id"] for s in nets[0]["subnets"]} == {project}
    assert {p["project_id"] for p in ports.values()} == {project}
    assert (project, "admin") in sites.grants
    assert restore["resources"]["scope"] == {"project_id": project, "role": "admin",
                                             "service_user_id": SERVICE_USER}
    # the ports' security groups, with their rules, and the group a rule references
    groups = {g["name"]: g for g in sites.neutron.groups[R2].values()
              if g["project_id"] == project}
    default = prefix + "default" if prefix else "default"
    # (Neutron makes the project's own `default` in the target when it is first listed)
    assert sorted(groups) == sorted({"default", default, prefix + "vnf-db", prefix + "vnf-app"})
    app_id = groups[prefix + "vnf-app"]["id"]
    assert [(r["protocol"], r["port_range_min"], r["remote_group_id"])
            for r in groups[prefix + "vnf-db"]["rules"] if r["direction"] == "ingress"] == [
        ("tcp", 5432, app_id)]
    assert {(r["direction"], r["remote_group_id"]) for r in groups[default]["rules"]} == {
        ("egress", None), ("ingress", groups[default]["id"])}
    for port in ports.values():
        # the server's name after the prefix (a restore id ending in "db" makes the prefix
        # itself end in "db-": "drill-e363e6db-app-1-port0" is app-1's port)
        server = port["name"][len(prefix):]
        wanted = ([default, prefix + "vnf-db"] if server.startswith("db-") else [default])
        assert sorted(port["security_groups"]) == sorted(groups[n]["id"] for n in wanted)
    # the service user boots with the same key (Nova reads the asking user's keypairs)
    assert (cloud.keypairs[R2][(SERVICE_USER, "vnf-key")]["public_key"]
            == cloud.keypairs[R2][(USER, "vnf-key")]["public_key"])


def test_drill_restores_everything_and_never_calls_the_source(db, env, sites, cloud,  # noqa: F811
                                                              checkpoint):
    before_log = [e for e in sites.log if e[0] == R1]
    before_servers = {k: dict(v) for k, v in sites.servers[R1].items()}
    started = restores.create(db, checkpoint["id"], region=R2, mode="drill")
    restore = _restore(db, env, started["id"])
    _check_restored(sites, cloud, restore, prefix=f"drill-{started['id'][:8]}-")
    assert [e for e in sites.log if e[0] == R1] == before_log
    assert sites.servers[R1] == before_servers
    assert [c[0] for c in cloud.calls if c[0] == R1] == []


OTHER = "c" * 32      # a drill's own project, not the plan's


def _nothing_made_in_plan_project(sites, restore):  # noqa: F811
    made = {v["volume_id"] for v in restore["resources"]["volumes"]}
    assert [v for v in made if sites.volumes[R2][v]["project_id"] == PROJECT] == []
    assert [s for s in sites.servers[R2].values() if s["project_id"] == PROJECT] == []
    assert [n for n in sites.networks[R2].values() if n["project_id"] == PROJECT] == []
    assert [p for p in sites.ports[R2][None] if p["project_id"] == PROJECT] == []
    assert [g for g in sites.neutron.groups[R2].values() if g["project_id"] == PROJECT] == []
    assert (PROJECT, "admin") not in sites.grants


def test_a_drill_into_another_project_makes_everything_there(db, env, sites, cloud,  # noqa: F811
                                                             checkpoint):
    before_log = [e for e in sites.log if e[0] == R1]
    started = restores.create(db, checkpoint["id"], region=R2, mode="drill",
                              target_project_id=OTHER)
    assert started["target_project_id"] == OTHER and started["project_id"] == PROJECT
    restore = _restore(db, env, started["id"])
    _check_restored(sites, cloud, restore, prefix=f"drill-{started['id'][:8]}-",
                    project=OTHER)
    _nothing_made_in_plan_project(sites, restore)
    assert [e for e in sites.log if e[0] == R1] == before_log
    # the plan's project still sees (and owns) its drill
    assert [r["id"] for r in restores.list_restores(db, project_id=PROJECT)[0]] == [
        started["id"]]


def test_a_drill_goes_into_the_configured_drill_project(db, env, sites, cloud,  # noqa: F811
                                                        checkpoint):
    db.set_override("drill_project", OTHER, group="dr")
    started = restores.create(db, checkpoint["id"], region=R2, mode="drill")
    assert started["target_project_id"] == OTHER
    restore = _restore(db, env, started["id"])
    _check_restored(sites, cloud, restore, prefix=f"drill-{started['id'][:8]}-",
                    project=OTHER)
    _nothing_made_in_plan_project(sites, restore)


def test_a_failover_into_another_project_is_refused(db, checkpoint):
    with pytest.raises(restores.TargetProjectNotForFailover):
        restores.create(db, checkpoint["id"], region=R2, mode="failover",
                        target_project_id=OTHER)
    db.set_override("drill_project", OTHER, group="dr")
    with pytest.raises(restores.ConfirmationRequired):   # the option is for drills only
        restores.create(db, checkpoint["id"], region=R2, mode="failover")
    assert restores.list_restores(db, checkpoint_id=checkpoint["id"])[0] == []


def test_failover_with_the_source_region_down(db, env, sites, cloud, checkpoint):  # noqa: F811
    sites.down.add(R1)
    cloud.down.add(R1)
    with pytest.raises(restores.ConfirmationRequired) as first:
        restores.create(db, checkpoint["id"], region=R2, mode="failover")
    started = restores.create(db, checkpoint["id"], region=R2, mode="failover",
                              confirm=first.value.token)
    restore = _restore(db, env, started["id"])
    _check_restored(sites, cloud, restore, prefix="")
    groups = [x for c, x in _creates(sites) if c == "create_server"]
    assert groups == ["db-1", "db-2", "app-1"]


def test_a_refused_role_grant_fails_the_restore_before_any_create(db, env, sites, cloud,  # noqa: F811
                                                                 checkpoint):
    def refuse(project_id, role):
        raise client_errors.RegionRejected("keystone", f"no role named {role}", status=404)

    original = sites.client

    def client(region, project_id=None):
        made = original(region, project_id)
        made.grant_service_role = refuse
        return made

    sites.client = client
    started = restores.create(db, checkpoint["id"], region=R2, mode="drill")
    restore = _restore(db, _fresh(db, sites), started["id"])
    assert restore["status"] == "failed" and "no role named admin" in restore["error"]
    assert [c for c, _x in _creates(sites)] == []


def test_a_deleted_imported_backup_is_imported_again(db, env, sites, cloud, checkpoint):  # noqa: F811
    lost = checkpoint["resources"]["volumes"][0]["imported_backup_id"]
    sites.backups[R2].pop(lost)
    started = restores.create(db, checkpoint["id"], region=R2, mode="drill")
    restore = _restore(db, env, started["id"])
    assert restore["status"] == "completed", restore["error"]
    again = [v for v in restore["resources"]["volumes"] if v.get("reimported")]
    assert len(again) == 1 and again[0]["backup_id"] != lost


class Killed(BaseException):
    """The engine dying right after a region accepted a create, before recording it."""


# 5 volumes, 1 network, 1 subnet, 3 ports, 3 servers, 2 attachments
TOTAL_CREATES = 15


@pytest.mark.parametrize("die_after", range(1, TOTAL_CREATES + 1))
def test_engine_death_after_any_create_resumes_without_duplicates(db, sites, cloud,  # noqa: F811
                                                                  checkpoint, die_after):
    counter = {"n": 0}

    def dying(conf, region, project_id=None):
        client = sites.client(region, project_id)
        for name in CREATES:
            real = getattr(client, name)

            def call(*args, _real=real, **kwargs):
                result = _real(*args, **kwargs)
                counter["n"] += 1
                if counter["n"] == die_after:
                    raise Killed()
                return result
            setattr(client, name, call)
        return client

    started = restores.create(db, checkpoint["id"], region=R2, mode="drill")
    key = Key(restore_kind.KIND, started["id"], R2)
    dead = _fresh(db, sites, dying)
    with pytest.raises(Killed):
        for _ in range(40):
            restore_kind.reconcile(key, dead)
    restore = _restore(db, _fresh(db, sites), started["id"])
    _check_restored(sites, cloud, restore, prefix=f"drill-{started['id'][:8]}-")
    made = _creates(sites)
    counts = {c: sum(1 for m in made if m[0] == c) for c in CREATES}
    assert counts == {"restore_backup": 5, "create_network": 1, "create_subnet": 1,
                      "create_port": 3, "create_server": 3, "attach_volume": 2}


def test_engine_death_after_a_security_group_create_adopts_it(db, sites, cloud, neutron,  # noqa: F811
                                                              checkpoint):
    from tests.unit.reconcilers import fake_network

    real = fake_network.FakeNetwork.create_security_group
    made = []

    def dying(self, project_id, **kwargs):
        group = real(self, project_id, **kwargs)
        made.append(kwargs["name"])
        if len(made) == 1:
            raise Killed()
        return group

    started = restores.create(db, checkpoint["id"], region=R2, mode="failover",
                              confirm=_token(db, checkpoint))
    key = Key(restore_kind.KIND, started["id"], R2)
    fake_network.FakeNetwork.create_security_group = dying
    try:
        with pytest.raises(Killed):
            for _ in range(40):
                restore_kind.reconcile(key, _fresh(db, sites))
    finally:
        fake_network.FakeNetwork.create_security_group = real
    restore = _restore(db, _fresh(db, sites), started["id"])
    _check_restored(sites, cloud, restore, prefix="")
    names = [g["name"] for g in neutron.groups[R2].values()]
    assert sorted(names) == ["default", "vnf-app", "vnf-db"]


def _token(db, checkpoint):
    with pytest.raises(restores.ConfirmationRequired) as first:
        restores.create(db, checkpoint["id"], region=R2, mode="failover")
    return first.value.token


def test_a_restore_resumed_past_its_volumes_without_a_scope_grants_it_first(
        db, sites, cloud, checkpoint):  # noqa: F811
    """A restore an older engine left in the network phase (no scope recorded, the role
    never given): the resumed restore gives the role before it creates anything."""
    started = restores.create(db, checkpoint["id"], region=R2, mode="drill")
    key = Key(restore_kind.KIND, started["id"], R2)

    def dying(conf, region, project_id=None):
        client = sites.client(region, project_id)

        def create_network(**kwargs):
            raise Killed()
        client.create_network = create_network
        return client

    with pytest.raises(Killed):
        for _ in range(40):
            restore_kind.reconcile(key, _fresh(db, sites, dying))
    left = restores.get(db, started["id"])
    assert left["phase"] == "network"
    report = dict(left["resources"])
    report.pop("scope")
    restores.save(db, started["id"], resources=report)
    sites.grants.clear()
    restore = _restore(db, _fresh(db, sites), started["id"])
    _check_restored(sites, cloud, restore, prefix=f"drill-{started['id'][:8]}-")
