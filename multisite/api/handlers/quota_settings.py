"""os-quota-settings: per-project balancing policy and opt-in (a Multisite extension).

GET/PUT /v1.0/{caller}/os-quota-settings/{target}
    {"quota_settings": {"quota_policy": "kingbird"|"strict"|null,
                        "quota_sync": true|false|null}}
null means the deployment default; the response also names the effective values.
"""

from multisite.api import wsgi
from multisite.api.handlers import common
from multisite.api.policies import quota_settings as policies
from multisite.api.schemas import quota_settings as schemas
from multisite.objects import quota_settings


def _body(conf, settings):
    return {"quota_settings": {
        "quota_policy": settings["quota_policy"],
        "quota_sync": settings["quota_sync"],
        "effective_quota_policy": settings["quota_policy"] or conf.quota_policy,
    }}


def show(req, project_id, target):
    ctx, conf = common.ctx(req), common.conf(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.SHOW, {"project_id": target})
    return wsgi.json_response(_body(conf, quota_settings.get(conf, target)))


def update(req, project_id, target):
    ctx, conf = common.ctx(req), common.conf(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.UPDATE, {"project_id": target})
    body = wsgi.json_body(req)
    common.validate(schemas.UPDATE, body, code="quota_settings.invalid",
                    prefix="Invalid quota settings")
    settings = quota_settings.update(conf, target, body["quota_settings"])
    return wsgi.json_response(_body(conf, settings))
