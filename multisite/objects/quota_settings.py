"""Per-project quota engine settings (os-quota-settings): balancing policy and opt-in."""

import sqlalchemy as sa

from multisite.db import api as db_api
from multisite.db import models

FIELDS = ("quota_policy", "quota_sync")


def _as_dict(project_id, row):
    return {"project_id": project_id,
            "quota_policy": row.quota_policy if row else None,
            "quota_sync": row.quota_sync if row else None}


def get(conf, project_id):
    """{'quota_policy': str|None, 'quota_sync': bool|None}; None means the default."""
    with db_api.session_scope(conf) as session:
        return _as_dict(project_id, session.get(models.ProjectSettings, project_id))


@db_api.retry_on_conflict(integrity=True)
def update(conf, project_id, values):
    """Set the given fields (None resets one to the default); returns all of them."""
    with db_api.session_scope(conf) as session:
        row = session.get(models.ProjectSettings, project_id, with_for_update=True)
        if row is None:
            row = models.ProjectSettings(project_id=project_id)
            session.add(row)
        for name in FIELDS:
            if name in values:
                setattr(row, name, values[name])
        return _as_dict(project_id, row)


def all_settings(conf):
    """{project_id: settings} of every project that has any."""
    with db_api.session_scope(conf) as session:
        return {row.project_id: _as_dict(row.project_id, row)
                for row in session.scalars(sa.select(models.ProjectSettings))}
