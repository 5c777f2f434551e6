"""The route table: every path of the API, in one place."""

import re

from multisite.api.handlers import (
    address_conflicts,
    addresses,
    common,
    events,
    identity_nodes,
    images,
    inventory,
    jobs,
    key_rotations,
    metrics,
    pods,
    protection_plans,
    quota_classes,
    quota_settings,
    quotas,
    regions,
    restores,
    root,
    routers,
    routings,
    sessions,
    sync_jobs,
    sync_policies,
    sync_status,
)

# (method, path pattern, handler). Patterns name their variables; an optional
# trailing slash is accepted everywhere, as Kingbird's client sends one.
SEG = r"[^/]+"
V10 = r"/v1\.0/(?P<project_id>" + SEG + ")"
V11 = r"/v1\.1/(?P<project_id>" + SEG + ")"
QS = V10 + r"/os-quota-sets"
QS11 = V11 + r"/os-quota-sets"
SESSION = "/auth/session"
# Tricircle's resources keep their paths (no project: they are admin-wide). Project
# ids are 32 hex digits, so these never collide with Kingbird's /v1.0/{project_id}.
PODS = r"/v1\.0/pods"
ROUTINGS = r"/v1\.0/routings"
JOBS = r"/v1\.0/jobs"
# /v2: Multisite's own resources; no project in the path (it comes from the token).
V2 = r"/v2"

ROUTES = [
    ("GET", r"", root.versions),
    ("GET", QS + r"/defaults", quotas.defaults),
    ("GET", QS + r"/(?P<target>" + SEG + ")", quotas.show),
    ("PUT", QS + r"/(?P<target>" + SEG + ")", quotas.update),
    ("DELETE", QS + r"/(?P<target>" + SEG + ")", quotas.delete),
    ("GET", QS + r"/(?P<target>" + SEG + ")/detail", quotas.detail),
    ("PUT", QS + r"/(?P<target>" + SEG + ")/sync", quotas.sync),
    ("GET", V10 + r"/os-quota-sync-status/(?P<target>" + SEG + ")", sync_status.show),
    ("GET", V10 + r"/os-quota-settings/(?P<target>" + SEG + ")", quota_settings.show),
    ("PUT", V10 + r"/os-quota-settings/(?P<target>" + SEG + ")", quota_settings.update),
    ("GET", QS11, quotas.show_v11),
    ("PUT", QS11, quotas.update_v11),
    ("DELETE", QS11, quotas.delete_v11),
    ("GET", QS11 + r"/defaults", quotas.defaults_v11),
    ("GET", QS11 + r"/detail", quotas.detail_v11),
    ("PUT", QS11 + r"/sync", quotas.sync_v11),
    ("GET", V10 + r"/os-quota-class-sets/(?P<class_name>" + SEG + ")", quota_classes.show),
    ("PUT", V10 + r"/os-quota-class-sets/(?P<class_name>" + SEG + ")", quota_classes.update),
    ("DELETE", V10 + r"/os-quota-class-sets/(?P<class_name>" + SEG + ")",
     quota_classes.delete),
    ("POST", V10 + r"/os-sync", sync_jobs.create),
    ("GET", V10 + r"/os-sync", sync_jobs.list_jobs),
    ("GET", V10 + r"/os-sync/active", sync_jobs.list_active),
    ("GET", V10 + r"/os-sync/(?P<job_id>" + SEG + ")", sync_jobs.show),
    ("DELETE", V10 + r"/os-sync/(?P<job_id>" + SEG + ")", sync_jobs.delete),
    ("GET", V2 + r"/events", events.list_events),
    ("GET", V2 + r"/events/(?P<event_id>" + SEG + ")", events.show),
    ("GET", V2 + r"/regions", regions.list_regions),
    ("GET", V2 + r"/regions/(?P<name>" + SEG + ")", regions.show),
    ("GET", V2 + r"/capacity", regions.capacity),
    ("GET", V2 + r"/capacity/(?P<name>" + SEG + ")", regions.capacity_of),
    ("GET", V2 + r"/identity/nodes", identity_nodes.list_nodes),
    ("GET", V2 + r"/identity/nodes/(?P<name>" + SEG + ")", identity_nodes.show),
    ("POST", V2 + r"/identity/key-rotations", key_rotations.create),
    ("GET", V2 + r"/identity/key-rotations", key_rotations.list_rotations),
    ("GET", V2 + r"/identity/key-rotations/(?P<rotation_id>" + SEG + ")", key_rotations.show),
    ("GET", r"/metrics", metrics.show),
    ("GET", V2 + r"/inventory", inventory.list_inventory),
    ("GET", V2 + r"/inventory/summary", inventory.summary),
    ("GET", V2 + r"/addresses", addresses.list_addresses),
    ("GET", V2 + r"/addresses/(?P<address_id>" + SEG + ")", addresses.show),
    ("GET", V2 + r"/address-conflicts", address_conflicts.list_conflicts),
    ("POST", V2 + r"/address-conflicts/check", address_conflicts.check),
    ("GET", V2 + r"/address-conflicts/(?P<conflict_id>" + SEG + ")", address_conflicts.show),
    ("POST", V2 + r"/sync-policies", sync_policies.create),
    ("GET", V2 + r"/sync-policies", sync_policies.list_policies),
    ("GET", V2 + r"/sync-policies/(?P<policy_id>" + SEG + ")", sync_policies.show),
    ("DELETE", V2 + r"/sync-policies/(?P<policy_id>" + SEG + ")", sync_policies.delete),
    ("POST", V2 + r"/sync-policies/(?P<policy_id>" + SEG + ")/audit", sync_policies.audit),
    ("GET", V2 + r"/image-distributions", images.list_distributions),
    ("GET", V2 + r"/image-distributions/(?P<image>" + SEG + ")", images.show_distribution),
    ("PUT", V2 + r"/image-distributions/(?P<image>" + SEG + ")", images.set_distribution),
    ("DELETE", V2 + r"/image-distributions/(?P<image>" + SEG + ")",
     images.delete_distribution),
    ("POST", V2 + r"/images/(?P<image_id>" + SEG + ")/ensure", images.ensure),
    ("POST", V2 + r"/image-rollouts", images.create_rollout),
    ("GET", V2 + r"/image-rollouts", images.list_rollouts),
    ("GET", V2 + r"/image-rollouts/(?P<rollout_id>" + SEG + ")", images.show_rollout),
    ("POST", V2 + r"/image-rollouts/(?P<rollout_id>" + SEG + ")/promote", images.promote),
    ("POST", V2 + r"/image-rollouts/(?P<rollout_id>" + SEG + ")/abort", images.abort),
    ("POST", V2 + r"/image-rollouts/(?P<rollout_id>" + SEG + ")/rollback", images.rollback),
    ("POST", V2 + r"/protection-plans", protection_plans.create),
    ("GET", V2 + r"/protection-plans", protection_plans.list_plans),
    ("GET", V2 + r"/routers/(?P<router_id>" + SEG + ")/topology", routers.show_topology),
    ("GET", V2 + r"/protection-plans/(?P<plan_id>" + SEG + ")", protection_plans.show),
    ("DELETE", V2 + r"/protection-plans/(?P<plan_id>" + SEG + ")", protection_plans.delete),
    ("POST", V2 + r"/protection-plans/(?P<plan_id>" + SEG + ")/discover",
     protection_plans.discover),
    ("POST", V2 + r"/protection-plans/(?P<plan_id>" + SEG + ")/checkpoints",
     protection_plans.create_checkpoint),
    ("GET", V2 + r"/checkpoints", protection_plans.list_checkpoints),
    ("GET", V2 + r"/checkpoints/(?P<checkpoint_id>" + SEG + ")",
     protection_plans.show_checkpoint),
    ("POST", V2 + r"/checkpoints/(?P<checkpoint_id>" + SEG + ")/restore", restores.create),
    ("GET", V2 + r"/restores", restores.list_restores),
    ("GET", V2 + r"/restores/(?P<restore_id>" + SEG + ")", restores.show),
    ("POST", SESSION, sessions.create),
    ("POST", PODS, pods.create),
    ("GET", PODS, pods.list_pods),
    ("GET", PODS + r"/(?P<pod_id>" + SEG + ")", pods.show),
    ("DELETE", PODS + r"/(?P<pod_id>" + SEG + ")", pods.delete),
    ("POST", ROUTINGS, routings.create),
    ("GET", ROUTINGS, routings.list_routings),
    ("GET", ROUTINGS + r"/(?P<routing_id>" + SEG + ")", routings.show),
    ("PUT", ROUTINGS + r"/(?P<routing_id>" + SEG + ")", routings.update),
    ("DELETE", ROUTINGS + r"/(?P<routing_id>" + SEG + ")", routings.delete),
    ("POST", JOBS, jobs.create),
    ("GET", JOBS, jobs.list_jobs),
    ("GET", JOBS + r"/schemas", jobs.list_schemas),
    ("GET", JOBS + r"/(?P<job_id>" + SEG + ")", jobs.show),
    ("PUT", JOBS + r"/(?P<job_id>" + SEG + ")", jobs.redo),
    ("DELETE", JOBS + r"/(?P<job_id>" + SEG + ")", jobs.delete),
    ("GET", SESSION, sessions.show),
    ("DELETE", SESSION, sessions.delete),
]

# Routes that need no identity and run no policy check (logging in makes an identity).
PUBLIC = {root.versions, sessions.create}

# Route variables holding ids, and the one spelling each is brought to before any
# handler runs (a 400 for anything that is not an id): one rule for every resource.
ID_VARIABLES = {
    "project_id": common.project_id,
    "target": common.project_id,
    "job_id": common.job_id,
}


class Route:
    def __init__(self, method, pattern, handler):
        self.method = method
        self.regex = re.compile(r"^" + pattern + r"/?$")
        self.handler = handler


COMPILED = [Route(*entry) for entry in ROUTES]


def match(method, path):
    """(handler, kwargs, allowed_methods): handler None means 404 or 405."""
    allowed = []
    for route in COMPILED:
        found = route.regex.match(path)
        if found is None:
            continue
        if route.method == method:
            return route.handler, found.groupdict(), None
        allowed.append(route.method)
    return None, None, sorted(set(allowed))
