"""multisite dr plan ... and dr checkpoint ... against the in-process API and engine,
regions in memory (tests/unit/reconcilers/fake_dr.py)."""

import io

import pytest

from multisite.cli import dr as dr_cli
from tests.unit.reconcilers.fake_dr import FakeSites


@pytest.fixture
def sites(conf, monkeypatch, project_id):
    conf.set_override("scan_interval", 0.1, group="dr")
    conf.set_override("poll_interval", 0.05, group="dr")
    sites = FakeSites().install(monkeypatch)
    for name, data in (("db-1", True), ("db-2", True), ("app-1", False)):
        sites.add_server("RegionOne", name, data_volume=data, project=project_id)
    yield sites
    conf.clear_override("scan_interval", group="dr")
    conf.clear_override("poll_interval", group="dr")


def test_plan_and_checkpoint_commands(cli, sites):
    code, out, err = cli("dr", "plan", "create", "vnf", "--source", "RegionOne", "--backup",
                         "RegionTwo", "--group", "db-1,db-2", "--group", "app-1", "--wait",
                         "-f", "value", "-c", "ID", "-c", "GROUPS", "-c", "STATUS",
                         roles="member")
    assert code == 0, err
    plan_id, status = out.split()[0], out.split()[-1]
    assert "db-1,db-2 | app-1" in out and status == "ready", out
    code, out, err = cli("dr", "plan", "show", plan_id, "-f", "value", "-c", "RESOURCE",
                         "-c", "NAME")
    assert code == 0 and "server db-1" in out and "keypair vnf-key" in out, out
    code, out, err = cli("dr", "checkpoint", "create", plan_id, "--wait", "-f", "value",
                         roles="member")
    assert code == 0, err
    assert "server db-1 unpaused" in err and "volume db-2:/dev/vdb exported" in err
    assert out.count("server ") == 3 and out.count("volume ") == 5
    assert "unpaused" in out and "exported" in out
    code, out, err = cli("dr", "checkpoint", "list", "--plan", plan_id, "-f", "value",
                         "-c", "STATUS")
    assert code == 0 and out.strip() == "completed"
    code, out, err = cli("dr", "plan", "delete", plan_id, roles="member")
    assert code == 0 and f"Protection plan {plan_id} deleted." in out
    code, out, err = cli("dr", "plan", "show", plan_id)
    assert code == 1 and "protection_plan.not_found" in err


def test_plan_create_reports_what_cannot_be_protected(cli, sites):
    code, out, err = cli("dr", "plan", "create", "vnf", "--source", "RegionOne", "--backup",
                         "RegionTwo", "--group", "db-1,ghost", "--wait", "-f", "value",
                         "-c", "STATUS", "-c", "PROBLEMS", roles="member")
    assert code == 0, err
    assert out.strip() == "invalid 1"
    assert "cannot protect server ghost: not found in RegionOne" in err


def test_bad_plan_is_a_400(cli, sites):
    code, out, err = cli("dr", "plan", "create", "vnf", "--source", "RegionOne", "--backup",
                         "RegionOne", "--group", "db-1")
    assert code == 1 and "HTTP 400" in err and "backup region is the source" in err


def test_follow_prints_each_change_once():
    states = iter([
        {"id": "c", "phase": "window", "status": "running",
         "resources": {"servers": [{"name": "db-1", "pause": "paused"}], "volumes": []}},
        {"id": "c", "phase": "window", "status": "running",
         "resources": {"servers": [{"name": "db-1", "pause": "paused"}], "volumes": []}},
        {"id": "c", "phase": "done", "status": "completed",
         "resources": {"servers": [{"name": "db-1", "pause": "unpaused"}], "volumes": []}},
    ])

    class Api:
        def get_checkpoint(self, checkpoint_id):
            return next(states)

    out = io.StringIO()
    ticks = iter(range(100))
    cp = dr_cli.follow(Api(), "c", out=out, timeout=60, clock=lambda: next(ticks),
                       sleep=lambda s: None)
    assert cp["status"] == "completed"
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "window: server db-1 paused" in lines[0]
    assert "done: server db-1 unpaused" in lines[1]


def _checkpoint(cli, sites, monkeypatch):
    """A completed checkpoint of the db-1, db-2 / app-1 VNF, taken through the CLI."""
    from tests.unit.reconcilers.fake_regions import FakeCloud

    cloud = FakeCloud(regions=("RegionOne", "RegionTwo")).install(monkeypatch)
    sites.has_keypair = lambda region, name, user: (user, name) in cloud.keypairs[region]
    code, out, err = cli("dr", "plan", "create", "vnf", "--source", "RegionOne", "--backup",
                         "RegionTwo", "--group", "db-1,db-2", "--group", "app-1", "--wait",
                         "-f", "value", "-c", "ID", roles="member")
    assert code == 0, err
    plan_id = out.strip()
    code, out, err = cli("dr", "checkpoint", "create", plan_id, "--wait", "-f", "value",
                         roles="member")
    assert code == 0, err
    code, out, err = cli("dr", "checkpoint", "list", "--plan", plan_id, "-f", "value",
                         "-c", "ID")
    return out.strip()


def test_restore_commands_drill_and_confirmed_failover(cli, sites, monkeypatch):
    import re

    cp_id = _checkpoint(cli, sites, monkeypatch)

    code, out, err = cli("dr", "restore", cp_id, "--region", "RegionTwo", "--drill", "--wait",
                         "-f", "value", roles="member")
    assert code == 0, err
    assert re.search(r": server drill-\w+-db-1 active", err), err
    assert "completed: RTO" in err
    assert out.count("server drill-") == 3 and "volume db-1:/dev/vdb restored" in out

    code, out, err = cli("dr", "restore", cp_id, "--region", "RegionTwo", "--failover",
                         roles="member")
    assert code == 1 and "Failover not started" in err
    assert "servers db-1, db-2, app-1" in err
    token = re.search(r"--confirm (\w+)", err).group(1)
    code, out, err = cli("dr", "restore", cp_id, "--region", "RegionTwo", "--failover",
                         "--confirm", token, "--wait", "-f", "value", roles="member")
    assert code == 0, err
    assert "server db-1 active" in out and "port db-1-port0 created" in out

    code, out, err = cli("dr", "restore", "list", "--checkpoint", cp_id, "-f", "value",
                         "-c", "MODE", "-c", "STATUS")
    assert code == 0 and sorted(out.splitlines()) == ["drill completed",
                                                      "failover completed"], out
    restore_id = cli("dr", "restore", "list", "-f", "value", "-c", "ID")[1].split()[0]
    code, out, err = cli("dr", "restore", "show", restore_id, "-f", "value")
    assert code == 0 and out.startswith("restore ") and "rto_s=" in out


def test_restore_drill_into_another_project(cli, sites, monkeypatch):
    cp_id = _checkpoint(cli, sites, monkeypatch)
    drills = "d" * 32
    code, out, err = cli("dr", "restore", cp_id, "--region", "RegionTwo", "--failover",
                         "--project", drills, roles="admin")
    assert code == 1 and "--project is for a --drill" in err, err
    code, out, err = cli("dr", "restore", cp_id, "--region", "RegionTwo", "--drill",
                         "--project", drills, roles="member")
    assert code == 1 and "drill_into_project" in err, err
    code, out, err = cli("dr", "restore", cp_id, "--region", "RegionTwo", "--drill",
                         "--project", drills, "--wait", "-f", "value", roles="admin")
    assert code == 0, err
    assert {s["project_id"] for s in sites.servers["RegionTwo"].values()} == {drills}
    restore_id = cli("dr", "restore", "list", "-f", "value", "-c", "ID")[1].split()[0]
    code, out, err = cli("dr", "restore", "show", restore_id, "-f", "value")
    assert code == 0 and f"project={drills}" in out.splitlines()[0], out


def test_plan_show_gives_each_volumes_recovery_point(cli, sites):
    code, out, err = cli("dr", "plan", "create", "vnf", "--source", "RegionOne", "--backup",
                         "RegionTwo", "--group", "db-1,db-2", "--group", "app-1",
                         "--method", "replicate", "--schedule", "60", "--wait", "-f", "value",
                         "-c", "ID", roles="member")
    assert code == 0, err
    plan_id = out.split()[0]
    code, out, err = cli("dr", "plan", "show", plan_id, "-f", "value")
    assert code == 0 and out.count("recovery_point=none") == 5, out
    code, out, err = cli("dr", "checkpoint", "create", plan_id, "--wait", "-f", "value",
                         roles="member")
    assert code == 0, err
    code, out, err = cli("dr", "plan", "show", plan_id, "-f", "value")
    volumes = [line for line in out.splitlines() if line.startswith("volume ")]
    assert len(volumes) == 5 and all("recovery_point=20" in v and " age=" in v
                                     for v in volumes), out
