"""Throwaway databases on the machine's MariaDB and PostgreSQL (also used by bench/).

Each call creates `ms_test_<random>` and drops it afterwards; nothing else on
the server is touched.
"""

import contextlib
import secrets

import sqlalchemy as sa

from multisite.db import api as db_api

SERVERS = {
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4",
    "postgresql": "postgresql://postgres@127.0.0.1:5432/{name}",
}
# The database every server has, to run CREATE/DROP DATABASE from.
ADMIN_DB = {"mysql": "", "postgresql": "postgres"}


def _admin_engine(backend):
    url = SERVERS[backend].format(name=ADMIN_DB[backend])
    return sa.create_engine(db_api.normalize_url(url), isolation_level="AUTOCOMMIT",
                            connect_args={"connect_timeout": 3})


def reachable(backend):
    """(True, '') or (False, why) for the server of `backend`."""
    try:
        engine = _admin_engine(backend)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True, ""
    except Exception as exc:  # any driver error means the server is not usable
        return False, f"{SERVERS[backend].format(name='')}: {exc.__class__.__name__}: {exc}"


@contextlib.contextmanager
def database(backend):
    """Yields the URL of a new empty database on `backend`, dropped on exit."""
    name = f"ms_test_{secrets.token_hex(6)}"
    engine = _admin_engine(backend)
    with engine.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield SERVERS[backend].format(name=name)
    finally:
        with engine.connect() as connection:
            if backend == "postgresql":
                connection.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        engine.dispose()
