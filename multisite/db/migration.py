"""Schema management with Alembic (multisite-manage db_sync / db_version)."""

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from multisite.db import api as db_api

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


def _alembic_config(connection, default_limits=None):
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    if default_limits is not None:
        config.attributes["default_limits"] = default_limits
    return config


def db_sync(conf=None, *, version="head", default_limits=None):
    """Create or upgrade the schema to `version`."""
    engine = db_api.get_engine(conf)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection, default_limits), version)


def db_downgrade(conf=None, *, version):
    """Take the schema (and its data) back to `version` (tests; operators restore backups)."""
    engine = db_api.get_engine(conf)
    with engine.begin() as connection:
        command.downgrade(_alembic_config(connection), version)


def db_version(conf=None):
    """The revision the database is at, or None if it has no schema."""
    engine = db_api.get_engine(conf)
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_version():
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return ScriptDirectory.from_config(config).get_current_head()
