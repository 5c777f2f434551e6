"""Security groups in the big region's pods (issue 17): the `seg_rule_setup` jobs of
/v1.0/jobs, run by the engine.

Kind `net_secgroup`: one durable work item per project (its runs never overlap), added
when a `seg_rule_setup` job of the project is created or redone: the gateway registers one
after a rule is created or deleted, or a group updated, through it, and after a server's
boot copied a group into a pod. A run converges every pod that holds a copy of one of the
project's top groups (the gateway copies a port's groups into the pod of the port), level-
triggered, and settles every open job of the project:

1. read the project's groups at the top (one list call);
2. per pod: the groups it must hold are the top groups copied there (routings) and every
   group their rules reference, transitively (a remote-group rule needs its group in the
   pod to be mapped to the pod's id);
3. the security-group sync's own `plan()` and `converge()` (reconcilers/security_group.py)
   make the pod's copies match: a copy is named after its top group's id, so the plan's
   names are top ids and a remote-group rule names the pod's copy of its group; copies
   are the big region's own (force: a rule the top no longer has is deleted);
4. a group created by the run is routed (the routing written before the create, completed
   with the pod's id after).

The jobs go NEW -> RUNNING -> SUCCESS, or FAIL naming each failing pod, retried with the
kind's backoff. A run where nothing changed makes no Neutron write.
"""

import concurrent.futures
import logging
import threading

from multisite import reconcilers
from multisite.clients import network
from multisite.clients import session as region_errors
from multisite.gateway import bottom as bodies
from multisite.objects import jobs, pods, routings
from multisite.reconcilers import security_group

LOG = logging.getLogger(__name__)

KIND = jobs.SG_WORK_KIND
GROUP = "security_group"


class Networks:
    """The security-group calls of any region (clients.network), one client per region:
    what security_group.converge() asks for as `regions`."""

    def __init__(self, conf):
        self.conf = conf
        self._lock = threading.Lock()
        self._clients = {}

    def network(self, region):
        with self._lock:
            if region not in self._clients:
                self._clients[region] = network.for_region(self.conf, region)
            return self._clients[region]


def as_copy(group, project_id):
    """A top group as its pod copy is named and described (the plan matches by name)."""
    return dict(group, name=group["id"], description=bodies.group_body(
        dict(group, project_id=project_id))["description"])


def desired_groups(top_groups, wanted, project_id):
    """The pod copies of the `wanted` top groups (ids) and of every group they reference,
    as plan() takes them; ids of groups gone at the top are left out."""
    found = {}
    for group in top_groups:
        if group["id"] in wanted and group["id"] not in found:
            for member in security_group.closure(top_groups, group):
                found[member["id"]] = as_copy(member, project_id)
    return sorted(found.values(), key=lambda g: g["id"])


def copied(conf, project_id):
    """{pod id: {top group id: routing}} of the project's group copies."""
    found = {}
    for routing in routings.list_routings(conf, filters={
            "resource_type": GROUP, "project_id": project_id})[0]:
        found.setdefault(routing["pod_id"], {})[routing["top_id"]] = routing
    return found


def converge_pod(conf, regions, pod, project_id, top_groups, routed):
    """Make one pod's copies match the top; returns the number of writes."""
    region = pod["pod_name"]
    desired = desired_groups(top_groups, set(routed), project_id)
    if not desired:
        return 0
    observed = regions.network(region).list_security_groups(project_id)

    def record(names):       # before the creates: the routings of the groups to be made
        for name in [n for n in names.split(",") if n and n not in routed]:
            try:
                routed[name] = routings.create(conf, top_id=name, pod_id=pod["pod_id"],
                                               project_id=project_id, resource_type=GROUP)
            except routings.RoutingExists:
                pass

    item = {"project_id": project_id, "force": True, "target_region": region,
            "target_id": ""}
    writes = security_group.converge(item, regions, record, source_groups=desired,
                                     desired=desired, observed=observed)
    incomplete = [r for r in routed.values() if not r["bottom_id"]]
    if incomplete:
        names = {g["name"]: g["id"] for g in regions.network(region).list_security_groups(
            project_id)}
        for routing in incomplete:
            if routing["top_id"] in names:
                routings.complete(conf, routing["id"], names[routing["top_id"]])
    return writes


def converge(conf, regions, project_id):
    """Every pod holding a copy of the project's groups made to match the top:
    ({pod: writes}, {pod: error})."""
    everything = pods.list_pods(conf)
    top = next((p for p in everything if not p["az_name"]), None)
    if top is None:
        raise reconcilers.PermanentError("no top region is registered (POST /v1.0/pods)")
    held = copied(conf, project_id)
    involved = [p for p in everything if p["az_name"] and held.get(p["pod_id"])]
    if not involved:
        return {}, {}
    try:
        top_groups = regions.network(top["pod_name"]).list_security_groups(project_id)
    except region_errors.RegionError as exc:
        raise reconcilers.TemporaryError(f"top region: {exc}") from exc
    errors, done = {}, {}
    with concurrent.futures.ThreadPoolExecutor(len(involved),
                                               thread_name_prefix="net-secgroup") as pool:
        futures = {p["pod_name"]: pool.submit(converge_pod, conf, regions, p, project_id,
                                              top_groups, held[p["pod_id"]])
                   for p in involved}
    for name, future in futures.items():
        try:
            done[name] = future.result()
        except (region_errors.RegionError, reconcilers.TemporaryError,
                reconcilers.PermanentError) as exc:
            errors[name] = str(exc)
    return done, errors


def reconcile(key, env):
    """key.id: a project. Its open seg_rule_setup jobs go RUNNING, then SUCCESS or FAIL."""
    conf, regions = env.conf, env.shared
    ids = [j["id"] for j in jobs.open_project_jobs(conf, key.id)]
    if not ids:
        return reconcilers.Outcome.done()
    jobs.settle(conf, ids, jobs.RUNNING)
    try:
        done, errors = converge(conf, regions, key.id)
        if errors:
            raise reconcilers.TemporaryError("; ".join(
                f"pod {pod}: {error}" for pod, error in sorted(errors.items())))
    except (reconcilers.TemporaryError, reconcilers.PermanentError) as exc:
        jobs.settle(conf, ids, jobs.FAIL, str(exc))
        raise
    except Exception as exc:
        jobs.settle(conf, ids, jobs.FAIL, f"internal error: {type(exc).__name__}")
        raise
    jobs.settle(conf, ids, jobs.SUCCESS)
    LOG.info("Security groups converged: project=%s jobs=%s writes=%s", key.id, ids, done)
    again = any(j["status"] == jobs.NEW for j in jobs.open_project_jobs(conf, key.id))
    return (reconcilers.Outcome.requeue_after(0, result={"writes": done}) if again
            else reconcilers.Outcome.done(result={"writes": done}))
