"""Shared fixtures: configuration, a migrated database, the in-process app and engine."""

import os
import uuid

import pytest

from multisite import rpc
from multisite.api import app as api_app
from multisite.api import policy
from multisite.conf import CONF
from multisite.db import api as db_api
from multisite.db import migration
from multisite.rpc import client as rpc_client

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name, reachable, reason):
    """Skip (locally) or fail (CI) when a machine service the test needs is down."""
    if reachable:
        return
    message = f"{name} unreachable: {reason}"
    if CI:
        pytest.fail(f"{message} (CI=true: this test must run)")
    pytest.skip(message)


@pytest.fixture
def conf(tmp_path):
    """The global CONF, parsed with no files, with per-test overrides undone after."""
    rpc.register_opts(CONF)
    CONF([], project="multisite", default_config_files=[])
    CONF.set_override("connection", f"sqlite:///{tmp_path / 'multisite.sqlite'}",
                      group="database")
    CONF.set_override("transport_url", "fake://")
    CONF.set_override("auth_strategy", "noauth")
    CONF.set_override("backend_url", f"file://{tmp_path / 'locks'}", group="coordination")
    CONF.set_override("periodic_enable", False, group="scheduler")
    yield CONF
    rpc_client.reset()
    rpc.cleanup()
    policy.reset()
    db_api.dispose_all()
    CONF.reset()
    CONF.clear_override("connection", group="database")
    for name in ("transport_url", "auth_strategy"):
        CONF.clear_override(name)
    CONF.clear_override("backend_url", group="coordination")
    CONF.clear_override("periodic_enable", group="scheduler")


@pytest.fixture
def db(conf):
    migration.db_sync(conf)
    return conf


@pytest.fixture
def engine(db):
    """An engine worker in this process, on the fake:// transport."""
    from multisite.engine import service

    worker = service.EngineService(db)
    worker.start()
    yield worker
    worker.stop(graceful=False)


@pytest.fixture
def wsgi_app(db, engine):
    return api_app.build_app(db)


@pytest.fixture
def project_id():
    return uuid.uuid4().hex


def pytest_unconfigure(config):
    """After the run: threads of libraries that outlive their tests (oslo.messaging
    heartbeats, tooz watchers) may still log while the interpreter shuts down, into
    streams pytest has closed; without this each such record prints a traceback after
    pytest's summary, which then is no longer the end of the output."""
    import logging

    logging.raiseExceptions = False
