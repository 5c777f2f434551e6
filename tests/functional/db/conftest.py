"""A `backend` fixture: the test runs on SQLite, MariaDB and PostgreSQL."""

import pytest

from multisite.db import api as db_api
from tests.conftest import require_service
from tests.functional.db import throwaway

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("mysql", id="mariadb", marks=pytest.mark.mysql),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


@pytest.fixture(params=BACKENDS)
def backend_url(request, conf):
    """[database] connection of a new, empty database on the parametrized backend."""
    backend = request.param
    if backend == "sqlite":
        yield conf.database.connection
        return
    ok, why = throwaway.reachable(backend)
    require_service({"mysql": "MariaDB", "postgresql": "PostgreSQL"}[backend], ok, why)
    with throwaway.database(backend) as url:
        conf.set_override("connection", url, group="database")
        yield url
        # Close pooled connections before the database is dropped.
        db_api.dispose_all()
