"""Quota classes; only 'default' affects projects, as in Kingbird."""

import sqlalchemy as sa

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import hard_limits


def rows(session, class_name):
    return session.scalars(
        sa.select(models.QuotaClass).where(models.QuotaClass.class_name == class_name))


def get(conf, class_name):
    """The 'default' class rows overlaid with the named class's rows."""
    with db_api.session_scope(conf) as session:
        values = {row.resource: row.hard_limit for row in rows(session, "default")}
        if class_name != "default":
            values.update({row.resource: row.hard_limit for row in rows(session, class_name)})
    return values


@db_api.retry_on_conflict()
def update(conf, class_name, limits):
    with db_api.session_scope(conf) as session:
        hard_limits.upsert(session, models.QuotaClass, "class_name", class_name, limits)


@db_api.retry_on_conflict()
def delete(conf, class_name):
    with db_api.session_scope(conf) as session:
        if not hard_limits.delete(session, models.QuotaClass, "class_name", class_name):
            raise exception.QuotaClassNotFound(class_name=class_name)
