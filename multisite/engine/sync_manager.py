"""Resource sync engine: claims durable rows, runs them in a bounded pool, records outcomes.

The RPC cast `sync_job_created` only wakes the scan loop; the database is the truth. Each
scan claims unfinished rows whose lease expired (a row of a dead engine included), so a
lost message, a broker restart or a killed engine never strands a job.
"""

import logging
import random
import threading
from concurrent import futures

from oslo_config import cfg

from multisite.clients import compute as compute_client
from multisite.clients import image as image_client
from multisite.clients import session as region_errors
from multisite.objects import sync_jobs
from multisite.reconcilers import PermanentError, TemporaryError
from multisite.reconcilers import flavor as flavor_reconciler
from multisite.reconcilers import image as image_reconciler
from multisite.reconcilers import keypair as keypair_reconciler

LOG = logging.getLogger(__name__)

sync_group = cfg.OptGroup("sync", title="Resource sync jobs (os-sync)")
SYNC_OPTS = [
    cfg.IntOpt("workers", default=16, min=1,
               help="Rows one engine worker runs at the same time."),
    cfg.FloatOpt("scan_interval", default=5.0, min=0.05,
                 help="Seconds between two scans for unclaimed rows (a cast wakes the "
                      "scan at once)."),
    cfg.IntOpt("lease", default=60, min=2,
               help="Seconds a claimed row stays with its engine without a renewal; a "
                    "dead engine's rows are taken over after this."),
    cfg.IntOpt("max_attempts", default=5, min=1,
               help="Attempts of a row (temporary errors, engine deaths) before FAILURE."),
    cfg.FloatOpt("retry_delay", default=5.0, min=0,
                 help="First delay after a temporary error; doubles at each attempt."),
    cfg.FloatOpt("max_retry_delay", default=120.0, min=0,
                 help="Upper bound of the delay after a temporary error."),
]

RECONCILERS = {
    "keypair": keypair_reconciler,
    "flavor": flavor_reconciler,
    "image": image_reconciler,
}


def register_opts(conf):
    try:
        conf.register_group(sync_group)
        conf.register_opts(SYNC_OPTS, group=sync_group)
    except cfg.DuplicateOptError:
        pass


def list_opts():
    return [(sync_group, SYNC_OPTS)]


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

    def known(self):
        return region_errors.regions(self.conf)


class SyncManager:
    def __init__(self, conf, *, engine_id, regions=None):
        register_opts(conf)
        self.conf = conf
        self.engine_id = engine_id
        self.regions = regions or Regions(conf)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight = {}
        self._key_locks = {}
        self._lock = threading.Lock()
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

    def wake(self, job_id=None):
        LOG.debug("Sync manager woken for job %s", job_id)
        self._wake.set()

    # -- RPC: validation before the API writes anything ------------------------------------
    def validate_sync_resources(self, ctxt, entries, *, project_id, user_id):
        """Check regions and source resources with service credentials.

        Returns {"unknown_regions": [...], "missing": [...], "unavailable": [...]}.
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
                                                    entry["resource_type"], source, resource):
                            missing.append(f"{entry['resource_type']} {resource} in {source}")
                    except region_errors.Unavailable as exc:
                        unavailable.append(str(exc))
        return {"unknown_regions": unknown, "missing": missing, "unavailable": unavailable}

    def _source_visible(self, project_id, user_id, resource_type, region, resource):
        try:
            if resource_type == "keypair":
                self.regions.compute(region).get_keypair(resource, user_id=user_id)
                return True
            if resource_type == "flavor":
                return bool(self.regions.compute(region).find_flavors(resource))
            image = self.regions.image(region).get_image(resource)
        except (region_errors.NotFound, region_errors.BadRequest):
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

    def scan_once(self):
        """Claim what this engine has room for and start it; returns the rows claimed."""
        sync_jobs.settle_all(self.conf)
        free = self._free_slots()
        if free <= 0:
            return []
        items = sync_jobs.claim(self.conf, engine_id=self.engine_id, lease=self.opts.lease,
                                limit=free, max_attempts=self.opts.max_attempts)
        for item in items:
            with self._lock:
                self._inflight[item["id"]] = item
            self._pool.submit(self._run_guarded, item)
        return items

    def _renew_loop(self):
        while not self._stop.wait(max(1.0, self.opts.lease / 3.0)):
            with self._lock:
                row_ids = list(self._inflight)
            try:
                sync_jobs.renew(self.conf, engine_id=self.engine_id, row_ids=row_ids,
                                lease=self.opts.lease)
            except Exception:
                LOG.exception("Lease renewal failed on engine %s", self.engine_id)

    def _key_lock(self, item):
        key = (item["resource_type"], item["resource"], item["target_region"])
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _run_guarded(self, item):
        try:
            # Rows writing the same object in the same region (several sources) take
            # turns in this engine; across engines a conflict is retried.
            with self._key_lock(item):
                self.run_row(item)
        except Exception:
            LOG.exception("Sync row %s could not record its outcome", item["id"])
        finally:
            with self._lock:
                self._inflight.pop(item["id"], None)
            self._wake.set()  # a slot is free: look for more work

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
