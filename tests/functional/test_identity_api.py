"""/v2/identity with configured nodes: a rotation starts (202, a durable work item), one at a
time (409), shows its progress; nodes are the configured ones plus what was observed."""

import json

import pytest
import webob

from multisite.objects import identity_nodes, key_rotations, work_items

ADMIN = {"X-Project-Id": "5f0b8e2c1a4d4c3e9b7a0d2f6e8a1b3c", "X-User-Id": "a",
         "X-Roles": "admin", "Content-Type": "application/json"}
NODES = ["ks1|RegionOne|http://127.0.0.1:9/v3|https://127.0.0.1:9",
         "ks2|RegionTwo|http://127.0.0.1:8/v3|https://127.0.0.1:8"]


def call(app, method, path, body=None):
    req = webob.Request.blank(path, method=method, headers=ADMIN)
    if body is not None:
        req.body = json.dumps(body).encode()
    resp = req.get_response(app)
    return resp.status_int, json.loads(resp.body)


@pytest.fixture
def app(db):
    from multisite.api import app as api_app

    db.set_override("node", NODES, group="identity")
    return api_app.build_app(db)


def test_start_follow_and_one_at_a_time(app, db):
    status, body = call(app, "POST", "/v2/identity/key-rotations", {})
    assert status == 202
    rotation = body["key_rotation"]
    assert rotation["status"] == "running" and rotation["phase"] == "prepare"
    assert "staged_keys" not in rotation and "final_keys" not in rotation
    items = work_items.list_items(db, kind="key_rotation")
    assert [(i["key_id"], i["status"]) for i in items] == [(rotation["id"], "WAITING")]
    status, body = call(app, "POST", "/v2/identity/key-rotations")
    assert (status, body["error"]["code"]) == (409, "key_rotation.in_progress")
    assert rotation["id"] in body["error"]["message"]
    status, body = call(app, "GET", f"/v2/identity/key-rotations/{rotation['id']}")
    assert status == 200 and body["key_rotation"]["id"] == rotation["id"]
    status, body = call(app, "GET", "/v2/identity/key-rotations")
    assert [r["id"] for r in body["key_rotations"]] == [rotation["id"]]
    key_rotations.finish(db, rotation["id"], ok=True, verification={"ks1->ks2": 200})
    status, body = call(app, "POST", "/v2/identity/key-rotations", {"key_rotation": {}})
    assert status == 202 and body["key_rotation"]["id"] != rotation["id"]


def test_nodes_are_the_configured_ones_with_what_was_observed(app, db):
    status, body = call(app, "GET", "/v2/identity/nodes")
    assert status == 200
    assert [(n["name"], n["region"], n["fernet_hash"]) for n in body["nodes"]] == [
        ("ks1", "RegionOne", None), ("ks2", "RegionTwo", None)]
    identity_nodes.sync(db, identity_nodes.parse_config(NODES))
    identity_nodes.record_check(db, "ks2", fernet_hash="ab" * 32, credential_hash="cd" * 32)
    identity_nodes.record_rotation(db, ["ks1", "ks2"], rotation_id="r1",
                                   matrix={"ks1->ks2": 200, "ks2->ks1": 200, "ks1->ks1": 200})
    status, body = call(app, "GET", "/v2/identity/nodes/ks2")
    node = body["node"]
    assert node["fernet_hash"] == "ab" * 32 and node["url"] == "http://127.0.0.1:8/v3"
    assert node["last_rotation"]["id"] == "r1"
    assert node["last_verification"]["pairs"] == {"ks1->ks2": 200, "ks2->ks1": 200}
    assert call(app, "GET", "/v2/identity/nodes/ks3")[0] == 404


@pytest.mark.parametrize("value, reason", [
    ("ks1|RegionOne|http://x/v3", "expected"),
    ("ks1|RegionOne|http://x/v3|http://agent", "https"),
    ("ks1||http://x/v3|https://agent", "expected"),
])
def test_bad_node_config(value, reason):
    with pytest.raises(identity_nodes.InvalidNodeConfig, match=reason):
        identity_nodes.parse_config([value])
    with pytest.raises(identity_nodes.InvalidNodeConfig, match="duplicate"):
        identity_nodes.parse_config(["a|R|http://x|https://y", "a|R|http://x|https://y"])


def test_a_credential_key_rotation_is_started_and_shown_as_such(app, db):
    status, body = call(app, "POST", "/v2/identity/key-rotations",
                        {"key_rotation": {"repository": "credential"}})
    assert status == 202
    rotation = body["key_rotation"]
    assert rotation["repository"] == "credential" and rotation["phase"] == "prepare"
    assert key_rotations.get(db, rotation["id"])["repository"] == "credential"
    status, body = call(app, "POST", "/v2/identity/key-rotations", {})
    assert (status, body["error"]["code"]) == (409, "key_rotation.in_progress")
    key_rotations.finish(db, rotation["id"], ok=True)
    status, body = call(app, "POST", "/v2/identity/key-rotations", {})
    assert status == 202 and body["key_rotation"]["repository"] == "fernet"
