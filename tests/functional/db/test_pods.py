"""objects/pods, routings, jobs (issue 16) on SQLite, MariaDB and PostgreSQL."""

import uuid

import pytest

from multisite.db import migration
from multisite.objects import jobs, pods, routings


@pytest.fixture
def synced(conf, backend_url):
    migration.db_sync(conf)
    return conf


def test_objects_on_every_backend(synced):
    """One top region (a unique column), bindings least-loaded and kept, 409 while routed."""
    pods.create(synced, name="Top")
    with pytest.raises(pods.TopRegionExists):
        pods.create(synced, name="Other")
    a = pods.create(synced, name="PodA", az_name="az1")
    b = pods.create(synced, name="PodB", az_name="az1")
    p1, p2, p3 = (uuid.uuid4().hex for _ in range(3))
    first = pods.bind(synced, project_id=p1, az_name="az1")
    second = pods.bind(synced, project_id=p2, az_name="az1")
    assert {first["pod_id"], second["pod_id"]} == {a["pod_id"], b["pod_id"]}
    assert pods.bind(synced, project_id=p1, az_name="az1") == first
    assert pods.bind(synced, project_id=p3, az_name="az1")["pod_id"] in (a["pod_id"],
                                                                          b["pod_id"])
    with pytest.raises(pods.NoPodInZone):
        pods.bind(synced, project_id=p1, az_name="az9")
    routing = routings.create(synced, top_id="srv-1", pod_id=a["pod_id"], project_id=p1,
                              resource_type="server")
    assert routing["bottom_id"] is None
    assert [r["id"] for r in routings.incomplete(synced)] == [routing["id"]]
    with pytest.raises(pods.PodInUse):
        pods.delete(synced, a["pod_id"])
    routings.complete(synced, routing["id"], "srv-1")
    assert routings.incomplete(synced) == []
    with pytest.raises(routings.RoutingExists):
        routings.create(synced, top_id="srv-1", pod_id=a["pod_id"], project_id=p1,
                        resource_type="server")
    routings.delete(synced, routing["id"])
    pods.delete(synced, a["pod_id"])
    assert [p["pod_name"] for p in pods.bindings_of(synced, p1)] == []
    job = jobs.create(synced, project_id=p1, job_type="port_delete",
                      resource={"pod_id": b["pod_id"], "port_id": "port-1"})
    assert jobs.get(synced, job["id"])["resource"] == {"pod_id": b["pod_id"],
                                                       "port_id": "port-1"}


def test_find_with_pod_is_the_newest_routing_and_its_pod(synced):
    """The gateway's read before a routed call: the routing and its pod in one query,
    scoped to the project when one is given."""
    a = pods.create(synced, name="PodA", az_name="az1")
    b = pods.create(synced, name="PodB", az_name="az2")
    project = uuid.uuid4().hex
    routings.create(synced, top_id="vol-1", pod_id=a["pod_id"], project_id=project,
                    resource_type="volume", bottom_id="vol-1")
    newest = routings.create(synced, top_id="vol-1", pod_id=b["pod_id"],
                             project_id=project, resource_type="volume", bottom_id="vol-1b")
    routing, pod = routings.find_with_pod(synced, top_id="vol-1", resource_type="volume",
                                          project_id=project)
    # (compared without created_at: MariaDB keeps whole seconds of the in-memory value)
    assert routing == dict(newest, created_at=routing["created_at"])
    assert routing["bottom_id"] == "vol-1b" and pod == pods.get(synced, b["pod_id"])
    assert routings.find_with_pod(synced, top_id="vol-1", resource_type="volume")[1][
        "pod_name"] == "PodB"
    assert routings.find_with_pod(synced, top_id="vol-1", resource_type="volume",
                                  project_id=uuid.uuid4().hex) is None
    assert routings.find_with_pod(synced, top_id="vol-1", resource_type="server") is None
