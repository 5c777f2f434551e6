"""One upsert of hard_limit rows, shared by project limits and quota classes."""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from multisite.db import models

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert, "mysql": mysql.insert}


def upsert(session, model, owner_column, owner, limits):
    """Set `limits` ({resource: value}) of one owner in one statement, whatever exists.

    An INSERT ... ON CONFLICT / ON DUPLICATE KEY UPDATE: two first writers never collide
    on the unique key and a row deleted meanwhile is simply written again (last writer
    wins). Rows go in resource order, so concurrent writers lock them in the same order.
    """
    if not limits:
        return
    now = models.utcnow()
    values = [{owner_column: owner, "resource": resource, "hard_limit": value,
               "created_at": now} for resource, value in sorted(limits.items())]
    dialect = session.get_bind().dialect.name
    insert = _INSERTS[dialect](model).values(values)
    if dialect == "mysql":
        statement = insert.on_duplicate_key_update(
            hard_limit=insert.inserted.hard_limit, updated_at=now)
    else:
        statement = insert.on_conflict_do_update(
            index_elements=[owner_column, "resource"],
            set_={"hard_limit": insert.excluded.hard_limit, "updated_at": now},
            where=model.hard_limit != insert.excluded.hard_limit)
    session.execute(statement)


def delete(session, model, owner_column, owner, resources=None):
    """Delete an owner's rows (all, or those of `resources`); returns how many went."""
    statement = sa.delete(model).where(getattr(model, owner_column) == owner)
    if resources is not None:
        statement = statement.where(model.resource.in_(list(resources)))
    return session.execute(statement).rowcount
