"""A controller per kind: take a key, hold its lease, reconcile, act on the one Outcome.

The flow of every kind of background work: a source adds a key to the queue; a worker
takes it (`queue.get(kind)`, at most the kind's cap at once); a durable kind holds the
lease of the claimed item (leases.py), renewed while it runs; `reconciler.reconcile(key,
env)` returns an Outcome (or None: done) or raises TemporaryError / PermanentError; any
other exception is a crash, terminal and logged with its traceback. The controller then
finishes or requeues the item, logs one line, and calls the metrics hook.
"""

import concurrent.futures
import dataclasses
import logging
import threading
import time
import typing

from multisite import reconcilers
from multisite.reconcilers import Outcome

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Retry:
    """Temporary errors: backoff(attempt, base, cap, jitter), terminal after max_attempts."""

    base: float = 5.0
    cap: float = 120.0
    jitter: float = 0.2
    max_attempts: int | None = 5


@dataclasses.dataclass(frozen=True)
class Kind:
    """One registry entry: everything the engine needs to run a kind of background work.

    name: the kind in keys, logs and metrics. reconciler: a module (or object) with
    `reconcile(key, env)`. env: `env(conf, engine)` -> what reconcile receives as
    `env.shared` (clients, caches); None for none. workers: `workers(conf)`, the cap of
    keys processing at once in one engine. leases: `leases(conf, engine_id)` -> a Leases
    (leases.py) for a kind with durable items (jobs); None for a kind whose keys come from
    its sources only. resync_interval: `resync_interval(conf)` seconds between periodic
    passes over `lister(env)` (keys filtered by the ring), None for no resync. retry:
    `retry(conf)` -> Retry. conf_group: the kind's oslo.config group (documentation).
    """

    name: str
    reconciler: typing.Any
    workers: typing.Callable = lambda conf: 1
    env: typing.Callable | None = None
    leases: typing.Callable | None = None
    lister: typing.Callable | None = None
    resync_interval: typing.Callable = lambda conf: None
    retry: typing.Callable = lambda conf: Retry()
    conf_group: str | None = None


class Metrics:
    """The metrics hook: no-op here; an exporter subclasses it (e.g. prometheus_client)."""

    def outcome(self, kind, status, seconds):
        """One reconcile ended with `status` (an Outcome status) after `seconds`."""

    def depth(self, kind, queued, processing, delayed):
        """The kind's queue after a change."""


@dataclasses.dataclass
class Env:
    """What one reconcile call receives besides its key."""

    shared: typing.Any            # the kind's env (Kind.env), same object for every call
    conf: typing.Any
    engine_id: str
    item: dict | None = None      # the claimed durable item (kinds with leases)
    attempts: int = 1             # this attempt's number, counting the crashed ones


class Controller:
    def __init__(self, kind, *, conf, engine_id, queue, shared=None, leases=None,
                 metrics=None, clock=time.monotonic, rand=None):
        self.kind = kind
        self.conf = conf
        self.engine_id = engine_id
        self.queue = queue
        self.shared = shared
        self.leases = leases
        self.metrics = metrics or Metrics()
        self._clock = clock
        self._rand = rand
        self._lock = threading.Lock()
        self._claim_lock = threading.Lock()
        self._items = {}          # key -> claimed item (durable kinds), until finished
        self._failures = {}       # key -> consecutive temporary errors (kinds without leases)
        self._waiters = {}        # key -> Future of the pass that will run it
        self._pool = None
        self._stopped = threading.Event()
        self.on_slot_free = None  # called when a durable item ends with every slot taken
        self.workers = kind.workers(conf)
        queue.set_cap(kind.name, self.workers)

    # -- life cycle -------------------------------------------------------------------------
    def start(self):
        self._stopped.clear()
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    self.workers, thread_name_prefix=f"{self.kind.name}-worker")

    def stop(self):
        self._stopped.set()
        with self._lock:
            pool, self._pool = self._pool, None
            waiters, self._waiters = self._waiters, {}
        if pool is not None:
            # Durable items still running keep their lease until it expires; another
            # engine (or this one, restarted) takes them over then.
            pool.shutdown(wait=False, cancel_futures=True)
        for future in waiters.values():
            future.cancel()

    # -- sources call these -----------------------------------------------------------------
    def enqueue(self, key, *, again=True):
        """Add a key; a Future of its pass's result, or None if de-duplicated."""
        if self._stopped.is_set():
            return None
        with self._lock:
            if not self.queue.add(key, again=again):
                return None
            future = self._waiters[key] = concurrent.futures.Future()
        self.pump()
        return future

    def enqueue_after(self, key, delay):
        self.queue.add_after(key, delay)

    def hand(self, items):
        """Start durable items this engine already holds the lease of; returns those started."""
        started = []
        for item in items:
            key = self.leases.key(item)
            with self._lock:
                if key in self._items:
                    continue        # still running here (its lease had lapsed): keep going
                self._items[key] = item
            if self.enqueue(key) is not None:
                started.append(item)
        return started

    def free_slots(self):
        with self._lock:
            return self.workers - len(self._items)

    def scan(self, *, parent_id=None):
        """Claim what this engine has room for (of one parent, if given) and start it."""
        with self._claim_lock:
            free = self.free_slots()
            if free <= 0:
                return []
            return self.hand(self.leases.claim(limit=free, parent_id=parent_id))

    def renew(self):
        """Extend the leases of the items this engine is working on."""
        with self._lock:
            items = list(self._items.values())
        if items:
            self.leases.renew(items)

    def in_flight(self):
        with self._lock:
            return len(self._items)

    # -- workers ----------------------------------------------------------------------------
    def pump(self):
        """Give ready keys to workers while the kind's cap allows (delayed ones when due)."""
        while not self._stopped.is_set():
            with self._lock:
                pool = self._pool
            if pool is None:
                return
            key = self.queue.get(self.kind.name)
            if key is None:
                return
            try:
                pool.submit(self._work, key)
            except RuntimeError:       # shut down meanwhile
                self.queue.done(key)
                return

    def _work(self, key):
        outcome = None
        try:
            outcome = self.process(key)
        except Exception:
            LOG.exception("Work outcome could not be recorded: kind=%s id=%s region=%s",
                          key.kind, key.id, key.region)
        finally:
            with self._lock:
                future = self._waiters.pop(key, None)
                again = self.queue.done(key)
                if again:
                    self._waiters[key] = concurrent.futures.Future()
            if future is not None and not future.done():
                future.set_result(outcome.result if outcome is not None else None)
            q, p, d = self.queue.depth(self.kind.name)
            self.metrics.depth(self.kind.name, q, p, d)
            self.pump()

    def process(self, key):
        """Reconcile one key now (in the caller's thread) and act on its Outcome."""
        with self._lock:
            item = self._items.get(key)
        attempts = item["attempts"] if item is not None else self._failures.get(key, 0) + 1
        env = Env(shared=self.shared, conf=self.conf, engine_id=self.engine_id, item=item,
                  attempts=attempts)
        started = self._clock()
        outcome = self._reconcile(key, env)
        outcome = self._settle(key, item, attempts, outcome)
        seconds = self._clock() - started
        log = LOG.warning if outcome.status in (reconcilers.PERMANENT,
                                                reconcilers.CRASH) else LOG.info
        log("Work outcome: kind=%s id=%s region=%s outcome=%s attempts=%d delay=%s "
            "seconds=%.3f engine=%s reason=%s", key.kind, key.id, key.region or "-",
            outcome.status, attempts, "-" if outcome.delay is None else f"{outcome.delay:.1f}",
            seconds, self.engine_id, outcome.reason or "-")
        self.metrics.outcome(self.kind.name, outcome.status, seconds)
        return outcome

    def _reconcile(self, key, env):
        try:
            outcome = self.kind.reconciler.reconcile(key, env)
        except reconcilers.TemporaryError as exc:
            return Outcome.temporary(str(exc), delay=exc.delay)
        except reconcilers.PermanentError as exc:
            return Outcome.permanent(str(exc))
        except Exception as exc:
            LOG.exception("Work crashed: kind=%s id=%s region=%s engine=%s", key.kind,
                          key.id, key.region or "-", self.engine_id)
            return Outcome.crash(f"internal error: {type(exc).__name__}: {exc}")
        return outcome if outcome is not None else Outcome.done()

    def _settle(self, key, item, attempts, outcome):
        """Turn a temporary error into a delay (or a give-up) and record the outcome."""
        if outcome.status == reconcilers.TEMPORARY:
            retry = self.kind.retry(self.conf)
            if retry.max_attempts is not None and attempts >= retry.max_attempts:
                outcome = Outcome.permanent(
                    f"gave up after {attempts} attempts: {outcome.reason}")
            elif outcome.delay is None:
                kwargs = {"rand": self._rand} if self._rand is not None else {}
                outcome = dataclasses.replace(outcome, delay=reconcilers.backoff(
                    attempts, base=retry.base, cap=retry.cap, jitter=retry.jitter, **kwargs))
        if outcome.status == reconcilers.TEMPORARY:
            self._failures[key] = attempts
        else:
            self._failures.pop(key, None)
        if item is not None:
            try:
                self._record(item, outcome)
            finally:
                with self._lock:
                    was_full = len(self._items) >= self.workers
                    self._items.pop(key, None)
                if was_full and self.on_slot_free is not None:
                    self.on_slot_free()  # look for items left waiting
        elif outcome.status in (reconcilers.REQUEUE, reconcilers.TEMPORARY):
            self.queue.add_after(key, outcome.delay)
        return outcome

    def _record(self, item, outcome):
        if outcome.status == reconcilers.DONE:
            self.leases.finish(item, ok=True)
        elif outcome.terminal:
            self.leases.finish(item, ok=False, error=outcome.reason)
        else:
            self.leases.requeue(item, delay=outcome.delay, error=outcome.reason,
                                attempt=outcome.status == reconcilers.TEMPORARY)
