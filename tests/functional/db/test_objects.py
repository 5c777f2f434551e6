"""multisite/objects quotas and quota_classes on a real database, three backends."""

import uuid

import pytest
import sqlalchemy as sa

from multisite import exception
from multisite.conf import global_limit
from multisite.db import api as db_api
from multisite.db import migration, models
from multisite.objects import quota_classes, quotas


@pytest.fixture
def synced(conf, backend_url):
    migration.db_sync(conf, default_limits=quotas.config_defaults(conf))
    return conf


@pytest.fixture
def project():
    return str(uuid.uuid4())


def count(conf, model, **where):
    with db_api.session_scope(conf) as session:
        query = sa.select(sa.func.count()).select_from(model).filter_by(**where)
        return session.scalar(query)


@pytest.mark.parametrize("model, values", [
    (models.Quota, {"project_id": "p", "resource": "cores", "hard_limit": 1}),
    (models.QuotaClass, {"class_name": "gold", "resource": "cores", "hard_limit": 1}),
])
def test_unique_constraints(synced, model, values):
    with db_api.session_scope(synced) as session:
        session.add(model(**values))
    with pytest.raises(sa.exc.IntegrityError):
        with db_api.session_scope(synced) as session:
            session.add(model(**{**values, "hard_limit": 2}))
    assert count(synced, model, resource="cores", hard_limit=1) == 1


def test_update_is_an_upsert(synced, project):
    assert quotas.update(synced, project, {"cores": 5, "ram": 10}) == {"cores": 5, "ram": 10}
    quotas.update(synced, project, {"cores": -1, "volumes": 0})
    assert quotas.overrides(synced, project) == {"cores": -1, "ram": 10, "volumes": 0}
    assert count(synced, models.Quota, project_id=project) == 3
    effective = quotas.effective(synced, project)
    assert effective == {**global_limit.DEFAULT_LIMITS, "cores": -1, "ram": 10, "volumes": 0}


def test_projects_are_independent(synced, project):
    other = str(uuid.uuid4())
    quotas.update(synced, project, {"cores": 5})
    quotas.update(synced, other, {"cores": 6})
    quotas.delete_all(synced, other)
    assert quotas.overrides(synced, project) == {"cores": 5}
    assert quotas.projects_with_limits(synced) == [project]


def test_delete_all(synced, project):
    with pytest.raises(exception.ProjectQuotaNotFound):
        quotas.delete_all(synced, project)
    quotas.update(synced, project, {"cores": 5, "ram": 10})
    quotas.delete_all(synced, project)
    assert quotas.overrides(synced, project) == {}


def test_partial_delete_is_atomic(synced, project):
    quotas.update(synced, project, {"cores": 5, "ram": 10})
    with pytest.raises(exception.ProjectQuotaNotFound, match="volumes"):
        quotas.delete_some(synced, project, ["cores", "volumes"])
    assert quotas.overrides(synced, project) == {"cores": 5, "ram": 10}
    assert quotas.delete_some(synced, project, ["cores"]) == ["cores"]
    assert quotas.overrides(synced, project) == {"ram": 10}


def test_defaults_follow_the_default_class(synced, project):
    quota_classes.update(synced, "default", {"ram": 1024})
    assert quotas.defaults(synced)["ram"] == 1024
    quotas.update(synced, project, {"ram": 7})
    assert quotas.effective(synced, project)["ram"] == 7
    synced.set_override("use_default_quota_class", False)
    try:
        assert quotas.defaults(synced)["ram"] == 51200
    finally:
        synced.clear_override("use_default_quota_class")


def test_default_class_deleted_falls_back_to_config(synced):
    quota_classes.update(synced, "default", {"cores": 3})
    quota_classes.delete(synced, "default")
    assert quota_classes.get(synced, "default") == {}
    assert quotas.defaults(synced) == global_limit.DEFAULT_LIMITS


def test_quota_class_upsert_overlay_and_delete(synced):
    assert quota_classes.get(synced, "gold") == global_limit.DEFAULT_LIMITS
    quota_classes.update(synced, "gold", {"cores": 64})
    quota_classes.update(synced, "gold", {"cores": 65, "ram": -1})
    assert count(synced, models.QuotaClass, class_name="gold") == 2
    assert quota_classes.get(synced, "gold") == {
        **global_limit.DEFAULT_LIMITS, "cores": 65, "ram": -1}
    quota_classes.delete(synced, "gold")
    with pytest.raises(exception.QuotaClassNotFound):
        quota_classes.delete(synced, "gold")
    assert count(synced, models.QuotaClass, class_name="default") == 20


def test_largest_limit_round_trips(synced, project):
    quotas.update(synced, project, {"cores": 2**31 - 1, "ram": -1})
    assert quotas.overrides(synced, project) == {"cores": 2**31 - 1, "ram": -1}
