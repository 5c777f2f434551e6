"""Policy audits on the in-memory regions: states, enforce/observe, adoption, cheap passes."""

import pytest

from multisite.reconcilers import Key
from multisite.reconcilers import sync_policy as audit
from tests.unit.reconcilers.fake_network import FakeNeutron
from tests.unit.reconcilers.fake_regions import FakeCloud, FakeCompute, FakeImage

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

    def image(self, region):
        return FakeImage(self.cloud, region)

    def known(self):
        return set(self.cloud.regions)

    def of_project(self, project_id):
        return set(self.cloud.regions) - self.cloud.filtered_out.get(project_id, set())


class Shared:
    """The engine's AuditEnv, with the policy rows in memory."""

    def __init__(self, regions, policies):
        self.regions, self.rows, self.states, self.calls = regions, policies, {}, 0
        self.memo, self.steady = {}, {}

    def policies(self, project_id):
        return [dict(p, targets_state={r: s for (pid, r), s in self.states.items()
                                       if pid == p["id"]}) for p in self.rows]

    def record_pass(self, records, policies):
        for r in records:
            entry = self.states.setdefault((r["policy_id"], r["region"]), {"managed": []})
            entry.update(state=r["state"], detail=r["detail"],
                         repaired=r.get("repaired", False))
            if r.get("managed") is not None:
                entry["managed"] = sorted(r["managed"])

    def set_managed(self, *, policy_id, region, managed):
        self.states.setdefault((policy_id, region), {"managed": []})["managed"] = sorted(
            managed)

    def pass_calls(self, calls, *, parsed=0):
        self.calls += calls


def _policy(pid="pol", rtype="security_group", **kw):
    return {"id": pid, "project_id": P, "user_id": U, "resource_type": rtype,
            "resources": ["web"], "source": R1, "targets": None, "on_drift": "enforce",
            "propagate_deletes": False, "force": False, **kw}


@pytest.fixture
def world():
    cloud, neutron = FakeCloud(), FakeNeutron()
    cloud.filtered_out = {}             # project -> regions its endpoint filter leaves out
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
    outcome = _run(shared)
    assert outcome.result["parsed"] == 0        # the same answers: none parsed again
    assert {_state(shared, r)["state"] for r in (R2, R3)} == {"in_sync"}


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


def test_all_regions_are_the_projects_endpoint_filter_regions(world):
    cloud, neutron, regions = world
    cloud.filtered_out[P] = {R3}
    shared = Shared(regions, [_policy(rtype="keypair", resources=None)])
    _run(shared)
    assert (U, "k1") in cloud.keypairs[R2] and (U, "k1") not in cloud.keypairs[R3]
    assert ("pol", R3) not in shared.states
    cloud.filtered_out[P] = set()       # RegionThree associated with the project later
    _run(shared)
    assert cloud.keypairs[R3][(U, "k1")]["public_key"] == KEY


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


# -- flavors (admin policies) and images --------------------------------------------------------
def _flavor_world(world):
    cloud, neutron, regions = world
    cloud.add_flavor(R1, "m1.web", flavor_id="f-web", specs={"hw:cpu_policy": "dedicated"})
    cloud.add_flavor(R1, "m1.priv", flavor_id="f-priv", is_public=False, access=["p9"])
    return cloud, regions


def test_flavor_policy_creates_reports_drift_and_repairs(world):
    cloud, regions = _flavor_world(world)
    shared = Shared(regions, [_policy(rtype="flavor", resources=None, targets=[R2],
                                      on_drift="observe")])
    _run(shared)
    state = _state(shared, R2)
    assert state["state"] == "missing"
    assert {f["resource"] for f in state["detail"]} == {"m1.web", "m1.priv"}
    assert cloud.flavors[R2] == {}                                    # observe: no write
    shared.rows = [_policy(rtype="flavor", resources=None, targets=[R2])]
    _run(shared)
    assert _state(shared, R2)["state"] == "in_sync"
    assert cloud.flavors[R2]["f-web"]["name"] == "m1.web"              # the source id kept
    assert cloud.specs[R2]["f-web"] == {"hw:cpu_policy": "dedicated"}
    assert cloud.access[R2]["f-priv"] == ["p9"]
    # drift: an extra spec removed, then the flavor replaced by another of the same name
    cloud.specs[R2]["f-web"] = {}
    shared.rows = [_policy(rtype="flavor", resources=None, targets=[R2],
                           on_drift="observe")]
    _run(shared)
    assert _state(shared, R2)["state"] == "drifted"
    assert "extra spec hw:cpu_policy" in _state(shared, R2)["detail"][0]["detail"]
    shared.rows = [_policy(rtype="flavor", resources=None, targets=[R2])]
    _run(shared)
    assert cloud.specs[R2]["f-web"] == {"hw:cpu_policy": "dedicated"}
    del cloud.flavors[R2]["f-web"]
    cloud.add_flavor(R2, "m1.web", flavor_id="other", ram=4096)
    _run(shared)
    web = [f for f in cloud.flavors[R2].values() if f["name"] == "m1.web"]
    assert len(web) == 1 and web[0]["ram"] == 512
    calls = len(cloud.calls)
    _run(shared)
    assert _state(shared, R2)["state"] == "in_sync"
    # one flavor list per region, one access read per private flavor and region
    assert sorted(c[1] for c in cloud.calls[calls:]) == ["get flavor access"] * 2 + [
        "list flavors"] * 2


def test_flavor_policy_audits_and_repairs_the_access_list(world):
    cloud, regions = _flavor_world(world)
    observe = [_policy(rtype="flavor", resources=["m1.priv"], targets=[R2],
                       on_drift="observe")]
    shared = Shared(regions, [dict(observe[0], on_drift="enforce")])
    _run(shared)
    assert cloud.access[R2]["f-priv"] == ["p9"]
    # in the target: access granted to another project, and the source's revoked
    cloud.access[R2]["f-priv"] = ["p8"]
    shared.rows = observe
    writes = [c for c in cloud.calls if "access" in c[1] and "get" not in c[1]]
    _run(shared)
    state = _state(shared, R2)
    assert state["state"] == "drifted"
    assert state["detail"][0]["detail"] == ("flavor m1.priv access differs in the target "
                                            "(projects missing: p9; projects not in the "
                                            "source: p8)")
    assert [c for c in cloud.calls if "access" in c[1] and "get" not in c[1]] == writes
    assert cloud.access[R2]["f-priv"] == ["p8"]                       # observe: no write
    shared.rows = [dict(observe[0], on_drift="enforce")]
    _run(shared)
    assert _state(shared, R2)["state"] == "in_sync"
    assert cloud.access[R2]["f-priv"] == ["p9"]
    assert "f-priv" in cloud.flavors[R2]                 # repaired in place, not replaced
    _run(shared)
    assert _state(shared, R2)["state"] == "in_sync" and _state(shared, R2)["detail"] == []


def test_a_foreign_private_flavor_with_another_access_list_is_a_conflict(world):
    cloud, regions = _flavor_world(world)
    cloud.add_flavor(R2, "m1.priv", flavor_id="theirs", is_public=False, access=["p7"])
    shared = Shared(regions, [_policy(rtype="flavor", resources=["m1.priv"], targets=[R2])])
    _run(shared)
    state = _state(shared, R2)
    assert state["state"] == "conflict" and "projects missing: p9" in state["detail"][0][
        "detail"]
    assert cloud.access[R2]["theirs"] == ["p7"]                       # not ours: untouched


def test_a_foreign_flavor_of_the_same_name_is_a_conflict_until_forced(world):
    cloud, regions = _flavor_world(world)
    cloud.add_flavor(R2, "m1.web", flavor_id="theirs", vcpus=8)
    shared = Shared(regions, [_policy(rtype="flavor", resources=["m1.web"], targets=[R2])])
    _run(shared)
    state = _state(shared, R2)
    assert state["state"] == "conflict"
    assert "vcpus" in state["detail"][0]["detail"]
    assert cloud.flavors[R2]["theirs"]["vcpus"] == 8
    shared.rows = [_policy(rtype="flavor", resources=["m1.web"], targets=[R2], force=True)]
    _run(shared)
    web = [f for f in cloud.flavors[R2].values() if f["name"] == "m1.web"]
    assert [f["vcpus"] for f in web] == [1]


def _image_world(world):
    cloud, neutron, regions = world
    img = cloud.add_image(R1, owner=P, name="ubuntu", data=b"x" * 5000)
    cloud.add_image(R1, owner="someone-else", name="theirs")
    return cloud, regions, img


def test_image_policy_copies_adopts_and_recopies_a_deleted_copy_under_a_new_id(world):
    cloud, regions, img = _image_world(world)
    cloud.add_image(R3, owner=P, name="ubuntu", data=b"x" * 5000, image_id=img["id"])
    shared = Shared(regions, [_policy(rtype="image", resources=None)])
    _run(shared)
    for region in (R2, R3):
        assert _state(shared, region)["state"] == "in_sync"
        assert _state(shared, region)["managed"] == [img["id"]]
    assert cloud.data[R2][img["id"]] == b"x" * 5000
    assert all(i["name"] != "theirs" for i in cloud.images[R2].values())   # only P's
    # deleted in R2: Glance never reuses the id, so the copy is made under a derived one
    del cloud.images[R2][img["id"]]
    shared.rows = [_policy(rtype="image", resources=None, on_drift="observe")]
    _run(shared)
    assert _state(shared, R2)["state"] == "missing"
    shared.rows = [_policy(rtype="image", resources=None)]
    _run(shared)
    assert _state(shared, R2)["state"] == "in_sync"
    copies = [i for i in cloud.images[R2].values() if i["name"] == "ubuntu"]
    assert len(copies) == 1 and copies[0]["id"] != img["id"]
    assert copies[0]["checksum"] == img["checksum"]
    writes = len([c for c in cloud.calls if not c[1].startswith("list")])
    _run(shared)
    assert len([c for c in cloud.calls if not c[1].startswith("list")]) == writes
    assert _state(shared, R2)["state"] == "in_sync"


def test_image_copy_interrupted_is_resumed_once_and_a_foreign_image_is_a_conflict(world):
    cloud, regions, img = _image_world(world)
    cloud.images[R3][img["id"]] = dict(img, checksum="0" * 32, owner=P)   # not ours
    cloud.used_image_ids[R3].add(img["id"])
    shared = Shared(regions, [_policy(rtype="image", resources=[img["id"]], targets=[R2, R3])])
    real = FakeImage.upload

    def killed(self, image_id, stream, *, size):
        raise SystemExit("killed")

    FakeImage.upload = killed
    try:
        with pytest.raises(SystemExit):
            _run(shared)
    finally:
        FakeImage.upload = real
    assert _state(shared, R2)["managed"] == [img["id"]]     # recorded before creating
    assert cloud.images[R2][img["id"]]["status"] == "queued"
    _run(shared)
    assert _state(shared, R2)["state"] == "in_sync"
    assert [i["id"] for i in cloud.images[R2].values()] == [img["id"]]
    assert _state(shared, R3)["state"] == "conflict"
    assert cloud.images[R3][img["id"]]["checksum"] == "0" * 32


def test_an_audit_holds_its_projects_lock_in_the_engine(world):
    """The on-demand audit and the periodic one of a project never run at once in one
    engine (both would create the same missing group): reconcile takes the env's lock."""
    import contextlib

    cloud, neutron, regions = world
    shared = Shared(regions, [_policy(targets=[R2])])
    held = []

    @contextlib.contextmanager
    def project_lock(project_id):
        held.append(("enter", project_id, len(neutron.writes())))
        yield
        held.append(("exit", project_id, len(neutron.writes())))

    shared.project_lock = project_lock
    _run(shared)
    assert [h[:2] for h in held] == [("enter", P), ("exit", P)]
    assert held[0][2] == 0 < held[1][2]       # every write made while holding it


def _steady_world(world, case):
    """(policy, a function that makes the target R2 drift) of each type."""
    cloud, neutron, regions = world
    if case == "keypair":
        return _policy(rtype="keypair", resources=["k1"]), lambda: cloud.keypairs[R2].pop(
            (U, "k1"))
    if case in ("flavor", "private flavor"):
        cloud.add_flavor(R1, "m1.web", flavor_id="f-web", specs={"hw:cpu_policy": "x"})
        cloud.add_flavor(R1, "m1.priv", flavor_id="f-priv", is_public=False, access=["p9"])
        if case == "flavor":
            return (_policy(rtype="flavor", resources=["m1.web"]),
                    lambda: cloud.specs[R2].__setitem__("f-web", {}))
        return (_policy(rtype="flavor", resources=["m1.priv"]),
                lambda: cloud.access[R2].__setitem__("f-priv", ["p8"]))
    if case == "image":
        img = cloud.add_image(R1, owner=P, name="ubuntu", data=b"x" * 100)
        return _policy(rtype="image", resources=None), lambda: cloud.images[R2].pop(
            img["id"])

    def drift():
        web = neutron.named(R2, "web")
        neutron.client(R2).delete_rule([r for r in web["rules"] if r["port_range_min"] == 22]
                                       [0]["id"])
    return _policy(), drift


@pytest.mark.parametrize("case", ["keypair", "flavor", "private flavor", "image",
                                  "security_group"])
def test_an_unchanged_pass_reuses_the_last_outcome_and_a_drift_is_still_repaired(world,
                                                                                   case):
    cloud, neutron, regions = world
    policy, drift = _steady_world(world, case)
    shared = Shared(regions, [policy])
    results = [_run(shared).result for _ in range(4)]
    assert {_state(shared, r)["state"] for r in (R2, R3)} == {"in_sync"}
    if case == "private flavor":
        # its access lists are read beyond the list calls: every pass audits
        assert not any(r.get("reused") for r in results)
    else:
        assert results[-1]["reused"] is True
        assert results[-1]["parsed"] == 0 and results[-1]["calls"] == 3  # one list each
    # only a target's answer changes (same policy, same recorded states): audited again
    drift()
    result = _run(shared).result
    assert not result.get("reused")
    assert _state(shared, R2)["repaired"] is True
    assert _state(shared, R3)["repaired"] is False
    assert [_run(shared).result.get("reused") for _ in range(3)][-1] is (
        None if case == "private flavor" else True)
