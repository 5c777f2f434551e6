"""DR method `quiesce` (seed Option 1 with the guest agent): Nova's createImage of every
volume-backed server, group by group in plan order (Nova quiesces and unquiesces inside the
call), the snapshots Nova names in the images backed up, exported and cleaned up like
pause's. In-memory Nova/Cinder/Glance (fake_dr.py, which quiesces as Nova's rules say),
real database."""

from __future__ import annotations

import pytest

from multisite.objects import checkpoints
from multisite.reconcilers import Key
from multisite.reconcilers.dr import checkpoint as cp_kind
from tests.unit.reconcilers import test_dr
from tests.unit.reconcilers.fake_dr import FakeClient, FakeSites

R1, R2 = test_dr.R1, test_dr.R2
env = test_dr.env          # the DR kinds' environment over this module's `sites` fixture
AGENT = {"hw_qemu_guest_agent": "yes"}


@pytest.fixture
def sites():
    sites = FakeSites()
    for name, ip in (("db-1", "10.60.0.11"), ("db-2", "10.60.0.12")):
        sites.add_server(R1, name, data_volume=True, ip=ip)
    sites.add_server(R1, "app-1", ip="10.60.0.13")
    for volume in sites.volumes[R1].values():
        if volume["bootable"]:
            volume["image_metadata"] = dict(AGENT)
    return sites


def _boot_volume(sites, name):
    return next(v for v in sites.volumes[R1].values() if v["name"] == f"{name}-boot")


def _server_id(sites, name):
    return next(s["id"] for s in sites.servers[R1].values() if s["name"] == name)


def _checkpoint(db, env):
    plan = test_dr._ready_plan(db, env, method="quiesce")
    assert plan["status"] == "ready", plan["problems"]
    cp = checkpoints.create(db, plan["id"])
    assert cp["method"] == "quiesce"
    return test_dr._run(db, env, cp["id"])


@pytest.mark.parametrize("status,require,expect", [
    ("ACTIVE", True, True),
    ("ACTIVE", False, None),
    ("PAUSED", True, False),
    ("SHUTOFF", False, False),
])
def test_quiesced_is_what_novas_rules_make_certain(status, require, expect):
    quiesced, why = cp_kind.quiesce_outcome(status, require_quiesce=require)
    assert quiesced is expect and why


def test_quiesce_images_each_group_in_order_and_backs_up_novas_snapshots(db, env, sites):
    _boot_volume(sites, "db-1")["image_metadata"]["os_require_quiesce"] = "yes"
    cp = _checkpoint(db, env)
    assert cp["status"] == "completed", cp["error"]
    calls = [(c, i) for r, c, i in sites.log if r == R1]
    assert not [c for c, _ in calls if c in ("pause", "unpause")]
    ids = {n: _server_id(sites, n) for n in ("db-1", "db-2", "app-1")}
    images = [i for c, i in calls if c == "createImage"]
    assert sorted(images[:2]) == sorted([ids["db-1"], ids["db-2"]]) and images[2:] == [
        ids["app-1"]]
    # Nova's quiesce windows: every db server thawed before app-1 is frozen
    order = [(c, i) for c, i in calls if c in ("quiesce", "unquiesce")]
    app_frozen = order.index(("quiesce", ids["app-1"]))
    assert order.index(("unquiesce", ids["db-1"])) < app_frozen
    assert order.index(("unquiesce", ids["db-2"])) < app_frozen
    servers = {s["name"]: s for s in cp["resources"]["servers"]}
    assert servers["db-1"]["quiesced"] is True       # os_require_quiesce: certain
    assert servers["db-2"]["quiesced"] is None and servers["db-2"]["quiesce_evidence"]
    for server in servers.values():
        assert server["image"] == "available" and server["image_deleted"]
        assert server["nova_status"] == "ACTIVE" and server["image_requested_at"]
        assert server["quiesce_window_seconds"] >= 0 and server["snapshot_ids"]
    volumes = cp["resources"]["volumes"]
    assert len(volumes) == 5 and {v["status"] for v in volumes} == {"exported"}
    assert {v["snapshot_id"] for v in volumes} == {
        sid for s in servers.values() for sid in s["snapshot_ids"]}
    assert {v["imported_backup_id"] for v in volumes} == set(sites.backups[R2])
    assert sites.snapshots[R1] == {} and sites.images[R1] == {}   # cleaned up
    window = cp["window"]
    assert [g["servers"] for g in window["groups"]] == [["db-1", "db-2"], ["app-1"]]
    assert window["seconds"] >= max(g["seconds"] for g in window["groups"])
    assert window["slowest_snapshot_seconds"] == max(v["snapshot_seconds"] for v in volumes)


def test_a_server_not_active_is_recorded_as_not_quiesced(db, env, sites):
    sites.servers[R1][_server_id(sites, "app-1")]["status"] = "SHUTOFF"
    cp = _checkpoint(db, env)
    assert cp["status"] == "completed", cp["error"]
    app1 = next(s for s in cp["resources"]["servers"] if s["name"] == "app-1")
    assert app1["quiesced"] is False and "SHUTOFF" in app1["quiesce_evidence"]
    assert ("quiesce", app1["id"]) not in [(c, i) for _r, c, i in sites.log]


def test_a_required_quiesce_that_fails_fails_the_checkpoint_and_leaves_nothing(db, env,
                                                                              sites):
    _boot_volume(sites, "db-2")["image_metadata"]["os_require_quiesce"] = "yes"
    sites.fail_quiesce_of.add(_server_id(sites, "db-2"))
    cp = _checkpoint(db, env)
    assert cp["status"] == "failed"
    assert "createImage refused for server db-2" in cp["error"], cp["error"]
    # db-1's image and Nova's snapshots deleted; the next group never asked
    assert sites.images[R1] == {} and sites.snapshots[R1] == {}
    assert (R1, "createImage", _server_id(sites, "app-1")) not in sites.log
    db2 = next(s for s in cp["resources"]["servers"] if s["name"] == "db-2")
    assert db2["image"] == "failed"


def test_a_failing_snapshot_names_its_volume_and_server(db, env, sites):
    data = next(v for v in sites.volumes[R1].values() if v["name"] == "db-1-data")
    sites.fail_snapshot_of.add(data["id"])
    cp = _checkpoint(db, env)
    assert cp["status"] == "failed"
    assert f"volume {data['id']} of server db-1" in cp["error"], cp["error"]
    assert sites.images[R1] == {} and sites.snapshots[R1] == {}


def test_a_plan_whose_image_lost_the_agent_is_refused_at_the_checkpoint(db, env, sites):
    plan = test_dr._ready_plan(db, env, method="quiesce")
    _boot_volume(sites, "app-1")["image_metadata"] = {}
    cp = test_dr._run(db, env, checkpoints.create(db, plan["id"])["id"])
    assert cp["status"] == "failed" and "hw_qemu_guest_agent" in cp["error"]
    assert not [c for _r, c, _i in sites.log if c == "createImage"]


class Killed(BaseException):
    """The engine dies here."""


def test_an_engine_that_died_after_createimage_adopts_the_image(db, env, sites):
    plan = test_dr._ready_plan(db, env, method="quiesce")
    cp_id = checkpoints.create(db, plan["id"])["id"]
    real = FakeClient.create_image

    def dies(self, server_id, *, name, method=None):
        real(self, server_id, name=name, method=method)
        raise Killed()      # Nova made the image; the engine never recorded it

    FakeClient.create_image = dies
    try:
        with pytest.raises(Killed):
            cp_kind.reconcile(Key(cp_kind.KIND, cp_id, R1), env)
    finally:
        FakeClient.create_image = real
    assert checkpoints.get(db, cp_id)["phase"] == cp_kind.QUIESCE
    cp = test_dr._run(db, env, cp_id)
    assert cp["status"] == "completed", cp["error"]
    made = [i for r, c, i in sites.log if r == R1 and c == "createImage"]
    assert sorted(made) == sorted(s["id"] for s in sites.servers[R1].values())  # once each
    assert sum(1 for s in cp["resources"]["servers"] if s.get("adopted")) >= 1
    assert sites.images[R1] == {} and sites.snapshots[R1] == {}

