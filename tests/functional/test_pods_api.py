"""/v1.0/pods, /v1.0/routings and /v1.0/jobs (issue 16) against the in-process app and
engine, the catalog in memory: the persona matrix (admin only), the jobs' running rule,
and the catalog check when Keystone cannot be read (objects on three backends:
tests/functional/db/test_pods.py)."""

import json
import uuid

import hypothesis
import pytest
import webob
from hypothesis import strategies as st

from multisite.clients import session as region_errors
from multisite.objects import jobs, pods, routings
from tests.functional import test_personas as personas
from tests.unit.reconcilers.fake_regions import FakeCloud

PROJECT = uuid.uuid4().hex


@pytest.fixture
def cloud(monkeypatch):
    return FakeCloud().install(monkeypatch)


@pytest.fixture
def app(cloud, wsgi_app):
    return wsgi_app


def call(app, method, path, body=None, *, headers=None):
    req = webob.Request.blank(path, method=method, headers=headers if headers is not None
                              else personas.identity(personas.ADMIN_PROJECT, "admin"))
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = "application/json"
    resp = req.get_response(app)
    return resp, json.loads(resp.body)


def seed(conf):
    """A pod (RegionTwo in az1, with a fresh top region first), a routing and a NEW job."""
    for pod in pods.list_pods(conf):
        for routing in routings.list_routings(conf, filters={"pod_id": pod["pod_id"]})[0]:
            routings.delete(conf, routing["id"])
        pods.delete(conf, pod["pod_id"])
    for job in jobs.list_jobs(conf)[0]:
        jobs.delete(conf, job["id"])
    pods.create(conf, name="RegionOne")
    pod = pods.create(conf, name="RegionTwo", az_name="az1")
    routing = routings.create(conf, top_id="net-1", bottom_id="net-1b", pod_id=pod["pod_id"],
                              project_id=PROJECT, resource_type="network")
    job = jobs.create(conf, project_id=PROJECT, job_type="update_network",
                      resource={"pod_id": pod["pod_id"], "network_id": "net-1"})
    return {"pod": pod["pod_id"], "routing": routing["id"], "job": job["id"],
            "new_pod": {"pod": {"pod_name": "RegionThree", "az_name": "az2"}},
            "new_routing": {"routing": {"top_id": "t", "bottom_id": "b",
                                        "pod_id": pod["pod_id"], "project_id": PROJECT,
                                        "resource_type": "port"}},
            "new_job": {"job": {"type": "seg_rule_setup", "project_id": PROJECT,
                                "resource": {"project_id": PROJECT}}}}


# (name, method, path, body key in seed())
ENDPOINTS = [
    ("pods-create", "POST", "/v1.0/pods", "new_pod"),
    ("pods-list", "GET", "/v1.0/pods", None),
    ("pods-show", "GET", "/v1.0/pods/{pod}", None),
    ("pods-delete", "DELETE", "/v1.0/pods/{new_pod_id}", None),
    ("routings-create", "POST", "/v1.0/routings", "new_routing"),
    ("routings-list", "GET", "/v1.0/routings", None),
    ("routings-show", "GET", "/v1.0/routings/{routing}", None),
    ("routings-update", "PUT", "/v1.0/routings/{routing}", "update_routing"),
    ("routings-delete", "DELETE", "/v1.0/routings/{routing}", None),
    ("jobs-create", "POST", "/v1.0/jobs", "new_job"),
    ("jobs-list", "GET", "/v1.0/jobs", None),
    ("jobs-schemas", "GET", "/v1.0/jobs/schemas", None),
    ("jobs-show", "GET", "/v1.0/jobs/{job}", None),
    ("jobs-redo", "PUT", "/v1.0/jobs/{job}", None),
    ("jobs-delete", "DELETE", "/v1.0/jobs/{job}", None),
]


@pytest.mark.parametrize("persona", personas.PERSONAS)
def test_persona_matrix(app, db, persona):
    """Admin (any case) may call everything; every other persona 403, no identity 401."""
    project, roles = personas.PERSONAS[persona]
    if project is None:
        want = (401, "auth.unauthenticated")
    elif "admin" in roles.lower().split(","):
        want = (200, None)
    else:
        want = (403, "policy.forbidden")
    wrong = []
    for name, method, path, body_key in ENDPOINTS:
        seeded = seed(db)
        seeded["new_pod_id"] = pods.create(db, name="RegionThree", az_name="az3")["pod_id"] \
            if name == "pods-delete" else None
        seeded["update_routing"] = {"routing": {"bottom_id": "net-1c"}}
        resp, _ = call(app, method, path.format(**seeded),
                       seeded[body_key] if body_key else None,
                       headers=personas.identity(project, roles))
        if personas.outcome(resp) != want:
            wrong.append(f"{name}: want {want}, got {personas.outcome(resp)} {resp.body[:200]}")
    assert not wrong, "\n".join(wrong)


def test_every_route_is_in_the_matrix():
    from multisite.api import routes

    ours = {h for _m, pattern, h in routes.ROUTES
            if pattern.startswith((routes.PODS, routes.ROUTINGS, routes.JOBS))}
    called = {routes.match(m, path.format(pod="p", new_pod_id="p", routing="1", job=str(
        uuid.uuid4())))[0] for _n, m, path, _b in ENDPOINTS}
    assert ours == called and len(ours) == len(ENDPOINTS)


@pytest.mark.parametrize("status", [jobs.RUNNING])
def test_a_running_job_is_neither_redone_nor_deleted(app, db, status):
    seeded = seed(db)
    jobs.set_status(db, seeded["job"], status)
    for method in ("PUT", "DELETE"):
        resp, body = call(app, method, f"/v1.0/jobs/{seeded['job']}")
        assert resp.status_int == 409, body
        assert body["error"]["code"] == "job.running"
    assert jobs.get(db, seeded["job"])["status"] == status


def test_redo_moves_a_failed_job_back_to_new_and_refuses_a_successful_one(app, db):
    seeded = seed(db)
    jobs.set_status(db, seeded["job"], jobs.FAIL, "pod RegionTwo: unreachable")
    resp, body = call(app, "GET", f"/v1.0/jobs/{seeded['job']}")
    assert (body["job"]["status"], body["job"]["error"]) == ("FAIL",
                                                             "pod RegionTwo: unreachable")
    resp, body = call(app, "PUT", f"/v1.0/jobs/{seeded['job']}")
    assert resp.status_int == 200 and body["job"]["status"] == "NEW"
    jobs.set_status(db, seeded["job"], jobs.SUCCESS)
    resp, body = call(app, "PUT", f"/v1.0/jobs/{seeded['job']}")
    assert resp.status_int == 409 and body["error"]["code"] == "job.succeeded"
    resp, body = call(app, "GET", "/v1.0/jobs?status=Success")
    assert [j["id"] for j in body["jobs"]] == [seeded["job"]]
    resp, _ = call(app, "DELETE", f"/v1.0/jobs/{seeded['job']}")
    assert resp.status_int == 200


def test_same_new_job_twice_is_one_job(app, db):
    seeded = seed(db)
    _, first = call(app, "POST", "/v1.0/jobs", seeded["new_job"])
    _, second = call(app, "POST", "/v1.0/jobs", seeded["new_job"])
    assert first["job"]["id"] == second["job"]["id"]


def test_jobs_pagination(app, db):
    seed(db)
    made = [jobs.create(db, project_id=PROJECT, job_type="resource_recycle",
                        resource={"project_id": uuid.uuid4().hex})["id"] for _ in range(4)]
    seen, url = [], "/v1.0/jobs?type=resource_recycle&limit=3"
    while url:
        resp, body = call(app, "GET", url)
        assert resp.status_int == 200, body
        seen += [j["id"] for j in body["jobs"]]
        links = body.get("jobs_links")
        url = links[0]["href"].split("localhost", 1)[1] if links else None
    assert sorted(seen) == sorted(made) and len(seen) == 4


def test_catalog_unreadable_is_a_503_naming_why(app, db, monkeypatch):
    def unreadable(conf, service_type=None):
        raise region_errors.Unavailable("keystone", "connection refused")

    monkeypatch.setattr(region_errors, "regions", unreadable)
    resp, body = call(app, "POST", "/v1.0/pods", {"pod": {"pod_name": "RegionOne"}})
    assert resp.status_int == 503, body
    assert body["error"]["code"] == "pod.catalog_unavailable"
    assert "connection refused" in body["error"]["message"]
    assert pods.list_pods(db) == []


NAMES = st.sampled_from(["RegionOne", "RegionTwo", "RegionThree", "", "  ", "Atlantis"]) \
    | st.text(max_size=300)
FIELD = st.sampled_from(["pod_name", "region_name", "az_name", "pod_az_name", "dc_name",
                         "colour"])
BODIES = st.fixed_dictionaries({"pod": st.dictionaries(
    FIELD, NAMES | st.integers() | st.none(), max_size=5)}) | st.dictionaries(
    st.text(max_size=5), st.text(max_size=5), max_size=2)


@hypothesis.given(body=BODIES)
@hypothesis.settings(max_examples=150, deadline=None, database=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_random_pod_bodies_are_never_a_server_error(app, db, body):
    """Whatever the body: 200, or a 400/409 with the error shape (the catalog in memory)."""
    resp, document = call(app, "POST", "/v1.0/pods", body)
    if resp.status_int == 200:
        name = document["pod"]["pod_name"]
        assert name in ("RegionOne", "RegionTwo", "RegionThree")
        pods.delete(db, document["pod"]["pod_id"])
    else:
        assert resp.status_int in (400, 409), resp.body
        assert set(document["error"]) == {"code", "message"}
