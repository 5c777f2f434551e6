"""Engine and session management; the only place that builds SQLAlchemy engines."""

import contextlib
import functools
import logging
import os
import random
import threading
import time

import sqlalchemy as sa
from sqlalchemy import event, orm
from sqlalchemy.engine import make_url

from multisite import exception

LOG = logging.getLogger(__name__)

_lock = threading.Lock()
_engines = {}


def normalize_url(url):
    """Map the URLs an operator's kingbird.conf may hold onto installed drivers."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in ("mysql", "mysql+mysqldb", "mariadb"):
        parsed = parsed.set(drivername="mysql+pymysql")
    elif driver in ("postgres", "postgresql"):
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; psycopg2 is what we install.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.drivername == "mysql+pymysql" and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def _sqlite_pragmas(dbapi_conn, _record, *, synchronous="NORMAL"):
    cursor = dbapi_conn.cursor()
    # WAL lets the API workers read while an engine writes; busy_timeout makes
    # concurrent writers wait instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode synchronous=NORMAL fsyncs at checkpoints, not at every commit: a commit
    # survives a crash or SIGKILL of any process (it is in the WAL file the OS holds),
    # but the last commits before a power loss or kernel crash may be rolled back (the
    # database stays consistent). FULL costs one fsync per commit (0.26 ms median on the
    # devcloud's disk, far more on a spinning or network disk; a keypair job of R rows
    # commits 2 + R times). [database] sqlite_synchronous chooses.
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url, *, conf=None):
    url = normalize_url(url)
    kwargs = {"future": True}
    if url.get_backend_name() == "sqlite":
        database = url.database
        if database and database != ":memory:":
            directory = os.path.dirname(os.path.abspath(database))
            if not os.path.isdir(directory):
                LOG.warning("Creating the directory of the SQLite database: path=%s",
                            directory)
                os.makedirs(directory, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if not database or database == ":memory:":
            kwargs["poolclass"] = sa.pool.StaticPool
    else:
        kwargs["pool_pre_ping"] = True
        if conf is not None:
            kwargs["pool_size"] = conf.database.max_pool_size
            kwargs["max_overflow"] = conf.database.max_overflow
            kwargs["pool_timeout"] = conf.database.pool_timeout
            kwargs["pool_recycle"] = conf.database.connection_recycle_time
    if conf is not None and conf.database.connection_debug:
        kwargs["echo"] = True
    engine = sa.create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        synchronous = conf.database.sqlite_synchronous if conf is not None else "NORMAL"
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"[database] sqlite_synchronous: {synchronous!r}")
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas,
                                                          synchronous=synchronous))
    return engine


def get_engine(conf=None):
    """The process-wide engine for [database] connection (rebuilt after fork)."""
    if conf is None:
        from multisite.conf import CONF as conf
    url = conf.database.connection
    key = (url, os.getpid())
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = create_engine(url, conf=conf)
            _engines[key] = engine
        return engine


def dispose_all():
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def wait_for_database(conf=None):
    """Block until the database answers, as [database] max_retries allows."""
    if conf is None:
        from multisite.conf import CONF as conf
    attempts = conf.database.max_retries
    attempt = 0
    while True:
        try:
            with get_engine(conf).connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return
        except sa.exc.OperationalError as exc:
            attempt += 1
            if attempts != -1 and attempt >= attempts:
                raise
            LOG.warning("Database unreachable (attempt %d): %s", attempt, exc)
            time.sleep(conf.database.retry_interval)


@contextlib.contextmanager
def session_scope(conf=None):
    """A session in one transaction: committed on success, rolled back on error."""
    session = orm.Session(bind=get_engine(conf), expire_on_commit=False, future=True)
    try:
        with session.begin():
            yield session
    finally:
        session.close()


# Errors a concurrent writer causes and a fresh transaction may not meet again:
# MySQL/MariaDB deadlock and lock wait timeout, PostgreSQL deadlock and serialization
# failure, SQLite's lock (busy_timeout elapsed, or a read snapshot that cannot write).
_MYSQL_RETRY = {1213, 1205}
_PG_RETRY = {"40P01", "40001"}


def _retryable(exc, *, integrity):
    if integrity and isinstance(exc, sa.exc.IntegrityError):
        return True
    if not isinstance(exc, sa.exc.OperationalError):
        return False
    orig = exc.orig
    code = getattr(orig, "pgcode", None) or getattr(getattr(orig, "diag", None), "sqlstate",
                                                    None)
    if code in _PG_RETRY:
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in _MYSQL_RETRY:
        return True
    return "database is locked" in str(orig)


def retry_on_conflict(*, attempts=5, integrity=False):
    """Run a whole transaction again when a concurrent writer made it fail.

    After `attempts` tries the caller gets ConcurrentUpdate (a retryable 409), never the
    driver's error. `integrity`: also retry unique-key collisions (get-or-create).
    """
    def decorate(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            for attempt in range(1, attempts + 1):
                try:
                    return func(*args, **kwargs)
                except sa.exc.DBAPIError as exc:
                    if not _retryable(exc, integrity=integrity):
                        raise
                    LOG.info("Concurrent write, retrying: function=%s attempt=%d error=%s",
                             func.__qualname__, attempt, exc.orig)
                    if attempt == attempts:
                        raise exception.ConcurrentUpdate() from exc
                    time.sleep(random.uniform(0.005, 0.02) * attempt)
        return run
    return decorate
