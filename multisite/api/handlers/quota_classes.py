"""os-quota-class-sets: named sets of limits; 'default' sets the default limits."""

import re

from multisite.api import errors, wsgi
from multisite.api.handlers import common
from multisite.api.policies import quota_classes as policies
from multisite.api.schemas import quota_classes as schemas
from multisite.objects import quota_classes, quotas


def _check_name(class_name):
    if not re.match(schemas.CLASS_NAME_PATTERN, class_name):
        raise errors.bad_request("quota_class.invalid_name",
                                 f"Invalid quota class name {class_name!r}")


def _serialize(conf, class_name):
    values = quotas.config_defaults(conf)
    values.update(quota_classes.get(conf, class_name))
    return {"quota_class_set": {"class_name": class_name, **values}}


def show(req, project_id, class_name):
    ctx, conf = common.ctx(req), common.conf(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.SHOW, {"project_id": project_id})
    _check_name(class_name)
    return wsgi.json_response(_serialize(conf, class_name))


def update(req, project_id, class_name):
    ctx, conf = common.ctx(req), common.conf(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.UPDATE, {"project_id": project_id})
    _check_name(class_name)
    body = wsgi.json_body(req)
    common.validate(schemas.UPDATE, body, code="quota_class.invalid_limits",
                    prefix="Invalid input for quota class limits")
    limits = {k: v for k, v in body["quota_class_set"].items() if k != "class_name"}
    if not limits:
        raise errors.bad_request("quota_class.invalid_limits",
                                 "Invalid input for quota class limits: no limit given")
    quota_classes.update(conf, class_name, limits)
    return wsgi.json_response(_serialize(conf, class_name))


def delete(req, project_id, class_name):
    ctx, conf = common.ctx(req), common.conf(req)
    common.check_url_project(ctx, project_id)
    ctx.can(policies.DELETE, {"project_id": project_id})
    _check_name(class_name)
    quota_classes.delete(conf, class_name)
    return wsgi.json_response(None)
