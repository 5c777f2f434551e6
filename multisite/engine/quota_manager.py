"""Quota manager: global limits, usage summed over regions, per-region limits."""

import logging

from multisite.objects import quotas

LOG = logging.getLogger(__name__)


class QuotaManager:
    def __init__(self, conf, *, engine_id):
        self.conf = conf
        self.engine_id = engine_id

    def start(self):
        pass

    def stop(self):
        pass

    def get_total_usage_for_tenant(self, ctxt, project_id):
        limits = quotas.effective(self.conf, project_id)
        usage = dict.fromkeys(limits, 0)
        return {"limits": limits, "usage": usage, "unreachable_regions": []}

    def request_sync(self, project_id):
        LOG.info("Quota sync requested for project %s", project_id)
