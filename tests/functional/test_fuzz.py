"""Fuzzing: the in-process app never answers 5xx; the OpenAPI document matches the code.

schemathesis generates requests from multisite/api/openapi.json (as an admin,
so requests get past policy into validation and the database); hypothesis
throws arbitrary JSON at PUT os-quota-sets. os-sync is left out of the
fuzzing: creating a job reaches the regions, which need the devcloud.
"""

import json
import os
import re
import uuid

import hypothesis
import schemathesis
import webob
from hypothesis import strategies as st
from schemathesis import checks

from multisite.api import routes
from multisite.api.schemas import address_conflicts as address_conflict_schemas
from multisite.api.schemas import images as image_schemas
from multisite.api.schemas import protection_plans as protection_plan_schemas
from multisite.api.schemas import quota_classes as quota_class_schemas
from multisite.api.schemas import quotas as quota_schemas
from multisite.api.schemas import sessions as session_schemas
from multisite.api.schemas import sync_jobs as sync_job_schemas
from multisite.api.schemas import sync_policies as sync_policy_schemas
from tests.functional import test_hardening as hardening
from tests.unit.reconcilers.fake_regions import FakeCloud

OPENAPI = os.path.join(os.path.dirname(routes.__file__), "openapi.json")
with open(OPENAPI) as _f:
    DOCUMENT = json.load(_f)

ADMIN_PROJECT = str(uuid.UUID(int=3))
ADMIN = {"X-Project-Id": ADMIN_PROJECT, "X-User-Id": "fuzzer", "X-Roles": "admin"}
SETTINGS = hypothesis.settings(
    max_examples=30, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(hypothesis.HealthCheck))

# POST /v1.0/pods reads Keystone's catalog: fuzzed with an in-memory catalog in
# tests/functional/test_pods_api.py.
schema = (schemathesis.openapi.from_dict(DOCUMENT).exclude(tag="os-sync")
          .exclude(operation_id="pods_create"))


@schema.parametrize()
@SETTINGS
def test_no_server_error(case, wsgi_app, monkeypatch):
    if case.path.startswith(("/v2/image-", "/v2/images/")):
        # image distribution validates against Glance: regions in memory (else every
        # write is a 503 "no service credentials", which this check counts as a failure)
        FakeCloud().install(monkeypatch)
    response = case.call(app=wsgi_app, headers=ADMIN)
    case.validate_response(response, checks=[
        checks.not_a_server_error, checks.status_code_conformance,
        checks.content_type_conformance, checks.response_schema_conformance])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)
LIMIT_KEYS = st.sampled_from(quota_schemas.RESOURCES) | st.text(max_size=8)
QUOTA_SETS = st.fixed_dictionaries({"quota_set": st.dictionaries(
    LIMIT_KEYS, st.integers(min_value=-2**40, max_value=2**40) | JSON, max_size=5)})
BODIES = (QUOTA_SETS.map(lambda b: json.dumps(b).encode())
          | JSON.map(lambda b: json.dumps(b).encode()) | st.binary(max_size=64))


@hypothesis.given(body=BODIES)
@hypothesis.settings(max_examples=200, deadline=None, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_random_bodies_on_quota_update(db, body):
    """Whatever the body: 200, or a 4xx with the error shape; never a 5xx."""
    app = _app(db)
    req = webob.Request.blank(f"/v1.0/{ADMIN_PROJECT}/os-quota-sets/{ADMIN_PROJECT}",
                              method="PUT", headers=ADMIN, body=body)
    resp = req.get_response(app)
    document = json.loads(resp.body)
    if resp.status_int == 200:
        assert list(document) == [ADMIN_PROJECT]
        assert document[ADMIN_PROJECT] == json.loads(body)["quota_set"]
    else:
        assert resp.status_int == 400, resp.body
        assert set(document["error"]) == {"code", "message"}


@hypothesis.given(body=BODIES | QUOTA_SETS.map(lambda b: json.dumps(b).encode()),
                  chunk=st.integers(min_value=1, max_value=4096))
@hypothesis.settings(max_examples=100, deadline=None, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_random_chunked_bodies_on_quota_update(db, body, chunk):
    """The same bodies sent as Transfer-Encoding: chunked, in pieces of any size."""
    resp, _ = hardening.chunked(_app(db), f"/v1.0/{ADMIN_PROJECT}/os-quota-sets/{ADMIN_PROJECT}",
                                body, chunk=chunk, headers=ADMIN)
    assert resp.status_int in (200, 400), resp.body
    assert set(json.loads(resp.body)) in ({ADMIN_PROJECT}, {"error"})


OPENERS = st.sampled_from([b"[", b'{"a":', b'{"quota_set":', b'{"quota_set": {"cores":'])


@hypothesis.given(openers=st.lists(OPENERS, min_size=1, max_size=60),
                  repeat=st.integers(min_value=1, max_value=5000))
@hypothesis.settings(max_examples=60, deadline=None, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_deep_nesting_is_never_a_server_error(db, openers, repeat):
    """Nested arrays and objects, closed or not, up to 300,000 levels: a 4xx, never a 5xx."""
    head = b"".join(openers) * repeat
    closers = b"".join(b"]" if o == b"[" else b"}" for o in reversed(openers)) * repeat
    for body in (head + b"1" + closers, head):
        req = webob.Request.blank(f"/v1.0/{ADMIN_PROJECT}/os-quota-sets/{ADMIN_PROJECT}",
                                  method="PUT", headers=ADMIN, body=body)
        resp = req.get_response(_app(db))
        assert 400 <= resp.status_int < 500, resp.body
        assert set(json.loads(resp.body)["error"]) == {"code", "message"}
        if len(openers) * repeat > 32 and body is not head:
            assert json.loads(resp.body)["error"]["code"] in ("request.too_deep",
                                                              "request.too_large"), resp.body


_APPS = {}


def _app(conf):
    # One app per database: hypothesis runs many examples inside one test call.
    from multisite.api import app as api_app

    key = conf.database.connection
    if key not in _APPS:
        _APPS.clear()
        _APPS[key] = api_app.build_app(conf)
    return _APPS[key]


def _template(pattern):
    """The OpenAPI path of a route pattern: named groups become {name}."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern).replace("\\.", ".")
    return path or "/"


def test_document_lists_exactly_the_routes():
    documented = {(method.upper(), path) for path, item in DOCUMENT["paths"].items()
                  for method in item}
    routed = {(method, _template(pattern)) for method, pattern, _h in routes.ROUTES}
    assert documented == routed


def test_document_request_schemas_are_the_code_schemas():
    components = DOCUMENT["components"]["schemas"]
    for name, code in [("QuotaSetUpdate", quota_schemas.UPDATE),
                       ("QuotaSetDelete", quota_schemas.DELETE),
                       ("QuotaClassSetUpdate", quota_class_schemas.UPDATE),
                       ("SyncJobCreate", sync_job_schemas.CREATE),
                       ("AddressConflictCheck", address_conflict_schemas.CHECK),
                       ("SessionCreate", session_schemas.CREATE),
                       ("SyncPolicyCreate", sync_policy_schemas.CREATE),
                       ("ImageDistributionSet", image_schemas.SET),
                       ("ImageEnsure", image_schemas.ENSURE),
                       ("ImageRolloutCreate", image_schemas.ROLLOUT),
                       ("ImageRolloutAction", image_schemas.ACTION),
                       ("ProtectionPlanCreate", protection_plan_schemas.CREATE),
                       ("CheckpointCreate", protection_plan_schemas.CHECKPOINT_CREATE)]:
        assert components[name] == json.loads(json.dumps(code)), name


def test_document_policies_exist():
    from multisite.api import policies

    names = {rule.name for rule in policies.list_rules()}
    for item in DOCUMENT["paths"].values():
        for operation in item.values():
            # one rule, or a list when the operation checks one of them by its input
            # (a restore: drill or failover)
            found = operation.get("x-policy", "multisite:")
            for name in found if isinstance(found, list) else [found]:
                assert name in names | {"multisite:"}, name
