"""The address audit kind: one key; a pass where no region answered is retried."""

import types

import pytest

from multisite import reconcilers
from multisite.engine import address_audit, registry
from multisite.reconcilers import address_audit as kind


def env_with(result):
    return types.SimpleNamespace(shared=types.SimpleNamespace(run=lambda: result))


def test_registered_with_its_period(conf):
    entry = next(k for k in registry.KINDS if k.name == kind.KIND)
    assert entry.resync_interval(conf) == conf.addresses.audit_interval == 300
    conf.set_override("audit_enable", False, group="addresses")
    assert entry.resync_interval(conf) is None
    assert kind.keys(None) == [reconcilers.Key("address_audit", "all", None)]


def test_outcomes():
    ok = address_audit.Result()
    ok.regions_ok = ["RegionOne"]
    ok.regions_failed = {"RegionTwo": "down"}
    outcome = kind.reconcile(kind.KEY, env_with(ok))
    assert outcome.status == reconcilers.DONE and outcome.result["regions_ok"] == ["RegionOne"]
    none = address_audit.Result()
    none.regions_failed = {"RegionOne": "down"}
    with pytest.raises(reconcilers.TemporaryError):
        kind.reconcile(kind.KEY, env_with(none))
