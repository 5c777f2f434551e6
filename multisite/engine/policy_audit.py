"""The `sync_policy` kind: its environment (regions, the policy rows) and registry entry.

Keys are projects (`Key("sync_policy", project_id)`): the periodic resync queues those this
engine owns on the hash ring every `[sync_policy] audit_interval`; the reconciler is
reconcilers/sync_policy.py.
"""

import queue
import threading

from multisite.engine import controller, sync_manager
from multisite.objects import sync_policies
from multisite.reconcilers import Key
from multisite.reconcilers import sync_policy as reconciler

KIND_NAME = "sync_policy"


class AuditEnv:
    """What every audit shares: region clients and the policy rows (objects/)."""

    def __init__(self, conf, *, regions=None):
        self.conf = conf
        self.regions = regions or sync_manager.Regions(conf)
        self._lock = threading.Lock()
        self._gates = {}
        self._projects = {}
        self.calls = 0      # region list calls made by audits, since start
        self.parsed = 0     # of which lists parsed (the others reused)
        # {(project, region): (digest, shapes)} of the security-group lists read by the
        # last pass: an unchanged answer is not parsed again (sync_policy.Reads). At most
        # one entry per project with policies and region; a project that no longer has
        # any is dropped at the next resync.
        self.memo = {}
        # {project: fingerprint} of the last pass of a project that changed nothing (its
        # inputs: policies, recorded states, regions, list digests): the same inputs
        # again reuse that outcome without auditing (sync_policy._reconcile).
        self.steady = {}
        # a pass reads its regions in parallel, at most region_concurrency per region
        # over every audit of this engine
        self.pool = ReadPool(conf.sync_policy.read_concurrency)

    def gate(self, region):
        with self._lock:
            gate = self._gates.get(region)
            if gate is None:
                gate = self._gates[region] = threading.BoundedSemaphore(
                    self.conf.sync_policy.region_concurrency)
            return gate

    def project_lock(self, project_id):
        """One audit of a project at a time in this engine: the on-demand audit (POST
        .../audit, in the RPC thread) waits for a periodic one already running, instead
        of both creating the same missing group."""
        with self._lock:
            lock = self._projects.get(project_id)
            if lock is None:
                lock = self._projects[project_id] = threading.Lock()
            return lock

    def keys(self):
        projects = sync_policies.projects(self.conf)
        alive = set(projects)
        for held in [k for k in list(self.memo) if k[0] not in alive]:
            self.memo.pop(held, None)
        for held in [p for p in list(self.steady) if p not in alive]:
            self.steady.pop(held, None)
        return [Key(KIND_NAME, p) for p in projects]

    def policies(self, project_id):
        return sync_policies.of_project(self.conf, project_id)

    def record_pass(self, records, policies):
        """Write a pass's records, compared with the targets as `policies` (read at the
        start of the pass) held them: a pass that changed nothing is one statement."""
        previous = {(p["id"], region): target for p in policies
                    for region, target in p["targets_state"].items()}
        sync_policies.record_pass(self.conf, records, previous=previous)

    def set_managed(self, **kwargs):
        sync_policies.set_managed(self.conf, **kwargs)

    def pass_calls(self, calls, *, parsed=0):
        with self._lock:
            self.calls += calls
            self.parsed += parsed


class ReadPool:
    """Threads that make a pass's reads: `map(fn, items)` returns [fn(item), ...] in order.

    The caller hands all its items over at once and is woken once, when the last is done
    (a ThreadPoolExecutor makes a Future, its Condition and a work item per item and wakes
    the caller per item: about a third of the hand-off CPU of an audit's 20 reads). At
    most `size` threads, started as needed, idle ones parked on one queue."""

    def __init__(self, size):
        self.size = size
        self._queue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0      # threads parked on the queue
        self._queued = 0    # items put, not yet taken

    def map(self, fn, items):
        items = list(items)
        batch = _Batch(len(items))
        with self._lock:
            spare = self._idle - self._queued
            start = max(0, min(len(items) - spare, self.size - self._threads))
            self._threads += start
            self._queued += len(items)
        for _ in range(start):
            threading.Thread(target=self._serve, name="sync_policy-read", daemon=True).start()
        for i, item in enumerate(items):
            self._queue.put((fn, item, batch, i))
        return batch.wait()

    def _serve(self):
        while True:
            with self._lock:
                self._idle += 1
            fn, item, batch, i = self._queue.get()
            with self._lock:
                self._idle -= 1
                self._queued -= 1
            try:
                batch.done(i, fn(item), None)
            except BaseException as exc:     # raised in the caller, after every item
                batch.done(i, None, exc)


class _Batch:
    __slots__ = ("left", "results", "error", "lock", "finished")

    def __init__(self, count):
        self.left, self.results, self.error = count, [None] * count, None
        self.lock, self.finished = threading.Lock(), threading.Lock()
        self.finished.acquire()
        if not count:
            self.finished.release()

    def done(self, i, result, error):
        self.results[i] = result
        with self.lock:
            self.error = self.error or error
            self.left -= 1
            last = not self.left
        if last:
            self.finished.release()

    def wait(self):
        self.finished.acquire()
        if self.error is not None:
            raise self.error
        return self.results


KIND = controller.Kind(
    name=KIND_NAME, reconciler=reconciler,
    env=lambda conf, engine_id: AuditEnv(conf),
    lister=lambda env: env.keys(),
    resync_interval=lambda conf: conf.sync_policy.audit_interval,
    workers=lambda conf: conf.sync_policy.workers,
    retry=lambda conf: controller.Retry(base=5.0, cap=conf.sync_policy.audit_interval,
                                        max_attempts=None),
    conf_group="sync_policy")


def audit_now(manager, project_id):
    """Audit a project's policies in the caller's thread (POST .../audit); its summary."""
    ctl = manager.controllers[KIND_NAME]
    outcome = ctl.process(Key(KIND_NAME, project_id))
    return {"status": outcome.status, "reason": outcome.reason, "result": outcome.result}
