"""/v2/protection-plans and /v2/checkpoints: VNF disaster recovery (docs/dr.md)."""

from multisite.api import errors, v2, wsgi
from multisite.api.handlers import common
from multisite.api.policies import protection_plans as policies
from multisite.api.schemas import protection_plans as schemas
from multisite.objects import checkpoints, protection_plans

DEFAULT_METHOD = "pause"
DEFAULT_RETENTION = 3


def _plan_view(plan):
    return v2.jsonable(plan)


def _checkpoint_view(checkpoint):
    body = v2.jsonable(checkpoint)
    resources = dict(checkpoint["resources"] or {})
    resources.pop("plan", None)   # the discovery it ran on: in the plan already
    for volume in resources.get("volumes", []):
        volume.pop("record", None)   # the exported backup record: large, internal
    body["resources"] = resources
    return body


def _spec_errors(spec):
    """What the schema cannot say: a server named twice, a backup region that is the source."""
    if spec["source_region"] == spec["backup_region"]:
        raise errors.bad_request("protection_plan.invalid",
                                 "Invalid protection plan: the backup region is the source "
                                 "region")
    seen, twice = set(), []
    for ref in (r for group in spec["groups"] for r in group):
        if ref in seen and ref not in twice:
            twice.append(ref)
        seen.add(ref)
    if twice:
        raise errors.bad_request("protection_plan.invalid",
                                 "Invalid protection plan: server named more than once: "
                                 + ", ".join(twice))
    if spec.get("method") == "replicate" and not spec.get("schedule"):
        raise errors.bad_request("protection_plan.invalid",
                                 "Invalid protection plan: method replicate needs a schedule "
                                 "(its interval is the replication period)")


def create(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    project = v2.token_project(ctx)
    ctx.can(policies.CREATE, {"project_id": ctx.project_id})
    body = wsgi.json_body(req)
    common.validate(schemas.CREATE, body, code="protection_plan.invalid",
                    prefix="Invalid protection plan")
    spec = body["protection_plan"]
    _spec_errors(spec)
    schedule = spec.get("schedule")
    plan = protection_plans.create(
        conf, project_id=project, user_id=ctx.user_id, name=spec["name"],
        source_region=spec["source_region"], backup_region=spec["backup_region"],
        groups=spec["groups"], method=spec.get("method", DEFAULT_METHOD),
        retention=spec.get("retention", DEFAULT_RETENTION),
        schedule_interval=schedule["interval"] if schedule else None)
    return wsgi.json_response({"protection_plan": _plan_view(plan)}, status=202)


def list_plans(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    query = v2.parse_query(req, schemas.LIST_QUERY)
    project = v2.project_scope(ctx, query, rule=policies.LIST,
                               all_projects_rule=policies.LIST_ALL_PROJECTS)
    limit, marker = v2.page(conf, query)
    found, more = protection_plans.list_plans(conf, project_id=project, limit=limit,
                                              marker=marker)
    return wsgi.json_response(v2.collection(
        req, "protection_plans", [_plan_view(p) for p in found], limit=limit,
        next_marker=found[-1]["id"] if more else None))


def _get(req, plan_id, rule):
    ctx = req.environ["multisite.context"]
    project = v2.item_scope(ctx, rule=rule, all_projects_rule=policies.LIST_ALL_PROJECTS)
    found = protection_plans.get(req.environ["multisite.conf"], plan_id, project_id=project)
    if found is None:
        raise errors.not_found("protection_plan.not_found",
                               f"Protection plan not found: {plan_id}")
    return found


def show(req, plan_id):
    v2.parse_query(req, schemas.SHOW_QUERY)
    found = _get(req, plan_id, policies.SHOW)
    body = _plan_view(found)
    # per volume, the newest restorable copy and its age (Option 3's recovery point)
    body["recovery_points"] = checkpoints.recovery_points(req.environ["multisite.conf"],
                                                          found)
    return wsgi.json_response({"protection_plan": body})


def delete(req, plan_id):
    v2.parse_query(req, schemas.SHOW_QUERY)
    found = _get(req, plan_id, policies.DELETE)
    protection_plans.delete(req.environ["multisite.conf"], found["id"])
    return wsgi.json_response({"deleted": found["id"]})


def discover(req, plan_id):
    v2.parse_query(req, schemas.SHOW_QUERY)
    found = _get(req, plan_id, policies.DISCOVER)
    conf = req.environ["multisite.conf"]
    protection_plans.rediscover(conf, found["id"])
    return wsgi.json_response({"protection_plan": _plan_view(
        protection_plans.get(conf, found["id"]))}, status=202)


def create_checkpoint(req, plan_id):
    v2.parse_query(req, schemas.SHOW_QUERY)
    found = _get(req, plan_id, policies.CHECKPOINT_CREATE)
    common.validate(schemas.CHECKPOINT_CREATE, wsgi.json_body(req, required=False) or {},
                    code="checkpoint.invalid", prefix="Invalid checkpoint")
    checkpoint = checkpoints.create(req.environ["multisite.conf"], found["id"])
    return wsgi.json_response({"checkpoint": _checkpoint_view(checkpoint)}, status=202)


def list_checkpoints(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    query = v2.parse_query(req, schemas.CHECKPOINT_LIST_QUERY)
    project = v2.project_scope(ctx, query, rule=policies.CHECKPOINT_LIST,
                               all_projects_rule=policies.LIST_ALL_PROJECTS)
    limit, marker = v2.page(conf, query)
    found, more = checkpoints.list_checkpoints(conf, project_id=project,
                                               plan_id=query.get("plan_id"), limit=limit,
                                               marker=marker)
    return wsgi.json_response(v2.collection(
        req, "checkpoints", [_checkpoint_view(c) for c in found], limit=limit,
        next_marker=found[-1]["id"] if more else None))


def show_checkpoint(req, checkpoint_id):
    ctx = req.environ["multisite.context"]
    v2.parse_query(req, schemas.SHOW_QUERY)
    project = v2.item_scope(ctx, rule=policies.CHECKPOINT_SHOW,
                            all_projects_rule=policies.LIST_ALL_PROJECTS)
    found = checkpoints.get(req.environ["multisite.conf"], checkpoint_id, project_id=project)
    if found is None:
        raise errors.not_found("checkpoint.not_found", f"Checkpoint not found: {checkpoint_id}")
    return wsgi.json_response({"checkpoint": _checkpoint_view(found)})
