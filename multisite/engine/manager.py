"""The engine manager: one queue, a controller per kind, and the engine's only loops.

Threads: one `scan-<kind>` per kind with leases (claims its durable items), `timer`
(hands delayed keys to workers when they come due), `renew` (extends the leases in
flight), one `resync-<kind>` ticker per kind with a periodic resync, and `heartbeat`
(coordination heartbeat and liveness report). Workers are the controllers' pools,
capped per kind.

No kind waits behind another: each has its own workers (its cap), its own scan (a claim
that waits on the database holds up that kind only), and due keys are handed out by the
timer, which never does I/O. A slow kind fills its own cap and nothing else.
"""

import logging
import threading
import time

from multisite.engine import controller as controller_mod
from multisite.engine import coordination, sources
from multisite.engine import queue as queue_mod
from multisite.engine import ring as ring_mod

LOG = logging.getLogger(__name__)


class Manager:
    def __init__(self, conf, *, engine_id, coordinator=None, metrics=None, report=None,
                 clock=time.monotonic):
        self.conf = conf
        self.engine_id = engine_id
        self.coordinator = coordinator
        self._own_coordinator = coordinator is None
        self.metrics = metrics or controller_mod.Metrics()
        self.report = report
        self.queue = queue_mod.WorkQueue(clock=clock)
        self.controllers = {}
        self._clock = clock
        self._stop = threading.Event()
        self._scans = {}                      # kind -> Event waking that kind's scan
        self._timer = threading.Event()       # the earliest due key may have changed
        self.queue.on_schedule = self._timer.set
        self._threads = []
        self._started = False

    def add(self, kind, *, shared=None):
        """Register a kind; `shared` is its env (else `kind.env(conf, engine_id)`)."""
        if shared is None and kind.env is not None:
            shared = kind.env(self.conf, self.engine_id)
        leases = kind.leases(self.conf, self.engine_id) if kind.leases else None
        ctl = controller_mod.Controller(kind, conf=self.conf, engine_id=self.engine_id,
                                        queue=self.queue, shared=shared, leases=leases,
                                        metrics=self.metrics, clock=self._clock)
        if leases is not None:
            event = self._scans[kind.name] = threading.Event()
            ctl.on_slot_free = event.set
        self.controllers[kind.name] = ctl
        return ctl

    @property
    def ring(self):
        return self.coordinator.ring

    @property
    def running(self):
        return self._started and not self._stop.is_set()

    @property
    def stopping(self):
        """Set when the engine stops: waits in reconcilers end early on it."""
        return self._stop

    # -- life cycle -------------------------------------------------------------------------
    def start(self):
        if self._started:
            return
        self._started = True
        self._stop.clear()
        self.queue.reopen()
        if self.coordinator is None:
            self.coordinator = coordination.Coordinator(self.conf, self.engine_id)
            self.coordinator.start(heartbeat=False)
        for ctl in self.controllers.values():
            ctl.start()
        self._spawn(self._heartbeat_loop, "heartbeat")
        if any(c.leases is not None for c in self.controllers.values()):
            self._spawn(self._renew_loop, "renew")
        for name, ctl in self.controllers.items():
            if ctl.leases is not None:
                self._spawn(lambda c=ctl: self._scan_loop(c), f"scan-{name}")
        self._spawn(self._timer_loop, "timer")
        for name, ctl in self.controllers.items():
            if ctl.kind.lister is not None and ctl.kind.resync_interval(self.conf):
                self._spawn(lambda c=ctl: self._resync_loop(c), f"resync-{name}")
        LOG.info("Engine manager started: engine=%s kinds=%s", self.engine_id,
                 ",".join(self.controllers))

    def _spawn(self, target, name):
        thread = threading.Thread(target=target, name=f"engine-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self):
        self._stop.set()
        self._wake_scans()
        self._timer.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        for ctl in self.controllers.values():
            ctl.stop()
        self.queue.close()
        if self.coordinator is not None and self._own_coordinator:
            self.coordinator.stop()
            self.coordinator = None
        self._started = False

    # -- sources ----------------------------------------------------------------------------
    def wake(self):
        """Scan now (an RPC wake-up without items)."""
        self._wake_scans()

    def _wake_scans(self):
        for event in self._scans.values():
            event.set()

    def notify(self, key):
        """A notification about `key` (e.g. an OpenStack event): reconcile it soon."""
        ctl = self.controllers.get(key.kind)
        if ctl is None:
            LOG.warning("Notification for an unknown kind: kind=%s id=%s", key.kind, key.id)
            return None
        return ctl.enqueue(key)

    def resync(self, name):
        """One periodic pass of a kind now, in the caller's thread; returns its summary."""
        ctl = self.controllers[name]
        ring = self.coordinator.ring if self.coordinator is not None else ring_mod.Alone()
        pass_ = sources.Resync(ctl, ring,
                               lister=lambda: ctl.kind.lister(ctl.shared),
                               refresh_period=max(self.conf.report_interval / 2.0, 0.5),
                               stopped=self._stop)
        summary = pass_.run_once()
        done = getattr(ctl.shared, "resync_done", None)
        return done(summary) if done is not None else summary

    # -- the loops ----------------------------------------------------------------------------
    def _scan_loop(self, ctl):
        """Claim this kind's durable items while it has free slots (its own thread)."""
        event = self._scans[ctl.kind.name]
        while not self._stop.is_set():
            try:
                ctl.scan()
            except Exception:
                LOG.exception("Scan failed: kind=%s engine=%s", ctl.kind.name,
                              self.engine_id)
            event.wait(ctl.leases.scan_interval)
            event.clear()

    def _timer_loop(self):
        """Hand delayed keys to their kinds' workers as they come due (no I/O here)."""
        while not self._stop.is_set():
            self._timer.clear()
            for ctl in self.controllers.values():
                ctl.pump()
            due = self.queue.next_due()
            # a key delayed meanwhile, or made ready by another kind's get(), sets _timer
            self._timer.wait(5.0 if due is None else min(max(due, 0.01), 5.0))

    def _renew_loop(self):
        durable = [c for c in self.controllers.values() if c.leases is not None]
        while not self._stop.wait(max(1.0, min(c.leases.renew_period for c in durable))):
            for ctl in durable:
                try:
                    ctl.renew()
                except Exception:
                    LOG.exception("Lease renewal failed: kind=%s engine=%s", ctl.kind.name,
                                  self.engine_id)

    def _resync_loop(self, ctl):
        interval = ctl.kind.resync_interval(self.conf)
        # Let engines started together see each other (liveness, tooz group) first, so
        # that the first pass is already partitioned instead of done by every engine.
        if self._stop.wait(min(self.conf.report_interval, interval)):
            return
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.resync(ctl.kind.name)
            except Exception:
                LOG.exception("Resync pass failed: kind=%s engine=%s", ctl.kind.name,
                              self.engine_id)
            # Passes never overlap: the next starts an interval after this one began, or
            # at once if this one took longer.
            if self._stop.wait(max(interval - (time.monotonic() - started), 0)):
                return

    def _heartbeat_loop(self):
        beat, report_every = self.coordinator.beat_period(), self.conf.report_interval
        now = time.monotonic()
        next_beat, next_report = now + beat, now + report_every
        while not self._stop.wait(max(min(next_beat, next_report) - time.monotonic(), 0)):
            now = time.monotonic()
            if now >= next_beat:
                next_beat = now + beat
                self.coordinator.heartbeat()
            if now >= next_report:
                next_report = now + report_every
                if self.report is not None:
                    self.report()
