"""The registry lists every kind of background work once (a merge that drops one fails here)."""

from multisite.engine import registry

EXPECTED = {"quota", "sync", "region_health", "region_capacity", "event_bus", "event_retention",
            "address_audit", "sync_policy", "key_rotation", "identity_audit",
            "gateway_routing", "gateway_ports", "dr_plan", "dr_checkpoint", "dr_schedule",
            "dr_restore", "image_copy", "image_rollout", "image_distribution",
            "net_router", "net_secgroup"}


def test_every_kind_is_registered_once():
    names = [kind.name for kind in registry.KINDS]
    assert len(names) == len(set(names))
    assert set(names) == EXPECTED


def test_every_kind_has_a_reconciler_and_a_key_source():
    for kind in registry.KINDS:
        assert kind.reconciler is not None, kind.name
        # a periodic lister, durable leases, or both: a kind with neither never runs
        assert kind.lister is not None or kind.leases is not None, kind.name
