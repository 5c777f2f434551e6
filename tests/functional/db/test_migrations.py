"""multisite-manage db_sync / db_version, and the migrations against the models."""

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import autogenerate
from alembic.runtime.migration import MigrationContext

from multisite.conf import global_limit
from multisite.db import api as db_api
from multisite.db import migration, models

MANAGE = os.path.join(os.path.dirname(sys.executable), "multisite-manage")


def manage(tmp_path, url, command, *, limits=None):
    """Run the real console script with a config file; returns its stdout."""
    lines = ["[DEFAULT]", "transport_url = fake://", "[database]", f"connection = {url}"]
    if limits:
        lines.append("[kingbird_global_limit]")
        lines += [f"quota_{name} = {value}" for name, value in limits.items()]
    path = tmp_path / "manage.conf"
    path.write_text("\n".join(lines) + "\n")
    done = subprocess.run([MANAGE, "--config-file", str(path), command],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def default_class(conf):
    with db_api.get_engine(conf).connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT resource, hard_limit FROM quota_classes WHERE class_name = 'default'"))
        return dict(rows.all())


def test_db_sync_to_head_and_seed(conf, backend_url, tmp_path):
    assert manage(tmp_path, backend_url, "db_version").strip() == "None (no schema)"
    out = manage(tmp_path, backend_url, "db_sync")
    head = migration.head_version()
    assert out.strip() == f"Database is at version {head}"
    assert manage(tmp_path, backend_url, "db_version").strip() == head
    assert migration.db_version(conf) == head
    assert default_class(conf) == global_limit.DEFAULT_LIMITS


def test_db_sync_seeds_the_configured_limits(conf, backend_url, tmp_path):
    custom = {"ram": 4096, "cores": 64, "fixed_ips": 0, "key_pairs": -1}
    manage(tmp_path, backend_url, "db_sync", limits=custom)
    assert default_class(conf) == {**global_limit.DEFAULT_LIMITS, **custom}


def test_db_sync_twice_is_a_no_op(conf, backend_url, tmp_path):
    manage(tmp_path, backend_url, "db_sync")
    before = default_class(conf)
    # Different limits on the second run must not reseed: the class is data now.
    out = manage(tmp_path, backend_url, "db_sync", limits={"ram": 1})
    assert out.strip() == f"Database is at version {migration.head_version()}"
    assert default_class(conf) == before
    with db_api.get_engine(conf).connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM quota_classes")).scalar() == 20


def test_migrations_match_the_models(conf, backend_url):
    """Autogenerate finds nothing to do: a model change needs a new migration."""
    migration.db_sync(conf)
    with db_api.get_engine(conf).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = autogenerate.compare_metadata(context, models.Base.metadata)
    assert diff == []


def test_0011_images_up_down_up(conf, backend_url):
    """0011_images alone on each backend: its tables, the one-copy-per-(image, region)
    constraint the lazy ensure relies on, its downgrade, and the upgrade again."""
    migration.db_sync(conf, version="0011_images")
    engine = db_api.get_engine(conf)
    tables = {"image_distributions", "image_copies", "image_rollouts"}
    assert tables <= set(sa.inspect(engine).get_table_names())
    row = {"project_id": "p", "image_id": "i", "source_region": "RegionOne",
           "origin": "lazy", "hidden": False, "state": "pending", "created_at": "2026-12-03"}
    insert = sa.text(
        "INSERT INTO image_copies (id, project_id, image_id, source_region, region, origin, "
        "hidden, state, created_at) VALUES (:id, :project_id, :image_id, :source_region, "
        ":region, :origin, :hidden, :state, :created_at)")
    with engine.begin() as connection:
        connection.execute(insert, dict(row, id="c1", region="RegionTwo"))
        connection.execute(insert, dict(row, id="c2", region="RegionThree"))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(insert, dict(row, id="c3", region="RegionTwo"))
    migration.db_downgrade(conf, version="0009_identity")
    assert migration.db_version(conf) == "0009_identity"
    assert not tables & set(sa.inspect(engine).get_table_names())
    migration.db_sync(conf)
    assert migration.db_version(conf) == migration.head_version()
    assert tables <= set(sa.inspect(engine).get_table_names())
