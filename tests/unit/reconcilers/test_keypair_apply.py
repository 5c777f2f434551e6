"""The keypair reconciler's calls: create first, read the target only on a 409."""

import pytest

from multisite.reconcilers import PermanentError, keypair
from tests.unit.reconcilers.fake_regions import FakeCloud, FakeCompute

R1, R2 = "RegionOne", "RegionTwo"
KEY = "ssh-ed25519 AAAA source"


class Regions:
    def __init__(self, cloud):
        self.cloud = cloud

    def compute(self, region):
        return FakeCompute(self.cloud, region)


def _item(**kw):
    return {"resource": "k", "user_id": "u", "source_region": R1, "target_region": R2,
            "force": False, "attempts": 1, "target_id": None, **kw}


@pytest.fixture
def cloud():
    cloud = FakeCloud()
    cloud.add_keypair(R1, "u", "k", KEY)
    return cloud


def test_common_path_is_one_create_with_the_validation_snapshot(cloud):
    snapshot = {"name": "k", "public_key": KEY, "type": "ssh"}
    keypair.apply(_item(source_snapshot=snapshot), Regions(cloud))
    assert cloud.calls == [(R2, "create keypair k")]
    assert cloud.keypairs[R2][("u", "k")]["public_key"] == KEY


def test_without_snapshot_the_source_is_read(cloud):
    keypair.apply(_item(), Regions(cloud))
    assert cloud.calls == [(R1, "get keypair k"), (R2, "create keypair k")]


def test_existing_keypair_without_force_fails_after_one_read(cloud):
    cloud.add_keypair(R2, "u", "k", KEY)
    with pytest.raises(PermanentError, match="already exists"):
        keypair.apply(_item(), Regions(cloud))
    assert cloud.calls[1:] == [(R2, "create keypair k"), (R2, "get keypair k")]


def test_force_replaces_a_different_keypair(cloud):
    cloud.add_keypair(R2, "u", "k", "ssh-ed25519 BBBB other")
    keypair.apply(_item(force=True), Regions(cloud))
    assert cloud.keypairs[R2][("u", "k")]["public_key"] == KEY


def test_retry_accepts_its_identical_copy_but_never_deletes_another(cloud):
    cloud.add_keypair(R2, "u", "k", KEY)
    keypair.apply(_item(attempts=2), Regions(cloud))  # an earlier attempt made it
    cloud.keypairs[R2][("u", "k")]["public_key"] = "ssh-ed25519 BBBB user's own"
    with pytest.raises(PermanentError):
        keypair.apply(_item(attempts=2), Regions(cloud))
    assert cloud.keypairs[R2][("u", "k")]["public_key"] == "ssh-ed25519 BBBB user's own"
