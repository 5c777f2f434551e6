"""/v1.0/jobs: the big region's asynchronous jobs (Tricircle's API): create, list with
filters and limit/marker, show, redo with PUT, delete; never while a job runs."""

import urllib.parse

from multisite.api import errors, v2, wsgi
from multisite.api.handlers import common
from multisite.api.policies import jobs as policies
from multisite.api.schemas import jobs as schemas
from multisite.objects import jobs, routings


def check_resource(job):
    """The resource fields a job of its type needs, exactly; a 400 naming what is wrong."""
    need = set(jobs.TYPES[job["type"]])
    given = set(job["resource"])
    if need - given:
        raise errors.bad_request("job.invalid", "Invalid job: required resource fields "
                                 f"missing: {', '.join(sorted(need - given))}")
    if given - need:
        raise errors.bad_request("job.invalid", "Invalid job: resource fields not used by "
                                 f"{job['type']}: {', '.join(sorted(given - need))}")
    if job["type"] in jobs.PROJECT_TYPES and job["resource"]["project_id"] != job["project_id"]:
        raise errors.bad_request("job.invalid", "Invalid job: the resource's project_id is "
                                 "not the job's project_id")


def _check_routed(conf, job):
    """The job's main resource must be routed in its project (Tricircle's rule)."""
    if job["type"] not in jobs.PRIMARY:
        return
    kind, field = jobs.PRIMARY[job["type"]]
    if not routings.find(conf, top_id=job["resource"][field], resource_type=kind,
                         project_id=job["project_id"]):
        raise errors.bad_request(
            "job.unknown_resource", f"{kind} {job['resource'][field]} doesn't belong to "
            f"the project {job['project_id']}")


def _view(job):
    return v2.jsonable(job)


def create(req):
    ctx = common.ctx(req)
    ctx.can(policies.CREATE, {"project_id": ctx.project_id})
    body = wsgi.json_body(req)
    common.validate(schemas.CREATE, body, code="job.invalid", prefix="Invalid job")
    job = body["job"]
    check_resource(job)
    conf = common.conf(req)
    _check_routed(conf, job)
    created = jobs.create(conf, project_id=job["project_id"], job_type=job["type"],
                          resource=job["resource"])
    return wsgi.json_response({"job": _view(created)})


def list_jobs(req):
    ctx = common.ctx(req)
    ctx.can(policies.LIST, {"project_id": ctx.project_id})
    query = v2.parse_query(req, schemas.LIST_QUERY)
    conf = common.conf(req)
    limit, marker = v2.page(conf, query)
    found, more = jobs.list_jobs(
        conf, project_id=query.get("project_id"), job_type=query.get("type"),
        status=query["status"].upper() if "status" in query else None, limit=limit,
        marker=marker)
    result = {"jobs": [_view(j) for j in found]}
    if more:
        params = [(k, v) for k, v in req.GET.items() if k not in ("limit", "marker")]
        params += [("limit", str(limit)), ("marker", found[-1]["id"])]
        result["jobs_links"] = [{"rel": "next", "href": req.path_url + "?"
                                 + urllib.parse.urlencode(params)}]
    return wsgi.json_response(result)


def list_schemas(req):
    ctx = common.ctx(req)
    ctx.can(policies.SCHEMAS, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    return wsgi.json_response({"schemas": [{"type": t, "resource": list(fields)}
                                           for t, fields in sorted(jobs.TYPES.items())]})


def show(req, job_id):
    ctx = common.ctx(req)
    ctx.can(policies.SHOW, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    return wsgi.json_response({"job": _view(jobs.get(common.conf(req), job_id))})


def redo(req, job_id):
    ctx = common.ctx(req)
    ctx.can(policies.REDO, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    return wsgi.json_response({"job": _view(jobs.redo(common.conf(req), job_id))})


def delete(req, job_id):
    ctx = common.ctx(req)
    ctx.can(policies.DELETE, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    jobs.delete(common.conf(req), job_id)
    return wsgi.json_response({})
