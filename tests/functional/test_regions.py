"""Region health and capacity: the kinds' reconcile on a real database, read through /v2.

The prober is an in-memory stand-in at the clients/ boundary (the real one is
exercised against the devcloud in tests/integration/test_regions.py).
"""

import json
import threading

import pytest
import webob

from multisite.api import app as api_app
from multisite.engine import controller
from multisite.objects import events, regions
from multisite.reconcilers import region_capacity, region_health

ADMIN = {"X-Project-Id": "0123456789abcdef0123456789abcdef", "X-User-Id": "op",
         "X-Roles": "admin"}
MEMBER = {"X-Project-Id": "fedcba9876543210fedcba9876543210", "X-Roles": "member"}
URLS = {"identity": "http://k/v3", "compute": "http://a/v2.1", "image": "http://a:9292"}


class FakeProber:
    def __init__(self):
        self.catalog = {"RegionA": dict(URLS), "RegionB": dict(URLS)}
        self.down = set()          # (region, service)
        self.capacity = {}

    def endpoints(self):
        return self.catalog

    def probe_region(self, region, services):
        return {s: {"reachable": (region, s) not in self.down,
                    "version": "2.1", "latency_ms": 3.5,
                    "error": "connection refused" if (region, s) in self.down else None,
                    "services": {"up": 1, "down": 0, "disabled": 0, "total": 1}
                    if s == "compute" else None} for s in services}

    def read_capacity(self, region, services):
        return self.capacity[region]


@pytest.fixture
def prober():
    return FakeProber()


def run(kind, db, prober):
    env = controller.Env(shared=prober, conf=db, engine_id="test")
    lister = (region_health.keys(prober, db) if kind is region_health
              else region_capacity.keys(prober))
    for key in lister:
        kind.reconcile(key, env)


def get(app, url, headers=ADMIN):
    resp = webob.Request.blank(url, headers=headers).get_response(app)
    return resp.status_int, json.loads(resp.body)


def test_probe_rounds_transitions_and_catalog_removal(db, prober):
    app = api_app.build_app(db)
    run(region_health, db, prober)
    status, body = get(app, "/v2/regions")
    assert status == 200
    assert [r["name"] for r in body["regions"]] == ["RegionA", "RegionB"]
    a = body["regions"][0]
    assert a["status"] == "up"
    assert set(a["services"]) == set(URLS)
    compute = a["services"]["compute"]
    assert compute["reachable"] is True and compute["consecutive_failures"] == 0
    assert compute["service_status"] == {"up": 1, "down": 0, "disabled": 0, "total": 1}
    assert compute["probed_at"].endswith("Z") and compute["latency_ms"] == 3.5

    prober.down.add(("RegionB", "compute"))
    run(region_health, db, prober)
    run(region_health, db, prober)         # still down: counted, not reported again
    _, b = get(app, "/v2/regions/RegionB")
    assert b["region"]["status"] == "degraded"
    assert b["region"]["services"]["compute"]["consecutive_failures"] == 2
    assert b["region"]["services"]["compute"]["last_error"] == "connection refused"
    _, feed = get(app, "/v2/events?all_projects=true&region=RegionB")
    assert [e["event_type"] for e in feed["events"]] == ["region.down"]

    prober.down.clear()
    run(region_health, db, prober)
    _, feed = get(app, "/v2/events?all_projects=true&event_type=region.*")
    assert [e["event_type"] for e in feed["events"]] == ["region.up", "region.down"]

    del prober.catalog["RegionB"]["identity"]      # its Keystone endpoint is gone
    run(region_health, db, prober)
    _, body = get(app, "/v2/regions")
    assert [r["name"] for r in body["regions"]] == ["RegionA"]
    assert get(app, "/v2/regions/RegionB")[0] == 404
    _, feed = get(app, "/v2/events?all_projects=true&event_type=region.removed")
    assert [e["region"] for e in feed["events"]] == ["RegionB"]


def test_regions_pagination_and_member_access(db, prober):
    prober.catalog = {f"R{n:02d}": dict(URLS) for n in range(5)}
    run(region_health, db, prober)
    app = api_app.build_app(db)
    status, page = get(app, "/v2/regions?limit=2", headers=MEMBER)
    assert status == 200
    names = [r["name"] for r in page["regions"]]
    while page["links"]:
        _, page = get(app, page["links"][0]["href"], headers=MEMBER)
        names += [r["name"] for r in page["regions"]]
    assert names == [f"R{n:02d}" for n in range(5)]
    assert get(app, "/v2/capacity", headers=MEMBER)[0] == 403


def test_capacity_keeps_last_figures_when_a_region_fails(db, prober):
    app = api_app.build_app(db)
    run(region_health, db, prober)
    figures = {"vcpus": 16, "vcpus_used": 4}
    prober.capacity = {"RegionA": {"compute": (figures, None)},
                       "RegionB": {"compute": ({"vcpus": 8, "vcpus_used": 8}, None)}}
    run(region_capacity, db, prober)
    prober.capacity["RegionB"] = {"compute": (None, "RegionB: timed out")}
    run(region_capacity, db, prober)
    status, body = get(app, "/v2/capacity")
    assert status == 200
    total = body["capacity"]["total"]["compute"]
    assert total == {"regions_counted": 2, "vcpus": 24, "vcpus_used": 12}
    b = body["capacity"]["regions"][1]
    assert b["compute"]["stale"] is True and b["compute"]["error"] == "RegionB: timed out"
    assert b["compute"]["figures"] == {"vcpus": 8, "vcpus_used": 8}   # never zeros
    _, one = get(app, "/v2/capacity/RegionA")
    assert [r["name"] for r in one["capacity"]["regions"]] == ["RegionA"]
    filtered = get(app, "/v2/capacity?region=RegionA")[1]["capacity"]
    assert filtered["total"] == one["capacity"]["total"] == {
        "compute": {"regions_counted": 1, **figures}}
    assert get(app, "/v2/capacity/Nowhere")[0] == 404


def test_probes_arriving_together_are_written_in_shared_transactions(db, monkeypatch):
    """record_probe: every caller gets its own plan and rows; a plan that fails fails its
    region only; concurrent callers share transactions (fewer commits than regions)."""
    writes = []
    real = regions._write_probes
    monkeypatch.setattr(regions, "_write_probes",
                        lambda engine, batch: (writes.append(len(batch)),
                                               real(engine, batch)))
    start = threading.Barrier(20)
    got, failed = {}, {}

    def one(i):
        region = f"Region{i:02d}"
        results = {"identity": {"reachable": i % 2 == 0, "error": "refused", "url": "u"}}

        def decide(previous):
            if i == 7:
                raise RuntimeError("plan failed")
            return region_health.plan(region, previous, results, now=regions.utcnow())
        start.wait()
        try:
            got[region] = regions.record_probe(db, region, decide)
        except RuntimeError as exc:
            failed[region] = str(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == {"Region07": "plan failed"}
    assert sum(writes) == 20 and len(writes) < 20
    stored = {r["name"]: r["services"]["identity"] for r in regions.list_regions(db)[0]}
    assert sorted(stored) == sorted(got)
    for region, plan in got.items():
        assert stored[region]["reachable"] is plan.rows[0]["reachable"]
        # unreachable at the first probe: a region.down event, stored with the rows
        assert [e["event_type"] for e in plan.events] == (
            [] if plan.rows[0]["reachable"] else [region_health.DOWN])
    downs, _more = events.list_events(db, event_type=region_health.DOWN)
    assert len(downs) == 9


def test_rounds_start_with_the_slowest_region(db, prober):
    prober.catalog["RegionC"] = dict(URLS)            # never probed
    for region, latency in (("RegionA", 5.0), ("RegionB", 250.0), ("RegionGone", 40.0)):
        regions.save_probe(db, region, [{"service": "compute", "reachable": True,
                                         "latency_ms": latency},
                                        {"service": "identity", "reachable": True,
                                         "latency_ms": 1.0}])
    keys = region_health.keys(prober, db)
    assert [k.id for k in keys] == ["RegionC", "RegionB", "RegionGone", "RegionA"]
