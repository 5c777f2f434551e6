"""The image distribution kinds' environment and registry entries (docs/images.md).

`image_copy` and `image_rollout` are durable (work items with leases: a killed engine's
copy or rollout is resumed by another); `image_distribution` is the periodic audit of the
projects with a mode, one key per project, also woken by image.* notifications
(`on_events`, a subscriber of the event feed).
"""

import concurrent.futures
import contextlib
import logging
import threading
import weakref

from multisite.engine import controller, leases, sync_manager
from multisite.objects import images as store
from multisite.reconcilers import Key, image_fanout
from multisite.reconcilers import image_distribution as reconciler

LOG = logging.getLogger(__name__)


class ImageEnv:
    """Shared by every reconcile of the three kinds in one engine."""

    def __init__(self, conf, *, regions=None):
        self.conf = conf
        self.regions = regions or sync_manager.Regions(conf)
        self.wake = lambda: None           # Manager.wake once attached (attach())
        self.corrupt = set()               # test hook: regions whose copies get damaged
        self.spools = image_fanout.Spools()  # one read of a source for its copies at once
        self._lock = threading.Lock()
        self._gates = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="image-list")

    def known(self):
        return self.regions.known()

    def map(self, func, items):
        return list(self._pool.map(func, items))

    def _gate(self, region):
        with self._lock:
            gate = self._gates.get(region)
            if gate is None:
                gate = self._gates[region] = threading.BoundedSemaphore(
                    self.conf.image_distribution.region_concurrency)
            return gate

    @contextlib.contextmanager
    def gates(self, *regions):
        """Admit a copy if each of its regions is under the per-region limit (no wait)."""
        taken = []
        try:
            for region in dict.fromkeys(regions):
                gate = self._gate(region)
                if not gate.acquire(blocking=False):
                    break
                taken.append(gate)
            yield len(taken) == len(dict.fromkeys(regions))
        finally:
            for gate in taken:
                gate.release()

    def audit_keys(self):
        return [Key(reconciler.AUDIT_KIND, p) for p in store.projects(self.conf)]


# engine id -> its ImageEnv, held by the engine's controllers only: an engine that is gone
# (stopped and dropped, e.g. one per test or per restarted worker) takes its env with it
_ENVS = weakref.WeakValueDictionary()
_ENVS_LOCK = threading.Lock()


def env(conf, engine_id):
    """One ImageEnv per engine, shared by the three kinds (the controllers keep it alive)."""
    with _ENVS_LOCK:
        found = _ENVS.get(engine_id)
        if found is None:
            found = _ENVS[engine_id] = ImageEnv(conf)
        return found


def _leases(kind):
    def make(conf, engine_id):
        opts = conf.image_distribution
        return leases.WorkItemLeases(conf, kind=kind, engine_id=engine_id, lease=opts.lease,
                                     scan_interval=opts.scan_interval)
    return make


def _retry(conf):
    return controller.Retry(base=2.0, cap=60.0, max_attempts=None)


KINDS = [
    controller.Kind(name=reconciler.COPY_KIND, reconciler=reconciler.CopyKind, env=env,
                    leases=_leases(reconciler.COPY_KIND),
                    workers=lambda conf: conf.image_distribution.workers, retry=_retry,
                    conf_group="image_distribution"),
    controller.Kind(name=reconciler.ROLLOUT_KIND, reconciler=reconciler.RolloutKind, env=env,
                    leases=_leases(reconciler.ROLLOUT_KIND), workers=lambda conf: 4,
                    retry=_retry, conf_group="image_distribution"),
    controller.Kind(name=reconciler.AUDIT_KIND, reconciler=reconciler.AuditKind, env=env,
                    lister=lambda shared: shared.audit_keys(),
                    resync_interval=lambda conf: conf.image_distribution.audit_interval,
                    workers=lambda conf: 4,
                    retry=lambda conf: controller.Retry(base=2.0, cap=60.0, max_attempts=None),
                    conf_group="image_distribution"),
]

IMAGE_EVENTS = ("image.activate", "image.update", "image.delete", "image.member.")


def attach(manager, feed=None):
    """Give the kinds' env the manager's wake-up, and subscribe the audit to image events."""
    ctl = manager.controllers.get(reconciler.COPY_KIND)
    if ctl is None:
        return
    ctl.shared.wake = manager.wake
    if feed is not None:
        feed.subscribe(lambda region, found: on_events(manager, found))


def _owner(event):
    """The image's project: Glance's notification context carries none, its payload the
    image's owner."""
    payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
    owner = payload.get("owner") or event.get("project_id")
    return str(owner).replace("-", "").lower() if owner else None


def on_events(manager, found):
    """image.* events of a project with a distribution mode: audit that project now."""
    projects = {_owner(e) for e in found
                if str(e.get("event_type", "")).startswith(IMAGE_EVENTS)} - {None}
    if not projects:
        return
    with_mode = set(store.projects(manager.conf))
    for project in sorted(projects & with_mode):
        LOG.info("Image event wakes the distribution audit: project=%s", project)
        manager.notify(Key(reconciler.AUDIT_KIND, project))
