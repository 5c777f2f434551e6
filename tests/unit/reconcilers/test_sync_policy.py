"""Policy audits on the in-memory regions: states, enforce/observe, adoption, cheap passes."""

import pytest

from multisite.reconcilers import Key
from multisite.reconcilers import sync_policy as audit
from tests.unit.reconcilers.fake_network import FakeNeutron
from tests.unit.reconcilers.fake_regions import FakeCloud, FakeCompute

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
P, U = "p1", "u1"
KEY = "ssh-ed25519 AAAA one"


class Regions:
    def __init__(self, cloud, neutron):
        self.cloud, self.neutron = cloud, neutron

    def compute(self, region):
        return FakeCompute(self.cloud, region)

    def network(self, region):
        return self.neutron.client(region)

    def known(self):
        return set(self.cloud.regions)


class Shared:
    """The engine's AuditEnv, with the policy rows in memory."""

    def __init__(self, regions, policies):
        self.regions, self.rows, self.states, self.calls = regions, policies, {}, 0

    def policies(self, project_id):
        return [dict(p, targets_state={r: s for (pid, r), s in self.states.items()
                                       if pid == p["id"]}) for p in self.rows]

    def record_pass(self, records):
        for r in records:
            entry = self.states.setdefault((r["policy_id"], r["region"]), {"managed": []})
            entry.update(state=r["state"], detail=r["detail"],
                         repaired=r.get("repaired", False))
            if r.get("managed") is not None:
                entry["managed"] = sorted(r["managed"])

    def set_managed(self, *, policy_id, region, managed):
        self.states.setdefault((policy_id, region), {"managed": []})["managed"] = sorted(
            managed)

    def pass_calls(self, calls):
        self.calls += calls


def _policy(pid="pol", rtype="security_group", **kw):
    return {"id": pid, "project_id": P, "user_id": U, "resource_type": rtype,
            "resources": ["web"], "source": R1, "targets": None, "on_drift": "enforce",
            "propagate_deletes": False, "force": False, **kw}


@pytest.fixture
def world():
    cloud, neutron = FakeCloud(), FakeNeutron()
    web = neutron.add_group(R1, P, "web")
    app = neutron.add_group(R1, P, "app")
    neutron.add_rule(R1, web["id"], direction="ingress", ethertype="IPv4", protocol="tcp",
                     port_range_min=22, port_range_max=22, remote_ip_prefix="10.0.0.0/8")
    neutron.add_rule(R1, web["id"], direction="ingress", ethertype="IPv4",
                     remote_group_id=app["id"])
    cloud.add_keypair(R1, U, "k1", KEY)
    return cloud, neutron, Regions(cloud, neutron)


def _run(shared):
    class Env:
        pass
    env = Env()
    env.shared = shared
    return audit.reconcile(Key("sync_policy", P), env)


def _state(shared, region, pid="pol"):
    return shared.states[(pid, region)]


def test_enforce_creates_then_repairs_a_deleted_rule_and_stays_quiet(world):
    cloud, neutron, regions = world
    shared = Shared(regions, [_policy()])
    _run(shared)
    for region in (R2, R3):
        assert _state(shared, region)["state"] == "in_sync"
        assert _state(shared, region)["managed"] == ["app", "web"]
    web = neutron.named(R2, "web")
    ssh = [r for r in web["rules"] if r["port_range_min"] == 22][0]
    neutron.client(R2).delete_rule(ssh["id"])
    _run(shared)
    assert any(r["port_range_min"] == 22 for r in neutron.named(R2, "web")["rules"])
    assert _state(shared, R2)["repaired"] is True
    writes = len(neutron.writes())
    calls = shared.calls
    outcome = _run(shared)
    assert len(neutron.writes()) == writes               # converged: no write
    assert shared.calls - calls == 3 == outcome.result["calls"]  # one list per region


def test_observe_reports_the_missing_rule_and_writes_nothing(world):
    cloud, neutron, regions = world
    shared = Shared(regions, [_policy()])
    _run(shared)
    shared.rows = [_policy(on_drift="observe")]
    web = neutron.named(R3, "web")
    neutron.client(R3).delete_rule([r for r in web["rules"] if r["port_range_min"] == 22][0]
                                   ["id"])
    writes = len(neutron.writes())
    _run(shared)
    assert len(neutron.writes()) == writes
    state = _state(shared, R3)
    assert state["state"] == "drifted"
    assert "missing rules: ingress IPv4 tcp 22-22 from 10.0.0.0/8" in state["detail"][0]["detail"]
    assert _state(shared, R2)["state"] == "in_sync"


def test_identical_target_is_adopted_a_different_one_is_a_conflict(world):
    cloud, neutron, regions = world
    cloud.add_keypair(R2, U, "k1", KEY)                      # identical: adopted
    cloud.add_keypair(R3, U, "k1", "ssh-ed25519 BBBB other")  # someone else's
    shared = Shared(regions, [_policy(rtype="keypair", resources=["k1"])])
    _run(shared)
    assert _state(shared, R2)["state"] == "in_sync"
    assert _state(shared, R2)["managed"] == ["k1"]
    assert _state(shared, R3)["state"] == "conflict"
    assert cloud.keypairs[R3][(U, "k1")]["public_key"] == "ssh-ed25519 BBBB other"
    shared.rows = [_policy(rtype="keypair", resources=["k1"], force=True)]
    _run(shared)
    assert cloud.keypairs[R3][(U, "k1")]["public_key"] == KEY


def test_all_regions_includes_one_added_later_and_a_down_target_fails_alone(world):
    cloud, neutron, regions = world
    shared = Shared(regions, [_policy(rtype="keypair", resources=None)])
    cloud.down.add(R3)
    _run(shared)
    assert _state(shared, R2)["state"] == "in_sync"
    assert _state(shared, R3)["state"] == "failed"
    assert "unreachable" in _state(shared, R3)["detail"][0]["detail"]
    cloud.down.clear()
    cloud.regions.add("RegionFour")
    cloud.keypairs["RegionFour"] = {}
    _run(shared)
    assert cloud.keypairs["RegionFour"][(U, "k1")]["public_key"] == KEY
    assert _state(shared, R3)["state"] == "in_sync"


def test_source_delete_is_reported_and_propagated_only_when_asked(world):
    cloud, neutron, regions = world
    shared = Shared(regions, [_policy(rtype="keypair", resources=["k1"], targets=[R2])])
    _run(shared)
    del cloud.keypairs[R1][(U, "k1")]
    _run(shared)
    assert _state(shared, R2)["state"] == "drifted"
    assert "deleted in the source" in _state(shared, R2)["detail"][0]["detail"]
    assert (U, "k1") in cloud.keypairs[R2]
    shared.rows = [_policy(rtype="keypair", resources=["k1"], targets=[R2],
                           propagate_deletes=True)]
    _run(shared)
    assert (U, "k1") not in cloud.keypairs[R2]


def test_repair_after_a_crash_is_done_once(world):
    cloud, neutron, regions = world
    shared = Shared(regions, [_policy(targets=[R2])])
    real = neutron.client

    def crashing(region):
        client = real(region)
        if region == R2:
            def boom(*a, **k):
                raise SystemExit("killed")
            client.create_rules = boom
        return client

    neutron.client = crashing
    with pytest.raises(SystemExit):
        _run(shared)
    assert _state(shared, R2)["managed"] == ["app", "web"]   # recorded before creating
    neutron.client = real
    _run(shared)
    assert _state(shared, R2)["state"] == "in_sync"
    assert [g["name"] for g in neutron.groups[R2].values()].count("web") == 1
    assert [g["name"] for g in neutron.groups[R2].values()].count("app") == 1
