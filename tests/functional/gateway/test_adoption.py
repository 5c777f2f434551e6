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
        self.items = {"server": servers, "volume": volumes or {}, "snapshot": {},
                      "backup": {}, "transfer": {}}
        self.deleted, self.shown = [], []
        self.listed_late = set()     # ids the pod shows but its listing missed (a race)

    def tagged(self, pod, resource_type, tag):
        assert tag == routings.ROUTING_TAG
        return list(self.items[resource_type].get(pod, []))

    def present(self, pod, resource_type):
        assert resource_type != "transfer"   # transfers are not listed for forgetting
        return {i["id"] for i in self.items[resource_type].get(pod, [])}

    def exists(self, pod, resource_type, item_id):
        self.shown.append(item_id)
        return item_id in self.present(pod, resource_type) or item_id in self.listed_late

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
    assert routings.incomplete(db) == []
    # the adopted server's routing is watched from now on ([gateway] forget_deleted)
    assert gateway_routing.keys(janitor) == [Key(gateway_routing.KIND, "RegionTwo",
                                                 "RegionTwo")]
    db.set_override("forget_deleted", False, group="gateway")
    assert gateway_routing.keys(janitor) == []
    db.clear_override("forget_deleted", group="gateway")
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


def test_backups_are_adopted_and_transfers_forgotten(db, pod):
    """A backup is tagged as a volume is (from Cinder's 3.43); a transfer has no metadata:
    an interrupted one's routing is forgotten after the grace, and a completed transfer's
    routing is not visited for deletion (it goes at its delete or accept)."""
    db.set_override("adopt_grace", 0, group="gateway")
    made = routings.create(db, top_id="pending-b", pod_id=pod["pod_id"], project_id="p",
                           resource_type="backup")
    lost = routings.create(db, top_id="pending-t", pod_id=pod["pod_id"], project_id="p",
                           resource_type="transfer")
    offered = routings.create(db, top_id="t-1", pod_id=pod["pod_id"], project_id="p",
                              resource_type="transfer", bottom_id="t-1")
    janitor = FakeJanitor(db, {})
    janitor.items["backup"] = {"RegionTwo": [
        {"id": "bk-1", "created": "2026-12-03T10:00:00.000000", "tag": str(made["id"])}]}
    key = Key(gateway_routing.KIND, "RegionTwo", "RegionTwo")
    assert gateway_routing.keys(janitor) == [key]
    outcome = gateway_routing.reconcile(key, controller.Env(shared=janitor, conf=db,
                                                            engine_id="e"))
    assert set(outcome.result) == {"backup", "transfer"}
    assert routings.get(db, made["id"])["bottom_id"] == "bk-1"
    with pytest.raises(routings.RoutingNotFound):
        routings.get(db, lost["id"])
    assert routings.get(db, offered["id"])["bottom_id"] == "t-1"
    assert routings.incomplete(db) == [] and janitor.deleted == []
    db.clear_override("adopt_grace", group="gateway")


def test_routings_of_items_deleted_in_the_pod_are_forgotten(db, pod):
    """A server (volume) deleted without a later GET through the gateway: its routing is
    forgotten once the pod no longer lists it and answers 404; a listed item, an item the
    listing missed but the pod still shows, and a young routing are kept."""
    db.set_override("adopt_grace", 300, group="gateway")
    old = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(
        seconds=600)

    def made(top, resource_type="server", created=old):
        routing = routings.create(db, top_id=top, pod_id=pod["pod_id"], project_id="p",
                                  resource_type=resource_type, bottom_id=top)
        routings.update(db, routing["id"], {"created_at": created})
        return routing

    kept, gone, raced, young = made("vm-kept"), made("vm-gone"), made("vm-raced"), made(
        "vm-young", created=datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
    volume = made("vol-gone", "volume")
    janitor = FakeJanitor(db, {"RegionTwo": [
        {"id": "vm-kept", "created": "2026-12-03T10:00:00Z", "tag": "1"}]})
    janitor.listed_late = {"vm-raced"}
    key = Key(gateway_routing.KIND, "RegionTwo", "RegionTwo")
    assert gateway_routing.keys(janitor) == [key]
    outcome = gateway_routing.reconcile(key, controller.Env(shared=janitor, conf=db,
                                                            engine_id="e"))
    assert outcome.result["server"]["forgotten_deleted"] == ["vm-gone"]
    assert outcome.result["volume"]["forgotten_deleted"] == ["vol-gone"]
    for routing in (gone, volume):
        with pytest.raises(routings.RoutingNotFound):
            routings.get(db, routing["id"])
    for routing in (kept, raced, young):
        assert routings.get(db, routing["id"])["bottom_id"] == routing["top_id"]
    assert sorted(janitor.shown) == ["vm-gone", "vm-raced", "vol-gone"]  # confirmed first
    assert janitor.deleted == []

    db.set_override("forget_deleted", False, group="gateway")
    janitor.listed_late = set()
    gateway_routing.reconcile(key, controller.Env(shared=janitor, conf=db, engine_id="e"))
    assert routings.get(db, raced["id"])              # off: nothing forgotten
    db.clear_override("forget_deleted", group="gateway")
    db.clear_override("adopt_grace", group="gateway")
