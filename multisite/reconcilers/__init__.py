"""Reconcilers: the engine contract (Key, Outcome, errors, backoff) and one module per kind."""

import dataclasses
import random
import typing


class Key(typing.NamedTuple):
    """What a work item is: a kind, the id of its object, and a region (or None)."""

    kind: str
    id: str
    region: str | None = None


class TemporaryError(Exception):
    """Retry later: the work item is requeued after `delay` seconds (None: backoff)."""

    def __init__(self, message="", *, delay=None):
        super().__init__(message)
        self.delay = delay


class PermanentError(Exception):
    """Do not retry until something changes (configuration, the request)."""


DONE = "done"
REQUEUE = "requeue"
TEMPORARY = "temporary"
PERMANENT = "permanent"
CRASH = "crash"
TERMINAL = (DONE, PERMANENT, CRASH)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How one reconcile ended; the controller acts on it and logs one line.

    done: converged (`result` is handed to whoever waits for the pass);
    requeue: converged for now, look again after `delay` seconds (level-triggered poll);
    temporary: failed, retry after `delay` (None: the kind's backoff), counted as an attempt;
    permanent: failed, never retried; crash: an unexpected exception, terminal and logged.
    """

    status: str
    delay: float | None = None
    reason: str = ""
    result: typing.Any = None

    @classmethod
    def done(cls, result=None):
        return cls(DONE, result=result)

    @classmethod
    def requeue_after(cls, seconds, result=None):
        return cls(REQUEUE, delay=float(seconds), result=result)

    @classmethod
    def temporary(cls, reason, delay=None):
        return cls(TEMPORARY, delay=delay, reason=str(reason))

    @classmethod
    def permanent(cls, reason):
        return cls(PERMANENT, reason=str(reason))

    @classmethod
    def crash(cls, reason):
        return cls(CRASH, reason=str(reason))

    @property
    def terminal(self):
        return self.status in TERMINAL


def backoff(attempt, *, base, cap, jitter=0.0, rand=random.random):
    """Seconds before retry number `attempt` (1 = after the first failure).

    base * 2**(attempt-1), at most `cap`, then spread by +-`jitter` (0.2 = +-20 %) so that
    work failing together does not come back together. The one backoff of the engine.
    """
    if attempt <= 0:
        return 0
    delay = min(cap, base * 2 ** min(attempt - 1, 30))
    if jitter:
        delay *= 1 + jitter * (2 * rand() - 1)
    return delay
