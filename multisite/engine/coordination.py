"""Engines sharing projects: tooz membership, the hash ring (ring.py), per-project locks.

* Membership: the engines that recently reported liveness (the `service` table, every
  backend), intersected with the tooz group when the backend has groups (Redis, file).
* Partitioning: a consistent hash ring over the members; each engine rebalances the
  projects the ring gives it.
* Membership expires with 2 x report_interval on Redis (membership_timeout) and file
  (timeout) backends; each engine heartbeats three times per expiry period.
* Locks: one tooz lock per project, so a project is never synced by two engines at
  once (on-demand and periodic alike). They expire with their holder: Redis locks time
  out after 2 x report_interval unless heartbeated, file locks (fcntl) and MySQL /
  PostgreSQL advisory locks die with the process or its connection.
"""

import logging
import os
import threading
import urllib.parse

from tooz import coordination as tooz_coordination

from multisite.engine import ring as ring_mod
from multisite.objects import services

LOG = logging.getLogger(__name__)

GROUP = b"multisite-engine"
RING_PARTITIONS = ring_mod.RING_PARTITIONS


def backend_url(conf):
    """[coordination] backend_url, with lock/membership expiry set for Redis."""
    url = conf.coordination.backend_url or f"file://{os.path.join(conf.state_path, 'locks')}"
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme.startswith("redis"):
        query = dict(urllib.parse.parse_qsl(parsed.query))
        expiry = str(expiry_seconds(conf))
        query.setdefault("lock_timeout", expiry)
        query.setdefault("membership_timeout", expiry)
        url = urllib.parse.urlunsplit(parsed._replace(query=urllib.parse.urlencode(query)))
    elif parsed.scheme == "file":
        # the file driver drops a member whose file is older than `timeout` (tooz's
        # default 10 s, shorter than our heartbeat period): peers would vanish from the
        # ring between beats and their projects be synced twice
        query = dict(urllib.parse.parse_qsl(parsed.query))
        query.setdefault("timeout", str(expiry_seconds(conf)))
        url = urllib.parse.urlunsplit(parsed._replace(query=urllib.parse.urlencode(query)))
    elif parsed.scheme in ("mysql", "mariadb"):
        url = urllib.parse.urlunsplit(parsed._replace(scheme="mysql"))
    elif parsed.scheme.startswith("postgres"):
        url = urllib.parse.urlunsplit(parsed._replace(scheme="postgresql"))
    return url


def expiry_seconds(conf):
    """How long a silent engine keeps its locks and membership: 2 report intervals."""
    return max(2 * conf.report_interval, 2)


class Coordinator:
    """This engine's view of its peers, the ring, and project locks."""

    def __init__(self, conf, member_id, *, binary="multisite-engine"):
        self.conf = conf
        self.member_id = member_id
        self.binary = binary
        self._tooz = None
        self._groups = False
        self.ring = ring_mod.Ring(member_id, self.members)
        self._stop = threading.Event()
        self._thread = None

    # -- life cycle ----------------------------------------------------------------------
    def start(self, *, heartbeat=True):
        """Join; `heartbeat=False` when the engine manager beats (its heartbeat thread)."""
        url = backend_url(self.conf)
        self._tooz = tooz_coordination.get_coordinator(url, self.member_id.encode())
        self._tooz.start(start_heart=False)
        try:
            try:
                self._tooz.create_group(GROUP).get()
            except tooz_coordination.GroupAlreadyExist:
                pass
            self._tooz.join_group(GROUP).get()
            self._groups = True
        except tooz_coordination.ToozError as exc:
            # MySQL/PostgreSQL drivers have locks but no groups: liveness alone decides.
            LOG.info("Coordination backend has no groups (%s); membership from liveness", exc)
        if heartbeat:
            self._thread = threading.Thread(target=self._beat, name="engine-coordination",
                                            daemon=True)
            self._thread.start()

    def beat_period(self):
        """Three beats per expiry period."""
        return max(expiry_seconds(self.conf) / 3.0, 0.5)

    def _beat(self):
        while not self._stop.wait(self.beat_period()):
            self.heartbeat()

    def heartbeat(self):
        """Keep membership and locks alive: the manager calls this three times per expiry
        period (tooz's own heart sleeps the whole timeout, which lets Redis locks lapse)."""
        if self._tooz is None:
            return
        try:
            self._tooz.heartbeat()
        except Exception:
            LOG.exception("Coordination heartbeat failed for engine %s", self.member_id)

    def stop(self):
        self._stop.set()
        if self._tooz is None:
            return
        try:
            if self._groups:
                self._tooz.leave_group(GROUP).get()
        except Exception:
            LOG.debug("leave_group failed", exc_info=True)
        try:
            self._tooz.stop()
        except Exception:
            LOG.debug("coordinator stop failed", exc_info=True)
        self._tooz = None

    # -- membership and partitioning -----------------------------------------------------
    def members(self):
        """Sorted ids of the live engines sharing the work (always including this one)."""
        live = set(services.live_ids(self.conf, binary=self.binary,
                                     within=expiry_seconds(self.conf)))
        if self._groups:
            try:
                joined = {m.decode() for m in self._tooz.get_members(GROUP).get()}
                live &= joined
            except tooz_coordination.ToozError:
                LOG.warning("Could not read tooz members; using liveness only")
        live.add(self.member_id)
        return sorted(live)

    def refresh(self):
        """Rebuild the ring from the current members; returns them."""
        return self.ring.refresh()

    def owner(self, key):
        return self.ring.owner(key)

    def owns(self, key):
        return self.ring.owns(key)

    # -- locks ---------------------------------------------------------------------------
    def lock(self, project_id):
        """A tooz lock guarding the sync of one project (acquire(blocking=False))."""
        return self._tooz.get_lock(f"multisite-quota-{project_id}".encode())
