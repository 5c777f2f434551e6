"""/v2/inventory: a project's resources in every region, read live by the engine (cached)."""

from multisite.api import v2, wsgi
from multisite.api.policies import inventory as policies
from multisite.api.schemas import inventory as schemas
from multisite.rpc import client as rpc_client


def _read(req, schema):
    """(query, the engine's answer) for the project the request is about."""
    ctx = req.environ["multisite.context"]
    query = v2.parse_query(req, schema)
    project = v2.project_scope(ctx, query, rule=policies.LIST, all_projects_rule=None)
    # keypairs belong to users: the caller's own, when the project is the caller's
    user = ctx.user_id if project == v2.token_project(ctx) else None
    answer = rpc_client.get_client().get_inventory(
        ctx, project, user_id=user, refresh=query.get("refresh") in v2.TRUE)
    return query, answer


def marker_of(item):
    return f"{item['region']}/{item['type']}/{item['id']}"


def select(items, query):
    """The items the filters keep, in (region, type, id) order."""
    found = [i for i in items
             if query.get("type") in (None, i["type"])
             and query.get("region") in (None, i["region"])
             and query.get("name") in (None, i.get("name"))]
    return sorted(found, key=lambda i: (i["region"], i["type"], str(i["id"])))


def list_inventory(req):
    query, answer = _read(req, schemas.LIST_QUERY)
    limit, marker = v2.page(req.environ["multisite.conf"], query)
    items = select(answer["items"], query)
    if marker is not None:
        keys = [marker_of(i) for i in items]
        if marker not in keys:
            raise v2.invalid_marker(marker)
        items = items[keys.index(marker) + 1:]
    page = items[:limit]
    body = v2.collection(req, "inventory", page, limit=limit,
                         next_marker=marker_of(page[-1]) if len(items) > limit else None)
    body.update({k: answer[k] for k in ("regions", "unreachable_regions", "errors",
                                        "read_at", "age")})
    return wsgi.json_response(body)


def summary(req):
    query, answer = _read(req, schemas.SUMMARY_QUERY)
    counts = {}
    for item in select(answer["items"], query):
        per_type = counts.setdefault(item["type"], {})
        per_type[item["region"]] = per_type.get(item["region"], 0) + 1
    body = {"summary": {t: {"regions": per, "total": sum(per.values())}
                        for t, per in sorted(counts.items())}}
    body.update({k: answer[k] for k in ("regions", "unreachable_regions", "errors",
                                        "read_at", "age")})
    return wsgi.json_response(body)
