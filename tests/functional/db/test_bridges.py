"""Bridge segmentation ids and bridge IPs (issue 17), and the router jobs' work items, on
every backend."""

import pytest

from multisite.db import migration
from multisite.objects import bridges, jobs, work_items


@pytest.fixture
def synced(conf, backend_url):
    migration.db_sync(conf)
    conf.set_override("bridge_vlan_ranges", ["2000:2001", "2005:2005"], group="network")
    conf.set_override("bridge_cidr", "100.64.0.0/30", group="network")
    yield conf
    conf.clear_override("bridge_vlan_ranges", group="network")
    conf.clear_override("bridge_cidr", group="network")


def test_one_segment_per_tenant_never_two_tenants(synced):
    assert bridges.segment(synced, "t1") == 2000
    assert bridges.segment(synced, "t2") == 2001
    assert bridges.segment(synced, "t1") == 2000        # durable, the same in every pod
    assert bridges.segment(synced, "t3") == 2005        # the next range
    with pytest.raises(bridges.NoSegmentLeft):
        bridges.segment(synced, "t4")


def test_who_holds_a_segment_and_which_are_kept_for_bridges(synced):
    assert bridges.holder(synced, 2000) is None
    bridges.segment(synced, "t1")
    assert (bridges.holder(synced, 2000), bridges.holder(synced, 2001)) == ("t1", None)
    assert [v for v in range(1999, 2007) if bridges.reserved(synced, v)] == [
        2000, 2001, 2005]


def test_bridge_ips_per_router_and_pod(synced):
    assert bridges.address(synced, "t1", "r1", "Pod1") == "100.64.0.1"
    assert bridges.address(synced, "t1", "r1", "Pod2") == "100.64.0.2"
    assert bridges.address(synced, "t1", "r1", "Pod1") == "100.64.0.1"
    assert bridges.address(synced, "t2", "r2", "Pod1") == "100.64.0.1"   # another tenant
    with pytest.raises(bridges.NoBridgeAddressLeft):
        bridges.address(synced, "t1", "r3", "Pod1")
    bridges.release(synced, "r1", "Pod1")
    assert bridges.addresses(synced, "r1") == {"Pod2": "100.64.0.2"}
    assert bridges.address(synced, "t1", "r3", "Pod1") == "100.64.0.1"


@pytest.mark.parametrize("ranges", [["2000"], ["3000:2000"], ["0:5"], ["4000:5000"], ["a:b"]])
def test_bad_ranges_are_refused(ranges):
    with pytest.raises(ValueError, match="invalid bridge VLAN range"):
        bridges.parse_ranges(ranges)


def test_router_jobs_get_a_work_item_and_keep_their_error(synced):
    job = jobs.create(synced, project_id="t1", job_type="configure_route",
                      resource={"router_id": "r1"})
    items = work_items.list_items(synced, kind=jobs.WORK_KIND)
    assert [i["key_id"] for i in items] == ["r1"]        # one item per router
    (item,) = work_items.claim(synced, kind=jobs.WORK_KIND, engine_id="e", lease=60,
                               limit=5)
    work_items.requeue(synced, item_id=item["id"], engine_id="e", delay=3600, error="down")
    assert work_items.claim(synced, kind=jobs.WORK_KIND, engine_id="e", lease=60,
                            limit=5) == []       # backing off
    jobs.set_status(synced, job["id"], jobs.FAIL, "pod Pod2: unreachable")
    assert jobs.get(synced, job["id"])["error"] == "pod Pod2: unreachable"
    assert jobs.redo(synced, job["id"])["status"] == jobs.NEW
    assert len(work_items.list_items(synced, kind=jobs.WORK_KIND)) == 1   # still waiting
    assert [i["id"] for i in work_items.claim(synced, kind=jobs.WORK_KIND, engine_id="e",
                                              lease=60, limit=5)] == [item["id"]]  # at once
    other = jobs.create(synced, project_id="t1", job_type="port_delete",
                        resource={"pod_id": "x", "port_id": "y"})
    assert other["id"] not in [i["key_id"] for i in
                               work_items.list_items(synced, kind=jobs.WORK_KIND)]
