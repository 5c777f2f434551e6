"""Login rate limiting for POST /auth/session: per source address and per user.

A sliding window per key, in the API process's memory: attempts of a source address
(every login, so that one client cannot flood Keystone through Multisite) and refused
logins of one user name in one domain (a password guesser spreading over addresses).
Over a limit the login is refused with 429 and a Retry-After (seconds until the oldest
counted attempt leaves the window), before Keystone is asked. A successful login clears
its user's refusals. The limits are read at each login ([dashboard] login_*), so a
configuration reload applies at once. See docs/dashboard.md ("Login rate limiting").
"""

import collections
import logging
import math
import threading
import time

from multisite.api import errors

LOG = logging.getLogger(__name__)
# Keys with nothing left in the window are dropped when the table grows past this many.
_PRUNE_ABOVE = 10_000


class Window:
    """Times of the attempts of each key, kept while they are within the window."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._hits = {}
        self._lock = threading.Lock()

    def _recent(self, key, now, period):
        hits = self._hits.get(key)
        if hits is not None:
            while hits and hits[0] <= now - period:
                hits.popleft()
        return hits

    def retry_after(self, key, limit, period):
        """Seconds before ``key`` may try again (``limit`` per ``period``); 0: now."""
        if limit <= 0:
            return 0
        with self._lock:
            now = self.clock()
            hits = self._recent(key, now, period)
            if not hits or len(hits) < limit:
                return 0
            return max(1, math.ceil(hits[-limit] + period - now))

    def hit(self, key, period):
        with self._lock:
            now = self.clock()
            hits = self._recent(key, now, period)
            if hits is None:
                if len(self._hits) >= _PRUNE_ABOVE:
                    self._prune(now, period)
                hits = self._hits[key] = collections.deque()
            hits.append(now)

    def forget(self, key):
        with self._lock:
            self._hits.pop(key, None)

    def __len__(self):
        return len(self._hits)

    def _prune(self, now, period):
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - period]:
            del self._hits[key]


class LoginLimiter:
    """The two windows of the [dashboard] login_* options, for one API process."""

    def __init__(self, conf, clock=time.monotonic):
        self.conf = conf
        self.by_source = Window(clock)
        self.by_user = Window(clock)

    @staticmethod
    def user_key(username, domain):
        return (domain or "Default").casefold(), username.casefold()

    def check(self, source, user):
        """Count an attempt of ``source``; raise a 429 if it or ``user`` is over."""
        opts = self.conf.dashboard
        period = opts.login_rate_period
        wait = max(self.by_source.retry_after(source, opts.login_attempts_per_source, period),
                   self.by_user.retry_after(user, opts.login_failures_per_user, period))
        if wait:
            LOG.warning("Login refused by rate limit: source=%s user=%s domain=%s "
                        "retry_after=%ss", source, user[1], user[0], wait)
            raise errors.HTTPError(
                429, "auth.rate_limited",
                f"Too many login attempts: try again in {wait} s",
                headers={"Retry-After": str(wait)})
        if opts.login_attempts_per_source > 0:
            self.by_source.hit(source, period)

    def refused(self, user):
        if self.conf.dashboard.login_failures_per_user > 0:
            self.by_user.hit(user, self.conf.dashboard.login_rate_period)

    def succeeded(self, user):
        self.by_user.forget(user)
