"""GET /metrics: the Prometheus text format, built at scrape time from the database.

Gauges of the stored state (every engine writes it, so one scrape of any API sees the
whole deployment) plus this process's own counters; labels are regions, services,
kinds and statuses only.
"""

import json

import prometheus_client as prom
import webob
from prometheus_client import core

from multisite.api import errors, v2
from multisite.api.policies import metrics as policies
from multisite.objects import regions, stats


def _gauge(name, doc, labels=()):
    return core.GaugeMetricFamily(name, doc, labels=list(labels))


def families(conf, snapshot, pool, *, now):
    """The scrape's metric families (pure: from a stats snapshot and the pool status)."""
    up = _gauge("multisite_region_service_up", "1 if the service answered its last probe.",
                ["region", "service"])
    latency = _gauge("multisite_region_service_probe_latency_seconds",
                     "Latency of the last probe.", ["region", "service"])
    failures = _gauge("multisite_region_service_consecutive_failures",
                      "Failed probes in a row.", ["region", "service"])
    for row in snapshot["services"]:
        labels = [row["region"], row["service"]]
        if row["reachable"] is not None:
            up.add_metric(labels, 1.0 if row["reachable"] else 0.0)
        if row["latency_ms"] is not None:
            latency.add_metric(labels, row["latency_ms"] / 1000.0)
        failures.add_metric(labels, row["failures"])
    capacity = _gauge("multisite_capacity", "Last known capacity figure of a region.",
                      ["region", "kind", "figure"])
    age = _gauge("multisite_capacity_age_seconds", "Age of a region's capacity figures.",
                 ["region", "kind"])
    for row in snapshot["capacity"]:
        figures = json.loads(row["figures"]) if row["figures"] else {}
        for figure, value in sorted(figures.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                capacity.add_metric([row["region"], row["kind"], figure], value)
        if row["collected_at"] is not None:
            age.add_metric([row["region"], row["kind"]],
                           (now - row["collected_at"]).total_seconds())
    out = [up, latency, failures, capacity, age]
    for name, doc, key in (
            ("multisite_sync_jobs", "Sync jobs by status.", "sync_jobs"),
            ("multisite_sync_rows", "Sync job rows by status.", "sync_rows"),
            ("multisite_quota_sync_regions", "Project x region quota sync outcomes by "
             "status (last pass).", "quota_regions")):
        family = _gauge(name, doc, ["status"])
        for status, count in sorted(snapshot[key].items()):
            family.add_metric([str(status)], count)
        out.append(family)
    out.append(core.GaugeMetricFamily("multisite_quota_projects",
                                      "Projects with global limits.",
                                      value=snapshot["quota_projects"]))
    out.append(core.GaugeMetricFamily(
        "multisite_events_last_id", "Id of the newest stored event (its rate is the "
        "ingestion rate).", value=snapshot["events_last_id"]))
    if snapshot["events_oldest"] is not None:
        out.append(core.GaugeMetricFamily(
            "multisite_events_oldest_age_seconds", "Age of the oldest stored event.",
            value=(now - snapshot["events_oldest"]).total_seconds()))
    pool_family = _gauge("multisite_db_pool_connections",
                         "This API process's database pool.", ["state"])
    for state, value in pool.items():
        if value is not None:
            pool_family.add_metric([state], value)
    out.append(pool_family)
    return out


class _Collector:
    def __init__(self, found):
        self.found = found

    def collect(self):
        return self.found


def show(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    if not conf.metrics.enabled:
        ctx.can(policies.SHOW, {"project_id": ctx.project_id})
        raise errors.not_found("request.not_found",
                               "No such resource: /metrics ([metrics] enabled is false)")
    ctx.can(policies.SHOW, {"project_id": ctx.project_id})
    v2.parse_query(req, v2.query_schema({}))
    registry = prom.CollectorRegistry(auto_describe=False)
    registry.register(_Collector(families(conf, stats.snapshot(conf), stats.pool_status(conf),
                                          now=regions.utcnow())))
    body = prom.generate_latest(registry) + prom.generate_latest(prom.REGISTRY)
    response = webob.Response(body=body, status=200)
    # generate_latest writes the 0.0.4 text format.
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    return response
