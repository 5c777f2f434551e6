"""Hostile and careless requests (issue 10): every one is a JSON 4xx, never a 5xx."""

import datetime
import json
import logging
import threading
import tracemalloc
import uuid

import pytest
import sqlalchemy as sa
import webob

from multisite.api import errors
from multisite.api.handlers import sync_jobs as sync_jobs_handler
from multisite.clients import image
from multisite.clients import session as region_errors
from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import sync_jobs, sync_status
from tests.unit.reconcilers.fake_regions import FakeCloud

P = "dcb95d2ce0db40b287a1034830d31a9e"  # fixed: parametrized ids must match across xdist workers
OTHER = "5f0c1e6a9b7d4c2e8a3f1b0d9c8e7a65"
R1, R2 = "RegionOne", "RegionTwo"


def request(app, method, path, body=None, *, project=P, roles="admin", headers=None,
            content_type="application/json"):
    req = webob.Request.blank(path, method=method, headers={
        "X-Project-Id": project, "X-User-Id": "u1", "X-Roles": roles, **(headers or {})})
    if body is not None:
        req.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        if content_type:
            req.content_type = content_type
    resp = req.get_response(app)
    return resp


def assert_error(resp, status, code=None):
    assert resp.status_int == status, resp.body
    assert resp.content_type == "application/json"
    error = json.loads(resp.body)["error"]
    assert set(error) == {"code", "message"}
    if code:
        assert error["code"] == code, error


@pytest.fixture
def cloud(monkeypatch, conf):
    conf.set_override("scan_interval", 0.05, group="sync")
    yield FakeCloud(regions=(R1, R2)).install(monkeypatch)
    conf.clear_override("scan_interval", group="sync")


def _jobs(conf):
    with db_api.session_scope(conf) as s:
        return (s.scalar(sa.select(sa.func.count()).select_from(models.SyncJob)),
                s.scalar(sa.select(sa.func.count()).select_from(models.ResourceSync)))


def chunked(app, path, payload, *, chunk=65536, headers=None):
    """A PUT whose body comes as Transfer-Encoding: chunked (no Content-Length), in
    pieces of `chunk` bytes; returns (response, bytes the app read)."""
    chunks = iter([payload[i:i + chunk] for i in range(0, len(payload), chunk)])
    read = {"n": 0}

    class Stream:
        def read(self, size=-1):
            data = next(chunks, b"")
            read["n"] += len(data)
            return data

    environ = {"REQUEST_METHOD": "PUT", "PATH_INFO": path, "wsgi.input": Stream(),
               "HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_TYPE": "application/json",
               "HTTP_X_PROJECT_ID": P, "HTTP_X_ROLES": "admin", "wsgi.input_terminated": True}
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()})
    req = webob.Request.blank(path, environ=environ)
    req.environ.pop("CONTENT_LENGTH", None)
    return req.get_response(app), read["n"]


# -- item 2: the body-size limit holds whatever the framing -------------------------------

def test_chunked_body_over_the_limit_is_refused_while_reading(wsgi_app, db):
    limit = db.api_request_max_body_size
    payload = b'{"quota_set": {"cores": 1}, "pad": "' + b"x" * (10 * limit) + b'"}'
    resp, read = chunked(wsgi_app, f"/v1.0/{P}/os-quota-sets/{P}", payload)
    assert_error(resp, 413, "request.too_large")
    assert read <= limit + 65536 * 2  # it stopped reading soon after the limit


def test_chunked_body_under_the_limit_is_read(wsgi_app):
    resp, _ = chunked(wsgi_app, f"/v1.0/{P}/os-quota-sets/{P}", b'{"quota_set": {"cores": 7}}')
    assert resp.status_int == 200, resp.body
    assert json.loads(resp.body) == {P: {"cores": 7}}


# -- item 4: os-sync with Keystone or a service missing ------------------------------------

def test_sync_without_keystone_credentials_is_503_and_leaves_no_job(wsgi_app, db):
    body = {"resource_set": {"resource_type": "keypair", "resources": ["k"],
                             "source": R1, "target": [R2]}}
    resp = request(wsgi_app, "POST", f"/v1.0/{P}/os-sync", body)
    assert_error(resp, 503, "sync_job.source_unavailable")
    assert _jobs(db) == (0, 0)


def test_sync_of_an_image_from_a_region_without_image_service(wsgi_app, db, cloud,
                                                               monkeypatch):
    def no_glance(conf, region):
        raise region_errors.UnknownRegion(region, "no endpoint for image")

    monkeypatch.setattr(image, "for_region", no_glance)
    body = {"resource_set": {"resource_type": "image", "resources": ["img"],
                             "source": R1, "target": [R2]}}
    resp = request(wsgi_app, "POST", f"/v1.0/{P}/os-sync", body)
    assert_error(resp, 400, "sync_job.service_missing")
    assert R1 in json.loads(resp.body)["error"]["message"]
    assert _jobs(db) == (0, 0)


# -- item 5: nesting ------------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"[" * 100000, b'{"quota_set": {"cores": ' + b"[" * 1000
                                  + b"1" + b"]" * 1000 + b"}}",
                                  b'{"a":' * 5000 + b"1" + b"}" * 5000])
def test_deep_nesting_is_400(wsgi_app, body):
    resp = request(wsgi_app, "PUT", f"/v1.0/{P}/os-quota-sets/{P}", body)
    assert_error(resp, 400, "request.too_deep")


def test_brackets_inside_strings_are_not_nesting(wsgi_app):
    body = b'{"quota_set": {"cores": 1}, "x": "' + b"[" * 5000 + b'"}'
    resp = request(wsgi_app, "PUT", f"/v1.0/{P}/os-quota-sets/{P}", body)
    assert_error(resp, 400, "quota.invalid_limits")


# -- item 6: non-UTF-8 paths ------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1.0/\xff\xfe/os-quota-sets", "/\xff",
                                  f"/v1.0/{P}/os-quota-sets/\xff\xfe",
                                  f"/v1.0/{P}/os-quota-class-sets/\xc3"])
def test_non_utf8_path_is_a_json_400_with_an_access_line(wsgi_app, path, caplog):
    req = webob.Request.blank("/", headers={"X-Project-Id": P, "X-Roles": "admin"})
    req.environ["PATH_INFO"] = path  # WSGI: the raw bytes, decoded as latin-1
    with caplog.at_level(logging.INFO, logger="multisite.api.access"):
        resp = req.get_response(wsgi_app)
    assert_error(resp, 400, "request.invalid_url")
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    assert any("status=400" in r.getMessage() for r in caplog.records)


# -- item 7: one spelling per project ---------------------------------------------------------

@pytest.mark.parametrize("spelling", [
    str(uuid.UUID(P)), "{" + str(uuid.UUID(P)) + "}", "urn:uuid:" + str(uuid.UUID(P)),
    P.upper(), str(uuid.UUID(P)).upper()])
def test_every_spelling_of_a_project_is_the_same_project(wsgi_app, spelling):
    resp = request(wsgi_app, "PUT", f"/v1.0/{spelling}/os-quota-sets/{spelling}",
                   {"quota_set": {"cores": 11}}, project=spelling)
    assert resp.status_int == 200, resp.body
    assert json.loads(resp.body) == {spelling: {"cores": 11}}  # echoed as sent (Kingbird)
    resp = request(wsgi_app, "GET", f"/v1.0/{P}/os-quota-sets/{P}", project=P, roles="member")
    assert json.loads(resp.body)["quota_set"]["cores"] == 11
    resp = request(wsgi_app, "GET", f"/v1.1/{spelling}/os-quota-sets", project=spelling,
                   roles="member")
    assert json.loads(resp.body)["quota_set"]["cores"] == 11
    resp = request(wsgi_app, "GET", f"/v1.0/{spelling}/os-quota-settings/{spelling}",
                   project=spelling, roles="member")
    assert resp.status_int == 200, resp.body


@pytest.mark.parametrize("bad", ["not-a-uuid", "0123", "x" * 32, "%20" + P])
def test_other_project_ids_are_400(wsgi_app, bad):
    resp = request(wsgi_app, "GET", f"/v1.0/{P}/os-quota-sets/{bad}")
    assert_error(resp, 400, "request.invalid_url")


# -- item 8: counting before building ----------------------------------------------------------

def test_huge_template_is_refused_before_its_rows_are_built(wsgi_app, cloud):
    regions = [f"R{i}" for i in range(50)]
    entry = {"resource_type": "keypair", "resources": [f"k{i}" for i in range(100)],
             "source": regions[:20], "target": regions}
    body = {"resource_set": {"Sync": [entry] * 50}}
    resp = request(wsgi_app, "POST", f"/v1.0/{P}/os-sync", body)
    assert_error(resp, 400, "sync_job.too_many_rows")
    # Counted, not built: the old code made 98,000 row dicts (tens of MB) before it
    # counted them; counting an entry's rows allocates almost nothing. Memory, not time,
    # so the check does not depend on the machine's speed.
    tracemalloc.start()
    try:
        with pytest.raises(errors.HTTPError) as refused:
            sync_jobs_handler.expand(body["resource_set"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.code == "sync_job.too_many_rows"
    assert peak < 2 * 1024 * 1024, peak


# -- item 9: a job deleted twice at once -------------------------------------------------------

def test_concurrent_deletes_of_one_job_answer_one_200(wsgi_app, db):
    job, _ = sync_jobs.create(db, project_id=P, user_id="u1", rows=[
        {"resource_type": "keypair", "resource": "k", "source": R1, "target": R2,
         "force": False}])
    with db_api.session_scope(db) as s:
        s.execute(sa.update(models.SyncJob).values(sync_status="SUCCESS"))
        s.execute(sa.update(models.ResourceSync).values(sync_status="SUCCESS"))
    statuses, barrier = [], threading.Barrier(8)

    def delete():
        barrier.wait()
        statuses.append(request(wsgi_app, "DELETE", f"/v1.0/{P}/os-sync/{job['id']}")
                        .status_int)

    threads = [threading.Thread(target=delete) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [404] * 7, statuses
    assert _jobs(db) == (0, 0)


# -- item 10: Kingbird's wire details ----------------------------------------------------------

def test_delete_with_a_dict_answers_the_dict(wsgi_app):
    request(wsgi_app, "PUT", f"/v1.0/{P}/os-quota-sets/{P}", {"quota_set": {"ram": 5}})
    resp = request(wsgi_app, "DELETE", f"/v1.0/{P}/os-quota-sets/{P}", {"quota_set": {"ram": 1}})
    assert resp.status_int == 200, resp.body
    assert json.loads(resp.body) == {"Deleted quota limits": {"ram": 1}}


@pytest.mark.parametrize("path", ["os-sync", "os-sync/active",
                                  "os-sync/3f2b8c1d-4e5a-4b6c-9d7e-8f9a0b1c2d3e",
                                  f"os-quota-sets/{OTHER}", "os-quota-sets/defaults",
                                  "os-quota-class-sets/default",
                                  f"os-quota-settings/{OTHER}",
                                  f"os-quota-sync-status/{OTHER}"])
def test_project_mismatch_is_403_on_every_v10_resource(wsgi_app, path):
    resp = request(wsgi_app, "GET", f"/v1.0/{OTHER}/{path}", project=P, roles="member")
    assert_error(resp, 403, "request.project_mismatch")


# -- item 11: duplicate keys, echo, Content-Type ----------------------------------------------

def test_duplicate_keys_are_rejected(wsgi_app):
    resp = request(wsgi_app, "PUT", f"/v1.0/{P}/os-quota-sets/{P}",
                   b'{"quota_set": {"cores": 1, "cores": 2}}')
    assert_error(resp, 400, "request.duplicate_key")


def test_repeated_resources_are_echoed_once(wsgi_app):
    request(wsgi_app, "PUT", f"/v1.0/{P}/os-quota-sets/{P}", {"quota_set": {"cores": 5}})
    resp = request(wsgi_app, "DELETE", f"/v1.0/{P}/os-quota-sets/{P}",
                   {"quota_set": ["cores"] * 10000})
    assert json.loads(resp.body) == {"Deleted quota limits": ["cores"]}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/json; charset=utf-16"])
def test_bodies_must_be_json(wsgi_app, content_type):
    resp = request(wsgi_app, "PUT", f"/v1.0/{P}/os-quota-sets/{P}",
                   {"quota_set": {"cores": 1}}, content_type=content_type)
    assert_error(resp, 415, "request.unsupported_media_type")


@pytest.mark.parametrize("content_type", [None, "application/json",
                                          "application/json; charset=UTF-8"])
def test_json_or_no_content_type_is_accepted(wsgi_app, content_type):
    resp = request(wsgi_app, "PUT", f"/v1.0/{P}/os-quota-sets/{P}",
                   {"quota_set": {"cores": 1}}, content_type=content_type)
    assert resp.status_int == 200, resp.body


def test_validation_messages_speak_json(wsgi_app):
    resp = request(wsgi_app, "PUT", f"/v1.0/{P}/os-quota-sets/{P}",
                   b'{"quota_set": {"cores": true, "ram": null}}')
    message = json.loads(resp.body)["error"]["message"]
    assert "true" in message or "null" in message, message
    assert "True" not in message and "None" not in message, message


# -- item 16: log context per request ----------------------------------------------------------

class _ContextAtLogTime(logging.Handler):
    def __init__(self):
        super().__init__()
        self.seen = []

    def emit(self, record):
        from oslo_context import context as oslo_context

        current = oslo_context.get_current()
        self.seen.append((getattr(current, "request_id", None),
                          getattr(current, "project_id", None)))


def test_no_request_inherits_the_previous_request_context(wsgi_app):
    from oslo_context import context as oslo_context

    handler = _ContextAtLogTime()
    access = logging.getLogger("multisite.api.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        first = request(wsgi_app, "GET", f"/v1.0/{P}/os-quota-sets/{P}")
        assert oslo_context.get_current() is None
        second = webob.Request.blank("/").get_response(wsgi_app)
        assert oslo_context.get_current() is None
    finally:
        access.removeHandler(handler)
    assert handler.seen == [(first.headers["x-openstack-request-id"], P),
                            (second.headers["x-openstack-request-id"], None)]


# -- item 17: sync-status says when a pass was requested -----------------------------------

def _sync_state(app, project=P):
    resp = request(app, "GET", f"/v1.0/{project}/os-quota-sync-status/{project}")
    assert resp.status_int == 200, resp.body
    return json.loads(resp.body)


def test_sync_status_says_a_requested_pass_is_pending_and_since_when(wsgi_app, db):
    project = uuid.uuid4().hex  # the in-process engine cannot finish a pass: no cloud
    assert _sync_state(wsgi_app, project) == {
        "sync_status": [], "sync_requested_at": None, "sync_pending": False}
    before = datetime.datetime.now(datetime.UTC)
    resp = request(wsgi_app, "PUT", f"/v1.0/{project}/os-quota-sets/{project}/sync")
    assert resp.status_int == 200, resp.body
    state = _sync_state(wsgi_app, project)
    requested = datetime.datetime.fromisoformat(state["sync_requested_at"])
    assert before - datetime.timedelta(seconds=1) <= requested
    assert requested <= datetime.datetime.now(datetime.UTC)
    assert (state["sync_status"], state["sync_pending"]) == ([], True)
    # a pass records its outcome: the request is answered
    sync_status.record_many(db, project, {R1: {"ok": True, "usage": {}, "limits": {}}})
    state = _sync_state(wsgi_app, project)
    assert (len(state["sync_status"]), state["sync_pending"]) == (1, False)
    assert state["sync_requested_at"] == requested.isoformat()
    # asked again (the v1.1 form too): pending again, with the last outcome still shown
    resp = request(wsgi_app, "PUT", f"/v1.1/{project}/os-quota-sets/sync")
    assert resp.status_int == 200, resp.body
    state = _sync_state(wsgi_app, project)
    assert (len(state["sync_status"]), state["sync_pending"]) == (1, True)
    assert datetime.datetime.fromisoformat(state["sync_requested_at"]) > requested


# -- item 18: a database directory that did not exist is created, and said so -------------

def test_creating_the_sqlite_directory_is_logged(tmp_path, caplog):
    path = tmp_path / "not" / "yet" / "there.db"
    with caplog.at_level(logging.WARNING, logger="multisite.db.api"):
        engine = db_api.create_engine(f"sqlite:///{path}")
        engine.dispose()
    assert path.parent.is_dir()
    assert [r.getMessage() for r in caplog.records] == [
        f"Creating the directory of the SQLite database: path={path.parent}"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="multisite.db.api"):
        db_api.create_engine(f"sqlite:///{path}").dispose()
    assert not caplog.records  # an existing directory is not news
