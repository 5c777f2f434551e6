"""/v1.0/routings: top id -> bottom id in a pod (Tricircle's API: newest first, filters,
limit/marker with a `routings_links` next link)."""

import urllib.parse

from multisite.api import errors, v2, wsgi
from multisite.api.handlers import common
from multisite.api.policies import routings as policies
from multisite.api.schemas import routings as schemas
from multisite.objects import routings


def parse_id(value):
    """A routing id is an integer (a 404 for anything else: no such routing)."""
    if not value.isdigit() or len(value) > 18:
        raise errors.not_found("routing.not_found", f"Resource routing not found: {value}")
    return int(value)


def _view(routing):
    return v2.jsonable(routing)


def _stripped(spec):
    return {k: v.strip() for k, v in spec.items()}


def create(req):
    ctx = common.ctx(req)
    ctx.can(policies.CREATE, {"project_id": ctx.project_id})
    body = wsgi.json_body(req)
    common.validate(schemas.CREATE, body, code="routing.invalid", prefix="Invalid routing")
    spec = _stripped(body["routing"])
    routing = routings.create(common.conf(req), **spec)
    return wsgi.json_response({"routing": _view(routing)})


def list_routings(req):
    ctx = common.ctx(req)
    ctx.can(policies.LIST, {"project_id": ctx.project_id})
    query = v2.parse_query(req, schemas.LIST_QUERY)
    conf = common.conf(req)
    limit, _ = v2.page(conf, query)
    marker = int(query["marker"]) if "marker" in query else None
    filters = {k: v for k, v in query.items() if k in routings.FILTERS}
    if "id" in filters:
        filters["id"] = int(filters["id"])
    found, more = routings.list_routings(conf, filters=filters, limit=limit, marker=marker)
    result = {"routings": [_view(r) for r in found]}
    if more:
        params = [(k, v) for k, v in req.GET.items() if k not in ("limit", "marker")]
        params += [("limit", str(limit)), ("marker", str(found[-1]["id"]))]
        result["routings_links"] = [{"rel": "next", "href": req.path_url + "?"
                                     + urllib.parse.urlencode(params)}]
    return wsgi.json_response(result)


def show(req, routing_id):
    ctx = common.ctx(req)
    ctx.can(policies.SHOW, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    return wsgi.json_response(
        {"routing": _view(routings.get(common.conf(req), parse_id(routing_id)))})


def update(req, routing_id):
    ctx = common.ctx(req)
    ctx.can(policies.UPDATE, {"project_id": ctx.project_id})
    body = wsgi.json_body(req)
    common.validate(schemas.UPDATE, body, code="routing.invalid", prefix="Invalid routing")
    routing = routings.update(common.conf(req), parse_id(routing_id),
                              _stripped(body["routing"]))
    return wsgi.json_response({"routing": _view(routing)})


def delete(req, routing_id):
    ctx = common.ctx(req)
    ctx.can(policies.DELETE, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    routings.delete(common.conf(req), parse_id(routing_id))
    return wsgi.json_response({})
