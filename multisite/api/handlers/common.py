"""Checks shared by the handlers: context, ids, URL project, schema validation."""

import json
import uuid

import jsonschema

from multisite import project_ids
from multisite.api import errors


def ctx(req):
    """The request context the middleware built."""
    return req.environ["multisite.context"]


def conf(req):
    return req.environ["multisite.conf"]


def project_id(value, what="project"):
    """The one spelling of a project id: Keystone's 32 lowercase hex digits.

    Plain, dashed, braced, `urn:uuid:` and upper-case UUIDs name the same project and
    all become that form; anything else is a 400. Every route variable that holds a
    project id goes through here (routes.PROJECT_VARIABLES), so a new resource gets
    the rule by naming its variable `project_id` or `target`.
    """
    try:
        return project_ids.normalize(value)
    except project_ids.InvalidProjectId:
        raise errors.bad_request("request.invalid_url",
                                 f"Invalid request URL: {what} id {value!r} is not a UUID"
                                 ) from None


def as_sent(req, name):
    """A route variable as the URL spelled it, for the bodies that echo it (Kingbird's)."""
    return req.environ["multisite.ids_as_sent"][name]


def job_id(value):
    """A job id in its one spelling: the dashed lowercase UUID Kingbird gave out."""
    parsed = _uuid(value)
    if parsed is None:
        raise errors.bad_request("request.invalid_url",
                                 f"Invalid request URL: job id {value!r} is not a UUID")
    return str(parsed)


def same_project_spelling(value):
    """`value` in the one spelling if it is a UUID, else unchanged (token identities)."""
    return project_ids.fold(value) if value else value


def _uuid(value):
    if not isinstance(value, str) or not 32 <= len(value) <= 45:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def check_uuid(value, what="project"):
    project_id(value, what)


def check_url_project(ctx, project_id):
    """The caller's project in a v1.0 URL: the token's project unless admin.

    One rule for every v1.0 resource: a 403 `request.project_mismatch` (docs/api.md).
    """
    if project_id != ctx.project_id and not ctx.is_admin_role:
        raise errors.forbidden(
            f"Project {project_id} in the URL is not the project of the token",
            code="request.project_mismatch")


def _strict_integer(_checker, instance):
    # JSON Schema counts 5.0 as an integer; a limit must be a JSON integer literal.
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", _strict_integer))


def _message(exc):
    # jsonschema writes the instance as a Python literal (True, None, 'x'); say it in JSON.
    instance = exc.instance
    if isinstance(instance, (dict, list)):
        return exc.message
    rendered = json.dumps(instance)
    python = repr(instance)
    if exc.message.startswith(python):
        return rendered + exc.message[len(python):]
    return exc.message


def validate(schema, body, *, code, prefix):
    try:
        _Validator(schema).validate(body)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        detail = _message(exc)
        detail = f"{detail} at '{where}'" if where else detail
        raise errors.bad_request(code, f"{prefix}: {detail}") from None
