"""The address index: per-region replacement by difference, lookups, audit freshness."""

import sqlalchemy as sa

from multisite import addressing as ad
from multisite.db import api as db_api
from multisite.db import models

# Order of an entry's fields (reconcilers.addresses.Entry has the same).
FIELDS = ("kind", "address", "version", "region", "project_id", "network_id",
          "subnet_id", "port_id", "device_owner", "device_id", "resource_id", "related",
          "domain")
_T = models.AddressEntry.__table__
_COLUMNS = [_T.c[name] for name in FIELDS]
CHUNK = 5000


def _keys(kind, address):
    """(addr_key, addr_end) of an entry: an address, a CIDR, a pool; MACs have none."""
    if kind == ad.MAC:
        return "", ""
    if kind == ad.POOL:
        return ad.pool_keys(address)
    if "/" in address:
        return ad.cidr_keys(address)
    key = ad.ip_key(address)
    return key, key


def _row(entry, now):
    values = dict(zip(FIELDS, entry, strict=True))
    values["addr_key"], values["addr_end"] = _keys(values["kind"], values["address"])
    values["seen_at"] = now
    return values


def replace_region(session, region, entries, *, now):
    """Make the index of `region` hold exactly `entries`; (inserted, deleted) counts.

    Only the difference is written: an unchanged region costs one read. `session`: from
    transaction() (an audit writes every region in one transaction).
    """
    wanted = {tuple(e) for e in entries}
    held = {}
    for row in session.execute(sa.select(_T.c.id, *_COLUMNS).where(_T.c.region == region)):
        held.setdefault(tuple(row[1:]), []).append(row[0])
    gone = [i for key, ids in held.items() if key not in wanted for i in ids]
    # duplicates of one key (a crash between two writes) keep one row
    gone += [i for ids in held.values() if len(ids) > 1 for i in ids[1:]]
    new = [_row(key, now) for key in wanted if key not in held]
    for start in range(0, len(gone), CHUNK):
        session.execute(_T.delete().where(_T.c.id.in_(gone[start:start + CHUNK])))
    for start in range(0, len(new), CHUNK):
        session.execute(_T.insert(), new[start:start + CHUNK])
    return len(new), len(gone)


def region_entries(session, region):
    """The stored entries of one region, as tuples in FIELDS order."""
    return [tuple(row) for row in session.execute(
        sa.select(*_COLUMNS).where(_T.c.region == region))]


def indexed_regions(session):
    """Regions that have an audit row (entries in the index, or an attempt)."""
    audit = models.AddressAudit.__table__
    return set(session.scalars(sa.select(audit.c.region)))


def forget_regions(session, keep):
    """Drop the index and audit rows of regions that are no longer in the catalog."""
    keep = list(keep)
    session.execute(_T.delete().where(_T.c.region.not_in(keep)))
    audit = models.AddressAudit.__table__
    session.execute(audit.delete().where(audit.c.region.not_in(keep)))


def record_audit(session, region, *, now, ok, error=None, entries=0):
    """The outcome of one region's audit (its freshness)."""
    row = session.get(models.AddressAudit, region, with_for_update=True)
    if row is None:
        row = models.AddressAudit(region=region, attempted_at=now, ok=ok)
        session.add(row)
    row.attempted_at, row.ok, row.error = now, ok, error
    if ok:
        row.audited_at, row.entries = now, entries


def transaction(conf):
    """One transaction for the audit's writes (replace_region, record_audit, ...)."""
    return db_api.session_scope(conf)


def audits(conf):
    """[{region, audited_at, attempted_at, ok, error, entries}] sorted by region."""
    with db_api.session_scope(conf) as session:
        rows = session.scalars(sa.select(models.AddressAudit)
                               .order_by(models.AddressAudit.region))
        return [{"region": r.region, "audited_at": r.audited_at,
                 "attempted_at": r.attempted_at, "ok": r.ok, "error": r.error,
                 "entries": r.entries} for r in rows]


def _as_dict(row):
    out = {name: getattr(row, name) for name in FIELDS}
    out["id"] = row.id
    out["seen_at"] = row.seen_at
    return out


def _range(first, last):
    """Selects of the entries whose address range overlaps [first, last].

    Index-friendly parts, each an equality or a range on one index: entries starting
    inside the range (hosts, smaller subnets), and subnets, then pools, starting before
    it and reaching into it.
    """
    inside = (sa.select(_T).where(_T.c.addr_key == first) if first == last else
              sa.select(_T).where(_T.c.addr_key >= first, _T.c.addr_key <= last))
    return [inside] + [sa.select(_T).where(_T.c.kind == kind, _T.c.addr_key < first,
                                           _T.c.addr_key >= first[0],
                                           _T.c.addr_end >= first)
                       for kind in (ad.SUBNET, ad.POOL)]


def search(conf, *, ip=None, cidr=None, mac=None, region=None, project_id=None,
           kind=None, limit=100, marker=None):
    """Index entries matching every filter given, by id; `marker`: the last id seen.

    ip: entries holding that address (hosts, and the subnets and pools containing it);
    cidr: entries whose address range overlaps it; mac: that MAC.
    """
    if ip is not None:
        key = ad.ip_key(ip)
        parts = _range(key, key)
    elif cidr is not None:
        parts = _range(*ad.cidr_keys(cidr))
    else:
        parts = [sa.select(_T)]
    filters = []
    if mac is not None:
        filters += [_T.c.kind == ad.MAC, _T.c.address == mac]
    if region is not None:
        filters.append(_T.c.region == region)
    if project_id is not None:
        filters.append(_T.c.project_id == project_id)
    if kind is not None:
        filters.append(_T.c.kind == kind)
    if marker is not None:
        filters.append(_T.c.id > marker)
    found = {}
    with db_api.session_scope(conf) as session:
        for part in parts:
            query = part.where(*filters).order_by(_T.c.id).limit(limit)
            for row in session.execute(query):
                found[row.id] = row
    return [_as_dict(found[i]) for i in sorted(found)[:limit]]


def get(conf, entry_id):
    with db_api.session_scope(conf) as session:
        row = session.execute(sa.select(_T).where(_T.c.id == entry_id)).first()
        return _as_dict(row) if row is not None else None


def overlapping_subnets(conf, cidr):
    """Subnet entries whose CIDR overlaps `cidr` (any domain)."""
    first, last = ad.cidr_keys(cidr)
    inside = sa.select(_T).where(_T.c.kind == ad.SUBNET, _T.c.addr_key >= first,
                                 _T.c.addr_key <= last)
    around = _range(first, last)[1]
    found = {}
    with db_api.session_scope(conf) as session:
        for part in (inside, around):
            for row in session.execute(part):
                found[row.id] = row
    return [_as_dict(found[i]) for i in sorted(found)]
