"""Circuit breakers over an ordered list of Keystone URLs: which to try, in which order."""

from __future__ import annotations

import threading
import time

CLOSED = "closed"
OPEN = "open"


class Breakers:
    """One breaker per URL. A failure opens it for ``retry_after`` seconds; then one request
    may try it again (half-open) and a success closes it. ``order()`` is the configured
    order (local Keystone first) without the open ones, so traffic returns to the local one
    as soon as a trial succeeds."""

    def __init__(self, urls, *, retry_after: float = 10.0, clock=time.monotonic):
        self.urls = list(dict.fromkeys(urls))
        if not self.urls:
            raise ValueError("at least one Keystone URL is required")
        self.retry_after = retry_after
        self._clock = clock
        self._lock = threading.Lock()
        self._opened = {}      # url -> when it was opened
        self._trial = set()    # urls with a half-open trial in flight

    def state(self, url) -> str:
        return OPEN if url in self._opened else CLOSED

    def order(self) -> list[str]:
        """URLs to try for one request, best first; never empty."""
        now = self._clock()
        out = []
        with self._lock:
            for url in self.urls:
                opened = self._opened.get(url)
                if opened is None:
                    out.append(url)
                elif now - opened >= self.retry_after and url not in self._trial:
                    self._trial.add(url)  # half-open: this request tries it
                    out.append(url)
        # every breaker open: try them all in order rather than fail without trying
        return out or list(self.urls)

    def failed(self, url) -> None:
        with self._lock:
            self._opened[url] = self._clock()
            self._trial.discard(url)

    def succeeded(self, url) -> None:
        with self._lock:
            self._opened.pop(url, None)
            self._trial.discard(url)

    def release(self, url) -> None:
        """A half-open trial that was not tried after all (an earlier URL answered)."""
        with self._lock:
            self._trial.discard(url)
