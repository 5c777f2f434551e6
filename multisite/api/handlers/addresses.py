"""/v2/addresses: who holds an address (IP, CIDR, MAC), in which region, from the index."""

from multisite import addressing
from multisite.api import errors, v2, wsgi
from multisite.api.policies import addresses as policies
from multisite.api.schemas import addresses as schemas
from multisite.objects import addresses


def parse_filters(query):
    """The ip/cidr/mac filters in canonical form; 400 address.invalid for a bad one."""
    out = {}
    try:
        if "ip" in query:
            out["ip"] = addressing.canonical_ip(query["ip"])[0]
        if "cidr" in query:
            out["cidr"] = addressing.canonical_cidr(query["cidr"])[0]
        if "mac" in query:
            out["mac"] = addressing.canonical_mac(query["mac"])
    except ValueError as exc:
        raise errors.bad_request("address.invalid", f"Invalid address: {exc}") from None
    return out


_last_freshness = ((), [])


def freshness(conf):
    """Each region's last audit: when the index of that region was last refreshed.

    The rows change once per audit and every lookup answers them: the last answer is
    kept and reused while the rows read are the same (the body is never mutated)."""
    global _last_freshness
    rows = addresses.audits(conf)
    key = tuple(tuple(row.values()) for row in rows)
    held, body = _last_freshness
    if key != held:
        body = [v2.jsonable(a) for a in rows]
        _last_freshness = (key, body)
    return body


def list_addresses(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    query = v2.parse_query(req, schemas.LIST_QUERY)
    project = v2.project_scope(ctx, query, rule=policies.LIST,
                               all_projects_rule=policies.LIST_ALL_PROJECTS)
    limit, marker = v2.page(conf, query)
    filters = parse_filters(query)
    found = addresses.search(conf, **filters, region=query.get("region"),
                             project_id=project, kind=query.get("kind"), limit=limit + 1,
                             marker=v2.int_marker(marker))
    page = found[:limit]
    body = v2.collection(req, "addresses", [v2.jsonable(e) for e in page], limit=limit,
                         next_marker=page[-1]["id"] if len(found) > limit else None)
    body["index"] = freshness(conf)
    return wsgi.json_response(body)


def show(req, address_id):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    v2.parse_query(req, schemas.SHOW_QUERY)
    project = v2.item_scope(ctx, rule=policies.SHOW,
                            all_projects_rule=policies.LIST_ALL_PROJECTS)
    entry = None
    if address_id.isdigit() and len(address_id) <= 19:
        entry = addresses.get(conf, int(address_id))
    if entry is None or project is not None and entry["project_id"] != project:
        raise errors.not_found("address.not_found", f"Address not found: {address_id}")
    return wsgi.json_response({"address": v2.jsonable(entry)})
