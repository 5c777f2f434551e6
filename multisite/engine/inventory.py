"""A project's resources in every region, read live in parallel, cached for [inventory] cache_ttl.

A region that fails or is slower than [inventory] region_timeout is named in
`unreachable_regions` and the answer comes without it (never an error, never a wait
beyond the timeout). A read with an unreachable region is cached too, for the same TTL.
"""

import collections
import datetime
import logging
import threading
import time

from multisite import clients
from multisite.clients import inventory as listing

LOG = logging.getLogger(__name__)

MAX_CACHED = 1024


def _iso(stamp):
    return datetime.datetime.fromtimestamp(stamp, datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class InventoryReader:
    def __init__(self, conf, cloud, *, clock=time.time):
        self.conf = conf
        self.cloud = cloud
        self.clock = clock
        self._lock = threading.Lock()
        self._cache = collections.OrderedDict()   # (project, user) -> (stamp, answer)
        self._inflight = {}                        # (project, user) -> Event

    def read(self, project_id, *, user_id=None, refresh=False):
        """{"items", "unreachable_regions", "regions", "read_at", "age"} of a project."""
        key = (project_id, user_id)
        while True:
            with self._lock:
                held = self._cache.get(key)
                if held and not refresh and self.clock() - held[0] < \
                        self.conf.inventory.cache_ttl:
                    self._cache.move_to_end(key)
                    return dict(held[1], age=round(self.clock() - held[0], 3))
                waiting = self._inflight.get(key)
                if waiting is None:
                    self._inflight[key] = threading.Event()
                    break
            # one read per project at a time: the others wait for it and share it
            waiting.wait(self.conf.inventory.region_timeout + 1)
            refresh = False
        try:
            stamp = self.clock()
            answer = self._read(project_id, user_id)
            answer["read_at"] = _iso(stamp)
            with self._lock:
                self._cache[key] = (stamp, answer)
                self._cache.move_to_end(key)
                while len(self._cache) > MAX_CACHED:
                    self._cache.popitem(last=False)
            return dict(answer, age=0.0)
        finally:
            with self._lock:
                self._inflight.pop(key).set()

    def _read(self, project_id, user_id):
        try:
            listers = listing.listers(self.cloud, self.cloud.regions(project_id))
        except (clients.RegionError, clients.ServiceCredentialsError) as exc:
            LOG.warning("Inventory: the catalog could not be read for project %s: %s",
                        project_id, exc)
            return {"items": [], "regions": [], "errors": [],
                    "unreachable_regions": [{"region": "keystone", "reason": str(exc)}]}
        calls = {}
        for name, lister in listers.items():
            for kind in listing.TYPES:
                if listing.SERVICE_OF[kind] in lister.endpoints:
                    calls[(name, kind)] = (lambda lst=lister, k=kind:
                                           lst.inventory(k, project_id=project_id,
                                                         user_id=user_id))
        results, failures = listing.fan_out(calls,
                                            timeout=self.conf.inventory.region_timeout)
        unreachable, errors = {}, []
        for (region, kind), exc in sorted(failures.items()):
            if exc.temporary:      # down, timed out, 5xx: the region is unreachable
                unreachable.setdefault(region, f"{kind}: {exc}")
            else:                  # refused one listing (4xx): the rest still counts
                errors.append({"region": region, "type": kind, "reason": str(exc)})
        items = [item for (region, _kind), found in sorted(results.items())
                 if region not in unreachable for item in found]
        for region, reason in unreachable.items():
            LOG.warning("Inventory: region %s unreachable for project %s: %s", region,
                        project_id, reason)
        return {"items": items, "regions": sorted(listers), "errors": errors,
                "unreachable_regions": [{"region": r, "reason": why}
                                        for r, why in sorted(unreachable.items())]}

