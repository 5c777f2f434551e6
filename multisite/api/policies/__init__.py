"""Policy rules defined in code; `oslopolicy-sample-generator --namespace multisite`."""

import itertools

from multisite.api.policies import (
    address_conflicts,
    addresses,
    base,
    events,
    identity_nodes,
    images,
    inventory,
    jobs,
    key_rotations,
    metrics,
    pods,
    protection_plans,
    quota_classes,
    quota_settings,
    quotas,
    regions,
    restores,
    routers,
    routings,
    sessions,
    sync_jobs,
    sync_policies,
    sync_status,
)


def list_rules():
    return list(itertools.chain(
        base.list_rules(), quotas.list_rules(), quota_classes.list_rules(),
        sync_jobs.list_rules(), quota_settings.list_rules(),
        sync_status.list_rules(), events.list_rules(),
        regions.list_rules(), metrics.list_rules(),
        inventory.list_rules(), addresses.list_rules(), address_conflicts.list_rules(),
        sync_policies.list_rules(), identity_nodes.list_rules(), key_rotations.list_rules(),
        sessions.list_rules(), images.list_rules(), pods.list_rules(),
        routings.list_rules(), jobs.list_rules(), routers.list_rules(),
        protection_plans.list_rules(), restores.list_rules()))
