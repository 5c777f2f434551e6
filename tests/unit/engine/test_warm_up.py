"""The engine's start-up warm-up of the service token and catalog (engine.service.warm_up)."""

import logging

from multisite.engine import service


class _Catalog:
    def __init__(self, regions=None, error=None):
        self.regions, self.error, self.fetched = regions or {}, error, 0

    def all_regions(self):
        self.fetched += 1
        if self.error is not None:
            raise self.error
        return self.regions


class _Cloud:
    def __init__(self, *, configured=True, catalog=None):
        self.configured = configured
        self.catalog = catalog or _Catalog()
        self.adapters = []

    def region(self, name):
        self.adapters.append(name)


def test_fetches_the_catalog_and_builds_every_region_adapter():
    cloud = _Cloud(catalog=_Catalog({"A": {}, "B": {}}))
    service.warm_up(cloud)
    assert cloud.catalog.fetched == 1
    assert sorted(cloud.adapters) == ["A", "B"]


def test_no_keystone_configured_fetches_nothing():
    cloud = _Cloud(configured=False)
    service.warm_up(cloud)
    assert cloud.catalog.fetched == 0 and cloud.adapters == []


def test_a_failure_is_logged_not_raised(caplog):
    cloud = _Cloud(catalog=_Catalog(error=RuntimeError("keystone down")))
    with caplog.at_level(logging.WARNING, logger="multisite.engine.service"):
        service.warm_up(cloud)
    assert "keystone down" in caplog.text
    assert cloud.adapters == []
