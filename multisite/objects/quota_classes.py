"""Quota classes; only 'default' affects projects, as in Kingbird."""

import sqlalchemy as sa

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models


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


def update(conf, class_name, limits):
    with db_api.session_scope(conf) as session:
        existing = {row.resource: row for row in session.scalars(
            sa.select(models.QuotaClass).where(models.QuotaClass.class_name == class_name)
            .with_for_update())}
        for resource, value in limits.items():
            row = existing.get(resource)
            if row is None:
                session.add(models.QuotaClass(class_name=class_name, resource=resource,
                                              hard_limit=value))
            elif row.hard_limit != value:
                row.hard_limit = value


def delete(conf, class_name):
    with db_api.session_scope(conf) as session:
        result = session.execute(
            sa.delete(models.QuotaClass).where(models.QuotaClass.class_name == class_name))
        if not result.rowcount:
            raise exception.QuotaClassNotFound(class_name=class_name)
