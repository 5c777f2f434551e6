"""Region health: probe a region's services, record what changed (rows, events, one log line).

`plan()` is pure: from the stored rows and the new probe results it decides the new
rows and which up/down transitions become events. `reconcile()` is the kind's I/O:
probe (env.shared is a clients.prober.Prober), then plan and write in the transaction
that writes the regions probed meanwhile (objects.regions.record_probe). A region whose identity
endpoint left the catalog is forgotten (rows deleted, one `region.removed` event).
"""

import dataclasses
import logging
import uuid

from multisite import metrics, reconcilers
from multisite.objects import events, regions

LOG = logging.getLogger(__name__)

KIND = "region_health"
DOWN = "region.down"
UP = "region.up"
REMOVED = "region.removed"
BUS = "notifications"


@dataclasses.dataclass
class Plan:
    rows: list
    forget: list
    events: list


def _event(region, service, event_type, *, error=None, now):
    return {"message_id": str(uuid.uuid4()), "origin": events.MULTISITE, "region": region,
            "event_type": event_type, "resource_id": f"{region}/{service}",
            "publisher_id": "multisite.health",
            "priority": "ERROR" if event_type == DOWN else "INFO",
            "generated_at": now, "payload": {"service": service, "error": error}}


def plan(region, previous, results, *, now):
    """Plan of one probe round of `region`.

    previous: {service: stored row dict}; results: {service: probe result} of the
    services in the catalog. A service's failures count consecutive failed probes; its
    changed_at moves only on a transition. Events: reachable -> unreachable is
    region.down, the reverse region.up; a service unreachable at its first probe is
    region.down too (nothing is reported for one that starts healthy).
    """
    rows, found = [], []
    for service, result in sorted(results.items()):
        before = previous.get(service) or {}
        was = before.get("reachable")
        now_up = bool(result["reachable"])
        failures = 0 if now_up else int(before.get("failures") or 0) + 1
        changed = was is None or bool(was) != now_up
        rows.append({"service": service, "url": result.get("url"), "reachable": now_up,
                     "version": result.get("version") or before.get("version"),
                     "probed_at": now, "latency_ms": result.get("latency_ms"),
                     "failures": failures, "error": result.get("error"),
                     "services": result.get("services"),
                     "changed_at": now if changed else before.get("changed_at")})
        if was is not None and bool(was) != now_up:
            found.append(_event(region, service, UP if now_up else DOWN,
                                error=result.get("error"), now=now))
        elif was is None and not now_up:
            found.append(_event(region, service, DOWN, error=result.get("error"), now=now))
    forget = sorted(set(previous) - set(results))
    return Plan(rows=rows, forget=forget, events=found)


def reconcile(key, env):
    conf, prober = env.conf, env.shared
    region = key.id
    try:
        catalog = prober.endpoints()
    except Exception as exc:   # Keystone itself: try again next pass
        raise reconcilers.TemporaryError(f"catalog unreadable: {exc}") from exc
    services = catalog.get(region)
    if not services or "identity" not in services:
        if regions.services_of(conf, region):
            regions.forget(conf, region)
            now = regions.utcnow()
            events.store(conf, [_event(region, "identity", REMOVED, now=now)])
            LOG.warning("Region left the catalog: region=%s", region)
        return reconcilers.Outcome.done()
    results = prober.probe_region(region, services)
    for service, result in results.items():
        result["url"] = services[service]
    now = regions.utcnow()

    def decide(stored):
        # The notification bus row is the event feed's (reconcilers/event_feed.py).
        previous = {s: row for s, row in stored.items() if s != BUS}
        return plan(region, previous, results, now=now)

    # rows and events written with the other regions' probes of the round (one commit)
    decided = regions.record_probe(conf, region, decide)
    for event in decided.events:
        log = LOG.warning if event["event_type"] == DOWN else LOG.info
        log("Region service %s: region=%s service=%s error=%s",
            "down" if event["event_type"] == DOWN else "up", region,
            event["payload"]["service"], event["payload"]["error"])
    metrics.probed(results)
    return reconcilers.Outcome.done(result=True)


def keys(prober, conf):
    """Every region in the catalog or in the probe table (so a region that left the
    catalog is reconciled once more, and forgotten), the slowest at the last probe
    first: a round takes as long as its slowest region, so that one starts before the
    others' calls take the CPU (never probed: first too)."""
    slow = regions.latencies(conf)
    names = set(prober.endpoints()) | set(slow)
    return [reconcilers.Key(KIND, name, name)
            for name in sorted(names, key=lambda n: (-(slow.get(n) or float("inf")), n))]
