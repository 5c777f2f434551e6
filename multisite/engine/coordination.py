"""Engines sharing projects: tooz membership, a hash ring, and per-project locks.

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

import datetime
import logging
import os
import threading
import urllib.parse

from tooz import coordination as tooz_coordination
from tooz import hashring

from multisite.db import models
from multisite.objects import services

LOG = logging.getLogger(__name__)

GROUP = b"multisite-engine"
# Points per member on the ring. Measured over 20,000 project ids, 10 random pairs of
# engines: with 256 points one engine's share was off 50 % by 2.6 % on average and 6.3 % at
# worst (the wall time of a pass is the busier engine's); with 4,096, 0.6 % and 1.2 %.
# Engines must agree on it (a rolling upgrade changing it overlaps ownership until every
# engine runs the new value; the project locks still keep syncs exclusive).
RING_PARTITIONS = 2**12


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
        self._stop = threading.Event()
        self._thread = None
        self._ring = None
        self._ring_members = ()
        self._lock = threading.Lock()

    # -- life cycle ----------------------------------------------------------------------
    def start(self):
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
        self._thread = threading.Thread(target=self._beat, name="engine-coordination",
                                        daemon=True)
        self._thread.start()

    def _beat(self):
        # tooz's own heart sleeps the whole timeout between beats, which lets Redis locks
        # lapse; beat three times per expiry period instead.
        period = max(expiry_seconds(self.conf) / 3.0, 0.5)
        while not self._stop.wait(period):
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
        cutoff = models.utcnow() - datetime.timedelta(seconds=expiry_seconds(self.conf))
        live = {row["id"] for row in services.list_services(self.conf)
                if row["binary"] == self.binary and not row["disabled"]
                and row["updated_at"] is not None and row["updated_at"] >= cutoff}
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
        members = self.members()
        with self._lock:
            if tuple(members) != self._ring_members:
                self._ring = hashring.HashRing(members, partitions=RING_PARTITIONS)
                self._ring_members = tuple(members)
                LOG.info("Engine %s: ring members %s", self.member_id, ",".join(members))
        return members

    def owner(self, project_id):
        with self._lock:
            ring = self._ring
        if ring is None:
            self.refresh()
            with self._lock:
                ring = self._ring
        return next(iter(ring.get_nodes(project_id.encode())))

    def owns(self, project_id):
        return self.owner(project_id) == self.member_id

    # -- locks ---------------------------------------------------------------------------
    def lock(self, project_id):
        """A tooz lock guarding the sync of one project (acquire(blocking=False))."""
        return self._tooz.get_lock(f"multisite-quota-{project_id}".encode())
