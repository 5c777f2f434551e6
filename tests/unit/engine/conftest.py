"""Fixtures for engine tests: an in-memory cloud and quota managers on a real DB."""

import uuid

import pytest

from multisite.engine import quota_manager
from tests.unit.engine import fake_cloud


@pytest.fixture
def cloud():
    return fake_cloud.FakeCloud()


@pytest.fixture
def make_manager(db, cloud):
    made = []

    def make(*, engine_id=None, with_cloud=None, coordinated=False):
        manager = quota_manager.QuotaManager(
            db, engine_id=engine_id or str(uuid.uuid4()), cloud=with_cloud or cloud)
        if coordinated:
            manager.start()
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.stop()
