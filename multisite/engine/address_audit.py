"""The address audit: list every region's addresses, rewrite the index, recompute conflicts.

Level-triggered: each audit converges the index on what the regions hold now. A region
that does not answer keeps its previous entries (marked by its audit row as not
refreshed) so that an outage never clears, or raises, a conflict by itself.
"""

import collections
import contextlib
import datetime
import gc
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Mapping

from multisite import addressing, clients, metrics, reconcilers
from multisite.clients import inventory
from multisite.engine import controller
from multisite.objects import address_conflicts, events
from multisite.objects import addresses as index
from multisite.reconcilers import address_audit as audit_kind
from multisite.reconcilers import addresses as planner

LOG = logging.getLogger(__name__)

RAISED = "multisite.address.conflict.raised"
CLEARED = "multisite.address.conflict.cleared"


_collector = {"lock": threading.Lock(), "audits": 0, "was_enabled": False}


@contextlib.contextmanager
def collector_paused():
    """Python's automatic garbage collection off while an audit runs (on again when the
    last running audit of the process ends, if it was on).

    An audit holds millions of index entries, namedtuples of strings that can never
    form a cycle, but the collector cannot untrack them (it untracks plain tuples
    only) and traverses every one of them at each full collection; as the entries grow
    from nothing to two million, a full collection runs at every 25 % of growth:
    26 of them, and about 11 of the 44 CPU seconds of the first audit of a million
    ports (docs/addresses.md). Garbage the other threads make meanwhile is collected
    when the audit ends.
    """
    with _collector["lock"]:
        if _collector["audits"] == 0:
            _collector["was_enabled"] = gc.isenabled()
            gc.disable()
        _collector["audits"] += 1
    try:
        yield
    finally:
        with _collector["lock"]:
            _collector["audits"] -= 1
            if _collector["audits"] == 0 and _collector["was_enabled"]:
                gc.enable()


def _now():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def conflict_events(event_type, conflict):
    """Feed events of a raised/cleared conflict: one per project it involves (members see
    their own project's events), with a message id that a retried audit cannot repeat."""
    payload = {k: conflict[k] for k in ("kind", "domain", "address", "regions")}
    payload["sides"] = [{k: s.get(k) for k in ("region", "project_id", "kind", "port_id",
                                               "network_id", "subnet_id", "device_id")}
                        for s in conflict["sides"]]
    stamp = conflict["cleared_at"] or conflict["first_seen"]
    return [{"message_id": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                          f"{conflict['id']}/{event_type}/{project}")),
             "origin": events.MULTISITE, "project_id": project or None,
             "event_type": event_type, "resource_id": conflict["id"],
             "publisher_id": "multisite.address_audit",
             "priority": "WARN" if event_type.endswith("raised") else "INFO",
             "generated_at": stamp, "payload": payload}
            for project in conflict["project_ids"] or [""]]


def _side(entry):
    return {name: getattr(entry, name) for name in planner.FIELDS if name != "domain"}


class Result:
    """What one audit did (for logs, events and the benchmark)."""

    def __init__(self):
        self.regions_ok, self.regions_failed = [], {}
        self.entries = self.inserted = self.deleted = 0
        self.conflicts = 0
        self.raised, self.cleared = [], []
        self.timings = {}

    def as_dict(self):
        return {"regions_ok": self.regions_ok, "regions_failed": self.regions_failed,
                "entries": self.entries, "inserted": self.inserted,
                "deleted": self.deleted, "conflicts": self.conflicts,
                "raised": len(self.raised), "cleared": len(self.cleared),
                "timings": self.timings}


class AddressAuditor:
    """One full audit per `run()`; `cloud` is a clients.Cloud (or a test double)."""

    def __init__(self, conf, cloud, *, notify=None):
        self.conf = conf
        self.cloud = cloud
        self.rules = addressing.parse_rules(conf.addresses.routable_domain)
        # notify(event_type, conflict_dict); default: the central event feed
        self.notify = notify or self._to_feed

    def _to_feed(self, event_type, conflict):
        try:
            events.store(self.conf, conflict_events(event_type, conflict))
        except Exception:
            LOG.exception("Could not record event event_type=%s conflict=%s", event_type,
                          conflict["id"])

    def read_regions(self, only=None):
        """Start reading every catalog region (or those of `only` still in the catalog):
        (the regions being read, an iterator of (region, index entries) as each region
        is read, {region: error} filled as the iterator goes).

        Each region's Neutron lists become entries in the thread that read them, so an
        audit holds one region's raw lists at a time per thread, never all of them; and
        converge() writes a region while the others are still being read and indexed.
        """
        regions = sorted(self.cloud.catalog.all_regions())
        if only is not None:
            regions = [r for r in regions if r in set(only)]
        listers = inventory.listers(self.cloud, regions)
        calls = {name: (lambda n=name, lst=lister:
                        planner.index_entries(n, lst.address_objects(), self.rules))
                 for name, lister in listers.items()}
        failures = {}

        def read():
            for region, found, exc in inventory.fan_in(
                    calls, timeout=self.conf.addresses.audit_timeout):
                if exc is None:
                    yield region, found
                else:
                    failures[region] = exc

        return sorted(calls), read(), failures

    def run(self, regions=None):
        """A full audit; with `regions`, a refresh of those only (a notification's): the
        other regions' index is kept as stored and the conflicts are recomputed over
        the whole index."""
        result = Result()
        if not getattr(self.cloud, "configured", True):
            # no [cache] Keystone: no region to audit, and nothing to forget either
            LOG.debug("Address audit skipped: [cache] names no Keystone")
            return result
        started = time.monotonic()
        try:
            reading, entries, failures = self.read_regions(only=regions)
        except (clients.RegionError, clients.ServiceCredentialsError) as exc:
            # the catalog could not be read: keep the index, retry later
            raise reconcilers.TemporaryError(f"address audit: catalog: {exc}") from exc
        if regions is not None and not reading:
            LOG.debug("Address refresh skipped: %s not in the catalog", regions)
            return result
        # Each region is written in a transaction of its own as soon as it is read, while
        # the others are still read: no transaction is open while Neutron answers (one
        # held open across the reads blocked every other writer of the database for as
        # long as the slowest region took: SQLite has one writer at a time).
        self.converge(entries, failures, result=result, partial=regions is not None)
        result.timings["total"] = time.monotonic() - started
        LOG.info("Address audit done: regions_ok=%d regions_failed=%s entries=%d "
                 "inserted=%d deleted=%d conflicts=%d raised=%d cleared=%d seconds=%.2f",
                 len(result.regions_ok), sorted(result.regions_failed), result.entries,
                 result.inserted, result.deleted, result.conflicts, len(result.raised),
                 len(result.cleared), result.timings["total"])
        return result

    def apply(self, raw_by_region, failures, *, result=None, partial=False):
        """converge() from Neutron lists ({region: raw}) rather than entries."""
        result = result or Result()
        mark = time.monotonic()
        entries = {region: planner.index_entries(region, raw, self.rules)
                   for region, raw in sorted(raw_by_region.items())}
        result.timings["index"] = time.monotonic() - mark
        return self.converge(entries, failures, result=result, partial=partial)

    @collector_paused()
    def converge(self, entries, failures, *, result=None, partial=False):
        """Index the regions that answered, keep the others', reconcile the conflicts.

        `entries`: {region: entries}, or an iterator of (region, entries) pairs, each
        region written as it comes (read_regions(): while the others are still read);
        `failures`: {region: error}, read once `entries` is exhausted.
        `partial`: only these regions were read; every other indexed region keeps its
        stored entries (and stays in the index) instead of being forgotten.
        timings: "read" until the last region came, "wait" the time spent waiting for
        them, "write" the rest (the regions' transactions and the final one); each phase
        also as "<phase>_cpu", the CPU seconds of this thread in it (a loaded machine
        stretches the wall figures, not these)."""
        result = result or Result()
        now = _now()
        pairs = iter(entries.items() if isinstance(entries, Mapping) else entries)
        entries = {}
        mark, waited, write_cpu = time.monotonic(), 0.0, time.thread_time()
        while True:
            wait, cpu = time.monotonic(), time.thread_time()
            region, found = next(pairs, (None, None))
            waited += time.monotonic() - wait
            write_cpu -= time.thread_time() - cpu
            if region is None:
                break
            entries[region] = found
            inserted, deleted = index.converge_region(self.conf, region, found, now=now)
            result.inserted += inserted
            result.deleted += deleted
            result.regions_ok.append(region)
        result.timings["read"] = time.monotonic() - mark
        with index.transaction(self.conf) as session:
            for region, exc in sorted(failures.items()):
                LOG.warning("Address audit: region %s did not answer, keeping its "
                            "previous index: %s", region, exc)
                index.record_audit(session, region, now=now, ok=False, error=str(exc))
                entries[region] = [planner.Entry(*row)
                                   for row in index.region_entries(session, region)]
                result.regions_failed[region] = str(exc)
            if partial:
                for region in sorted(index.indexed_regions(session) - set(entries)):
                    entries[region] = [planner.Entry(*row)
                                       for row in index.region_entries(session, region)]
            else:
                index.forget_regions(session, keep=entries)
        result.timings["wait"] = waited
        result.regions_ok.sort()
        result.timings["write"] = time.monotonic() - mark - waited
        result.timings["write_cpu"] = time.thread_time() - write_cpu
        mark, cpu = time.monotonic(), time.thread_time()
        conflicts = planner.plan(itertools.chain.from_iterable(entries.values()),
                                 mac_scope=self.conf.addresses.mac_scope)
        result.timings["plan"] = time.monotonic() - mark
        result.timings["plan_cpu"] = time.thread_time() - cpu
        mark, cpu = time.monotonic(), time.thread_time()
        found = {key: {"kind": c.kind, "domain": c.domain, "address": c.address,
                       "sides": [_side(s) for s in c.sides]}
                 for key, c in conflicts.items()}
        result.raised, result.cleared = address_conflicts.reconcile(self.conf, found,
                                                                    now=now)
        result.timings["conflicts"] = time.monotonic() - mark
        result.timings["conflicts_cpu"] = time.thread_time() - cpu
        result.entries = sum(len(e) for e in entries.values())
        result.conflicts = len(conflicts)
        metrics.address_conflicts(
            collections.Counter(c.kind for c in conflicts.values()), result.raised,
            result.cleared)
        for event, rows in ((RAISED, result.raised), (CLEARED, result.cleared)):
            for row in rows:
                LOG.warning("Address conflict %s: kind=%s domain=%s address=%s regions=%s "
                            "id=%s", event.rsplit(".", 1)[1], row["kind"], row["domain"],
                            row["address"], ",".join(row["regions"]), row["id"])
                self.notify(event, row)
        return result


# One full audit of every region's addresses per [addresses] audit_interval, run by the
# engine that owns the one key on the ring.
KIND = controller.Kind(
    name=audit_kind.KIND, reconciler=audit_kind,
    env=lambda conf, engine_id: AddressAuditor(conf, clients.get_cloud(conf)),
    lister=audit_kind.keys,
    resync_interval=lambda conf: (conf.addresses.audit_interval
                                  if conf.addresses.audit_enable else None),
    conf_group="addresses")
