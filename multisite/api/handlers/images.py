"""Image distribution (docs/images.md): modes, lazy `ensure`, controlled rollouts.

/v2/image-distributions/{default|image id}: the mode of a project or of one image.
POST /v2/images/{id}/ensure: the copy of an image in a region, started once.
/v2/image-rollouts: waves of regions, verified, with promote, abort and rollback.
The API writes rows (the truth) and wakes an engine over RPC; the engine does the work.
"""

import time

from multisite.api import errors, v2, wsgi
from multisite.api.handlers import common
from multisite.api.policies import images as policies
from multisite.api.schemas import images as schemas
from multisite.objects import images
from multisite.rpc import client as rpc_client

ID = {"type": "string", "pattern": "^[A-Za-z0-9-]{1,64}$"}


def _check_id(value, what="image"):
    try:
        common.validate(ID, value, code="image.invalid", prefix=f"Invalid {what} id")
    except errors.HTTPError:
        raise errors.bad_request("image.invalid", f"Invalid {what} id: {value!r}") from None
    return value


def _check(ctx, project, *, source, targets, image_id=None):
    """Unknown regions, or an image the project cannot read in the source: 400 (asked of
    an engine, which reads the catalog and Glance with service credentials)."""
    if source in targets:
        raise errors.bad_request("image.invalid", "A target is the source region")
    result = rpc_client.get_client().validate_sync_resources(
        ctx, [{"resource_type": "image", "resources": [image_id] if image_id else [],
               "source": [source], "target": list(targets)}],
        project_id=project, user_id=ctx.user_id)
    if result["unknown_regions"]:
        raise errors.bad_request("image.unknown_region",
                                 "Unknown region: " + ", ".join(result["unknown_regions"]))
    if result["service_missing"]:
        raise errors.bad_request("image.service_missing", "; ".join(result["service_missing"]))
    if result["unavailable"]:
        raise errors.HTTPError(503, "image.region_unavailable",
                               "; ".join(result["unavailable"]))
    if result["missing"]:
        raise errors.not_found("image.not_found",
                               f"Image {image_id} not found in {source}")


def _wake(ctx):
    rpc_client.get_client().image_work_created(ctx)


# -- distribution modes ----------------------------------------------------------------------
def _dist_view(dist):
    body = v2.jsonable(dist)
    body["scope"] = "image" if dist["image_id"] else "project"
    body["targets"] = dist["targets"] if dist["targets"] is not None else "all"
    return body


def _key(image):
    return None if image == images.DEFAULT else _check_id(image)


def set_distribution(req, image):
    ctx = req.environ["multisite.context"]
    project = v2.token_project(ctx)
    ctx.can(policies.DIST_SET, {"project_id": ctx.project_id})
    image_id = _key(image)
    body = wsgi.json_body(req)
    common.validate(schemas.SET, body, code="image_distribution.invalid",
                    prefix="Invalid image distribution")
    spec = body["image_distribution"]
    targets = spec.get("targets", "all")
    targets = None if targets == "all" else list(dict.fromkeys(targets))
    _check(ctx, project, source=spec["source"], targets=targets or [], image_id=image_id)
    dist = images.set_distribution(
        req.environ["multisite.conf"], project_id=project, image_id=image_id,
        mode=spec["mode"], source=spec["source"], targets=targets,
        propagate_deletes=spec.get("propagate_deletes", False))
    return wsgi.json_response({"image_distribution": _dist_view(dist)})


def list_distributions(req):
    ctx = req.environ["multisite.context"]
    query = v2.parse_query(req, schemas.LIST_QUERY)
    project = v2.project_scope(ctx, query, rule=policies.DIST_LIST,
                               all_projects_rule=policies.LIST_ALL_PROJECTS)
    conf = req.environ["multisite.conf"]
    limit, marker = v2.page(conf, query)
    found, more = images.list_distributions(conf, project_id=project, limit=limit,
                                            marker=marker)
    return wsgi.json_response(v2.collection(
        req, "image_distributions", [_dist_view(d) for d in found], limit=limit,
        next_marker=images.marker_of(found[-1]) if more else None))


def _get_distribution(req, image, rule):
    ctx = req.environ["multisite.context"]
    v2.parse_query(req, schemas.SHOW_QUERY)
    ctx.can(rule, {"project_id": ctx.project_id})
    project = v2.token_project(ctx)
    image_id = _key(image)
    found = images.get_distribution(req.environ["multisite.conf"], project, image_id)
    if found is None:
        raise errors.not_found("image_distribution.not_found",
                               f"No distribution mode set for {image}")
    return project, image_id, found


def show_distribution(req, image):
    _, _, found = _get_distribution(req, image, policies.DIST_SHOW)
    return wsgi.json_response({"image_distribution": _dist_view(found)})


def delete_distribution(req, image):
    project, image_id, _ = _get_distribution(req, image, policies.DIST_DELETE)
    images.delete_distribution(req.environ["multisite.conf"], project, image_id)
    return wsgi.json_response({"deleted": image})


# -- lazy: ensure ----------------------------------------------------------------------------
def _copy_view(copy):
    body = v2.jsonable({k: v for k, v in copy.items() if k != "checksum"})
    return body


def ensure(req, image_id):
    """The copy of the image in `region` (started if missing); with `wait`, once it ended."""
    ctx = req.environ["multisite.context"]
    project = v2.token_project(ctx)
    ctx.can(policies.ENSURE, {"project_id": ctx.project_id})
    _check_id(image_id)
    conf = req.environ["multisite.conf"]
    body = wsgi.json_body(req)
    common.validate(schemas.ENSURE, body, code="image.invalid", prefix="Invalid ensure")
    region = body["region"]
    source = body.get("source")
    if source is None:
        dists = images.distributions_of(conf, project)
        dist = dists.get(image_id) or dists.get(None)
        if dist is None:
            raise errors.bad_request(
                "image.source_required",
                "No source region: give \"source\" or set the project's distribution mode")
        source = dist["source"]
    if region == source:
        return wsgi.json_response({"image_copy": {
            "image_id": image_id, "region": region, "source": source, "state": "active",
            "target_id": image_id, "origin": "source"}})
    found = images.find_copy(conf, image_id, region)
    if found is None or found["state"] == images.FAILED:
        _check(ctx, project, source=source, targets=[region], image_id=image_id)
        found, started = images.ensure_copy(conf, project_id=project, image_id=image_id,
                                            source=source, region=region, origin="lazy")
        if started:
            _wake(ctx)
    elif found["project_id"] != project and not ctx.can(
            policies.LIST_ALL_PROJECTS, {"project_id": ctx.project_id}, fatal=False):
        # another project copied it: the caller must be able to read it in the source
        _check(ctx, project, source=found["source"], targets=[region], image_id=image_id)
    if body.get("wait"):
        timeout = min(body.get("timeout", conf.image_distribution.ensure_timeout),
                      conf.image_distribution.ensure_timeout)
        deadline = time.monotonic() + timeout
        while found["state"] not in (images.ACTIVE, images.FAILED) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
            found = images.get_copy(conf, found["id"]) or found
    return wsgi.json_response({"image_copy": _copy_view(found)})


# -- controlled rollouts ---------------------------------------------------------------------
def _rollout_view(rollout):
    body = v2.jsonable({k: v for k, v in rollout.items() if k != "regions"})
    body["waves"] = [
        {"regions": [dict(rollout["regions"][r], region=r) for r in wave],
         "state": _wave_state(rollout, i)}
        for i, wave in enumerate(rollout["waves"])]
    return body


def _wave_state(rollout, index):
    states = {rollout["regions"][r]["state"] for r in rollout["waves"][index]}
    if states == {"switched"}:
        return "done"
    if states <= {"rolled_back", "pending"} and "rolled_back" in states:
        return "rolled_back"
    if states == {"pending"}:
        return "pending"
    return "in_progress"


def create_rollout(req):
    ctx = req.environ["multisite.context"]
    project = v2.token_project(ctx)
    ctx.can(policies.ROLLOUT_CREATE, {"project_id": ctx.project_id})
    body = wsgi.json_body(req)
    common.validate(schemas.ROLLOUT, body, code="image_rollout.invalid",
                    prefix="Invalid image rollout")
    spec = body["image_rollout"]
    _check_id(spec["image_id"])
    every = [r for wave in spec["waves"] for r in wave]
    if len(every) != len(set(every)):
        raise errors.bad_request("image_rollout.invalid",
                                 "Invalid image rollout: a region is in two waves")
    if set(spec.get("boot_check", {})) - set(every):
        raise errors.bad_request("image_rollout.invalid",
                                 "Invalid image rollout: a boot_check region is in no wave")
    _check(ctx, project, source=spec["source"], targets=every, image_id=spec["image_id"])
    rollout = images.create_rollout(
        req.environ["multisite.conf"], project_id=project, image_id=spec["image_id"],
        source=spec["source"], waves=spec["waves"], pause=spec.get("pause"),
        manual_promote=spec.get("manual_promote", False), boot_check=spec.get("boot_check"))
    _wake(ctx)
    return wsgi.json_response({"image_rollout": _rollout_view(rollout)}, status=202)


def list_rollouts(req):
    ctx = req.environ["multisite.context"]
    query = v2.parse_query(req, schemas.LIST_QUERY)
    project = v2.project_scope(ctx, query, rule=policies.ROLLOUT_LIST,
                               all_projects_rule=policies.LIST_ALL_PROJECTS)
    conf = req.environ["multisite.conf"]
    limit, marker = v2.page(conf, query)
    found, more = images.list_rollouts(conf, project_id=project, limit=limit, marker=marker)
    return wsgi.json_response(v2.collection(
        req, "image_rollouts", [_rollout_view(r) for r in found], limit=limit,
        next_marker=found[-1]["id"] if more else None))


def _get_rollout(req, rollout_id, rule):
    ctx = req.environ["multisite.context"]
    project = v2.item_scope(ctx, rule=rule, all_projects_rule=policies.LIST_ALL_PROJECTS)
    found = images.get_rollout(req.environ["multisite.conf"], rollout_id, project_id=project)
    if found is None:
        raise errors.not_found("image_rollout.not_found",
                               f"Image rollout not found: {rollout_id}")
    return ctx, found


def show_rollout(req, rollout_id):
    v2.parse_query(req, schemas.SHOW_QUERY)
    return wsgi.json_response({"image_rollout": _rollout_view(
        _get_rollout(req, rollout_id, policies.ROLLOUT_SHOW)[1])})


# action: (states it applies to, new state, default reason)
ACTIONS = {
    "promote": ((images.WAITING,), images.RUNNING, None),
    "abort": ((images.RUNNING, images.WAITING), images.ROLLING_BACK, "aborted"),
    "rollback": ((images.RUNNING, images.WAITING, images.SUCCEEDED), images.ROLLING_BACK,
                 "rolled back on request"),
}


def _act(req, rollout_id, action):
    v2.parse_query(req, schemas.SHOW_QUERY)
    ctx, found = _get_rollout(req, rollout_id, policies.ROLLOUT_ACT)
    body = wsgi.json_body(req, required=False) or {}
    common.validate(schemas.ACTION, body, code="image_rollout.invalid",
                    prefix="Invalid image rollout action")
    states, new_state, reason = ACTIONS[action]
    conf = req.environ["multisite.conf"]
    values = {"state": new_state, "next_wave_at": None}
    if reason is not None:
        who = ctx.user_id or "?"
        values["reason"] = f"{reason} by user {who}" + (
            f": {body['reason']}" if body.get("reason") else "")
    if not images.update_rollout(conf, found["id"], from_states=states, wake=True, **values):
        raise errors.HTTPError(409, "image_rollout.invalid_state",
                               f"Cannot {action} a rollout that is {found['state']}")
    _wake(ctx)
    return wsgi.json_response({"image_rollout": _rollout_view(
        images.get_rollout(conf, found["id"]))}, status=202)


def promote(req, rollout_id):
    return _act(req, rollout_id, "promote")


def abort(req, rollout_id):
    return _act(req, rollout_id, "abort")


def rollback(req, rollout_id):
    return _act(req, rollout_id, "rollback")
