"""Resource sync engine: claims durable rows, runs them in a bounded pool, records outcomes.

The RPC cast `sync_job_created` only wakes the scan loop; the database is the truth. Each
scan claims unfinished rows whose lease expired (a row of a dead engine included), so a
lost message, a broker restart or a killed engine never strands a job.
"""

import collections
import contextlib
import copy
import logging
import random
import threading
import time
from concurrent import futures

from multisite.clients import compute as compute_client
from multisite.clients import image as image_client
from multisite.clients import network as network_client
from multisite.clients import session as region_errors
from multisite.objects import sync_jobs
from multisite.reconcilers import PermanentError, TemporaryError
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

    def network(self, region):
        return self._get("network", network_client.for_region, region)

    def known(self):
        return region_errors.regions(self.conf)


class SyncManager:
    def __init__(self, conf, *, engine_id, regions=None):
        self.conf = conf
        self.engine_id = engine_id
        self.regions = regions or Regions(conf)
        self.snapshots = SourceSnapshots(ttl=max(30.0, float(conf.sync.lease)))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight = {}
        self._key_locks = KeyLocks()
        self._lock = threading.Lock()
        self._claim_lock = threading.Lock()
        self._pool = None
        self._threads = []

    @property
    def opts(self):
        return self.conf.sync

    # -- lifecycle -----------------------------------------------------------------------
    def start(self):
        self._pool = futures.ThreadPoolExecutor(max_workers=self.opts.workers,
                                                thread_name_prefix="sync-row")
        for target, name in ((self._scan_loop, "sync-scan"), (self._renew_loop, "sync-lease")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self):
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._pool is not None:
            # Rows still running keep their lease until it expires; another engine
            # (or this one, restarted) takes them over then.
            self._pool.shutdown(wait=False, cancel_futures=True)

    def wake(self, job_id=None, items=None):
        """A job was written: start its rows now (in the caller's thread), else scan.

        `items`: rows the API wrote already claimed by this engine (handoff, short lease):
        they start at once, then one UPDATE extends their lease while they run. Otherwise
        the job's rows are claimed here.
        """
        LOG.debug("Sync manager woken for job %s", job_id)
        if items and self._pool is not None and not self._stop.is_set():
            try:
                if self._start_handoff(items):
                    return
            except Exception:
                LOG.exception("Starting the rows of job %s failed on engine %s", job_id,
                              self.engine_id)
        if job_id is not None and self._pool is not None and not self._stop.is_set():
            try:
                if self.scan_once(job_id=job_id, settle=False):
                    return
            except Exception:
                LOG.exception("Claiming the rows of job %s failed on engine %s", job_id,
                              self.engine_id)
        self._wake.set()

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
        started = []
        with self._lock:
            for item in fresh:
                if item["id"] not in self._inflight:
                    self._inflight[item["id"]] = item
                    started.append(item)
        for item in started:
            self._pool.submit(self._run_guarded, item)
        # the full lease, while the rows run (their finish needs claimed_by only)
        sync_jobs.renew(self.conf, engine_id=self.engine_id,
                        row_ids=[item["id"] for item in started], lease=self.opts.lease)
        return True

    # -- RPC: validation before the API writes anything ------------------------------------
    def validate_sync_resources(self, ctxt, entries, *, project_id, user_id, job_id=None):
        """Check regions and source resources with service credentials.

        Returns {"unknown_regions": [...], "missing": [...], "unavailable": [...]}. With
        the id the job will have, what was read is kept for its rows (SourceSnapshots).
        """
        known = self.regions.known()
        unknown = sorted({r for e in entries for r in [*e["source"], *e["target"]]}
                         - known)
        missing, unavailable = [], []
        for entry in entries:
            for source in entry["source"]:
                if source not in known:
                    continue
                for resource in entry["resources"]:
                    try:
                        if not self._source_visible(project_id, user_id,
                                                    entry["resource_type"], source, resource,
                                                    job_id=job_id):
                            missing.append(f"{entry['resource_type']} {resource} in {source}")
                    except region_errors.Unavailable as exc:
                        unavailable.append(str(exc))
        return {"unknown_regions": unknown, "missing": missing, "unavailable": unavailable}

    def _source_visible(self, project_id, user_id, resource_type, region, resource, *,
                        job_id=None):
        try:
            if resource_type == "keypair":
                found = self.regions.compute(region).get_keypair(resource, user_id=user_id)
                self.snapshots.put(job_id, (resource_type, region, resource, user_id), found)
                return True
            if resource_type == "flavor":
                return bool(self.regions.compute(region).find_flavors(resource))
            if resource_type == "security_group":
                return security_group_reconciler.source_exists(self.regions, region,
                                                               project_id, resource)
            image = self.regions.image(region).get_image(resource)
        except (region_errors.NotFound, region_errors.BadRequest, PermanentError):
            return False
        return self._image_readable(project_id, region, image)

    def _image_readable(self, project_id, region, image):
        """The service user sees every image; the caller may sync only what it can read."""
        if image.get("owner") == project_id:
            return True
        if image.get("visibility") in ("public", "community"):
            return True
        if image.get("visibility") == "shared":
            try:
                member = self.regions.image(region).get_member(image["id"], project_id)
            except region_errors.NotFound:
                return False
            return member.get("status") == "accepted"
        return False

    # -- the work loop -------------------------------------------------------------------
    def _free_slots(self):
        with self._lock:
            return self.opts.workers - len(self._inflight)

    def _scan_loop(self):
        while not self._stop.is_set():
            try:
                self.scan_once()
            except Exception:
                LOG.exception("Sync scan failed on engine %s", self.engine_id)
            self._wake.wait(self.opts.scan_interval)
            self._wake.clear()

    def scan_once(self, *, job_id=None, settle=True):
        """Claim what this engine has room for (of one job, if given) and start it.

        Returns the rows claimed; each starts in the pool as soon as it is claimed.
        """
        if settle:
            sync_jobs.settle_all(self.conf)
        with self._claim_lock:
            free = self._free_slots()
            if free <= 0:
                return []
            items = sync_jobs.claim(self.conf, engine_id=self.engine_id,
                                    lease=self.opts.lease, limit=free,
                                    max_attempts=self.opts.max_attempts, job_id=job_id)
            started = []
            for item in items:
                with self._lock:
                    if item["id"] in self._inflight:
                        continue  # still running here (its lease had lapsed): keep going
                    self._inflight[item["id"]] = item
                self._pool.submit(self._run_guarded, item)
                started.append(item)
        return started

    def _renew_loop(self):
        period = min(self.opts.lease, self.opts.handoff_lease) / 3.0
        while not self._stop.wait(max(1.0, period)):
            with self._lock:
                row_ids = list(self._inflight)
            try:
                sync_jobs.renew(self.conf, engine_id=self.engine_id, row_ids=row_ids,
                                lease=self.opts.lease)
            except Exception:
                LOG.exception("Lease renewal failed on engine %s", self.engine_id)

    def _run_guarded(self, item):
        try:
            # Rows writing the same object in the same region (several sources) take
            # turns in this engine; across engines a conflict is retried.
            key = (item["resource_type"], item["resource"], item["target_region"])
            if item["resource_type"] == "security_group":
                # a row writes the groups its group references too: one project's
                # groups in one target take turns
                key = (item["resource_type"], item["project_id"], item["target_region"])
            with self._key_locks.hold(key):
                self.run_row(item)
        except Exception:
            LOG.exception("Sync row %s could not record its outcome", item["id"])
        finally:
            with self._lock:
                was_full = len(self._inflight) >= self.opts.workers
                self._inflight.pop(item["id"], None)
            if was_full:
                self._wake.set()  # a slot is free: look for rows left waiting

    def run_row(self, item):
        """Run one claimed row to an outcome: SUCCESS, FAILURE, or requeued after a delay."""
        log_args = (item["resource_type"], item["resource"], item["source_region"],
                    item["target_region"], item["job_id"], item["project_id"])
        LOG.info("sync row start type=%s resource=%s source=%s target=%s job=%s project=%s",
                 *log_args)
        reconciler = RECONCILERS.get(item["resource_type"])

        def record_target(target_id):
            sync_jobs.set_target_id(self.conf, row_id=item["id"], engine_id=self.engine_id,
                                    target_id=target_id)
            item["target_id"] = target_id

        snapshot = self.snapshots.get(item["job_id"], (
            item["resource_type"], item["source_region"], item["resource"], item["user_id"]))
        if snapshot is not None:
            item = dict(item, source_snapshot=snapshot)
        try:
            if reconciler is None:
                raise PermanentError(f"unknown resource type {item['resource_type']}")
            reconciler.apply(item, self.regions, record_target)
        except TemporaryError as exc:
            return self._retry(item, str(exc), exc.delay, log_args)
        except region_errors.Unavailable as exc:
            return self._retry(item, str(exc), None, log_args)
        except (PermanentError, region_errors.RegionError) as exc:
            return self._fail(item, str(exc), log_args)
        except Exception as exc:
            LOG.exception("sync row crashed type=%s resource=%s source=%s target=%s job=%s "
                          "project=%s", *log_args)
            return self._fail(item, f"internal error: {type(exc).__name__}: {exc}", log_args)
        sync_jobs.finish(self.conf, row_id=item["id"], engine_id=self.engine_id,
                         status=sync_jobs.SUCCESS)
        LOG.info("sync row done type=%s resource=%s source=%s target=%s job=%s project=%s",
                 *log_args)
        return sync_jobs.SUCCESS

    def _fail(self, item, reason, log_args):
        LOG.warning("sync row failed type=%s resource=%s source=%s target=%s job=%s "
                    "project=%s reason=%s", *log_args, reason)
        sync_jobs.finish(self.conf, row_id=item["id"], engine_id=self.engine_id,
                         status=sync_jobs.FAILURE, error=reason)
        return sync_jobs.FAILURE

    def _retry(self, item, reason, delay, log_args):
        if item["attempts"] >= self.opts.max_attempts:
            return self._fail(item, f"gave up after {item['attempts']} attempts: {reason}",
                              log_args)
        if delay is None:
            delay = min(self.opts.max_retry_delay,
                        self.opts.retry_delay * 2 ** (item["attempts"] - 1))
            delay *= random.uniform(0.8, 1.2)
        LOG.info("sync row requeued type=%s resource=%s source=%s target=%s job=%s "
                 "project=%s delay=%.1f reason=%s", *log_args, delay, reason)
        sync_jobs.requeue(self.conf, row_id=item["id"], engine_id=self.engine_id,
                          delay=delay, error=reason)
        return sync_jobs.IN_PROGRESS
