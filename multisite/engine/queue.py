"""The work queue: keys (kind, id, region) de-duplicated, delayed, and capped per kind.

A key is in at most one of three states: queued (waiting for a worker), processing (a
worker has it), or delayed (on the requeue-after heap). Adding a key that is queued does
nothing; adding one that is processing marks it "again", and it is queued once more when
its worker is done, so a change seen during a pass is never lost and never run twice at
once. `get(kind)` hands out a key only while that kind has fewer than its cap of keys
processing. Time is read from `clock` only, so tests run it in virtual time.
"""

import collections
import heapq
import itertools
import threading
import time


class WorkQueue:
    def __init__(self, *, clock=time.monotonic, caps=None):
        self._clock = clock
        self._caps = dict(caps or {})
        self._lock = threading.Lock()
        self._ready = collections.defaultdict(collections.deque)  # kind -> keys, FIFO
        self._queued = set()
        self._processing = set()
        self._again = set()
        self._busy = collections.Counter()                         # kind -> processing
        self._delayed = []                                         # heap (due, seq, key)
        self._due = {}                                             # key -> earliest due
        self._seq = itertools.count()
        self._closed = False
        # Called (outside the lock) when the earliest due time may have moved earlier, or
        # when a get() of one kind made keys of other kinds ready: whoever hands due keys
        # to workers (the manager's timer) must look again, not sleep on an old deadline.
        self.on_schedule = None

    def _scheduled(self):
        if self.on_schedule is not None:
            self.on_schedule()

    # -- adding -----------------------------------------------------------------------------
    def set_cap(self, kind, cap):
        with self._lock:
            self._caps[kind] = max(int(cap), 1)

    def add(self, key, *, again=True):
        """Queue `key`; True if it was queued now, False if de-duplicated.

        `again`: if the key is processing, run it once more afterwards (an event that
        happened during the pass); a periodic resync passes False.
        """
        with self._lock:
            return self._add(key, again=again)

    def _add(self, key, *, again):
        if self._closed:
            return False
        if key in self._processing:
            if again:
                self._again.add(key)
            return False
        if key in self._queued:
            return False
        self._due.pop(key, None)       # a delayed copy is superseded by this one
        self._queued.add(key)
        self._ready[key.kind].append(key)
        return True

    def add_after(self, key, delay):
        """Queue `key` in `delay` seconds (at the earliest due time if added twice)."""
        if delay <= 0:
            return self.add(key)
        due = self._clock() + delay
        with self._lock:
            if self._closed or key in self._queued:
                return False
            if key in self._due and self._due[key] <= due:
                return False
            self._due[key] = due
            heapq.heappush(self._delayed, (due, next(self._seq), key))
        self._scheduled()
        return True

    # -- taking -----------------------------------------------------------------------------
    def _promote(self):
        """Move the due delayed keys to ready; the kinds that got keys."""
        now = self._clock()
        kinds = set()
        while self._delayed and self._delayed[0][0] <= now:
            due, _, key = heapq.heappop(self._delayed)
            if self._due.get(key) == due:
                del self._due[key]
                if self._add(key, again=True):
                    kinds.add(key.kind)
        return kinds

    def get(self, kind):
        """The next key of `kind` a worker may take now, or None (none ready, or capped)."""
        with self._lock:
            others = self._promote() - {kind}
            key = self._take(kind)
        if others:
            self._scheduled()      # their workers are not the caller's: wake the timer
        return key

    def _take(self, kind):
        ready = self._ready.get(kind)
        if not ready or self._busy[kind] >= self._caps.get(kind, 1):
            return None
        key = ready.popleft()
        self._queued.discard(key)
        self._processing.add(key)
        self._busy[kind] += 1
        return key

    def done(self, key):
        """The worker finished `key`; True if it was queued again (marked during the pass)."""
        with self._lock:
            if key not in self._processing:
                return False
            self._processing.discard(key)
            self._busy[key.kind] -= 1
            if key in self._again:
                self._again.discard(key)
                return self._add(key, again=False)
            return False

    # -- looking ----------------------------------------------------------------------------
    def next_due(self):
        """Seconds until the earliest delayed key is due (0 if overdue), None if none."""
        with self._lock:
            while self._delayed and self._due.get(self._delayed[0][2]) != self._delayed[0][0]:
                heapq.heappop(self._delayed)     # superseded entries
            if not self._delayed:
                return None
            return max(self._delayed[0][0] - self._clock(), 0.0)

    def state(self, key):
        """"queued", "processing", "delayed" or None; "again" is reported as processing."""
        with self._lock:
            if key in self._processing:
                return "processing"
            if key in self._queued:
                return "queued"
            if key in self._due:
                return "delayed"
            return None

    def depth(self, kind):
        """(queued, processing, delayed) counts of one kind, for metrics."""
        with self._lock:
            return (len(self._ready.get(kind, ())), self._busy[kind],
                    sum(1 for k in self._due if k.kind == kind))

    def reopen(self):
        with self._lock:
            self._closed = False

    def close(self):
        with self._lock:
            self._closed = True
            self._ready.clear()
            self._queued.clear()
            self._delayed.clear()
            self._due.clear()
            self._again.clear()
