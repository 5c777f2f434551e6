"""The event feed's periodic work: each region's bus checked (status and up/down events,
like any service of region_health) and the stored history pruned to its retention."""

import logging

from multisite import reconcilers
from multisite.clients import bus
from multisite.objects import events, regions
from multisite.reconcilers import region_health

LOG = logging.getLogger(__name__)

BUS_KIND = "event_bus"
RETENTION_KIND = "event_retention"
BUS = region_health.BUS


def check_bus(key, env):
    """Reconcile one region's bus row: reachable now (AMQP connect), and its listener's
    state in this engine when it failed to start."""
    conf, feed = env.conf, env.shared
    region = key.id
    url = feed.urls.get(region)
    previous = regions.services_of(conf, region).get(BUS)
    if url is None:
        if previous is not None:
            regions.save_probe(conf, region, [], forget=[BUS])
        return reconcilers.Outcome.done()
    result = bus.check(conf, url, timeout=conf.health.timeout)
    listener = feed.listeners.get(region)
    if listener is not None and listener.state == "failed":
        result = dict(result, reachable=False, error=f"listener: {listener.error}")
    result["url"] = bus.safe_url(url)
    now = regions.utcnow()
    decided = region_health.plan(region, {BUS: previous} if previous else {},
                                 {BUS: result}, now=now)
    regions.save_probe(conf, region, decided.rows)
    if decided.events:
        events.store(conf, decided.events)
        for event in decided.events:
            LOG.warning("Region notification bus %s: region=%s error=%s",
                        event["event_type"], region, result["error"])
    return reconcilers.Outcome.done(result=result["reachable"])


def bus_keys(feed):
    return [reconcilers.Key(BUS_KIND, region, region) for region in sorted(feed.urls)]


def prune(key, env):
    options = env.conf.notifications
    deleted = events.prune(env.conf, max_age=options.retention_days * 86400,
                           max_count=options.retention_count)
    if deleted:
        LOG.info("Events pruned: deleted=%d retention_days=%d retention_count=%d", deleted,
                 options.retention_days, options.retention_count)
    return reconcilers.Outcome.done(result=deleted)


def retention_keys(_env):
    return [reconcilers.Key(RETENTION_KIND, "events")]


class BusKind:
    """Module-like reconciler objects for the registry (one module, two kinds)."""

    reconcile = staticmethod(check_bus)


class RetentionKind:
    reconcile = staticmethod(prune)
