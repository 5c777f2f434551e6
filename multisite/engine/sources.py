"""Sources only enqueue keys: the periodic resync pass (a lister filtered by the ring).

RPC wake-ups call `Controller.enqueue` / `Manager.wake`, notifications `Manager.notify`;
none of them runs work itself.
"""

import concurrent.futures
import logging
import time

from multisite.reconcilers import Key

LOG = logging.getLogger(__name__)


class Resync:
    """One pass over every key the lister names, of which this engine owns on the ring.

    The pass waits for the keys it queued, and while it waits it refreshes the ring every
    `refresh_period` seconds: keys of an engine that stopped reporting (crashed) are taken
    over in this pass, not one interval later. A key already queued or running is not
    queued twice (the queue de-duplicates; a resync never marks a running key "again").
    """

    def __init__(self, controller, ring, *, lister, refresh_period, stopped):
        self.controller = controller
        self.ring = ring
        self.lister = lister
        self.refresh_period = refresh_period
        self.stopped = stopped

    def keys(self):
        kind = self.controller.kind.name
        return [k if isinstance(k, Key) else Key(kind, k) for k in self.lister()]

    def run_once(self):
        """Run one pass; returns {"keys", "done" (truthy results), "seconds"}."""
        started = time.monotonic()
        candidates = self.keys()
        futures = {}

        def take():
            self.ring.refresh()
            for key in candidates:
                if key not in futures and self.ring.owns(key):
                    futures[key] = self.controller.enqueue(key, again=False)

        take()
        while not self.stopped.is_set():
            pending = [f for f in futures.values() if f is not None and not f.done()]
            if not pending:
                break
            concurrent.futures.wait(pending, timeout=self.refresh_period)
            take()
        results = [f.result() for f in futures.values()
                   if f is not None and f.done() and not f.cancelled()]
        summary = {"keys": len(futures), "done": sum(1 for r in results if r),
                   "seconds": round(time.monotonic() - started, 3)}
        LOG.info("Resync pass done: kind=%s engine=%s keys=%d done=%d seconds=%.3f",
                 self.controller.kind.name, self.controller.engine_id, summary["keys"],
                 summary["done"], summary["seconds"])
        return summary
