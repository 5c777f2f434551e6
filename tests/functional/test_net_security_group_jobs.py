"""Security groups in the big region's pods (issue 17): the seg_rule_setup jobs run by the
kind `net_secgroup` over an in-memory Neutron per region (tests/unit/reconcilers/
fake_network.py): a group copied to two pods gets the group its remote-group rule names,
mapped to each pod's ids; a rule added or removed at the top follows; a converged project
costs no write; a pod down FAILs the job naming it while the other pod converges."""

import uuid

import pytest

from multisite.clients import network
from multisite.engine import controller, registry
from multisite.objects import jobs, pods, routings, work_items
from multisite.reconcilers import Key, TemporaryError, net_security_group
from tests.unit.reconcilers.fake_network import FakeNeutron

PROJECT = uuid.uuid4().hex
PODS = ("RegionTwo", "RegionThree")


@pytest.fixture
def world(db, monkeypatch):
    fake = FakeNeutron(("RegionOne", *PODS))
    monkeypatch.setattr(network, "for_region", lambda conf, region: fake.client(region))
    pods.create(db, name="RegionOne")
    pods.create(db, name="RegionTwo", az_name="az1")
    pods.create(db, name="RegionThree", az_name="az2")
    return fake


def seed(db, fake):
    """Top groups web (tcp 80 from anywhere) and db (tcp 5432 from web), db copied to both
    pods as the gateway copies a port's groups (its self-contained rules only)."""
    web = fake.add_group("RegionOne", PROJECT, "web")
    fake.add_rule("RegionOne", web["id"], direction="ingress", ethertype="IPv4",
                  protocol="tcp", port_range_min=80, port_range_max=80,
                  remote_ip_prefix="0.0.0.0/0")
    dbg = fake.add_group("RegionOne", PROJECT, "db")
    fake.add_rule("RegionOne", dbg["id"], direction="ingress", ethertype="IPv4",
                  protocol="tcp", port_range_min=5432, port_range_max=5432,
                  remote_group_id=web["id"])
    by_name = {p["pod_name"]: p for p in pods.list_pods(db)}
    for pod in PODS:
        copy = fake.add_group(pod, PROJECT, dbg["id"],
                              description="multisite: top security group db")
        routings.create(db, top_id=dbg["id"], pod_id=by_name[pod]["pod_id"],
                        project_id=PROJECT, resource_type="security_group",
                        bottom_id=copy["id"])
    return web, dbg


def run(db):
    env = controller.Env(shared=net_security_group.Networks(db), conf=db, engine_id="test")
    return net_security_group.reconcile(Key(net_security_group.KIND, PROJECT), env)


def job(db):
    return jobs.create(db, project_id=PROJECT, job_type="seg_rule_setup",
                       resource={"project_id": PROJECT})


def remote_rules(fake, pod, group_name):
    group = fake.named(pod, group_name)
    return [(r["port_range_min"], r["remote_group_id"]) for r in group["rules"]
            if r["remote_group_id"]]


def test_copies_get_their_referenced_groups_mapped_and_follow_the_top(db, world):
    web, dbg = seed(db, world)
    first = job(db)
    assert [i["key_id"] for i in work_items.list_items(
        db, kind=net_security_group.KIND)] == [PROJECT]
    outcome = run(db)
    assert outcome.status == "done", outcome
    assert jobs.get(db, first["id"])["status"] == "SUCCESS"
    pod_ids = {p["pod_name"]: p["pod_id"] for p in pods.list_pods(db)}
    for pod in PODS:
        copy_web = world.named(pod, web["id"])        # made in the pod, named the top id
        assert remote_rules(world, pod, dbg["id"]) == [(5432, copy_web["id"])]
        assert [(r["direction"], r["port_range_min"], r["remote_ip_prefix"])
                for r in copy_web["rules"] if r["direction"] == "ingress"] == [
            ("ingress", 80, "0.0.0.0/0")]
        (routed,) = [r for r in routings.find(db, top_id=web["id"],
                                              resource_type="security_group")
                     if r["pod_id"] == pod_ids[pod]]
        assert routed["bottom_id"] == copy_web["id"]
    # nothing changed: no write in any region
    before = len(world.writes())
    job(db)
    assert run(db).status == "done"
    assert world.writes()[before:] == []
    # a rule added at the top, another removed: both pods follow
    world.add_rule("RegionOne", dbg["id"], direction="ingress", ethertype="IPv4",
                   protocol="tcp", port_range_min=22, port_range_max=22,
                   remote_group_id=dbg["id"])
    top_web = world.groups["RegionOne"][web["id"]]
    top_web["rules"] = [r for r in top_web["rules"] if r["direction"] != "ingress"]
    job(db)
    assert run(db).status == "done"
    for pod in PODS:
        copy_db = world.named(pod, dbg["id"])
        assert sorted(remote_rules(world, pod, dbg["id"])) == [
            (22, copy_db["id"]), (5432, world.named(pod, web["id"])["id"])]
        assert [r for r in world.named(pod, web["id"])["rules"]
                if r["direction"] == "ingress"] == []


def test_a_pod_down_fails_the_job_naming_it_and_the_other_pod_converges(db, world):
    web, dbg = seed(db, world)
    made = job(db)
    world.down.add("RegionThree")
    with pytest.raises(TemporaryError, match="pod RegionThree: .*unreachable"):
        run(db)
    failed = jobs.get(db, made["id"])
    assert failed["status"] == "FAIL" and failed["error"].startswith("pod RegionThree: ")
    assert remote_rules(world, "RegionTwo", dbg["id"]) == [
        (5432, world.named("RegionTwo", web["id"])["id"])]
    world.down.clear()
    jobs.redo(db, made["id"])
    assert run(db).status == "done"
    assert jobs.get(db, made["id"])["status"] == "SUCCESS"
    assert remote_rules(world, "RegionThree", dbg["id"]) == [
        (5432, world.named("RegionThree", web["id"])["id"])]


def test_a_project_with_no_copies_writes_nothing(db, world):
    world.add_group("RegionOne", PROJECT, "lonely")
    made = job(db)
    assert run(db).status == "done"
    assert jobs.get(db, made["id"])["status"] == "SUCCESS"
    assert world.writes() == [] and world.calls == []


def test_the_kind_is_registered_with_leases():
    (kind,) = [k for k in registry.KINDS if k.name == net_security_group.KIND]
    assert kind.leases is not None
