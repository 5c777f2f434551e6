"""gabbi fixtures named by the stories in gabbits/ (`fixtures: [InMemoryCloud]`)."""

import pytest
from gabbi import fixture

from multisite.conf import CONF
from tests.unit.reconcilers.fake_regions import FakeCloud

# The user and regions of the stories; the cloud holds one keypair, one flavor and one
# public image in RegionOne.
USER = "gabbi-user"
REGIONS = ("RegionOne", "RegionTwo", "RegionThree")
SYNC_OPTIONS = {"scan_interval": 0.05, "retry_delay": 0.05, "lease": 5, "max_attempts": 3}


class InMemoryCloud(fixture.GabbiFixture):
    """An in-memory cloud at the clients/ boundary (Nova keypairs and flavors, Glance)."""

    def start_fixture(self):
        self.patch = pytest.MonkeyPatch()
        self.cloud = FakeCloud(regions=REGIONS).install(self.patch)
        self.cloud.add_keypair("RegionOne", USER, "demo-key", "ssh-ed25519 AAAA demo")
        self.cloud.add_flavor("RegionOne", "m1.demo")
        for name, value in SYNC_OPTIONS.items():
            CONF.set_override(name, value, group="sync")

    def stop_fixture(self):
        for name in SYNC_OPTIONS:
            CONF.clear_override(name, group="sync")
        self.patch.undo()
