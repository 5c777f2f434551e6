"""os-sync: resource synchronization jobs (keypairs, images, flavors) across regions."""

import logging
import uuid

from multisite.api import errors, wsgi
from multisite.api.handlers import common
from multisite.api.policies import sync_jobs as policies
from multisite.api.schemas import sync_jobs as schemas
from multisite.objects import sync_jobs
from multisite.rpc import client as rpc_client

LOG = logging.getLogger(__name__)
TRUE = ("true", "True", "1")
MAX_LIMIT = 1000


def expand(resource_set):
    """Entries with force as a bool and source as a list, then the (deduplicated) rows.

    A pair whose target is its source is skipped: there is nothing to copy. Each entry's
    rows are counted before any is built, so a template asking for millions of rows is
    refused at the cost of counting them.
    """
    entries = resource_set["Sync"] if "Sync" in resource_set else [resource_set]
    normalized, rows, seen = [], [], set()
    for entry in entries:
        force = entry.get("force", False)
        force = force if isinstance(force, bool) else force in TRUE
        sources = [entry["source"]] if isinstance(entry["source"], str) else entry["source"]
        sources = list(dict.fromkeys(sources))
        targets = list(dict.fromkeys(entry["target"]))
        resources = list(dict.fromkeys(entry["resources"]))
        normalized.append({"resource_type": entry["resource_type"], "force": force,
                           "resources": resources, "source": sources, "target": targets})
        pairs = [(s, t) for s in sources for t in targets if s != t]
        # distinct within the entry: its rows alone are this many
        _check_count(len(resources) * len(pairs))
        for resource in resources:
            for source, target in pairs:
                key = (entry["resource_type"], resource, source, target)
                if key in seen:
                    continue
                seen.add(key)
                rows.append({"resource_type": entry["resource_type"], "resource": resource,
                             "source": source, "target": target, "force": force})
        _check_count(len(rows))
    return normalized, rows


def _check_count(count):
    if count > schemas.MAX_ROWS:
        raise errors.bad_request("sync_job.too_many_rows",
                                 f"{count} rows requested; at most {schemas.MAX_ROWS}")


def _check_rows(rows):
    if not rows:
        raise errors.bad_request("sync_job.no_rows",
                                 "Nothing to synchronize: every target is a source")


def _check_sources(ctx, project_id, entries, job_id):
    """Regions known and every source resource readable; raises before any row exists.

    Returns the name of the engine that validated (it keeps what it read for the rows).
    """
    result = rpc_client.get_client().validate_sync_resources(
        ctx, entries, project_id=project_id, user_id=ctx.user_id, job_id=job_id)
    if result["unknown_regions"]:
        raise errors.bad_request("sync_job.unknown_region",
                                 "Unknown region: " + ", ".join(result["unknown_regions"]))
    if result.get("service_missing"):
        raise errors.bad_request("sync_job.service_missing",
                                 "Service missing: " + "; ".join(result["service_missing"]))
    if result["missing"]:
        raise sync_jobs.SourceResourceNotFound(missing=", ".join(result["missing"]))
    if result["unavailable"]:
        raise errors.HTTPError(503, "sync_job.source_unavailable",
                               "Source region unavailable: " + "; ".join(result["unavailable"]))
    return result.get("server"), result.get("engine_id")


def create(req, project_id):
    ctx = common.ctx(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.CREATE, {"project_id": project_id})
    body = wsgi.json_body(req)
    common.validate(schemas.CREATE, body, code="sync_job.invalid", prefix="Invalid sync job")
    resource_set = body["resource_set"]
    if any(e["resource_type"] == "flavor" for e in resource_set.get("Sync", [resource_set])):
        ctx.can(policies.CREATE_FLAVOR, {"project_id": project_id})
    entries, rows = expand(resource_set)
    _check_rows(rows)
    job_id = str(uuid.uuid4())
    server, engine_id = _check_sources(ctx, project_id, entries, job_id)
    conf = common.conf(req)
    # handed off: rows claimed by the validating engine (short lease), sent to it
    job, items = sync_jobs.create(conf, project_id=project_id, user_id=ctx.user_id,
                                  rows=rows, job_id=job_id,
                                  handoff_to=engine_id if server else None,
                                  handoff_lease=conf.sync.handoff_lease)
    sync_jobs.record_start(conf, ctx, job_id=job["id"], project_id=project_id, rows=rows)
    try:
        rpc_client.get_client().sync_job_created(ctx, job["id"], server=server, items=items)
    except Exception as exc:  # the job is durable: an engine's scan picks it up (after the lease)
        LOG.warning("sync job wake-up not sent: job=%s project=%s server=%s error=%s",
                    job["id"], project_id, server, exc)
    return wsgi.json_response({"job_status": job})


def _query(req):
    query = dict(req.GET)
    common.validate(schemas.LIST_QUERY, query, code="request.invalid_query",
                    prefix="Invalid query")
    return query


def _scope(ctx, project_id, query):
    """The project filter: the URL project, or None for an admin's all_projects view."""
    if query.get("all_projects") in TRUE:
        ctx.can(policies.LIST_ALL_PROJECTS, {"project_id": project_id})
        return None
    return project_id


def _list(req, project_id, *, active):
    ctx = common.ctx(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.LIST, {"project_id": project_id})
    query = _query(req)
    scope = _scope(ctx, project_id, query)
    limit = min(int(query.get("limit", MAX_LIMIT)), MAX_LIMIT)
    jobs, more = sync_jobs.list_jobs(common.conf(req), project_id=scope, active=active,
                                     limit=limit, marker=query.get("marker"))
    body = {"job_set": jobs}
    if more and jobs:
        params = dict(query, limit=str(limit), marker=jobs[-1]["id"])
        href = req.path_url + "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        body["job_set_links"] = [{"rel": "next", "href": href}]
    return wsgi.json_response(body)


def list_jobs(req, project_id):
    return _list(req, project_id, active=False)


def list_active(req, project_id):
    return _list(req, project_id, active=True)


def show(req, project_id, job_id):
    ctx = common.ctx(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.SHOW, {"project_id": project_id})
    query = _query(req)
    rows = sync_jobs.get_rows(common.conf(req), job_id, project_id=_scope(ctx, project_id, query))
    if query.get("verbose") not in TRUE:
        for row in rows:
            del row["error"]  # Kingbird's row shape, unless asked for the reasons
    return wsgi.json_response({"job_set": rows})


def delete(req, project_id, job_id):
    ctx = common.ctx(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.DELETE, {"project_id": project_id})
    sync_jobs.delete(common.conf(req), job_id, project_id=project_id)
    return wsgi.json_response(f"job {job_id} deleted from the database.")
