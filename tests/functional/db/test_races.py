"""50 threads on one project's limits, through the API, on SQLite, MariaDB and PostgreSQL.

Every answer is a 2xx, a 404 for a delete that found nothing, or a retryable 409 —
never a 500 — and what is stored afterwards is what one of the writers wrote.
"""

import json
import random
import threading
import uuid

import pytest
import webob

from multisite.api import app as api_app
from multisite.db import api as db_api
from multisite.db import migration
from multisite.objects import quota_classes, quota_settings, quotas

THREADS = 50
ADMIN = {"X-Project-Id": uuid.uuid4().hex, "X-User-Id": "racer", "X-Roles": "admin"}


@pytest.fixture
def app(conf, backend_url):
    migration.db_sync(conf, default_limits=quotas.config_defaults(conf))
    return api_app.build_app(conf)


def call(app, method, path, body=None):
    req = webob.Request.blank(path, method=method, headers=ADMIN)
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = "application/json"
    resp = req.get_response(app)
    return resp.status_int, json.loads(resp.body)


def race(app, requests):
    """Run the (method, path, body) requests at once, one thread each; the answers."""
    barrier = threading.Barrier(len(requests))
    answers = [None] * len(requests)

    def run(i, method, path, body):
        barrier.wait()
        answers[i] = call(app, method, path, body)

    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers


def check(answers, allowed):
    for status, body in answers:
        assert status in allowed, (status, body)
        if status == 409:
            assert body["error"]["code"] == "request.concurrent_update", body
        elif status >= 400:
            assert set(body["error"]) == {"code", "message"}, body


def test_first_writes_of_one_project(app, conf):
    project = uuid.uuid4().hex
    path = f"/v1.0/{ADMIN['X-Project-Id']}/os-quota-sets/{project}"
    values = list(range(THREADS))
    answers = race(app, [("PUT", path, {"quota_set": {"cores": v, "ram": v}})
                         for v in values])
    check(answers, {200, 409})
    stored = quotas.overrides(conf, project)
    # atomic: both keys from one writer
    assert stored["cores"] == stored["ram"] and stored["cores"] in values


def test_writes_racing_deletes(app, conf):
    project = uuid.uuid4().hex
    path = f"/v1.0/{ADMIN['X-Project-Id']}/os-quota-sets/{project}"
    rng = random.Random(7)
    requests = []
    for i in range(THREADS):
        kind = rng.choice(["put", "put", "delete_all", "delete_some"])
        if kind == "put":
            requests.append(("PUT", path, {"quota_set": {"cores": i, "ram": i,
                                                         "instances": i}}))
        elif kind == "delete_all":
            requests.append(("DELETE", path, None))
        else:
            requests.append(("DELETE", path, {"quota_set": ["cores", "ram"]}))
    answers = race(app, requests)
    check(answers, {200, 404, 409})
    assert any(status == 200 for status, _ in answers)
    stored = quotas.overrides(conf, project)
    assert set(stored) <= {"cores", "ram", "instances"}


def test_quota_class_and_settings_writers(app, conf):
    caller = ADMIN["X-Project-Id"]
    project = uuid.uuid4().hex
    requests = []
    for i in range(THREADS):
        if i % 3 == 0:
            requests.append(("PUT", f"/v1.0/{caller}/os-quota-class-sets/gold",
                             {"quota_class_set": {"cores": i, "ram": i}}))
        elif i % 3 == 1:
            requests.append(("DELETE", f"/v1.0/{caller}/os-quota-class-sets/gold", None))
        else:
            requests.append(("PUT", f"/v1.0/{caller}/os-quota-settings/{project}",
                             {"quota_settings": {"quota_sync": bool(i % 2)}}))
    check(race(app, requests), {200, 404, 409})
    with db_api.session_scope(conf) as session:
        gold = {row.resource: row.hard_limit for row in quota_classes.rows(session, "gold")}
    assert not gold or (set(gold) == {"cores", "ram"} and gold["cores"] == gold["ram"])
    assert quota_settings.get(conf, project)["quota_sync"] in (True, False)
