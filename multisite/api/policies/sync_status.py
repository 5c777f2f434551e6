"""Policies of os-quota-sync-status (a Multisite extension)."""

from oslo_policy import policy

from multisite.api.policies import base

SHOW = "multisite:sync_status:show"

# Its name until the resource got its own noun; a policy file that sets it still works.
_OLD_SHOW = policy.DeprecatedRule(
    "multisite:quotas:sync_status", base.ADMIN_OR_READER,
    deprecated_reason="The sync status has its own policy noun, sync_status.",
    deprecated_since="2026.1")

rules = [
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN_OR_READER,
        "Show the last rebalance outcome of a project in every region.",
        [{"method": "GET", "path": "/v1.0/{project_id}/os-quota-sync-status/{target}"}],
        deprecated_rule=_OLD_SHOW),
]


def list_rules():
    return rules
