"""Regions as the health probes and capacity reads last saw them (region_services,
region_capacity); the engine writes, the API reads."""

import datetime
import json
import threading

import sqlalchemy as sa

from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import events


def utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


_SERVICE_FIELDS = ("url", "reachable", "version", "probed_at", "latency_ms", "failures",
                   "error", "changed_at")


def _service_dict(row):
    out = {name: getattr(row, name) for name in _SERVICE_FIELDS}
    out["service"] = row.service
    out["services"] = json.loads(row.services) if row.services else None
    return out


def services_of(conf, region):
    """{service: row dict} of one region (empty if never probed)."""
    with db_api.session_scope(conf) as session:
        rows = session.scalars(sa.select(models.RegionService)
                               .where(models.RegionService.region == region))
        return {row.service: _service_dict(row) for row in rows}


def save_probe(conf, region, rows, *, forget=()):
    """Write one region's probe rows (dicts with `service` and the fields), dropping the
    services in `forget` (no longer in the catalog)."""
    with db_api.session_scope(conf) as session:
        if forget:
            session.execute(sa.delete(models.RegionService).where(
                models.RegionService.region == region,
                models.RegionService.service.in_(list(forget))))
        held = {row.service: row for row in session.scalars(
            sa.select(models.RegionService).where(models.RegionService.region == region))}
        for values in rows:
            row = held.get(values["service"])
            if row is None:
                row = models.RegionService(region=region, service=values["service"])
                session.add(row)
            for name in _SERVICE_FIELDS:
                if name in values:
                    setattr(row, name, values[name])
            row.services = (json.dumps(values["services"])
                            if values.get("services") is not None else None)


class _Probe:
    __slots__ = ("region", "decide", "done", "lead", "plan", "error")

    def __init__(self, region, decide):
        self.region, self.decide = region, decide
        self.done, self.lead = threading.Event(), False
        self.plan = self.error = None


_BATCHES_LOCK = threading.Lock()
_BATCHES = {}      # database engine -> [probes waiting, a writer running]


def record_probe(conf, region, decide):
    """Write one region's probe, batched with the others arriving meanwhile: returns
    decide(previous), which gets the region's stored rows ({service: row dict}) and
    returns a plan with `rows` (as save_probe takes them), `forget` (services whose rows
    are dropped) and `events` (stored with the rows).

    A probe round finishes many regions at about the same time; one transaction per
    region cost most of the round's database time. The first caller writes every probe
    waiting (one read, the writes, one commit) while the others wait; who comes during
    that write is written next by one of them. decide() runs inside the transaction, so
    the rows it reads are the latest. A failed batch raises in each of its callers.
    """
    engine = db_api.get_engine(conf)
    probe = _Probe(region, decide)
    with _BATCHES_LOCK:
        held = _BATCHES.setdefault(engine, [[], False])
        held[0].append(probe)
        probe.lead = not held[1]
        held[1] = True
    if not probe.lead:
        probe.done.wait()
    if probe.lead:
        with _BATCHES_LOCK:
            batch, held[0] = held[0], []
        try:
            _write_probes(engine, batch)
        except Exception as exc:
            for waiting in batch:
                waiting.error = waiting.error or exc
        finally:
            with _BATCHES_LOCK:
                if held[0]:
                    held[0][0].lead = True      # the next batch's writer: wakes as one
                    held[0][0].done.set()
                else:
                    held[1] = False
            for waiting in batch:
                if waiting is not probe:
                    waiting.done.set()
    if probe.error is not None:
        raise probe.error
    return probe.plan


_TABLE = models.RegionService.__table__
_UPDATE = (sa.update(_TABLE)
           .where(_TABLE.c.region == sa.bindparam("b_region"),
                  _TABLE.c.service == sa.bindparam("b_service"))
           .values({name: sa.bindparam(name) for name in (*_SERVICE_FIELDS, "services")}))


def _write_probes(engine, batch):
    with engine.begin() as connection:
        previous = {}
        for row in connection.execute(sa.select(_TABLE).where(
                _TABLE.c.region.in_(sorted({p.region for p in batch})))):
            previous.setdefault(row.region, {})[row.service] = _service_dict(row)
        updates, inserts, found = [], [], []
        for probe in batch:
            held = previous.get(probe.region, {})
            try:
                probe.plan = probe.decide(held)
            except Exception as exc:       # one region's plan never fails the others
                probe.error = exc
                continue
            if probe.plan.forget:
                connection.execute(sa.delete(_TABLE).where(
                    _TABLE.c.region == probe.region,
                    _TABLE.c.service.in_(list(probe.plan.forget))))
            for values in probe.plan.rows:
                row = {name: values.get(name) for name in _SERVICE_FIELDS}
                row["services"] = (json.dumps(values["services"])
                                   if values.get("services") is not None else None)
                if values["service"] in held:
                    updates.append({**row, "b_region": probe.region,
                                    "b_service": values["service"]})
                else:
                    inserts.append({**row, "region": probe.region,
                                    "service": values["service"]})
            found.extend(probe.plan.events)
        if updates:
            connection.execute(_UPDATE, updates)
        if inserts:
            connection.execute(sa.insert(_TABLE), inserts)
        if found:
            events.store_with(connection, found)


def forget(conf, region):
    """Drop everything known of a region (it left the catalog)."""
    with db_api.session_scope(conf) as session:
        session.execute(sa.delete(models.RegionService)
                        .where(models.RegionService.region == region))
        session.execute(sa.delete(models.RegionCapacity)
                        .where(models.RegionCapacity.region == region))


def latencies(conf):
    """{region: the slowest latency_ms of its last probe (None if never measured)}."""
    query = sa.select(_TABLE.c.region, sa.func.max(_TABLE.c.latency_ms)).group_by(
        _TABLE.c.region)
    with db_api.get_engine(conf).connect() as connection:
        return {region: latency for region, latency in connection.execute(query)}


def list_regions(conf, *, name=None, limit=None, marker=None):
    """(regions, more): {"name", "services": {service: row dict}} sorted by name, after
    the name `marker`."""
    query = sa.select(models.RegionService).order_by(models.RegionService.region,
                                                     models.RegionService.service)
    if name is not None:
        query = query.where(models.RegionService.region == name)
    if marker is not None:
        query = query.where(models.RegionService.region > marker)
    with db_api.session_scope(conf) as session:
        grouped = {}
        for row in session.scalars(query):
            if row.region not in grouped and limit is not None and len(grouped) > limit:
                break
            grouped.setdefault(row.region, {})[row.service] = _service_dict(row)
    regions = [{"name": n, "services": s} for n, s in grouped.items()]
    if limit is None:
        return regions, False
    return regions[:limit], len(regions) > limit


def save_capacity(conf, region, kind, *, figures, error, now):
    """Record one capacity read: new figures, or the error beside the last figures."""
    with db_api.session_scope(conf) as session:
        row = session.get(models.RegionCapacity, (region, kind))
        if row is None:
            row = models.RegionCapacity(region=region, kind=kind)
            session.add(row)
        if error is None:
            row.figures, row.collected_at = json.dumps(figures), now
            row.error, row.error_at = None, None
        else:
            row.error, row.error_at = error, now


def capacity(conf, *, region=None):
    """{region: {kind: {"figures", "collected_at", "error", "error_at"}}}."""
    query = sa.select(models.RegionCapacity)
    if region is not None:
        query = query.where(models.RegionCapacity.region == region)
    out = {}
    with db_api.session_scope(conf) as session:
        for row in session.scalars(query):
            out.setdefault(row.region, {})[row.kind] = {
                "figures": json.loads(row.figures) if row.figures else None,
                "collected_at": row.collected_at, "error": row.error,
                "error_at": row.error_at}
    return out


def region_status(services):
    """up (every service reachable), down (none), degraded, or unknown (never probed)."""
    states = [s.get("reachable") for s in services.values()]
    if not states or all(s is None for s in states):
        return "unknown"
    if all(states):
        return "up"
    if not any(states):
        return "down"
    return "degraded"


def capacity_view(by_region, *, now):
    """The GET /v2/capacity body: per region and kind the figures with their age and any
    error, and the sums over the regions whose figures are known ("regions_counted").

    A region that does not answer keeps its last figures (never zeros), marked stale.
    """
    out_regions, totals = [], {}
    for name in sorted(by_region):
        kinds = {}
        for kind, entry in sorted(by_region[name].items()):
            figures = entry["figures"]
            age = ((now - entry["collected_at"]).total_seconds()
                   if entry["collected_at"] is not None else None)
            kinds[kind] = {"figures": figures, "collected_at": entry["collected_at"],
                           "age_seconds": round(age, 3) if age is not None else None,
                           "stale": entry["error"] is not None, "error": entry["error"],
                           "error_at": entry["error_at"]}
            if figures:
                total = totals.setdefault(kind, {"regions_counted": 0})
                total["regions_counted"] += 1
                for field, value in figures.items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        total[field] = round(total.get(field, 0) + value, 3)
        out_regions.append({"name": name, **kinds})
    return {"regions": out_regions, "total": totals}
