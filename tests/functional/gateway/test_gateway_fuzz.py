"""Fuzzing the gateway's own endpoints (fake Nova pods over HTTP): whatever the method,
path or body, a JSON answer with a request id, never a 5xx of the gateway's own."""

import json
import uuid

import hypothesis
from hypothesis import strategies as st

from tests.functional.gateway import test_nova_gateway as nova_tests
from tests.functional.gateway.test_nova_gateway import call, cloud, gateway  # noqa: F401

SEGMENTS = st.sampled_from(["servers", "detail", "action", "flavors", "os-availability-zone",
                            "os-keypairs", "..", "%00", str(uuid.uuid4())]) | st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#%"),
    max_size=12)
PATHS = st.lists(SEGMENTS, max_size=4).map(lambda parts: "/" + "/".join(parts)
                                           if parts else "")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3), max_leaves=8)
SERVERS = st.fixed_dictionaries({"server": st.dictionaries(
    st.sampled_from(["name", "availability_zone", "imageRef", "flavorRef", "metadata"]),
    st.sampled_from(["az1", "az2", "az9", "", "vm"]) | JSON, max_size=5)})
SETTINGS = hypothesis.settings(max_examples=120, deadline=None, database=None,
                               derandomize=True,
                               suppress_health_check=list(hypothesis.HealthCheck))


def _checked(resp):
    assert resp.status_int < 500 or resp.status_int in (501, 503), resp.body
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    if resp.body:
        json.loads(resp.body)


@hypothesis.given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
                  path=PATHS, body=st.none() | JSON)
@SETTINGS
def test_random_calls(gateway, method, path, body):  # noqa: F811
    resp, _ = call(gateway, method, path, body)
    _checked(resp)


@hypothesis.given(body=SERVERS | JSON)
@SETTINGS
def test_random_server_creates(gateway, body):  # noqa: F811
    resp, answer = call(gateway, "POST", "/servers", body)
    _checked(resp)
    assert resp.status_int in (202, 400), answer


assert nova_tests  # the fixtures come from the story module
