"""Pure decisions of the keypair, flavor and image reconcilers (no I/O)."""

import hashlib

import pytest

from multisite.reconcilers import flavor, image, keypair

KP = {"name": "k", "public_key": "ssh-ed25519 AAAA", "type": "ssh"}
OTHER_KP = dict(KP, public_key="ssh-ed25519 BBBB")


@pytest.mark.parametrize("observed,force,ours,actions,conflict", [
    (None, False, False, ["create"], False),
    (None, True, False, ["create"], False),
    (KP, False, False, [], True),               # Kingbird: 409 -> FAILURE
    (KP, True, False, ["delete", "create"], False),
    (KP, False, True, [], False),               # our earlier attempt made it
    (OTHER_KP, False, True, [], True),          # maybe the user's own: never deleted
    (OTHER_KP, True, True, ["delete", "create"], False),
])
def test_keypair_plan(observed, force, ours, actions, conflict):
    got, reason = keypair.plan(KP, observed, force=force, ours=ours)
    assert got == actions
    assert bool(reason) == conflict


FL = {"id": "42", "name": "f", "ram": 512, "vcpus": 1, "disk": 10, "ephemeral": 10,
      "swap": 1024, "rxtx_factor": 2.0, "is_public": True, "description": None}


@pytest.mark.parametrize("by_id,by_name,force,ours,expected", [
    (None, [], False, False, ([], "create_same_id", None)),
    (None, [], True, False, ([], "create_same_id", None)),
    (FL, [FL], False, False, "conflict"),
    (FL, [FL], True, False, (["42"], "create_new_id", None)),     # Kingbird: new id
    (dict(FL, name="g"), [], True, False, ([], "create_new_id", None)),
    (dict(FL, name="g"), [], False, False, "conflict"),
    (FL, [FL], False, True, ([], None, None)),                      # ours, converged
    (FL, [dict(FL, ram=1)], False, True, (["42"], "create_same_id", None)),
])
def test_flavor_plan(by_id, by_name, force, ours, expected):
    got = flavor.plan(FL, by_id, by_name, force=force, ours=ours)
    if expected == "conflict":
        assert got[2] and got[1] is None
    else:
        assert got == expected


def test_flavor_access_and_specs_diff():
    assert flavor.missing_specs({"a": "1", "b": "2"}, {"a": "1", "b": "3"}) == {"b": "2"}
    assert flavor.missing_access(["p1", "p2"], ["p2"]) == ["p1"]


SRC = {"id": "i", "status": "active", "checksum": "c", "os_hash_algo": "sha512",
       "os_hash_value": "h", "size": 3}


@pytest.mark.parametrize("observed,ours,shared,actions,conflict", [
    (None, False, False, ["create", "upload"], False),
    (dict(SRC), False, False, [], True),                      # same id exists: 409
    (dict(SRC), True, False, [], False),
    (dict(SRC), False, True, [], False),                      # shared kernel/ramdisk
    (dict(SRC, checksum="x"), False, True, [], True),
    (dict(SRC, status="queued"), True, False, ["upload"], False),
    (dict(SRC, status="saving"), True, False, ["wait"], False),
    (dict(SRC, status="killed"), True, False, [], True),
])
def test_image_plan(observed, ours, shared, actions, conflict):
    got, reason = image.plan(SRC, observed, ours=ours, shared=shared)
    assert got == actions
    assert bool(reason) == conflict


def test_image_target_id_is_stable_per_row():
    assert image.target_id("src", force=False, row_id="r1") == "src"
    forced = image.target_id("src", force=True, row_id="r1")
    assert forced != "src" and forced == image.target_id("src", force=True, row_id="r1")
    assert forced != image.target_id("src", force=True, row_id="r2")


def test_create_attributes_keep_properties_and_point_at_dependencies():
    source = {"id": "a", "name": "n", "status": "active", "size": 1, "checksum": "c",
              "disk_format": "ami", "container_format": "ami", "visibility": "private",
              "owner": "p", "kernel_id": "k", "ramdisk_id": "r", "architecture": "arm",
              "os_glance_importing_to_stores": "", "file": "/v2/...", "tags": ["t"]}
    body = image.create_attributes(source, new_id="b",
                                   dependencies={"kernel_id": "k2", "ramdisk_id": "r2"})
    assert body == {"id": "b", "name": "n", "disk_format": "ami", "container_format": "ami",
                    "visibility": "private", "owner": "p", "kernel_id": "k2",
                    "ramdisk_id": "r2", "architecture": "arm", "tags": ["t"]}


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
@pytest.mark.parametrize("hashed", [True, False])
def test_hashing_chunks_pass_every_chunk_whole_counted_and_hashed(chunk, hashed):
    data = bytes(range(256)) * 41
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    reader = image.HashingChunks(iter(chunks), hashed=hashed)
    assert not hasattr(reader, "read")      # a file-like body is sent in small blocks
    passed = list(reader)
    assert passed == chunks                 # whole, in order, nothing re-cut
    assert reader.size == len(data)
    if hashed:
        assert reader.md5.hexdigest() == hashlib.md5(data).hexdigest()
    else:
        assert reader.md5 is None
