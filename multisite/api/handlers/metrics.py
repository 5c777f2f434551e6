"""GET /metrics: the Prometheus text format, built at scrape time from the database.

Gauges of the stored state (every engine writes it, so one scrape of any API sees the
whole deployment) plus this process's own counters; labels are regions, services,
kinds and statuses only.
"""

import functools
import json
import threading
import time

import prometheus_client as prom
import webob
from oslo_log import log as logging

from multisite.api import errors, v2
from multisite.api.policies import metrics as policies
from multisite.objects import regions, stats

LOG = logging.getLogger(__name__)


class Family:
    """A gauge family as the scrape writes it: samples are (label text, value), where the
    label text is already the escaped `k="v",...` of the text format (or "")."""

    __slots__ = ("name", "doc", "samples")

    def __init__(self, name, doc):
        self.name = name
        self.doc = doc
        self.samples = []

    def add(self, labels, value):
        self.samples.append((labels, value))


@functools.lru_cache(maxsize=4096)
def _escape(value):
    """A label value in the text format (regions, services, kinds: a bounded set)."""
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels):
    return ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())


@functools.lru_cache(maxsize=8192)
def _where(region, second_name, second):
    """`region="..",service=".."` (or kind=): one string per region and service, kept."""
    return f'region="{_escape(region)}",{second_name}="{_escape(second)}"'


def families(conf, snapshot, pool, *, now):
    """The scrape's gauge families (pure: from a stats snapshot and the pool status)."""
    up = Family("multisite_region_service_up", "1 if the service answered its last probe.")
    latency = Family("multisite_region_service_probe_latency_seconds",
                     "Latency of the last probe.")
    failures = Family("multisite_region_service_consecutive_failures",
                      "Failed probes in a row.")
    for row in snapshot["services"]:
        labels = _where(row["region"], "service", row["service"])
        if row["reachable"] is not None:
            up.add(labels, 1.0 if row["reachable"] else 0.0)
        if row["latency_ms"] is not None:
            latency.add(labels, row["latency_ms"] / 1000.0)
        failures.add(labels, row["failures"])
    capacity = Family("multisite_capacity", "Last known capacity figure of a region.")
    age = Family("multisite_capacity_age_seconds", "Age of a region's capacity figures.")
    for row in snapshot["capacity"]:
        figures = json.loads(row["figures"]) if row["figures"] else {}
        where = _where(row["region"], "kind", row["kind"])
        for figure, value in sorted(figures.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                capacity.add(f'{where},figure="{_escape(figure)}"', value)
        if row["collected_at"] is not None:
            age.add(where, (now - row["collected_at"]).total_seconds())
    out = [up, latency, failures, capacity, age]
    for name, doc, key in (
            ("multisite_sync_jobs", "Sync jobs by status.", "sync_jobs"),
            ("multisite_sync_rows", "Sync job rows by status.", "sync_rows")):
        family = Family(name, doc)
        for status, count in sorted(snapshot[key].items(), key=lambda item: str(item[0])):
            family.add(_labels(status=status), count)
        out.append(family)
    last = Family("multisite_events_last_id", "Id of the newest stored event (its rate "
                  "is the ingestion rate).")
    last.add("", snapshot["events_last_id"])
    out.append(last)
    if snapshot["events_oldest"] is not None:
        oldest = Family("multisite_events_oldest_age_seconds",
                        "Age of the oldest stored event.")
        oldest.add("", (now - snapshot["events_oldest"]).total_seconds())
        out.append(oldest)
    if pool is not None:
        out.append(pool_family(pool))
    return out


def pool_family(pool):
    family = Family("multisite_db_pool_connections", "This API process's database pool.")
    for state, value in pool.items():
        if value is not None:
            family.add(_labels(state=state), value)
    return family


def render(found):
    """The text format 0.0.4 of gauge families, written directly: prometheus_client's
    generic writer costs about 40 us a sample (validation and escaping per label), and
    building its family objects about as much again; with 50 regions this view has
    ~1,700 samples, and label values (a bounded set) are escaped once (cached)."""
    lines = []
    for family in found:
        doc = family.doc.replace("\\", "\\\\").replace("\n", "\\n")
        lines.append(f"# HELP {family.name} {doc}")
        lines.append(f"# TYPE {family.name} gauge")
        name = family.name
        lines.extend(f"{name}{{{labels}}} {float(value)!r}" if labels
                     else f"{name} {float(value)!r}" for labels, value in family.samples)
    return ("\n".join(lines) + "\n").encode()


_cache_lock = threading.Lock()
_cache = {"key": None, "until": 0.0, "text": b"", "scraped": 0.0, "refresher": None}
# A refresher stops when nobody scraped for this many TTLs (at least a minute).
_IDLE_TTLS = 12


def _read_state(conf):
    return render(families(conf, stats.snapshot(conf), None, now=regions.utcnow()))


def _refresh_ahead(conf, key, ttl):
    """Read the state again every `ttl` seconds while someone scrapes, so that a scrape
    (Prometheus asks every 15-60 s, longer than the TTL) finds it read already."""
    idle = max(ttl * _IDLE_TTLS, 60.0)
    while True:
        time.sleep(ttl)
        with _cache_lock:
            if _cache["key"] != key or time.monotonic() - _cache["scraped"] > idle:
                _cache["refresher"] = None
                return
        try:
            text = _read_state(conf)
        except Exception:  # noqa: BLE001 - the next scrape reads it itself
            LOG.exception("/metrics: reading the stored state in the background failed")
            with _cache_lock:
                _cache["refresher"] = None
                _cache["until"] = 0.0
            return
        with _cache_lock:
            if _cache["key"] != key:
                _cache["refresher"] = None
                return
            _cache.update(until=time.monotonic() + ttl, text=text)


def _stored_state(conf):
    """The database-derived families as text, read at most once per
    [metrics] state_cache_seconds. The first scrape reads them; from then on, while
    scrapes come, a thread of this process reads them again every TTL, so a scrape
    serves text at most one TTL (plus one read) old without waiting for the database."""
    ttl = conf.metrics.state_cache_seconds
    if not ttl:
        return _read_state(conf)
    key = (id(conf), conf.database.connection)
    with _cache_lock:
        now = time.monotonic()
        _cache["scraped"] = now
        fresh = now < _cache["until"] or _cache["refresher"] is not None
        if _cache["key"] == key and fresh:
            return _cache["text"]
        text = _read_state(conf)
        _cache.update(key=key, until=time.monotonic() + ttl, text=text)
        refresher = threading.Thread(target=_refresh_ahead, args=(conf, key, ttl),
                                     name="metrics-refresh", daemon=True)
        _cache["refresher"] = refresher
        refresher.start()
        return text


def show(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    if not conf.metrics.enabled:
        ctx.can(policies.SHOW, {"project_id": ctx.project_id})
        raise errors.not_found("request.not_found",
                               "No such resource: /metrics ([metrics] enabled is false)")
    ctx.can(policies.SHOW, {"project_id": ctx.project_id})
    v2.parse_query(req, v2.query_schema({}))
    body = (_stored_state(conf) + render([pool_family(stats.pool_status(conf))])
            + prom.generate_latest(prom.REGISTRY))
    response = webob.Response(body=body, status=200)
    # generate_latest writes the 0.0.4 text format.
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    return response
