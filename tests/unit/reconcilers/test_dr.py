"""DR kinds: the pure rules as matrices, and checkpoints reconciled against an in-memory
Nova/Cinder (tests/unit/reconcilers/fake_dr.py) on a real database."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import threading
import types

import pytest

from multisite.clients import dr as dr_client
from multisite.clients import errors as client_errors
from multisite.engine import dr as dr_env
from multisite.objects import checkpoints, protection_plans
from multisite.reconcilers import Key, PermanentError, TemporaryError
from multisite.reconcilers.dr import checkpoint as cp_kind
from multisite.reconcilers.dr import plan as plan_kind
from multisite.reconcilers.dr import schedule as schedule_kind
from tests.unit.reconcilers.fake_dr import PROJECT, USER, FakeClient, FakeSites

R1, R2 = "RegionOne", "RegionTwo"


def _plan(**kw):
    plan = {"project_id": PROJECT, "source_region": R1, "backup_region": R2,
            "groups": [["db-1", "db-2"], ["app-1"]], "method": "pause"}
    plan.update(kw)
    return plan


def _server(name, **kw):
    server = {"id": f"id-{name}", "name": name, "status": "ACTIVE", "user_id": USER,
              "key_name": None, "image_id": None, "volumes": [f"v-{name}"],
              "flavor": {"name": "f"}}
    server.update(kw)
    return server


def _volume(vid, **kw):
    volume = {"id": vid, "status": "in-use", "bootable": True, "multiattach": False,
              "image_metadata": {}}
    volume.update(kw)
    return volume


def _servers(*servers):
    return {s["name"]: [s] for s in servers}


VOLUMES = {f"v-{n}": _volume(f"v-{n}") for n in ("db-1", "db-2", "app-1")}


@pytest.mark.parametrize("servers,volumes,keypairs,method,expect", [
    (_servers(_server("db-1"), _server("db-2"), _server("app-1")), VOLUMES, {}, "pause", []),
    (_servers(_server("db-1"), _server("app-1")), VOLUMES, {}, "pause",
     ["server db-2"]),
    ({**_servers(_server("db-1"), _server("app-1")),
      "db-2": [_server("db-2"), _server("db-2", id="other")]}, VOLUMES, {}, "pause",
     ["server db-2"]),
    (_servers(_server("db-1"), _server("db-2"), _server("app-1", image_id="img", volumes=[])),
     VOLUMES, {}, "pause", ["server app-1 (id-app-1)", "server app-1 (id-app-1)"]),
    (_servers(_server("db-1"), _server("db-2"), _server("app-1", image_id="img", volumes=[])),
     VOLUMES, {}, "vm-snapshot", []),
    (_servers(_server("db-1", status="ERROR"), _server("db-2"), _server("app-1")), VOLUMES, {},
     "pause", ["server db-1 (id-db-1)"]),
    (_servers(_server("db-1", key_name="k"), _server("db-2"), _server("app-1")), VOLUMES,
     {(USER, "k"): None}, "pause", ["keypair k"]),
    (_servers(_server("db-1"), _server("db-2"), _server("app-1")),
     {**VOLUMES, "v-db-1": _volume("v-db-1", multiattach=True)}, {}, "pause",
     ["volume v-db-1 of server db-1"]),
    (_servers(_server("db-1"), _server("db-2"), _server("app-1")), VOLUMES, {}, "quiesce",
     ["server db-1 (id-db-1)", "server db-2 (id-db-2)", "server app-1 (id-app-1)"]),
    (_servers(_server("db-1"), _server("db-2"), _server("app-1")),
     {k: _volume(k, image_metadata={"hw_qemu_guest_agent": "yes"}) for k in VOLUMES}, {},
     "quiesce", []),
    # only db-1's image has the agent; app-1's volume is a data volume (no boot volume)
    (_servers(_server("db-1"), _server("db-2"), _server("app-1")),
     {**VOLUMES, "v-db-1": _volume("v-db-1", image_metadata={"hw_qemu_guest_agent": "yes"}),
      "v-app-1": _volume("v-app-1", bootable=False)}, {}, "quiesce",
     ["server db-2 (id-db-2)", "server app-1 (id-app-1)"]),
])
def test_assess_names_every_unprotectable_resource(servers, volumes, keypairs, method, expect):
    found = plan_kind.assess(_plan(method=method), servers, volumes, keypairs)
    assert [p["resource"] for p in found] == expect
    assert all(p["reason"] for p in found)


@pytest.mark.parametrize("server,volumes,reason", [
    (_server("a", image_id="img", volumes=[]), {}, "needs a volume-backed server"),
    (_server("a", volumes=["v"]), {"v": _volume("v", bootable=False)},
     "no bootable volume"),
    (_server("a", volumes=["v"]), {"v": _volume("v", image_metadata={
        "hw_qemu_guest_agent": "no"})}, "has no hw_qemu_guest_agent=yes"),
    (_server("a", volumes=["v"]), {"v": _volume("v", image_metadata={
        "hw_qemu_guest_agent": "True"})}, None),
])
def test_quiesce_problems_say_why_nova_would_not_quiesce(server, volumes, reason):
    found = plan_kind.quiesce_problems(server, volumes)
    assert (found == []) if reason is None else (len(found) == 1 and reason in found[0])


def test_assess_unknown_backup_region_and_server_named_twice():
    servers = _servers(_server("db-1"), _server("db-2"), _server("app-1"))
    servers["db-1-again"] = servers["db-1"]
    plan = _plan(groups=[["db-1", "db-2"], ["app-1", "db-1-again"]])
    found = plan_kind.assess(plan, servers, VOLUMES, {}, backup_region_known=False)
    assert [p["resource"] for p in found] == ["region RegionTwo", "server db-1-again"]
    assert "same server as db-1" in found[1]["reason"]


SERVERS = [{"id": "a", "group": 0, "position": 0}, {"id": "b", "group": 0, "position": 1},
           {"id": "c", "group": 1, "position": 2}]


@pytest.mark.parametrize("pauses,observed,expect", [
    ({"a": "paused", "b": "paused", "c": "paused"}, {"a": "PAUSED", "b": "PAUSED",
                                                      "c": "PAUSED"}, ["c", "b", "a"]),
    ({"a": "paused", "b": "pausing", "c": None}, {"a": "PAUSED", "b": "PAUSED",
                                                   "c": "ACTIVE"}, ["b", "a"]),
    ({"a": "paused", "b": "pausing", "c": None}, {"a": "PAUSED", "b": "ACTIVE",
                                                   "c": "PAUSED"}, ["a"]),
    ({"a": "unpaused", "b": "unpaused", "c": "unpaused"}, {"a": "ACTIVE", "b": "ACTIVE",
                                                            "c": "ACTIVE"}, []),
    # paused by someone else (never by this checkpoint): left alone
    ({"a": None, "b": None, "c": None}, {"a": "PAUSED", "b": "PAUSED", "c": "PAUSED"}, []),
    ({"a": "paused", "b": "paused", "c": "paused"}, {"a": None, "b": "PAUSED"}, ["b"]),
])
def test_to_unpause_is_what_we_paused_and_nova_shows_paused(pauses, observed, expect):
    servers = [dict(s, pause=pauses[s["id"]]) for s in SERVERS]
    assert cp_kind.to_unpause(servers, observed) == expect


def test_pause_order_follows_groups_then_position():
    shuffled = [SERVERS[2], SERVERS[1], SERVERS[0]]
    assert cp_kind.pause_order(shuffled) == ["a", "b", "c"]


@pytest.mark.parametrize("volumes,parents,max_chain,expect", [
    ([{"id": "v1"}, {"id": "v2"}], None, None, [("v1", False, None), ("v2", False, None)]),
    ([{"id": "v1"}, {"id": "v2"}], [{"id": "v1", "backup_id": "b1"}], None,
     [("v1", True, "b1"), ("v2", False, None)]),
    ([{"id": "v1", "backup_id": "done"}, {"id": "v2"}], [{"id": "v2", "backup_id": "b2"}], None,
     [("v2", True, "b2")]),
    ([{"id": "v1"}], [{"id": "v1", "backup_id": None}], None, [("v1", False, None)]),
    # the chain is as long as allowed: a full backup starts a new one
    ([{"id": "v1"}], [{"id": "v1", "backup_id": "b1", "chain_length": 3}], 3,
     [("v1", False, None)]),
    ([{"id": "v1"}], [{"id": "v1", "backup_id": "b1", "chain_length": 2}], 3,
     [("v1", True, "b1")]),
])
def test_backup_requests(volumes, parents, max_chain, expect):
    got = cp_kind.backup_requests(volumes, parents, max_chain=max_chain)
    assert [(v["id"], inc, parent) for v, inc, parent in got] == expect


def _c(cid, parent=None, inc=False):
    return {"id": cid, "parent_id": parent, "incremental": inc}


@pytest.mark.parametrize("completed,retention,expect", [
    ([_c("a"), _c("b", "a", True), _c("c")], 2, []),              # b still needs a
    ([_c("a"), _c("b", "a", True), _c("c"), _c("d", "c", True)], 2, ["b", "a"]),
    ([_c("a"), _c("b", "a"), _c("c", "b")], 1, ["b", "a"]),        # full backups: no needs
    ([_c("a"), _c("b", "a", True), _c("c", "b", True)], 1, []),   # one chain: all needed
    ([_c("a")], 3, []),
])
def test_expired_never_breaks_a_kept_chain(completed, retention, expect):
    assert cp_kind.expired(completed, retention) == expect


@pytest.mark.parametrize("phase,status,expect", [
    ("discover", "pending", "discover"), ("window", "running", "recover"),
    ("backup", "running", "backup"), ("export", "running", "export"),
    ("cleanup", "running", "cleanup"), ("done", "completed", None),
    ("window", "failed", None),
])
def test_next_action(phase, status, expect):
    assert cp_kind.next_action({"phase": phase, "status": status}) == expect


# -- reconciled against the in-memory regions -----------------------------------------------
@pytest.fixture
def sites():
    sites = FakeSites()
    sites.add_server(R1, "db-1", data_volume=True, ip="10.60.0.11")
    sites.add_server(R1, "db-2", data_volume=True, ip="10.60.0.12")
    sites.add_server(R1, "app-1", ip="10.60.0.13")
    return sites


@pytest.fixture
def env(db, sites):
    db.set_override("poll_interval", 0.05, group="dr")
    shared = dr_env.DrEnv(db, client_factory=lambda conf, region, project_id=None:
                          sites.client(region, project_id), regions=lambda: sites.regions)
    return types.SimpleNamespace(shared=shared, attempts=1, item=None)


def _ready_plan(db, env, **kw):
    spec = {"project_id": PROJECT, "user_id": USER, "name": "vnf",
            "source_region": R1, "backup_region": R2,
            "groups": [["db-1", "db-2"], ["app-1"]], "method": "pause", "retention": 3}
    spec.update(kw)
    plan = protection_plans.create(db, **spec)
    plan_kind.reconcile(Key(plan_kind.KIND, plan["id"], R1), env)
    return protection_plans.get(db, plan["id"])


def _run(db, env, checkpoint_id):
    key = Key(cp_kind.KIND, checkpoint_id, R1)
    for _ in range(20):
        try:
            outcome = cp_kind.reconcile(key, env)
        except PermanentError:
            break
        if outcome.status == "done":
            break
    return checkpoints.get(db, checkpoint_id)


def test_plan_discovery_records_resources(db, env, sites):
    plan = _ready_plan(db, env)
    assert plan["status"] == "ready" and plan["problems"] == []
    found = plan["resources"]
    assert [s["name"] for s in found["servers"]] == ["db-1", "db-2", "app-1"]
    assert [s["group"] for s in found["servers"]] == [0, 0, 1]
    assert len(found["volumes"]) == 5 and found["keypairs"][0]["name"] == "vnf-key"
    assert found["networks"][0]["subnets"][0]["cidr"] == "10.60.0.0/24"
    ips = sorted(p["fixed_ips"][0]["ip_address"] for s in found["servers"] for p in s["ports"])
    assert ips == ["10.60.0.11", "10.60.0.12", "10.60.0.13"]


def test_plan_with_problems_is_invalid(db, env, sites):
    plan = _ready_plan(db, env, groups=[["db-1", "db-9"]])
    assert plan["status"] == "invalid"
    assert plan["problems"] == [{"resource": "server db-9",
                                 "reason": f"not found in {R1} (project {PROJECT})"}]
    with pytest.raises(checkpoints.PlanNotReady):
        checkpoints.create(db, plan["id"])


def test_checkpoint_pauses_in_order_snapshots_inside_window_and_exports(db, env, sites):
    plan = _ready_plan(db, env)
    cp = _run(db, env, checkpoints.create(db, plan["id"])["id"])
    assert cp["status"] == "completed", cp["error"]
    ids = {s["name"]: s["id"] for s in sites.servers[R1].values()}
    calls = [(c, x) for r, c, x in sites.log if r == R1 and c in ("pause", "unpause",
                                                                  "snapshot")]
    pauses = [x for c, x in calls if c == "pause"]
    unpauses = [x for c, x in calls if c == "unpause"]
    assert pauses == [ids["db-1"], ids["db-2"], ids["app-1"]]
    assert unpauses == list(reversed(pauses))
    last_pause = max(i for i, (c, _) in enumerate(calls) if c == "pause")
    first_unpause = min(i for i, (c, _) in enumerate(calls) if c == "unpause")
    snaps = [i for i, (c, _) in enumerate(calls) if c == "snapshot"]
    assert len(snaps) == 5 and all(last_pause < i < first_unpause for i in snaps)
    assert set(sites.statuses(R1).values()) == {"ACTIVE"}
    volumes = cp["resources"]["volumes"]
    assert {v["status"] for v in volumes} == {"exported"}
    assert all(not v["incremental"] for v in volumes)
    assert sites.snapshots[R1] == {}          # temporaries cleaned
    assert len(sites.backups[R1]) == 5 and len(sites.backups[R2]) == 5
    assert {v["imported_backup_id"] for v in volumes} == set(sites.backups[R2])
    window = cp["window"]
    assert window["seconds"] >= window["slowest_snapshot_seconds"] >= 0
    assert window["opened_at"] <= window["paused_at"] <= window["closed_at"]

    second = _run(db, env, checkpoints.create(db, plan["id"])["id"])
    assert second["status"] == "completed" and second["parent_id"] == cp["id"]
    first_backups = {v["id"]: v["backup_id"] for v in volumes}
    for volume in second["resources"]["volumes"]:
        assert volume["incremental"] and volume["is_incremental"]
        assert volume["parent_backup_id"] == first_backups[volume["id"]]
        assert sites.backups[R1][volume["backup_id"]]["parent_id"] == first_backups[volume["id"]]
        # Cinder's own choice, read from the exported record (its API never shows it)
        assert volume["cinder_parent_backup_id"] == first_backups[volume["id"]]
    assert all(v["cinder_parent_backup_id"] is None for v in volumes)


@pytest.mark.parametrize("record,expect", [
    ({"backup_service": "posix", "backup_url": base64.b64encode(
        json.dumps({"id": "b2", "parent_id": "b1"}).encode()).decode()}, "b1"),
    ({"backup_service": "posix", "backup_url": base64.b64encode(
        json.dumps({"id": "b1", "parent_id": None}).encode()).decode()}, None),
    ({"backup_service": "posix", "backup_url": "not base64!"}, None),
    ({"backup_service": "posix", "backup_url": base64.b64encode(b"[1]").decode()}, None),
    ({}, None)])
def test_record_parent_reads_cinders_parent_from_the_exported_record(record, expect):
    assert dr_client.record_parent(record) == expect
    assert dr_client.record_backup_id(record) in ("b1", "b2", None)


def test_a_parent_cinder_chose_elsewhere_is_recorded_beside_ours(db, env, sites):
    plan = _ready_plan(db, env)
    first = _run(db, env, checkpoints.create(db, plan["id"])["id"])
    # a backup of db-1's data volume made outside the plan, newer: Cinder's parent now
    data = next(v for v in first["resources"]["volumes"] if v["server"] == "db-1"
                and not v["bootable"])
    other = sites.client(R1).create_backup(data["id"], snapshot_id=None, name="by hand",
                                           incremental=False)
    second = _run(db, env, checkpoints.create(db, plan["id"])["id"])
    assert second["status"] == "completed", second["error"]
    found = next(v for v in second["resources"]["volumes"] if v["id"] == data["id"])
    assert found["parent_backup_id"] == data["backup_id"]
    assert found["cinder_parent_backup_id"] == other


def test_failing_snapshot_still_unpauses_and_names_the_snapshot(db, env, sites):
    plan = _ready_plan(db, env)
    bad = next(v for v in sites.volumes[R1].values() if v["name"] == "db-2-data")["id"]
    sites.fail_snapshot_of.add(bad)
    cp = _run(db, env, checkpoints.create(db, plan["id"])["id"])
    assert cp["status"] == "failed"
    assert f"volume {bad} of server db-2" in cp["error"]
    assert set(sites.statuses(R1).values()) == {"ACTIVE"}
    unpauses = [x for r, c, x in sites.log if c == "unpause"]
    assert len(unpauses) == 3
    assert sites.snapshots[R1] == {}          # the window's snapshots deleted
    failed = [v for v in cp["resources"]["volumes"] if v["status"] == "failed"]
    assert [v["id"] for v in failed] == [bad]
    assert checkpoints.active(db, plan["id"]) is None


class Killed(BaseException):
    """The engine process dying (kill -9) in the middle of the window."""


def test_engine_death_inside_the_window_unpauses_on_resume(db, env, sites):
    plan = _ready_plan(db, env)
    cp_id = checkpoints.create(db, plan["id"])["id"]

    def die(region, volume_id):
        sites.down.add(R1)      # nothing more reaches Nova from the dying engine
        raise Killed()

    sites.on_snapshot = die
    with pytest.raises(Killed):
        cp_kind.reconcile(Key(cp_kind.KIND, cp_id, R1), env)
    env.shared.pool.shutdown(wait=True)       # the dead engine's threads end with it
    assert set(sites.statuses(R1).values()) == {"PAUSED"}
    assert checkpoints.get(db, cp_id)["phase"] == "window"

    # another engine (a fresh env) claims the item after the lease lapsed
    sites.down.clear()
    sites.on_snapshot = None
    fresh = types.SimpleNamespace(shared=dr_env.DrEnv(
        db, client_factory=lambda conf, region, project_id=None: sites.client(
            region, project_id),
        regions=lambda: sites.regions), attempts=2, item=None)
    cp = _run(db, fresh, cp_id)
    assert set(sites.statuses(R1).values()) == {"ACTIVE"}
    assert cp["status"] == "failed" and "inside the pause window" in cp["error"]
    unpauses = [x for r, c, x in sites.log if c == "unpause"]
    ids = {s["name"]: s["id"] for s in sites.servers[R1].values()}
    assert unpauses == [ids["app-1"], ids["db-2"], ids["db-1"]]
    assert cp["window"]["interrupted"] is True


def test_unreachable_nova_while_unpausing_keeps_retrying(db, env, sites):
    plan = _ready_plan(db, env)
    cp_id = checkpoints.create(db, plan["id"])["id"]
    original = sites.client

    def flaky(region):
        client = original(region)
        real = client.unpause

        def unpause(server_id):
            if sites.fail_unpause:
                raise client_errors.RegionUnavailable(region, "down")
            return real(server_id)
        client.unpause = unpause
        return client

    sites.fail_unpause = True
    env.shared._factory = lambda conf, region: flaky(region)
    env.shared._clients.clear()

    with pytest.raises(TemporaryError):
        cp_kind.reconcile(Key(cp_kind.KIND, cp_id, R1), env)
    assert "PAUSED" in sites.statuses(R1).values()
    assert checkpoints.get(db, cp_id)["phase"] == "window"
    sites.fail_unpause = False
    env.shared._clients.clear()
    cp = _run(db, env, cp_id)
    assert set(sites.statuses(R1).values()) == {"ACTIVE"} and cp["status"] == "failed"


def test_retention_deletes_the_oldest_chain_when_a_new_one_is_kept(db, env, sites):
    plan = _ready_plan(db, env, retention=2)
    done = [_run(db, env, checkpoints.create(db, plan["id"])["id"]) for _ in range(4)]
    assert [c["status"] for c in done] == ["completed"] * 4
    incremental = [all(v["incremental"] for v in c["resources"]["volumes"]) for c in done]
    assert incremental == [False, True, False, True]      # chains of at most 2 backups
    assert done[2]["resources"]["retention_deleted"] == []  # the 2nd still needs the 1st
    assert done[3]["resources"]["retention_deleted"] == [done[1]["id"], done[0]["id"]]
    kept = [c["id"] for c in checkpoints.completed(db, plan["id"])]
    assert kept == [done[2]["id"], done[3]["id"]]
    live = {v["backup_id"] for c in done[2:] for v in c["resources"]["volumes"]}
    assert set(sites.backups[R1]) == live
    assert set(sites.backups[R2]) == {v["imported_backup_id"] for c in done[2:]
                                      for v in c["resources"]["volumes"]}


@pytest.mark.parametrize("last,now,expect", [
    (None, 100, True), (0, 59, False), (0, 60, True), (30, 60, False), (0, 1000, True)])
def test_schedule_due(last, now, expect):
    import datetime

    base = datetime.datetime(2026, 1, 1)

    def at(seconds):
        return None if seconds is None else base + datetime.timedelta(seconds=seconds)

    assert schedule_kind.due(60, at(last), at(now)) is expect


def test_scheduled_plan_gets_a_checkpoint_once_per_interval(db, env, sites):
    plan = _ready_plan(db, env, schedule_interval=3600)
    unscheduled = _ready_plan(db, env, name="other")
    assert [k.id for k in schedule_kind.keys(env.shared)] == [plan["id"]]
    key = Key(schedule_kind.KIND, plan["id"], R1)
    first = schedule_kind.reconcile(key, env).result
    assert first and checkpoints.get(db, first)["plan_id"] == plan["id"]
    assert schedule_kind.reconcile(key, env).result is None      # not due again yet
    assert _run(db, env, first)["status"] == "completed"
    assert schedule_kind.reconcile(key, env).result is None
    assert checkpoints.list_checkpoints(db, plan_id=unscheduled["id"])[0] == []


def test_a_backup_requested_but_not_recorded_is_adopted_on_resume(db, env, sites):
    plan = _ready_plan(db, env)
    cp_id = checkpoints.create(db, plan["id"])["id"]
    real = FakeClient.create_backup
    first = threading.Lock()

    def dies_after_the_first(self, volume_id, **kw):
        backup_id = real(self, volume_id, **kw)
        if first.acquire(blocking=False):
            raise Killed()          # Cinder has it; the engine dies before recording it
        return backup_id

    FakeClient.create_backup = dies_after_the_first
    try:
        with pytest.raises(Killed):
            cp_kind.reconcile(Key(cp_kind.KIND, cp_id, R1), env)
        env.shared.pool.shutdown(wait=True)   # the dead engine's threads end with it
    finally:
        FakeClient.create_backup = real
    env.shared.pool = concurrent.futures.ThreadPoolExecutor(8)
    assert checkpoints.get(db, cp_id)["phase"] == "backup"
    cp = _run(db, env, cp_id)
    assert cp["status"] == "completed", cp["error"]
    assert len(sites.backups[R1]) == 5          # one per volume: the orphan was adopted
    assert {v["backup_id"] for v in cp["resources"]["volumes"]} == set(sites.backups[R1])


def test_an_import_done_but_not_recorded_is_adopted_on_resume(db, env, sites):
    sites.import_keeps_ids = True       # as Cinder: same id, a second import refused
    plan = _ready_plan(db, env)
    cp_id = checkpoints.create(db, plan["id"])["id"]
    real = FakeClient.import_backup

    def dies_after(self, record):
        real(self, record)
        raise Killed()              # Cinder imported it; the engine dies before recording

    FakeClient.import_backup = dies_after
    try:
        with pytest.raises(Killed):
            cp_kind.reconcile(Key(cp_kind.KIND, cp_id, R1), env)
    finally:
        FakeClient.import_backup = real
    assert checkpoints.get(db, cp_id)["phase"] == "export"
    cp = _run(db, env, cp_id)
    assert cp["status"] == "completed", cp["error"]
    assert {v["imported_backup_id"] for v in cp["resources"]["volumes"]} == set(
        sites.backups[R2]) == {v["backup_id"] for v in cp["resources"]["volumes"]}


def test_recovery_deletes_snapshots_the_dead_engine_did_not_record(db, env, sites):
    plan = _ready_plan(db, env)
    cp_id = checkpoints.create(db, plan["id"])["id"]
    made = []
    real = FakeClient.create_snapshot

    def create_then_die(self, volume_id, *, name):
        made.append(real(self, volume_id, name=name))
        sites.down.add(R1)
        raise Killed()

    FakeClient.create_snapshot = create_then_die
    try:
        with pytest.raises(Killed):
            cp_kind.reconcile(Key(cp_kind.KIND, cp_id, R1), env)
        env.shared.pool.shutdown(wait=True)   # the dead engine's threads end with it
    finally:
        FakeClient.create_snapshot = real
    env.shared.pool = concurrent.futures.ThreadPoolExecutor(8)
    sites.down.clear()
    assert len(sites.snapshots[R1]) == len(made) >= 1
    cp = _run(db, env, cp_id)
    assert cp["status"] == "failed" and sites.snapshots[R1] == {}
    assert set(sites.statuses(R1).values()) == {"ACTIVE"}


def test_pause_groups_follow_the_plan_order():
    shuffled = [dict(s) for s in (SERVERS[2], SERVERS[0], SERVERS[1])]
    groups = cp_kind.pause_groups(shuffled)
    assert [sid for group in groups for sid in group] == cp_kind.pause_order(shuffled)
    by_id = {s["id"]: s["group"] for s in SERVERS}
    assert all(len({by_id[sid] for sid in group}) == 1 for group in groups)
    assert [by_id[group[0]] for group in groups] == sorted({s["group"] for s in SERVERS})


def test_status_reads_start_fast_and_slow_down_to_the_interval(monkeypatch):
    slept, answers = [], iter(["ACTIVE"] * 5 + ["PAUSED"])
    monkeypatch.setattr(cp_kind.time, "sleep", slept.append)
    assert cp_kind._wait_status(lambda: next(answers), "PAUSED", timeout=60, interval=1.0,
                                region=R1, what="server x") == "PAUSED"
    assert slept == [0.1, 0.2, 0.4, 0.8, 1.0]


def test_a_groups_servers_are_paused_together_and_groups_in_order(db, env, sites):
    """Every server of a group is asked to pause before any of them is waited for, and the
    next group is paused only once the whole group shows PAUSED."""
    plan = _ready_plan(db, env)
    events, original = [], sites.client

    def watched(region, project_id=None):
        client = original(region, project_id)
        real_pause, real_server = client.pause, client.server
        slow = set()

        def pause(server_id):
            events.append(("pause", server_id))
            slow.add(server_id)
            return real_pause(server_id)

        def server(server_id):
            found = real_server(server_id)
            if server_id in slow:                 # Nova shows PAUSED one read later
                slow.discard(server_id)
                found["status"] = "ACTIVE"
            if found["status"] == "PAUSED":
                events.append(("paused", server_id))
            return found
        client.pause, client.server = pause, server
        return client

    env.shared._factory = lambda conf, region, project_id=None: watched(region, project_id)
    env.shared._clients.clear()
    cp = _run(db, env, checkpoints.create(db, plan["id"])["id"])
    assert cp["status"] == "completed", cp["error"]
    ids = {s["name"]: s["id"] for s in sites.servers[R1].values()}
    window = [e for e in events if e[1] in ids.values()][:6]
    assert window[:2] == [("pause", ids["db-1"]), ("pause", ids["db-2"])]
    assert set(window[2:4]) == {("paused", ids["db-1"]), ("paused", ids["db-2"])}
    assert window[4:6] == [("pause", ids["app-1"]), ("paused", ids["app-1"])]


def test_backups_run_at_most_backup_concurrency_at_once(db, env, sites, monkeypatch):
    db.set_override("backup_concurrency", 2, group="dr")
    real = FakeClient.backup
    seen, running, most = set(), set(), []

    def backup(self, backup_id):
        found = real(self, backup_id)
        if self.region == R1 and found is not None and backup_id not in seen:
            # each source backup seen running once
            seen.add(backup_id)
            running.add(backup_id)
            most.append(len(running))
            return dict(found, status="creating")
        running.discard(backup_id)
        return found

    monkeypatch.setattr(FakeClient, "backup", backup)
    plan = _ready_plan(db, env)
    cp = _run(db, env, checkpoints.create(db, plan["id"])["id"])
    assert cp["status"] == "completed", cp["error"]
    assert len(seen) == 5 and max(most) == 2
    assert {v["status"] for v in cp["resources"]["volumes"]} == {"exported"}
