"""Quota rebalancing, the `quota` kind of background work: one key per project.

One pass for a project (`sync_project`): read usage and limits from every region in
parallel, plan the new limits (multisite.reconcilers.quota, pure), write only what
changes, record each region's outcome. A failing region never stops the others: its
last known usage is used, its failure is recorded, and it is retried with backoff.

Scheduling is the engine's (manager.py): the periodic resync queues the projects this
engine owns on the hash ring, the RPC `quota_sync_for_project` queues one on demand; the
work queue runs a project in one thread at a time (`[batch] batch_size` at once), and a
tooz lock keeps it exclusive across engines (a project has no row to hold a lease on).
`[batch] region_concurrency` bounds the calls in flight to each region.
"""

import concurrent.futures
import datetime
import logging
import threading
import time

from multisite import clients, metrics
from multisite.engine import controller as controller_mod
from multisite.engine import manager as manager_mod
from multisite.objects import quota_settings, quotas, sync_status
from multisite.reconcilers import Key
from multisite.reconcilers import quota as quota_plan

LOG = logging.getLogger(__name__)

PERIODIC = "periodic"
ON_DEMAND = "on-demand"
NAME = "quota"


def _utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _resync_interval(conf):
    return conf.scheduler.periodic_interval if conf.scheduler.periodic_enable else None


# The registry entry (registry.KINDS). A pass never raises for a region (each region's
# failure is recorded and backed off in sync_status); a crash is retried by the next pass.
KIND = controller_mod.Kind(
    name=NAME, reconciler=quota_plan, workers=lambda conf: conf.batch.batch_size,
    env=lambda conf, engine_id: QuotaManager(conf, engine_id=engine_id),
    lister=lambda manager: manager.projects_to_sync(), resync_interval=_resync_interval,
    retry=lambda conf: controller_mod.Retry(max_attempts=1), conf_group="scheduler")


class QuotaManager:
    """The quota kind's environment: clients, region pool, RPC methods, one pass."""

    def __init__(self, conf, *, engine_id, cloud=None, coordinator=None):
        self.conf = conf
        self.engine_id = engine_id
        self._cloud = cloud
        self._coordinator = coordinator
        self._lock = threading.Lock()
        self._reasons = {}
        self._regions_pool = None
        self.engine = None
        self._own_engine = False
        self.last_run = None

    # -- life cycle ----------------------------------------------------------------------
    @property
    def cloud(self):
        with self._lock:
            if self._cloud is None:
                self._cloud = clients.get_cloud(self.conf)
            return self._cloud

    @property
    def coordinator(self):
        if self.engine is not None and self.engine.coordinator is not None:
            return self.engine.coordinator
        return self._coordinator

    @property
    def controller(self):
        return self._engine().controllers[NAME]

    def _engine(self):
        if self.engine is None:
            # Alone (tools, tests): a manager of its own with this kind only; its threads
            # start with start(), its workers with the first key.
            self.engine = manager_mod.Manager(self.conf, engine_id=self.engine_id,
                                              coordinator=self._coordinator)
            self.engine.add(KIND, shared=self)
            self._own_engine = True
        return self.engine

    def _pool(self):
        with self._lock:
            if self._regions_pool is None:
                # Each running project has one read or write in flight per region; the
                # per-region gate in the clients bounds what a region receives.
                self._regions_pool = concurrent.futures.ThreadPoolExecutor(
                    min(self.conf.batch.batch_size * 32, 1024),
                    thread_name_prefix="quota-region")
            return self._regions_pool

    def attach(self, engine):
        """Run on `engine` (the engine service's manager), which starts and stops it."""
        self.engine = engine

    def start(self):
        """Run alone (tools, tests), unless attached to the engine service's manager."""
        if self._engine() is not None and self._own_engine:
            self.engine.start()
        self._pool()

    def stop(self):
        if self._own_engine and self.engine is not None:
            self.engine.stop()
        with self._lock:
            pool, self._regions_pool = self._regions_pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

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
        """Queue a pass for the project unless one is queued; None if deduplicated.

        On demand, a project whose pass is running is run once more afterwards: that pass
        may have read usage before the change that prompted this request.
        """
        with self._lock:
            if reason == ON_DEMAND or project_id not in self._reasons:
                self._reasons[project_id] = reason
        return self.controller.enqueue(Key(NAME, project_id), again=reason == ON_DEMAND)

    def rebalance(self, project_id):
        """The reconcile of one key (reconcilers/quota.py calls it): a locked pass."""
        with self._lock:
            reason = self._reasons.pop(project_id, PERIODIC)
        return self._locked_sync(project_id, reason)

    def _locked_sync(self, project_id, reason):
        lock = self.coordinator.lock(project_id) if self.coordinator else None
        attempts = self.conf.locks.lock_retry_times if reason == ON_DEMAND else 0
        stopped = self.engine.stopping if self.engine is not None else threading.Event()
        if lock is not None:
            while not lock.acquire(blocking=False):
                if attempts <= 0 or stopped.wait(self.conf.locks.lock_retry_interval):
                    LOG.info("Quota sync skipped, another engine holds it: project=%s "
                             "reason=%s", project_id, reason)
                    metrics.quota_project(reason, 0.0, result="skipped")
                    return None
                attempts -= 1
        started = time.monotonic()
        try:
            summary = self.sync_project(project_id, periodic=reason == PERIODIC)
        except Exception:
            metrics.quota_project(reason, time.monotonic() - started, result="error")
            raise
        else:
            metrics.quota_project(
                reason, time.monotonic() - started,
                result="partial" if summary["failed"] or summary["waiting"] else "ok",
                read_errors=summary["read_failed"], write_errors=summary["write_failed"],
                written=summary["written"])
            return summary
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
        return self._engine().resync(NAME)

    def resync_done(self, summary):
        """The periodic pass's summary, in this kind's words (the manager calls it)."""
        summary = {"projects": summary["keys"], "synced": summary["done"],
                   "seconds": summary["seconds"]}
        self.last_run = summary
        metrics.quota_pass(summary["seconds"], projects=summary["projects"],
                           synced=summary["synced"])
        LOG.info("Periodic quota rebalance done: engine=%s projects=%d synced=%d "
                 "seconds=%.3f", self.engine_id, summary["projects"], summary["synced"],
                 summary["seconds"])
        return summary

    # -- one pass for one project ----------------------------------------------------------
    def _read_regions(self, project_id, regions, *, parallel=True):
        """Read regions in parallel: ({region: RegionQuota}, {region: error text}).
        `parallel`: also a region's services at once (one round trip per region) — for a
        caller waiting on the answer, not for a periodic pass (see clients.region)."""
        pool = self._pool()
        futures = {r: pool.submit(self.cloud.read, r, project_id, parallel=parallel)
                   for r in regions}
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

    def _write_regions(self, project_id, changes, *, parallel=True):
        pool = self._pool()
        futures = {r: pool.submit(self.cloud.write_limits, r, project_id, values,
                                  parallel=parallel)
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
        read, failed = self._read_regions(project_id, [r for r in regions if r not in waiting],
                                          parallel=not periodic)
        read_failed = sorted(failed)
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
        write_failed = self._write_regions(project_id, changes, parallel=not periodic)
        failed.update(write_failed)
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
                   "read_failed": read_failed, "write_failed": sorted(write_failed),
                   "seconds": round(time.monotonic() - started, 3)}
        LOG.info("Quota sync end: project=%s engine=%s regions=%d written=%d failed=%s "
                 "seconds=%.3f", project_id, self.engine_id, len(regions),
                 len(summary["written"]), ",".join(summary["failed"]) or "-",
                 summary["seconds"])
        return summary
