"""Fuzzing the gateway's network endpoints and the networks of a server create (fake top
Neutron, pods' Neutrons and Novas over HTTP): a JSON answer with a request id whatever is
sent, never a 5xx of the gateway's own, and no routing left incomplete."""

import uuid

import hypothesis
from hypothesis import strategies as st

from multisite.objects import routings
from tests.functional.gateway.test_gateway_fuzz import JSON, SETTINGS, _checked
from tests.functional.gateway.test_neutron_gateway import call, cloud, gateway  # noqa: F401

SEGMENTS = st.sampled_from(["v2.0", "networks", "subnets", "ports", "security-groups",
                            "tags", "routers", "extensions", "..", "%00",
                            str(uuid.uuid4())]) | st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#%"),
    max_size=12)
PATHS = st.lists(SEGMENTS, max_size=4).map(lambda parts: "/network/" + "/".join(parts))
NETWORK_BODIES = st.fixed_dictionaries({"network": st.dictionaries(
    st.sampled_from(["name", "availability_zone_hints", "shared", "tags", "segments",
                     "provider:network_type", "provider:physical_network",
                     "provider:segmentation_id"]),
    st.sampled_from([["az1"], ["az9"], [], "az1", None, [1], "vlan", "bridge", 2000, "2000",
                     [{"provider:network_type": "vlan", "provider:segmentation_id": 2000,
                       "provider:physical_network": "bridge"}]]) | JSON, max_size=5)})
NETWORKS = st.sampled_from(["none", "auto", [], [{"uuid": "no-such-net"}],
                            [{"port": "no-such-port"}], [{"fixed_ip": "10.0.0.1"}]]) | JSON


@hypothesis.given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]), path=PATHS,
                  body=st.none() | NETWORK_BODIES | JSON)
@SETTINGS
def test_random_network_calls(gateway, method, path, body):  # noqa: F811
    resp, _ = call(gateway, method, path, body)
    _checked(resp)


@hypothesis.given(networks=NETWORKS, zone=st.sampled_from(["az1", "az2"]))
@SETTINGS
def test_random_networks_of_a_server_create(gateway, db, networks, zone):  # noqa: F811
    resp, answer = call(gateway, "POST", "/compute/v2.1/servers", {"server": {
        "name": "vm", "imageRef": "img", "flavorRef": "f1", "availability_zone": zone,
        "networks": networks}})
    _checked(resp)
    assert resp.status_int in (202, 400), answer
    assert routings.incomplete(db) == []
