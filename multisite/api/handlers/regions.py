"""/v2/regions and /v2/capacity: every region's health and capacity, as last probed."""

from multisite.api import errors, v2, wsgi
from multisite.api.policies import regions as policies
from multisite.api.schemas import regions as schemas
from multisite.objects import regions


def _service(row):
    return v2.jsonable({
        "url": row["url"], "reachable": row["reachable"], "version": row["version"],
        "probed_at": row["probed_at"], "latency_ms": row["latency_ms"],
        "consecutive_failures": row["failures"], "last_error": row["error"],
        "changed_at": row["changed_at"], "service_status": row["services"]})


def serialize(region):
    """A region: its status over its services, and each probed service."""
    return {"name": region["name"], "status": regions.region_status(region["services"]),
            "services": {name: _service(row) for name, row in region["services"].items()}}


def list_regions(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    ctx.can(policies.LIST, {"project_id": ctx.project_id})
    query = v2.parse_query(req, schemas.LIST_QUERY)
    limit, marker = v2.page(conf, query)
    found, more = regions.list_regions(conf, limit=limit, marker=marker)
    return wsgi.json_response(v2.collection(
        req, "regions", [serialize(r) for r in found], limit=limit,
        next_marker=found[-1]["name"] if more else None))


def _one(conf, name):
    found, _more = regions.list_regions(conf, name=name)
    if not found:
        raise errors.not_found("region.not_found", f"Region not found: {name}")
    return found[0]


def show(req, name):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    ctx.can(policies.SHOW, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    return wsgi.json_response({"region": serialize(_one(conf, name))})


def _capacity(conf, region):
    view = regions.capacity_view(regions.capacity(conf, region=region),
                                 now=regions.utcnow())
    view["regions"] = [v2.jsonable({k: v2.jsonable(v) if isinstance(v, dict) else v
                                    for k, v in r.items()}) for r in view["regions"]]
    return view


def capacity(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    ctx.can(policies.CAPACITY, {"project_id": ctx.project_id})
    query = v2.parse_query(req, schemas.CAPACITY_QUERY)
    if "region" in query:
        _one(conf, query["region"])
    return wsgi.json_response({"capacity": _capacity(conf, query.get("region"))})


def capacity_of(req, name):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    ctx.can(policies.CAPACITY, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    _one(conf, name)
    return wsgi.json_response({"capacity": _capacity(conf, name)})
