"""/v1.0/pods: the pods of the big region (Tricircle 2.0.1's API, both field spellings)."""

from multisite.api import errors, v2, wsgi
from multisite.api.handlers import common
from multisite.api.policies import pods as policies
from multisite.api.schemas import pods as schemas
from multisite.objects import pods
from multisite.rpc import client as rpc_client


def pod_fields(spec):
    """(name, az_name, pod_az_name, dc_name) of a create body, stripped; a 400 when the
    two spellings of the name disagree or no name is given."""
    spec = {k: v.strip() for k, v in spec.items()}
    names = {spec[k] for k in ("pod_name", "region_name") if spec.get(k)}
    if len(names) > 1:
        raise errors.bad_request("pod.invalid",
                                 "Invalid pod: pod_name and region_name differ")
    if not names:
        what = "pod" if spec.get("az_name") else "top region"
        raise errors.bad_request("pod.invalid",
                                 f"Invalid pod: a region name (pod_name or region_name) "
                                 f"is required for the {what}")
    return (names.pop(), spec.get("az_name", ""), spec.get("pod_az_name", ""),
            spec.get("dc_name", ""))


def _check_catalog(ctx, name):
    """The pod must be a region of Keystone's catalog (asked of an engine)."""
    found = rpc_client.get_client().known_regions(ctx)
    if found["error"]:
        raise errors.HTTPError(503, "pod.catalog_unavailable",
                               f"Cannot read Keystone's catalog: {found['error']}")
    if name not in found["regions"]:
        raise errors.bad_request("pod.unknown_region",
                                 f"Region {name!r} is not in Keystone's catalog "
                                 f"(known: {', '.join(found['regions']) or 'none'})")


def create(req):
    ctx = common.ctx(req)
    ctx.can(policies.CREATE, {"project_id": ctx.project_id})
    body = wsgi.json_body(req)
    common.validate(schemas.CREATE, body, code="pod.invalid", prefix="Invalid pod")
    name, az_name, pod_az_name, dc_name = pod_fields(body["pod"])
    _check_catalog(ctx, name)
    pod = pods.create(common.conf(req), name=name, az_name=az_name, pod_az_name=pod_az_name,
                      dc_name=dc_name)
    return wsgi.json_response({"pod": pod})


def list_pods(req):
    ctx = common.ctx(req)
    ctx.can(policies.LIST, {"project_id": ctx.project_id})
    query = v2.parse_query(req, schemas.LIST_QUERY)
    return wsgi.json_response({"pods": pods.list_pods(common.conf(req),
                                                      az_name=query.get("az_name"))})


def show(req, pod_id):
    ctx = common.ctx(req)
    ctx.can(policies.SHOW, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    return wsgi.json_response({"pod": pods.get(common.conf(req), pod_id)})


def delete(req, pod_id):
    ctx = common.ctx(req)
    ctx.can(policies.DELETE, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    pods.delete(common.conf(req), pod_id)
    return wsgi.json_response({})
