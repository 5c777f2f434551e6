"""POST /v2/checkpoints/{id}/restore and /v2/restores: drills and failovers (docs/dr.md)."""

from multisite.api import errors, v2, wsgi
from multisite.api.handlers import common
from multisite.api.policies import restores as policies
from multisite.api.schemas import restores as schemas
from multisite.objects import restores


def _view(restore):
    return v2.jsonable(restore)


def create(req, checkpoint_id):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    # every restore needs the drill rule; a failover also the failover rule
    ctx.can(policies.DRILL, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    body = wsgi.json_body(req)
    common.validate(schemas.CREATE, body, code="restore.invalid", prefix="Invalid restore")
    spec = body["restore"]
    if spec["mode"] == restores.FAILOVER:
        ctx.can(policies.FAILOVER, {"project_id": ctx.project_id})
    if spec.get("target_project_id"):
        # creating in another project: the service user gets a role there
        ctx.can(policies.DRILL_INTO_PROJECT, {"project_id": ctx.project_id})
    project = v2.item_scope(ctx, rule=policies.SHOW, all_projects_rule=policies.LIST_ALL_PROJECTS)
    try:
        restore = restores.create(conf, checkpoint_id, region=spec["region"],
                                  mode=spec["mode"], confirm=spec.get("confirm"),
                                  project_id=project,
                                  target_project_id=spec.get("target_project_id"))
    except restores.ConfirmationRequired as exc:
        # a 409 that carries the token and what the failover would do
        return wsgi.json_response({
            "error": {"code": exc.code, "message": str(exc)},
            "confirmation": {"token": exc.token, "expires_at": exc.expires_at,
                             "restore": v2.jsonable(exc.summary)}}, status=409)
    return wsgi.json_response({"restore": _view(restore)}, status=202)


def list_restores(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    query = v2.parse_query(req, schemas.LIST_QUERY)
    project = v2.project_scope(ctx, query, rule=policies.LIST,
                               all_projects_rule=policies.LIST_ALL_PROJECTS)
    limit, marker = v2.page(conf, query)
    found, more = restores.list_restores(conf, project_id=project,
                                         checkpoint_id=query.get("checkpoint_id"),
                                         limit=limit, marker=marker)
    return wsgi.json_response(v2.collection(
        req, "restores", [_view(r) for r in found], limit=limit,
        next_marker=found[-1]["id"] if more else None))


def show(req, restore_id):
    ctx = req.environ["multisite.context"]
    v2.parse_query(req, schemas.SHOW_QUERY)
    project = v2.item_scope(ctx, rule=policies.SHOW, all_projects_rule=policies.LIST_ALL_PROJECTS)
    found = restores.get(req.environ["multisite.conf"], restore_id, project_id=project)
    if found is None:
        raise errors.not_found("restore.not_found", f"Restore not found: {restore_id}")
    return wsgi.json_response({"restore": _view(found)})
