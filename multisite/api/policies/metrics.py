"""Policy of GET /metrics (Prometheus text format)."""

from oslo_policy import policy

from multisite.api.policies import base

SHOW = "multisite:metrics:show"

rules = [
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN,
        "Scrape the metrics (when [metrics] enabled): region health, probe latency, "
        "capacity, sync jobs and rows, quota sync status, stored events, DB pool.",
        [{"method": "GET", "path": "/metrics"}]),
]


def list_rules():
    return rules
