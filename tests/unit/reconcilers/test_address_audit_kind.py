"""The address audit kind: one key; a pass where no region answered is retried."""

import types

import pytest

from multisite import reconcilers
from multisite.engine import address_audit, registry
from multisite.reconcilers import address_audit as kind


def env_with(result, calls=None):
    def run(regions=None):
        if calls is not None:
            calls.append(regions)
        return result
    return types.SimpleNamespace(shared=types.SimpleNamespace(run=run))


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


@pytest.mark.parametrize("event_type,key", [
    ("port.create.end", ("RegionTwo", "RegionTwo")),
    ("port.delete.end", ("RegionTwo", "RegionTwo")),
    ("port.update.end", ("RegionTwo", "RegionTwo")),
    ("floatingip.create.end", ("RegionTwo", "RegionTwo")),
    ("floatingip.update.end", ("RegionTwo", "RegionTwo")),
    ("subnet.delete.end", ("RegionTwo", "RegionTwo")),
    ("router.update.end", ("RegionTwo", "RegionTwo")),
    ("network.delete.end", ("RegionTwo", "RegionTwo")),
    ("port.create.start", None),             # not done yet
    ("compute.instance.create.end", None),   # its port has its own event
    ("security_group.create.end", None),
    ("", None),
    (None, None),
])
def test_notifications_wake_their_regions_key(event_type, key):
    found = kind.key_for(event_type, "RegionTwo")
    assert (None if found is None else (found.id, found.region)) == key
    assert kind.key_for(event_type, None) is None


def test_a_region_key_refreshes_that_region_only():
    ok = address_audit.Result()
    ok.regions_ok = ["RegionTwo"]
    calls = []
    kind.reconcile(kind.key_for("port.create.end", "RegionTwo"), env_with(ok, calls))
    kind.reconcile(kind.KEY, env_with(ok, calls))
    assert calls == [["RegionTwo"], None]
