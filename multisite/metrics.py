"""Prometheus metrics of one process: region calls, probes, events, reconciles.

Labels are bounded: region (the catalog's regions), service (five names), operation
(the HTTP method), kind and status (fixed sets). Never a project or resource id.
Engines expose these on their own bind ([metrics] engine_port); the API's /metrics
adds the database-wide view (api/handlers/metrics.py).
"""

import logging

import prometheus_client as prom

LOG = logging.getLogger(__name__)

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REGION_CALLS = prom.Histogram(
    "multisite_region_call_seconds", "Calls to a region's OpenStack APIs, by outcome.",
    ["region", "service", "operation"], buckets=_LATENCY)
REGION_CALL_ERRORS = prom.Counter(
    "multisite_region_call_errors_total",
    "Region calls that failed: unreachable (connection, timeout), 5xx or 4xx.",
    ["region", "service", "operation", "reason"])
PROBES = prom.Histogram(
    "multisite_probe_seconds", "Health probe latency (version document) per service.",
    ["service"], buckets=_LATENCY)
EVENTS = prom.Counter(
    "multisite_events_received_total",
    "Notifications received from a region's bus: stored, duplicate (message id already "
    "stored), invalid (no message id) or failed (requeued).", ["region", "result"])
RECONCILES = prom.Counter(
    "multisite_reconcile_total", "Engine reconciles by kind and outcome.", ["kind", "status"])
RECONCILE_SECONDS = prom.Histogram(
    "multisite_reconcile_seconds", "Engine reconcile duration by kind.", ["kind"],
    buckets=_LATENCY)

ADDRESS_CONFLICTS = prom.Gauge(
    "multisite_address_conflicts",
    "Open address conflicts after the last address audit of this engine, by kind "
    "(ip, cidr, mac, public_ip).", ["kind"])
ADDRESS_CONFLICT_CHANGES = prom.Counter(
    "multisite_address_conflicts_changes_total",
    "Address conflicts raised or cleared by this engine's audits, by kind.",
    ["kind", "change"])
ADDRESS_CONFLICT_KINDS = ("ip", "cidr", "mac", "public_ip")
# The quota kind's passes (engine/quota_manager.py). reason: periodic or on-demand;
# result: ok, partial (some region failed or waited for its backoff), skipped (another
# engine held the project) or error (the pass raised); operation: read or write.
QUOTA_PROJECT_SECONDS = prom.Histogram(
    "multisite_quota_project_seconds",
    "Duration of one project's quota rebalance (reads, plan, writes).", ["reason"],
    buckets=_LATENCY)
QUOTA_PROJECTS = prom.Counter(
    "multisite_quota_projects_total", "Project rebalances by reason and result.",
    ["reason", "result"])
QUOTA_REGION_ERRORS = prom.Counter(
    "multisite_quota_region_errors_total",
    "Region reads or writes of a quota rebalance that failed.", ["region", "operation"])
QUOTA_WRITES = prom.Counter(
    "multisite_quota_region_writes_total",
    "Regions whose limits a quota rebalance changed.", ["region"])
QUOTA_PASS_SECONDS = prom.Histogram(
    "multisite_quota_periodic_pass_seconds",
    "Duration of this engine's periodic quota pass over the projects it owns.",
    buckets=(0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0))
QUOTA_PASS_PROJECTS = prom.Gauge(
    "multisite_quota_periodic_pass_projects",
    "Projects of this engine's last periodic quota pass, by outcome (queued: the projects "
    "it owned; synced: rebalanced).", ["outcome"])


def quota_project(reason, seconds, *, result, read_errors=(), write_errors=(),
                  written=()):
    """One project's rebalance ended (regions are the catalog's: bounded labels)."""
    QUOTA_PROJECT_SECONDS.labels(reason).observe(seconds)
    QUOTA_PROJECTS.labels(reason, result).inc()
    for region in read_errors:
        QUOTA_REGION_ERRORS.labels(region, "read").inc()
    for region in write_errors:
        QUOTA_REGION_ERRORS.labels(region, "write").inc()
    for region in written:
        QUOTA_WRITES.labels(region).inc()


def quota_pass(seconds, *, projects, synced):
    """This engine's periodic pass ended."""
    QUOTA_PASS_SECONDS.observe(seconds)
    QUOTA_PASS_PROJECTS.labels("queued").set(projects)
    QUOTA_PASS_PROJECTS.labels("synced").set(synced)


def region_call(region, service, operation, seconds, *, status=None, error=False):
    """One region call; status is the HTTP status, error True when none came back."""
    service = service or "other"
    REGION_CALLS.labels(region, service, operation).observe(seconds)
    if error:
        REGION_CALL_ERRORS.labels(region, service, operation, "unreachable").inc()
    elif status is not None and status >= 500:
        REGION_CALL_ERRORS.labels(region, service, operation, "5xx").inc()
    elif status is not None and status >= 400:
        REGION_CALL_ERRORS.labels(region, service, operation, "4xx").inc()


def probed(results):
    for service, result in results.items():
        if result.get("latency_ms") is not None and result.get("reachable"):
            PROBES.labels(service).observe(result["latency_ms"] / 1000.0)


def events_received(region, stored, duplicates, invalid):
    EVENTS.labels(region, "stored").inc(stored)
    EVENTS.labels(region, "duplicate").inc(duplicates)
    EVENTS.labels(region, "invalid").inc(invalid)


def events_failed(region, count):
    EVENTS.labels(region, "failed").inc(count)


def reconciled(kind, status, seconds):
    RECONCILES.labels(kind, status).inc()
    RECONCILE_SECONDS.labels(kind).observe(seconds)


def address_conflicts(open_by_kind, raised, cleared):
    """After an address audit: the open conflicts per kind, and what it raised/cleared
    (lists of conflict dicts with a `kind`)."""
    for kind in ADDRESS_CONFLICT_KINDS:
        ADDRESS_CONFLICTS.labels(kind).set(open_by_kind.get(kind, 0))
    for change, rows in (("raised", raised), ("cleared", cleared)):
        for row in rows:
            if row["kind"] in ADDRESS_CONFLICT_KINDS:
                ADDRESS_CONFLICT_CHANGES.labels(row["kind"], change).inc()


def serve(conf, *, worker=0):
    """Start the engine's metrics listener when [metrics] engine_port is set."""
    port = conf.metrics.engine_port
    if not port:
        return None
    try:
        server, _thread = prom.start_http_server(port + worker, addr=conf.metrics.engine_host)
    except OSError as exc:
        LOG.error("Metrics listener not started: host=%s port=%d error=%s",
                  conf.metrics.engine_host, port + worker, exc)
        return None
    LOG.info("Metrics listener started: host=%s port=%d", conf.metrics.engine_host,
             port + worker)
    return server


def prometheus_text():
    """This process's metrics in the Prometheus text format."""
    return prom.generate_latest(prom.REGISTRY).decode()
