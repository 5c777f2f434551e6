"""os-quota-sync-status: a project's last rebalance outcome per region (Multisite)."""

from multisite.api import wsgi
from multisite.api.handlers import common
from multisite.api.policies import sync_status as policies
from multisite.objects import sync_status


def show(req, project_id, target):
    ctx = common.ctx(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.SHOW, {"project_id": target})
    return wsgi.json_response(sync_status.summary(common.conf(req), target))
