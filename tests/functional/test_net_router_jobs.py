"""Router jobs (issue 17) over an in-memory Neutron per region: a pod down leaves the job
FAIL with its reason while the other pod is configured; back up, a redo converges it; a
converged router's redo writes nothing; and the engine runs a job created by the API
layer (its work item claimed, the job SUCCESS)."""

import collections
import copy
import uuid

import pytest

from multisite.clients import router_network
from multisite.clients import session as region_errors
from multisite.engine import controller, service
from multisite.objects import jobs, pods
from multisite.reconcilers import Key, TemporaryError, net_router
from tests.polling import wait_for

PROJECT = uuid.uuid4().hex


class FakeNeutrons:
    """Networks, subnets, ports and routers of every region, as the client sees them."""

    def __init__(self):
        self.items = collections.defaultdict(lambda: collections.defaultdict(dict))
        self.down = set()
        self.writes = collections.Counter()

    def client(self, conf):
        return FakeClient(self)


class FakeClient:
    def __init__(self, world):
        self.world, self.writes = world, collections.Counter()

    def _check(self, region, write=False):
        if region in self.world.down:
            raise region_errors.Unavailable(region, "unreachable")
        if write:
            self.writes[region] += 1

    def get(self, region, collection, item_id):
        self._check(region)
        found = self.world.items[region][collection].get(item_id)
        return copy.deepcopy(found)

    def find(self, region, collection, **filters):
        self._check(region)

        def match(item):
            for key, value in filters.items():
                wanted = value if isinstance(value, list) else [value]
                if item.get(key) not in wanted:
                    return False
            return True
        return [copy.deepcopy(i) for i in self.world.items[region][collection].values()
                if match(i)]

    def find_many(self, region, collection, key, values):
        return self.find(region, collection, **{key: list(values)})

    def create(self, region, collection, body):
        self._check(region, write=True)
        item = dict(body, id=str(uuid.uuid4()))
        if collection == "routers":
            item.setdefault("routes", [])
            item.setdefault("external_gateway_info", None)
        self.world.items[region][collection][item["id"]] = item
        return copy.deepcopy(item)

    def delete(self, region, collection, item_id):
        self._check(region, write=True)
        self.world.items[region][collection].pop(item_id, None)

    def update_router(self, region, router_id, changes):
        self._check(region, write=True)
        self.world.items[region]["routers"][router_id].update(copy.deepcopy(changes))
        return copy.deepcopy(self.world.items[region]["routers"][router_id])

    def router_interface(self, region, router_id, subnet_id, *, add):
        self._check(region, write=True)
        ports = self.world.items[region]["ports"]
        if add:
            port_id = str(uuid.uuid4())
            ports[port_id] = {"id": port_id, "device_id": router_id,
                              "device_owner": "network:router_interface",
                              "fixed_ips": [{"subnet_id": subnet_id}]}
        else:
            for port_id, port in list(ports.items()):
                if port["device_id"] == router_id and \
                        port["fixed_ips"][0]["subnet_id"] == subnet_id:
                    del ports[port_id]


def seed_top(world, cidrs):
    """A top router with one interface per (zone, cidr); returns the router id."""
    top = world.items["RegionOne"]
    router = "top-router"
    top["routers"][router] = {"id": router, "project_id": PROJECT}
    for zone, cidr in cidrs:
        net, sub = f"net-{zone}", f"sub-{zone}"
        top["networks"][net] = {"id": net, "project_id": PROJECT,
                                "tags": [f"multisite-az:{zone}"], "name": net}
        top["subnets"][sub] = {"id": sub, "network_id": net, "project_id": PROJECT,
                               "ip_version": 4, "cidr": cidr, "gateway_ip": None}
        top["ports"][f"p-{zone}"] = {"id": f"p-{zone}", "device_id": router,
                                     "device_owner": "network:router_interface",
                                     "fixed_ips": [{"subnet_id": sub}]}
    return router


@pytest.fixture
def world(db):
    pods.create(db, name="RegionOne")
    pods.create(db, name="RegionTwo", az_name="az1")
    pods.create(db, name="RegionThree", az_name="az2")
    return FakeNeutrons()


def run(db, world, router_id):
    """One pass of the kind over the router's work item: (outcome, writes per pod)."""
    client = world.client(db)
    env = controller.Env(shared=client, conf=db, engine_id="test")
    return net_router.reconcile(Key(net_router.KIND, router_id), env), client.writes


def region_zone(region):
    return {"RegionTwo": 1, "RegionThree": 2, "RegionFour": 3}[region]


def routes(world, region):
    (router,) = world.items[region]["routers"].values()
    return sorted((r["destination"], r["nexthop"]) for r in router["routes"])


def test_a_pod_down_fails_the_job_with_its_reason_and_the_other_pod_is_configured(
        db, world):
    router = seed_top(world, [("az1", "10.0.1.0/24"), ("az2", "10.0.2.0/24")])
    job = jobs.create(db, project_id=PROJECT, job_type="configure_route",
                      resource={"router_id": router})
    world.down.add("RegionThree")
    with pytest.raises(TemporaryError, match="pod RegionThree: .*unreachable"):
        run(db, world, router)
    failed = jobs.get(db, job["id"])
    assert failed["status"] == "FAIL" and "RegionThree" in failed["error"]
    assert routes(world, "RegionTwo") == [("10.0.2.0/24", "100.64.0.2")]
    world.down.clear()
    jobs.redo(db, job["id"])
    outcome, writes = run(db, world, router)
    assert outcome.status == "done" and jobs.get(db, job["id"])["status"] == "SUCCESS"
    assert writes == {"RegionThree": 8}            # RegionTwo was already right
    assert routes(world, "RegionThree") == [("10.0.1.0/24", "100.64.0.1")]
    again = jobs.create(db, project_id=PROJECT, job_type="configure_route",
                        resource={"router_id": router})
    outcome, writes = run(db, world, router)
    assert writes == {} and jobs.get(db, again["id"])["error"] is None
    assert jobs.get(db, again["id"])["status"] == "SUCCESS"
    assert run(db, world, router)[0].status == "done"      # no open job: nothing asked


def test_jobs_of_one_router_run_together_and_a_job_added_meanwhile_runs_next(db, world,
                                                                               monkeypatch):
    router = seed_top(world, [("az1", "10.0.1.0/24"), ("az2", "10.0.2.0/24")])
    pod_ids = {p["pod_name"]: p["pod_id"] for p in pods.list_pods(db)}
    made = [jobs.create(db, project_id=PROJECT, job_type="router_setup", resource={
        "pod_id": pod_ids[pod], "router_id": router, "network_id": f"net-{zone}"})
        for pod, zone in (("RegionTwo", "az1"), ("RegionThree", "az2"))]
    converge = net_router.converge

    def meanwhile(*args):
        found = converge(*args)
        jobs.create(db, project_id=PROJECT, job_type="configure_route",
                resource={"router_id": router})
        return found
    monkeypatch.setattr(net_router, "converge", meanwhile)
    outcome, writes = run(db, world, router)
    assert [jobs.get(db, j["id"])["status"] for j in made] == ["SUCCESS", "SUCCESS"]
    assert outcome.status == "requeue" and outcome.delay == 0
    assert writes == {"RegionTwo": 8, "RegionThree": 8}


def test_a_third_pod_and_a_deleted_router(db, world):
    pods.create(db, name="RegionFour", az_name="az3")
    router = seed_top(world, [("az1", "10.0.1.0/24"), ("az2", "10.0.2.0/24")])
    jobs.create(db, project_id=PROJECT, job_type="configure_route",
                resource={"router_id": router})
    run(db, world, router)
    seed_top(world, [("az3", "10.0.3.0/24")])
    jobs.create(db, project_id=PROJECT, job_type="configure_route",
                resource={"router_id": router})
    _, writes = run(db, world, router)
    assert writes == {"RegionTwo": 1, "RegionThree": 1, "RegionFour": 8}
    assert routes(world, "RegionTwo") == [("10.0.2.0/24", "100.64.0.2"),
                                          ("10.0.3.0/24", "100.64.0.3")]
    segs = {n["provider:segmentation_id"] for r in ("RegionTwo", "RegionThree", "RegionFour")
            for n in world.items[r]["networks"].values() if n["name"].startswith("bridge-")}
    assert segs == {2000}
    del world.items["RegionOne"]["routers"][router]
    jobs.create(db, project_id=PROJECT, job_type="configure_route",
                resource={"router_id": router})
    outcome, _ = run(db, world, router)
    assert outcome.status == "done"
    for region in ("RegionTwo", "RegionThree", "RegionFour"):
        assert not world.items[region]["routers"]
        assert [n["name"] for n in world.items[region]["networks"].values()] == [
            f"net-az{region_zone(region)}"]        # the bridge network went, net1 stays


def test_a_pods_bridge_network_with_another_segment_fails_the_job_there(db, world):
    router = seed_top(world, [("az1", "10.0.1.0/24"), ("az2", "10.0.2.0/24")])
    world.items["RegionThree"]["networks"]["made-by-hand"] = {
        "id": "made-by-hand", "name": net_router.bridge_name(PROJECT),
        "provider:segmentation_id": 2500}
    job = jobs.create(db, project_id=PROJECT, job_type="configure_route",
                      resource={"router_id": router})
    with pytest.raises(TemporaryError, match="pod RegionThree: bridge network "
                                             f"bridge-{PROJECT} has segmentation id 2500, "
                                             "the project's is 2000"):
        run(db, world, router)
    assert "RegionThree" in jobs.get(db, job["id"])["error"]
    assert not world.items["RegionThree"]["routers"]            # nothing written there
    assert routes(world, "RegionTwo") == [("10.0.2.0/24", "100.64.0.2")]
    world.items["RegionThree"]["networks"]["made-by-hand"]["provider:segmentation_id"] = 2000
    jobs.redo(db, job["id"])
    outcome, writes = run(db, world, router)
    assert outcome.status == "done" and writes == {"RegionThree": 7}   # its bridge is right


def test_overlapping_cidrs_of_two_pods_fail_the_job(db, world):
    router = seed_top(world, [("az1", "10.0.0.0/16"), ("az2", "10.0.2.0/24")])
    job = jobs.create(db, project_id=PROJECT, job_type="configure_route",
                      resource={"router_id": router})
    with pytest.raises(Exception, match="overlapping CIDRs"):
        run(db, world, router)
    error = jobs.get(db, job["id"])["error"]
    assert "10.0.0.0/16" in error and "10.0.2.0/24" in error


def test_the_engine_runs_a_job(db, world, monkeypatch):
    monkeypatch.setattr(router_network, "RouterNetwork", world.client)
    db.set_override("scan_interval", 0.2, group="network")
    router = seed_top(world, [("az1", "10.0.1.0/24"), ("az2", "10.0.2.0/24")])
    worker = service.EngineService(db)
    worker.start()
    try:
        job = jobs.create(db, project_id=PROJECT, job_type="configure_route",
                          resource={"router_id": router})
        wait_for(lambda: jobs.get(db, job["id"])["status"] == "SUCCESS", timeout=30,
                 what="the router job run by the engine")
        assert routes(world, "RegionTwo") == [("10.0.2.0/24", "100.64.0.2")]
    finally:
        worker.stop(graceful=False)
        db.clear_override("scan_interval", group="network")
