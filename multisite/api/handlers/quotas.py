"""os-quota-sets: global limits of a project (v1.0 and v1.1 URL forms)."""

from multisite.api import errors, v2, wsgi
from multisite.api.handlers import common
from multisite.api.policies import quotas as policies
from multisite.api.schemas import quotas as schemas
from multisite.objects import events, quotas
from multisite.objects import sync_status as sync_status_objects
from multisite.rpc import client as rpc_client


def _ctx(req):
    return req.environ["multisite.context"]


def _conf(req):
    return req.environ["multisite.conf"]


def _record(req, event_type, target, payload=None):
    """The action into the event feed, under the target project (which its members see)."""
    events.record_action(_conf(req), _ctx(req), event_type,
                         project_id=v2.fold_project_id(target), payload=payload)


def _target(ctx, target, rule):
    ctx.can(rule, {"project_id": target})
    common.check_uuid(target)


def defaults(req, project_id):
    ctx = _ctx(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.DEFAULTS, {"project_id": project_id})
    return wsgi.json_response({"quota_set": quotas.defaults(_conf(req))})


def show(req, project_id, target):
    ctx = _ctx(req)
    common.check_url_project(ctx, project_id)
    _target(ctx, target, policies.SHOW)
    return wsgi.json_response({"quota_set": quotas.effective(_conf(req), target)})


def detail(req, project_id, target):
    ctx = _ctx(req)
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
    ctx = _ctx(req)
    common.check_url_project(ctx, project_id)
    _target(ctx, target, policies.UPDATE)
    body = wsgi.json_body(req)
    common.validate(schemas.UPDATE, body, code="quota.invalid_limits",
                    prefix="Invalid input for quota limits")
    limits = quotas.update(_conf(req), target, body["quota_set"])
    _record(req, "multisite.quota.update", target, {"limits": body["quota_set"]})
    return wsgi.json_response({target: limits})


def delete(req, project_id, target):
    ctx = _ctx(req)
    common.check_url_project(ctx, project_id)
    _target(ctx, target, policies.DELETE)
    body = wsgi.json_body(req, required=False)
    if body is None:
        return _delete_all(req, target)
    common.validate(schemas.DELETE, body, code="quota.invalid_resources",
                    prefix="Invalid input for quota")
    return _delete_some(req, target, list(body["quota_set"]))


def sync(req, project_id, target):
    ctx = _ctx(req)
    common.check_url_project(ctx, project_id)
    _target(ctx, target, policies.SYNC)
    rpc_client.get_client().quota_sync_for_project(ctx, target)
    _record(req, "multisite.quota.sync", target)
    return wsgi.json_response(f"triggered quota sync for {target}")


def sync_status(req, project_id, target):
    ctx = _ctx(req)
    common.check_url_project(ctx, project_id)
    _target(ctx, target, policies.SYNC_STATUS)
    return wsgi.json_response(
        {"sync_status": sync_status_objects.list_for_project(_conf(req), target)})


def _delete_all(req, target):
    quotas.delete_all(_conf(req), target)
    _record(req, "multisite.quota.delete", target, {"resources": "all"})
    return wsgi.json_response("Deleted all quota limits for the given project")


def _delete_some(req, target, resources):
    deleted = quotas.delete_some(_conf(req), target, resources)
    _record(req, "multisite.quota.delete", target, {"resources": deleted})
    return wsgi.json_response({"Deleted quota limits": deleted})


# v1.1: the URL project is the target; there is no separate caller segment.

def _ctx_v11(req, project_id, rule):
    ctx = _ctx(req)
    ctx.can(rule, {"project_id": project_id})
    common.check_uuid(project_id)
    return ctx


def show_v11(req, project_id):
    _ctx_v11(req, project_id, policies.SHOW)
    return wsgi.json_response({"quota_set": quotas.effective(_conf(req), project_id)})


def defaults_v11(req, project_id):
    _ctx_v11(req, project_id, policies.DEFAULTS)
    return wsgi.json_response({"quota_set": quotas.defaults(_conf(req))})


def detail_v11(req, project_id):
    ctx = _ctx_v11(req, project_id, policies.DETAIL)
    result = rpc_client.get_client().get_total_usage_for_tenant(ctx, project_id)
    return _detail_response(result)


def update_v11(req, project_id):
    _ctx_v11(req, project_id, policies.UPDATE)
    body = wsgi.json_body(req)
    common.validate(schemas.UPDATE, body, code="quota.invalid_limits",
                    prefix="Invalid input for quota limits")
    limits = quotas.update(_conf(req), project_id, body["quota_set"])
    _record(req, "multisite.quota.update", project_id, {"limits": body["quota_set"]})
    return wsgi.json_response({project_id: limits})


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
    _record(req, "multisite.quota.sync", project_id)
    return wsgi.json_response(f"triggered quota sync for {project_id}")

