"""/v2/sync-policies: resources kept converged from a source region, audited by the engine."""

from multisite.api import errors, v2, wsgi
from multisite.api.handlers import common
from multisite.api.policies import sync_policies as policies
from multisite.api.schemas import sync_policies as schemas
from multisite.objects import sync_policies
from multisite.rpc import client as rpc_client


def _view(policy):
    body = v2.jsonable({k: v for k, v in policy.items() if k != "targets_state"})
    body["resources"] = policy["resources"] if policy["resources"] is not None else "all"
    body["targets"] = policy["targets"] if policy["targets"] is not None else "all"
    if "targets_state" in policy:
        states = policy["targets_state"]
        states = states.values() if isinstance(states, dict) else states
        body["targets_state"] = [v2.jsonable({k: v for k, v in t.items() if k != "managed"})
                                 for t in states]
    return body


def _check_regions(ctx, project_id, spec):
    """Unknown regions are a 400 before anything is written (asked of an engine)."""
    targets = [] if spec["targets"] == "all" else spec["targets"]
    if spec["source"] in targets:
        raise errors.bad_request("sync_policy.invalid", "A target is the source region")
    result = rpc_client.get_client().validate_sync_resources(
        ctx, [{"resource_type": spec["resource_type"], "resources": [],
               "source": [spec["source"]], "target": targets}],
        project_id=project_id, user_id=ctx.user_id)
    if result["unknown_regions"]:
        raise errors.bad_request("sync_policy.unknown_region",
                                 "Unknown region: " + ", ".join(result["unknown_regions"]))


def create(req):
    ctx = req.environ["multisite.context"]
    project = v2.token_project(ctx)
    ctx.can(policies.CREATE, {"project_id": ctx.project_id})
    body = wsgi.json_body(req)
    common.validate(schemas.CREATE, body, code="sync_policy.invalid",
                    prefix="Invalid sync policy")
    spec = body["sync_policy"]
    if spec["resource_type"] == "flavor":
        ctx.can(policies.CREATE_FLAVOR, {"project_id": ctx.project_id})
    if spec["resource_type"] == "keypair" and not ctx.user_id:
        raise errors.bad_request("sync_policy.invalid",
                                 "A keypair policy needs a user (keypairs belong to users)")
    _check_regions(ctx, project, spec)
    policy = sync_policies.create(
        req.environ["multisite.conf"], project_id=project, user_id=ctx.user_id,
        resource_type=spec["resource_type"],
        resources=None if spec["resources"] == "all" else list(dict.fromkeys(spec["resources"])),
        source=spec["source"],
        targets=None if spec["targets"] == "all" else list(dict.fromkeys(spec["targets"])),
        on_drift=spec.get("on_drift", "observe"),
        propagate_deletes=spec.get("propagate_deletes", False), force=spec.get("force", False))
    return wsgi.json_response({"sync_policy": _view(policy)})


def list_policies(req):
    ctx = req.environ["multisite.context"]
    query = v2.parse_query(req, schemas.LIST_QUERY)
    project = v2.project_scope(ctx, query, rule=policies.LIST,
                               all_projects_rule=policies.LIST_ALL_PROJECTS)
    limit, marker = v2.page(req.environ["multisite.conf"], query)
    found, more = sync_policies.list_policies(req.environ["multisite.conf"],
                                              project_id=project, limit=limit, marker=marker)
    return wsgi.json_response(v2.collection(
        req, "sync_policies", [_view(p) for p in found], limit=limit,
        next_marker=found[-1]["id"] if more else None))


def _get(req, policy_id, rule):
    ctx = req.environ["multisite.context"]
    project = v2.item_scope(ctx, rule=rule, all_projects_rule=policies.LIST_ALL_PROJECTS)
    found = sync_policies.get(req.environ["multisite.conf"], policy_id, project_id=project)
    if found is None:
        raise errors.not_found("sync_policy.not_found", f"Sync policy not found: {policy_id}")
    return ctx, found


def show(req, policy_id):
    v2.parse_query(req, schemas.SHOW_QUERY)
    return wsgi.json_response({"sync_policy": _view(_get(req, policy_id, policies.SHOW)[1])})


def delete(req, policy_id):
    v2.parse_query(req, schemas.SHOW_QUERY)
    _, found = _get(req, policy_id, policies.DELETE)
    sync_policies.delete(req.environ["multisite.conf"], found["id"])
    return wsgi.json_response({"deleted": found["id"]})


def audit(req, policy_id):
    """Audit the policy's project now (every policy of it: one pass), then show it."""
    v2.parse_query(req, schemas.SHOW_QUERY)
    ctx, found = _get(req, policy_id, policies.AUDIT)
    conf = req.environ["multisite.conf"]
    rpc_client.get_client().audit_sync_policies(ctx, found["project_id"],
                                                timeout=conf.sync_policy.audit_timeout)
    return wsgi.json_response({"sync_policy": _view(sync_policies.get(conf, found["id"]))})
