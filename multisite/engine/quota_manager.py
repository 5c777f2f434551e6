"""Quota manager: global limits, usage summed over regions, per-region limits.

One pass for a project (`sync_project`): read usage and limits from every region in
parallel, plan the new limits (multisite.reconcilers.quota, pure), write only what
changes, record each region's outcome. A failing region never stops the others: its
last known usage is used, its failure is recorded, and it is retried with backoff.

Scheduling: a periodic pass over the projects this engine owns on the hash ring, and
on-demand passes (RPC `quota_sync_for_project`). A project is synced by one thread of
one engine at a time: in-process de-duplication plus a tooz lock across engines.
`[batch] batch_size` projects run at once; `[batch] region_concurrency` bounds the
calls in flight to each region.
"""

import concurrent.futures
import datetime
import logging
import threading
import time

from multisite import clients
from multisite.engine import coordination
from multisite.objects import quota_settings, quotas, sync_status
from multisite.reconcilers import quota as quota_plan

LOG = logging.getLogger(__name__)

PERIODIC = "periodic"
ON_DEMAND = "on-demand"


def _utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class QuotaManager:
    def __init__(self, conf, *, engine_id, cloud=None, coordinator=None):
        self.conf = conf
        self.engine_id = engine_id
        self._cloud = cloud
        self.coordinator = coordinator
        self._own_coordinator = coordinator is None
        self._lock = threading.Lock()
        self._queued = set()
        self._running = set()
        self._again = set()
        self._stop = threading.Event()
        self._projects_pool = None
        self._regions_pool = None
        self._periodic_thread = None
        self.last_run = None

    # -- life cycle ----------------------------------------------------------------------
    @property
    def cloud(self):
        with self._lock:
            if self._cloud is None:
                self._cloud = clients.get_cloud(self.conf)
            return self._cloud

    def _pools(self):
        with self._lock:
            if self._projects_pool is None:
                size = self.conf.batch.batch_size
                self._projects_pool = concurrent.futures.ThreadPoolExecutor(
                    size, thread_name_prefix="quota-project")
                # Each running project has one read or write in flight per region; the
                # per-region gate in the clients bounds what a region receives.
                self._regions_pool = concurrent.futures.ThreadPoolExecutor(
                    min(size * 32, 1024), thread_name_prefix="quota-region")
            return self._projects_pool, self._regions_pool

    def start(self):
        self._stop.clear()
        if self.coordinator is None:
            self.coordinator = coordination.Coordinator(self.conf, self.engine_id)
            self.coordinator.start()
        self._pools()
        if self.conf.scheduler.periodic_enable:
            self._periodic_thread = threading.Thread(
                target=self._periodic_loop, name="quota-periodic", daemon=True)
            self._periodic_thread.start()

    def stop(self):
        self._stop.set()
        if self._periodic_thread is not None:
            self._periodic_thread.join(timeout=5)
        with self._lock:
            pools = (self._projects_pool, self._regions_pool)
            self._projects_pool = self._regions_pool = None
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        if self.coordinator is not None and self._own_coordinator:
            self.coordinator.stop()
            self.coordinator = None

    # -- RPC -----------------------------------------------------------------------------
    def get_total_usage_for_tenant(self, ctxt, project_id):
        """{limits, usage summed over reachable regions, unreachable_regions}."""
        limits = quotas.effective(self.conf, project_id)
        try:
            regions = self.cloud.regions(project_id)
        except Exception as exc:
            # No catalog: every region the project was last seen in is unreachable.
            known = sorted(sync_status.states(self.conf, project_id))
            LOG.warning("Region list unavailable for usage: project=%s error=%s",
                        project_id, exc)
            return {"limits": limits, "usage": dict.fromkeys(limits, 0),
                    "unreachable_regions": known or ["(catalog)"]}
        read, failed = self._read_regions(project_id, regions)
        usage = quota_plan.total_usage({r: q.usage for r, q in read.items()}, limits)
        return {"limits": limits, "usage": usage, "unreachable_regions": sorted(failed)}

    def request_sync(self, project_id):
        """On-demand sync (RPC cast): queued once, re-run once if a pass is running."""
        LOG.info("Quota sync requested: project=%s engine=%s", project_id, self.engine_id)
        return self.submit(project_id, reason=ON_DEMAND)

    # -- scheduling ----------------------------------------------------------------------
    def submit(self, project_id, *, reason=PERIODIC):
        """Queue a pass for the project unless one is queued; None if deduplicated."""
        with self._lock:
            if project_id in self._running:
                if reason == ON_DEMAND:
                    # The running pass may have read usage before the change that
                    # prompted this request: run once more afterwards.
                    self._again.add(project_id)
                return None
            if project_id in self._queued:
                return None
            self._queued.add(project_id)
        projects_pool, _ = self._pools()
        return projects_pool.submit(self._run, project_id, reason)

    def _run(self, project_id, reason):
        with self._lock:
            self._queued.discard(project_id)
            self._running.add(project_id)
        try:
            return self._locked_sync(project_id, reason)
        except Exception:
            LOG.exception("Quota sync failed: project=%s", project_id)
            return None
        finally:
            with self._lock:
                self._running.discard(project_id)
                again = project_id in self._again
                self._again.discard(project_id)
            if again and not self._stop.is_set():
                self.submit(project_id, reason=ON_DEMAND)

    def _locked_sync(self, project_id, reason):
        lock = self.coordinator.lock(project_id) if self.coordinator else None
        attempts = self.conf.locks.lock_retry_times if reason == ON_DEMAND else 0
        if lock is not None:
            while not lock.acquire(blocking=False):
                if attempts <= 0 or self._stop.wait(self.conf.locks.lock_retry_interval):
                    LOG.info("Quota sync skipped, another engine holds it: project=%s "
                             "reason=%s", project_id, reason)
                    return None
                attempts -= 1
        try:
            return self.sync_project(project_id, periodic=reason == PERIODIC)
        finally:
            if lock is not None:
                try:
                    lock.release()
                except Exception:
                    LOG.warning("Could not release the lock of project %s", project_id,
                                exc_info=True)

    def projects_to_sync(self):
        """Projects with Multisite limits or opted in; all projects if configured."""
        settings = quota_settings.all_settings(self.conf)
        if self.conf.scheduler.sync_all_projects:
            chosen = set(self.cloud.projects())
        else:
            chosen = set(quotas.projects_with_limits(self.conf))
        chosen |= {p for p, s in settings.items() if s["quota_sync"] is True}
        chosen -= {p for p, s in settings.items() if s["quota_sync"] is False}
        return sorted(chosen)

    def run_periodic(self):
        """One periodic pass over the projects this engine owns; waits for them.

        While the pass runs, the ring is refreshed every half report_interval: projects
        of an engine that stopped reporting (crashed) are taken over in this pass, not
        one periodic_interval later.
        """
        started = time.monotonic()
        candidates = self.projects_to_sync()
        futures = {}

        def take():
            if self.coordinator is not None:
                self.coordinator.refresh()
            for p in candidates:
                if p not in futures and (self.coordinator is None
                                         or self.coordinator.owns(p)):
                    futures[p] = self.submit(p)

        take()
        period = max(self.conf.report_interval / 2.0, 0.5)
        while not self._stop.is_set():
            pending = [f for f in futures.values() if f is not None and not f.done()]
            if not pending:
                break
            concurrent.futures.wait(pending, timeout=period)
            take()
        results = [f.result() for f in futures.values()
                   if f is not None and f.done() and not f.cancelled()]
        summary = {"projects": len(futures), "synced": sum(1 for r in results if r),
                   "seconds": round(time.monotonic() - started, 3)}
        self.last_run = summary
        LOG.info("Periodic quota rebalance done: engine=%s projects=%d synced=%d "
                 "seconds=%.3f", self.engine_id, summary["projects"], summary["synced"],
                 summary["seconds"])
        return summary

    def _periodic_loop(self):
        interval = self.conf.scheduler.periodic_interval
        # Let engines started together see each other (liveness, tooz group) first, so
        # that the first pass is already partitioned instead of done by every engine.
        if self._stop.wait(min(self.conf.report_interval, interval)):
            return
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.run_periodic()
            except Exception:
                LOG.exception("Periodic quota rebalance failed: engine=%s", self.engine_id)
            # Runs never overlap: the next one starts an interval after this one began,
            # or at once if this one took longer.
            if self._stop.wait(max(interval - (time.monotonic() - started), 0)):
                return

    # -- one pass for one project ----------------------------------------------------------
    def _read_regions(self, project_id, regions):
        """Read regions in parallel: ({region: RegionQuota}, {region: error text})."""
        _, pool = self._pools()
        futures = {r: pool.submit(self.cloud.read, r, project_id) for r in regions}
        read, failed = {}, {}
        for region, future in futures.items():
            try:
                read[region] = future.result()
            except clients.RegionError as exc:
                failed[region] = str(exc)
            except Exception as exc:  # a bug or an odd answer: isolate the region
                LOG.exception("Region read failed: region=%s project=%s", region, project_id)
                failed[region] = f"{region}: {type(exc).__name__}: {exc}"
        return read, failed

    def _write_regions(self, project_id, changes):
        _, pool = self._pools()
        futures = {r: pool.submit(self.cloud.write_limits, r, project_id, values)
                   for r, values in changes.items()}
        failed = {}
        for region, future in futures.items():
            try:
                future.result()
            except Exception as exc:
                if not isinstance(exc, clients.RegionError):
                    LOG.exception("Region write failed: region=%s project=%s", region,
                                  project_id)
                failed[region] = str(exc)
        return failed

    def policy_for(self, project_id):
        setting = quota_settings.get(self.conf, project_id)["quota_policy"]
        return setting or self.conf.quota_policy

    def sync_project(self, project_id, *, periodic=False):
        """Rebalance one project now; returns a summary (also logged)."""
        started = time.monotonic()
        LOG.info("Quota sync start: project=%s engine=%s", project_id, self.engine_id)
        limits = quotas.effective(self.conf, project_id)
        policy = self.policy_for(project_id)
        known = sync_status.states(self.conf, project_id)
        regions = self.cloud.regions(project_id)
        now = _utcnow()
        # In periodic passes a failing region waits for its backoff; on demand it is tried.
        waiting = {r for r in regions if periodic and known.get(r, {}).get("next_attempt_at")
                   and known[r]["next_attempt_at"] > now}
        read, failed = self._read_regions(project_id, [r for r in regions if r not in waiting])
        usage_by_region, fixed = {}, {}
        for region in regions:
            if region in read:
                usage_by_region[region] = read[region].usage
                continue
            state = known.get(region) or {}
            usage_by_region[region] = state.get("usage") or {}
            fixed[region] = state.get("limits") or {}
        changes = quota_plan.plan(limits, usage_by_region,
                                  {r: q.limits for r, q in read.items()}, policy,
                                  fixed_by_region=fixed)
        failed.update(self._write_regions(project_id, changes))
        outcomes = {}
        for region in read:
            new_limits = dict(read[region].limits)
            if region not in failed:
                new_limits.update(changes.get(region, {}))
            outcomes[region] = {"ok": region not in failed, "usage": read[region].usage,
                                "limits": new_limits}
        for region, error in failed.items():
            failures = (known.get(region) or {}).get("failures", 0) + 1
            outcomes.setdefault(region, {}).update(
                ok=False, error=error,
                backoff=quota_plan.backoff(failures,
                                           base=self.conf.scheduler.region_backoff_base,
                                           cap=self.conf.scheduler.region_backoff_max))
            LOG.warning("Quota sync region failed: project=%s region=%s failures=%d "
                        "error=%s", project_id, region, failures, error)
        if outcomes:
            sync_status.record_many(self.conf, project_id, outcomes)
        summary = {"project_id": project_id, "policy": policy, "regions": len(regions),
                   "failed": sorted(failed), "waiting": sorted(waiting),
                   "written": {r: v for r, v in changes.items() if r not in failed},
                   "seconds": round(time.monotonic() - started, 3)}
        LOG.info("Quota sync end: project=%s engine=%s regions=%d written=%d failed=%s "
                 "seconds=%.3f", project_id, self.engine_id, len(regions),
                 len(summary["written"]), ",".join(summary["failed"]) or "-",
                 summary["seconds"])
        return summary
