"""The address index: per-region replacement by difference, lookups, audit freshness."""

import contextlib
import ipaddress
import itertools
import operator

import sqlalchemy as sa

from multisite import addressing as ad
from multisite.db import api as db_api
from multisite.db import models

# Order of an entry's fields (reconcilers.addresses.Entry has the same).
FIELDS = ("kind", "address", "version", "region", "project_id", "network_id",
          "subnet_id", "port_id", "device_owner", "device_id", "resource_id", "related",
          "domain")
_T = models.AddressEntry.__table__
# Kinds whose key is an IP address key (all but MAC), for an index probe on (kind, key).
_IP_KINDS = tuple(k for k in ad.KINDS if k != ad.MAC)
_COLUMNS = [_T.c[name] for name in FIELDS]
# The columns a write fills, in the order of _rows()' tuples.
_WRITTEN = FIELDS + ("addr_key", "addr_end", "seen_at")
_BY_KEY = operator.itemgetter(0, len(FIELDS))
CHUNK = 5000
# Rows per multi-row INSERT (16 values each): on MariaDB/PostgreSQL one round trip per
# batch; on SQLite one step of the statement per batch (32,000 values: under SQLite's
# default limit of 32,766). The sqlite3 module releases the GIL around each step and
# takes it back after: with executemany, once per row, and each time another thread
# was running Python (the audit's region threads, indexing the next regions) the writer
# waited for that thread's switch interval (5 ms) to get it back. 400,000 rows took
# 60 s instead of 9 s beside one busy thread; one step per 2,000 rows waits once per
# batch, and SQLite's B-tree work runs on the other core meanwhile.
VALUES_BATCH = {"sqlite": 2000}
VALUES_BATCH_DEFAULT = 1000
# SQLite page cache while an audit writes (KiB): two million rows update four B-trees,
# and with the default 2 MiB cache every insert into a cold index page is a read from
# disk. A region's rows are inserted in (kind, addr_key) order, so the pages an insert
# touches are a few per index: 64 MiB holds them (256 MiB, before, took the audit of a
# million ports past 1 GiB of RSS). Reset to SQLite's default afterwards, so idle
# connections hold no more.
SQLITE_AUDIT_CACHE_KIB = 65536
SQLITE_DEFAULT_CACHE_KIB = 2000


def _keys(kind, address):
    """(addr_key, addr_end) of an entry: an address, a CIDR, a pool; a MAC is its own
    key (always looked up with its kind, so it never mixes with the IP keys)."""
    if kind == ad.MAC:
        return address, address
    if kind == ad.POOL:
        return ad.pool_keys(address)
    if "/" in address:
        return ad.cidr_keys(address)
    key = ad.ip_key(address)
    return key, key


def _rows(entries, stamp):
    """Entries as tuples in _WRITTEN order (stamp: seen_at, already in driver form).

    A host address or a MAC is one key: its addr_end stays empty, as no lookup reads
    it (only subnets' and pools' ends bound a query), which saves every such row a
    33-character column.
    """
    mac, pool, ip_key = ad.MAC, ad.POOL, ad.ip_key
    for entry in entries:
        kind, address = entry[0], entry[1]
        if kind == mac:
            yield (*entry, address, "", stamp)
        elif kind == pool or "/" in address:
            yield (*entry, *_keys(kind, address), stamp)
        else:
            yield (*entry, ip_key(address), "", stamp)


def _dbapi_cursor(session):
    """The DB-API cursor of the session's connection (inside its transaction): the audit
    moves millions of plain tuples, which SQLAlchemy's per-row parameter and result
    processing would cost more than the database does."""
    connection = session.connection()
    return connection, connection.connection.cursor()


def _placeholder(dialect):
    return "?" if dialect.name == "sqlite" else "%s"


def _insert(session, rows):
    """INSERT the rows (an iterable of tuples in _WRITTEN order) in multi-row VALUES
    statements of VALUES_BATCH rows."""
    connection, cursor = _dbapi_cursor(session)
    mark = _placeholder(connection.dialect)
    head = f"INSERT INTO {_T.name} ({', '.join(_WRITTEN)}) VALUES "
    one = "(" + ", ".join([mark] * len(_WRITTEN)) + ")"
    size = VALUES_BATCH.get(connection.dialect.name, VALUES_BATCH_DEFAULT)
    full = head + ", ".join([one] * size)
    flat = itertools.chain.from_iterable
    try:
        rows = iter(rows)
        while batch := list(itertools.islice(rows, size)):
            cursor.execute(full if len(batch) == size else
                           head + ", ".join([one] * len(batch)), list(flat(batch)))
    finally:
        cursor.close()


def _stamp(session, now):
    """`now` as the driver stores seen_at (SQLite: SQLAlchemy's text form), converted
    once per write rather than by the driver's adapter for every row."""
    dialect = session.connection().dialect
    process = _T.c.seen_at.type.dialect_impl(dialect).bind_processor(dialect)
    return process(now) if process is not None else now


def replace_region(session, region, entries, *, now):
    """Make the index of `region` hold exactly `entries`; (inserted, deleted) counts.

    Only the difference is written: an unchanged region costs one read. `session`: from
    transaction() (an audit writes every region in one transaction).
    """
    # in order, without duplicates (an Entry and a tuple of equal fields are one key)
    wanted = dict.fromkeys(entries)
    held = {}
    for row in _held(session, region):
        held.setdefault(row[1:], []).append(row[0])
    gone = [i for key, ids in held.items() if key not in wanted for i in ids]
    # duplicates of one key (a crash between two writes) keep one row
    gone += [i for ids in held.values() if len(ids) > 1 for i in ids[1:]]
    new = [key for key in wanted if key not in held] if held else wanted
    for start in range(0, len(gone), CHUNK):
        session.execute(_T.delete().where(_T.c.id.in_(gone[start:start + CHUNK])))
    if new:
        # in (kind, addr_key) order: one pass along the lookup index per region, rather
        # than an insert at a random page for each row
        _insert(session, sorted(_rows(new, _stamp(session, now)), key=_BY_KEY))
    return len(new), len(gone)


@db_api.retry_on_conflict()
def converge_region(conf, region, entries, *, now):
    """replace_region() and a successful record_audit() of one region, in a transaction
    of its own (retried if a concurrent writer makes it fail); (inserted, deleted).

    An audit commits each region as it writes it rather than holding one transaction
    across every region's read: other writers wait for one region's write at most, and
    a region written before a crash stays written (the next audit finds it unchanged).
    """
    with transaction(conf) as session:
        counts = replace_region(session, region, entries, now=now)
        record_audit(session, region, now=now, ok=True, entries=len(entries))
    return counts


def _held(session, region):
    """(id, *FIELDS) tuples of the region's stored entries."""
    connection, cursor = _dbapi_cursor(session)
    try:
        cursor.execute(f"SELECT id, {', '.join(FIELDS)} FROM {_T.name} WHERE region = "
                       f"{_placeholder(connection.dialect)}", (region,))
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


def region_entries(session, region):
    """The stored entries of one region, as tuples in FIELDS order."""
    return [row[1:] for row in _held(session, region)]


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


@contextlib.contextmanager
def transaction(conf):
    """One transaction for the audit's writes (replace_region, record_audit, ...)."""
    with db_api.session_scope(conf) as session:
        sqlite = session.connection().dialect.name == "sqlite"
        if sqlite:
            session.connection().exec_driver_sql(
                f"PRAGMA cache_size = -{SQLITE_AUDIT_CACHE_KIB}")
        try:
            yield session
        finally:
            if sqlite:
                session.connection().exec_driver_sql(
                    f"PRAGMA cache_size = -{SQLITE_DEFAULT_CACHE_KIB}")


_AUDIT_FIELDS = ("region", "audited_at", "attempted_at", "ok", "error", "entries")


def audits(conf):
    """[{region, audited_at, attempted_at, ok, error, entries}] sorted by region."""
    audit = models.AddressAudit.__table__
    query = sa.select(*(audit.c[name] for name in _AUDIT_FIELDS)).order_by(audit.c.region)
    with db_api.get_engine(conf).connect() as connection:
        return [dict(zip(_AUDIT_FIELDS, row, strict=True))
                for row in connection.execute(query)]


def _as_dict(row):
    out = {name: getattr(row, name) for name in FIELDS}
    out["id"] = row.id
    out["seen_at"] = row.seen_at
    return out


def _enclosing():
    """Conditions of the subnets starting before :first (at one of :starts, the keys such
    a subnet can start at, one per prefix length) and reaching :last: those that contain
    the range. A few index probes, never a scan of the subnets below the address."""
    return [_T.c.kind == ad.SUBNET, _T.c.addr_key.in_(sa.bindparam("starts", expanding=True)),
            _T.c.addr_end >= sa.bindparam("last")]


def _range(exact):
    """Selects of the entries whose address range overlaps [:first, :last] (one address
    if `exact`), each an equality, an IN list or a short range on the (kind, addr_key)
    index, and disjoint (so a UNION ALL of them holds no duplicate): entries starting
    inside the range (hosts, smaller subnets, their pools), subnets that contain it, and
    pools starting before it and reaching into it.

    CIDRs are nested or disjoint, and a pool lies inside its subnet: a pool that starts
    before the range and reaches into it belongs to a subnet containing the range, so it
    starts at or after the lowest such subnet (a scalar subquery across the whole index,
    whatever the filters), which bounds the pool scan.
    """
    first, last = sa.bindparam("first"), sa.bindparam("last")
    kinds = _T.c.kind.in_(_IP_KINDS)
    inside = (sa.select(_T).where(kinds, _T.c.addr_key == first) if exact else
              sa.select(_T).where(kinds, _T.c.addr_key >= first, _T.c.addr_key <= last))
    lowest = sa.select(sa.func.min(_T.c.addr_key)).where(*_enclosing()).scalar_subquery()
    pools = sa.select(_T).where(_T.c.kind == ad.POOL, _T.c.addr_key < first,
                                _T.c.addr_key >= lowest, _T.c.addr_end >= first)
    return [inside, sa.select(_T).where(*_enclosing()), pools]


def _prefixlen(cidr):
    return ipaddress.ip_network(cidr, strict=False).prefixlen


_FILTERS = {
    "mac": lambda: [_T.c.kind == ad.MAC, _T.c.addr_key == sa.bindparam("mac")],
    "region": lambda: [_T.c.region == sa.bindparam("region")],
    "project_id": lambda: [_T.c.project_id == sa.bindparam("project_id")],
    "kind": lambda: [_T.c.kind == sa.bindparam("kind")],
    "marker": lambda: [_T.c.id > sa.bindparam("marker")],
}
_queries = {}


def _query(mode, filters):
    """The statement of a search (mode: "ip", "cidr" or None; filters: the names given),
    built once per shape with bound parameters: building a union costs more than
    running it."""
    key = (mode, filters)
    query = _queries.get(key)
    if query is None:
        where = [c for name in sorted(filters) for c in _FILTERS[name]()]
        parts = _range(mode == "ip") if mode else [sa.select(_T)]
        limit = sa.bindparam("limit", type_=sa.Integer)
        parts = [part.where(*where).order_by(_T.c.id).limit(limit) for part in parts]
        if len(parts) == 1:
            query = parts[0]
        else:
            # one statement, one round trip: each part limited on its own (each reads
            # its index range), then their union
            union = sa.union_all(*(part.subquery().select() for part in parts)).subquery()
            query = sa.select(union).order_by(union.c.id).limit(limit)
        _queries[key] = query
    return query


def search(conf, *, ip=None, cidr=None, mac=None, region=None, project_id=None,
           kind=None, limit=100, marker=None):
    """Index entries matching every filter given, by id; `marker`: the last id seen.

    ip: entries holding that address (hosts, and the subnets and pools containing it);
    cidr: entries whose address range overlaps it; mac: that MAC.
    """
    params = {name: value for name, value in (
        ("mac", mac), ("region", region), ("project_id", project_id), ("kind", kind),
        ("marker", marker)) if value is not None}
    filters = frozenset(params)
    mode = None
    if ip is not None:
        mode, first = "ip", ad.ip_key(ip)
        params.update(first=first, last=first,
                      starts=_starts(first, 32 if first[0] == "4" else 128))
    elif cidr is not None:
        mode, (first, last) = "cidr", ad.cidr_keys(cidr)
        params.update(first=first, last=last, starts=_starts(first, _prefixlen(cidr)))
    params["limit"] = limit
    with db_api.get_engine(conf).connect() as connection:
        return [_as_dict(row) for row in connection.execute(_query(mode, filters), params)]


def _starts(first, prefixlen):
    return [k for k in ad.enclosing_keys(first, prefixlen) if k < first] or [""]


def get(conf, entry_id):
    with db_api.session_scope(conf) as session:
        row = session.execute(sa.select(_T).where(_T.c.id == entry_id)).first()
        return _as_dict(row) if row is not None else None


def overlapping_subnets(conf, cidr):
    """Subnet entries whose CIDR overlaps `cidr` (any domain)."""
    first, last = ad.cidr_keys(cidr)
    inside = sa.select(_T).where(_T.c.kind == ad.SUBNET, _T.c.addr_key >= first,
                                 _T.c.addr_key <= last)
    around = sa.select(_T).where(*_enclosing())
    found = {}
    with db_api.session_scope(conf) as session:
        for part, params in ((inside, {}), (around, {"last": last, "starts": _starts(
                first, _prefixlen(cidr))})):
            for row in session.execute(part, params):
                found[row.id] = row
    return [_as_dict(found[i]) for i in sorted(found)]
