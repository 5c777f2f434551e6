"""Fuzzing the gateway's block-storage endpoints (fake Cinder and Nova pods over HTTP):
whatever the method, path or body of volumes, snapshots, backups, transfers and the
calls not routed, a JSON answer with a request id, never a 5xx of the gateway's own,
and no routing left incomplete."""

import uuid

import hypothesis
from hypothesis import strategies as st

from multisite.objects import routings
from tests.functional.gateway.test_cinder_gateway import call, cloud, gateway  # noqa: F401
from tests.functional.gateway.test_gateway_fuzz import JSON, SETTINGS, _checked

SEGMENTS = st.sampled_from(["volumes", "snapshots", "backups", "os-volume-transfer",
                            "volume-transfers", "detail", "action", "restore", "accept",
                            "metadata", "groups", "group_types", "types", "import_record",
                            "os-availability-zone", "..", "%00", str(uuid.uuid4())]) | st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#%"),
    max_size=12)
PATHS = st.lists(SEGMENTS, max_size=4).map(lambda parts: "/" + "/".join(parts)
                                           if parts else "")
FIELDS = st.sampled_from(["name", "size", "availability_zone", "volume_id", "snapshot_id",
                          "source_volid", "backup_id", "metadata", "auth_key"])
VALUES = st.sampled_from(["az1", "az2", "az9", "", "no-such-volume", 1]) | JSON
BODIES = st.dictionaries(
        st.sampled_from(["volume", "snapshot", "backup", "transfer", "restore", "accept"]),
        st.dictionaries(FIELDS, VALUES, max_size=4) | JSON, min_size=1, max_size=1)


@hypothesis.given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
                  path=PATHS, body=st.none() | BODIES | JSON)
@SETTINGS
def test_random_block_storage_calls(gateway, db, method, path, body):  # noqa: F811
    resp, _ = call(gateway, method, path, body)
    _checked(resp)
    assert routings.incomplete(db) == []


@hypothesis.given(collection=st.sampled_from(["volumes", "snapshots", "backups",
                                              "os-volume-transfer"]), body=BODIES | JSON)
@SETTINGS
def test_random_creates_of_what_goes_to_a_volumes_pod(gateway, db, collection,  # noqa: F811
                                                      body):
    """Creates naming a real volume (of az2) or anything else: 202, or a 4xx/501."""
    volume = call(gateway, "POST", "/volumes", {"volume": {"size": 1,
                                                           "availability_zone": "az2"}})
    if isinstance(body, dict):
        for item in body.values():
            if isinstance(item, dict) and item.get("volume_id") == "no-such-volume":
                item["volume_id"] = volume[1]["volume"]["id"]
    resp, answer = call(gateway, "POST", f"/{collection}", body)
    _checked(resp)
    assert resp.status_int in (202, 400, 404), answer
    assert routings.incomplete(db) == []
