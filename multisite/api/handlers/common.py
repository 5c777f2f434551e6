"""Checks shared by the handlers: URL project, UUIDs, schema validation."""

import jsonschema
from oslo_utils import uuidutils

from multisite.api import errors


def check_uuid(value, what="project"):
    if not uuidutils.is_uuid_like(value):
        raise errors.bad_request("request.invalid_url",
                                 f"Invalid request URL: {what} id {value!r} is not a UUID")


def check_url_project(ctx, project_id):
    """The caller's project in a v1.0 URL: a UUID, and the token's project unless admin."""
    check_uuid(project_id)
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


def validate(schema, body, *, code, prefix):
    try:
        _Validator(schema).validate(body)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        detail = f"{exc.message} at '{where}'" if where else exc.message
        raise errors.bad_request(code, f"{prefix}: {detail}") from None
