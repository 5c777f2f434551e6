"""Resource sync rows, the `sync` kind of background work: one durable row per key.

The rows are work items of kind "sync" (objects/sync_jobs.py over objects/work_items.py);
`SyncRowLeases` is the work-item leases of that kind, whose claim and finish also settle
the rows' job (its os-sync status) and whose options are [sync]'s. The RPC cast
`sync_job_created` only wakes the scan; the database is the truth. Each scan claims
unfinished rows whose lease expired (a row of a dead engine included), so a lost message,
a broker restart or a killed engine never strands a job.
"""

import collections
import contextlib
import copy
import logging
import threading
import time

from multisite.clients import compute as compute_client
from multisite.clients import image as image_client
from multisite.clients import network as network_client
from multisite.clients import session as region_errors
from multisite.engine import controller as controller_mod
from multisite.engine import leases as leases_mod
from multisite.engine import manager as manager_mod
from multisite.objects import sync_jobs
from multisite.reconcilers import Key, Outcome, PermanentError, TemporaryError
from multisite.reconcilers import flavor as flavor_reconciler
from multisite.reconcilers import image as image_reconciler
from multisite.reconcilers import keypair as keypair_reconciler
from multisite.reconcilers import security_group as security_group_reconciler

LOG = logging.getLogger(__name__)

RECONCILERS = {
    "keypair": keypair_reconciler,
    "flavor": flavor_reconciler,
    "image": image_reconciler,
    "security_group": security_group_reconciler,
}


class KeyLocks:
    """Mutual exclusion per key, with a lock only while somebody holds or awaits it.

    A refcounted table: the entry of a key is created by its first user and removed by
    its last one, so the table holds at most one entry per row in flight (no leak over
    millions of (type, resource, target) keys).
    """

    def __init__(self):
        self._mutex = threading.Lock()
        self._locks = {}  # key -> [lock, users]

    @contextlib.contextmanager
    def hold(self, key):
        with self._mutex:
            entry = self._locks.get(key)
            if entry is None:
                entry = self._locks[key] = [threading.Lock(), 0]
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._mutex:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]

    def __len__(self):
        with self._mutex:
            return len(self._locks)


class SourceSnapshots:
    """What validation read from the source regions, for the rows of the job it validated.

    Keyed by job id (the API chooses it before validating), so a row copies the state its
    own request saw and never another job's. A row that finds nothing here (another engine
    validated, the entry expired) reads the source itself. Bounded and expiring.
    """

    def __init__(self, *, ttl=120.0, max_entries=10000, clock=time.monotonic):
        self.ttl, self.max_entries, self._clock = ttl, max_entries, clock
        self._lock = threading.Lock()
        self._entries = collections.OrderedDict()  # key -> (expires, value), oldest first

    def put(self, job_id, key, value):
        if job_id is None:
            return
        now = self._clock()
        with self._lock:
            self._entries.pop((job_id, *key), None)
            self._entries[(job_id, *key)] = (now + self.ttl, copy.deepcopy(value))
            self._expire(now)

    def get(self, job_id, key):
        now = self._clock()
        with self._lock:
            self._expire(now)
            found = self._entries.get((job_id, *key))
        return None if found is None else copy.deepcopy(found[1])

    def _expire(self, now):
        while self._entries:
            key, (expires, _) = next(iter(self._entries.items()))
            if expires > now and len(self._entries) <= self.max_entries:
                break
            del self._entries[key]

    def __len__(self):
        with self._lock:
            return len(self._entries)


class Regions:
    """Per-region clients at the clients/ boundary (tests swap the for_region functions)."""

    def __init__(self, conf):
        self.conf = conf
        self._lock = threading.Lock()
        self._cache = {}

    def _get(self, kind, factory, region):
        with self._lock:
            client = self._cache.get((kind, region))
            if client is None:
                client = self._cache[(kind, region)] = factory(self.conf, region)
            return client

    def compute(self, region):
        return self._get("compute", compute_client.for_region, region)

    def image(self, region):
        return self._get("image", image_client.for_region, region)

    def boot(self, region):
        """The compute calls of a rollout's boot check."""
        return self._get("boot", compute_client.boot_for_region, region)

    def network(self, region):
        return self._get("network", network_client.for_region, region)

    def known(self):
        return region_errors.regions(self.conf)

    def of_project(self, project_id):
        """The project's regions (clients.session.project_regions): the targets of a
        policy over "all" regions, added ones included."""
        return region_errors.project_regions(self.conf, project_id)


NAME = "sync"


class SyncRowLeases(leases_mod.WorkItemLeases):
    """The controller's leases over the os-sync rows: work items whose parent is the job.

    renew and requeue are the work items' own; claim runs the job repair pass first
    (sync_jobs.settle_all) and returns flat row items, finish settles the job. The
    options are read from [sync] at each use.
    """

    def __init__(self, conf, engine_id):        # no fixed options: see the properties
        self.conf, self.kind, self.engine_id = conf, NAME, engine_id
        self._now = lambda: None

    @property
    def opts(self):
        return self.conf.sync

    @property
    def lease(self):
        return self.opts.lease

    @property
    def max_attempts(self):
        return self.opts.max_attempts

    @property
    def scan_interval(self):
        return self.opts.scan_interval

    @property
    def renew_period(self):
        return max(1.0, min(self.opts.lease, self.opts.handoff_lease) / 3.0)

    def key(self, item):
        # as before 0016, from the row's own fields (an item cast by an API of that time)
        return Key(NAME, item["id"], item["target_region"])

    def claim(self, *, limit, parent_id=None):
        if parent_id is None:
            sync_jobs.settle_all(self.conf)   # the scan's repair pass
        return sync_jobs.claim(self.conf, engine_id=self.engine_id, lease=self.lease,
                               limit=limit, max_attempts=self.max_attempts,
                               job_id=parent_id)

    def finish(self, item, *, ok, error=None):
        sync_jobs.finish(self.conf, item=item, engine_id=self.engine_id,
                         status=sync_jobs.SUCCESS if ok else sync_jobs.FAILURE, error=error)


class RowReconciler:
    """reconcile(key, env) of a sync row: the row's resource type's apply()."""

    @staticmethod
    def reconcile(key, env):
        return env.shared.reconcile_row(env.item)


def _retry(conf):
    return controller_mod.Retry(base=conf.sync.retry_delay, cap=conf.sync.max_retry_delay,
                                jitter=0.2, max_attempts=conf.sync.max_attempts)


# The registry entry (registry.KINDS).
KIND = controller_mod.Kind(
    name=NAME, reconciler=RowReconciler, workers=lambda conf: conf.sync.workers,
    env=lambda conf, engine_id: SyncManager(conf, engine_id=engine_id),
    leases=SyncRowLeases, retry=_retry, conf_group="sync")


class SyncManager:
    """The sync kind's environment: region clients, snapshots, RPC methods, one row."""

    def __init__(self, conf, *, engine_id, regions=None):
        self.conf = conf
        self.engine_id = engine_id
        self.regions = regions or Regions(conf)
        self.snapshots = SourceSnapshots(ttl=max(30.0, float(conf.sync.lease)))
        self._key_locks = KeyLocks()
        self.engine = None
        self._own_engine = False

    @property
    def opts(self):
        return self.conf.sync

    @property
    def controller(self):
        return self.engine.controllers[NAME]

    # -- lifecycle -----------------------------------------------------------------------
    def attach(self, engine):
        """Run on `engine` (the engine service's manager), which starts and stops it."""
        self.engine = engine

    def start(self):
        """Run alone (tools, tests): on a manager of its own with this kind only."""
        if self.engine is None:
            self.engine = manager_mod.Manager(self.conf, engine_id=self.engine_id)
            self.engine.add(KIND, shared=self)
            self._own_engine = True
        if self._own_engine:
            self.engine.start()

    def stop(self):
        # Rows still running keep their lease until it expires; another engine (or this
        # one, restarted) takes them over then.
        if self._own_engine and self.engine is not None:
            self.engine.stop()

    def _running(self):
        return self.engine is not None and self.engine.running

    def wake(self, job_id=None, items=None):
        """A job was written: start its rows now (in the caller's thread), else scan.

        `items`: rows the API wrote already claimed by this engine (handoff, short lease):
        they start at once, then one UPDATE extends their lease while they run. Otherwise
        the job's rows are claimed here.
        """
        LOG.debug("Sync manager woken for job %s", job_id)
        if items and self._running():
            try:
                if self._start_handoff(items):
                    return
            except Exception:
                LOG.exception("Starting the rows of job %s failed on engine %s", job_id,
                              self.engine_id)
        if job_id is not None and self._running():
            try:
                if self.scan_once(job_id=job_id):
                    return
            except Exception:
                LOG.exception("Claiming the rows of job %s failed on engine %s", job_id,
                              self.engine_id)
        if self.engine is not None:
            self.engine.wake()

    def _start_handoff(self, items):
        """Run rows handed to this engine, if at least half of their short lease is left.

        A stale cast (delayed past that) is ignored: its rows are claimed normally, by
        this engine or another, once the lease lapses.
        """
        margin = self.opts.handoff_lease / 2.0
        now = time.time()
        fresh = [item for item in items if item.get("handoff_until", 0) - margin > now]
        if len(fresh) != len(items):
            return False
        started = self.controller.hand(fresh)
        # the full lease, while the rows run (their finish needs claimed_by only)
        sync_jobs.renew(self.conf, engine_id=self.engine_id,
                        row_ids=[item["id"] for item in started], lease=self.opts.lease)
        return True

    def scan_once(self, *, job_id=None):
        """Claim what this engine has room for (of one job, if given) and start it."""
        return self.controller.scan(parent_id=job_id)

    # -- RPC: validation before the API writes anything ------------------------------------
    def known_regions(self):
        """{"regions", "error"}: the catalog's regions, never an exception."""
        try:
            return {"regions": sorted(self.regions.known()), "error": None}
        except region_errors.RegionError as exc:  # Keystone unreachable or refusing us
            return {"regions": [], "error": str(exc)}

    def validate_sync_resources(self, ctxt, entries, *, project_id, user_id, job_id=None):
        """Check regions and source resources with service credentials.

        Returns {"unknown_regions", "missing", "unavailable", "service_missing"}: lists,
        never an exception for a region or Keystone that fails. With
        the id the job will have, what was read is kept for its rows (SourceSnapshots).
        """
        result = {"unknown_regions": [], "missing": [], "unavailable": [],
                  "service_missing": []}
        try:
            known = self.regions.known()
        except region_errors.RegionError as exc:  # Keystone unreachable or refusing us
            result["unavailable"].append(str(exc))
            return result
        result["unknown_regions"] = sorted(
            {r for e in entries for r in [*e["source"], *e["target"]]} - known)
        for entry in entries:
            kind = entry["resource_type"]
            for source in entry["source"]:
                if source not in known:
                    continue
                for resource in entry["resources"]:
                    try:
                        visible, snapshot = RECONCILERS[kind].check_source(
                            self.regions, region=source, resource=resource,
                            user_id=user_id, project_id=project_id)
                    except region_errors.UnknownRegion:
                        result["service_missing"].append(
                            f"{source} has no {kind} service in the catalog")
                        break
                    except region_errors.RegionError as exc:
                        result["unavailable"].append(str(exc))
                        continue
                    if snapshot is not None:
                        self.snapshots.put(job_id, (kind, source, resource, user_id),
                                           snapshot)
                    if not visible:
                        result["missing"].append(f"{kind} {resource} in {source}")
        result["service_missing"] = list(dict.fromkeys(result["service_missing"]))
        return result

    # -- one row ---------------------------------------------------------------------------
    def reconcile_row(self, item):
        """Converge one claimed row; the controller records SUCCESS, FAILURE or a retry.

        A region that cannot be reached is a temporary error (retried with backoff); any
        other region error is permanent.
        """
        log_args = (item["resource_type"], item["resource"], item["source_region"],
                    item["target_region"], item["job_id"], item["project_id"])
        LOG.info("sync row start type=%s resource=%s source=%s target=%s job=%s project=%s",
                 *log_args)
        reconciler = RECONCILERS.get(item["resource_type"])
        if reconciler is None:
            raise PermanentError(f"unknown resource type {item['resource_type']}")

        def record_target(target_id):
            sync_jobs.set_target_id(self.conf, item=item, engine_id=self.engine_id,
                                    target_id=target_id)
            item["target_id"] = target_id

        snapshot = self.snapshots.get(item["job_id"], (
            item["resource_type"], item["source_region"], item["resource"], item["user_id"]))
        row = item if snapshot is None else dict(item, source_snapshot=snapshot)
        # Rows writing the same object in the same region (several sources) take turns in
        # this engine; across engines a conflict is retried.
        # A security-group row also writes the groups its group references: one
        # project's groups in one target take turns.
        lock = (item["project_id"] if item["resource_type"] == "security_group"
                else item["resource"])
        with self._key_locks.hold((item["resource_type"], lock, item["target_region"])):
            try:
                reconciler.apply(row, self.regions, record_target)
            except region_errors.Unavailable as exc:
                raise TemporaryError(str(exc)) from exc
            except region_errors.RegionError as exc:
                raise PermanentError(str(exc)) from exc
        LOG.info("sync row done type=%s resource=%s source=%s target=%s job=%s project=%s",
                 *log_args)
        return Outcome.done(sync_jobs.SUCCESS)
