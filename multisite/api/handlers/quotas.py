"""os-quota-sets: global limits of a project (v1.0 and v1.1 URL forms)."""

from multisite.api import errors, v2, wsgi
from multisite.api.handlers import common
from multisite.api.policies import quotas as policies
from multisite.api.schemas import quotas as schemas
from multisite.objects import events, quotas, sync_status
from multisite.rpc import client as rpc_client


def _record(req, event_type, target, payload=None):
    """The action into the event feed, under the target project (which its members see)."""
    events.record_action(common.conf(req), common.ctx(req), event_type,
                         project_id=v2.fold_project_id(target), payload=payload)


def _target(ctx, target, rule):
    ctx.can(rule, {"project_id": target})


def defaults(req, project_id):
    ctx = common.ctx(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.DEFAULTS, {"project_id": project_id})
    return wsgi.json_response({"quota_set": quotas.defaults(common.conf(req))})


def show(req, project_id, target):
    ctx = common.ctx(req)
    common.check_url_project(ctx, project_id)
    _target(ctx, target, policies.SHOW)
    return wsgi.json_response({"quota_set": quotas.effective(common.conf(req), target)})


def detail(req, project_id, target):
    ctx = common.ctx(req)
    common.check_url_project(ctx, project_id)
    _target(ctx, target, policies.DETAIL)
    result = rpc_client.get_client().get_total_usage_for_tenant(ctx, target)
    return _detail_response(result)


def _detail_response(result):
    response = wsgi.json_response(
        {"quota_set": {"limits": result["limits"], "usage": result["usage"]}})
    unreachable = result.get("unreachable_regions") or []
    if unreachable:
        # The v1.0 body stays Kingbird's; the gap is reported beside it.
        response.headers["X-Multisite-Unreachable-Regions"] = ",".join(unreachable)
    return response


def update(req, project_id, target):
    ctx = common.ctx(req)
    common.check_url_project(ctx, project_id)
    _target(ctx, target, policies.UPDATE)
    body = wsgi.json_body(req)
    common.validate(schemas.UPDATE, body, code="quota.invalid_limits",
                    prefix="Invalid input for quota limits")
    limits = quotas.update(common.conf(req), target, body["quota_set"])
    _record(req, "multisite.quota.update", target, {"limits": body["quota_set"]})
    return wsgi.json_response({common.as_sent(req, "target"): limits})


def delete(req, project_id, target):
    ctx = common.ctx(req)
    common.check_url_project(ctx, project_id)
    _target(ctx, target, policies.DELETE)
    body = wsgi.json_body(req, required=False)
    if body is None:
        return _delete_all(req, target)
    common.validate(schemas.DELETE, body, code="quota.invalid_resources",
                    prefix="Invalid input for quota")
    return _delete_some(req, target, body["quota_set"])


def sync(req, project_id, target):
    ctx = common.ctx(req)
    common.check_url_project(ctx, project_id)
    _target(ctx, target, policies.SYNC)
    rpc_client.get_client().quota_sync_for_project(ctx, target)
    _record(req, sync_status.SYNC_REQUESTED, target)
    return wsgi.json_response(f"triggered quota sync for {common.as_sent(req, 'target')}")


def _delete_all(req, target):
    quotas.delete_all(common.conf(req), target)
    _record(req, "multisite.quota.delete", target, {"resources": "all"})
    return wsgi.json_response("Deleted all quota limits for the given project")


def _delete_some(req, target, named):
    """Delete the resources named by a list (echoed once each) or a dict (echoed as given,
    as Kingbird answered)."""
    resources = list(dict.fromkeys(named))
    deleted = quotas.delete_some(common.conf(req), target, resources)
    _record(req, "multisite.quota.delete", target, {"resources": deleted})
    return wsgi.json_response({"Deleted quota limits": named if isinstance(named, dict)
                               else resources})


# v1.1: the URL project is the target; there is no separate caller segment.

def _ctx_v11(req, project_id, rule):
    ctx = common.ctx(req)
    ctx.can(rule, {"project_id": project_id})
    return ctx


def show_v11(req, project_id):
    _ctx_v11(req, project_id, policies.SHOW)
    return wsgi.json_response({"quota_set": quotas.effective(common.conf(req), project_id)})


def defaults_v11(req, project_id):
    _ctx_v11(req, project_id, policies.DEFAULTS)
    return wsgi.json_response({"quota_set": quotas.defaults(common.conf(req))})


def detail_v11(req, project_id):
    ctx = _ctx_v11(req, project_id, policies.DETAIL)
    result = rpc_client.get_client().get_total_usage_for_tenant(ctx, project_id)
    return _detail_response(result)


def update_v11(req, project_id):
    _ctx_v11(req, project_id, policies.UPDATE)
    body = wsgi.json_body(req)
    common.validate(schemas.UPDATE, body, code="quota.invalid_limits",
                    prefix="Invalid input for quota limits")
    limits = quotas.update(common.conf(req), project_id, body["quota_set"])
    _record(req, "multisite.quota.update", project_id, {"limits": body["quota_set"]})
    return wsgi.json_response({common.as_sent(req, "project_id"): limits})


def delete_v11(req, project_id):
    _ctx_v11(req, project_id, policies.DELETE)
    try:
        resources = list(req.GET.keys())
    except UnicodeDecodeError:
        raise errors.bad_request("request.invalid_url",
                                 "Invalid request URL: query string is not UTF-8") from None
    if not resources:
        return _delete_all(req, project_id)
    unknown = sorted(set(resources) - set(schemas.RESOURCES))
    if unknown:
        raise errors.bad_request("quota.invalid_resources",
                                 f"Invalid input for quota: unknown {', '.join(unknown)}")
    return _delete_some(req, project_id, list(dict.fromkeys(resources)))


def sync_v11(req, project_id):
    ctx = _ctx_v11(req, project_id, policies.SYNC)
    rpc_client.get_client().quota_sync_for_project(ctx, project_id)
    _record(req, sync_status.SYNC_REQUESTED, project_id)
    return wsgi.json_response(
        f"triggered quota sync for {common.as_sent(req, 'project_id')}")

