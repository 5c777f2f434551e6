"""Regions as the health probes and capacity reads last saw them (region_services,
region_capacity); the engine writes, the API reads."""

import datetime
import json

import sqlalchemy as sa

from multisite.db import api as db_api
from multisite.db import models


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


def forget(conf, region):
    """Drop everything known of a region (it left the catalog)."""
    with db_api.session_scope(conf) as session:
        session.execute(sa.delete(models.RegionService)
                        .where(models.RegionService.region == region))
        session.execute(sa.delete(models.RegionCapacity)
                        .where(models.RegionCapacity.region == region))


def names(conf):
    """Every region with a probe row, sorted."""
    with db_api.session_scope(conf) as session:
        return sorted(set(session.scalars(sa.select(models.RegionService.region))))


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
