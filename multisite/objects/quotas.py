"""Global limits per project, and the default limits they are overlaid on."""

import functools

import sqlalchemy as sa

from multisite import exception
from multisite.conf import global_limit
from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import hard_limits, quota_classes

RESOURCES = tuple(global_limit.DEFAULT_LIMITS)

SERVICE_RESOURCES = {
    "nova": ("instances", "cores", "ram", "metadata_items", "key_pairs", "floating_ips",
             "fixed_ips", "security_groups"),
    "neutron": ("network", "subnet", "port", "router", "floatingip", "security_group",
                "security_group_rule"),
    "cinder": ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes"),
}


_OPTION_NAMES = tuple((name, f"quota_{name}") for name in RESOURCES)


def config_defaults(conf):
    """The [kingbird_global_limit] values, in Kingbird's resource order."""
    group = conf.kingbird_global_limit
    return {name: getattr(group, option) for name, option in _OPTION_NAMES}


def defaults(conf, *, session=None):
    """Default limits: the 'default' quota class over the config values."""
    values = config_defaults(conf)
    if conf.use_default_quota_class and session is None:
        for resource, hard_limit in _fetch(conf, "class"):
            if resource in values:
                values[resource] = hard_limit
    elif conf.use_default_quota_class:
        with _nullctx(session) as s:
            for row in quota_classes.rows(s, "default"):
                if row.resource in values:
                    values[row.resource] = row.hard_limit
    return values


def overrides(conf, project_id, *, session=None):
    """The project's own limits only."""
    with db_api.session_scope(conf) if session is None else _nullctx(session) as s:
        rows = s.scalars(sa.select(models.Quota).where(models.Quota.project_id == project_id))
        return {row.resource: row.hard_limit for row in rows}


_CLASS_ROWS = (sa.select(sa.literal(0).label("layer"), models.QuotaClass.resource,
                         models.QuotaClass.hard_limit)
               .where(models.QuotaClass.class_name == "default"))
_PROJECT_ROWS = (sa.select(sa.literal(1).label("layer"), models.Quota.resource,
                           models.Quota.hard_limit)
                 .where(models.Quota.project_id == sa.bindparam("project_id")))
# The 'default' class rows and the project's rows in one round trip, class rows first.
_EFFECTIVE = sa.union_all(_CLASS_ROWS, _PROJECT_ROWS).order_by(sa.text("layer"))


_STATEMENTS = {"effective": _EFFECTIVE, "project": _PROJECT_ROWS,
               "class": sa.select(models.QuotaClass.resource, models.QuotaClass.hard_limit)
               .where(models.QuotaClass.class_name == "default")}


@functools.lru_cache(maxsize=16)
def _compiled(dialect, name):
    """A hot statement's SQL for this dialect, compiled once, and its parameters: the
    DB-API cursor runs it directly (SQLAlchemy's per-execution context was half of a
    quota GET's database cost)."""
    compiled = _STATEMENTS[name].compile(dialect=dialect)
    params = compiled.construct_params({"project_id": None})
    return str(compiled), compiled.positiontup, params


def _fetch(conf, name, project_id=None):
    """The rows of a hot statement, on a pooled DB-API connection."""
    engine = db_api.get_engine(conf)
    sql, positions, params = _compiled(engine.dialect, name)
    params = {**params, "project_id": project_id}
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, tuple(params[key] for key in positions) if positions
                           else params)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        connection.commit()  # end the read transaction before the connection goes back
    finally:
        connection.close()
    return rows


def effective(conf, project_id):
    """Project overrides over the defaults: what the project is held to.

    The hot path of every quota GET and of the engine: one statement on a plain
    connection (no ORM session, no objects), the class rows overlaid by the project's.
    """
    values = config_defaults(conf)
    rows = _fetch(conf, "effective" if conf.use_default_quota_class else "project",
                  project_id)
    for _layer, resource, hard_limit in rows:
        if _layer == 1 or resource in values:
            values[resource] = hard_limit
    return values


@db_api.retry_on_conflict()
def update(conf, project_id, limits):
    """Upsert the given limits (validated by the caller) in one transaction."""
    with db_api.session_scope(conf) as session:
        hard_limits.upsert(session, models.Quota, "project_id", project_id, limits)
    return dict(limits)


@db_api.retry_on_conflict()
def delete_all(conf, project_id):
    with db_api.session_scope(conf) as session:
        if not hard_limits.delete(session, models.Quota, "project_id", project_id):
            raise exception.ProjectQuotaNotFound(project_id=project_id)


class _SomeMissing(Exception):
    pass


def delete_some(conf, project_id, resources):
    """Delete some limits atomically: all of them, or none if one is missing."""
    resources = list(dict.fromkeys(resources))
    try:
        _delete_exactly(conf, project_id, resources)
    except _SomeMissing:
        # rolled back; say which ones were missing (as seen now)
        missing = set(resources) - set(overrides(conf, project_id))
        raise exception.ProjectQuotaNotFound(
            f"Project quota not found for {project_id}: "
            f"{', '.join(sorted(missing or resources))}") from None
    return resources


@db_api.retry_on_conflict()
def _delete_exactly(conf, project_id, resources):
    # The write comes first: no read snapshot to upgrade (SQLite), no row that vanishes
    # between a read and the delete (the old StaleDataError).
    with db_api.session_scope(conf) as session:
        deleted = hard_limits.delete(session, models.Quota, "project_id", project_id,
                                     resources)
        if deleted != len(resources):
            raise _SomeMissing()


def projects_with_limits(conf):
    with db_api.session_scope(conf) as session:
        return sorted(session.scalars(sa.select(models.Quota.project_id).distinct()))


class _nullctx:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False
