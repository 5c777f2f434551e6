"""The gateway_routing kind against a database and a pod in memory: a gateway killed
between the routing and the pod's answer leaves a routing the engine adopts or forgets."""

import datetime

import pytest

from multisite.engine import controller
from multisite.objects import pods, routings
from multisite.reconcilers import Key, gateway_routing


class FakeJanitor:
    def __init__(self, conf, servers, volumes=None):
        self.conf = conf
        # type -> pod -> [{"id", "created", "tag"}]
        self.items = {"server": servers, "volume": volumes or {}, "snapshot": {}}
        self.deleted = []

    def tagged(self, pod, resource_type, tag):
        assert tag == routings.ROUTING_TAG
        return list(self.items[resource_type].get(pod, []))

    def delete(self, pod, resource_type, server_id):
        self.deleted.append((pod, server_id))


@pytest.fixture
def pod(db):
    pods.create(db, name="RegionOne")
    return pods.create(db, name="RegionTwo", az_name="az1")


def test_interrupted_creates_are_adopted_or_forgotten(db, pod):
    db.set_override("adopt_grace", 0, group="gateway")
    made = routings.create(db, top_id="pending-a", pod_id=pod["pod_id"], project_id="p",
                           resource_type="server")
    never = routings.create(db, top_id="pending-b", pod_id=pod["pod_id"], project_id="p",
                            resource_type="server")
    janitor = FakeJanitor(db, {"RegionTwo": [
        {"id": "vm-1", "created": "2026-12-03T10:00:00Z", "tag": str(made["id"])},
        {"id": "vm-dup", "created": "2026-12-03T10:00:05Z", "tag": str(made["id"])}]})
    assert gateway_routing.keys(janitor) == [Key(gateway_routing.KIND, "RegionTwo",
                                                 "RegionTwo")]
    env = controller.Env(shared=janitor, conf=db, engine_id="e")
    outcome = gateway_routing.reconcile(Key(gateway_routing.KIND, "RegionTwo", "RegionTwo"),
                                        env)
    assert outcome.status == "done"
    assert routings.get(db, made["id"])["bottom_id"] == "vm-1"
    assert routings.get(db, made["id"])["top_id"] == "vm-1"
    with pytest.raises(routings.RoutingNotFound):
        routings.get(db, never["id"])
    assert janitor.deleted == [("RegionTwo", "vm-dup")]
    assert routings.incomplete(db) == [] and gateway_routing.keys(janitor) == []
    db.clear_override("adopt_grace", group="gateway")


def test_a_create_in_flight_is_left_alone(db, pod):
    routings.create(db, top_id="pending-c", pod_id=pod["pod_id"], project_id="p",
                    resource_type="server")
    janitor = FakeJanitor(db, {})
    env = controller.Env(shared=janitor, conf=db, engine_id="e")
    gateway_routing.reconcile(Key(gateway_routing.KIND, "RegionTwo", "RegionTwo"), env)
    assert len(routings.incomplete(db)) == 1     # younger than [gateway] adopt_grace


def test_plan_uses_the_routing_age(db, pod):
    made = routings.create(db, top_id="pending-d", pod_id=pod["pod_id"], project_id="p",
                           resource_type="server")
    later = made["created_at"] + datetime.timedelta(seconds=301)
    decided = gateway_routing.plan(routings.incomplete(db), [], now=later, grace=300)
    assert decided.forget == [made["id"]]


def test_volumes_and_snapshots_are_adopted_or_forgotten_too(db, pod):
    db.set_override("adopt_grace", 0, group="gateway")
    made = routings.create(db, top_id="pending-v", pod_id=pod["pod_id"], project_id="p",
                           resource_type="volume")
    never = routings.create(db, top_id="pending-s", pod_id=pod["pod_id"], project_id="p",
                            resource_type="snapshot")
    janitor = FakeJanitor(db, {}, volumes={"RegionTwo": [
        {"id": "vol-1", "created": "2026-12-03T10:00:00.000000", "tag": str(made["id"])}]})
    key = Key(gateway_routing.KIND, "RegionTwo", "RegionTwo")
    assert gateway_routing.keys(janitor) == [key]
    outcome = gateway_routing.reconcile(key, controller.Env(shared=janitor, conf=db,
                                                            engine_id="e"))
    assert set(outcome.result) == {"volume", "snapshot"}
    assert routings.get(db, made["id"])["bottom_id"] == "vol-1"
    with pytest.raises(routings.RoutingNotFound):
        routings.get(db, never["id"])
    assert routings.incomplete(db) == [] and janitor.deleted == []
    db.clear_override("adopt_grace", group="gateway")
