"""/v2/address-conflicts: addresses held in two regions of one routable domain."""

from multisite import addressing
from multisite.api import errors, v2, wsgi
from multisite.api.handlers import common
from multisite.api.policies import address_conflicts as policies
from multisite.api.schemas import address_conflicts as schemas
from multisite.objects import address_conflicts, addresses

SIDE_SUMMARY = ("region", "project_id", "kind", "address")


def visible(conflict, project):
    """The conflict as `project` may see it: another project's side shows only where."""
    if project is None:
        return v2.jsonable(conflict)
    sides = [s if s["project_id"] == project else {k: s[k] for k in SIDE_SUMMARY}
             for s in conflict["sides"]]
    return v2.jsonable(dict(conflict, sides=sides))


def list_conflicts(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    query = v2.parse_query(req, schemas.LIST_QUERY)
    project = v2.project_scope(ctx, query, rule=policies.LIST,
                               all_projects_rule=policies.LIST_ALL_PROJECTS)
    limit, marker = v2.page(conf, query)
    if marker is not None and address_conflicts.get(conf, marker) is None:
        raise v2.invalid_marker(marker)
    found = address_conflicts.search(
        conf, project_id=project, region=query.get("region"), kind=query.get("kind"),
        address=query.get("address"), include_cleared=query.get("include_cleared") in v2.TRUE,
        limit=limit + 1, marker=marker)
    page = found[:limit]
    return wsgi.json_response(v2.collection(
        req, "address_conflicts", [visible(c, project) for c in page], limit=limit,
        next_marker=page[-1]["id"] if len(found) > limit else None))


def show(req, conflict_id):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    v2.parse_query(req, schemas.SHOW_QUERY)
    project = v2.item_scope(ctx, rule=policies.SHOW,
                            all_projects_rule=policies.LIST_ALL_PROJECTS)
    found = address_conflicts.get(conf, conflict_id) if len(conflict_id) <= 36 else None
    if found is None or project is not None and project not in found["project_ids"]:
        raise errors.not_found("address_conflict.not_found",
                               f"Address conflict not found: {conflict_id}")
    return wsgi.json_response({"address_conflict": visible(found, project)})


def check(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    v2.parse_query(req, schemas.CHECK_QUERY)
    body = wsgi.json_body(req)
    common.validate(schemas.CHECK, body, code="address.invalid", prefix="Invalid check")
    own = v2.token_project(ctx)
    project = v2.normalize_project_id(body["project_id"]) if "project_id" in body else own
    ctx.can(policies.CHECK, {"project_id": ctx.project_id if project == own else project})
    try:
        cidr, _version = addressing.canonical_cidr(body["cidr"])
    except ValueError as exc:
        raise errors.bad_request("address.invalid", f"Invalid address: {exc}") from None
    return wsgi.json_response(plan_check(conf, cidr, project, body))


def plan_check(conf, cidr, project, body):
    """Would a subnet `cidr` of `project` overlap a subnet in use in its routable domain?"""
    rules = addressing.parse_rules(conf.addresses.routable_domain)
    domain = addressing.domain_of(rules, project_id=project,
                                  network_name=body.get("network_name", ""),
                                  tags=body.get("tags", ()),
                                  scope=body.get("address_scope", ""))
    region = body.get("region")
    overlaps = [e for e in addresses.overlapping_subnets(conf, cidr)
                if e["domain"] == domain and e["region"] != region]
    return {"cidr": cidr, "project_id": project, "domain": domain,
            "conflict": bool(overlaps),
            "overlaps": [v2.jsonable(e) if e["project_id"] == project else
                         {"region": e["region"], "project_id": e["project_id"],
                          "kind": e["kind"], "address": e["address"]}
                         for e in overlaps],
            "index": [v2.jsonable(a) for a in addresses.audits(conf)]}
