"""Conventions every /v2 resource follows: project ids, project scope, queries, pagination."""

import datetime
import urllib.parse

from multisite import project_ids
from multisite.api import errors
from multisite.api.handlers import common

TRUE = ("true", "True", "1")

# Query string pieces each /v2 collection schema is built from (values are strings).
BOOLEAN = {"type": "string", "enum": ["true", "false", "True", "False", "1", "0"]}
PROJECT_ID = {"type": "string", "minLength": 1, "maxLength": 64}
LIMIT = {"type": "string", "pattern": "^[0-9]{1,9}$"}
MARKER = {"type": "string", "minLength": 1, "maxLength": 255}
SORT_DIR = {"type": "string", "enum": ["asc", "desc"]}
TIME = {"type": "string", "minLength": 1, "maxLength": 40}
PAGING = {"limit": LIMIT, "marker": MARKER}
SCOPE = {"project_id": PROJECT_ID, "all_projects": BOOLEAN}


def query_schema(properties):
    """A strict query schema: the given parameters (string values), nothing else."""
    return {"type": "object", "properties": dict(properties), "additionalProperties": False}


def normalize_project_id(value):
    """A project id as Keystone writes it: 32 lowercase hex digits (a dashed UUID is folded).

    The rule is multisite/project_ids.py; a 400 request.invalid_project_id otherwise.
    """
    try:
        return project_ids.normalize(value)
    except project_ids.InvalidProjectId as exc:
        raise errors.bad_request(exc.code, str(exc)) from None


def fold_project_id(value):
    """A project id normalised when it is a UUID, else as given (noauth may carry any
    string; a v1.0 URL may hold any UUID-like spelling)."""
    return project_ids.fold(value)


def token_project(ctx):
    """The token's project, in the one /v2 spelling."""
    return fold_project_id(ctx.project_id)


def parse_query(req, schema):
    """The query string as a dict, validated against `schema` (400 request.invalid_query)."""
    query = {}
    for name, value in req.GET.items():
        if name in query:
            raise errors.bad_request("request.invalid_query",
                                     f"Invalid query: parameter {name!r} given twice")
        query[name] = value
    common.validate(schema, query, code="request.invalid_query", prefix="Invalid query")
    return query


def project_scope(ctx, query, *, rule, all_projects_rule):
    """The project a request is about: None means every project.

    No parameter: the token's project. `project_id=`: that project, which the policy
    `rule` must allow (a member naming another project gets 403). `all_projects=true`:
    every project, if `all_projects_rule` allows (admin by default).
    """
    own = token_project(ctx)
    if query.get("all_projects") in TRUE:
        if "project_id" in query:
            raise errors.bad_request("request.invalid_query",
                                     "Invalid query: project_id and all_projects=true "
                                     "exclude each other")
        ctx.can(all_projects_rule, {"project_id": ctx.project_id})
        return None
    project = normalize_project_id(query["project_id"]) if "project_id" in query else own
    # The policy compares with the token's own spelling of its project.
    ctx.can(rule, {"project_id": ctx.project_id if project == own else project})
    return project


def item_scope(ctx, *, rule, all_projects_rule):
    """The project whose items a GET of one item may show: None (any) for those that
    `all_projects_rule` allows, else the token's project. An item of another project is
    then a 404, so ids of other projects' items are never confirmed."""
    ctx.can(rule, {"project_id": ctx.project_id})
    if ctx.can(all_projects_rule, {"project_id": ctx.project_id}, fatal=False):
        return None
    return token_project(ctx)


def page(conf, query):
    """(limit, marker) of a collection request: limit defaults to [api] default_limit and is
    lowered to [api] max_limit; 0 is a 400 request.invalid_limit."""
    limit = int(query.get("limit", conf.api.default_limit))
    if limit < 1:
        raise errors.bad_request("request.invalid_limit",
                                 f"Invalid limit {query['limit']!r}: at least 1")
    return min(limit, conf.api.max_limit), query.get("marker")


def int_marker(marker):
    """A marker that is an integer id (events), or a 400 request.invalid_marker."""
    if marker is None:
        return None
    if not marker.isdigit() or len(marker) > 19:
        raise invalid_marker(marker)
    return int(marker)


def invalid_marker(marker):
    return errors.bad_request("request.invalid_marker", f"Invalid marker {marker!r}")


def parse_time(query, name):
    """An ISO 8601 time parameter as naive UTC (offsets applied; no offset means UTC)."""
    value = query.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.bad_request("request.invalid_query",
                                 f"Invalid query: {name}={value!r} is not an ISO 8601 "
                                 "time") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


def fmt_time(value):
    """Times in /v2 bodies: ISO 8601 UTC with a Z, microseconds."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value is not None else None


def jsonable(item):
    """An objects-layer dict with its datetimes written as /v2 times."""
    return {k: fmt_time(v) if isinstance(v, datetime.datetime) else v for k, v in item.items()}


def collection(req, key, items, *, limit, next_marker):
    """A collection body: {key: items, "links": [...]} with a "next" link while more follow.

    The next link repeats the request's query with marker (and limit) replaced.
    """
    links = []
    if next_marker is not None:
        params = [(k, v) for k, v in req.GET.items() if k not in ("limit", "marker")]
        params += [("limit", str(limit)), ("marker", str(next_marker))]
        links.append({"rel": "next",
                      "href": req.path_url + "?" + urllib.parse.urlencode(params)})
    return {key: items, "links": links}
