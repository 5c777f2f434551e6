"""Policy rules defined in code; `oslopolicy-sample-generator --namespace multisite`."""

import itertools

from multisite.api.policies import (
    base,
    events,
    metrics,
    quota_classes,
    quota_settings,
    quotas,
    regions,
    sessions,
    sync_jobs,
)


def list_rules():
    return list(itertools.chain(
        base.list_rules(), quotas.list_rules(), quota_classes.list_rules(),
        sync_jobs.list_rules(), quota_settings.list_rules(), events.list_rules(),
        regions.list_rules(), metrics.list_rules(), sessions.list_rules()))
