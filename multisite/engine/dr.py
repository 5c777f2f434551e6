"""The disaster recovery kinds' environment: the store over objects/, one client per region.

Three durable kinds (docs/dr.md): `dr_plan` (discover a protection plan's servers and what
they need), `dr_checkpoint` (one checkpoint, in phases, resumed by any engine after a
crash; a resumed pause window unpauses the plan's servers first) and `dr_restore` (one
drill or failover of a checkpoint into the backup region, in phases, resumable).
"""

from __future__ import annotations

import concurrent.futures

from multisite.clients import compute as compute_client
from multisite.clients import dr as dr_client
from multisite.clients import network as network_client
from multisite.clients import session
from multisite.engine import controller, leases
from multisite.objects import checkpoints, images, protection_plans, restores
from multisite.reconcilers import flavor as flavor_sync
from multisite.reconcilers import keypair as keypair_sync
from multisite.reconcilers import security_group as security_group_sync
from multisite.reconcilers.dr import checkpoint as checkpoint_kind
from multisite.reconcilers.dr import plan as plan_kind
from multisite.reconcilers.dr import restore as restore_kind
from multisite.reconcilers.dr import schedule as schedule_kind

IMAGE_ORIGIN = "dr"       # the image copies a vm-snapshot checkpoint asks for


class Store:
    """What the DR reconcilers read and write (they never import objects/)."""

    def __init__(self, conf):
        self.conf = conf

    def plan(self, plan_id):
        return protection_plans.get(self.conf, plan_id)

    def record_discovery(self, plan_id, *, resources, problems):
        protection_plans.record_discovery(self.conf, plan_id, resources=resources,
                                          problems=problems)

    def checkpoint(self, checkpoint_id):
        return checkpoints.get(self.conf, checkpoint_id)

    def save(self, checkpoint_id, **values):
        checkpoints.save(self.conf, checkpoint_id, **values)

    def finish(self, checkpoint_id, *, ok, error=None):
        checkpoints.finish(self.conf, checkpoint_id, ok=ok, error=error)

    def completed(self, plan_id):
        return checkpoints.completed(self.conf, plan_id)

    def remove(self, checkpoint_id):
        checkpoints.remove(self.conf, checkpoint_id)

    def restore(self, restore_id):
        return restores.get(self.conf, restore_id)

    def save_restore(self, restore_id, **values):
        restores.save(self.conf, restore_id, **values)

    def finish_restore(self, restore_id, *, ok, error=None):
        restores.finish(self.conf, restore_id, ok=ok, error=error)

    def ensure_image_copy(self, *, image_id, project_id, source, region):
        """A vm-snapshot checkpoint's image copied to the backup region by the image copy
        kind (the project's image distribution: one copy per image and region)."""
        copy, _started = images.ensure_copy(self.conf, project_id=project_id,
                                            image_id=image_id, source=source, region=region,
                                            origin=IMAGE_ORIGIN)
        return copy

    def image_copy(self, copy_id):
        return images.get_copy(self.conf, copy_id)

    def forget_image_copy(self, copy_id):
        images.delete_copy(self.conf, copy_id)

    def scheduled(self):
        return protection_plans.scheduled(self.conf)

    def last_checkpoint_at(self, plan_id):
        return checkpoints.last_started_at(self.conf, plan_id)

    def start_checkpoint(self, plan_id):
        """The new checkpoint's id, or None if the plan is busy or not ready."""
        try:
            return checkpoints.create(self.conf, plan_id)["id"]
        except (protection_plans.PlanBusy, checkpoints.PlanNotReady,
                protection_plans.PlanNotFound):
            return None


class DrEnv:
    """Shared by every reconcile of the DR kinds in one engine."""

    def __init__(self, conf, engine_id=None, *, client_factory=None, regions=None):
        self.conf = conf
        self.opts = conf.dr
        self.store = Store(conf)
        self._factory = client_factory
        self._regions = regions
        self._clients = {}
        # the sync reconcilers a restore recreates keypairs and flavors through
        self.sync_apply = {"keypair": keypair_sync.apply, "flavor": flavor_sync.apply,
                           "security_group": security_group_sync.apply}
        self.pool = concurrent.futures.ThreadPoolExecutor(
            self.opts.snapshot_concurrency, thread_name_prefix="dr")

    def client(self, region, project_id=None):
        """The region's DR client: the service's project, or scoped to `project_id` (what a
        restore creates belongs to the plan's project)."""
        found = self._clients.get((region, project_id))
        if found is None:
            factory = self._factory or dr_client.for_region   # looked up late: tests swap it
            found = (factory(self.conf, region) if project_id is None
                     else factory(self.conf, region, project_id=project_id))
            self._clients[(region, project_id)] = found
        return found

    def compute(self, region):
        """The region's compute client of the sync reconcilers (keypairs, flavors)."""
        found = self._clients.get(("compute", region))
        if found is None:
            found = self._clients[("compute", region)] = compute_client.for_region(self.conf,
                                                                                    region)
        return found

    def network(self, region):
        """The region's network client of the security-group reconciler."""
        found = self._clients.get(("network", region))
        if found is None:
            found = self._clients[("network", region)] = network_client.for_region(self.conf,
                                                                                    region)
        return found

    def regions(self):
        """Region names in the catalog."""
        if self._regions is not None:
            return self._regions()
        return session.regions(self.conf)


def _leases(kind):
    def make(conf, engine_id):
        return leases.WorkItemLeases(conf, kind=kind, engine_id=engine_id, lease=conf.dr.lease,
                                     max_attempts=None, scan_interval=conf.dr.scan_interval)
    return make


def _retry(conf):
    return controller.Retry(base=conf.dr.poll_interval, cap=60.0, jitter=0.2, max_attempts=None)


KINDS = [
    controller.Kind(name=plan_kind.KIND, reconciler=plan_kind,
                    env=lambda conf, engine_id: DrEnv(conf, engine_id),
                    leases=_leases(plan_kind.KIND), retry=_retry,
                    workers=lambda conf: conf.dr.workers, conf_group="dr"),
    controller.Kind(name=checkpoint_kind.KIND, reconciler=checkpoint_kind,
                    env=lambda conf, engine_id: DrEnv(conf, engine_id),
                    leases=_leases(checkpoint_kind.KIND), retry=_retry,
                    workers=lambda conf: conf.dr.workers, conf_group="dr"),
    controller.Kind(name=restore_kind.KIND, reconciler=restore_kind,
                    env=lambda conf, engine_id: DrEnv(conf, engine_id),
                    leases=_leases(restore_kind.KIND), retry=_retry,
                    workers=lambda conf: conf.dr.workers, conf_group="dr"),
    controller.Kind(name=schedule_kind.KIND, reconciler=schedule_kind,
                    env=lambda conf, engine_id: DrEnv(conf, engine_id),
                    lister=lambda env: schedule_kind.keys(env),
                    resync_interval=lambda conf: conf.dr.schedule_interval,
                    conf_group="dr"),
]
